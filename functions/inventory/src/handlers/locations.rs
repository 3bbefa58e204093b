//! A vendor's stock locations. Inventory managers (and the owner) create them; every member reads them.

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::address::country;
use stockyard_domain::ids::{LocationId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::{bounded_text, code};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{commit, idempotent};
use stockyard_http::request::{json_body, page_request, path};
use stockyard_http::response::ok;
use stockyard_http::vendor_access::authorize;
use stockyard_http::{ApiDeps, ApiError, Body, ListResponse, Request, Response};
use stockyard_store::keys;
use stockyard_store::locations::{LocationCodeRecord, LocationKind, LocationRecord};
use stockyard_store::table::Expr;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocationRequest {
    /// Unique within the vendor: letters, digits, '-' and '_' (stored upper-case).
    #[schema(example = "WH-LONDON")]
    pub code: String,
    #[schema(example = "London warehouse")]
    pub name: String,
    pub kind: LocationKind,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LocationView {
    pub id: LocationId,
    pub vendor_id: VendorId,
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<LocationRecord> for LocationView {
    fn from(l: LocationRecord) -> Self {
        Self {
            id: l.id,
            vendor_id: l.vendor_id,
            code: l.code,
            name: l.name,
            kind: l.kind,
            country: l.country,
            created_at: l.created_at,
        }
    }
}

/// Add a stock location (inventory managers and the owner).
#[utoipa::path(post, path = "/vendors/{vendorId}/locations", tag = "inventory", security(("bearer" = [])),
    request_body = CreateLocationRequest,
    params(("vendorId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = LocationView), (status = 403, body = ErrorBody),
              (status = 409, description = "location_code_taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_location(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let body: CreateLocationRequest = json_body(&req)?;
    let location_code = code("code", &body.code, 32)?;
    let name = bounded_text("name", &body.name, 1, 100)?;
    let country = body.country.as_deref().map(|c| country("country", c)).transpose()?;
    authorize(&deps.table, &me, vendor_id, VendorPermission::InventoryWrite).await?;
    idempotent(&req, &me.user_id.to_string(), &deps.table, async |key| {
        let location = LocationRecord {
            id: LocationId::generate(),
            vendor_id,
            code: location_code,
            name,
            kind: body.kind,
            country,
            created_at: Utc::now(),
        };
        let t = &deps.table;
        let writes = vec![
            t.tx_put(
                &keys::location_code(vendor_id, &location.code),
                None,
                &LocationCodeRecord { location_id: location.id },
                Some(Expr::not_exists()),
            )?,
            t.tx_put(&keys::location(vendor_id, location.id), None, &location, Some(Expr::not_exists()))?,
        ];
        commit(t, writes, key, StatusCode::CREATED, &LocationView::from(location), |_| {
            ApiError::conflict_on("location_code_taken", "code", "this vendor already has a location with this code")
        })
        .await
    })
    .await
}

/// The vendor's stock locations, oldest first.
#[utoipa::path(get, path = "/vendors/{vendorId}/locations", tag = "inventory", security(("bearer" = [])),
    params(("vendorId" = String, Path), ("limit" = Option<i32>, Query), ("cursor" = Option<String>, Query), ("order" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<LocationView>), (status = 403, body = ErrorBody)))]
pub async fn list_locations(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let page = page_request(&req, false)?;
    authorize(&deps.table, &me, vendor_id, VendorPermission::Read).await?;
    let found = deps.table.query::<LocationRecord>(&keys::locations_of(vendor_id), &page, None).await?;
    Ok(ok(&ListResponse::from(found.map(LocationView::from))))
}
