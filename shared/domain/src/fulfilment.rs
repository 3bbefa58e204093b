//! Picking, packing and shipping vendor orders.
//!
//! A paid vendor order waits to be picked at each location its lines were allocated to. The pick
//! list of a location gathers every waiting order's units per stock item (one walk picks them
//! all), in the location's walking order (by bin; items without one last), with the batches to
//! take first-expiring-first. Packing confirms what goes in one parcel from one location: each
//! line's units, no more than are still to ship there (partial shipments leave the rest open).
//! The shipment is what takes the units out of on hand, through the ledger, releasing the
//! reservation the checkout made; the order's status follows (partially shipped, shipped).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{LocationId, OrderGroupId, OrderId, ShipmentId, VariantId, VendorId};
use crate::order::{self, HeldStock, OrderEvent, OrderStatus, Outcome, VendorOrder};
use crate::stock::{Actor, BatchQuantity, BinLocation, StockItem, take_fefo};

/// The most lines one shipment packs: each line writes its stock item and movement (and the
/// shards its units were reserved from), beside the order, its group and the shipment, in one
/// transaction of at most 100 writes.
pub const MAX_SHIPMENT_LINES: usize = 20;

/// Units of one order line still to ship from one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Outstanding {
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub location_id: LocationId,
    pub quantity: u32,
}

/// What is still to ship of `order`, per line and location, in the order's line order.
pub fn outstanding(order: &VendorOrder) -> Vec<Outstanding> {
    order
        .lines
        .iter()
        .flat_map(|line| {
            line.allocations.iter().filter(|a| a.quantity > a.shipped).map(|a| Outstanding {
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                title: line.title.clone(),
                location_id: a.location_id,
                quantity: a.quantity - a.shipped,
            })
        })
        .collect()
}

/// The locations `order` still has units to ship from, each once.
pub fn open_locations(order: &VendorOrder) -> Vec<LocationId> {
    let mut found: Vec<LocationId> = Vec::new();
    for o in outstanding(order) {
        if !found.contains(&o.location_id) {
            found.push(o.location_id);
        }
    }
    found
}

/// Whether a vendor order at `status` waits to be picked and shipped.
pub fn awaits_shipping(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Paid | OrderStatus::Processing | OrderStatus::PartiallyShipped)
}

/// One line of a parcel: units of one of the order's variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackedLine {
    pub variant_id: VariantId,
    pub quantity: u32,
}

/// Why a parcel cannot be packed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipError {
    /// The order is not paid yet, or closed.
    #[error("an order that is {0} cannot be shipped")]
    NotShippable(OrderStatus),
    /// Something about the lines asked for (names the field).
    #[error("{0}")]
    Field(FieldError),
    /// The group holds fewer reserved units of an item than the order still has to ship from it
    /// (the stock was given back meanwhile).
    #[error("line {index}: only {held} reserved units are held for this order")]
    NotHeld { index: usize, held: u32 },
}

impl From<FieldError> for ShipError {
    fn from(e: FieldError) -> Self {
        ShipError::Field(e)
    }
}

