//! Fulfilment: what waits to be picked at each location, and shipments.
//!
//! When a group is paid, each of its vendor orders is put on the pick queue of every location its
//! lines were allocated to (`PICK#<vendor>#<location>`, sorted by promised ship date), in the
//! payment's own transaction ([`crate::orders`]): a paid order is never missing from a pick list.
//! An order leaves a queue when it has shipped everything it holds there (in the shipment's
//! transaction) or stops waiting to ship (refunded, cancelled: in that move's transaction). The
//! queue is still checked against each order on every read, so a list never shows an order that
//! no longer waits there; reading it writes nothing.
//!
//! A shipment is one transaction: the units leave on hand and the reservation they were held
//! under ([`crate::reservations::ship`], with their ledger movements), the group's holds count
//! them out, the vendor order counts them shipped and moves to `partially_shipped` or `shipped`
//! (under the versions read), the shipment is written, and the location's queue entry goes once
//! nothing is left to ship from there. A lost race on the order or its group reads again.

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use stockyard_domain::carrier::CarrierEvent;
use stockyard_domain::fulfilment::{self, PackedLine, PickLine, PickedBatch, ShipError, Shipment, ShipmentLine};
use stockyard_domain::ids::{LocationId, OrderGroupId, OrderId, ShipmentId, VendorId};
use stockyard_domain::order::{self, OrderGroup, OrderStatus, Outcome, TimelineEntry, VendorOrder};
use stockyard_domain::stock::{Actor, StockItem};

use crate::entity::Entity;
use crate::orders::{ORDER_GROUP, VENDOR_ORDER, reference};
use crate::reservations::{self, Hold, ReserveError};
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

/// Tries of a shipment (or a tracking update) that lost a race on its order or group.
const SHIP_TRIES: u32 = 5;
/// The transaction step of a tracking number's claim.
const TRACKING_NUMBER: &str = "tracking_number";
/// The transaction step of a shipment's tracking update.
const SHIPMENT: &str = "shipment";

/// A vendor order waiting to be picked at one location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwaitingPick {
    pub vendor_id: VendorId,
    pub location_id: LocationId,
    pub group_id: OrderGroupId,
    pub order_id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_ship_by: Option<NaiveDate>,
}

impl Entity for AwaitingPick {
    type Id = (VendorId, LocationId, Option<NaiveDate>, OrderId);
    const NAME: &'static str = "pick queue entry";
    fn key((vendor, location, by, order): &Self::Id) -> keys::Key {
        keys::awaiting_pick(*vendor, *location, *by, *order)
    }
    fn key_of(&self) -> keys::Key {
        keys::awaiting_pick(self.vendor_id, self.location_id, self.promised_ship_by, self.order_id)
    }
}

impl Entity for Shipment {
    type Id = (OrderGroupId, VendorId, ShipmentId);
    const NAME: &'static str = "shipment";
    fn key((group, vendor, id): &Self::Id) -> keys::Key {
        keys::shipment(*group, *vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::shipment(self.group_id, self.vendor_id, self.id)
    }
}

/// Which shipment a tracking number belongs to: a carrier's event names the parcel by it alone.
/// One number, one shipment (written with the shipment, `attribute_not_exists`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingNumber {
    pub tracking_number: String,
    pub group_id: OrderGroupId,
    pub vendor_id: VendorId,
    pub shipment_id: ShipmentId,
}

impl Entity for TrackingNumber {
    type Id = String;
    const NAME: &'static str = "tracking number";
    fn key(number: &Self::Id) -> keys::Key {
        keys::tracking_number(number)
    }
    fn key_of(&self) -> keys::Key {
        keys::tracking_number(&self.tracking_number)
    }
}

/// Puts every vendor order of a group just paid on the pick queues of the locations it ships from
/// (part of the payment's transaction).
pub(crate) fn queue_for_picking(tx: &mut Tx, orders: &[VendorOrder]) -> Result<(), StoreError> {
    for order in orders {
        for location in fulfilment::open_locations(order) {
            let entry = AwaitingPick {
                vendor_id: order.vendor_id,
                location_id: location,
                group_id: order.group_id,
                order_id: order.id,
                promised_ship_by: order.promised_ship_by,
            };
            tx.put("awaiting_pick", &entry, None)?;
        }
    }
    Ok(())
}

/// Takes the vendor orders of a group that stops waiting to ship (refunded, cancelled) off the pick
/// queues they were on (part of that move's transaction).
pub(crate) fn unqueue(tx: &mut Tx, orders: &[VendorOrder]) -> Result<(), StoreError> {
    for order in orders.iter().filter(|o| fulfilment::awaits_shipping(o.status)) {
        for location in fulfilment::open_locations(order) {
            let id = (order.vendor_id, location, order.promised_ship_by, order.id);
            tx.delete::<AwaitingPick>("awaiting_pick", &id, None)?;
        }
    }
    Ok(())
}

