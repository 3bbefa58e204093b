//! A vendor's stock locations. Inventory managers (and the owner) create them; every member reads them.

use chrono::Utc;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use stockyard_domain::address::{CountryCode, country};
use stockyard_domain::ids::{LocationId, VendorId};
use stockyard_domain::location::{Location, LocationKind};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::{LocationCode, Name};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::locations;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocationRequest {
    #[schema(value_type = LocationCode, example = "WH-LONDON")]
    pub code: String,
    #[schema(value_type = Name, example = "London warehouse")]
    pub name: String,
    pub kind: LocationKind,
    #[schema(value_type = Option<CountryCode>)]
    pub country: Option<String>,
}

/// Add a stock location (inventory managers and the owner).
#[utoipa::path(post, path = "/vendors/{vendorId}/locations", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = CreateLocationRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = Location), (status = 403, body = ErrorBody),
              (status = 409, description = "location_code_taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_location(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateLocationRequest = cx.body()?;
    let location_code = LocationCode::parse("code", &body.code)?;
    let name = Name::parse("name", &body.name)?;
    let country = body.country.as_deref().map(|c| country("country", c)).transpose()?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?;
    cx.idempotent(async |key| {
        let location = Location {
            id: LocationId::generate(),
            vendor_id: vendor.id(),
            code: location_code,
            name,
            kind: body.kind,
            country,
            created_at: Utc::now(),
        };
        let tx = locations::create(cx.store().await?, &location)?;
        commit(cx.store().await?, tx, key, StatusCode::CREATED, &location, |_| {
            ApiError::conflict_on("location_code_taken", "code", "this vendor already has a location with this code")
        })
        .await
    })
    .await
}

/// The vendor's stock locations, oldest first.
#[utoipa::path(get, path = "/vendors/{vendorId}/locations", tag = "inventory", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = VendorId, Path), PageParams),
    responses((status = 200, body = ListResponse<Location>), (status = 403, body = ErrorBody)))]
pub async fn list_locations(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let vendor = cx.vendor(VendorPermission::Read).await?;
    Ok(ok(&ListResponse::from(locations::list(cx.store().await?, vendor.id(), &page).await?)))
}
