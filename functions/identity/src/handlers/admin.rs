//! Platform administration: users and their platform roles, vendors and suspension.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use stockyard_domain::ids::{UserId, VendorId};
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::values::bounded_text;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{json_body, page_request, path, query};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, ListResponse, Request, Response};
use stockyard_store::identity::{UserRecord, VendorRecord};
use stockyard_store::table::{Change, Expr};
use stockyard_store::{StoreError, keys};

use crate::dto::{SetUserRolesRequest, SetVendorStatusRequest, UserView, VendorView};

const READERS: [PlatformRole; 2] = [PlatformRole::Admin, PlatformRole::Support];

/// All users, newest first (admin and support). Filters: `?email=` (prefix), `?role=`.
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = [])),
    params(("email" = Option<String>, Query, description = "Email prefix"), ("role" = Option<String>, Query),
           ("limit" = Option<i32>, Query), ("cursor" = Option<String>, Query), ("order" = Option<String>, Query, description = "newest (default) or oldest")),
    responses((status = 200, body = ListResponse<UserView>), (status = 403, body = ErrorBody)))]
pub async fn list_users(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    me.require_any(&READERS)?;
    let page = page_request(&req, true)?;
    let mut clauses = vec![];
    let mut filter = Expr::default();
    if let Some(prefix) = query(&req, "email") {
        clauses.push("begins_with(email, :email)");
        filter = filter.str(":email", prefix.to_lowercase());
    }
    if let Some(role) = query(&req, "role") {
        let role: PlatformRole = role.parse().map_err(|m: String| ApiError::invalid("role", m))?;
        clauses.push("contains(#roles, :role)");
        filter = filter.name("#roles", "roles").str(":role", role.as_str());
    }
    filter.expression = clauses.join(" AND ");
    let filter = (!clauses.is_empty()).then_some(filter);
    let users = deps.table.query::<UserRecord>(&keys::all_users(), &page, filter).await?;
    Ok(ok(&ListResponse::from(users.map(UserView::from))))
}

/// Set a user's platform roles (admin only). `customer` is always kept; admins cannot drop their own admin role.
#[utoipa::path(put, path = "/admin/users/{userId}/roles", tag = "admin", security(("bearer" = [])), request_body = SetUserRolesRequest,
    params(("userId" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_user_roles(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    me.require_any(&[PlatformRole::Admin])?;
    let user_id = path(&req, "userId", UserId::parse)?;
    let body: SetUserRolesRequest = json_body(&req)?;
    let mut roles = vec![PlatformRole::Customer];
    for (i, raw) in body.roles.iter().enumerate() {
        let role: PlatformRole =
            raw.trim().parse().map_err(|m: String| ApiError::invalid(&format!("roles[{i}]"), m))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    if user_id == me.user_id && !roles.contains(&PlatformRole::Admin) {
        return Err(ApiError::unprocessable(
            "cannot_demote_self",
            Some("roles"),
            "you cannot remove your own admin role",
        ));
    }
    let list = AttributeValue::L(roles.iter().map(|r| AttributeValue::S(r.as_str().into())).collect());
    let change = Change::new(
        Expr::new("SET #roles = :roles, updated_at = :now")
            .name("#roles", "roles")
            .value(":roles", list)
            .str(":now", Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    )
    .when(Expr::exists());
    match deps.table.update::<UserRecord>(&keys::user(user_id), change).await {
        Ok(user) => Ok(ok(&UserView::from(user))),
        Err(StoreError::ConditionFailed) => Err(ApiError::NotFound("user")),
        Err(e) => Err(e.into()),
    }
}

/// All vendors, newest first (admin and support). Filter: `?status=active|suspended`.
#[utoipa::path(get, path = "/admin/vendors", tag = "admin", security(("bearer" = [])),
    params(("status" = Option<String>, Query), ("limit" = Option<i32>, Query), ("cursor" = Option<String>, Query), ("order" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<VendorView>), (status = 403, body = ErrorBody)))]
pub async fn list_vendors(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    me.require_any(&READERS)?;
    let page = page_request(&req, true)?;
    let filter = match query(&req, "status").as_deref() {
        None => None,
        Some(s @ ("active" | "suspended")) => {
            Some(Expr::new("#status = :status").name("#status", "status").str(":status", s))
        }
        Some(_) => return Err(ApiError::invalid("status", "must be active or suspended")),
    };
    let vendors = deps.table.query::<VendorRecord>(&keys::all_vendors(), &page, filter).await?;
    Ok(ok(&ListResponse::from(vendors.map(VendorView::from))))
}

/// Suspend or reinstate a vendor (admin only). A suspended vendor's members can read but not change anything.
#[utoipa::path(put, path = "/admin/vendors/{vendorId}/status", tag = "admin", security(("bearer" = [])), request_body = SetVendorStatusRequest,
    params(("vendorId" = String, Path)),
    responses((status = 200, body = VendorView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_vendor_status(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    me.require_any(&[PlatformRole::Admin])?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let body: SetVendorStatusRequest = json_body(&req)?;
    let status = match body.status.trim() {
        s @ ("active" | "suspended") => s,
        _ => return Err(ApiError::invalid("status", "must be active or suspended")),
    };
    let reason = body.reason.as_deref().map(|r| bounded_text("reason", r, 1, 500)).transpose()?;
    let mut update = Expr::new("")
        .name("#status", "status")
        .str(":status", status)
        .str(":now", Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    update.expression = match (status, reason) {
        ("suspended", Some(reason)) => {
            update = update.str(":reason", reason);
            "SET #status = :status, status_reason = :reason, updated_at = :now".into()
        }
        _ => "SET #status = :status, updated_at = :now REMOVE status_reason".into(),
    };
    match deps.table.update::<VendorRecord>(&keys::vendor(vendor_id), Change::new(update).when(Expr::exists())).await {
        Ok(vendor) => {
            tracing::info!(vendor_id = %vendor_id, status, by = %me.user_id, "vendor status changed");
            Ok(ok(&VendorView::from(vendor)))
        }
        Err(StoreError::ConditionFailed) => Err(ApiError::NotFound("vendor")),
        Err(e) => Err(e.into()),
    }
}
