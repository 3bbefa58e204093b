//! Purchase orders: drafts made by hand, changed while draft, sent (incoming at the destination,
//! emailed to the supplier as a PDF by the table's stream), cancelled (what had not arrived is no
//! longer incoming), read and listed. Receipts are in `receipts`, drafts from suggestions in
//! `suggestions`.

use chrono::Utc;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, PurchaseOrderId, SupplierId, VendorId};
use stockyard_domain::product::Variant;
use stockyard_domain::purchasing::{
    self, DeliverTo, OrderOrigin, OrderedFrom, PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, PurchasingError,
    ReceivedLine,
};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::{self, Sku};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::request::present;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_inventory::handlers::lookup;
use stockyard_store::{StoreError, Table, purchase_orders as orders, suppliers};
use utoipa::ToSchema;

/// A line as the client sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(value_type = Sku, example = "MILK-1L")]
    pub sku: String,
    /// Units, a multiple of the supplier's pack size.
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 48)]
    pub quantity: i64,
    /// Cost of one unit, in minor units of the supplier's currency.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64, example = 85)]
    pub unit_cost: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePurchaseOrderRequest {
    pub supplier_id: SupplierId,
    /// Where the goods go.
    pub location_id: LocationId,
    /// 1 to 99 lines, each SKU once.
    #[schema(min_items = 1, max_items = 99)]
    pub lines: Vec<LineBody>,
    /// Printed on the order (up to 500 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// What a refused transition tells the client.
pub(crate) fn order_error(error: PurchasingError, field: &str) -> ApiError {
    let message = error.to_string();
    match error {
        PurchasingError::NotDraft(_) => ApiError::conflict("purchase_order_not_draft", message),
        PurchasingError::NotOpen(_) => ApiError::conflict("purchase_order_not_open", message),
        PurchasingError::Closed(_) => ApiError::conflict("purchase_order_closed", message),
        PurchasingError::UnknownLine(_) => ApiError::unprocessable("unknown_line", Some(field), message),
        PurchasingError::MoreThanOrdered { .. } => {
            ApiError::Conflict { code: "more_than_ordered", message, field: Some(field.to_string()) }
        }
        PurchasingError::BelowMinimum { .. } => ApiError::conflict("below_minimum_order", message),
        PurchasingError::Overflow => ApiError::invalid("lines", message),
    }
}

pub(crate) fn changed_meanwhile() -> ApiError {
    ApiError::conflict("changed_meanwhile", "the purchase order changed meanwhile; read it again")
}

fn note(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(raw.map(|n| values::optional_text("note", n, 500)).transpose()?.flatten())
}

/// Lines checked for shape before anything is read (any pack size): the pack size is checked
/// once the supplier is known.
fn raw_lines(lines: &[LineBody]) -> Vec<(String, i64, i64)> {
    lines.iter().map(|l| (l.sku.clone(), l.quantity, l.unit_cost)).collect()
}

/// The variants the lines name (422 `unknown_sku` naming the line), in order.
async fn line_variants(table: &Table, vendor: VendorId, skus: &[String]) -> Result<Vec<Variant>, ApiError> {
    futures_util::future::try_join_all(
        skus.iter().enumerate().map(|(i, sku)| async move {
            lookup::variant_in_body(table, vendor, &format!("lines[{i}].sku"), sku).await
        }),
    )
    .await
}

/// Checks the lines against the supplier's pack size and names their variants.
async fn order_lines(
    table: &Table,
    vendor: VendorId,
    raw: &[(String, i64, i64)],
    pack_size: u32,
) -> Result<Vec<PurchaseOrderLine>, ApiError> {
    let lines = purchasing::check_lines(raw, pack_size)?;
    let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
    let variants = line_variants(table, vendor, &skus).await?;
    Ok(lines
        .into_iter()
        .zip(variants)
        .map(|(line, variant)| PurchaseOrderLine {
            sku: variant.sku.clone(),
            variant_id: variant.id,
            product_id: variant.product_id,
            quantity: line.quantity,
            received: 0,
            unit_cost: line.unit_cost,
            perishable: variant.shelf_life_days.is_some(),
        })
        .collect())
}

/// Write a draft purchase order to one supplier for one location. Quantities are whole packs of
/// the supplier; unit costs are in its currency.
#[utoipa::path(post, path = "/vendors/{vendorId}/purchase-orders", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = CreatePurchaseOrderRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = PurchaseOrder), (status = 403, body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_supplier, unknown_location or unknown_sku", body = ErrorBody)))]
pub async fn create_purchase_order(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreatePurchaseOrderRequest = cx.body()?;
    let raw = raw_lines(&body.lines);
    purchasing::check_lines(&raw, 1)?;
    let note = note(body.note.as_deref())?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    let (supplier, location) = tokio::try_join!(
        async {
            suppliers::get(table, vendor, body.supplier_id).await?.ok_or_else(|| {
                ApiError::unprocessable("unknown_supplier", Some("supplier_id"), "this vendor has no such supplier")
            })
        },
        lookup::location_in_body(table, vendor, "location_id", body.location_id),
    )?;
    let lines = order_lines(table, vendor, &raw, supplier.pack_size).await?;
    let total = purchasing::order_total(&lines).map_err(|e| order_error(e, "lines"))?;
    let actor = cx.actor();
    cx.idempotent(async |key| {
        let number = orders::take_numbers(table, vendor, 1).await?;
        let now = Utc::now();
        let order = PurchaseOrder {
            id: PurchaseOrderId::generate(),
            vendor_id: vendor,
            number: purchasing::order_number(number),
            status: PurchaseOrderStatus::Draft,
            supplier: OrderedFrom::from(&supplier),
            deliver_to: DeliverTo {
                location_id: location.id,
                code: location.code.clone(),
                name: location.name.clone(),
            },
            currency: supplier.currency,
            lines,
            total,
            note,
            origin: OrderOrigin::Manual,
            version: 1,
            vendor_name: None,
            created_by: actor,
            created_at: now,
            updated_at: now,
            sent_at: None,
            closed_at: None,
        };
        let tx = orders::create(table, std::slice::from_ref(&order))?;
        commit(table, tx, key, StatusCode::CREATED, &order, |_| changed_meanwhile()).await
    })
    .await
}

/// A purchase order with what has been received on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurchaseOrderDetail {
    #[serde(flatten)]
    pub order: PurchaseOrder,
    /// Every line of every receipt, by receipt then SKU.
    pub receipts: Vec<ReceivedLine>,
}

