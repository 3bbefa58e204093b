//! Receiving a purchase order: each line of a receipt posts stock at the destination through
//! `stock::apply` (reason `received`, reference `po:<id>`, into a batch for perishable variants),
//! takes the units off incoming, moves the order on (partially received, then received) under a
//! condition on its version, and claims the line under the receipt's id, all in one transaction.
//! So two receipts at once never both apply to one line's outstanding units, and a retried
//! receipt (same `Idempotency-Key`) never posts a line twice: it resumes where it stopped.

use std::collections::HashSet;

use chrono::{Days, NaiveDate, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{PurchaseOrderId, VendorId};
use stockyard_domain::product::Variant;
use stockyard_domain::purchasing::{self, PurchaseOrder, ReceivedLine};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::{BatchQuantity, MAX_QUANTITY, MovementReason};
use stockyard_domain::values::{self, LotCode, Sku};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::remember;
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::response::json;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_inventory::handlers::lookup::{self, today};
use stockyard_inventory::handlers::stock::{Record, movement};
use stockyard_store::{StoreError, purchase_orders as orders, stock};
use utoipa::ToSchema;

use super::orders::{changed_meanwhile, order_error};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLineBody {
    #[schema(value_type = Sku, example = "MILK-1L")]
    pub sku: String,
    /// Units that arrived (at most what is still outstanding on the line).
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 24)]
    pub quantity: i64,
    /// Perishable variants: the batch's lot (required).
    #[serde(default)]
    #[schema(value_type = Option<LotCode>)]
    pub lot: Option<String>,
    /// Perishable variants: the batch's expiry date (default: today + shelf life).
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptRequest {
    /// 1 to 99 lines, each SKU once.
    #[schema(min_items = 1, max_items = 99)]
    pub lines: Vec<ReceiptLineBody>,
    /// Recorded on each movement (up to 500 characters).
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptResponse {
    /// Derived from the `Idempotency-Key` (the same for every retry of one receipt), or new.
    pub receipt_id: String,
    /// The lines this request posted.
    pub lines: Vec<ReceivedLine>,
    /// SKUs an earlier try of the same receipt had posted already (not posted again).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub already_posted: Vec<String>,
    pub purchase_order: PurchaseOrder,
}

/// One line, checked.
struct Planned {
    field: String,
    sku: String,
    quantity: u32,
    variant: Variant,
    batch: Option<(String, NaiveDate)>,
}

/// A line that failed: on the store (a step's condition) or for a reason the client is told.
enum Failed {
    Store(StoreError),
    Api(ApiError),
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Failed::Store(e)
    }
}

impl From<ApiError> for Failed {
    fn from(e: ApiError) -> Self {
        Failed::Api(e)
    }
}

/// How often a line is tried again after another change of the order won the race.
const ORDER_RACES: usize = 20;

/// The batch a line goes into: perishable variants need a lot; the expiry date defaults to today
/// + shelf life and is never in the past. Refused for variants without a shelf life.
fn batch_of(
    i: usize,
    variant: &Variant,
    lot: Option<String>,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Option<(String, NaiveDate)>, ApiError> {
    let Some(shelf_life) = variant.shelf_life_days else {
        if lot.is_some() || expires_on.is_some() {
            let field = if lot.is_some() { "lot" } else { "expires_on" };
            return Err(ApiError::invalid(
                &format!("lines[{i}].{field}"),
                "only perishable variants (with a shelf life) are received into batches",
            ));
        }
        return Ok(None);
    };
    let lot = lot.ok_or_else(|| {
        ApiError::invalid(&format!("lines[{i}].lot"), "is required: perishable stock is received into batches")
    })?;
    let expires_on = expires_on.unwrap_or(today + Days::new(u64::from(shelf_life)));
    if expires_on < today {
        return Err(ApiError::invalid(&format!("lines[{i}].expires_on"), "must not be in the past"));
    }
    Ok(Some((lot, expires_on)))
}

/// Receive goods on a sent or partially received order: each line names a SKU of the order and
/// the units that arrived (and, for perishable variants, the batch). Every line is checked before
/// any is posted; more than is outstanding is refused (409 `more_than_ordered`). The last unit
/// makes the order `received`. With an `Idempotency-Key`, a retry replays the receipt, or finishes
/// it if it was cut short, and never posts a line twice.
#[utoipa::path(post, path = "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}/receipts", tag = "purchasing", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = ReceiptRequest,
    params(("vendorId" = VendorId, Path), ("purchaseOrderId" = PurchaseOrderId, Path), IdempotencyParams),
    responses((status = 201, body = ReceiptResponse), (status = 403, body = ErrorBody),
              (status = 409, description = "purchase_order_not_open, more_than_ordered, too_many_batches or changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_line or lot_expiry_mismatch", body = ErrorBody)))]