/// One page of a location's pick list: the orders read from its queue (earliest promised ship
/// date first) that still wait there, gathered per variant with the batches to take.
#[derive(Debug, Clone, PartialEq)]
pub struct PickPage {
    pub lines: Vec<PickLine>,
    /// The orders this page covers.
    pub orders: usize,
    pub next_cursor: Option<String>,
}

/// The pick list of `location` over the next `page.limit` orders of its queue.
pub async fn pick_list(
    table: &Table,
    vendor: VendorId,
    location: LocationId,
    page: &PageRequest,
    today: NaiveDate,
) -> Result<PickPage, StoreError> {
    let queued: Page<AwaitingPick> = table.query(&keys::awaiting_picks(vendor, location), page).await?;
    let orders = try_join_all(queued.items.iter().map(|e| async move {
        let id = (e.group_id, e.vendor_id);
        table.get::<VendorOrder>(&id).await
    }))
    .await?;
    let mut waiting = Vec::new();
    for (entry, order) in queued.items.iter().zip(orders) {
        match order {
            Some(order)
                if fulfilment::awaits_shipping(order.status)
                    && fulfilment::open_locations(&order).contains(&location) =>
            {
                waiting.push(order)
            }
            // No longer waits here: its own move takes the entry away.
            _ => tracing::warn!(order = %entry.order_id, location = %location, "stale pick queue entry skipped"),
        }
    }
    let mut variants: Vec<_> = waiting.iter().flat_map(|o| o.lines.iter().map(|l| l.variant_id)).collect();
    variants.sort_unstable();
    variants.dedup();
    let items = try_join_all(variants.iter().map(|&v| async move {
        let id = (vendor, v, location);
        table.get::<StockItem>(&id).await
    }))
    .await?;
    let items: Vec<StockItem> = items.into_iter().flatten().collect();
    let lines = fulfilment::pick_list(location, &waiting, &items, today);
    Ok(PickPage { lines, orders: waiting.len(), next_cursor: queued.next_cursor })
}

/// What a parcel says beside its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parcel {
    pub carrier: String,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub label_reference: Option<String>,
}

/// Why a shipment changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ShipFailure {
    /// No such vendor order.
    #[error("no such order")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] ShipError),
    /// Line `index` asks for units on hand cannot supply now (perishable: sellable batches).
    #[error("line {index}: {requested} units asked for, {available} can leave")]
    Short { index: usize, requested: u32, available: u32 },
    /// Another shipment has this tracking number.
    #[error("the tracking number belongs to another shipment")]
    TrackingTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReserveError> for ShipFailure {
    fn from(e: ReserveError) -> Self {
        match e {
            ReserveError::Short { index, requested, available } => ShipFailure::Short { index, requested, available },
            ReserveError::TooManyItems => ShipFailure::Refused(ShipError::Field(stockyard_domain::FieldError::new(
                "lines",
                "these lines were reserved from too many stock records for one shipment; ship fewer lines at once",
            ))),
            ReserveError::Store(e) => ShipFailure::Store(e),
        }
    }
}