/// Counts a parcel of `lines` from `location` as shipped on `order` and answers the move its
/// status makes: `AllShipped` when nothing is left to ship anywhere, else `PartShipped`.
/// Every line must name a variant the order still has units of at `location`, once, with 1 up to
/// that many units; nothing changes on an error.
pub fn ship(order: &mut VendorOrder, location: LocationId, lines: &[PackedLine]) -> Result<OrderEvent, ShipError> {
    if !awaits_shipping(order.status) {
        return Err(ShipError::NotShippable(order.status));
    }
    if lines.is_empty() {
        return Err(FieldError::new("lines", "must name at least one line").into());
    }
    if lines.len() > MAX_SHIPMENT_LINES {
        return Err(FieldError::new("lines", format!("a shipment packs at most {MAX_SHIPMENT_LINES} lines")).into());
    }
    let mut after = order.clone();
    for (index, packed) in lines.iter().enumerate() {
        if lines[..index].iter().any(|l| l.variant_id == packed.variant_id) {
            return Err(FieldError::new(format!("lines[{index}].variant_id"), "names a variant twice").into());
        }
        let allocation = after
            .lines
            .iter_mut()
            .filter(|l| l.variant_id == packed.variant_id)
            .flat_map(|l| l.allocations.iter_mut())
            .find(|a| a.location_id == location && a.quantity > a.shipped);
        let Some(allocation) = allocation else {
            return Err(FieldError::new(
                format!("lines[{index}].variant_id"),
                "has nothing left to ship from this location in this order",
            )
            .into());
        };
        let left = allocation.quantity - allocation.shipped;
        if packed.quantity == 0 || packed.quantity > left {
            return Err(FieldError::new(
                format!("lines[{index}].quantity"),
                format!("must be between 1 and {left} (still to ship from this location)"),
            )
            .into());
        }
        allocation.shipped += packed.quantity;
    }
    let event = if outstanding(&after).is_empty() { OrderEvent::AllShipped } else { OrderEvent::PartShipped };
    match order::apply(order.status, event) {
        Outcome::Moved { .. } | Outcome::AlreadyApplied => {}
        _ => return Err(ShipError::NotShippable(order.status)),
    }
    *order = after;
    Ok(event)
}

/// Takes `quantity` units of one stock item out of a group's holds (wherever they were placed: the
/// item or its shards), in the order held. Returns the holds taken; `holds` keeps what is left.
/// `Err(held)`: the group holds fewer units of the item.
pub fn take_holds(
    holds: &mut Vec<HeldStock>,
    (vendor, variant, location): (VendorId, VariantId, LocationId),
    quantity: u32,
) -> Result<Vec<HeldStock>, u32> {
    let of_item = |h: &HeldStock| h.vendor_id == vendor && h.variant_id == variant && h.location_id == location;
    let held: u32 = holds.iter().filter(|h| of_item(h)).map(|h| h.quantity).sum();
    if held < quantity {
        return Err(held);
    }
    let mut left = quantity;
    let mut taken = Vec::new();
    for hold in holds.iter_mut().filter(|h| of_item(h)) {
        if left == 0 {
            break;
        }
        let take = hold.quantity.min(left);
        left -= take;
        hold.quantity -= take;
        taken.push(HeldStock { quantity: take, ..hold.clone() });
    }
    holds.retain(|h| h.quantity > 0);
    Ok(taken)
}

/// Where a parcel is, as its carrier reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Packed and handed over; the carrier has not reported it yet.
    Packed,
    LabelCreated,
    InTransit,
    OutForDelivery,
    Delivered,
    FailedAttempt,
    ReturnedToSender,
}

/// One line of a shipment: the units that left, and the batches they came out of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentLine {
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// The batches the units left from, first-expiring first (perishable variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<PickedBatch>,
}

/// A parcel of one vendor order, from one location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub group_id: OrderGroupId,
    pub vendor_id: VendorId,
    pub location_id: LocationId,
    pub lines: Vec<ShipmentLine>,
    #[schema(example = "DHL")]
    pub carrier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Express")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "JD014600006281234567")]
    pub tracking_number: Option<String>,
    /// The carrier's reference of the printed label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_reference: Option<String>,
    pub status: ShipmentStatus,
    /// What the carrier reported, in the order it happened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking: Vec<TrackingEvent>,
    /// The carrier's latest estimate of the delivery day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<NaiveDate>,
    /// When the carrier delivered it (while its status is `delivered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write: tracking updates are written under the version read.
    #[serde(default)]
    pub version: u64,
}

/// One event of a parcel's journey, as its carrier reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrackingEvent {
    /// The carrier's id of the event (a repeat of it changes nothing).
    pub event_id: String,
    pub status: ShipmentStatus,
    pub occurred_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Paris hub")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The delivery day the carrier expected when it reported this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_delivery: Option<NaiveDate>,
}

/// The most tracking events a shipment keeps (the oldest go first); a parcel's journey has a
/// dozen.
pub const MAX_TRACKING_EVENTS: usize = 100;

