//! Platform administration: users and their platform roles, vendors and suspension.

use stockyard_domain::account::User;
use stockyard_domain::ids::{UserId, VendorId};
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::values::Reason;
use stockyard_domain::vendor::{Vendor, VendorStatus};
use stockyard_http::error::ErrorBody;
use stockyard_http::openapi::PageParams;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::users::{self, UserFilter};
use stockyard_store::vendors;

use crate::dto::{SetUserRolesRequest, SetVendorStatusRequest};

const READERS: [PlatformRole; 2] = [PlatformRole::Admin, PlatformRole::Support];

fn role(field: &str, raw: &str) -> Result<PlatformRole, ApiError> {
    raw.parse().map_err(|m: String| ApiError::invalid(field, m))
}

/// All users, newest first (admin and support). Filters: `?email=` (prefix), `?role=`. A filtered
/// page reads on until it is full, within a read budget (then `partial` is true).
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = ["admin", "support"])),
    params(("email" = Option<String>, Query, description = "Email prefix (any case)"), ("role" = Option<PlatformRole>, Query), PageParams),
    responses((status = 200, body = ListResponse<User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.require_any(&READERS).await?;
    let page = cx.page(true)?;
    let filter = UserFilter {
        email_prefix: cx.query("email").map(|p| p.to_lowercase()),
        role: cx.query("role").map(|r| role("role", &r)).transpose()?,
    };
    let found = users::list(cx.store().await?, &page, &filter).await?;
    Ok(ok(&ListResponse::from(found)))
}

/// Set a user's platform roles (admin only). `customer` is always kept; admins cannot drop their own admin role.
#[utoipa::path(put, path = "/admin/users/{userId}/roles", tag = "admin", security(("bearer" = ["admin"])), request_body = SetUserRolesRequest,
    params(("userId" = UserId, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_user_roles(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.require_any(&[PlatformRole::Admin]).await?;
    let user_id = cx.path("userId", UserId::parse)?;
    let body: SetUserRolesRequest = cx.body()?;
    let mut roles = vec![PlatformRole::Customer];
    for (i, raw) in body.roles.iter().enumerate() {
        let role = role(&format!("roles[{i}]"), raw)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    if user_id == cx.person()?.user_id && !roles.contains(&PlatformRole::Admin) {
        return Err(ApiError::unprocessable(
            "cannot_demote_self",
            Some("roles"),
            "you cannot remove your own admin role",
        ));
    }
    let user = users::set_roles(cx.store().await?, user_id, &roles).await?;
    Ok(ok(&user.ok_or(ApiError::NotFound("user"))?))
}

/// All vendors, newest first (admin and support). Filter: `?status=active|suspended`; a filtered
/// page reads on until it is full, within a read budget (then `partial` is true).
#[utoipa::path(get, path = "/admin/vendors", tag = "admin", security(("bearer" = ["admin", "support"])),
    params(("status" = Option<VendorStatus>, Query), PageParams),
    responses((status = 200, body = ListResponse<Vendor>), (status = 403, body = ErrorBody)))]
pub async fn list_vendors(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.require_any(&READERS).await?;
    let page = cx.page(true)?;
    let status = cx.query_as("status", VendorStatus::parse)?;
    let found = vendors::list(cx.store().await?, &page, status).await?;
    Ok(ok(&ListResponse::from(found)))
}

/// Suspend or reinstate a vendor (admin only). A suspended vendor's members can read but not change anything.
#[utoipa::path(put, path = "/admin/vendors/{vendorId}/status", tag = "admin", security(("bearer" = ["admin"])), request_body = SetVendorStatusRequest,
    params(("vendorId" = VendorId, Path)),
    responses((status = 200, body = Vendor), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_vendor_status(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.require_any(&[PlatformRole::Admin]).await?;
    let vendor_id = cx.path("vendorId", VendorId::parse)?;
    let body: SetVendorStatusRequest = cx.body()?;
    let status = VendorStatus::parse("status", &body.status)?;
    let reason = body.reason.as_deref().map(|r| Reason::parse("reason", r)).transpose()?;
    let vendor = vendors::set_status(cx.store().await?, vendor_id, status, reason.as_deref()).await?;
    let vendor = vendor.ok_or(ApiError::NotFound("vendor"))?;
    tracing::info!(vendor_id = %vendor_id, status = status.as_str(), by = %cx.person()?.user_id, "vendor status changed");
    Ok(ok(&vendor))
}