async fn order_in_path(cx: &Ctx<'_>, table: &Table, vendor: VendorId) -> Result<PurchaseOrder, ApiError> {
    let id = cx.path("purchaseOrderId", PurchaseOrderId::parse)?;
    orders::get(table, vendor, id).await?.ok_or(ApiError::NotFound("purchase order"))
}

/// One purchase order with its receipts.
#[utoipa::path(get, path = "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("purchaseOrderId" = PurchaseOrderId, Path)),
    responses((status = 200, body = PurchaseOrderDetail), (status = 403, body = ErrorBody)))]
pub async fn get_purchase_order(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.path("purchaseOrderId", PurchaseOrderId::parse)?;
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    let table = cx.store().await?;
    let order = order_in_path(&cx, table, vendor).await?;
    let receipts = orders::received_lines(table, vendor, order.id).await?;
    Ok(ok(&PurchaseOrderDetail { order, receipts }))
}

/// The vendor's purchase orders, newest first by default, optionally only those in one status
/// (`?status=`) or to one supplier (`?supplier_id=`).
#[utoipa::path(get, path = "/vendors/{vendorId}/purchase-orders", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("status" = Option<PurchaseOrderStatus>, Query), ("supplier_id" = Option<SupplierId>, Query), PageParams),
    responses((status = 200, body = ListResponse<PurchaseOrder>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_purchase_orders(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let status = cx.query_as("status", PurchaseOrderStatus::parse)?;
    let supplier = cx.query_as("supplier_id", SupplierId::parse)?;
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    let found = orders::list(cx.store().await?, vendor, status, supplier, &page).await?;
    Ok(ok(&ListResponse::from(found)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurchaseOrderRequest {
    /// The draft's new lines (1 to 99, each SKU once), replacing all of them.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 99)]
    pub lines: Option<Vec<LineBody>>,
    /// null removes the note.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub note: Option<Option<String>>,
}

/// Change a draft: its lines (all replaced) and its note. 409 `purchase_order_not_draft` once sent.
#[utoipa::path(patch, path = "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = UpdatePurchaseOrderRequest,
    params(("vendorId" = VendorId, Path), ("purchaseOrderId" = PurchaseOrderId, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 403, body = ErrorBody),
              (status = 409, description = "purchase_order_not_draft or changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field or unknown_sku", body = ErrorBody)))]
pub async fn update_purchase_order(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.path("purchaseOrderId", PurchaseOrderId::parse)?;
    let body: UpdatePurchaseOrderRequest = cx.body()?;
    let raw = body.lines.as_deref().map(raw_lines);
    if let Some(raw) = &raw {
        purchasing::check_lines(raw, 1)?;
    }
    let note = match &body.note {
        Some(Some(n)) => Some(note(Some(n))?),
        Some(None) => Some(None),
        None => None,
    };
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    let before = order_in_path(&cx, table, vendor).await?;
    if before.status != PurchaseOrderStatus::Draft {
        return Err(order_error(PurchasingError::NotDraft(before.status), "lines"));
    }
    let mut after = before.clone();
    let lines = match &raw {
        Some(raw) => order_lines(table, vendor, raw, before.supplier.pack_size).await?,
        None => before.lines.clone(),
    };
    if let Some(note) = note {
        after.note = note;
    }
    after.replace_lines(lines, Utc::now()).map_err(|e| order_error(e, "lines"))?;
    match table.commit(orders::replace(table, before.version, &after)?).await {
        Ok(()) => Ok(ok(&after)),
        Err(StoreError::Conflict { .. }) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// Send a draft to its supplier: every line becomes incoming stock at the destination in the same
/// transaction, and the supplier is emailed the order as a PDF. 409 `purchase_order_not_draft`
/// when it was sent already, `below_minimum_order` under the supplier's minimum.
#[utoipa::path(post, path = "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}/send", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), ("purchaseOrderId" = PurchaseOrderId, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 403, body = ErrorBody),
              (status = 409, description = "purchase_order_not_draft, below_minimum_order or changed_meanwhile", body = ErrorBody)))]
pub async fn send_purchase_order(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.path("purchaseOrderId", PurchaseOrderId::parse)?;
    let access = cx.vendor(VendorPermission::InventoryWrite).await?;
    let table = cx.store().await?;
    let before = order_in_path(&cx, table, access.id()).await?;
    let mut after = before.clone();
    after.send(&access.vendor.name, Utc::now()).map_err(|e| order_error(e, "status"))?;
    let incoming: Vec<(usize, i64)> = after.lines.iter().enumerate().map(|(i, l)| (i, i64::from(l.quantity))).collect();
    match table.commit(orders::replace_with_incoming(table, before.version, &after, &incoming)?).await {
        Ok(()) => Ok(ok(&after)),
        Err(e) if e.failed_at(orders::ORDER_CHANGED) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// Cancel a draft, sent or partially received order: what had not arrived stops being incoming (in
/// the same transaction). 409 `purchase_order_closed` once received or cancelled.
#[utoipa::path(post, path = "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}/cancel", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), ("purchaseOrderId" = PurchaseOrderId, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 403, body = ErrorBody),
              (status = 409, description = "purchase_order_closed or changed_meanwhile", body = ErrorBody)))]
pub async fn cancel_purchase_order(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.path("purchaseOrderId", PurchaseOrderId::parse)?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    let before = order_in_path(&cx, table, vendor).await?;
    let mut after = before.clone();
    let released = after.cancel(Utc::now()).map_err(|e| order_error(e, "status"))?;
    let changes: Vec<(usize, i64)> = released.into_iter().map(|(i, q)| (i, -i64::from(q))).collect();
    match table.commit(orders::replace_with_incoming(table, before.version, &after, &changes)?).await {
        Ok(()) => Ok(ok(&after)),
        Err(e) if e.failed_at(orders::ORDER_CHANGED) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}
