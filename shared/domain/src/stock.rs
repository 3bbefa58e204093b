//! Stock: what a vendor holds of each variant at each location, the batches perishable goods are
//! received in, and the ledger of every change. The rules here are pure; the store makes them
//! atomic (every change is written with a condition on the stock item's version, together with
//! its movement).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{ApiKeyId, LocationId, ProductId, StockAlertId, StockTransferId, UserId, VariantId, VendorId};

/// The largest quantity one change may move, and the most a stock item or batch may hold.
pub const MAX_QUANTITY: u32 = 1_000_000_000;

/// Days before expiry from which a batch counts as expiring, unless the vendor says otherwise.
pub const DEFAULT_NEAR_EXPIRY_DAYS: u32 = 7;

/// One variant at one location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockItem {
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    /// The variant's SKU when the item last changed.
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub location_id: LocationId,
    /// Units physically at the location, expired batches included.
    pub on_hand: u32,
    /// Units promised to orders not yet shipped, and units allotted to stock shards (`allotted`).
    #[serde(default)]
    pub reserved: u32,
    /// Of `reserved`, the units set aside in stock shards: a flash-sale item's stock split over
    /// several records that checkouts reserve from in parallel ([`StockShard`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub allotted: u32,
    /// How many stock shards checkouts reserve from (0: none, the item alone).
    #[serde(default, rename = "shard_count", skip_serializing_if = "is_zero")]
    pub shards: u8,
    /// Units on their way here (transfers in transit).
    #[serde(default)]
    pub incoming: u32,
    /// Counts every change of on hand or reserved; the ledger's movement of a change carries the
    /// version it produced.
    pub version: u64,
    /// Whether stock is held in batches with expiry dates (the variant has a shelf life).
    #[serde(default)]
    pub perishable: bool,
    /// The batches held here, first-expiring first (perishable variants; empty batches are dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<Batch>,
    /// Where in the location the variant is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<BinLocation>,
    /// Available stock at or below this is low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<u32>,
    /// Stock held against uncertainty (for the replenishment view; informational here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_stock: Option<u32>,
    pub updated_at: DateTime<Utc>,
}

impl StockItem {
    /// A stock item that has never held anything.
    pub fn empty(
        vendor_id: VendorId,
        variant_id: VariantId,
        product_id: ProductId,
        sku: &str,
        location_id: LocationId,
        perishable: bool,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            vendor_id,
            variant_id,
            product_id,
            sku: sku.to_string(),
            location_id,
            on_hand: 0,
            reserved: 0,
            allotted: 0,
            shards: 0,
            incoming: 0,
            version: 0,
            perishable,
            batches: Vec::new(),
            bin: None,
            reorder_point: None,
            safety_stock: None,
            updated_at: now,
        }
    }
}

/// Where a variant is kept inside a location, in walking order (zone, aisle, shelf, bin).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct BinLocation {
    #[schema(example = "A")]
    pub zone: String,
    #[schema(example = "03")]
    pub aisle: String,
    #[schema(example = "2")]
    pub shelf: String,
    #[schema(example = "14")]
    pub bin: String,
}

impl BinLocation {
    /// Each part: 1–16 letters, digits, '-' or '_' (stored upper-case).
    pub fn parse(field: &str, zone: &str, aisle: &str, shelf: &str, bin: &str) -> Result<Self, FieldError> {
        let part = |name: &str, raw: &str| crate::values::BinPart::parse(&format!("{field}.{name}"), raw);
        Ok(Self {
            zone: part("zone", zone)?,
            aisle: part("aisle", aisle)?,
            shelf: part("shelf", shelf)?,
            bin: part("bin", bin)?,
        })
    }

    /// The label printed on the shelf: `A-03-2-14`.
    pub fn label(&self) -> String {
        format!("{}-{}-{}-{}", self.zone, self.aisle, self.shelf, self.bin)
    }
}

/// The most batches one stock item holds at once: a stock item is one DynamoDB item, and each
/// change rewrites it (about 60 bytes a batch).
pub const MAX_BATCHES: usize = 200;

/// Perishable stock received together: one lot with one expiry date, held inside its stock item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Batch {
    /// The supplier's lot code (letters, digits, '-' and '_', upper-case).
    #[schema(example = "LOT-2026-11-A")]
    pub lot: String,
    /// The last day the batch may be sold; from the next day it is expired.
    pub expires_on: NaiveDate,
    pub on_hand: u32,
    pub received_at: DateTime<Utc>,
}

impl Batch {
    /// Expired from the day after `expires_on`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.expires_on < today
    }
}

/// Why stock changed. Adjustments name one of the first five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementReason {
    /// Goods arrived (adds).
    Received,
    /// Goods broken or spoiled (removes).
    Damaged,
    /// Goods missing (removes).
    Lost,
    /// Goods turned up (adds).
    Found,
    /// Fixing a mistake (either way).
    Correction,
    /// A stock count set on hand to what was counted (the difference, either way).
    Count,
    /// Sent to another location (removes here).
    TransferOut,
    /// Arrived from another location (adds here).
    TransferIn,
    /// Sold through a channel (removes).
    Sale,
    /// Returned through a channel and put back on hand (adds).
    ChannelReturn,
    /// A customer's return of an online order, inspected and put back on hand (adds).
    CustomerReturn,
    /// Promised to an order at checkout: on hand unchanged, reserved up (`reserved_change`).
    Reserved,
    /// An order's promise given back (unpaid and expired, or cancelled): reserved down.
    ReservationReleased,
    /// Units set aside in a stock shard: on the item, reserved up; on the shard, its allotment
    /// (`quantity`) up.
    Allotted,
    /// A shard's free units given back to the item: on the item, reserved down; on the shard, its
    /// allotment down.
    AllotmentReturned,
    /// An order's units packed and sent: on hand and reserved down together (on a shard, its
    /// allotment and reserved).
    Shipped,
}

