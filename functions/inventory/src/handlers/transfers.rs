//! Transfers between a vendor's locations: out of the source at once (counted as incoming at the
//! destination), into the destination when they arrive.

use chrono::Utc;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, StockTransferId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::{BatchQuantity, MAX_QUANTITY, MovementReason, StockTransfer, TransferStatus};
use stockyard_domain::values::{LotCode, Sku};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::remember;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::response::{json, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::stock as store;
use utoipa::ToSchema;

use super::lookup::{self, Failed, StockLevel, today};
use super::stock::{Record, movement, taken};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    #[schema(value_type = Sku, example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub from_location_id: LocationId,
    pub to_location_id: LocationId,
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 10)]
    pub quantity: i64,
    /// Perishable variants: the batch to send (default: first-expiring first; expired batches
    /// are never sent).
    #[serde(default)]
    #[schema(value_type = Option<LotCode>)]
    pub lot: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferResponse {
    pub transfer: StockTransfer,
    /// The stock item the transfer changed: the source when sent, the destination when received.
    pub stock: StockLevel,
}

/// Send stock from one location to another: it leaves the source now (409 `insufficient_stock`
/// when fewer units are free there) and is incoming at the destination until received.
#[utoipa::path(post, path = "/vendors/{vendorId}/transfers", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = TransferRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = TransferResponse), (status = 403, body = ErrorBody),
              (status = 409, description = "insufficient_stock", body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_sku, unknown_location or unknown_batch", body = ErrorBody)))]
pub async fn create_transfer(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: TransferRequest = cx.body()?;
    let sku = Sku::parse("sku", &body.sku)?;
    if !(1..=i64::from(MAX_QUANTITY)).contains(&body.quantity) {
        return Err(ApiError::invalid("quantity", format!("must be between 1 and {MAX_QUANTITY}")));
    }
    let quantity = body.quantity as u32;
    if body.from_location_id == body.to_location_id {
        return Err(ApiError::invalid("to_location_id", "must differ from from_location_id"));
    }
    let lot = body.lot.as_deref().map(|l| LotCode::parse("lot", l)).transpose()?;
    let note =
        body.note.as_deref().map(|n| stockyard_domain::values::optional_text("note", n, 500)).transpose()?.flatten();
    let access = cx.vendor(VendorPermission::InventoryWrite).await?;
    let (vendor, window) = (access.id(), access.vendor.near_expiry_days);
    let table = cx.store().await?;
    let (variant, _, _) = tokio::try_join!(
        lookup::variant_in_body(table, vendor, "sku", &sku),
        lookup::location_in_body(table, vendor, "from_location_id", body.from_location_id),
        lookup::location_in_body(table, vendor, "to_location_id", body.to_location_id),
    )?;
    if lot.is_some() && variant.shelf_life_days.is_none() {
        return Err(ApiError::invalid("lot", "only perishable variants (with a shelf life) are held in batches"));
    }
    let actor = cx.actor();
    let id = StockTransferId::generate();
    cx.idempotent(async |key| {
        let out = store::apply(table, (vendor, variant.id, body.from_location_id), |before| {
            let mut item = lookup::current_item(before, &variant, body.from_location_id);
            let batches = taken(&item, quantity, lot.as_deref(), today(), false, "quantity")?;
            let now = Utc::now();
            item.apply(-i64::from(quantity), &batches, now).map_err(|e| lookup::stock_error("quantity", e))?;
            let transfer = StockTransfer {
                id,
                vendor_id: vendor,
                variant_id: variant.id,
                sku: variant.sku.clone(),
                from_location_id: body.from_location_id,
                to_location_id: body.to_location_id,
                quantity,
                batches: batches.clone(),
                status: TransferStatus::InTransit,
                note: note.clone(),
                created_by: actor.clone(),
                created_at: now,
                received_at: None,
            };
            let record = Record {
                reason: MovementReason::TransferOut,
                reference: Some(format!("transfer:{id}")),
                note: note.clone(),
                actor: actor.clone(),
            };
            let movement = movement(&item, -i64::from(quantity), batches, record);
            let mut tx = store::change(table, before, &item, &movement, 0)?;
            store::create_transfer(&mut tx, &transfer)?;
            let destination = lookup::empty_item(&variant, body.to_location_id);
            tx = tx.and(store::add_incoming(table, &destination, i64::from(quantity))?);
            let response = TransferResponse { transfer, stock: StockLevel::of(item, today(), window) };
            remember(key, StatusCode::CREATED, &response, &mut tx)?;
            Ok::<_, ApiError>((tx, response))
        })
        .await?;
        Ok(json(StatusCode::CREATED, &out))
    })
    .await
}

/// Receive a transfer at its destination: its units (and batches) go on hand there and stop
/// counting as incoming. Receiving twice is refused (409 `transfer_not_in_transit`).
#[utoipa::path(post, path = "/vendors/{vendorId}/transfers/{transferId}/receive", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), ("transferId" = StockTransferId, Path)),
    responses((status = 200, body = TransferResponse), (status = 403, body = ErrorBody),
              (status = 409, description = "transfer_not_in_transit", body = ErrorBody)))]
