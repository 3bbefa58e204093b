//! Stock items, their ledger, and transfers between locations.
//!
//! One item per (variant, location) holds on hand, reserved, incoming and its batches. Every
//! change of on hand or reserved is written with a condition on the version that was read and
//! counts the next one, in one transaction with the ledger's movement keyed by that version: no
//! change is lost to a concurrent one, and the ledger holds exactly one movement per version
//! ([`change`]). A change that loses a race is planned again on what is there now ([`apply`]).
//! `incoming` is the one field changed without a version (ADD), so it never invalidates a sale.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::NaiveDate;
use futures_util::future::try_join_all;
use stockyard_domain::ids::{LocationId, StockTransferId, VariantId, VendorId};
use stockyard_domain::stock::{
    Actor, BinLocation, Movement, MovementReason, StockError, StockItem, StockShard, StockTransfer, TransferStatus,
};

use crate::entity::Entity;
use crate::table::{Change, Expr, to_item};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for StockItem {
    type Id = (VendorId, VariantId, LocationId);
    const NAME: &'static str = "stock item";
    fn key((vendor, variant, location): &Self::Id) -> keys::Key {
        keys::stock_item(*vendor, *variant, *location)
    }
    fn key_of(&self) -> keys::Key {
        keys::stock_item(self.vendor_id, self.variant_id, self.location_id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::stock_listing(self.vendor_id, self.location_id, self.variant_id))
    }
}

impl Entity for Movement {
    type Id = (VendorId, VariantId, LocationId, u64);
    const NAME: &'static str = "stock movement";
    fn key((vendor, variant, location, version): &Self::Id) -> keys::Key {
        keys::movement(*vendor, *variant, *location, *version)
    }
    fn key_of(&self) -> keys::Key {
        match self.shard {
            Some(shard) => keys::shard_movement(self.vendor_id, self.variant_id, self.location_id, shard, self.version),
            None => keys::movement(self.vendor_id, self.variant_id, self.location_id, self.version),
        }
    }
}

impl Entity for StockShard {
    type Id = (VendorId, VariantId, LocationId, u8);
    const NAME: &'static str = "stock shard";
    fn key((vendor, variant, location, shard): &Self::Id) -> keys::Key {
        keys::stock_shard(*vendor, *variant, *location, *shard)
    }
    fn key_of(&self) -> keys::Key {
        keys::stock_shard(self.vendor_id, self.variant_id, self.location_id, self.shard)
    }
}

impl Entity for StockTransfer {
    type Id = (VendorId, StockTransferId);
    const NAME: &'static str = "stock transfer";
    fn key((vendor, id): &Self::Id) -> keys::Key {
        keys::transfer(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::transfer(self.vendor_id, self.id)
    }
}

/// A batch of a stock item expiring on a day: written with the change that first holds the batch,
/// so the daily near-expiry check reads the few days ahead instead of every stock item. Kept until
/// 30 days after the date (TTL); the stock item says whether units are still there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchExpiry {
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    pub location_id: LocationId,
    pub lot: String,
    pub expires_on: NaiveDate,
    /// Epoch seconds after which the table's TTL removes the marker.
    pub expires_at: i64,
}

impl Entity for BatchExpiry {
    type Id = (NaiveDate, VendorId, VariantId, LocationId, String);
    const NAME: &'static str = "batch expiry";
    fn key((day, vendor, variant, location, lot): &Self::Id) -> keys::Key {
        keys::batch_expiry(*day, *vendor, *variant, *location, lot)
    }
    fn key_of(&self) -> keys::Key {
        keys::batch_expiry(self.expires_on, self.vendor_id, self.variant_id, self.location_id, &self.lot)
    }
}

impl BatchExpiry {
    fn of(item: &StockItem, lot: &str, expires_on: NaiveDate) -> Self {
        let kept = expires_on + chrono::Days::new(30);
        Self {
            vendor_id: item.vendor_id,
            variant_id: item.variant_id,
            location_id: item.location_id,
            lot: lot.to_string(),
            expires_on,
            expires_at: kept.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp()),
        }
    }
}