impl MovementReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementReason::Received => "received",
            MovementReason::Damaged => "damaged",
            MovementReason::Lost => "lost",
            MovementReason::Found => "found",
            MovementReason::Correction => "correction",
            MovementReason::Count => "count",
            MovementReason::TransferOut => "transfer_out",
            MovementReason::TransferIn => "transfer_in",
            MovementReason::Sale => "sale",
            MovementReason::ChannelReturn => "channel_return",
            MovementReason::CustomerReturn => "customer_return",
            MovementReason::Reserved => "reserved",
            MovementReason::ReservationReleased => "reservation_released",
            MovementReason::Allotted => "allotted",
            MovementReason::AllotmentReturned => "allotment_returned",
            MovementReason::Shipped => "shipped",
        }
    }
}

/// The reasons an adjustment may give (the other movements are recorded by counts, transfers and
/// channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    /// Goods arrived (adds).
    Received,
    /// Goods broken or spoiled (removes).
    Damaged,
    /// Goods missing (removes).
    Lost,
    /// Goods turned up (adds).
    Found,
    /// Fixing a mistake (either way).
    Correction,
}

impl AdjustmentReason {
    pub const ALL: [AdjustmentReason; 5] = [
        AdjustmentReason::Received,
        AdjustmentReason::Damaged,
        AdjustmentReason::Lost,
        AdjustmentReason::Found,
        AdjustmentReason::Correction,
    ];

    /// Checks that an adjustment's quantity goes the way its reason says, naming `field`.
    pub fn check(self, field: &str, quantity: i64) -> Result<(), FieldError> {
        if quantity == 0 {
            return Err(FieldError::new(field, "must not be 0"));
        }
        if quantity.unsigned_abs() > u64::from(MAX_QUANTITY) {
            return Err(FieldError::new(field, format!("must be between -{MAX_QUANTITY} and {MAX_QUANTITY}")));
        }
        let name = MovementReason::from(self).as_str();
        match self {
            AdjustmentReason::Received | AdjustmentReason::Found if quantity < 0 => {
                Err(FieldError::new(field, format!("must be positive: '{name}' adds stock")))
            }
            AdjustmentReason::Damaged | AdjustmentReason::Lost if quantity > 0 => {
                Err(FieldError::new(field, format!("must be negative: '{name}' removes stock")))
            }
            _ => Ok(()),
        }
    }
}

impl From<AdjustmentReason> for MovementReason {
    fn from(reason: AdjustmentReason) -> Self {
        match reason {
            AdjustmentReason::Received => MovementReason::Received,
            AdjustmentReason::Damaged => MovementReason::Damaged,
            AdjustmentReason::Lost => MovementReason::Lost,
            AdjustmentReason::Found => MovementReason::Found,
            AdjustmentReason::Correction => MovementReason::Correction,
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in person.
    User { id: UserId },
    /// A device or integration with an API key the vendor's owner issued.
    ApiKey { id: ApiKeyId },
    /// Stockyard itself (a scheduled job, a queue consumer).
    System { name: String },
}

/// Units taken from or put into one batch by a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchQuantity {
    pub lot: String,
    pub expires_on: NaiveDate,
    /// Positive: into the batch; negative: out of it.
    pub quantity: i64,
}

/// One entry of the stock ledger: immutable, written in the same transaction as the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    pub location_id: LocationId,
    /// The stock shard whose ledger this is (absent: the stock item's own). On a shard's ledger,
    /// `quantity` and `on_hand_after` count its allotment, and `version` is the shard's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u8>,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// The stock item's version after this change (versions count 1, 2, 3, ... per item).
    pub version: u64,
    pub reason: MovementReason,
    /// Change of on hand: positive in, negative out.
    pub quantity: i64,
    /// On hand after the change (before it: `on_hand_after - quantity`).
    pub on_hand_after: u32,
    /// Change of reserved units: up for `reserved`, down for `reservation_released` and `shipped`
    /// (shipped units leave on hand and the reservation together), 0 otherwise.
    #[serde(default)]
    pub reserved_change: i64,
    /// The batches the units went into or came out of (perishable variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<BatchQuantity>,
    /// The transfer, count or other document the change belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub actor: Actor,
    pub at: DateTime<Utc>,
}

/// How much of a stock item can be promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Availability {
    pub on_hand: u32,
    pub reserved: u32,
    /// Units in batches past their expiry date: still on hand until written off, never available.
    pub expired: u32,
    /// On hand − reserved − expired (never below 0).
    pub available: u32,
}

/// What a stock item's availability comes to on `today`.
pub fn availability(item: &StockItem, today: NaiveDate) -> Availability {
    let expired: u32 = item.batches.iter().filter(|b| b.expired(today)).map(|b| b.on_hand).sum();
    Availability {
        on_hand: item.on_hand,
        reserved: item.reserved,
        expired,
        available: item.on_hand.saturating_sub(item.reserved).saturating_sub(expired),
    }
}

/// A stock item's state at a glance, in order of urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    /// Nothing available and nothing on its way.
    OutOfStock,
    /// At or below the reorder point (or out), with stock on its way.
    Incoming,
    /// At or below the reorder point, nothing on its way.
    Low,
    /// A batch with units expires within the vendor's near-expiry days.
    Expiring,
    InStock,
}