/// Ships a parcel of `lines` of the vendor order `(group, vendor)` from `location` (see the
/// module's documentation), with what `with` adds to the transaction (the idempotency record of
/// the response, given the shipment and the order as written). Returns both.
#[allow(clippy::too_many_arguments)]
pub async fn ship(
    table: &Table,
    (group_id, vendor): (OrderGroupId, VendorId),
    location: LocationId,
    lines: &[PackedLine],
    parcel: &Parcel,
    actor: &Actor,
    today: NaiveDate,
    mut with: impl FnMut(&mut Tx, &Shipment, &VendorOrder) -> Result<(), StoreError>,
) -> Result<(Shipment, VendorOrder), ShipFailure> {
    let id = ShipmentId::generate();
    for _ in 0..SHIP_TRIES {
        let order_id = (group_id, vendor);
        let (order, group, siblings) = tokio::try_join!(
            table.get::<VendorOrder>(&order_id),
            table.get::<OrderGroup>(&group_id),
            crate::orders::orders_of(table, group_id)
        )?;
        let (Some(order), Some(group)) = (order, group) else { return Err(ShipFailure::NotFound) };
        let mut after = order.clone();
        let event = fulfilment::ship(&mut after, location, lines)?;
        let mut holds = group.holds.clone();
        let mut taking = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let taken = fulfilment::take_holds(&mut holds, (vendor, line.variant_id, location), line.quantity)
                .map_err(|held| ShipError::NotHeld { index, held })?;
            taking.extend(taken.into_iter().map(|h| Hold {
                item: (vendor, h.variant_id, location),
                shard: h.shard,
                quantity: h.quantity,
            }));
        }
        let now = Utc::now();
        if let Outcome::Moved { to, .. } = order::apply(order.status, event) {
            after.status = to;
        }
        let note = shipped_note(lines.iter().map(|l| l.quantity).sum(), parcel);
        after.timeline.push(TimelineEntry { at: now, status: after.status, note: Some(note) });
        after.version = order.version + 1;
        after.updated_at = now;
        let done_here = !fulfilment::open_locations(&after).contains(&location);
        let group_to = group_status_after(&group, &siblings, &after);
        let reference = reference(group_id);
        let mut written = None;
        let shipped = reservations::ship(table, &taking, &reference, actor, today, |tx, placed| {
            let shipment = shipment_of(&after, location, lines, parcel, placed, (id, actor, now));
            crate::orders::write_vendor_order(tx, &order, &after)?;
            let change = Change::new(
                Expr::new("SET holds = :holds, #status = :status, version = :next, updated_at = :now")
                    .name("#status", "status")
                    .val(":holds", &holds)
                    .val(":status", &group_to)
                    .val(":next", &(group.version + 1))
                    .val(":now", &now),
            )
            .when(Expr::new("version = :read").val(":read", &group.version));
            tx.update::<OrderGroup>(ORDER_GROUP, &group_id, change)?;
            tx.put(SHIPMENT, &shipment, Some(Expr::not_exists()))?;
            if let Some(number) = &shipment.tracking_number {
                let entry = TrackingNumber {
                    tracking_number: number.clone(),
                    group_id,
                    vendor_id: vendor,
                    shipment_id: shipment.id,
                };
                tx.put(TRACKING_NUMBER, &entry, Some(Expr::not_exists()))?;
            }
            if done_here {
                tx.delete::<AwaitingPick>(
                    "awaiting_pick",
                    &(vendor, location, order.promised_ship_by, order.id),
                    None,
                )?;
            }
            with(tx, &shipment, &after)?;
            written = Some(shipment);
            Ok(())
        })
        .await;
        match shipped {
            Ok(()) => return Ok((written.expect("written with the transaction"), after)),
            Err(ReserveError::Store(e)) if e.failed_at(ORDER_GROUP) || e.failed_at(VENDOR_ORDER) => continue,
            Err(ReserveError::Store(e)) if e.failed_at(TRACKING_NUMBER) => return Err(ShipFailure::TrackingTaken),
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled("the order is changing too fast; try again".into()).into())
}

/// The group's status once `changed` (one of its vendor orders) is written: what its orders'
/// statuses make it while it is being fulfilled, otherwise unchanged.
fn group_status_after(group: &OrderGroup, orders: &[VendorOrder], changed: &VendorOrder) -> OrderStatus {
    let statuses: Vec<OrderStatus> =
        orders.iter().map(|o| if o.vendor_id == changed.vendor_id { changed.status } else { o.status }).collect();
    fulfilment::group_status(group.status, &statuses).unwrap_or(group.status)
}

/// The order's timeline note of a shipment: `"shipped 3 units (DHL, tracking 1Z999)"`.
fn shipped_note(units: u32, parcel: &Parcel) -> String {
    let mut how = parcel.carrier.clone();
    if let Some(tracking) = &parcel.tracking_number {
        how.push_str(&format!(", tracking {tracking}"));
    }
    format!("shipped {units} unit{} ({how})", if units == 1 { "" } else { "s" })
}

