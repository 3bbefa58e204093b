//! Order groups against DynamoDB Local: placed with their stock held or not at all, paid once
//! however often the payment is told, expired with their stock given back, and a payment that
//! comes too late recorded as a refund due.

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use stockyard_domain::ids::{OrderGroupId, OrderId, ProductId, UserId, VendorId};
use stockyard_domain::money::{Currency, Money};
use stockyard_domain::order::{
    HeldStock, LineAllocation, OrderEvent, OrderGroup, OrderLine, OrderStatus, OrderTotals, Outcome, ReservationEffect,
    VendorOrder,
};
use stockyard_domain::stock::{Actor, MovementReason, StockItem};

use crate::emulator_tests::{stocked, table};
use crate::orders::{self, ReservationExpiry};
use crate::reservations::{ItemId, ReserveError};
use crate::{PageRequest, Table};

fn actor() -> Actor {
    Actor::System { name: "orders test".into() }
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("currency", "EUR").unwrap())
}

async fn reserved(table: &Table, id: ItemId) -> u32 {
    table.get::<StockItem>(&id).await.unwrap().unwrap().reserved
}

/// A group of one order per item, `quantity` units of each, expiring at `expires_at`.
pub(crate) fn group_of(
    customer: UserId,
    items: &[(ItemId, u32)],
    expires_at: chrono::DateTime<Utc>,
) -> (OrderGroup, Vec<VendorOrder>) {
    let id = OrderGroupId::generate();
    let now = Utc::now();
    let orders: Vec<VendorOrder> = items
        .iter()
        .map(|((vendor, variant, location), quantity)| {
            let line_total = eur(1_000 * i64::from(*quantity));
            VendorOrder {
                id: OrderId::generate(),
                group_id: id,
                vendor_id: *vendor,
                customer_id: Some(customer),
                status: OrderStatus::PendingPayment,
                lines: vec![OrderLine {
                    variant_id: *variant,
                    product_id: ProductId::generate(),
                    sku: "BOOT".into(),
                    title: "Walking boot".into(),
                    quantity: *quantity,
                    unit_price: eur(1_000),
                    discount: eur(0),
                    tax: eur(0),
                    total: line_total,
                    allocations: vec![LineAllocation { location_id: *location, quantity: *quantity, shipped: 0 }],
                    returned: 0,
                }],
                totals: OrderTotals {
                    subtotal: line_total,
                    discount: eur(0),
                    shipping: eur(0),
                    tax: eur(0),
                    total: line_total,
                    refunded: None,
                    refunded_shipping: None,
                },
                commission_rate: Decimal::new(12, 2),
                promised_ship_by: None,
                shipping: None,
                tax: None,
                timeline: Vec::new(),
                version: 1,
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    let total = eur(orders.iter().map(|o| o.totals.total.amount).sum());
    let group = OrderGroup {
        id,
        customer_id: Some(customer),
        email: "shopper@stockyard.example".into(),
        currency: total.currency,
        locale: "fr-FR".into(),
        orders: orders.iter().map(|o| (o.vendor_id, o.id)).collect(),
        total,
        status: OrderStatus::PendingPayment,
        holds: items
            .iter()
            .map(|((vendor_id, variant_id, location_id), quantity)| HeldStock {
                vendor_id: *vendor_id,
                variant_id: *variant_id,
                location_id: *location_id,
                shard: None,
                quantity: *quantity,
            })
            .collect(),
        expires_at,
        payment_reference: None,
        refunds_due: Vec::new(),
        disputes: Vec::new(),
        shipping_address: None,
        billing_address: None,
        payment: None,
        payment_provider: None,
        coupon: None,
        limited: Vec::new(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    (group, orders)
}

#[tokio::test]
async fn a_group_is_placed_with_its_stock_held_and_paid_once_however_often_the_payment_is_told() {
    let table = table().await;
    let customer = UserId::generate();
    let (a, b) = (stocked(&table, VendorId::generate(), 5).await, stocked(&table, VendorId::generate(), 5).await);
    let (group, orders) = group_of(customer, &[(a, 2), (b, 1)], Utc::now() + Duration::minutes(15));
    orders::place(&table, &group, &orders, &actor(), Utc::now().date_naive()).await.unwrap();
    assert_eq!((reserved(&table, a).await, reserved(&table, b).await), (2, 1));
    assert_eq!(orders::orders_of(&table, group.id).await.unwrap().len(), 2);
    let page = PageRequest { limit: 10, cursor: None, newest_first: true };
    assert_eq!(orders::of_customer(&table, customer, &page).await.unwrap().items, vec![group.clone()]);
    let vendor_a = orders::of_vendor(&table, a.0, &page).await.unwrap().items;
    assert_eq!(
        vendor_a.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![orders[0].id],
        "a vendor sees its own order only"
    );

    // Placed again (a retried request): refused on the group, and nothing more is held.
    let again = orders::place(&table, &group, &orders, &actor(), Utc::now().date_naive()).await.unwrap_err();
    assert!(matches!(&again, ReserveError::Store(e) if e.failed_at(orders::ORDER_GROUP)), "{again:?}");
    assert_eq!((reserved(&table, a).await, reserved(&table, b).await), (2, 1));

    // Five deliveries of the success at once, with a failure among them: one move to paid.
    let deliveries = [
        OrderEvent::PaymentSucceeded,
        OrderEvent::PaymentFailed,
        OrderEvent::PaymentSucceeded,
        OrderEvent::PaymentSucceeded,
        OrderEvent::PaymentSucceeded,
        OrderEvent::PaymentSucceeded,
    ];
    let told = deliveries.iter().map(|event| {
        let table = table.clone();
        let event = *event;
        tokio::spawn(async move { orders::apply_event(&table, group.id, event, Some("pi_1"), None, &actor()).await })
    });
    let outcomes: Vec<Outcome> =
        futures_util::future::join_all(told).await.into_iter().map(|o| o.unwrap().unwrap().unwrap()).collect();
    let moved_to_paid = outcomes
        .iter()
        .filter(|o| **o == Outcome::Moved { to: OrderStatus::Paid, reservation: ReservationEffect::Confirm })
        .count();
    assert_eq!(moved_to_paid, 1, "{outcomes:?}");
    let paid = orders::group(&table, group.id).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.payment_reference.as_deref()), (OrderStatus::Paid, Some("pi_1")));
    for order in orders::orders_of(&table, group.id).await.unwrap() {
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(order.timeline.iter().filter(|e| e.status == OrderStatus::Paid).count(), 1);
    }
    // Paid: the stock stays held and the timer is gone, so the group never expires.
    assert_eq!((reserved(&table, a).await, reserved(&table, b).await), (2, 1));
    let timer = table.get::<ReservationExpiry>(&(group.expires_at, group.id)).await.unwrap();
    assert!(timer.is_none());
    let late = orders::apply_event(&table, group.id, OrderEvent::Expired, None, None, &actor()).await.unwrap();
    assert_eq!(late, Some(Outcome::Stale));
    assert_eq!(orders::group(&table, group.id).await.unwrap().unwrap().version, paid.version);

    // Paid: each order waits on its location's pick queue; refunded, it leaves it in that move.
    let today = Utc::now().date_naive();
    let queued = |(vendor, _, location): ItemId| {
        let table = table.clone();
        async move {
            let page = PageRequest { limit: 10, cursor: None, newest_first: false };
            let list = crate::fulfilment::pick_list(&table, vendor, location, &page, today).await.unwrap();
            let raw: crate::Page<crate::fulfilment::AwaitingPick> =
                table.query(&crate::keys::awaiting_picks(vendor, location), &page).await.unwrap();
            (list.orders, raw.items.len())
        }
    };
    assert_eq!((queued(a).await, queued(b).await), ((1, 1), (1, 1)));
    let refunded = orders::apply_event(&table, group.id, OrderEvent::Refunded, None, None, &actor()).await.unwrap();
    assert_eq!(refunded, Some(Outcome::Moved { to: OrderStatus::Refunded, reservation: ReservationEffect::Release }));
    assert_eq!((queued(a).await, queued(b).await), ((0, 0), (0, 0)));
    assert_eq!((reserved(&table, a).await, reserved(&table, b).await), (0, 0));
}

#[tokio::test]
async fn an_unpaid_group_expires_with_its_stock_given_back_and_a_late_payment_is_a_refund_due() {
    let table = table().await;
    let a = stocked(&table, VendorId::generate(), 3).await;
    let (group, orders) = group_of(UserId::generate(), &[(a, 3)], Utc::now() - Duration::seconds(1));
    orders::place(&table, &group, &orders, &actor(), Utc::now().date_naive()).await.unwrap();
    assert_eq!(reserved(&table, a).await, 3);

    let expired = orders::expire_due(&table, Utc::now(), &actor()).await.unwrap();
    assert!(expired.contains(&group.id), "{expired:?}");
    let after = orders::group(&table, group.id).await.unwrap().unwrap();
    assert_eq!(after.status, OrderStatus::Expired);
    assert_eq!(reserved(&table, a).await, 0, "the stock is given back");
    let ledger = crate::stock::all_movements(&table, a.0, a.1, a.2).await.unwrap();
    let released = ledger.last().unwrap();
    assert_eq!((released.reason, released.reserved_change), (MovementReason::ReservationReleased, -3));
    assert!(table.get::<ReservationExpiry>(&(group.expires_at, group.id)).await.unwrap().is_none());
    // A second run finds nothing more to do for it.
    assert!(!orders::expire_due(&table, Utc::now(), &actor()).await.unwrap().contains(&group.id));

    // The payment arrives after all, twice: one refund due, the stock still given back.
    for _ in 0..2 {
        let outcome =
            orders::apply_event(&table, group.id, OrderEvent::PaymentSucceeded, Some("pi_late"), None, &actor()).await;
        assert_eq!(outcome.unwrap(), Some(Outcome::RefundDue));
    }
    let after = orders::group(&table, group.id).await.unwrap().unwrap();
    assert_eq!((after.status, after.refunds_due), (OrderStatus::Expired, vec!["pi_late".to_string()]));
    assert_eq!(reserved(&table, a).await, 0);
    // An unknown group is told as such.
    let someone = actor();
    let unknown = orders::apply_event(&table, OrderGroupId::generate(), OrderEvent::Expired, None, None, &someone);
    assert_eq!(unknown.await.unwrap(), None);
}

#[tokio::test]
async fn two_parcels_of_a_group_delivered_at_once_deliver_both_orders_and_the_group_exactly_once() {
    use stockyard_domain::carrier::CarrierEvent;
    use stockyard_domain::fulfilment::{PackedLine, ShipmentStatus};

    use crate::fulfilment::{self, Parcel, Tracked};

    let table = table().await;
    let today = Utc::now().date_naive();
    let (a, b) = (stocked(&table, VendorId::generate(), 5).await, stocked(&table, VendorId::generate(), 5).await);
    let (group, orders) = group_of(UserId::generate(), &[(a, 2), (b, 1)], Utc::now() + Duration::minutes(15));
    orders::place(&table, &group, &orders, &actor(), today).await.unwrap();
    orders::apply_event(&table, group.id, OrderEvent::PaymentSucceeded, Some("pi_parcels"), None, &actor())
        .await
        .unwrap();
    let tag = ulid::Ulid::new().to_string();
    let mut numbers = Vec::new();
    for ((vendor, variant, location), quantity) in [(a, 2), (b, 1)] {
        let number = format!("E{tag}{}", numbers.len());
        let parcel = Parcel { carrier: "DHL".into(), tracking_number: Some(number.clone()), ..Parcel::default() };
        let lines = [PackedLine { variant_id: variant, quantity }];
        let (_, after) =
            fulfilment::ship(&table, (group.id, vendor), location, &lines, &parcel, &actor(), today, |_, _, _| Ok(()))
                .await
                .unwrap();
        assert_eq!(after.status, OrderStatus::Shipped);
        numbers.push(number);
    }
    assert_eq!(orders::group(&table, group.id).await.unwrap().unwrap().status, OrderStatus::Shipped);
    assert_eq!((reserved(&table, a).await, reserved(&table, b).await), (0, 0), "shipped units leave the reservation");

    // Both parcels arrive at the same moment, each delivery told three times.
    let told = numbers.iter().flat_map(|number| {
        let table = table.clone();
        let event = CarrierEvent {
            event_id: format!("delivered-{number}"),
            tracking_number: number.clone(),
            status: ShipmentStatus::Delivered,
            occurred_at: Utc::now(),
            location: None,
            description: None,
            estimated_delivery: None,
        };
        (0..3).map(move |_| {
            let (table, event) = (table.clone(), event.clone());
            tokio::spawn(async move { fulfilment::track(&table, &event).await })
        })
    });
    let outcomes: Vec<Tracked> =
        futures_util::future::join_all(told).await.into_iter().map(|o| o.unwrap().unwrap()).collect();
    let delivering = outcomes.iter().filter(|o| matches!(o, Tracked::Recorded { order: Some(_), .. })).count();
    assert_eq!(delivering, 2, "each order is delivered by one of its copies: {outcomes:?}");
    for order in orders::orders_of(&table, group.id).await.unwrap() {
        assert_eq!(order.status, OrderStatus::Delivered);
        assert_eq!(order.timeline.iter().filter(|e| e.status == OrderStatus::Delivered).count(), 1);
        let parcels = fulfilment::shipments_of(&table, group.id, order.vendor_id).await.unwrap();
        assert_eq!(parcels[0].tracking.len(), 1, "the event is recorded once");
    }
    assert_eq!(orders::group(&table, group.id).await.unwrap().unwrap().status, OrderStatus::Delivered);
    let unknown = CarrierEvent { tracking_number: format!("NONE{tag}"), ..outcome_event(&numbers[0]) };
    assert_eq!(fulfilment::track(&table, &unknown).await.unwrap(), Tracked::UnknownParcel);
}

fn outcome_event(number: &str) -> stockyard_domain::carrier::CarrierEvent {
    stockyard_domain::carrier::CarrierEvent {
        event_id: format!("late-{number}"),
        tracking_number: number.to_string(),
        status: stockyard_domain::fulfilment::ShipmentStatus::InTransit,
        occurred_at: Utc::now(),
        location: None,
        description: None,
        estimated_delivery: None,
    }
}
