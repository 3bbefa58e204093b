//! Order events from the table's stream: what happened to an order group, as typed messages on
//! the order events queue (`route-table-events` puts them there; `process-order-events` acts on
//! them). A group inserted is `order_placed`; a change of its status to paid, expired, cancelled
//! or refunded is `order_paid`, `order_expired`, `order_cancelled`, `order_refunded`; a dispute
//! (chargeback) that appears in its `disputes` is `order_disputed`. A shipment (parcel) written is
//! `parcel_shipped`; one whose status becomes `delivered` is `parcel_delivered`.
//!
//! A stream record can be delivered more than once, and so can a queue message: each message
//! names its group and its event ([`OrderEventMessage::key`]: the event's name, and the dispute's
//! provider id for a dispute), which is what its consumer is idempotent on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::fulfilment::{Shipment, ShipmentStatus};
use stockyard_domain::ids::{OrderGroupId, RefundId, ShipmentId, VendorId};
use stockyard_domain::order::{Dispute, OrderGroup, OrderStatus};
use stockyard_domain::returns::{Refund, RefundStatus};

use crate::StoreError;
use crate::entity::Entity;
use crate::events::Change;

/// What happened to an order group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderEventType {
    /// Checkout placed it (its stock is reserved; nothing is paid yet).
    OrderPlaced,
    /// Its payment succeeded.
    OrderPaid,
    /// Unpaid when its reservation ran out: its stock was given back.
    OrderExpired,
    /// Called off before it was paid: its stock was given back.
    OrderCancelled,
    /// The customer's bank disputed its payment (a chargeback); the amount is held.
    OrderDisputed,
    /// Its payment was refunded in full.
    OrderRefunded,
    /// A parcel of one of its vendor orders left the warehouse.
    ParcelShipped,
    /// A parcel's carrier delivered it.
    ParcelDelivered,
    /// A refund of one of its vendor orders succeeded at the provider (its credit note is issued).
    RefundIssued,
}

impl OrderEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderEventType::OrderPlaced => "order_placed",
            OrderEventType::OrderPaid => "order_paid",
            OrderEventType::OrderExpired => "order_expired",
            OrderEventType::OrderCancelled => "order_cancelled",
            OrderEventType::OrderDisputed => "order_disputed",
            OrderEventType::OrderRefunded => "order_refunded",
            OrderEventType::ParcelShipped => "parcel_shipped",
            OrderEventType::ParcelDelivered => "parcel_delivered",
            OrderEventType::RefundIssued => "refund_issued",
        }
    }
}

/// One order event as it travels on the order events queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEventMessage {
    #[serde(rename = "type")]
    pub event: OrderEventType,
    pub group_id: OrderGroupId,
    /// The group's version the change made.
    pub version: u64,
    pub occurred_at: DateTime<Utc>,
    /// The dispute, for `order_disputed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<Dispute>,
    /// The parcel, for `parcel_shipped` and `parcel_delivered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<ShipmentRef>,
    /// The refund, for `refund_issued`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundRef>,
}

/// Which refund a refund event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRef {
    pub vendor_id: VendorId,
    pub refund_id: RefundId,
}

/// Which parcel a parcel event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRef {
    pub vendor_id: VendorId,
    pub shipment_id: ShipmentId,
}

impl OrderEventMessage {
    /// What the event is within its group: its name, and for a dispute the provider's dispute id
    /// (a group can be disputed more than once), for a parcel its id. The consumer is idempotent
    /// on group and key.
    pub fn key(&self) -> String {
        match (&self.dispute, &self.shipment) {
            (Some(d), _) if self.event == OrderEventType::OrderDisputed => {
                format!("{}#{}", self.event.as_str(), d.provider_dispute_id)
            }
            (_, Some(parcel)) => format!("{}#{}", self.event.as_str(), parcel.shipment_id),
            _ => match &self.refund {
                Some(refund) => format!("{}#{}", self.event.as_str(), refund.refund_id),
                None => self.event.as_str().to_string(),
            },
        }
    }
}

/// The disputes a group item holds, read leniently: an item without them, or with a list that is
/// not readable as disputes, holds none (disputes never keep the group's other events from being
/// routed).
#[derive(Debug, Default, Deserialize)]
struct Disputes {
    #[serde(default)]
    disputes: Vec<Dispute>,
}

fn disputes_of(image: &serde_dynamo::Item) -> Vec<Dispute> {
    serde_dynamo::from_item::<_, Disputes>(image.clone()).map(|d| d.disputes).unwrap_or_default()
}

