//! The signed-in user's own profile.

use stockyard_domain::account::User;
use stockyard_domain::values::{Name, optional_phone};
use stockyard_http::error::ErrorBody;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::users::{self, ProfileChange};

use crate::dto::UpdateProfileRequest;

/// My profile.
#[utoipa::path(get, path = "/me", tag = "profile", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn get_profile(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    Ok(ok(cx.account().await?))
}

/// Change my name or phone number. The name the vendor I belong to sees changes with it.
#[utoipa::path(patch, path = "/me", tag = "profile", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_profile(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: UpdateProfileRequest = cx.body()?;
    let change = ProfileChange {
        name: body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?,
        phone: body.phone.as_deref().map(|raw| optional_phone("phone", raw)).transpose()?,
    };
    let user = users::update_profile(cx.store().await?, cx.person()?.user_id, &change).await?;
    Ok(ok(&user.ok_or(ApiError::NotFound("user"))?))
}
