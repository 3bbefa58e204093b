//! Coupons. A vendor's coupons are made and changed by its owner and catalog editors (the
//! permission to write its catalog) and read by its members, admin and support; the platform's
//! by admin, and read by admin and support. A coupon the caller may not read is not found (404),
//! so nobody learns which codes another vendor has; one they may read but not change is 403.
//!
//! Codes are unique platform-wide whatever their case (409 `coupon_code_taken`). A coupon's code,
//! scope and what it takes off never change once made; whether it is active, its validity window
//! and its limits do (never below the uses counted so far), under the version read.

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use serde::Deserialize;
use stockyard_domain::Money;
use stockyard_domain::ids::{CouponId, VendorId};
use stockyard_domain::promotion::{Coupon, CouponChange, CouponInput, CouponKind, CouponScope};
use stockyard_domain::roles::{PlatformRole, VendorPermission};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::request::present;
use stockyard_http::response::ok;
use stockyard_http::vendor_access::decide;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::{StoreError, coupons};
use utoipa::{IntoParams, ToSchema};

/// Tries of a change that found the coupon used meanwhile (its version unchanged).
const CHANGE_TRIES: usize = 3;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCouponRequest {
    /// The vendor whose coupon it is: it discounts that vendor's items only (its owner and catalog
    /// editors make it). Left out: a platform-wide coupon, discounting every item (admin only).
    #[serde(default)]
    #[schema(value_type = Option<VendorId>)]
    pub vendor_id: Option<String>,
    /// 3–32 letters, digits and '-', in any case: stored upper-case, unique platform-wide, and
    /// typed by shoppers in any case.
    #[schema(example = "summer-10", pattern = r"^\s*[A-Za-z0-9-]{3,32}\s*$")]
    pub code: String,
    pub kind: CouponKind,
    /// The items the coupon covers must come to at least this much (more than zero; in the
    /// currency of a fixed amount off).
    #[serde(default)]
    pub minimum_spend: Option<Money>,
    /// Valid from this moment on.
    pub starts_at: DateTime<Utc>,
    /// Valid until just before this moment (after `starts_at`); open-ended when left out.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// How many orders may use it in all; no limit when left out.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub usage_limit: Option<u32>,
    /// How many orders of one customer may use it (at most `usage_limit`); no limit when left out.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub per_customer_limit: Option<u32>,
}

fn code_taken() -> ApiError {
    ApiError::conflict_on("coupon_code_taken", "code", "another coupon already has this code")
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("changed_meanwhile", "the coupon was changed meanwhile; read it again")
}

/// Create a coupon: a vendor's (with `vendor_id`; its owner and catalog editors) or the
/// platform's (admin). 409 `coupon_code_taken` when another coupon has the code, whatever its case.
#[utoipa::path(post, path = "/coupons", tag = "promotions", security(("bearer" = ["admin", "vendor_owner", "catalog_editor"])),
    request_body = CreateCouponRequest,
    params(IdempotencyParams),
    responses((status = 201, body = Coupon), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no vendor has this `vendor_id`", body = ErrorBody),
              (status = 409, description = "coupon_code_taken (`field`: `code`)", body = ErrorBody),
              (status = 422, description = "invalid_field: names the field (`kind.percent`, `ends_at`, ...)", body = ErrorBody)))]
pub async fn create_coupon(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateCouponRequest = cx.body()?;
    let vendor = body.vendor_id.as_deref().map(|v| VendorId::parse("vendor_id", v)).transpose()?;
    let scope = match vendor {
        Some(vendor_id) => CouponScope::Vendor { vendor_id },
        None => CouponScope::Platform,
    };
    let input = CouponInput {
        code: body.code,
        kind: body.kind,
        minimum_spend: body.minimum_spend,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        usage_limit: body.usage_limit,
        per_customer_limit: body.per_customer_limit,
    };
    let coupon = input.check(CouponId::generate(), scope, Utc::now())?;
    match vendor {
        Some(vendor) => {
            cx.vendor_named(vendor, VendorPermission::CatalogWrite).await?;
        }
        None => cx.require_any(&[PlatformRole::Admin]).await?,
    }
    let table = cx.store().await?;
    cx.idempotent(async |key| {
        let tx = coupons::create(table, &coupon)?;
        commit(table, tx, key, StatusCode::CREATED, &coupon, |_| code_taken()).await
    })
    .await
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListCouponsParams {
    /// A vendor's coupons (its members, admin, support); left out, the platform's (admin, support).
    pub vendor_id: Option<VendorId>,
    /// Only coupons that are (`true`) or are not (`false`) active.
    pub active: Option<bool>,
}

/// The coupons of a vendor (`?vendor_id=`) or of the platform, oldest first (`?order=newest` for
/// the latest first); `?active=` keeps only active or inactive ones, reading on until the page is
/// full (`partial` when the read budget ran out first).
#[utoipa::path(get, path = "/coupons", tag = "promotions", security(("bearer" = ["vendor_owner", "catalog_editor", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(ListCouponsParams, PageParams),
    responses((status = 200, body = ListResponse<Coupon>), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no vendor has this `vendor_id`", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn list_coupons(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let vendor = cx.query_as("vendor_id", VendorId::parse)?;
    let active = cx.query_as("active", |field, raw| match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(stockyard_domain::FieldError::new(field, "must be true or false")),
    })?;
    let scope = match vendor {
        Some(vendor) => CouponScope::Vendor { vendor_id: cx.vendor_named(vendor, VendorPermission::Read).await?.id() },
        None => {
            cx.require_any(&[PlatformRole::Admin, PlatformRole::Support]).await?;
            CouponScope::Platform
        }
    };
    let found = coupons::list(cx.store().await?, &scope, active, &page).await?;
    Ok(ok(&ListResponse::from(found)))
}

