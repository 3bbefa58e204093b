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
use stockyard_domain::stock::{
    Actor, BatchQuantity, MovementReason, Shortage, StockError, StockItem, StockShard, availability, spread, take_fefo,
};

use crate::stock::movement_of;
use crate::table::{Expr, from_item};
use crate::tx::Tx;
use crate::{StoreError, Table};

/// The most stock items one reservation holds: each is two writes (the item and its movement),
/// and a transaction holds at most 100, which leaves room for the order's own records. A hold
/// served from several shards of one item counts each record it writes.
pub const MAX_ITEMS: usize = 30;

/// How long a reservation goes on planning again after lost races, and at most how long in all
/// (then 503, to be retried), as for single changes of stock.
const RACE_BUDGET: Duration = Duration::from_secs(6);
const RACE_LIMIT: Duration = Duration::from_secs(8);
const RACE_TRIES: u32 = 6;

/// A stock item: vendor, variant, location.
pub type ItemId = (VendorId, VariantId, LocationId);

/// Units of one stock item to hold (or give back): from shard `shard` of it, or from the item
/// itself. A reservation is asked with `shard: None` and places the hold where the units are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub item: ItemId,
    pub shard: Option<u8>,
    pub quantity: u32,
}

impl Hold {
    /// `quantity` units of `item`, wherever they are.
    pub fn of(item: ItemId, quantity: u32) -> Self {
        Self { item, shard: None, quantity }
    }
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

/// Reserves every hold, and writes what `with` adds to the same transaction (built on each try
/// with the holds as placed: each names the shard its units come from, one hold of a sharded
/// item may become several). `reference` names the order in the ledger.
pub async fn reserve<T>(
    table: &Table,
    holds: &[Hold],
    reference: &str,
    actor: &Actor,
    today: NaiveDate,
    mut with: impl FnMut(&mut Tx, &[Hold]) -> Result<T, StoreError>,
) -> Result<T, ReserveError> {
    let entry = (reference, actor, MovementReason::Reserved);
    run(table, holds, entry, Mode::Reserve(today), |tx, placed| with(tx, &placed.holds)).await
}

/// Gives back every hold (an order expired unpaid, or was cancelled) where it was placed, with
/// what `with` adds.
pub async fn release<T>(
    table: &Table,
    holds: &[Hold],
    reference: &str,
    actor: &Actor,
    mut with: impl FnMut(&mut Tx) -> Result<T, StoreError>,
) -> Result<T, ReserveError> {
    let entry = (reference, actor, MovementReason::ReservationReleased);
    run(table, holds, entry, Mode::Release, |tx, _| with(tx)).await
}

/// Ships every hold where it was placed: the units leave on hand (perishable items: out of their
/// batches, first-expiring first, never an expired one) and the reservation they were held under
/// (a shard's units leave its allotment too), with what `with` adds; `with` sees the batches each
/// stock item's units came out of. A hold the item (or shard) no longer has reserved, or units
/// on hand cannot supply, is `Short`.
pub async fn ship<T>(
    table: &Table,
    holds: &[Hold],
    reference: &str,
    actor: &Actor,
    today: NaiveDate,
    with: impl FnMut(&mut Tx, &Placed) -> Result<T, StoreError>,
) -> Result<T, ReserveError> {
    run(table, holds, (reference, actor, MovementReason::Shipped), Mode::Ship(today), with).await
}

/// What one try placed: the holds where their units are (a reservation of a sharded item names
/// the shards), and the batches each stock item's units left from (shipping).
#[derive(Debug, Clone, Default)]
pub struct Placed {
    pub holds: Vec<Hold>,
    pub batches: Vec<(ItemId, Vec<BatchQuantity>)>,
}

/// What a run does to the holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Promise available units (as of the day).
    Reserve(NaiveDate),
    /// Give reserved units back.
    Release,
    /// Send reserved units away (batches sellable on the day).
    Ship(NaiveDate),
}

impl Mode {
    fn reserving(self) -> bool {
        matches!(self, Mode::Reserve(_))
    }

    /// Whether units of shard `shard` (of an item split into `active` shards) leave its
    /// allotment: given back to the item when the shard is retired, or sent away.
    fn leaves_allotment(self, shard: u8, active: u8) -> bool {
        match self {
            Mode::Reserve(_) => false,
            Mode::Release => shard >= active,
            Mode::Ship(_) => true,
        }
    }
}

