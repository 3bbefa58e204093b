//! The signed-in user's address book (at most 20 addresses, exactly one of them the default; the
//! store enforces both under concurrency).

use lambda_http::http::StatusCode;
use stockyard_domain::address::{Address, AddressInput, MAX_ADDRESSES, PostalAddress};
use stockyard_domain::ids::AddressId;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency;
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::response::{json, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response, no_content};
use stockyard_store::addresses::{self, AddressError};

use crate::dto::AddressRequest;

fn parse(body: &AddressRequest) -> Result<PostalAddress, ApiError> {
    Ok(PostalAddress::parse(AddressInput {
        label: body.label.as_deref(),
        recipient: &body.recipient,
        line1: &body.line1,
        line2: body.line2.as_deref(),
        city: &body.city,
        region: body.region.as_deref(),
        postal_code: &body.postal_code,
        country: &body.country,
        phone: body.phone.as_deref(),
    })?)
}

fn refused(e: AddressError) -> ApiError {
    match e {
        AddressError::Full => ApiError::unprocessable(
            "too_many_addresses",
            None,
            format!("an address book holds at most {MAX_ADDRESSES} addresses"),
        ),
        AddressError::NotFound => ApiError::NotFound("address"),
        AddressError::Store(e) => e.into(),
    }
}

/// My addresses, the default first.
#[utoipa::path(get, path = "/me/addresses", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Address>), (status = 401, body = ErrorBody)))]
pub async fn list_addresses(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let items = addresses::list(cx.store().await?, cx.person()?.user_id).await?;
    Ok(ok(&ListResponse::all(items)))
}

/// Add an address.
#[utoipa::path(post, path = "/me/addresses", tag = "profile", security(("bearer" = [])), request_body = AddressRequest,
    params(IdempotencyParams),
    responses((status = 201, body = Address), (status = 422, description = "invalid_field or too_many_addresses", body = ErrorBody)))]
pub async fn create_address(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: AddressRequest = cx.body()?;
    let fields = parse(&body)?;
    cx.idempotent(async |key| {
        let remember = |a: &Address, tx: &mut _| idempotency::remember(key, StatusCode::CREATED, a, tx);
        let address = addresses::add(cx.store().await?, cx.person()?.user_id, fields, body.is_default, remember)
            .await
            .map_err(refused)?;
        Ok(json(StatusCode::CREATED, &address))
    })
    .await
}

/// Replace an address.
#[utoipa::path(put, path = "/me/addresses/{addressId}", tag = "profile", security(("bearer" = [])), request_body = AddressRequest,
    params(("addressId" = AddressId, Path)),
    responses((status = 200, body = Address), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_address(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("addressId", AddressId::parse)?;
    let body: AddressRequest = cx.body()?;
    let fields = parse(&body)?;
    let address = addresses::replace(cx.store().await?, cx.person()?.user_id, id, fields, body.is_default)
        .await
        .map_err(refused)?;
    Ok(ok(&address))
}

/// Delete an address. Deleting the default makes the oldest remaining address the default.
#[utoipa::path(delete, path = "/me/addresses/{addressId}", tag = "profile", security(("bearer" = [])),
    params(("addressId" = AddressId, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_address(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("addressId", AddressId::parse)?;
    addresses::remove(cx.store().await?, cx.person()?.user_id, id).await.map_err(refused)?;
    Ok(no_content())
}