impl StockStatus {
    pub const ALL: [StockStatus; 5] =
        [StockStatus::OutOfStock, StockStatus::Incoming, StockStatus::Low, StockStatus::Expiring, StockStatus::InStock];

    pub fn as_str(self) -> &'static str {
        match self {
            StockStatus::OutOfStock => "out_of_stock",
            StockStatus::Incoming => "incoming",
            StockStatus::Low => "low",
            StockStatus::Expiring => "expiring",
            StockStatus::InStock => "in_stock",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, format!("must be one of {}", Self::ALL.map(|s| s.as_str()).join(", ")))
        })
    }
}

/// The status of a stock item on `today`, counting batches that expire within `near_expiry_days`
/// (from today, inclusive) as expiring.
pub fn status(item: &StockItem, today: NaiveDate, near_expiry_days: u32) -> StockStatus {
    status_at(item, availability(item, today).available, today, near_expiry_days)
}

/// [`status`] with `available` units (a sharded item's own and its shards' free ones).
pub fn status_at(item: &StockItem, available: u32, today: NaiveDate, near_expiry_days: u32) -> StockStatus {
    let low = item.reorder_point.is_some_and(|point| available <= point);
    if available == 0 && item.incoming == 0 {
        return StockStatus::OutOfStock;
    }
    if (available == 0 || low) && item.incoming > 0 {
        return StockStatus::Incoming;
    }
    if low {
        return StockStatus::Low;
    }
    if !near_expiry(item, today, near_expiry_days).is_empty() {
        return StockStatus::Expiring;
    }
    StockStatus::InStock
}

/// Why stock could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Shortage {
    /// Fewer units can be taken than were asked for.
    #[error("only {available} available, {requested} requested")]
    Insufficient { requested: u32, available: u32 },
    /// The named batch is not held here.
    #[error("no batch {0} at this location")]
    NoSuchBatch(String),
    /// The named batch is past its expiry date: it can be written off, never sold or moved.
    #[error("batch {lot} expired on {expires_on}")]
    Expired { lot: String, expires_on: NaiveDate },
}

/// Which batches `quantity` units of `item` come out of, first-expiring first (FEFO): batches past
/// their expiry date only when `include_expired` (a write-off may take them; a sale never), and no
/// more than `limit` units in all (what is free of reservations). Ties on the date go by lot code.
/// Units held outside any batch (received before the variant had a shelf life) come last.
pub fn take_fefo(
    item: &StockItem,
    quantity: u32,
    limit: u32,
    today: NaiveDate,
    include_expired: bool,
) -> Result<Vec<BatchQuantity>, Shortage> {
    let mut usable: Vec<&Batch> =
        item.batches.iter().filter(|b| b.on_hand > 0 && (include_expired || !b.expired(today))).collect();
    usable.sort_by(|a, b| (a.expires_on, &a.lot).cmp(&(b.expires_on, &b.lot)));
    let unbatched = item.on_hand.saturating_sub(item.batches.iter().map(|b| b.on_hand).sum());
    let held: u32 = usable.iter().map(|b| b.on_hand).sum::<u32>() + unbatched;
    let can_take = held.min(limit);
    if quantity > can_take {
        return Err(Shortage::Insufficient { requested: quantity, available: can_take });
    }
    let mut left = quantity;
    let mut taken = Vec::new();
    for batch in usable {
        if left == 0 {
            break;
        }
        let take = batch.on_hand.min(left);
        left -= take;
        taken.push(BatchQuantity { lot: batch.lot.clone(), expires_on: batch.expires_on, quantity: -i64::from(take) });
    }
    Ok(taken)
}

/// What a stock alert warns of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockAlertKind {
    /// Available stock fell to or below the reorder point.
    Low,
    /// Nothing is available any more.
    OutOfStock,
    /// A batch with units expires within the vendor's near-expiry window (the daily check).
    NearExpiry,
}

/// A stock item crossing below its reorder point or running out, once per crossing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockAlert {
    pub id: StockAlertId,
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub location_id: LocationId,
    pub kind: StockAlertKind,
    /// Available units just after the change.
    pub available: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<u32>,
    /// The stock item's version the change made (for `near_expiry`, the version checked).
    pub version: u64,
    /// The batch that nears expiry (`near_expiry` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "LOT-2026-11-A")]
    pub lot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// Units left in that batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_units: Option<u32>,
    pub raised_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<UserId>,
}

/// The alert a change from `before` to `after` raises, if it crosses: available stock falls to 0
/// (out of stock) or to or below the reorder point from above it (low). A change that stays below
/// raises nothing, so a run of sales raises one alert, not one per sale.
///
/// A sharded item raises nothing: its shards' sales never pass through it, so what it has
/// available alone says nothing (the alerts resume from the state the item is in when the shards
/// are merged back).
pub fn crossing(before: Option<&StockItem>, after: &StockItem, today: NaiveDate) -> Option<StockAlertKind> {
    if after.shards > 0 {
        return None;
    }
    let low = |item: &StockItem, available: u32| item.reorder_point.is_some_and(|point| available <= point);
    let after_available = availability(after, today).available;
    let before_available = before.map_or(0, |b| availability(b, today).available);
    if after_available == 0 && before_available > 0 {
        return Some(StockAlertKind::OutOfStock);
    }
    let was_low = before.is_none_or(|b| low(b, before_available));
    (after_available > 0 && low(after, after_available) && !was_low).then_some(StockAlertKind::Low)
}