/// One merged hold: the item, the shard named (releases), the units, the index of its first line.
type Merged = (ItemId, Option<u8>, u32, usize);

/// The holds per stock item and shard, in the order first named, each with the index of its
/// first line.
fn merged(holds: &[Hold]) -> Vec<Merged> {
    let mut order: Vec<Merged> = Vec::new();
    let mut at: BTreeMap<(ItemId, Option<u8>), usize> = BTreeMap::new();
    for (index, hold) in holds.iter().enumerate() {
        match at.get(&(hold.item, hold.shard)) {
            Some(&i) => order[i].2 += hold.quantity,
            None => {
                at.insert((hold.item, hold.shard), order.len());
                order.push((hold.item, hold.shard, hold.quantity, index));
            }
        }
    }
    order
}

fn step(i: usize) -> String {
    format!("stock#{i}")
}

fn shard_step(i: usize, shard: u8) -> String {
    format!("shard#{i}#{shard}")
}

/// The ledger's side of a reservation: its reference, who made it, and which movement it writes.
type Entry<'a> = (&'a str, &'a Actor, MovementReason);

/// What a reservation has read of one stock item: the item, and each shard it looked at (`None`:
/// never written).
#[derive(Debug, Clone, Default)]
struct Seen {
    item: Option<StockItem>,
    shards: BTreeMap<u8, Option<StockShard>>,
}

impl Seen {
    /// The shards a plan needs: a reservation every active shard, a release the ones it names.
    fn wanted(&self, named: impl Iterator<Item = u8>, reserving: bool) -> Vec<u8> {
        let mut wanted: Vec<u8> =
            if reserving { (0..self.item.as_ref().map_or(0, |i| i.shards)).collect() } else { named.collect() };
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }
}

/// Reads every item, then the shards each plan needs.
async fn read(table: &Table, ids: &[ItemId], merged: &[Merged], reserving: bool) -> Result<Vec<Seen>, StoreError> {
    let items = try_join_all(ids.iter().map(|id| table.get::<StockItem>(id))).await?;
    let mut seen: Vec<Seen> = items.into_iter().map(|item| Seen { item, shards: BTreeMap::new() }).collect();
    let mut wanted: Vec<(usize, u8)> = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        let named = merged.iter().filter(|m| m.0 == ids[i]).filter_map(|m| m.1);
        wanted.extend(s.wanted(named, reserving).into_iter().map(|n| (i, n)));
    }
    let shards = try_join_all(wanted.iter().map(|&(i, n)| {
        let (vendor, variant, location) = ids[i];
        async move { table.get::<StockShard>(&(vendor, variant, location, n)).await }
    }))
    .await?;
    for ((i, n), shard) in wanted.into_iter().zip(shards) {
        seen[i].shards.insert(n, shard);
    }
    Ok(seen)
}

/// One try's changes to one item: the units its own `reserved` moves by, those of them that
/// leave its allotment (a retired shard's units coming back, or a shard's units shipped), and
/// those that leave on hand (shipped).
#[derive(Default)]
struct ItemChange {
    reserved: u32,
    unallotted: u32,
    shipped: u32,
}

/// Where one try stops short of a transaction.
enum Planned {
    /// Every change is in the transaction; the holds as placed.
    Ready(Placed),
    /// A shard the plan needs was not read (the item was split again meanwhile): read again.
    Unread,
}

