//! Reservations: units of several stock items promised to one order (or given back) in one
//! transaction, together with whatever else belongs to it (the order's own records, a coupon's
//! use), so that either every line is held and the order exists, or nothing changed.
//!
//! Each stock item is written as every other change of stock is (see [`crate::stock`]): under the
//! version that was read, counting the next one, with its ledger movement at that version
//! (`reserved` or `reservation_released`: on hand unchanged, `reserved_change` ±quantity). A
//! reservation that loses a race on an item plans again at once on the state the failed
//! transaction handed back for every item it lost on; one cancelled without it (a concurrent
//! transaction, throttling) reads again after a jittered pause. A plan that finds too few units
//! available refuses at once, naming the line: nothing was written.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::try_join_all;
use stockyard_domain::ids::{LocationId, VariantId, VendorId};
use stockyard_domain::stock::{Actor, Movement, MovementReason, Shortage, StockError, StockItem};

use crate::table::{Expr, from_item};
use crate::tx::Tx;
use crate::{StoreError, Table};

/// The most stock items one reservation holds: each is two writes (the item and its movement),
/// and a transaction holds at most 100, which leaves room for the order's own records.
pub const MAX_ITEMS: usize = 30;

/// How long a reservation goes on planning again after lost races, and at most how long in all
/// (then 503, to be retried), as for single changes of stock.
const RACE_BUDGET: Duration = Duration::from_secs(6);
const RACE_LIMIT: Duration = Duration::from_secs(8);
const RACE_TRIES: u32 = 6;

/// A stock item: vendor, variant, location.
pub type ItemId = (VendorId, VariantId, LocationId);

/// Units of one stock item to hold (or give back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub item: ItemId,
    pub quantity: u32,
}

