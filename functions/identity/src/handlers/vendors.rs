//! Vendor organisations: created by a user who becomes the owner.

use chrono::Utc;
use lambda_http::http::StatusCode;
use stockyard_domain::ids::VendorId;
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_domain::values::bounded_text;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{commit, idempotent};
use stockyard_http::request::{json_body, path};
use stockyard_http::response::ok;
use stockyard_http::vendor_access::authorize;
use stockyard_http::{ApiDeps, ApiError, Body, Request, Response};
use stockyard_store::identity::{MemberRecord, VendorRecord, VendorStatus};
use stockyard_store::table::{Change, Expr};
use stockyard_store::{StoreError, keys};

use crate::dto::{CreateVendorRequest, UpdateVendorRequest, VendorView};

fn description(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Ok(Some(bounded_text("description", text, 1, 2000)?)),
    }
}

/// Create a vendor organisation; the caller becomes its owner. A user belongs to one vendor at most.
#[utoipa::path(post, path = "/vendors", tag = "vendors", security(("bearer" = [])), request_body = CreateVendorRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = VendorView), (status = 409, description = "already_member", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_vendor(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let body: CreateVendorRequest = json_body(&req)?;
    let name = bounded_text("name", &body.name, 2, 100)?;
    let description = description(body.description.as_deref())?;
    idempotent(&req, &me.user_id.to_string(), &deps.table, async |key| {
        let user = super::load_user(&deps.table, me.user_id).await?;
        if user.vendor_id.is_some() {
            return Err(already_member());
        }
        let now = Utc::now();
        let vendor = VendorRecord {
            id: VendorId::generate(),
            name,
            description,
            status: VendorStatus::Active,
            status_reason: None,
            owner_id: user.id,
            created_at: now,
            updated_at: now,
        };
        let owner = MemberRecord {
            vendor_id: vendor.id,
            user_id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            role: VendorRole::Owner,
            joined_at: now,
        };
        let t = &deps.table;
        let writes = vec![
            t.tx_put(
                &keys::vendor(vendor.id),
                Some(&keys::vendor_listing(vendor.id)),
                &vendor,
                Some(Expr::not_exists()),
            )?,
            t.tx_put(&keys::member(vendor.id, user.id), None, &owner, Some(Expr::not_exists()))?,
            join_vendor(t, user.id, vendor.id, VendorRole::Owner)?,
        ];
        commit(t, writes, key, StatusCode::CREATED, &VendorView::from(vendor), |_| already_member()).await
    })
    .await
}

pub(crate) fn already_member() -> ApiError {
    ApiError::conflict("already_member", "you already belong to a vendor; a user belongs to one vendor at most")
}

/// The write that records a user's vendor, refused if they already have one.
pub(crate) fn join_vendor(
    table: &stockyard_store::Table,
    user: stockyard_domain::ids::UserId,
    vendor: VendorId,
    role: VendorRole,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
    table.tx_update(
        &keys::user(user),
        Change::new(
            Expr::new("SET vendor_id = :v, vendor_role = :r").str(":v", vendor.to_string()).str(":r", role.as_str()),
        )
        .when(Expr::new("attribute_exists(PK) AND attribute_not_exists(vendor_id)")),
    )
}

/// A vendor, for its members and for platform admin and support.
#[utoipa::path(get, path = "/vendors/{vendorId}", tag = "vendors", security(("bearer" = [])),
    params(("vendorId" = String, Path)),
    responses((status = 200, body = VendorView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_vendor(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let access = authorize(&deps.table, &me, vendor_id, VendorPermission::Read).await?;
    Ok(ok(&VendorView::from(access.vendor)))
}

/// Change the vendor's name or description (owner only).
#[utoipa::path(patch, path = "/vendors/{vendorId}", tag = "vendors", security(("bearer" = [])), request_body = UpdateVendorRequest,
    params(("vendorId" = String, Path)),
    responses((status = 200, body = VendorView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_vendor(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let body: UpdateVendorRequest = json_body(&req)?;
    let name = body.name.as_deref().map(|n| bounded_text("name", n, 2, 100)).transpose()?;
    let description = body.description.as_deref().map(|d| description(Some(d))).transpose()?;
    authorize(&deps.table, &me, vendor_id, VendorPermission::Manage).await?;
    let mut update = Expr::default().str(":now", Utc::now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    let mut set = vec!["updated_at = :now"];
    let mut remove = vec![];
    if let Some(name) = name {
        update = update.name("#name", "name").str(":name", name);
        set.push("#name = :name");
    }
    match description {
        None => {}
        Some(None) => remove.push("description"),
        Some(Some(text)) => {
            update = update.str(":description", text);
            set.push("description = :description");
        }
    }
    update.expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        update.expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    let vendor: VendorRecord =
        deps.table.update(&keys::vendor(vendor_id), Change::new(update).when(Expr::exists())).await?;
    Ok(ok(&VendorView::from(vendor)))
}