/// Records a carrier's event on its shipment: `false` when the shipment holds it already (a
/// repeat). Events are kept in the order they happened, whatever order they arrive in; the
/// shipment's status is its latest event's (ties: the further along), its estimated delivery the
/// one the latest event giving one gave, and `delivered_at` set while it is delivered.
pub fn track(shipment: &mut Shipment, event: &crate::carrier::CarrierEvent) -> bool {
    if shipment.tracking.iter().any(|e| e.event_id == event.event_id) {
        return false;
    }
    shipment.tracking.push(TrackingEvent {
        event_id: event.event_id.clone(),
        status: event.status,
        occurred_at: event.occurred_at,
        location: event.location.clone(),
        description: event.description.clone(),
        estimated_delivery: event.estimated_delivery,
    });
    shipment.tracking.sort_by_key(|e| (e.occurred_at, progress(e.status)));
    if shipment.tracking.len() > MAX_TRACKING_EVENTS {
        let extra = shipment.tracking.len() - MAX_TRACKING_EVENTS;
        shipment.tracking.drain(..extra);
    }
    let latest = shipment.tracking.last().expect("an event was just added");
    shipment.status = latest.status;
    shipment.delivered_at = (latest.status == ShipmentStatus::Delivered).then_some(latest.occurred_at);
    shipment.estimated_delivery = shipment.tracking.iter().rev().find_map(|e| e.estimated_delivery);
    true
}

/// How far along a parcel is, for events reported at the same instant.
fn progress(status: ShipmentStatus) -> u8 {
    match status {
        ShipmentStatus::Packed => 0,
        ShipmentStatus::LabelCreated => 1,
        ShipmentStatus::InTransit => 2,
        ShipmentStatus::OutForDelivery => 3,
        ShipmentStatus::FailedAttempt => 4,
        ShipmentStatus::ReturnedToSender => 5,
        ShipmentStatus::Delivered => 6,
    }
}

/// Whether a vendor order has arrived: everything shipped and every parcel delivered.
pub fn order_delivered(order: &VendorOrder, shipments: &[Shipment]) -> bool {
    order.status == OrderStatus::Shipped
        && !shipments.is_empty()
        && shipments.iter().all(|s| s.status == ShipmentStatus::Delivered)
}

/// The status of a group being fulfilled, from its vendor orders': `delivered` when every order
/// is, `shipped` when every order has left, `partially_shipped` once any unit has, otherwise the
/// group's own. `None` for a group not being fulfilled (awaiting payment, or closed).
pub fn group_status(group: OrderStatus, orders: &[OrderStatus]) -> Option<OrderStatus> {
    use OrderStatus as S;
    if !matches!(group, S::Paid | S::Processing | S::PartiallyShipped | S::Shipped | S::Delivered) || orders.is_empty()
    {
        return None;
    }
    let left = |s: &OrderStatus| matches!(s, S::Shipped | S::Delivered);
    Some(if orders.iter().all(|s| *s == S::Delivered) {
        S::Delivered
    } else if orders.iter().all(left) {
        S::Shipped
    } else if orders.iter().any(|s| left(s) || *s == S::PartiallyShipped) {
        S::PartiallyShipped
    } else if matches!(group, S::Paid | S::Processing) {
        group
    } else {
        S::Paid
    })
}

/// Units of one batch to pick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PickedBatch {
    #[schema(example = "LOT-2026-11-A")]
    pub lot: String,
    pub expires_on: NaiveDate,
    pub quantity: u32,
}

impl PickedBatch {
    /// The units a change took out of a batch (its quantity is negative).
    pub fn taken(change: &BatchQuantity) -> Self {
        Self { lot: change.lot.clone(), expires_on: change.expires_on, quantity: change.quantity.unsigned_abs() as u32 }
    }
}

/// One order's share of a pick line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PickOrder {
    pub order_id: OrderId,
    pub group_id: OrderGroupId,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_ship_by: Option<NaiveDate>,
}