impl StockAlert {
    /// The alert `kind` for the change that made `after`.
    pub fn of(after: &StockItem, kind: StockAlertKind, today: NaiveDate, now: DateTime<Utc>) -> Self {
        Self {
            id: StockAlertId::of_change(after.variant_id, after.location_id, after.version),
            vendor_id: after.vendor_id,
            variant_id: after.variant_id,
            product_id: after.product_id,
            sku: after.sku.clone(),
            location_id: after.location_id,
            kind,
            available: availability(after, today).available,
            reorder_point: after.reorder_point,
            version: after.version,
            lot: None,
            expires_on: None,
            batch_units: None,
            raised_at: now,
            acknowledged_at: None,
            acknowledged_by: None,
        }
    }

    /// The near-expiry alert of `batch` of `item`: one per batch (lot and expiry date) and stock
    /// item, whenever and however often the daily check finds it.
    pub fn near_expiry(item: &StockItem, batch: &Batch, today: NaiveDate, now: DateTime<Utc>) -> Self {
        Self {
            id: StockAlertId::of_batch(item.variant_id, item.location_id, &batch.lot, batch.expires_on),
            lot: Some(batch.lot.clone()),
            expires_on: Some(batch.expires_on),
            batch_units: Some(batch.on_hand),
            ..Self::of(item, StockAlertKind::NearExpiry, today, now)
        }
    }
}

/// The batches of `item` with units that are not expired on `today` and expire within `days`
/// (inclusive), first-expiring first.
pub fn near_expiry(item: &StockItem, today: NaiveDate, days: u32) -> Vec<&Batch> {
    let horizon = today + chrono::Days::new(u64::from(days));
    let mut found: Vec<&Batch> =
        item.batches.iter().filter(|b| b.on_hand > 0 && !b.expired(today) && b.expires_on <= horizon).collect();
    found.sort_by(|a, b| (a.expires_on, &a.lot).cmp(&(b.expires_on, &b.lot)));
    found
}

/// Why a change cannot be made to a stock item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error(transparent)]
    Short(#[from] Shortage),
    /// The item would hold more than [`MAX_QUANTITY`] units.
    #[error("a stock item holds at most {MAX_QUANTITY} units")]
    TooMany,
    /// The item would hold more than [`MAX_BATCHES`] batches.
    #[error("a stock item holds at most {MAX_BATCHES} batches; sell or write off older ones first")]
    TooManyBatches,
    /// A batch of that lot is held with another expiry date.
    #[error("lot {lot} is held here with expiry date {expires_on}")]
    LotExpiryMismatch { lot: String, expires_on: NaiveDate },
    /// More shards than [`MAX_SHARDS`].
    #[error("a stock item is split into at most {MAX_SHARDS} shards")]
    TooManyShards,
    /// A perishable item's units are sold by batch, first-expiring first, which shards do not
    /// track: it is never split.
    #[error("perishable stock is sold by batch and is not split into shards")]
    PerishableShards,
}

impl StockItem {
    /// Applies a change of on hand by `quantity` units, in or out of `batches` (perishable items:
    /// the batch changes must add up to `quantity`), and counts the new version. Never leaves on
    /// hand or a batch below zero.
    pub fn apply(&mut self, quantity: i64, batches: &[BatchQuantity], now: DateTime<Utc>) -> Result<(), StockError> {
        let on_hand = i64::from(self.on_hand) + quantity;
        if on_hand < 0 {
            let available = self.on_hand;
            return Err(Shortage::Insufficient { requested: quantity.unsigned_abs() as u32, available }.into());
        }
        if on_hand > i64::from(MAX_QUANTITY) {
            return Err(StockError::TooMany);
        }
        let mut held_batches = self.batches.clone();
        for change in batches {
            match held_batches.iter_mut().find(|b| b.lot == change.lot) {
                Some(batch) if batch.expires_on != change.expires_on => {
                    return Err(StockError::LotExpiryMismatch { lot: batch.lot.clone(), expires_on: batch.expires_on });
                }
                Some(batch) => {
                    let held = i64::from(batch.on_hand) + change.quantity;
                    if held < 0 {
                        let requested = change.quantity.unsigned_abs() as u32;
                        return Err(Shortage::Insufficient { requested, available: batch.on_hand }.into());
                    }
                    batch.on_hand = held as u32;
                }
                None if change.quantity < 0 => return Err(Shortage::NoSuchBatch(change.lot.clone()).into()),
                None => held_batches.push(Batch {
                    lot: change.lot.clone(),
                    expires_on: change.expires_on,
                    on_hand: change.quantity as u32,
                    received_at: now,
                }),
            }
        }
        held_batches.retain(|b| b.on_hand > 0);
        if held_batches.len() > MAX_BATCHES {
            return Err(StockError::TooManyBatches);
        }
        held_batches.sort_by(|a, b| (a.expires_on, &a.lot).cmp(&(b.expires_on, &b.lot)));
        self.batches = held_batches;
        self.on_hand = on_hand as u32;
        self.version += 1;
        self.updated_at = now;
        Ok(())
    }
}

impl StockItem {
    /// Promises `quantity` units to an order: only units available on `today` (on hand, less what
    /// is reserved already and less expired batches), counted as a new version; on hand does not
    /// change until the order ships.
    pub fn reserve(&mut self, quantity: u32, today: NaiveDate, now: DateTime<Utc>) -> Result<(), StockError> {
        let available = availability(self, today).available;
        if quantity > available {
            return Err(Shortage::Insufficient { requested: quantity, available }.into());
        }
        self.reserved += quantity;
        self.version += 1;
        self.updated_at = now;
        Ok(())
    }

