//! Stock levels and the changes inventory managers make by hand: adjustments with a reason,
//! counts that post the difference, and where a variant is kept. Every change goes through
//! `stock::apply` (a condition on the item's version, the movement in the same transaction).

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Days, NaiveDate, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, ProductId, VariantId, VendorId};
use stockyard_domain::product::Variant;
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::{
    self, Actor, AdjustmentReason, BatchQuantity, BinLocation, MAX_QUANTITY, Movement, MovementReason, StockItem,
    StockStatus,
};
use stockyard_domain::values::{LotCode, Sku};
use stockyard_domain::{FieldError, values};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{Idempotency, remember};
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::request::present;
use stockyard_http::response::{json, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::{Table, Tx, stock as store};
use utoipa::{IntoParams, ToSchema};

use super::lookup::{self, StockLevel, stock_error, today};

/// An optional note on a change: up to 500 characters; blank means none.
fn note(field: &str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    raw.map(|n| values::optional_text(field, n, 500)).transpose().map(Option::flatten)
}

fn quantity(field: &str, raw: i64, min: i64) -> Result<i64, FieldError> {
    if raw < min || raw > i64::from(MAX_QUANTITY) {
        return Err(FieldError::new(field, format!("must be between {min} and {MAX_QUANTITY}")));
    }
    Ok(raw)
}

/// Which batch an addition goes into: the lot, and its expiry date (default: today + the
/// variant's shelf life). Refused for variants without a shelf life.
fn batch_in(
    variant: &Variant,
    lot: Option<&str>,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Option<(String, NaiveDate)>, ApiError> {
    let Some(shelf_life) = variant.shelf_life_days else {
        if lot.is_some() || expires_on.is_some() {
            let field = if lot.is_some() { "lot" } else { "expires_on" };
            return Err(ApiError::invalid(field, "only perishable variants (with a shelf life) are held in batches"));
        }
        return Ok(None);
    };
    let lot = lot.ok_or_else(|| ApiError::invalid("lot", "is required: perishable stock is held in batches"))?;
    let lot = LotCode::parse("lot", lot)?;
    let expires_on = expires_on.unwrap_or(today + Days::new(u64::from(shelf_life)));
    if expires_on < today {
        return Err(ApiError::invalid("expires_on", "must not be in the past"));
    }
    Ok(Some((lot, expires_on)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    #[schema(value_type = Sku, example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub location_id: LocationId,
    /// Units in (positive) or out (negative); the reason decides which: received and found add,
    /// damaged and lost remove, correction either.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000, example = 24)]
    pub quantity: i64,
    #[schema(example = "received")]
    pub reason: AdjustmentReason,
    /// Perishable variants: the batch's lot (required when adding; when removing, without a lot
    /// the first-expiring batches go first, expired ones included).
    #[serde(default)]
    #[schema(value_type = Option<LotCode>)]
    pub lot: Option<String>,
    /// Perishable variants, when adding: the batch's expiry date (default: today + shelf life).
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
    /// Why, in a few words (up to 500 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// A change of stock and the stock item after it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeResponse {
    pub movement: Movement,
    pub stock: StockLevel,
}

/// Adjust stock at one location with a reason (received, damaged, lost, found, correction).
/// Stock never goes below zero and reserved units cannot be adjusted away (409
/// `insufficient_stock`).
#[utoipa::path(post, path = "/vendors/{vendorId}/stock/adjustments", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = AdjustmentRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = ChangeResponse), (status = 403, body = ErrorBody),
              (status = 409, description = "insufficient_stock or too_many_batches", body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_sku, unknown_location, unknown_batch or lot_expiry_mismatch", body = ErrorBody)))]
pub async fn adjust_stock(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: AdjustmentRequest = cx.body()?;
    let sku = Sku::parse("sku", &body.sku)?;
    let qty = quantity("quantity", body.quantity, -i64::from(MAX_QUANTITY))?;
    body.reason.check("quantity", qty)?;
    let reason = MovementReason::from(body.reason);
    let note = note("note", body.note.as_deref())?;
    if qty < 0 && body.expires_on.is_some() {
        return Err(ApiError::invalid("expires_on", "is only taken when adding stock"));
    }
    let lot = body.lot.as_deref().map(|l| LotCode::parse("lot", l)).transpose()?;
    let access = cx.vendor(VendorPermission::InventoryWrite).await?;
    let (vendor, window) = (access.id(), access.vendor.near_expiry_days);
    let table = cx.store().await?;
    let (variant, _) = tokio::try_join!(
        lookup::variant_in_body(table, vendor, "sku", &sku),
        lookup::location_in_body(table, vendor, "location_id", body.location_id),
    )?;
    let today = today();
    let into = if qty > 0 { batch_in(&variant, lot.as_deref(), body.expires_on, today)? } else { None };
    if qty < 0 && lot.is_some() && variant.shelf_life_days.is_none() {
        return Err(ApiError::invalid("lot", "only perishable variants (with a shelf life) are held in batches"));
    }
    let actor = cx.actor();
    cx.idempotent(async |key| {
        let out = store::apply(table, (vendor, variant.id, body.location_id), |before| {
            let mut item = lookup::current_item(before, &variant, body.location_id);
            let batches = match (&into, qty < 0) {
                (Some((lot, expires_on)), _) => {
                    vec![BatchQuantity { lot: lot.clone(), expires_on: *expires_on, quantity: qty }]
                }
                (None, true) => taken(&item, qty.unsigned_abs() as u32, lot.as_deref(), today, true, "quantity")?,
                (None, false) => Vec::new(),
            };
            change_and_record(
                table,
                before,
                &mut item,
                qty,
                batches,
                Record { reason, reference: None, note: note.clone(), actor: actor.clone() },
                key,
                window,
            )
        })
        .await?;
        Ok(json(StatusCode::CREATED, &out))
    })
    .await
}

/// Units taken out of `item`: from the named lot, or first-expiring first (expired batches only
/// when `include_expired`), never more than is free of reservations; a refusal names `field`.
pub(crate) fn taken(
    item: &StockItem,
    quantity: u32,
    lot: Option<&str>,
    today: NaiveDate,
    include_expired: bool,
    field: &str,
) -> Result<Vec<BatchQuantity>, ApiError> {
    let free = item.on_hand.saturating_sub(item.reserved);
    if !item.perishable && lot.is_none() {
        if quantity > free {
            return Err(stock_error(
                field,
                stock::Shortage::Insufficient { requested: quantity, available: free }.into(),
            ));
        }
        return Ok(Vec::new());
    }
    match lot {
        Some(lot) => {
            let batch = item
                .batches
                .iter()
                .find(|b| b.lot == lot)
                .ok_or_else(|| stock_error(field, stock::Shortage::NoSuchBatch(lot.to_string()).into()))?;
            if !include_expired && batch.expired(today) {
                let expired = stock::Shortage::Expired { lot: batch.lot.clone(), expires_on: batch.expires_on };
                return Err(stock_error(field, expired.into()));
            }
            let can = batch.on_hand.min(free);
            if quantity > can {
                return Err(stock_error(
                    field,
                    stock::Shortage::Insufficient { requested: quantity, available: can }.into(),
                ));
            }
            Ok(vec![BatchQuantity {
                lot: batch.lot.clone(),
                expires_on: batch.expires_on,
                quantity: -i64::from(quantity),
            }])
        }
        None => {
            stock::take_fefo(item, quantity, free, today, include_expired).map_err(|e| stock_error(field, e.into()))
        }
    }
}

/// What a movement records besides the quantities.
pub struct Record {
    pub reason: MovementReason,
    pub reference: Option<String>,
    pub note: Option<String>,
    pub actor: Actor,
}

/// Applies one change to `item` (read as `before`) and builds its transaction: the item at its next
/// version, the movement, and the idempotent response (its status under the vendor's near-expiry
/// `window`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn change_and_record(
    table: &Table,
    before: Option<&StockItem>,
    item: &mut StockItem,
    quantity: i64,
    batches: Vec<BatchQuantity>,
    record: Record,
    key: Option<&Idempotency>,
    window: u32,
) -> Result<(Tx, ChangeResponse), ApiError> {
    let now = Utc::now();
    item.apply(quantity, &batches, now).map_err(|e| stock_error("quantity", e))?;
    let movement = movement(item, quantity, batches, record);
    let response = ChangeResponse { movement, stock: StockLevel::of(item.clone(), today(), window) };
    let mut tx = store::change(table, before, item, &response.movement, 0)?;
    remember(key, StatusCode::CREATED, &response, &mut tx)?;
    Ok((tx, response))
}

/// The ledger's entry for a change just applied to `item`.
pub fn movement(item: &StockItem, quantity: i64, batches: Vec<BatchQuantity>, record: Record) -> Movement {
    Movement {
        vendor_id: item.vendor_id,
        variant_id: item.variant_id,
        location_id: item.location_id,
        shard: None,
        sku: item.sku.clone(),
        version: item.version,
        reason: record.reason,
        quantity,
        on_hand_after: item.on_hand,
        reserved_change: 0,
        batches,
        reference: record.reference,
        note: record.note,
        actor: record.actor,
        at: item.updated_at,
    }
}

/// What counting `counted` units (of `batch`, for a perishable variant) changes on `item`: what was
/// on record before, the batch's change, and the difference the count posts. A batch not on record
/// is added with the expiry date given; one on record keeps its own.
pub(crate) fn count_change(
    item: &StockItem,
    counted: u32,
    batch: Option<&(String, NaiveDate)>,
) -> (u32, Vec<BatchQuantity>, i64) {
    let Some((lot, expires_on)) = batch else {
        return (item.on_hand, Vec::new(), i64::from(counted) - i64::from(item.on_hand));
    };
    let held = item.batches.iter().find(|b| &b.lot == lot);
    let previous = held.map_or(0, |b| b.on_hand);
    let expires_on = held.map_or(*expires_on, |b| b.expires_on);
    let difference = i64::from(counted) - i64::from(previous);
    let changes = if difference == 0 {
        Vec::new()
    } else {
        vec![BatchQuantity { lot: lot.clone(), expires_on, quantity: difference }]
    };
    (previous, changes, difference)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountLine {
    #[schema(value_type = Sku, example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units counted (of the batch, for a perishable variant).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub counted: i64,
    /// Perishable variants: the batch counted (required).
    #[serde(default)]
    #[schema(value_type = Option<LotCode>)]
    pub lot: Option<String>,
    /// A batch found that is not on record yet: its expiry date (default: today + shelf life).
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountRequest {
    pub location_id: LocationId,
    /// 1 to 100 lines, each SKU (and lot) once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<CountLine>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountedLine {
    pub sku: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    pub counted: u32,
    /// What was on record just before the count.
    pub previous: u32,
    /// Counted − previous: the movement the count posted.
    pub difference: i64,
    /// The stock item's version after the count.
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountResponse {
    pub location_id: LocationId,
    pub lines: Vec<CountedLine>,
}

/// Most lines one count takes.
const MAX_COUNT_LINES: usize = 100;

/// Post a stock count at one location: each line sets on hand (of a batch, for perishable
/// variants) to what was counted and records the difference in the ledger. Every line is checked
/// before any is applied; each line applies on its own, on the stock as it is at that moment.
#[utoipa::path(post, path = "/vendors/{vendorId}/stock/counts", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = CountRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = CountResponse), (status = 403, body = ErrorBody),
              (status = 409, description = "too_many_batches", body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_sku, unknown_location or lot_expiry_mismatch", body = ErrorBody)))]
pub async fn count_stock(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CountRequest = cx.body()?;
    if body.lines.is_empty() || body.lines.len() > MAX_COUNT_LINES {
        return Err(ApiError::invalid("lines", format!("must hold 1 to {MAX_COUNT_LINES} lines")));
    }
    let note = note("note", body.note.as_deref())?;
    let mut lines = Vec::with_capacity(body.lines.len());
    let mut seen = HashSet::new();
    for (i, line) in body.lines.iter().enumerate() {
        let sku = Sku::parse(&format!("lines[{i}].sku"), &line.sku)?;
        let counted = quantity(&format!("lines[{i}].counted"), line.counted, 0)? as u32;
        let lot = line.lot.as_deref().map(|l| LotCode::parse(&format!("lines[{i}].lot"), l)).transpose()?;
        if !seen.insert((sku.clone(), lot.clone())) {
            return Err(ApiError::invalid(&format!("lines[{i}]"), "counts a SKU (and lot) a second time"));
        }
        lines.push((sku, counted, lot, line.expires_on));
    }
    let access = cx.vendor(VendorPermission::InventoryWrite).await?;
    let (vendor, window) = (access.id(), access.vendor.near_expiry_days);
    let table = cx.store().await?;
    lookup::location_in_body(table, vendor, "location_id", body.location_id).await?;
    let variants = futures_util::future::try_join_all(lines.iter().enumerate().map(|(i, (sku, ..))| async move {
        lookup::variant_in_body(table, vendor, &format!("lines[{i}].sku"), sku).await
    }))
    .await?;
    let today = today();
    let mut targets = Vec::with_capacity(lines.len());
    for (i, ((_, counted, lot, expires_on), variant)) in lines.into_iter().zip(variants).enumerate() {
        let batch = match (variant.shelf_life_days, lot) {
            (Some(shelf_life), Some(lot)) => {
                let default = today + Days::new(u64::from(shelf_life));
                Some((lot, expires_on.unwrap_or(default)))
            }
            (Some(_), None) => {
                return Err(ApiError::invalid(
                    &format!("lines[{i}].lot"),
                    "is required: perishable stock is counted per batch",
                ));
            }
            (None, Some(_)) => {
                return Err(ApiError::invalid(
                    &format!("lines[{i}].lot"),
                    "only perishable variants are held in batches",
                ));
            }
            (None, None) if expires_on.is_some() => {
                return Err(ApiError::invalid(
                    &format!("lines[{i}].expires_on"),
                    "only perishable variants are held in batches",
                ));
            }
            (None, None) => None,
        };
        targets.push((variant, counted, batch));
    }
    let actor = cx.actor();
    cx.idempotent(async |key| {
        let mut counted_lines = Vec::with_capacity(targets.len());
        for (variant, counted, batch) in &targets {
            let line = store::apply(table, (vendor, variant.id, body.location_id), |before| {
                let mut item = lookup::current_item(before, variant, body.location_id);
                let (previous, batches, difference) = count_change(&item, *counted, batch.as_ref());
                let record =
                    Record { reason: MovementReason::Count, reference: None, note: note.clone(), actor: actor.clone() };
                let (tx, out) = change_and_record(table, before, &mut item, difference, batches, record, None, window)?;
                let line = CountedLine {
                    sku: variant.sku.clone(),
                    lot: batch.as_ref().map(|(lot, _)| lot.clone()),
                    counted: *counted,
                    previous,
                    difference,
                    version: out.movement.version,
                };
                Ok::<_, ApiError>((tx, line))
            })
            .await?;
            counted_lines.push(line);
        }
        let response = CountResponse { location_id: body.location_id, lines: counted_lines };
        let mut tx = table.tx();
        remember(key, StatusCode::CREATED, &response, &mut tx)?;
        table.commit(tx).await?;
        Ok(json(StatusCode::CREATED, &response))
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BinRequest {
    #[schema(value_type = values::BinPart, example = "A")]
    pub zone: String,
    #[schema(value_type = values::BinPart, example = "03")]
    pub aisle: String,
    #[schema(value_type = values::BinPart, example = "2")]
    pub shelf: String,
    #[schema(value_type = values::BinPart, example = "14")]
    pub bin: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockSettingsRequest {
    /// Where the variant is kept here; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BinRequest>)]
    pub bin: Option<Option<BinRequest>>,
    /// Available stock at or below this is low; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000)]
    pub reorder_point: Option<Option<i64>>,
    /// Units held against uncertainty; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 1_000_000_000)]
    pub safety_stock: Option<Option<i64>>,
    /// Splits the available units evenly into this many stock shards for a flash sale, so that
    /// checkouts reserve from several records at once (0–16; 0 merges them back). Sent again, it
    /// spreads what is free anew (units received since included). Units orders reserved stay
    /// where they are.
    #[schema(minimum = 0, maximum = 16)]
    pub shards: Option<i64>,
}

/// Set where a variant is kept at a location (zone, aisle, shelf, bin), its reorder point, its
/// safety stock, and how many stock shards it is split into. Fields left out stay as they are
/// (`{}` changes nothing); null removes one.
///
/// `shards` prepares a flash sale: one stock item takes one checkout at a time, so a hot item's
/// available units are split over several shards that checkouts reserve from in parallel (each
/// shard its own record and ledger, `GET .../movements?location_id=&shard=`). The split is one
/// transaction with the item's `allotted` movement; while split, the item's availability webhooks
/// and stock alerts pause (its shards' sales never pass through it), and resume when merged back
/// with `"shards": 0`.
#[utoipa::path(patch, path = "/vendors/{vendorId}/skus/{sku}/stock/{locationId}", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = StockSettingsRequest,
    params(("vendorId" = VendorId, Path), ("sku" = Sku, Path), ("locationId" = LocationId, Path)),
    responses((status = 200, body = StockLevel), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_stock_settings(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let sku = cx.path("sku", lookup::sku)?;
    let location = cx.path("locationId", LocationId::parse)?;
    let body: StockSettingsRequest = cx.body()?;
    let bin = match &body.bin {
        Some(Some(b)) => Some(Some(BinLocation::parse("bin", &b.zone, &b.aisle, &b.shelf, &b.bin)?)),
        Some(None) => Some(None),
        None => None,
    };
    let level = |field: &str, v: &Option<Option<i64>>| -> Result<Option<Option<u32>>, ApiError> {
        Ok(match v {
            Some(Some(n)) => Some(Some(quantity(field, *n, 0)? as u32)),
            Some(None) => Some(None),
            None => None,
        })
    };
    let reorder_point = level("reorder_point", &body.reorder_point)?;
    let safety_stock = level("safety_stock", &body.safety_stock)?;
    let shards = match body.shards {
        Some(n) if !(0..=i64::from(stock::MAX_SHARDS)).contains(&n) => {
            return Err(ApiError::invalid("shards", format!("must be between 0 and {}", stock::MAX_SHARDS)));
        }
        other => other.map(|n| n as u8),
    };
    let days = lookup::expiring_within_days(&cx)?;
    let access = cx.vendor(VendorPermission::InventoryWrite).await?;
    let (vendor, days) = (access.id(), days.unwrap_or(access.vendor.near_expiry_days));
    let table = cx.store().await?;
    let (variant, _) = tokio::try_join!(
        lookup::variant_in_path(table, vendor, &sku),
        lookup::location_in_path(table, vendor, location),
    )?;
    let fresh = lookup::empty_item(&variant, location);
    let item =
        store::set_settings(table, &fresh, bin.as_ref().map(Option::as_ref), reorder_point, safety_stock).await?;
    let item = match shards {
        Some(count) => match store::rebalance(table, (vendor, variant.id, location), count, &cx.actor(), today()).await
        {
            Ok((item, _)) => item,
            Err(store::RebalanceError::Stock(e)) => return Err(lookup::stock_error("shards", e)),
            Err(store::RebalanceError::NotFound) => return Err(ApiError::NotFound("stock item")),
            Err(store::RebalanceError::Store(e)) => return Err(e.into()),
        },
        None => item,
    };
    let mut level = lookup::levels(table, vec![item], today(), days).await?;
    Ok(ok(&level.remove(0)))
}

/// A variant's stock across the vendor's locations.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkuStock {
    pub sku: String,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub perishable: bool,
    pub on_hand: u32,
    pub reserved: u32,
    pub expired: u32,
    pub available: u32,
    pub incoming: u32,
    /// One entry per location that holds, expects or has settings for the variant.
    pub locations: Vec<StockLevel>,
}

/// One variant's stock at every location, with batches, bins and statuses, and the totals.
#[utoipa::path(get, path = "/vendors/{vendorId}/skus/{sku}/stock", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("sku" = Sku, Path), ExpiryParams),
    responses((status = 200, body = SkuStock), (status = 403, body = ErrorBody)))]
pub async fn get_sku_stock(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let sku = cx.path("sku", lookup::sku)?;
    let days = lookup::expiring_within_days(&cx)?;
    let access = cx.vendor(VendorPermission::StockRead).await?;
    let (vendor, days) = (access.id(), days.unwrap_or(access.vendor.near_expiry_days));
    let table = cx.store().await?;
    let variant = lookup::variant_in_path(table, vendor, &sku).await?;
    let today = today();
    let locations = lookup::levels(table, store::of_variant(table, vendor, variant.id).await?, today, days).await?;
    let sum = |f: fn(&StockLevel) -> u32| locations.iter().map(f).sum::<u32>();
    Ok(ok(&SkuStock {
        sku: variant.sku.clone(),
        variant_id: variant.id,
        product_id: variant.product_id,
        perishable: variant.shelf_life_days.is_some(),
        on_hand: sum(|l| l.item.on_hand),
        reserved: sum(|l| l.item.reserved),
        expired: sum(|l| l.expired),
        available: sum(|l| l.available),
        incoming: sum(|l| l.item.incoming),
        locations,
    }))
}

/// `?expiring_within_days=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiryParams {
    /// Batches expiring within this many days from today make a stock item `expiring` (0–365;
    /// default: the vendor's `near_expiry_days`).
    #[param(minimum = 0, maximum = 365)]
    pub expiring_within_days: Option<u32>,
}

/// The orders `GET /vendors/{vendorId}/stock` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum StockSort {
    #[serde(rename = "sku")]
    Sku,
    #[serde(rename = "-sku")]
    SkuDesc,
    #[serde(rename = "available")]
    Available,
    #[serde(rename = "-available")]
    AvailableDesc,
    #[serde(rename = "updated")]
    Updated,
    #[serde(rename = "-updated")]
    UpdatedDesc,
}

impl StockSort {
    const ALL: [(&'static str, StockSort); 6] = [
        ("sku", StockSort::Sku),
        ("-sku", StockSort::SkuDesc),
        ("available", StockSort::Available),
        ("-available", StockSort::AvailableDesc),
        ("updated", StockSort::Updated),
        ("-updated", StockSort::UpdatedDesc),
    ];

    fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, s)| *s)
            .ok_or_else(|| FieldError::new(field, format!("must be one of {}", Self::ALL.map(|(n, _)| n).join(", "))))
    }
}

/// `GET /vendors/{vendorId}/stock`'s filters and order.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockListParams {
    /// Only this location's stock.
    pub location_id: Option<LocationId>,
    /// Only stock items in this status.
    pub status: Option<StockStatus>,
    /// Only SKUs starting with this (upper-cased).
    #[param(value_type = Option<Sku>)]
    pub sku_prefix: Option<String>,
    /// `sku` (default), `available`, `updated`; `-` first for descending.
    pub sort: Option<StockSort>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page with the same filters and sort.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

/// Most stock items one listing reads to filter and sort (a vendor with more narrows by location).
pub(crate) const LIST_READ_LIMIT: usize = 20_000;

/// A cursor of the stock listing: the position and a digest of the filters and sort, so a cursor
/// of one listing is refused by another.
pub(crate) fn stock_cursor(offset: usize, digest: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("stock:{digest}:{offset}"))
}

pub(crate) fn stock_offset(cursor: &str, digest: &str) -> Result<usize, ApiError> {
    let bad = || ApiError::unprocessable("invalid_cursor", Some("cursor"), "not a cursor of this list");
    let text = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    let rest = text.strip_prefix("stock:").and_then(|r| r.strip_prefix(digest)).and_then(|r| r.strip_prefix(':'));
    rest.and_then(|n| n.parse::<usize>().ok()).ok_or_else(bad)
}

/// The vendor's stock items with availability and status, filtered by location, status and SKU
/// prefix, sorted by SKU, available units or last change. Reads up to 20,000 stock items per
/// listing (a larger vendor filters by location); `partial` says when that cut a listing short.
#[utoipa::path(get, path = "/vendors/{vendorId}/stock", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), StockListParams, ExpiryParams),
    responses((status = 200, body = ListResponse<StockLevel>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_stock(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let location = cx.query_as("location_id", LocationId::parse)?;
    let status = cx.query_as("status", StockStatus::parse)?;
    let prefix = cx.query_as("sku_prefix", Sku::parse)?;
    let sort = cx.query_as("sort", StockSort::parse)?.unwrap_or(StockSort::Sku);
    let days = lookup::expiring_within_days(&cx)?;
    let digest = format!(
        "{}|{}|{}|{:?}|{days:?}",
        location.map(|l| l.to_string()).unwrap_or_default(),
        status.map(|s| s.as_str()).unwrap_or_default(),
        prefix.clone().unwrap_or_default(),
        sort
    );
    let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(digest.as_bytes()))[..16].to_string();
    let offset = page.cursor.as_deref().map(|c| stock_offset(c, &digest)).transpose()?.unwrap_or(0);
    let access = cx.vendor(VendorPermission::StockRead).await?;
    let (vendor, days) = (access.id(), days.unwrap_or(access.vendor.near_expiry_days));
    let table = cx.store().await?;
    let items = store::of_vendor(table, vendor, location, LIST_READ_LIMIT).await?;
    let cut = items.len() >= LIST_READ_LIMIT;
    let today = today();
    let items = items.into_iter().filter(|i| prefix.as_deref().is_none_or(|p| i.sku.starts_with(p))).collect();
    let mut levels: Vec<StockLevel> = lookup::levels(table, items, today, days)
        .await?
        .into_iter()
        .filter(|l| status.is_none_or(|s| l.status == s))
        .collect();
    let by_sku =
        |a: &StockLevel, b: &StockLevel| (&a.item.sku, a.item.location_id).cmp(&(&b.item.sku, b.item.location_id));
    match sort {
        StockSort::Sku => levels.sort_by(by_sku),
        StockSort::SkuDesc => levels.sort_by(|a, b| by_sku(b, a)),
        StockSort::Available => levels.sort_by(|a, b| a.available.cmp(&b.available).then_with(|| by_sku(a, b))),
        StockSort::AvailableDesc => levels.sort_by(|a, b| b.available.cmp(&a.available).then_with(|| by_sku(a, b))),
        StockSort::Updated => {
            levels.sort_by(|a, b| a.item.updated_at.cmp(&b.item.updated_at).then_with(|| by_sku(a, b)))
        }
        StockSort::UpdatedDesc => {
            levels.sort_by(|a, b| b.item.updated_at.cmp(&a.item.updated_at).then_with(|| by_sku(a, b)))
        }
    }
    let limit = page.limit.clamp(1, 100) as usize;
    let end = (offset + limit).min(levels.len());
    let items: Vec<StockLevel> = levels.get(offset..end).map(<[StockLevel]>::to_vec).unwrap_or_default();
    let next_cursor = (end < levels.len()).then(|| stock_cursor(end, &digest));
    Ok(ok(&ListResponse { items, next_cursor, partial: cut }))
}

/// The vendor's stock at a glance.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StockSummary {
    /// Stock items (variant-locations) on record.
    pub stock_items: u32,
    pub on_hand: u64,
    pub reserved: u64,
    pub expired: u64,
    pub available: u64,
    pub incoming: u64,
    /// Stock items per status.
    #[schema(value_type = BTreeMap<String, u32>)]
    pub by_status: BTreeMap<&'static str, u32>,
    /// Per location.
    pub locations: Vec<LocationSummary>,
    /// True when the vendor holds more stock items than one summary reads (20,000).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationSummary {
    pub location_id: LocationId,
    pub stock_items: u32,
    pub on_hand: u64,
    pub available: u64,
    pub incoming: u64,
    /// Stock items out of stock or low here.
    pub needing_attention: u32,
}

/// Totals over the vendor's stock: units on hand, reserved, expired, available and incoming, stock
/// items per status, and the same per location.
#[utoipa::path(get, path = "/vendors/{vendorId}/stock/summary", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ExpiryParams),
    responses((status = 200, body = StockSummary), (status = 403, body = ErrorBody)))]
pub async fn get_stock_summary(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let days = lookup::expiring_within_days(&cx)?;
    let access = cx.vendor(VendorPermission::StockRead).await?;
    let (vendor, days) = (access.id(), days.unwrap_or(access.vendor.near_expiry_days));
    let table = cx.store().await?;
    let items = store::of_vendor(table, vendor, None, LIST_READ_LIMIT).await?;
    let mut summary = StockSummary { partial: items.len() >= LIST_READ_LIMIT, ..Default::default() };
    let mut per_location: BTreeMap<LocationId, LocationSummary> = BTreeMap::new();
    let today = today();
    for status in StockStatus::ALL {
        summary.by_status.insert(status.as_str(), 0);
    }
    for level in lookup::levels(table, items, today, days).await? {
        summary.stock_items += 1;
        summary.on_hand += u64::from(level.item.on_hand);
        summary.reserved += u64::from(level.item.reserved);
        summary.expired += u64::from(level.expired);
        summary.available += u64::from(level.available);
        summary.incoming += u64::from(level.item.incoming);
        *summary.by_status.entry(level.status.as_str()).or_default() += 1;
        let at = per_location.entry(level.item.location_id).or_insert_with(|| LocationSummary {
            location_id: level.item.location_id,
            stock_items: 0,
            on_hand: 0,
            available: 0,
            incoming: 0,
            needing_attention: 0,
        });
        at.stock_items += 1;
        at.on_hand += u64::from(level.item.on_hand);
        at.available += u64::from(level.available);
        at.incoming += u64::from(level.item.incoming);
        if matches!(level.status, StockStatus::OutOfStock | StockStatus::Low) {
            at.needing_attention += 1;
        }
    }
    summary.locations = per_location.into_values().collect();
    Ok(ok(&summary))
}

/// One variant's ledger: every change of its stock with who, when, why, the quantity and the
/// stock item's version after it; at one location (`?location_id=`) or all. Oldest first by
/// default (`?order=newest` for the latest first). `?shard=` (with `location_id`) lists one stock
/// shard's own ledger instead: its allotments and the orders it served, by the shard's versions.
#[utoipa::path(get, path = "/vendors/{vendorId}/skus/{sku}/movements", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("sku" = Sku, Path), ("location_id" = Option<LocationId>, Query),
        ("shard" = Option<u8>, Query, minimum = 0, maximum = 15, description = "A stock shard of the item at `location_id`"), PageParams),
    responses((status = 200, body = ListResponse<Movement>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_stock_movements(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let sku = cx.path("sku", lookup::sku)?;
    let location = cx.query_as("location_id", LocationId::parse)?;
    let shard = cx.query_as("shard", |field, raw| {
        raw.parse::<u8>().ok().filter(|n| *n < stock::MAX_SHARDS).ok_or_else(|| {
            FieldError::new(field, format!("must be a shard number from 0 to {}", stock::MAX_SHARDS - 1))
        })
    })?;
    let page = cx.page(false)?;
    let shard = match (shard, location) {
        (Some(_), None) => return Err(ApiError::invalid("location_id", "is required with shard")),
        (Some(n), Some(at)) => Some((n, at)),
        (None, _) => None,
    };
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    let table = cx.store().await?;
    let variant = lookup::variant_in_path(table, vendor, &sku).await?;
    let movements = match shard {
        Some((n, at)) => store::shard_movements(table, (vendor, variant.id, at), n, &page).await?,
        None => store::movements(table, vendor, variant.id, location, &page).await?,
    };
    Ok(ok(&ListResponse::from(movements)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::stock::Batch;

    #[test]
    fn a_named_batch_past_its_date_is_refused_unless_it_is_being_written_off() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let now = Utc::now();
        let (vendor, variant, product, location) =
            (VendorId::generate(), VariantId::generate(), ProductId::generate(), LocationId::generate());
        let mut item = StockItem::empty(vendor, variant, product, "MILK", location, true, now);
        item.on_hand = 5;
        item.batches =
            vec![Batch { lot: "OLD".into(), expires_on: today.pred_opt().unwrap(), on_hand: 5, received_at: now }];
        let refused = taken(&item, 2, Some("OLD"), today, false, "reads[0]").unwrap_err();
        assert!(matches!(&refused, ApiError::Conflict { code: "batch_expired", .. }), "{refused:?}");
        let written_off = taken(&item, 2, Some("OLD"), today, true, "quantity").unwrap();
        assert_eq!(written_off[0].quantity, -2);
        let unexpired = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(taken(&item, 2, Some("OLD"), unexpired, false, "quantity").unwrap()[0].lot, "OLD");
    }
}