/// Units of one variant to take from its place in the location, for the orders it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PickLine {
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// Where the units are kept (absent: the vendor has not given the item a bin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<BinLocation>,
    /// The batches to take, first-expiring first (perishable variants).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<PickedBatch>,
    /// Units the location cannot supply from sellable stock now (batches expired since the
    /// checkout, or on hand written down): the picker will find fewer; 0 normally.
    #[serde(default)]
    pub short: u32,
    /// The orders the units go to, earliest promised ship date first.
    pub orders: Vec<PickOrder>,
}

/// The pick list of one location over `orders` (the vendor orders waiting there): one line per
/// variant, in walking order (by bin; lines without one last, by SKU), each with its FEFO
/// batches taken from `items` (the location's stock items of those variants).
pub fn pick_list(location: LocationId, orders: &[VendorOrder], items: &[StockItem], today: NaiveDate) -> Vec<PickLine> {
    let mut lines: Vec<PickLine> = Vec::new();
    for order in orders.iter().filter(|o| awaits_shipping(o.status)) {
        for o in outstanding(order).into_iter().filter(|o| o.location_id == location) {
            let share = PickOrder {
                order_id: order.id,
                group_id: order.group_id,
                quantity: o.quantity,
                promised_ship_by: order.promised_ship_by,
            };
            match lines.iter_mut().find(|l| l.variant_id == o.variant_id) {
                Some(line) => {
                    line.quantity += o.quantity;
                    line.orders.push(share);
                }
                None => lines.push(PickLine {
                    variant_id: o.variant_id,
                    sku: o.sku,
                    title: o.title,
                    quantity: o.quantity,
                    bin: None,
                    batches: Vec::new(),
                    short: 0,
                    orders: vec![share],
                }),
            }
        }
    }
    for line in &mut lines {
        line.orders.sort_by_key(|o| (o.promised_ship_by.is_none(), o.promised_ship_by, o.order_id));
        let item = items.iter().find(|i| i.variant_id == line.variant_id && i.location_id == location);
        let Some(item) = item else {
            line.short = line.quantity;
            continue;
        };
        line.bin = item.bin.clone();
        let (batches, short) = picking(item, line.quantity, today);
        line.batches = batches;
        line.short = short;
    }
    lines.sort_by(|a, b| (a.bin.is_none(), &a.bin, &a.sku).cmp(&(b.bin.is_none(), &b.bin, &b.sku)));
    lines
}

/// The batches `quantity` units of `item` come out of (first-expiring first, never an expired
/// one), and how many of them on hand cannot supply.
pub fn picking(item: &StockItem, quantity: u32, today: NaiveDate) -> (Vec<PickedBatch>, u32) {
    let mut wanted = quantity;
    loop {
        match take_fefo(item, wanted, item.on_hand, today, false) {
            Ok(taken) => return (taken.iter().map(PickedBatch::taken).collect(), quantity - wanted),
            Err(crate::stock::Shortage::Insufficient { available, .. }) if available < wanted => wanted = available,
            Err(_) => return (Vec::new(), quantity),
        }
    }
}