/// Lets the caller read `coupon` (a refusal is 404: see the module's documentation) and, with
/// `change`, change it (403 for one who may only read it; `vendor_suspended` while its vendor is).
async fn authorise(cx: &Ctx<'_>, coupon: &Coupon, change: bool) -> Result<(), ApiError> {
    let hidden = |e: ApiError| match e {
        ApiError::Forbidden(_) | ApiError::NotFound(_) => ApiError::NotFound("coupon"),
        other => other,
    };
    match coupon.scope {
        CouponScope::Vendor { vendor_id } => {
            let access = cx.vendor_named(vendor_id, VendorPermission::Read).await.map_err(hidden)?;
            if change {
                decide(cx.person()?, &access.vendor, access.role, VendorPermission::CatalogWrite)?;
            }
        }
        CouponScope::Platform => {
            cx.require_any(&[PlatformRole::Admin, PlatformRole::Support]).await.map_err(hidden)?;
            if change {
                cx.require_any(&[PlatformRole::Admin]).await?;
            }
        }
    }
    Ok(())
}

/// A coupon with its uses so far (`used`: orders counted when their checkout committed, given
/// back when one expired unpaid or was cancelled).
#[utoipa::path(get, path = "/coupons/{couponId}", tag = "promotions", security(("bearer" = ["vendor_owner", "catalog_editor", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("couponId" = CouponId, Path)),
    responses((status = 200, body = Coupon),
              (status = 404, description = "not_found: no such coupon, or one the caller may not read", body = ErrorBody)))]
pub async fn get_coupon(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("couponId", CouponId::parse)?;
    let coupon = coupons::get(cx.store().await?, id).await?.ok_or(ApiError::NotFound("coupon"))?;
    authorise(&cx, &coupon, false).await?;
    Ok(ok(&coupon))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCouponRequest {
    /// `false` deactivates the coupon (checkouts refuse it as `inactive`); `true` reactivates it.
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// `null` makes it open-ended.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    /// Never below the uses so far (`used`); `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000_000)]
    pub usage_limit: Option<Option<u32>>,
    /// At most `usage_limit`; `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000_000)]
    pub per_customer_limit: Option<Option<u32>>,
}

/// Change a coupon: deactivate or reactivate it, move its validity window, raise or lower its
/// limits (never below the uses so far: 422 naming `usage_limit`). Fields left out stay as they
/// are; the same values again change nothing. Written under the version read: a change made
/// meanwhile is 409 `changed_meanwhile`.
#[utoipa::path(patch, path = "/coupons/{couponId}", tag = "promotions", security(("bearer" = ["admin", "vendor_owner", "catalog_editor"])),
    request_body = UpdateCouponRequest,
    params(("couponId" = CouponId, Path)),
    responses((status = 200, body = Coupon), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such coupon, or one the caller may not read", body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field: names the field (`usage_limit`, `ends_at`, ...)", body = ErrorBody)))]
pub async fn update_coupon(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("couponId", CouponId::parse)?;
    let body: UpdateCouponRequest = cx.body()?;
    let change = CouponChange {
        active: body.active,
        starts_at: body.starts_at,
        ends_at: body.ends_at,
        usage_limit: body.usage_limit,
        per_customer_limit: body.per_customer_limit,
    };
    change.check()?;
    let table = cx.store().await?;
    let mut before = coupons::get(table, id).await?.ok_or(ApiError::NotFound("coupon"))?;
    authorise(&cx, &before, true).await?;
    let read_version = before.version;
    for _ in 0..CHANGE_TRIES {
        let after = before.amended(&change, Utc::now())?;
        if after == before {
            return Ok(ok(&before));
        }
        match coupons::update(table, &before, &after).await {
            Ok(stored) => return Ok(ok(&stored)),
            Err(StoreError::ConditionFailed) => {
                // Changed meanwhile, or used meanwhile beyond the new limit: judge again on what
                // is stored now, unless someone else changed the coupon.
                before = coupons::get(table, id).await?.ok_or(ApiError::NotFound("coupon"))?;
                if before.version != read_version {
                    return Err(changed_meanwhile());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled("the coupon is being used too fast to change; try again".into()).into())
}