/// New batches one change marks at most (see [`change`]).
const MAX_MARKED_PER_CHANGE: usize = 50;

/// The batches expiring on `day`, across every vendor.
pub async fn expiring_on(table: &Table, day: NaiveDate) -> Result<Vec<BatchExpiry>, StoreError> {
    table.query_all(&keys::batch_expiries_on(day)).await
}

/// The step of a change that fails when the stock item changed since it was read.
pub const STOCK_CHANGED: &str = "stock";
/// The step of [`receive_transfer`] that fails when the transfer is no longer in transit.
pub const TRANSFER_NOT_IN_TRANSIT: &str = "transfer";

/// The stock item, strongly consistent; `None` when nothing was ever held or expected there.
pub async fn get(
    table: &Table,
    vendor: VendorId,
    variant: VariantId,
    location: LocationId,
) -> Result<Option<StockItem>, StoreError> {
    table.get::<StockItem>(&(vendor, variant, location)).await
}

/// A variant's stock items at every location of the vendor.
pub async fn of_variant(table: &Table, vendor: VendorId, variant: VariantId) -> Result<Vec<StockItem>, StoreError> {
    table.query_all(&keys::stock_of_variant(vendor, variant)).await
}

/// Every stock item of the vendor (at one location, when given), read from the index (eventually
/// consistent), at most `limit` (a caller that gets `limit` back knows there may be more).
pub async fn of_vendor(
    table: &Table,
    vendor: VendorId,
    location: Option<LocationId>,
    limit: usize,
) -> Result<Vec<StockItem>, StoreError> {
    table.query_up_to(&keys::stock_of_vendor(vendor, location), limit).await
}

/// Every stock item of the vendor, from the index (eventually consistent): what the nightly
/// forecast reads for its stock positions.
pub async fn all_of_vendor(table: &Table, vendor: VendorId) -> Result<Vec<StockItem>, StoreError> {
    table.query_all(&keys::stock_of_vendor(vendor, None)).await
}

/// Writes `after` (the item as `before` was, changed, with the next version) and its movement,
/// in one transaction the caller may add to. Fails at step [`STOCK_CHANGED`] when the item is no
/// longer at `before`'s version (or exists when `before` is `None`). `incoming_change` is added to
/// `incoming` whatever it is now.
pub fn change(
    table: &Table,
    before: Option<&StockItem>,
    after: &StockItem,
    movement: &Movement,
    incoming_change: i64,
) -> Result<Tx, StoreError> {
    debug_assert_eq!(after.version, before.map_or(0, |b| b.version) + 1);
    debug_assert_eq!(movement.version, after.version);
    let condition = match before {
        Some(before) => Expr::new("version = :read").val(":read", &before.version),
        None => Expr::not_exists(),
    };
    let mut tx = table.tx();
    tx.update::<StockItem>(STOCK_CHANGED, &(after.vendor_id, after.variant_id, after.location_id), {
        set_all_but_incoming(after, incoming_change)?.when(condition).returning_item_on_failure()
    })?;
    tx.put("movement", movement, Some(Expr::not_exists()))?;
    // A batch this change brings (a lot and date the item did not hold) is marked on its day. A
    // transaction holds 100 writes: a change bringing more than 50 batches at once (a transfer of
    // very many lots) marks the first-expiring 50; the stock views still show the others.
    let new = after.batches.iter().filter(|batch| {
        !before.is_some_and(|b| b.batches.iter().any(|o| o.lot == batch.lot && o.expires_on == batch.expires_on))
    });
    for batch in new.take(MAX_MARKED_PER_CHANGE) {
        tx.put("batch_expiry", &BatchExpiry::of(after, &batch.lot, batch.expires_on), None)?;
    }
    Ok(tx)
}