pub async fn receive_purchase_order(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("purchaseOrderId", PurchaseOrderId::parse)?;
    let body: ReceiptRequest = cx.body()?;
    if body.lines.is_empty() || body.lines.len() > purchasing::MAX_LINES {
        return Err(ApiError::invalid("lines", format!("must hold 1 to {} lines", purchasing::MAX_LINES)));
    }
    let note = body.note.as_deref().map(|n| values::optional_text("note", n, 500)).transpose()?.flatten();
    let mut parsed = Vec::with_capacity(body.lines.len());
    let mut seen = HashSet::new();
    for (i, line) in body.lines.into_iter().enumerate() {
        let sku = Sku::parse(&format!("lines[{i}].sku"), &line.sku)?;
        if !seen.insert(sku.clone()) {
            return Err(ApiError::invalid(&format!("lines[{i}].sku"), "receives a SKU a second time"));
        }
        let quantity =
            u32::try_from(line.quantity).ok().filter(|q| (1..=MAX_QUANTITY).contains(q)).ok_or_else(|| {
                ApiError::invalid(&format!("lines[{i}].quantity"), format!("must be from 1 to {MAX_QUANTITY}"))
            })?;
        let lot = line.lot.as_deref().map(|l| LotCode::parse(&format!("lines[{i}].lot"), l)).transpose()?;
        parsed.push((sku, quantity, lot, line.expires_on));
    }
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let table = cx.store().await?;
    let order = orders::get(table, vendor, id).await?.ok_or(ApiError::NotFound("purchase order"))?;
    let today = today();
    let mut planned = Vec::with_capacity(parsed.len());
    for (i, (sku, quantity, lot, expires_on)) in parsed.into_iter().enumerate() {
        let field = format!("lines[{i}].quantity");
        order.check_receipt(&sku, quantity).map_err(|e| order_error(e, &format!("lines[{i}].sku")))?;
        let variant = lookup::variant_in_body(table, vendor, &format!("lines[{i}].sku"), &sku).await?;
        let batch = batch_of(i, &variant, lot, expires_on, today)?;
        planned.push(Planned { field, sku, quantity, variant, batch });
    }
    let actor = cx.actor();
    cx.idempotent(async |key| {
        let receipt_id = key.map(|k| k.fingerprint()).unwrap_or_else(purchasing::new_receipt_id);
        let mut posted: Vec<ReceivedLine> = Vec::new();
        let mut already_posted = Vec::new();
        let mut latest = order.clone();
        for (n, line) in planned.iter().enumerate() {
            let last = n + 1 == planned.len();
            if orders::received_line(table, vendor, id, &receipt_id, &line.sku).await?.is_some() {
                already_posted.push(line.sku.clone());
                continue;
            }
            let mut races = 0;
            loop {
                let current = orders::get(table, vendor, id).await?.ok_or(ApiError::NotFound("purchase order"))?;
                current.check_receipt(&line.sku, line.quantity).map_err(|e| order_error(e, &line.field))?;
                let location = current.deliver_to.location_id;
                let result = stock::apply(table, (vendor, line.variant.id, location), |before| {
                    let now = Utc::now();
                    let mut item = lookup::current_item(before, &line.variant, location);
                    let quantity = i64::from(line.quantity);
                    let batches: Vec<BatchQuantity> = line
                        .batch
                        .iter()
                        .map(|(lot, expires_on)| BatchQuantity { lot: lot.clone(), expires_on: *expires_on, quantity })
                        .collect();
                    item.apply(quantity, &batches, now).map_err(|e| lookup::stock_error(&line.field, e))?;
                    let record = Record {
                        reason: MovementReason::Received,
                        reference: Some(format!("po:{id}")),
                        note: note.clone(),
                        actor: actor.clone(),
                    };
                    let movement = movement(&item, quantity, batches, record);
                    let mut tx = stock::change(table, before, &item, &movement, -quantity)?;
                    let mut after = current.clone();
                    after.receive(&line.sku, line.quantity, now).map_err(|e| order_error(e, &line.field))?;
                    let received = ReceivedLine {
                        vendor_id: vendor,
                        purchase_order_id: id,
                        receipt_id: receipt_id.clone(),
                        sku: line.sku.clone(),
                        quantity: line.quantity,
                        lot: line.batch.as_ref().map(|(lot, _)| lot.clone()),
                        expires_on: line.batch.as_ref().map(|(_, e)| *e),
                        location_id: location,
                        movement_version: item.version,
                        received_by: actor.clone(),
                        received_at: now,
                    };
                    orders::record_receipt(&mut tx, current.version, &after, &received)?;
                    if last {
                        let mut lines = posted.clone();
                        lines.push(received.clone());
                        let response = ReceiptResponse {
                            receipt_id: receipt_id.clone(),
                            lines,
                            already_posted: already_posted.clone(),
                            purchase_order: after.clone(),
                        };
                        remember(key, StatusCode::CREATED, &response, &mut tx)?;
                    }
                    Ok::<_, Failed>((tx, (after, received)))
                })
                .await;
                match result {
                    Ok((after, received)) => {
                        latest = after;
                        posted.push(received);
                        break;
                    }
                    Err(Failed::Store(e)) if e.failed_at(orders::ALREADY_RECEIVED) => {
                        already_posted.push(line.sku.clone());
                        break;
                    }
                    Err(Failed::Store(e)) if e.failed_at(orders::ORDER_CHANGED) => {
                        races += 1;
                        if races >= ORDER_RACES {
                            return Err(changed_meanwhile());
                        }
                    }
                    Err(Failed::Store(e)) => return Err(e.into()),
                    Err(Failed::Api(e)) => return Err(e),
                }
            }
        }
        if posted.is_empty() {
            latest = orders::get(table, vendor, id).await?.ok_or(ApiError::NotFound("purchase order"))?;
        }
        let response = ReceiptResponse { receipt_id, lines: posted, already_posted, purchase_order: latest };
        Ok(json(StatusCode::CREATED, &response))
    })
    .await
}