async fn run<T>(
    table: &Table,
    holds: &[Hold],
    (reference, actor, reason): Entry<'_>,
    mode: Mode,
    mut with: impl FnMut(&mut Tx, &Placed) -> Result<T, StoreError>,
) -> Result<T, ReserveError> {
    let items = merged(holds);
    // Each stock item once, in the order first named (a release may name several of its shards).
    let mut ids: Vec<ItemId> = Vec::new();
    for (id, ..) in &items {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.len() > MAX_ITEMS {
        return Err(ReserveError::TooManyItems);
    }
    let started = Instant::now();
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(200))
        .with_jitter()
        .without_max_times()
        .build();
    let mut seen = read(table, &ids, &items, mode.reserving()).await?;
    let mut tries = 0u32;
    loop {
        tries += 1;
        let now = Utc::now();
        let mut tx = table.tx();
        let placed = match plan(&mut tx, (&ids, &items, &seen), (reference, actor, reason), mode, now)? {
            Planned::Ready(placed) => placed,
            Planned::Unread => {
                seen = read(table, &ids, &items, mode.reserving()).await?;
                continue;
            }
        };
        let out = with(&mut tx, &placed)?;
        let steps: Vec<String> = tx.step_names().into_iter().map(str::to_owned).collect();
        let (error, returned) = match table.commit_once(tx).await {
            Ok(()) => {
                if tries > 1 {
                    tracing::info!(lost_races = tries - 1, items = ids.len(), "reservation committed after lost races");
                }
                return Ok(out);
            }
            Err(failed) => failed,
        };
        let raced = matches!(&error, StoreError::Conflict { step } if ["stock#", "movement#", "shard#", "shardmove#"].iter().any(|p| step.starts_with(p)))
            || matches!(error, StoreError::Throttled(_));
        if !raced {
            return Err(error.into());
        }
        let spent = started.elapsed();
        if spent > RACE_LIMIT || (spent > RACE_BUDGET && tries >= RACE_TRIES) {
            return Err(StoreError::Throttled("the stock items are changing too fast; try again".into()).into());
        }
        // Every record whose version had moved came back as it is now: plan on those at once.
        let mut fresh = false;
        let returned_at =
            |name: &str| steps.iter().position(|s| s == name).and_then(|p| returned.get(p).cloned().flatten());
        for (i, slot) in seen.iter_mut().enumerate() {
            if let Some(item) = returned_at(&step(i)) {
                slot.item = Some(from_item::<StockItem>(item)?);
                fresh = true;
            }
            let shards: Vec<u8> = slot.shards.keys().copied().collect();
            for n in shards {
                if let Some(shard) = returned_at(&shard_step(i, n)) {
                    slot.shards.insert(n, Some(from_item::<StockShard>(shard)?));
                    fresh = true;
                }
            }
        }
        if !fresh {
            tokio::time::sleep(pauses.next().unwrap_or(Duration::from_millis(200))).await;
            seen = read(table, &ids, &items, mode.reserving()).await?;
        }
    }
}