    /// Gives back `quantity` reserved units, counted as a new version; never more than are
    /// reserved (`Insufficient` with the reserved units as what is available).
    pub fn release(&mut self, quantity: u32, now: DateTime<Utc>) -> Result<(), StockError> {
        if quantity > self.reserved {
            return Err(Shortage::Insufficient { requested: quantity, available: self.reserved }.into());
        }
        self.reserved -= quantity;
        self.version += 1;
        self.updated_at = now;
        Ok(())
    }
}

fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The most stock shards one item may be split into: a rebalance writes the item and every shard,
/// each with its movement, in one transaction of at most 100 writes.
pub const MAX_SHARDS: u8 = 16;

/// A share of a stock item's available units set aside for checkouts to reserve from, so that a
/// flash sale's checkouts write several records instead of queueing on one. The units stay on
/// the item's hand and count in its `reserved` (and `allotted`); the shard counts what orders
/// reserved of them. Each shard has its own version and ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockShard {
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    pub location_id: LocationId,
    /// 0, 1, ... below the item's `shards`; a shard at or above it is retired (it holds only
    /// units orders reserved, which go back to the item when released).
    pub shard: u8,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units set aside here (reserved ones included).
    pub allotted: u32,
    /// Of those, units promised to orders.
    pub reserved: u32,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

impl StockShard {
    /// Shard `shard` of `item`, holding nothing yet.
    pub fn empty(item: &StockItem, shard: u8, now: DateTime<Utc>) -> Self {
        Self {
            vendor_id: item.vendor_id,
            variant_id: item.variant_id,
            location_id: item.location_id,
            shard,
            sku: item.sku.clone(),
            allotted: 0,
            reserved: 0,
            version: 0,
            updated_at: now,
        }
    }

    /// Units an order can still reserve here.
    pub fn free(&self) -> u32 {
        self.allotted.saturating_sub(self.reserved)
    }

    /// Promises `quantity` of the free units to an order, as a new version.
    pub fn reserve(&mut self, quantity: u32, now: DateTime<Utc>) -> Result<(), StockError> {
        if quantity > self.free() {
            return Err(Shortage::Insufficient { requested: quantity, available: self.free() }.into());
        }
        self.reserved += quantity;
        self.bump(now);
        Ok(())
    }

    /// Gives back `quantity` reserved units, as a new version; `retired`: they leave the shard's
    /// allotment too (they go back to the item).
    pub fn release(&mut self, quantity: u32, retired: bool, now: DateTime<Utc>) -> Result<(), StockError> {
        if quantity > self.reserved {
            return Err(Shortage::Insufficient { requested: quantity, available: self.reserved }.into());
        }
        self.reserved -= quantity;
        if retired {
            self.allotted -= quantity;
        }
        self.bump(now);
        Ok(())
    }