pub async fn receive_transfer(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("transferId", StockTransferId::parse)?;
    let access = cx.vendor(VendorPermission::InventoryWrite).await?;
    let (vendor, window) = (access.id(), access.vendor.near_expiry_days);
    let table = cx.store().await?;
    let transfer = store::transfer(table, vendor, id).await?.ok_or(ApiError::NotFound("transfer"))?;
    let not_in_transit = || ApiError::conflict("transfer_not_in_transit", "this transfer has been received already");
    if transfer.status != TransferStatus::InTransit {
        return Err(not_in_transit());
    }
    let actor = cx.actor();
    let target = (vendor, transfer.variant_id, transfer.to_location_id);
    let result = store::apply(table, target, |before| {
        let before_item = before
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the destination of transfer {id} has no stock item")))?;
        let mut item = before_item.clone();
        let now = Utc::now();
        let into: Vec<BatchQuantity> =
            transfer.batches.iter().map(|b| BatchQuantity { quantity: -b.quantity, ..b.clone() }).collect();
        let quantity = i64::from(transfer.quantity);
        item.apply(quantity, &into, now).map_err(|e| lookup::stock_error("quantity", e))?;
        let record = Record {
            reason: MovementReason::TransferIn,
            reference: Some(format!("transfer:{id}")),
            note: transfer.note.clone(),
            actor: actor.clone(),
        };
        let movement = movement(&item, quantity, into, record);
        let received = StockTransfer { status: TransferStatus::Received, received_at: Some(now), ..transfer.clone() };
        let mut tx = store::change(table, before, &item, &movement, -quantity)?;
        store::receive_transfer(&mut tx, &received)?;
        item.incoming = item.incoming.saturating_sub(transfer.quantity);
        let stock = StockLevel::of(item, today(), window);
        Ok::<_, Failed>((tx, TransferResponse { transfer: received, stock }))
    })
    .await;
    match result {
        Ok(out) => Ok(ok(&out)),
        Err(Failed::Store(e)) if e.failed_at(store::TRANSFER_NOT_IN_TRANSIT) => Err(not_in_transit()),
        Err(Failed::Store(e)) => Err(e.into()),
        Err(Failed::Api(e)) => Err(e),
    }
}

/// The vendor's transfers, newest first by default, optionally only those in one status.
#[utoipa::path(get, path = "/vendors/{vendorId}/transfers", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("status" = Option<TransferStatus>, Query), PageParams),
    responses((status = 200, body = ListResponse<StockTransfer>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_transfers(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let status = cx.query_as("status", TransferStatus::parse)?;
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    Ok(ok(&ListResponse::from(store::transfers(cx.store().await?, vendor, status, &page).await?)))
}