/// Why a reservation changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// The line at `index` (of the holds given) asks for more than the item has available (or,
    /// giving back, more than it holds reserved). Several holds of one item count together.
    #[error("line {index}: {requested} units asked for, {available} available")]
    Short { index: usize, requested: u32, available: u32 },
    /// More stock items than one transaction can hold ([`MAX_ITEMS`]).
    #[error("a reservation holds at most {MAX_ITEMS} stock items")]
    TooManyItems,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reserves every hold, and writes what `with` adds to the same transaction (built on each try,
/// so it may depend on nothing that a try changes). `reference` names the order in the ledger.
pub async fn reserve<T>(
    table: &Table,
    holds: &[Hold],
    reference: &str,
    actor: &Actor,
    today: NaiveDate,
    with: impl FnMut(&mut Tx) -> Result<T, StoreError>,
) -> Result<T, ReserveError> {
    let reserve = |item: &mut StockItem, quantity, now| item.reserve(quantity, today, now);
    run(table, holds, (reference, actor, MovementReason::Reserved), with, reserve).await
}

/// Gives back every hold (an order expired unpaid, or was cancelled), with what `with` adds.
pub async fn release<T>(
    table: &Table,
    holds: &[Hold],
    reference: &str,
    actor: &Actor,
    with: impl FnMut(&mut Tx) -> Result<T, StoreError>,
) -> Result<T, ReserveError> {
    let release = |item: &mut StockItem, quantity, now| item.release(quantity, now);
    run(table, holds, (reference, actor, MovementReason::ReservationReleased), with, release).await
}

/// The holds per stock item, in the order first named, each with the index of its first line.
fn merged(holds: &[Hold]) -> Vec<(ItemId, u32, usize)> {
    let mut order: Vec<(ItemId, u32, usize)> = Vec::new();
    let mut at: BTreeMap<ItemId, usize> = BTreeMap::new();
    for (index, hold) in holds.iter().enumerate() {
        match at.get(&hold.item) {
            Some(&i) => order[i].1 += hold.quantity,
            None => {
                at.insert(hold.item, order.len());
                order.push((hold.item, hold.quantity, index));
            }
        }
    }
    order
}

fn step(i: usize) -> String {
    format!("stock#{i}")
}

/// The ledger's side of a reservation: its reference, who made it, and which movement it writes.
type Entry<'a> = (&'a str, &'a Actor, MovementReason);

async fn run<T>(
    table: &Table,
    holds: &[Hold],
    (reference, actor, reason): Entry<'_>,
    mut with: impl FnMut(&mut Tx) -> Result<T, StoreError>,
    change: impl Fn(&mut StockItem, u32, DateTime<Utc>) -> Result<(), StockError>,
) -> Result<T, ReserveError> {
    let items = merged(holds);
    if items.len() > MAX_ITEMS {
        return Err(ReserveError::TooManyItems);
    }
    let started = Instant::now();
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(200))
        .with_jitter()
        .without_max_times()
        .build();
    let read_all = || try_join_all(items.iter().map(|(id, _, _)| table.get::<StockItem>(id)));
    let mut seen: Vec<Option<StockItem>> = read_all().await?;
    let mut tries = 0u32;
    loop {
        tries += 1;
        let now = Utc::now();
        let mut tx = table.tx();
        for (i, ((id, quantity, index), before)) in items.iter().zip(&seen).enumerate() {
            let short = |available| ReserveError::Short { index: *index, requested: *quantity, available };
            let Some(before) = before else { return Err(short(0)) };
            let mut after = before.clone();
            match change(&mut after, *quantity, now) {
                Ok(()) => {}
                Err(StockError::Short(Shortage::Insufficient { available, .. })) => return Err(short(available)),
                Err(other) => return Err(StoreError::Unavailable(other.to_string()).into()),
            }
            let signed = i64::from(*quantity);
            let movement = Movement {
                vendor_id: after.vendor_id,
                variant_id: after.variant_id,
                location_id: after.location_id,
                sku: after.sku.clone(),
                version: after.version,
                reason,
                quantity: 0,
                on_hand_after: after.on_hand,
                reserved_change: if reason == MovementReason::Reserved { signed } else { -signed },
                batches: Vec::new(),
                reference: Some(reference.to_string()),
                note: None,
                actor: actor.clone(),
                at: now,
            };
            let condition = Expr::new("version = :read").val(":read", &before.version);
            let update = crate::stock::set_all_but_incoming(&after, 0)?.when(condition).returning_item_on_failure();
            tx.update::<StockItem>(step(i), id, update)?;
            tx.put(format!("movement#{i}"), &movement, Some(Expr::not_exists()))?;
        }
        let out = with(&mut tx)?;
        let steps: Vec<String> = tx.step_names().into_iter().map(str::to_owned).collect();
        let (error, returned) = match table.commit_once(tx).await {
            Ok(()) => {
                if tries > 1 {
                    tracing::info!(
                        lost_races = tries - 1,
                        items = items.len(),
                        "reservation committed after lost races"
                    );
                }
                return Ok(out);
            }
            Err(failed) => failed,
        };
        let raced = matches!(&error, StoreError::Conflict { step } if step.starts_with("stock#") || step.starts_with("movement#"))
            || matches!(error, StoreError::Throttled(_));
        if !raced {
            return Err(error.into());
        }
        let spent = started.elapsed();
        if spent > RACE_LIMIT || (spent > RACE_BUDGET && tries >= RACE_TRIES) {
            return Err(StoreError::Throttled("the stock items are changing too fast; try again".into()).into());
        }
        // Every item whose version had moved came back as it is now: plan on those at once.
        let mut fresh = false;
        for (i, slot) in seen.iter_mut().enumerate() {
            let position = steps.iter().position(|s| *s == step(i));
            if let Some(item) = position.and_then(|p| returned.get(p).cloned().flatten()) {
                *slot = Some(from_item::<StockItem>(item)?);
                fresh = true;
            }
        }
        if !fresh {
            tokio::time::sleep(pauses.next().unwrap_or(Duration::from_millis(200))).await;
            seen = read_all().await?;
        }
    }
}