    fn bump(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

/// What an item and its shards have available together on `today`: the item's own available
/// units and every shard's free ones.
pub fn available_with_shards(item: &StockItem, shards: &[StockShard], today: NaiveDate) -> u32 {
    let free: u32 = shards.iter().filter(|s| s.shard < item.shards).map(StockShard::free).sum();
    availability(item, today).available.saturating_add(free)
}

/// A stock item's split into shards changing: the item and each shard that changes, after.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebalance {
    pub item: StockItem,
    /// Units allotted to (positive) or taken back from (negative) the shards, in all.
    pub allotted_change: i64,
    /// Each shard that changes: as it was (`None`: new), as it will be, and its allotment's change.
    pub shards: Vec<(Option<StockShard>, StockShard, i64)>,
}

/// Splits `item`'s available units and its shards' free ones evenly over `count` shards (0:
/// every free unit back on the item). `shards` are the item's shards as they are (any order,
/// missing ones never written). Units orders reserved stay where they are; a shard beyond `count`
/// keeps only those. The item and every changed shard count a new version.
pub fn rebalance(
    item: &StockItem,
    shards: &[StockShard],
    count: u8,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Rebalance, StockError> {
    if count > MAX_SHARDS {
        return Err(StockError::TooManyShards);
    }
    if count > 0 && item.perishable {
        return Err(StockError::PerishableShards);
    }
    let of = |n: u8| shards.iter().find(|s| s.shard == n);
    let active = |n: u8| n < item.shards;
    let pool: u64 = u64::from(availability(item, today).available)
        + shards.iter().filter(|s| active(s.shard)).map(|s| u64::from(s.free())).sum::<u64>();
    let highest = shards.iter().map(|s| s.shard + 1).max().unwrap_or(0).max(item.shards).max(count);
    let mut changed = Vec::new();
    let mut allotted_change = 0i64;
    for n in 0..highest {
        let before = of(n).filter(|s| active(s.shard));
        let free_before = before.map_or(0, StockShard::free);
        let free_after = if n < count {
            let share = pool / u64::from(count) + u64::from(u64::from(n) < pool % u64::from(count));
            share as u32
        } else {
            0
        };
        let change = i64::from(free_after) - i64::from(free_before);
        if change == 0 {
            continue;
        }
        let mut after = of(n).cloned().unwrap_or_else(|| StockShard::empty(item, n, now));
        after.allotted = (i64::from(after.allotted) + change) as u32;
        after.bump(now);
        allotted_change += change;
        changed.push((of(n).cloned(), after, change));
    }
    let mut after = item.clone();
    after.reserved = (i64::from(item.reserved) + allotted_change) as u32;
    after.allotted = (i64::from(item.allotted) + allotted_change) as u32;
    after.shards = count;
    after.version += 1;
    after.updated_at = now;
    Ok(Rebalance { item: after, allotted_change, shards: changed })
}

/// Where `quantity` units of an item come from, given what the item has available itself and
/// what each of its active shards has free: one shard that has them all (looking from shard
/// `start` on, so that concurrent checkouts spread), else the item itself, else as many shards
/// and then the item as it takes. `None` when they have fewer than `quantity` together.
pub fn spread(item_free: u32, shard_free: &[u32], quantity: u32, start: usize) -> Option<Vec<(Option<u8>, u32)>> {
    let count = shard_free.len();
    let order = (0..count).map(|i| (start + i) % count.max(1));
    if let Some(n) = order.clone().find(|&n| shard_free[n] >= quantity) {
        return Some(vec![(Some(n as u8), quantity)]);
    }
    if item_free >= quantity {
        return Some(vec![(None, quantity)]);
    }
    let mut left = quantity;
    let mut taken = Vec::new();
    for n in order {
        let take = shard_free[n].min(left);
        if take > 0 {
            taken.push((Some(n as u8), take));
            left -= take;
        }
    }
    if left > 0 {
        let take = item_free.min(left);
        if take > 0 {
            taken.push((None, take));
            left -= take;
        }
    }
    (left == 0).then_some(taken)
}

/// A transfer of stock between two of a vendor's locations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockTransfer {
    pub id: StockTransferId,
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub from_location_id: LocationId,
    pub to_location_id: LocationId,
    pub quantity: u32,
    /// The batches that left the source (perishable variants); they arrive as the same batches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<BatchQuantity>,
    pub status: TransferStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Left the source; counted as incoming at the destination.
    InTransit,
    /// Arrived: on hand at the destination.
    Received,
}

impl TransferStatus {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw {
            "in_transit" => Ok(TransferStatus::InTransit),
            "received" => Ok(TransferStatus::Received),
            _ => Err(FieldError::new(field, "must be one of in_transit, received")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn item(on_hand: u32, reserved: u32) -> StockItem {
        let mut item = StockItem::empty(
            VendorId::generate(),
            VariantId::generate(),
            ProductId::generate(),
            "MILK-1L",
            LocationId::generate(),
            true,
            Utc::now(),
        );
        item.on_hand = on_hand;
        item.reserved = reserved;
        item
    }

    fn batch(lot: &str, expires_on: NaiveDate, on_hand: u32) -> Batch {
        Batch { lot: lot.into(), expires_on, on_hand, received_at: Utc::now() }
    }

    /// Applies a rebalance's shards to `shards` (as the store writes them).
    fn applied(shards: &mut Vec<StockShard>, plan: &Rebalance) {
        for (_, after, _) in &plan.shards {
            shards.retain(|s| s.shard != after.shard);
            shards.push(after.clone());
        }
        shards.sort_by_key(|s| s.shard);
    }

    #[test]
    fn a_rebalance_splits_the_available_units_evenly_and_merging_back_returns_only_the_free_ones() {
        let now = Utc::now();
        let mut it = item(103, 3);
        it.batches = vec![batch("OLD", day(1), 10), batch("NEW", day(20), 93)];
        assert_eq!(rebalance(&it, &[], 4, day(5), now), Err(StockError::PerishableShards));
        it.perishable = false;
        it.batches.clear();
        it.on_hand = 93;
        // 93 on hand, 3 reserved: 90 available, 23 + 23 + 22 + 22 over four shards.
        let plan = rebalance(&it, &[], 4, day(5), now).unwrap();
        let allotted: Vec<u32> = plan.shards.iter().map(|(_, s, _)| s.allotted).collect();
        assert_eq!(allotted, vec![23, 23, 22, 22]);
        assert!(plan.shards.iter().all(|(before, s, _)| before.is_none() && s.version == 1));
        assert_eq!((plan.allotted_change, plan.item.reserved, plan.item.allotted), (90, 93, 90));
        assert_eq!((plan.item.shards, plan.item.version, plan.item.on_hand), (4, it.version + 1, 93));
        assert_eq!(availability(&plan.item, day(5)).available, 0, "the item's own units all went to the shards");
        let mut shards = Vec::new();
        applied(&mut shards, &plan);
        assert_eq!(available_with_shards(&plan.item, &shards, day(5)), 90, "together, nothing lost");

        // Orders take 20 from shard 1; split over two shards, the free 70 go 35 and 35, and the
        // two retired shards give back only what is free (shard 1 keeps its 20 reserved).
        shards[1].reserve(20, now).unwrap();
        let it = plan.item;
        let plan = rebalance(&it, &shards, 2, day(5), now).unwrap();
        applied(&mut shards, &plan);
        let held: Vec<(u32, u32)> = shards.iter().map(|s| (s.allotted, s.reserved)).collect();
        assert_eq!(held, vec![(35, 0), (55, 20), (0, 0), (0, 0)]);
        assert_eq!((plan.item.allotted, plan.item.reserved, plan.item.shards), (90, 93, 2));
        assert_eq!(available_with_shards(&plan.item, &shards, day(5)), 70);

        // Merged back: the 70 free units return to the item; the 20 orders hold stay in shard 1.
        let it = plan.item;
        let plan = rebalance(&it, &shards, 0, day(5), now).unwrap();
        applied(&mut shards, &plan);
        assert_eq!(plan.allotted_change, -70);
        assert_eq!((plan.item.allotted, plan.item.reserved, plan.item.shards), (20, 23, 0));
        assert_eq!(availability(&plan.item, day(5)).available, 70);
        // A release on the retired shard gives the units back to its allotment and the item.
        shards[1].release(20, true, now).unwrap();
        assert_eq!((shards[1].allotted, shards[1].reserved), (0, 0));
        assert_eq!(rebalance(&it, &[], MAX_SHARDS + 1, day(5), now), Err(StockError::TooManyShards));
    }

    #[test]
    fn a_hold_comes_from_one_shard_that_has_it_all_else_the_item_else_as_many_as_it_takes() {
        // One shard with everything, looked for from the start given.
        assert_eq!(spread(0, &[1, 5, 5], 3, 2), Some(vec![(Some(2), 3)]));
        assert_eq!(spread(0, &[1, 5, 5], 3, 0), Some(vec![(Some(1), 3)]));
        assert_eq!(spread(9, &[1, 2], 3, 0), Some(vec![(None, 3)]), "the item when no shard has it all");
        assert_eq!(spread(1, &[1, 2], 4, 1), Some(vec![(Some(1), 2), (Some(0), 1), (None, 1)]));
        assert_eq!(spread(0, &[1, 2], 4, 0), None, "fewer than asked for together");
        assert_eq!(spread(2, &[], 2, 0), Some(vec![(None, 2)]), "an item without shards");
        // Starts spread concurrent orders over every shard.
        let firsts: Vec<_> = (0..4).map(|start| spread(0, &[3, 3, 3, 3], 1, start).unwrap()[0].0).collect();
        assert_eq!(firsts, vec![Some(0), Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_sharded_item_raises_no_alert_of_its_own() {
        let mut before = item(10, 0);
        before.reorder_point = Some(5);
        let mut after = before.clone();
        after.reserved = 10;
        assert_eq!(crossing(Some(&before), &after, day(5)), Some(StockAlertKind::OutOfStock));
        after.shards = 4;
        after.allotted = 10;
        assert_eq!(crossing(Some(&before), &after, day(5)), None, "its units went to its shards, not away");
    }

    #[test]
    fn a_reservation_takes_only_available_units_and_a_release_gives_back_no_more_than_reserved() {
        let mut it = item(10, 3);
        it.batches = vec![batch("OLD", day(1), 4), batch("NEW", day(20), 6)];
        // 10 on hand, 3 reserved, 4 expired: 3 can be promised.
        let short = it.clone().reserve(4, day(5), Utc::now()).unwrap_err();
        assert_eq!(short, StockError::Short(Shortage::Insufficient { requested: 4, available: 3 }));
        let version = it.version;
        it.reserve(3, day(5), Utc::now()).unwrap();
        assert_eq!((it.on_hand, it.reserved, it.version), (10, 6, version + 1));
        assert_eq!(availability(&it, day(5)).available, 0);
        let too_many = it.clone().release(7, Utc::now()).unwrap_err();
        assert_eq!(too_many, StockError::Short(Shortage::Insufficient { requested: 7, available: 6 }));
        it.release(2, Utc::now()).unwrap();
        assert_eq!((it.on_hand, it.reserved, it.version), (10, 4, version + 2));
    }

    #[test]
    fn a_batch_is_sellable_on_its_expiry_date_and_expired_the_day_after() {
        let b = batch("L1", day(10), 5);
        assert!(!b.expired(day(10)));
        assert!(b.expired(day(11)));
    }

    #[test]
    fn expired_and_reserved_units_are_not_available() {
        let with = |mut it: StockItem| {
            it.batches = vec![batch("OLD", day(1), 4), batch("NEW", day(20), 6)];
            it
        };
        let a = availability(&with(item(10, 3)), day(5));
        assert_eq!(a, Availability { on_hand: 10, reserved: 3, expired: 4, available: 3 });
        let all_reserved = availability(&with(item(10, 9)), day(5));
        assert_eq!(all_reserved.available, 0, "never below zero");
    }

    #[test]
    fn fefo_takes_the_first_expiring_batch_first_and_skips_expired_ones_for_sales() {
        let mut it = item(17, 0);
        it.batches = vec![batch("LATE", day(30), 5), batch("EXPIRED", day(2), 9), batch("SOON", day(8), 3)];
        let taken = take_fefo(&it, 5, 100, day(5), false).unwrap();
        assert_eq!(
            taken.iter().map(|t| (t.lot.as_str(), t.quantity)).collect::<Vec<_>>(),
            vec![("SOON", -3), ("LATE", -2)]
        );
        let write_off = take_fefo(&it, 2, 100, day(5), true).unwrap();
        assert_eq!(write_off[0].lot, "EXPIRED", "a write-off may take expired stock, first");
        assert_eq!(take_fefo(&it, 9, 100, day(5), false), Err(Shortage::Insufficient { requested: 9, available: 8 }));
        assert_eq!(
            take_fefo(&it, 5, 4, day(5), false),
            Err(Shortage::Insufficient { requested: 5, available: 4 }),
            "reserved units are not free to take"
        );
        it.on_hand = 19;
        let with_unbatched = take_fefo(&it, 10, 100, day(5), false).unwrap();
        assert_eq!(with_unbatched.iter().map(|t| t.quantity).sum::<i64>(), -8, "two units come from outside batches");
    }

    #[test]
    fn the_status_follows_availability_reorder_point_incoming_and_expiry() {
        let today = day(5);
        let mut it = item(0, 0);
        assert_eq!(status(&it, today, 7), StockStatus::OutOfStock);
        it.incoming = 10;
        assert_eq!(status(&it, today, 7), StockStatus::Incoming);
        it = item(5, 0);
        it.reorder_point = Some(5);
        assert_eq!(status(&it, today, 7), StockStatus::Low);
        it.reorder_point = Some(4);
        let with =
            |it: &StockItem, expires: NaiveDate| StockItem { batches: vec![batch("A", expires, 5)], ..it.clone() };
        assert_eq!(status(&with(&it, day(30)), today, 7), StockStatus::InStock);
        assert_eq!(status(&with(&it, day(12)), today, 7), StockStatus::Expiring);
        assert_eq!(status(&with(&it, day(13)), today, 7), StockStatus::InStock);
        assert_eq!(status(&with(&it, day(4)), today, 7), StockStatus::OutOfStock, "all expired");
    }

    #[test]
    fn applying_a_change_moves_on_hand_and_batches_together_and_counts_a_version() {
        let now = Utc::now();
        let mut it = item(0, 0);
        let into = |lot: &str, d: u32, q: i64| BatchQuantity { lot: lot.into(), expires_on: day(d), quantity: q };
        it.apply(8, &[into("B", 20, 5), into("A", 10, 3)], now).unwrap();
        assert_eq!((it.on_hand, it.version), (8, 1));
        assert_eq!(
            it.batches.iter().map(|b| (b.lot.as_str(), b.on_hand)).collect::<Vec<_>>(),
            vec![("A", 3), ("B", 5)]
        );
        it.apply(-3, &[into("A", 10, -3)], now).unwrap();
        assert_eq!(it.batches.len(), 1, "an emptied batch is dropped");
        assert_eq!((it.on_hand, it.version), (5, 2));
        let before = it.clone();
        assert!(matches!(it.apply(-6, &[into("B", 20, -6)], now), Err(StockError::Short(_))));
        assert!(matches!(it.apply(1, &[into("B", 21, 1)], now), Err(StockError::LotExpiryMismatch { .. })));
        assert!(matches!(it.apply(-1, &[into("Z", 20, -1)], now), Err(StockError::Short(Shortage::NoSuchBatch(_)))));
        assert_eq!(it, before, "a refused change changes nothing");
        let mut plain = item(2, 0);
        plain.perishable = false;
        assert!(plain.apply(-3, &[], now).is_err());
        assert!(plain.apply(i64::from(MAX_QUANTITY), &[], now).is_err());
    }

    #[test]
    fn an_alert_is_raised_once_per_crossing_not_once_per_sale() {
        let today = day(5);
        let at = |on_hand: u32| {
            let mut it = item(on_hand, 0);
            it.perishable = false;
            it.reorder_point = Some(5);
            it
        };
        assert_eq!(crossing(Some(&at(7)), &at(6), today), None);
        assert_eq!(crossing(Some(&at(6)), &at(5), today), Some(StockAlertKind::Low));
        assert_eq!(crossing(Some(&at(5)), &at(3), today), None, "already low");
        assert_eq!(crossing(Some(&at(3)), &at(0), today), Some(StockAlertKind::OutOfStock));
        assert_eq!(crossing(Some(&at(9)), &at(0), today), Some(StockAlertKind::OutOfStock), "one alert, the worse");
        assert_eq!(crossing(Some(&at(0)), &at(0), today), None);
        assert_eq!(crossing(Some(&at(0)), &at(2), today), None, "restocking below the point is not a crossing");
        let mut raised = at(9);
        raised.reorder_point = Some(10);
        assert_eq!(crossing(Some(&at(9)), &raised, today), Some(StockAlertKind::Low), "a raised reorder point");
        let mut none = at(1);
        none.reorder_point = None;
        assert_eq!(crossing(Some(&at(9)), &none, today), None);
        let out = at(0);
        let alert = StockAlert::of(&out, StockAlertKind::OutOfStock, today, Utc::now());
        assert_eq!(
            alert.id,
            StockAlert::of(&out, StockAlertKind::OutOfStock, today, Utc::now()).id,
            "one id per change"
        );
        let next = StockItem { version: out.version + 1, ..out.clone() };
        assert_ne!(alert.id, StockAlert::of(&next, StockAlertKind::OutOfStock, today, Utc::now()).id);
    }

    #[test]
    fn an_adjustment_goes_the_way_its_reason_says() {
        assert!(AdjustmentReason::Received.check("quantity", 5).is_ok());
        assert!(AdjustmentReason::Received.check("quantity", -5).is_err());
        assert!(AdjustmentReason::Damaged.check("quantity", 2).is_err());
        assert!(AdjustmentReason::Lost.check("quantity", -2).is_ok());
        assert!(AdjustmentReason::Correction.check("quantity", -2).is_ok());
        assert_eq!(AdjustmentReason::Correction.check("quantity", 0).unwrap_err().field, "quantity");
        assert!(AdjustmentReason::Found.check("quantity", i64::from(MAX_QUANTITY) + 1).is_err());
        for reason in [AdjustmentReason::Received, AdjustmentReason::Correction] {
            let movement = MovementReason::from(reason);
            assert_eq!(serde_json::to_value(reason).unwrap(), serde_json::to_value(movement).unwrap());
        }
    }

    #[test]
    fn a_bin_location_is_upper_cased_and_printed_in_walking_order() {
        let bin = BinLocation::parse("bin", "a", "03", "2", "14b").unwrap();
        assert_eq!(bin.label(), "A-03-2-14B");
        assert_eq!(BinLocation::parse("bin", "a", "", "2", "1").unwrap_err().field, "bin.aisle");
    }

    #[test]
    fn every_status_and_reason_is_written_by_its_name() {
        for s in StockStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(StockStatus::parse("status", s.as_str()), Ok(s));
        }
        for r in AdjustmentReason::ALL {
            let movement = MovementReason::from(r);
            assert_eq!(serde_json::to_value(r).unwrap(), movement.as_str());
            assert_eq!(serde_json::to_value(movement).unwrap(), movement.as_str());
        }
    }
}