/// A carrier's name, service or reference as given on a shipment: trimmed, 1–64 printable
/// characters.
pub fn carrier_text(field: &str, raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > 64 || text.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must be 1 to 64 printable characters"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProductId;
    use crate::money::{Currency, Money};
    use crate::order::{LineAllocation, OrderLine, OrderTotals};
    use crate::stock::Batch;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("currency", "EUR").unwrap())
    }

    fn line(variant: VariantId, sku: &str, allocations: &[(LocationId, u32)]) -> OrderLine {
        OrderLine {
            variant_id: variant,
            product_id: ProductId::generate(),
            sku: sku.into(),
            title: format!("Title of {sku}"),
            quantity: allocations.iter().map(|a| a.1).sum(),
            unit_price: eur(1000),
            discount: eur(0),
            tax: eur(0),
            total: eur(1000),
            allocations: allocations
                .iter()
                .map(|&(location_id, quantity)| LineAllocation { location_id, quantity, shipped: 0 })
                .collect(),
            returned: 0,
        }
    }

    fn order(status: OrderStatus, lines: Vec<OrderLine>) -> VendorOrder {
        let now = Utc::now();
        VendorOrder {
            id: OrderId::generate(),
            group_id: OrderGroupId::generate(),
            vendor_id: VendorId::generate(),
            customer_id: None,
            status,
            lines,
            totals: OrderTotals {
                subtotal: eur(0),
                discount: eur(0),
                shipping: eur(0),
                tax: eur(0),
                total: eur(0),
                refunded: None,
                refunded_shipping: None,
            },
            commission_rate: rust_decimal::Decimal::ZERO,
            promised_ship_by: None,
            shipping: None,
            tax: None,
            timeline: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn packed(variant: VariantId, quantity: u32) -> PackedLine {
        PackedLine { variant_id: variant, quantity }
    }

    #[test]
    fn a_parcel_ships_part_of_an_order_and_the_last_one_ships_it_all() {
        let (a, b) = (VariantId::generate(), VariantId::generate());
        let (paris, lyon) = (LocationId::generate(), LocationId::generate());
        let mut o = order(OrderStatus::Paid, vec![line(a, "A", &[(paris, 3), (lyon, 2)]), line(b, "B", &[(paris, 1)])]);
        assert_eq!(ship(&mut o, paris, &[packed(a, 2)]), Ok(OrderEvent::PartShipped));
        assert_eq!(outstanding(&o).iter().map(|x| x.quantity).collect::<Vec<_>>(), vec![1, 2, 1]);
        assert_eq!(open_locations(&o), vec![paris, lyon]);
        // The order's status moves on only when the move is written; the lines count already.
        o.status = OrderStatus::PartiallyShipped;
        assert_eq!(ship(&mut o, paris, &[packed(a, 1), packed(b, 1)]), Ok(OrderEvent::PartShipped));
        assert_eq!(open_locations(&o), vec![lyon]);
        assert_eq!(ship(&mut o, lyon, &[packed(a, 2)]), Ok(OrderEvent::AllShipped));
        assert!(outstanding(&o).is_empty());
    }

    #[test]
    fn a_parcel_that_asks_too_much_or_names_the_wrong_line_changes_nothing() {
        let a = VariantId::generate();
        let (paris, lyon) = (LocationId::generate(), LocationId::generate());
        let mut o = order(OrderStatus::Paid, vec![line(a, "A", &[(paris, 3)])]);
        let before = o.clone();
        let field = |r: Result<OrderEvent, ShipError>| match r {
            Err(ShipError::Field(e)) => e.field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(ship(&mut o, paris, &[packed(a, 4)])), "lines[0].quantity");
        assert_eq!(field(ship(&mut o, paris, &[packed(a, 0)])), "lines[0].quantity");
        assert_eq!(field(ship(&mut o, lyon, &[packed(a, 1)])), "lines[0].variant_id");
        assert_eq!(field(ship(&mut o, paris, &[packed(VariantId::generate(), 1)])), "lines[0].variant_id");
        assert_eq!(field(ship(&mut o, paris, &[packed(a, 1), packed(a, 1)])), "lines[1].variant_id");
        assert_eq!(field(ship(&mut o, paris, &[])), "lines");
        assert_eq!(o, before);
        for status in [OrderStatus::PendingPayment, OrderStatus::Cancelled, OrderStatus::Shipped, OrderStatus::Refunded]
        {
            let mut o = order(status, before.lines.clone());
            assert_eq!(ship(&mut o, paris, &[packed(a, 1)]), Err(ShipError::NotShippable(status)));
        }
    }

    fn hold(vendor: VendorId, variant: VariantId, location: LocationId, shard: Option<u8>, quantity: u32) -> HeldStock {
        HeldStock { vendor_id: vendor, variant_id: variant, location_id: location, shard, quantity }
    }

    #[test]
    fn shipped_units_come_out_of_the_holds_of_their_item_wherever_they_were_placed() {
        let (vendor, a, b, paris) =
            (VendorId::generate(), VariantId::generate(), VariantId::generate(), LocationId::generate());
        let mut holds = vec![
            hold(vendor, a, paris, Some(1), 2),
            hold(vendor, b, paris, None, 5),
            hold(vendor, a, paris, Some(3), 4),
        ];
        let taken = take_holds(&mut holds, (vendor, a, paris), 3).unwrap();
        assert_eq!(taken, vec![hold(vendor, a, paris, Some(1), 2), hold(vendor, a, paris, Some(3), 1)]);
        assert_eq!(holds, vec![hold(vendor, b, paris, None, 5), hold(vendor, a, paris, Some(3), 3)]);
        assert_eq!(take_holds(&mut holds, (vendor, a, paris), 4), Err(3));
        assert_eq!(holds.len(), 2, "a refusal takes nothing");
    }

    fn item(variant: VariantId, location: LocationId, on_hand: u32, bin: Option<(&str, &str)>) -> StockItem {
        let mut item =
            StockItem::empty(VendorId::generate(), variant, ProductId::generate(), "X", location, false, Utc::now());
        item.on_hand = on_hand;
        item.bin = bin.map(|(zone, aisle)| BinLocation::parse("bin", zone, aisle, "1", "1").unwrap());
        item
    }

    #[test]
    fn a_pick_list_gathers_each_variant_once_in_walking_order_with_batches_first_expiring_first() {
        let (a, b, c) = (VariantId::generate(), VariantId::generate(), VariantId::generate());
        let (paris, lyon) = (LocationId::generate(), LocationId::generate());
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let mut first = order(OrderStatus::Paid, vec![line(a, "A", &[(paris, 2)]), line(c, "C", &[(paris, 1)])]);
        first.promised_ship_by = Some(day(9));
        let mut second = order(OrderStatus::PartiallyShipped, vec![line(a, "A", &[(paris, 3), (lyon, 5)])]);
        second.promised_ship_by = Some(day(3));
        second.lines[0].allocations[0].shipped = 1;
        let third = order(OrderStatus::Paid, vec![line(b, "B", &[(paris, 1)])]);
        let unpaid = order(OrderStatus::PendingPayment, vec![line(b, "B", &[(paris, 7)])]);
        let mut perishable = item(a, paris, 10, Some(("B", "02")));
        perishable.perishable = true;
        let batch = |lot: &str, expires, on_hand| Batch {
            lot: lot.into(),
            expires_on: expires,
            on_hand,
            received_at: Utc::now(),
        };
        perishable.batches = vec![batch("OLD", day(1), 5), batch("SOON", day(5), 2), batch("LATER", day(20), 3)];
        let items = vec![perishable, item(b, paris, 4, Some(("A", "09"))), item(c, paris, 9, None)];
        let list = pick_list(paris, &[first.clone(), second.clone(), third.clone(), unpaid], &items, day(2));
        assert_eq!(list.iter().map(|l| l.sku.as_str()).collect::<Vec<_>>(), vec!["B", "A", "C"]);
        let a_line = &list[1];
        assert_eq!(a_line.quantity, 4);
        assert_eq!(
            a_line.orders.iter().map(|o| (o.order_id, o.quantity)).collect::<Vec<_>>(),
            vec![(second.id, 2), (first.id, 2)]
        );
        // The batch that expired yesterday is never picked.
        let picked: Vec<(&str, u32)> = a_line.batches.iter().map(|b| (b.lot.as_str(), b.quantity)).collect();
        assert_eq!(picked, vec![("SOON", 2), ("LATER", 2)]);
        assert_eq!(a_line.short, 0);
        assert_eq!(list[0].orders[0].order_id, third.id);
        assert!(list[2].bin.is_none());
        // Three days later only LATER is sellable: one unit short.
        let later = pick_list(paris, &[first, second], &items, day(6));
        let a_line = later.iter().find(|l| l.variant_id == a).unwrap();
        assert_eq!((a_line.batches.len(), a_line.batches[0].quantity, a_line.short), (1, 3, 1));
    }

    #[test]
    fn carrier_text_is_trimmed_and_bounded() {
        assert_eq!(carrier_text("carrier", "  DHL ").unwrap(), "DHL");
        assert_eq!(carrier_text("carrier", " ").unwrap_err().field, "carrier");
        assert!(carrier_text("carrier", &"x".repeat(65)).is_err());
        assert!(carrier_text("carrier", "a\nb").is_err());
    }
}