fn shipment_of(
    order: &VendorOrder,
    location: LocationId,
    lines: &[PackedLine],
    parcel: &Parcel,
    placed: &reservations::Placed,
    (id, actor, now): (ShipmentId, &Actor, DateTime<Utc>),
) -> Shipment {
    let lines = lines
        .iter()
        .map(|packed| {
            let line = order.lines.iter().find(|l| l.variant_id == packed.variant_id);
            let batches = placed
                .batches
                .iter()
                .filter(|(item, _)| item.1 == packed.variant_id)
                .flat_map(|(_, taken)| taken.iter().map(PickedBatch::taken))
                .collect();
            ShipmentLine {
                variant_id: packed.variant_id,
                sku: line.map(|l| l.sku.clone()).unwrap_or_default(),
                title: line.map(|l| l.title.clone()).unwrap_or_default(),
                quantity: packed.quantity,
                batches,
            }
        })
        .collect();
    Shipment {
        id,
        order_id: order.id,
        group_id: order.group_id,
        vendor_id: order.vendor_id,
        location_id: location,
        lines,
        carrier: parcel.carrier.clone(),
        service: parcel.service.clone(),
        tracking_number: parcel.tracking_number.clone(),
        label_reference: parcel.label_reference.clone(),
        status: fulfilment::ShipmentStatus::Packed,
        tracking: Vec::new(),
        estimated_delivery: None,
        delivered_at: None,
        created_by: actor.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// A vendor order's shipments, oldest first.
pub async fn shipments_of(table: &Table, group: OrderGroupId, vendor: VendorId) -> Result<Vec<Shipment>, StoreError> {
    table.query_all(&keys::shipments_of(group, vendor)).await
}

/// Every parcel of a group's vendor orders, oldest first per vendor.
pub async fn shipments_of_group(table: &Table, group: OrderGroupId) -> Result<Vec<Shipment>, StoreError> {
    table.query_all(&keys::group_shipments(group)).await
}

/// What a carrier's event came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Tracked {
    /// No shipment has this tracking number.
    UnknownParcel,
    /// The shipment holds this event already.
    AlreadyRecorded,
    /// Recorded; the shipment's status is now `status`, and `order` is the vendor order's status
    /// when the event moved it (delivered with its last parcel).
    Recorded { shipment: Box<Shipment>, order: Option<OrderStatus> },
}

/// Records a carrier's tracking event on the shipment its tracking number names (see
/// [`fulfilment::track`]: repeats change nothing, events arriving out of order take their place).
/// When the event delivers an order's last parcel, the vendor order moves to `delivered` and the
/// group follows its orders, in the same transaction; a lost race on the shipment, the order or
/// the group reads again.
pub async fn track(table: &Table, event: &CarrierEvent) -> Result<Tracked, StoreError> {
    let Some(entry) = table.get::<TrackingNumber>(&event.tracking_number).await? else {
        return Ok(Tracked::UnknownParcel);
    };
    let (group_id, vendor) = (entry.group_id, entry.vendor_id);
    for _ in 0..SHIP_TRIES {
        let shipments = shipments_of(table, group_id, vendor).await?;
        let Some(before) = shipments.iter().find(|s| s.id == entry.shipment_id).cloned() else {
            return Ok(Tracked::UnknownParcel);
        };
        let mut after = before.clone();
        if !fulfilment::track(&mut after, event) {
            return Ok(Tracked::AlreadyRecorded);
        }
        let now = Utc::now();
        after.version = before.version + 1;
        after.updated_at = now;
        let mut tx = table.tx();
        let set = Expr::new(
            "SET #status = :status, tracking = :tracking, estimated_delivery = :eta, delivered_at = :delivered, \
             version = :next, updated_at = :now",
        )
        .name("#status", "status")
        .val(":status", &after.status)
        .val(":tracking", &after.tracking)
        .val(":eta", &after.estimated_delivery)
        .val(":delivered", &after.delivered_at)
        .val(":next", &after.version)
        .val(":now", &now);
        let read = Expr::new("attribute_not_exists(version) OR version = :read").val(":read", &before.version);
        tx.update::<Shipment>(SHIPMENT, &(group_id, vendor, after.id), Change::new(set).when(read))?;
        let mut moved = None;
        // Only a delivery can move the order: other events read nothing more.
        let (order, group, siblings) = if after.status == fulfilment::ShipmentStatus::Delivered {
            let order_id = (group_id, vendor);
            tokio::try_join!(
                table.get::<VendorOrder>(&order_id),
                table.get::<OrderGroup>(&group_id),
                crate::orders::orders_of(table, group_id)
            )?
        } else {
            (None, None, Vec::new())
        };
        if let (Some(order), Some(group)) = (order, group) {
            let parcels: Vec<Shipment> =
                shipments.into_iter().map(|s| if s.id == after.id { after.clone() } else { s }).collect();
            if fulfilment::order_delivered(&order, &parcels) {
                let mut delivered = order.clone();
                delivered.status = OrderStatus::Delivered;
                delivered.timeline.push(TimelineEntry {
                    at: now,
                    status: OrderStatus::Delivered,
                    note: Some(format!("delivered by {}", after.carrier)),
                });
                delivered.version = order.version + 1;
                delivered.updated_at = now;
                crate::orders::write_vendor_order(&mut tx, &order, &delivered)?;
                // Written under its version even when its status stays: a sibling delivered at
                // the same moment must read this order's move, not race past it.
                let to = group_status_after(&group, &siblings, &delivered);
                let set = Expr::new("SET #status = :status, version = :next, updated_at = :now")
                    .name("#status", "status")
                    .val(":status", &to)
                    .val(":next", &(group.version + 1))
                    .val(":now", &now);
                let read = Expr::new("version = :read").val(":read", &group.version);
                tx.update::<OrderGroup>(ORDER_GROUP, &group_id, Change::new(set).when(read))?;
                moved = Some(OrderStatus::Delivered);
            }
        }
        match table.commit(tx).await {
            Ok(()) => return Ok(Tracked::Recorded { shipment: Box::new(after), order: moved }),
            Err(e) if e.failed_at(SHIPMENT) || e.failed_at(ORDER_GROUP) || e.failed_at(VENDOR_ORDER) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the parcel is changing too fast; try again".into()))
}