#[derive(Deserialize)]
struct EntityName {
    #[serde(default)]
    entity: Option<String>,
}

/// The order events a change of one item means: none unless the item is an order group.
pub fn order_events(
    change: Change,
    new_image: serde_dynamo::Item,
    old_image: serde_dynamo::Item,
) -> Result<Vec<OrderEventMessage>, StoreError> {
    if change == Change::Remove {
        return Ok(Vec::new());
    }
    let kind: EntityName = serde_dynamo::from_item(new_image.clone())?;
    if kind.entity.as_deref() == Some(Shipment::NAME) {
        return parcel_events(change, new_image, old_image);
    }
    if kind.entity.as_deref() == Some(Refund::NAME) {
        return refund_events(change, new_image, old_image);
    }
    if kind.entity.as_deref() != Some(OrderGroup::NAME) {
        return Ok(Vec::new());
    }
    let new: OrderGroup = serde_dynamo::from_item(new_image.clone())?;
    let message = |event, dispute| OrderEventMessage {
        event,
        group_id: new.id,
        version: new.version,
        occurred_at: new.updated_at,
        dispute,
        shipment: None,
        refund: None,
    };
    if change == Change::Insert {
        return Ok(vec![message(OrderEventType::OrderPlaced, None)]);
    }
    let old: OrderGroup = serde_dynamo::from_item(old_image.clone())?;
    let mut events = Vec::new();
    if old.status != new.status {
        let event = match new.status {
            OrderStatus::Paid => Some(OrderEventType::OrderPaid),
            OrderStatus::Expired => Some(OrderEventType::OrderExpired),
            OrderStatus::Cancelled => Some(OrderEventType::OrderCancelled),
            OrderStatus::Refunded => Some(OrderEventType::OrderRefunded),
            _ => None,
        };
        events.extend(event.map(|e| message(e, None)));
    }
    let before = disputes_of(&old_image);
    for dispute in new.disputes.iter().cloned() {
        if !before.iter().any(|b| b.provider_dispute_id == dispute.provider_dispute_id) {
            events.push(message(OrderEventType::OrderDisputed, Some(dispute)));
        }
    }
    Ok(events)
}

/// A parcel written is `parcel_shipped`; its status becoming `delivered` is `parcel_delivered`.
fn parcel_events(
    change: Change,
    new_image: serde_dynamo::Item,
    old_image: serde_dynamo::Item,
) -> Result<Vec<OrderEventMessage>, StoreError> {
    let new: Shipment = serde_dynamo::from_item(new_image)?;
    let event = match change {
        Change::Insert => Some(OrderEventType::ParcelShipped),
        Change::Modify => {
            let old: Shipment = serde_dynamo::from_item(old_image)?;
            (old.status != ShipmentStatus::Delivered && new.status == ShipmentStatus::Delivered)
                .then_some(OrderEventType::ParcelDelivered)
        }
        Change::Remove => None,
    };
    Ok(event
        .map(|event| OrderEventMessage {
            event,
            group_id: new.group_id,
            version: new.version,
            occurred_at: new.updated_at,
            dispute: None,
            shipment: Some(ShipmentRef { vendor_id: new.vendor_id, shipment_id: new.id }),
            refund: None,
        })
        .into_iter()
        .collect())
}