/// Adds `quantity` (negative: takes it away) to what is on its way to a stock item, creating the
/// item when it does not exist yet; never below zero.
pub fn add_incoming(table: &Table, item: &StockItem, quantity: i64) -> Result<Tx, StoreError> {
    let mut update = Expr::default();
    let sets = set_fields(item, &["incoming"], true, &mut update)?;
    update.expression = format!("SET {} ADD incoming :q", sets.join(", "));
    update.values.insert(":q".into(), AttributeValue::N(quantity.to_string()));
    let mut change = Change::new(update);
    if quantity < 0 {
        change = change.when(Expr::new("incoming >= :need").val(":need", &quantity.unsigned_abs()));
    }
    let mut tx = table.tx();
    tx.update::<StockItem>("incoming", &(item.vendor_id, item.variant_id, item.location_id), change)?;
    Ok(tx)
}

/// Sets where the variant is kept, its reorder point and safety stock (`None` leaves a field as
/// it is; `Some(None)` removes it), creating the stock item when it does not exist yet. Not a
/// change of stock: no version, no movement.
pub async fn set_settings(
    table: &Table,
    item: &StockItem,
    bin: Option<Option<&BinLocation>>,
    reorder_point: Option<Option<u32>>,
    safety_stock: Option<Option<u32>>,
) -> Result<StockItem, StoreError> {
    let mut update = Expr::default();
    let mut sets = set_fields(item, &["bin", "reorder_point", "safety_stock", "updated_at"], true, &mut update)?;
    let mut removes = Vec::new();
    update = update.val(":now", &item.updated_at);
    sets.push("updated_at = :now".into());
    let mut field = |name: &str, value: Option<AttributeValue>| match value {
        Some(v) => {
            sets.push(format!("{name} = :{name}"));
            update.values.insert(format!(":{name}"), v);
        }
        None => removes.push(name.to_string()),
    };
    if let Some(bin) = bin {
        field("bin", bin.map(attribute));
    }
    if let Some(point) = reorder_point {
        field("reorder_point", point.as_ref().map(attribute));
    }
    if let Some(stock) = safety_stock {
        field("safety_stock", stock.as_ref().map(attribute));
    }
    let mut text = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        text.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    update.expression = text;
    table.update::<StockItem>(&(item.vendor_id, item.variant_id, item.location_id), Change::new(update)).await
}

/// `SET` clauses for every attribute of `item` (keys aside) but those in `skip`, with their
/// placeholders added to `update`; `if_missing` sets each only where the item has none yet (the
/// fields of a stock item created by a write that is not a change of stock).
fn set_fields(item: &StockItem, skip: &[&str], if_missing: bool, update: &mut Expr) -> Result<Vec<String>, StoreError> {
    let mut attributes = to_item(item)?;
    attributes.retain(|name, _| name != "PK" && name != "SK" && !skip.contains(&name.as_str()));
    let mut sets = Vec::with_capacity(attributes.len());
    for (i, (name, value)) in attributes.into_iter().enumerate() {
        sets.push(if if_missing { format!("#f{i} = if_not_exists(#f{i}, :f{i})") } else { format!("#f{i} = :f{i}") });
        update.names.insert(format!("#f{i}"), name);
        update.values.insert(format!(":f{i}"), value);
    }
    Ok(sets)
}

fn attribute<T: serde::Serialize>(value: &T) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).expect("plain values always serialise to an attribute")
}

/// What a change of stock never writes: `incoming` (added to), and the settings that
/// [`set_settings`] changes without a version.
const NOT_A_CHANGE_OF_STOCK: [&str; 4] = ["incoming", "bin", "reorder_point", "safety_stock"];