/// Plans one try on what was seen: every record's change and movement, into `tx`.
fn plan(
    tx: &mut Tx,
    (ids, items, seen): (&[ItemId], &[Merged], &[Seen]),
    (reference, actor, reason): Entry<'_>,
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<Planned, ReserveError> {
    let mut placed = Placed::default();
    let mut changes: Vec<ItemChange> = ids.iter().map(|_| ItemChange::default()).collect();
    let mut shard_after: BTreeMap<(usize, u8), StockShard> = BTreeMap::new();
    for &(id, shard, quantity, index) in items {
        let i = ids.iter().position(|x| *x == id).unwrap_or_default();
        let short = |available| ReserveError::Short { index, requested: quantity, available };
        let Some(item) = &seen[i].item else { return Err(short(0)) };
        let pieces = match mode {
            Mode::Reserve(today) => {
                let mut free = Vec::with_capacity(usize::from(item.shards));
                for n in 0..item.shards {
                    match seen[i].shards.get(&n) {
                        Some(shard) => free.push(shard.as_ref().map_or(0, StockShard::free)),
                        None => return Ok(Planned::Unread),
                    }
                }
                let own = availability(item, today).available;
                let start = if free.is_empty() { 0 } else { spreading(reference) % free.len() };
                match spread(own, &free, quantity, start) {
                    Some(pieces) => pieces,
                    None => return Err(short(own.saturating_add(free.iter().sum()))),
                }
            }
            Mode::Release | Mode::Ship(_) => vec![(shard, quantity)],
        };
        for (shard, units) in pieces {
            placed.holds.push(Hold { item: id, shard, quantity: units });
            if matches!(mode, Mode::Ship(_)) {
                changes[i].shipped += units;
            }
            let Some(n) = shard else {
                changes[i].reserved += units;
                continue;
            };
            let current = match shard_after.get(&(i, n)) {
                Some(after) => after.clone(),
                None => match seen[i].shards.get(&n) {
                    Some(Some(shard)) => shard.clone(),
                    Some(None) => return Err(short(0)),
                    None => return Ok(Planned::Unread),
                },
            };
            let mut after = current;
            // Units leave a shard's allotment when they go back to a retired shard's item, or
            // leave the location.
            let leaves = mode.leaves_allotment(n, item.shards);
            let changed = match mode {
                Mode::Reserve(_) => after.reserve(units, now),
                Mode::Release | Mode::Ship(_) => after.release(units, leaves, now),
            };
            if let Err(error) = changed {
                return Err(refusal(error, short)?);
            }
            if leaves {
                changes[i].reserved += units;
                changes[i].unallotted += units;
            }
            shard_after.insert((i, n), after);
        }
    }
    let records = changes.iter().filter(|c| c.reserved > 0).count() + shard_after.len();
    if records > MAX_ITEMS {
        return Err(ReserveError::TooManyItems);
    }
    let signed = |units: u32| if reason == MovementReason::Reserved { i64::from(units) } else { -i64::from(units) };
    for (i, change) in changes.iter().enumerate() {
        if change.reserved == 0 {
            continue;
        }
        let Some(before) = &seen[i].item else { continue };
        let mut after = before.clone();
        let index = items.iter().find(|m| m.0 == ids[i]).map_or(0, |m| m.3);
        let short = |available| ReserveError::Short { index, requested: change.reserved, available };
        let changed = match mode {
            Mode::Reserve(today) => after.reserve(change.reserved, today, now),
            Mode::Release => after.release(change.reserved, now),
            Mode::Ship(_) => after.release(change.reserved, now),
        };
        if let Err(error) = changed {
            return Err(refusal(error, short)?);
        }
        after.allotted -= change.unallotted.min(after.allotted);
        let mut batches = Vec::new();
        if let Mode::Ship(today) = mode {
            let shipped = change.shipped;
            let short = |available| ReserveError::Short { index, requested: shipped, available };
            if after.perishable {
                batches = match take_fefo(&after, shipped, after.on_hand, today, false) {
                    Ok(taken) => taken,
                    Err(shortage) => return Err(refusal(shortage.into(), short)?),
                };
            }
            if let Err(error) = after.apply(-i64::from(shipped), &batches, now) {
                return Err(refusal(error, short)?);
            }
            // One change, one version: the release and the units leaving are one movement.
            after.version = before.version + 1;
            placed.batches.push((ids[i], batches.clone()));
        }
        let mut movement = movement_of(
            &after,
            None,
            (after.version, after.on_hand, -i64::from(change.shipped), signed(change.reserved)),
            (reference, actor, reason),
            None,
            now,
        );
        movement.batches = batches;
        let condition = Expr::new("version = :read").val(":read", &before.version);
        let update = crate::stock::set_all_but_incoming(&after, 0)?.when(condition).returning_item_on_failure();
        tx.update::<StockItem>(step(i), &ids[i], update)?;
        tx.put(format!("movement#{i}"), &movement, Some(Expr::not_exists()))?;
    }
    for ((i, n), after) in &shard_after {
        let Some(item) = &seen[*i].item else { continue };
        let before_version = after.version - 1;
        let units = placed.holds.iter().filter(|h| h.item == ids[*i] && h.shard == Some(*n)).map(|h| h.quantity).sum();
        let allotment_change = if mode.leaves_allotment(*n, item.shards) { -i64::from(units) } else { 0 };
        let numbers = (after.version, after.allotted, allotment_change, signed(units));
        let movement = movement_of(item, Some(*n), numbers, (reference, actor, reason), None, now);
        let condition = Expr::new("version = :read").val(":read", &before_version);
        tx.put_returning(shard_step(*i, *n), after, Some(condition))?;
        tx.put(format!("shardmove#{i}#{n}"), &movement, Some(Expr::not_exists()))?;
    }
    Ok(Planned::Ready(placed))
}

/// Where an order's look for a shard starts: a hash of its reference (FNV-1a), so that concurrent
/// checkouts of one hot item start at different shards and a retry of one starts where it did.
fn spreading(reference: &str) -> usize {
    let hash =
        reference.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash ^ (hash >> 32)) as usize
}

/// A change's refusal: a shortage names the line; anything else is the store's trouble.
fn refusal(error: StockError, short: impl Fn(u32) -> ReserveError) -> Result<ReserveError, ReserveError> {
    match error {
        StockError::Short(Shortage::Insufficient { available, .. }) => Ok(short(available)),
        other => Err(StoreError::Unavailable(other.to_string()).into()),
    }
}