/// A refund whose status becomes `succeeded` is `refund_issued`.
fn refund_events(
    change: Change,
    new_image: serde_dynamo::Item,
    old_image: serde_dynamo::Item,
) -> Result<Vec<OrderEventMessage>, StoreError> {
    if change != Change::Modify {
        return Ok(Vec::new());
    }
    let (new, old): (Refund, Refund) = (serde_dynamo::from_item(new_image)?, serde_dynamo::from_item(old_image)?);
    if old.status == RefundStatus::Succeeded || new.status != RefundStatus::Succeeded {
        return Ok(Vec::new());
    }
    Ok(vec![OrderEventMessage {
        event: OrderEventType::RefundIssued,
        group_id: new.group_id,
        version: new.version,
        occurred_at: new.settled_at.unwrap_or(new.created_at),
        dispute: None,
        shipment: None,
        refund: Some(RefundRef { vendor_id: new.vendor_id, refund_id: new.id }),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::image;
    use stockyard_domain::ids::{OrderId, VendorId};
    use stockyard_domain::money::{Currency, Money};
    use stockyard_domain::order::DisputeStatus;

    fn group(status: OrderStatus, version: u64) -> OrderGroup {
        let eur = Currency::parse("currency", "EUR").unwrap();
        let now = Utc::now();
        OrderGroup {
            id: OrderGroupId::parse("g", "01JDB0000000000000000000G1").unwrap(),
            customer_id: None,
            email: "guest@example.com".into(),
            currency: eur,
            locale: "en".into(),
            orders: vec![(VendorId::generate(), OrderId::generate())],
            total: Money::new(1999, eur),
            status,
            holds: Vec::new(),
            expires_at: now,
            payment_reference: None,
            refunds_due: Vec::new(),
            disputes: Vec::new(),
            shipping_address: None,
            billing_address: None,
            payment: None,
            payment_provider: None,
            coupon: None,
            limited: Vec::new(),
            version,
            created_at: now,
            updated_at: now,
        }
    }

    fn with_disputes(mut item: serde_dynamo::Item, ids: &[&str]) -> serde_dynamo::Item {
        let eur = Currency::parse("currency", "EUR").unwrap();
        let disputes: Vec<Dispute> = ids
            .iter()
            .map(|id| Dispute {
                provider_dispute_id: id.to_string(),
                amount: Money::new(1999, eur),
                reason: "fraudulent".into(),
                status: DisputeStatus::Open,
                opened_at: Utc::now(),
            })
            .collect();
        let list: serde_dynamo::Item = serde_dynamo::to_item(Disputes { disputes }).unwrap();
        item.extend(list.iter().map(|(k, v)| (k.clone(), v.clone())));
        item
    }

    impl Serialize for Disputes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Disputes", 1)?;
            st.serialize_field("disputes", &self.disputes)?;
            st.end()
        }
    }

    fn types(events: &[OrderEventMessage]) -> Vec<&'static str> {
        events.iter().map(|e| e.event.as_str()).collect()
    }

    #[test]
    fn a_placed_group_is_order_placed_and_each_status_it_reaches_its_event() {
        let placed = group(OrderStatus::PendingPayment, 1);
        let events = order_events(Change::Insert, image(&placed), Default::default()).unwrap();
        assert_eq!(types(&events), ["order_placed"]);
        assert_eq!((events[0].group_id, events[0].version, events[0].key()), (placed.id, 1, "order_placed".into()));
        for (status, event) in [
            (OrderStatus::Paid, "order_paid"),
            (OrderStatus::Expired, "order_expired"),
            (OrderStatus::Cancelled, "order_cancelled"),
            (OrderStatus::Refunded, "order_refunded"),
        ] {
            let events = order_events(Change::Modify, image(&group(status, 2)), image(&placed)).unwrap();
            assert_eq!(types(&events), [event]);
        }
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(json["type"], "order_placed");
    }

    #[test]
    fn other_changes_of_a_group_and_other_items_are_no_order_event() {
        let paid = group(OrderStatus::Paid, 2);
        let mut flagged = paid.clone();
        flagged.refunds_due.push("pi_late".into());
        flagged.version = 3;
        assert!(order_events(Change::Modify, image(&flagged), image(&paid)).unwrap().is_empty());
        let action = group(OrderStatus::RequiresAction, 2);
        let pending = group(OrderStatus::PendingPayment, 1);
        assert!(order_events(Change::Modify, image(&action), image(&pending)).unwrap().is_empty(), "3-D Secure");
        assert!(order_events(Change::Remove, Default::default(), image(&paid)).unwrap().is_empty());
        let mut other = image(&paid);
        other.insert("entity".into(), serde_dynamo::AttributeValue::S("vendor order".into()));
        assert!(order_events(Change::Insert, other, Default::default()).unwrap().is_empty());
    }

    #[test]
    fn a_dispute_new_in_the_groups_disputes_is_order_disputed_once() {
        let paid = group(OrderStatus::Paid, 2);
        let before = image(&paid);
        let one = with_disputes(image(&paid), &["dp_1"]);
        let events = order_events(Change::Modify, one.clone(), before).unwrap();
        assert_eq!(types(&events), ["order_disputed"]);
        assert_eq!(events[0].key(), "order_disputed#dp_1");
        assert_eq!(events[0].dispute.as_ref().map(|d| d.amount.amount), Some(1999));
        let two = with_disputes(image(&paid), &["dp_1", "dp_2"]);
        let events = order_events(Change::Modify, two.clone(), one).unwrap();
        assert_eq!(events.iter().map(OrderEventMessage::key).collect::<Vec<_>>(), ["order_disputed#dp_2"]);
        assert!(order_events(Change::Modify, two.clone(), two).unwrap().is_empty(), "nothing new");
        // The group's disputes are part of its record: a group whose list cannot be read is
        // malformed (the consumer hands the message back), never silently without disputes.
        let mut unreadable = image(&paid);
        unreadable.insert("disputes".into(), serde_dynamo::AttributeValue::S("not a list".into()));
        assert!(matches!(order_events(Change::Modify, unreadable, image(&paid)), Err(StoreError::Malformed(_))));
    }

    fn parcel(status: ShipmentStatus, version: u64) -> Shipment {
        let now = Utc::now();
        Shipment {
            id: ShipmentId::parse("s", "01JDB0000000000000000000S1").unwrap(),
            order_id: OrderId::generate(),
            group_id: OrderGroupId::parse("g", "01JDB0000000000000000000G1").unwrap(),
            vendor_id: VendorId::generate(),
            location_id: stockyard_domain::ids::LocationId::generate(),
            lines: Vec::new(),
            carrier: "La Poste".into(),
            service: None,
            tracking_number: Some("6A123".into()),
            label_reference: None,
            status,
            tracking: Vec::new(),
            estimated_delivery: None,
            delivered_at: None,
            created_by: stockyard_domain::stock::Actor::System { name: "test".into() },
            created_at: now,
            updated_at: now,
            version,
        }
    }

    #[test]
    fn a_parcel_is_shipped_when_written_and_delivered_once_when_its_status_becomes_delivered() {
        let packed = parcel(ShipmentStatus::Packed, 1);
        let events = order_events(Change::Insert, image(&packed), Default::default()).unwrap();
        assert_eq!(types(&events), ["parcel_shipped"]);
        let key = format!("parcel_shipped#{}", packed.id);
        assert_eq!((events[0].group_id, events[0].key()), (packed.group_id, key));
        let moving = parcel(ShipmentStatus::InTransit, 2);
        let delivered = parcel(ShipmentStatus::Delivered, 3);
        let events = order_events(Change::Modify, image(&moving), image(&packed)).unwrap();
        assert!(events.is_empty(), "in transit sends nothing");
        let events = order_events(Change::Modify, image(&delivered), image(&moving)).unwrap();
        assert_eq!(types(&events), ["parcel_delivered"]);
        assert_eq!(events[0].shipment.as_ref().map(|s| s.shipment_id), Some(packed.id));
        let late_scan = parcel(ShipmentStatus::Delivered, 4);
        let events = order_events(Change::Modify, image(&late_scan), image(&delivered)).unwrap();
        assert!(events.is_empty(), "a later event of a delivered parcel is not a second delivery");
    }

    #[test]
    fn a_refund_is_issued_once_when_its_status_becomes_succeeded() {
        let eur = Currency::parse("currency", "EUR").unwrap();
        let refund = |status: RefundStatus, version: u64| Refund {
            id: RefundId::parse("r", "01JDB0000000000000000000R1").unwrap(),
            group_id: OrderGroupId::parse("g", "01JDB0000000000000000000G1").unwrap(),
            order_id: OrderId::generate(),
            vendor_id: VendorId::generate(),
            return_id: None,
            provider: stockyard_domain::payment::Provider::Card,
            payment_reference: "pi_1".into(),
            lines: Vec::new(),
            shipping: Money::new(0, eur),
            amount: Money::new(700, eur),
            status,
            attempts: 1,
            provider_refund_id: None,
            failure: None,
            credit_note: None,
            created_at: Utc::now(),
            settled_at: None,
            version,
        };
        let pending = refund(RefundStatus::Pending, 1);
        assert!(order_events(Change::Insert, image(&pending), Default::default()).unwrap().is_empty());
        let failed = refund(RefundStatus::Failed, 2);
        assert!(order_events(Change::Modify, image(&failed), image(&pending)).unwrap().is_empty());
        let succeeded = refund(RefundStatus::Succeeded, 3);
        let events = order_events(Change::Modify, image(&succeeded), image(&failed)).unwrap();
        assert_eq!(types(&events), ["refund_issued"]);
        assert_eq!(events[0].key(), format!("refund_issued#{}", succeeded.id));
        let noted = refund(RefundStatus::Succeeded, 4);
        assert!(order_events(Change::Modify, image(&noted), image(&succeeded)).unwrap().is_empty(), "once");
    }
}