/// `SET` every attribute of `item` but [`NOT_A_CHANGE_OF_STOCK`]; `ADD incoming_change` to `incoming`.
pub(crate) fn set_all_but_incoming(item: &StockItem, incoming_change: i64) -> Result<Change, StoreError> {
    let mut update = Expr::default();
    let sets = set_fields(item, &NOT_A_CHANGE_OF_STOCK, false, &mut update)?;
    // Fields a change leaves out of the record (an emptied batch list, a removed setting) go.
    let mut removes = Vec::new();
    if item.batches.is_empty() {
        removes.push("batches");
    }
    if item.allotted == 0 {
        removes.push("allotted");
    }
    if item.shards == 0 {
        removes.push("shard_count");
    }
    update.expression = format!("SET {} ADD incoming :incoming", sets.join(", "));
    if !removes.is_empty() {
        update.expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    update.values.insert(":incoming".into(), AttributeValue::N(incoming_change.to_string()));
    Ok(Change::new(update))
}

/// How long [`apply`] goes on planning a change again after losing races on one stock item...
const RACE_BUDGET: Duration = Duration::from_secs(6);
/// ...and how many tries it has at least, within [`RACE_LIMIT`]: when the store itself is slow (a
/// loaded machine), one lost race must not use up the budget that is meant for contention.
const RACE_TRIES: u32 = 6;
/// Never past this, so that a function (10 s timeout) answers 503 rather than timing out.
const RACE_LIMIT: Duration = Duration::from_secs(8);

/// Reads the stock item, lets `plan` build the transaction of one change on what was read (with
/// [`change`], plus whatever else belongs to it) and commits it; when another change won the race
/// meanwhile (step [`STOCK_CHANGED`] or `movement`), or a concurrent transaction on the same item
/// cancelled this one, plans again after a jittered backoff, for up to 6 s and at least 6 tries,
/// never past 8 s (then 503, to be retried). A lost race on the item's version hands back the
/// item as the winner left it, and the next plan starts from that without reading it again; a
/// cancellation without it (a concurrent transaction, throttling) reads again. `plan` decides
/// on the state it is given (whether there is enough, which batches), so a refusal is always a
/// refusal on the latest state.
pub async fn apply<T, E: From<StoreError>>(
    table: &Table,
    id: (VendorId, VariantId, LocationId),
    mut plan: impl FnMut(Option<&StockItem>) -> Result<(Tx, T), E>,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(200))
        .with_jitter()
        .without_max_times()
        .build();
    let mut tries = 0u32;
    // The item as a lost race handed it back, to plan on instead of reading.
    let mut seen: Option<StockItem> = None;
    loop {
        tries += 1;
        let before = match seen.take() {
            Some(item) => Some(item),
            None => table.get::<StockItem>(&id).await?,
        };
        let (tx, out) = plan(before.as_ref())?;
        let raced = |e: &StoreError| match e {
            StoreError::Conflict { step } => step == STOCK_CHANGED || step == "movement",
            // cancelled by a concurrent transaction on the same items (or throttled): read again
            StoreError::Throttled(_) => true,
            _ => false,
        };
        match table.commit_once_seeing(tx, STOCK_CHANGED).await {
            Ok(()) => {
                if tries > 1 {
                    // A hot item shows in the logs: how many races this change lost first.
                    tracing::info!(lost_races = tries - 1, "stock change committed after lost races");
                }
                return Ok(out);
            }
            Err((e, item)) if raced(&e) => {
                let spent = started.elapsed();
                if spent > RACE_LIMIT || (spent > RACE_BUDGET && tries >= RACE_TRIES) {
                    return Err(StoreError::Throttled("the stock item is changing too fast; try again".into()).into());
                }
                match item.map(crate::table::from_item::<StockItem>) {
                    // The state it lost to, fresh: plan on it at once (a pause would only age it).
                    Some(Ok(item)) if e.failed_at(STOCK_CHANGED) => seen = Some(item),
                    _ => tokio::time::sleep(delays.next().unwrap_or(Duration::from_millis(200))).await,
                }
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}

/// Shards `0..count` of a stock item as they are (`None`: never written), strongly consistent.
pub async fn shards_of(table: &Table, item: &StockItem, count: u8) -> Result<Vec<Option<StockShard>>, StoreError> {
    let (vendor, variant, location) = (item.vendor_id, item.variant_id, item.location_id);
    try_join_all((0..count).map(|n| async move { table.get::<StockShard>(&(vendor, variant, location, n)).await }))
        .await
}

/// The active shards of a stock item that exist.
pub async fn active_shards(table: &Table, item: &StockItem) -> Result<Vec<StockShard>, StoreError> {
    Ok(shards_of(table, item, item.shards).await?.into_iter().flatten().collect())
}

/// What each item's active shards have free in all (0 for an item without shards), read in
/// parallel: what the item has available beyond its own units.
pub async fn free_in_shards(table: &Table, items: &[StockItem]) -> Result<Vec<u32>, StoreError> {
    try_join_all(items.iter().map(|item| async move {
        if item.shards == 0 {
            return Ok(0);
        }
        let shards = active_shards(table, item).await?;
        Ok(shards.iter().map(StockShard::free).sum())
    }))
    .await
}

/// Why a stock item could not be split into shards.
#[derive(Debug, thiserror::Error)]
pub enum RebalanceError {
    /// Nothing was ever held or expected there.
    #[error("no stock item")]
    NotFound,
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many times [`rebalance`] reads and plans again after a concurrent change of the item or a
/// shard (a checkout), before answering busy.
const REBALANCE_TRIES: u32 = 20;

/// Splits a stock item's available units into `count` shards (0: merges them back), in one
/// transaction with the item, every shard that changes and each one's movement
/// (`allotted` / `allotment_returned`, referenced `shards`). Returns the item and its active
/// shards after.
pub async fn rebalance(
    table: &Table,
    id: (VendorId, VariantId, LocationId),
    count: u8,
    actor: &Actor,
    today: chrono::NaiveDate,
) -> Result<(StockItem, Vec<StockShard>), RebalanceError> {
    for attempt in 0..REBALANCE_TRIES {
        let item = get(table, id.0, id.1, id.2).await?.ok_or(RebalanceError::NotFound)?;
        let shards: Vec<StockShard> =
            shards_of(table, &item, item.shards.max(count)).await?.into_iter().flatten().collect();
        let now = chrono::Utc::now();
        let plan = stockyard_domain::stock::rebalance(&item, &shards, count, today, now)?;
        if plan.shards.is_empty() && count == item.shards {
            // Split as asked already, nothing to spread: no write, no movement.
            let active = shards.into_iter().filter(|s| s.shard < count).collect();
            return Ok((item, active));
        }
        let reason = |change: i64| {
            if change >= 0 { MovementReason::Allotted } else { MovementReason::AllotmentReturned }
        };
        let note = format!("split into {count} shards");
        let movement = |shard, numbers, reason| {
            movement_of(&item, shard, numbers, ("shards", actor, reason), Some(note.clone()), now)
        };
        let mut tx = table.tx();
        let after = &plan.item;
        let condition = Expr::new("version = :read").val(":read", &item.version);
        tx.update::<StockItem>(STOCK_CHANGED, &id, set_all_but_incoming(after, 0)?.when(condition))?;
        let own = movement(None, (after.version, after.on_hand, 0, plan.allotted_change), reason(plan.allotted_change));
        tx.put("movement", &own, Some(Expr::not_exists()))?;
        for (before, shard, change) in &plan.shards {
            let condition = match before {
                Some(before) => Expr::new("version = :read").val(":read", &before.version),
                None => Expr::not_exists(),
            };
            tx.put(format!("shard#{}", shard.shard), shard, Some(condition))?;
            let entry = movement(Some(shard.shard), (shard.version, shard.allotted, *change, 0), reason(*change));
            tx.put(format!("shardmove#{}", shard.shard), &entry, Some(Expr::not_exists()))?;
        }
        match table.commit(tx).await {
            Ok(()) => {
                let active = active_shards(table, after).await?;
                return Ok((after.clone(), active));
            }
            Err(StoreError::Conflict { .. } | StoreError::Throttled(_)) if attempt + 1 < REBALANCE_TRIES => {
                tokio::time::sleep(Duration::from_millis(5 + 10 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled("the stock item is changing too fast; try again".into()).into())
}

/// The movement of one record of `item`: the item's own (`shard: None`) or one shard's, with the
/// version it made, what it holds after (on hand, or the shard's allotment), its change of that
/// and of reserved units, and the ledger's reference, actor and reason.
pub(crate) fn movement_of(
    item: &StockItem,
    shard: Option<u8>,
    (version, held_after, quantity, reserved_change): (u64, u32, i64, i64),
    (reference, actor, reason): (&str, &Actor, MovementReason),
    note: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Movement {
    Movement {
        vendor_id: item.vendor_id,
        variant_id: item.variant_id,
        location_id: item.location_id,
        shard,
        sku: item.sku.clone(),
        version,
        reason,
        quantity,
        on_hand_after: held_after,
        reserved_change,
        batches: Vec::new(),
        reference: Some(reference.to_string()),
        note,
        actor: actor.clone(),
        at: now,
    }
}

/// One shard's ledger, oldest first unless the page asks for newest first.
pub async fn shard_movements(
    table: &Table,
    (vendor, variant, location): (VendorId, VariantId, LocationId),
    shard: u8,
    page: &PageRequest,
) -> Result<Page<Movement>, StoreError> {
    table.query(&keys::shard_movements(vendor, variant, location, shard), page).await
}

/// Every movement of one shard, oldest first (the reconciler sums them).
pub async fn all_shard_movements(
    table: &Table,
    (vendor, variant, location): (VendorId, VariantId, LocationId),
    shard: u8,
) -> Result<Vec<Movement>, StoreError> {
    table.query_all(&keys::shard_movements(vendor, variant, location, shard)).await
}

/// A variant's ledger at one location (or every location), oldest first unless the page asks
/// for newest first.
pub async fn movements(
    table: &Table,
    vendor: VendorId,
    variant: VariantId,
    location: Option<LocationId>,
    page: &PageRequest,
) -> Result<Page<Movement>, StoreError> {
    table.query(&keys::movements(vendor, variant, location), page).await
}

/// Every movement of one stock item, oldest first (the reconciler sums them).
pub async fn all_movements(
    table: &Table,
    vendor: VendorId,
    variant: VariantId,
    location: LocationId,
) -> Result<Vec<Movement>, StoreError> {
    table.query_all(&keys::movements(vendor, variant, Some(location))).await
}

/// Records a new transfer (in the caller's transaction, with the change at its source).
pub fn create_transfer(tx: &mut Tx, transfer: &StockTransfer) -> Result<(), StoreError> {
    tx.put("transfer", transfer, Some(Expr::not_exists()))?;
    Ok(())
}

/// Marks a transfer received, if it is still in transit (step [`TRANSFER_NOT_IN_TRANSIT`]).
pub fn receive_transfer(tx: &mut Tx, transfer: &StockTransfer) -> Result<(), StoreError> {
    let change = Change::new(
        Expr::new("SET #status = :received, received_at = :at")
            .name("#status", "status")
            .val(":received", &TransferStatus::Received)
            .val(":at", &transfer.received_at),
    )
    .when(Expr::new("#status = :in_transit").name("#status", "status").val(":in_transit", &TransferStatus::InTransit));
    tx.update::<StockTransfer>(TRANSFER_NOT_IN_TRANSIT, &(transfer.vendor_id, transfer.id), change)?;
    Ok(())
}

pub async fn transfer(
    table: &Table,
    vendor: VendorId,
    id: StockTransferId,
) -> Result<Option<StockTransfer>, StoreError> {
    table.get::<StockTransfer>(&(vendor, id)).await
}

/// The vendor's transfers, newest first by default, optionally only those in one status.
pub async fn transfers(
    table: &Table,
    vendor: VendorId,
    status: Option<TransferStatus>,
    page: &PageRequest,
) -> Result<Page<StockTransfer>, StoreError> {
    let filter = status.map(|s| Expr::new("#status = :status").name("#status", "status").val(":status", &s));
    table.query_filtered(&keys::transfers_of(vendor), page, filter, |_| true).await
}
