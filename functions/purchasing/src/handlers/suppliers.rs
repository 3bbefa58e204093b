//! A vendor's suppliers. Inventory managers (and the owner) add and change them; whoever reads
//! stock reads them.

use chrono::Utc;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use stockyard_domain::ids::{SupplierId, VendorId};
use stockyard_domain::money::Currency;
use stockyard_domain::purchasing::{self, Supplier};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::{Email, Name, SupplierCode};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::request::present;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::{StoreError, suppliers};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSupplierRequest {
    /// Unique within the vendor; the demand settings' `supplier` names the supplier by it.
    #[schema(value_type = SupplierCode, example = "ACME")]
    pub code: String,
    #[schema(value_type = Name, example = "Acme Dairy Ltd")]
    pub name: String,
    /// Where purchase orders are sent.
    #[schema(value_type = Email, example = "orders@acme.example")]
    pub email: String,
    /// What the supplier invoices in.
    #[schema(value_type = Currency, example = "EUR")]
    pub currency: String,
    /// Days from sending an order to its arrival (0–365).
    #[schema(minimum = 0, maximum = 365, example = 5)]
    pub lead_time_days: i64,
    /// The smallest order the supplier takes, in minor units of its currency.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 25000)]
    pub minimum_order: Option<i64>,
    /// Units per pack (default 1): ordered quantities are whole packs.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000, example = 12)]
    pub pack_size: Option<i64>,
}

fn conflict(step: &str) -> ApiError {
    match step {
        suppliers::CODE_TAKEN => {
            ApiError::conflict_on("supplier_code_taken", "code", "this vendor already has a supplier with this code")
        }
        _ => ApiError::conflict("changed_meanwhile", "the supplier changed meanwhile; read it again"),
    }
}

/// Add a supplier (inventory managers and the owner). 409 `supplier_code_taken` when the vendor
/// already has a supplier with the code.
#[utoipa::path(post, path = "/vendors/{vendorId}/suppliers", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = CreateSupplierRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = Supplier), (status = 403, body = ErrorBody),
              (status = 409, description = "supplier_code_taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_supplier(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateSupplierRequest = cx.body()?;
    let code = SupplierCode::parse("code", &body.code)?;
    let name = Name::parse("name", &body.name)?;
    let email = Email::parse("email", &body.email)?;
    let currency = Currency::parse("currency", &body.currency)?;
    let lead_time_days = purchasing::lead_time("lead_time_days", body.lead_time_days)?;
    let minimum_order = body.minimum_order.map(|m| purchasing::amount("minimum_order", m)).transpose()?;
    let pack_size = purchasing::pack_size("pack_size", body.pack_size.unwrap_or(1))?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    cx.idempotent(async |key| {
        let now = Utc::now();
        let supplier = Supplier {
            id: SupplierId::generate(),
            vendor_id: vendor,
            code,
            name,
            email: email.to_string(),
            currency,
            lead_time_days,
            minimum_order,
            pack_size,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let tx = suppliers::create(table, &supplier)?;
        commit(table, tx, key, StatusCode::CREATED, &supplier, conflict).await
    })
    .await
}

/// The vendor's suppliers, oldest first (`?order=newest` for the latest first).
#[utoipa::path(get, path = "/vendors/{vendorId}/suppliers", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), PageParams),
    responses((status = 200, body = ListResponse<Supplier>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_suppliers(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    Ok(ok(&ListResponse::from(suppliers::list(cx.store().await?, vendor, &page).await?)))
}

/// One supplier.
#[utoipa::path(get, path = "/vendors/{vendorId}/suppliers/{supplierId}", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("supplierId" = SupplierId, Path)),
    responses((status = 200, body = Supplier), (status = 403, body = ErrorBody)))]
pub async fn get_supplier(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("supplierId", SupplierId::parse)?;
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    let supplier = suppliers::get(cx.store().await?, vendor, id).await?.ok_or(ApiError::NotFound("supplier"))?;
    Ok(ok(&supplier))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSupplierRequest {
    #[serde(default)]
    #[schema(value_type = Option<SupplierCode>, example = "ACME")]
    pub code: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Email>)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Currency>)]
    pub currency: Option<String>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 365)]
    pub lead_time_days: Option<i64>,
    /// null removes the minimum.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub minimum_order: Option<Option<i64>>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub pack_size: Option<i64>,
}

/// Change a supplier: fields left out stay as they are; `minimum_order: null` removes the minimum.
/// Orders already made keep the supplier as it was when they were made.
#[utoipa::path(patch, path = "/vendors/{vendorId}/suppliers/{supplierId}", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = UpdateSupplierRequest,
    params(("vendorId" = VendorId, Path), ("supplierId" = SupplierId, Path)),
    responses((status = 200, body = Supplier), (status = 403, body = ErrorBody),
              (status = 409, description = "supplier_code_taken or changed_meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_supplier(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("supplierId", SupplierId::parse)?;
    let body: UpdateSupplierRequest = cx.body()?;
    let code = body.code.as_deref().map(|c| SupplierCode::parse("code", c)).transpose()?;
    let name = body.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
    let email = body.email.as_deref().map(|e| Email::parse("email", e)).transpose()?;
    let currency = body.currency.as_deref().map(|c| Currency::parse("currency", c)).transpose()?;
    let lead_time = body.lead_time_days.map(|d| purchasing::lead_time("lead_time_days", d)).transpose()?;
    let minimum_order = match body.minimum_order {
        Some(Some(m)) => Some(Some(purchasing::amount("minimum_order", m)?)),
        other => other.map(|_| None),
    };
    let pack_size = body.pack_size.map(|p| purchasing::pack_size("pack_size", p)).transpose()?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    let before = suppliers::get(table, vendor, id).await?.ok_or(ApiError::NotFound("supplier"))?;
    let mut after = before.clone();
    after.code = code.unwrap_or(after.code);
    after.name = name.unwrap_or(after.name);
    after.email = email.map(|e| e.to_string()).unwrap_or(after.email);
    after.currency = currency.unwrap_or(after.currency);
    after.lead_time_days = lead_time.unwrap_or(after.lead_time_days);
    after.minimum_order = minimum_order.unwrap_or(after.minimum_order);
    after.pack_size = pack_size.unwrap_or(after.pack_size);
    if after == before {
        return Ok(ok(&before));
    }
    after.version += 1;
    after.updated_at = Utc::now();
    match table.commit(suppliers::replace(table, &before, &after)?).await {
        Ok(()) => Ok(ok(&after)),
        Err(StoreError::Conflict { step }) => Err(conflict(&step)),
        Err(e) => Err(e.into()),
    }
}
