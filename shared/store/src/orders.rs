//! Orders: an order group (what one checkout placed and one payment covers) in its own partition,
//! with one vendor order per vendor beside it, and the group's reservation timer.
//!
//! Placing writes the group, its vendor orders and its timer in the transaction that reserves
//! every line's stock ([`crate::reservations`]): an order exists exactly when its stock is held.
//! Every later move (paid, expired, cancelled, ...) is judged by the domain's status machine
//! (`stockyard_domain::order::apply`) on what was read and written under the versions read, the
//! group and each vendor order alike, so two workers never both apply one; a move that frees the
//! reservation gives the stock back in the same transaction, and a move off `pending_payment`
//! stops the timer. Customers list their groups (`CUSTOMERORDERS#<user>` on GSI1), vendors their
//! orders (`VENDORORDERS#<vendor>`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{OrderGroupId, OrderId, UserId, VendorId};
use stockyard_domain::order::{
    self, Dispute, HeldStock, OrderEvent, OrderGroup, OrderStatus, Outcome, PaymentSession, ReservationEffect,
    TimelineEntry, VendorOrder,
};
use stockyard_domain::stock::Actor;

use crate::entity::Entity;
use crate::reservations::{self, Hold, ReserveError};
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

/// The step of the group's own write (placing: it must not exist; moving: its version).
pub const ORDER_GROUP: &str = "order_group";
/// The step of each vendor order's write.
pub const VENDOR_ORDER: &str = "vendor_order";
/// Tries of a move that lost a race on the group or one of its orders.
const MOVE_TRIES: u32 = 5;

impl Entity for OrderGroup {
    type Id = OrderGroupId;
    const NAME: &'static str = "order group";
    fn key(id: &Self::Id) -> keys::Key {
        keys::order_group(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::order_group(self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        self.customer_id.map(|customer| keys::customer_order_listing(customer, self.id))
    }
}

impl Entity for VendorOrder {
    type Id = (OrderGroupId, VendorId);
    const NAME: &'static str = "vendor order";
    fn key((group, vendor): &Self::Id) -> keys::Key {
        keys::vendor_order(*group, *vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::vendor_order(self.group_id, self.vendor_id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::vendor_order_listing(self.vendor_id, self.id))
    }
}

/// A group's reservation timer: when it runs out, the group expires unless it was paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationExpiry {
    pub group_id: OrderGroupId,
    pub expires_at: DateTime<Utc>,
}

impl Entity for ReservationExpiry {
    type Id = (DateTime<Utc>, OrderGroupId);
    const NAME: &'static str = "reservation expiry";
    fn key((at, group): &Self::Id) -> keys::Key {
        keys::reservation_expiry(*at, *group)
    }
    fn key_of(&self) -> keys::Key {
        keys::reservation_expiry(self.expires_at, self.group_id)
    }
}

/// How the ledger names an order group's reservations.
pub fn reference(group: OrderGroupId) -> String {
    format!("order:{group}")
}

fn holds(group: &OrderGroup) -> Vec<Hold> {
    group
        .holds
        .iter()
        .map(|h| Hold { item: (h.vendor_id, h.variant_id, h.location_id), shard: h.shard, quantity: h.quantity })
        .collect()
}

/// Places an order group: reserves every hold, and writes the group (step [`ORDER_GROUP`]: it
/// must not exist yet), its vendor orders and its timer, all or nothing. `Short` names the first
/// hold that cannot be served, in the order of `group.holds`.
pub async fn place(
    table: &Table,
    group: &OrderGroup,
    orders: &[VendorOrder],
    actor: &Actor,
    today: NaiveDate,
) -> Result<(), ReserveError> {
    place_with(table, (group, orders), actor, today, |_| Ok(())).await
}

/// [`place`], with what `with` adds to the same transaction (checkout: the cart emptied, the
/// coupon's use counted, the idempotency record), built anew on every try.
pub async fn place_with(
    table: &Table,
    (group, orders): (&OrderGroup, &[VendorOrder]),
    actor: &Actor,
    today: NaiveDate,
    mut with: impl FnMut(&mut Tx) -> Result<(), StoreError>,
) -> Result<(), ReserveError> {
    let timer = ReservationExpiry { group_id: group.id, expires_at: group.expires_at };
    reservations::reserve(table, &holds(group), &reference(group.id), actor, today, |tx, placed| {
        // The group keeps the holds as placed (a sharded item's shard), to give them back there.
        let placed = placed
            .iter()
            .map(|h| HeldStock {
                vendor_id: h.item.0,
                variant_id: h.item.1,
                location_id: h.item.2,
                shard: h.shard,
                quantity: h.quantity,
            })
            .collect();
        let group = OrderGroup { holds: placed, ..group.clone() };
        tx.put(ORDER_GROUP, &group, Some(Expr::not_exists()))?;
        for order in orders {
            tx.put(VENDOR_ORDER, order, Some(Expr::not_exists()))?;
        }
        tx.put("reservation_expiry", &timer, None)?;
        with(tx)
    })
    .await
}

/// Writes what fulfilment, returns and refunds change of a vendor order (its status, lines,
/// totals, timeline and version) in `tx`, under the version `before` was read at (step
/// [`VENDOR_ORDER`]).
pub(crate) fn write_vendor_order(tx: &mut Tx, before: &VendorOrder, after: &VendorOrder) -> Result<(), StoreError> {
    let set = Expr::new(
        "SET #status = :to, #lines = :lines, totals = :totals, timeline = :timeline, version = :next, updated_at = :now",
    )
    .name("#status", "status")
    .name("#lines", "lines")
    .val(":to", &after.status)
    .val(":lines", &after.lines)
    .val(":totals", &after.totals)
    .val(":timeline", &after.timeline)
    .val(":next", &after.version)
    .val(":now", &after.updated_at);
    let read = Expr::new("version = :read").val(":read", &before.version);
    tx.update::<VendorOrder>(VENDOR_ORDER, &(before.group_id, before.vendor_id), Change::new(set).when(read))?;
    Ok(())
}

/// A vendor's order by its id (`None`: no such order of this vendor).
pub async fn vendor_order(table: &Table, vendor: VendorId, id: OrderId) -> Result<Option<VendorOrder>, StoreError> {
    let found = table.query_up_to(&keys::vendor_order_by_id(vendor, id), 1).await?;
    // The index is eventually consistent: the order itself is read from the table.
    match found.into_iter().next() {
        Some(listed) => table.get::<VendorOrder>(&(listed.group_id, listed.vendor_id)).await,
        None => Ok(None),
    }
}

/// Records the payment a provider opened for the group, once: a group that has one keeps it, and
/// a group that does not exist is not created (both `Ok(false)`; the caller reads the group).
pub async fn set_payment(table: &Table, id: OrderGroupId, session: &PaymentSession) -> Result<bool, StoreError> {
    let change = Change::new(
        Expr::new("SET payment = :payment, updated_at = :now").val(":payment", session).val(":now", &Utc::now()),
    )
    .when(Expr::new(format!("attribute_exists({}) AND attribute_not_exists(payment)", keys::PK)));
    match table.update::<OrderGroup>(&id, change).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn group(table: &Table, id: OrderGroupId) -> Result<Option<OrderGroup>, StoreError> {
    table.get::<OrderGroup>(&id).await
}

/// The vendor orders of a group, by vendor id.
pub async fn orders_of(table: &Table, id: OrderGroupId) -> Result<Vec<VendorOrder>, StoreError> {
    table.query_all(&keys::vendor_orders_of_group(id)).await
}

/// A customer's order groups, oldest first unless the page asks for newest first.
pub async fn of_customer(table: &Table, customer: UserId, page: &PageRequest) -> Result<Page<OrderGroup>, StoreError> {
    table.query(&keys::customer_orders(customer), page).await
}

/// A vendor's orders, oldest first unless the page asks for newest first.
pub async fn of_vendor(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<VendorOrder>, StoreError> {
    table.query(&keys::vendor_orders(vendor), page).await
}

/// Applies `event` to a group and every vendor order in it (the payment's events, its timer, a
/// cancellation before payment), as the status machine judges it on what is stored now:
/// - a move is written under the versions read, with the stock given back in the same
///   transaction when the move frees the reservation, and the timer stopped when the group
///   leaves `pending_payment`; a lost race reads again (up to 5 tries, then `Throttled`);
/// - a payment for a group that expired or was cancelled is recorded among its refunds due
///   (`payment_reference`, once), never kept silently;
/// - a duplicate, stale or refused event writes nothing.
///
/// `None`: no such group.
pub async fn apply_event(
    table: &Table,
    id: OrderGroupId,
    event: OrderEvent,
    payment_reference: Option<&str>,
    note: Option<&str>,
    actor: &Actor,
) -> Result<Option<Outcome>, ReserveError> {
    for _ in 0..MOVE_TRIES {
        let Some(group) = table.get::<OrderGroup>(&id).await? else { return Ok(None) };
        let outcome = order::apply(group.status, event);
        let now = Utc::now();
        let written = match outcome {
            Outcome::Moved { to, reservation } => {
                let orders = orders_of(table, id).await?;
                let steps = |tx: &mut Tx| {
                    move_steps(tx, (&group, &orders), to, reservation, payment_reference, note, now)?;
                    if reservation == ReservationEffect::Release {
                        give_back_limits(tx, &group)?;
                    }
                    Ok(())
                };
                match reservation {
                    ReservationEffect::Release => {
                        reservations::release(table, &holds(&group), &reference(id), actor, steps).await
                    }
                    ReservationEffect::None | ReservationEffect::Confirm => {
                        let mut tx = table.tx();
                        steps(&mut tx)?;
                        table.commit(tx).await.map_err(ReserveError::from)
                    }
                }
            }
            Outcome::RefundDue => match payment_reference {
                Some(paid) if !group.refunds_due.iter().any(|r| r == paid) => {
                    let change = refund_due_change(&group, paid, now);
                    let mut tx = table.tx();
                    tx.update::<OrderGroup>(ORDER_GROUP, &id, change)?;
                    table.commit(tx).await.map_err(ReserveError::from)
                }
                _ => Ok(()),
            },
            Outcome::AlreadyApplied | Outcome::Stale | Outcome::NotAllowed => Ok(()),
        };
        match written {
            Ok(()) => return Ok(Some(outcome)),
            Err(ReserveError::Store(e)) if e.failed_at(ORDER_GROUP) || e.failed_at(VENDOR_ORDER) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the order is changing too fast; try again".into()).into())
}

/// What an unpaid group counted against limits, given back with its stock: the coupon's use and
/// each limited variant's units.
fn give_back_limits(tx: &mut Tx, group: &OrderGroup) -> Result<(), StoreError> {
    if let Some(used) = &group.coupon {
        crate::coupons::give_back(tx, used.coupon_id, &used.customer, group.id)?;
    }
    for limited in &group.limited {
        crate::coupons::give_back_purchase(tx, limited.variant_id, &limited.customer, limited.quantity, group.id)?;
    }
    Ok(())
}

/// The writes of one move: the group and every vendor order to `to` under the versions read, each
/// order's timeline told, and the timer stopped when the reservation is confirmed or released.
fn move_steps(
    tx: &mut Tx,
    (group, orders): (&OrderGroup, &[VendorOrder]),
    to: OrderStatus,
    reservation: ReservationEffect,
    payment_reference: Option<&str>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut set = Expr::new("SET #status = :to, version = :next, updated_at = :now")
        .name("#status", "status")
        .val(":to", &to)
        .val(":next", &(group.version + 1))
        .val(":now", &now);
    if let (Some(paid), OrderStatus::Paid) = (payment_reference, to) {
        set.expression.push_str(", payment_reference = :paid");
        set = set.val(":paid", paid);
    }
    let read = Expr::new("version = :read").val(":read", &group.version);
    tx.update::<OrderGroup>(ORDER_GROUP, &group.id, Change::new(set).when(read))?;
    let entry = TimelineEntry { at: now, status: to, note: note.map(str::to_owned) };
    for order in orders {
        let set = Expr::new(
            "SET #status = :to, version = :next, updated_at = :now, timeline = list_append(timeline, :entry)",
        )
        .name("#status", "status")
        .val(":to", &to)
        .val(":next", &(order.version + 1))
        .val(":now", &now)
        .val(":entry", &vec![entry.clone()]);
        let read = Expr::new("version = :read").val(":read", &order.version);
        tx.update::<VendorOrder>(VENDOR_ORDER, &(order.group_id, order.vendor_id), Change::new(set).when(read))?;
    }
    if reservation != ReservationEffect::None {
        tx.delete::<ReservationExpiry>("reservation_expiry", &(group.expires_at, group.id), None)?;
    }
    if to == OrderStatus::Paid {
        crate::fulfilment::queue_for_picking(tx, orders)?;
    } else if !stockyard_domain::fulfilment::awaits_shipping(to) {
        crate::fulfilment::unqueue(tx, orders)?;
    }
    Ok(())
}

/// Expires every group whose timer ran out by `now` and is still unpaid, giving its stock back;
/// timers of groups that moved on meanwhile are dropped. Returns the groups expired. Each shard
/// is read up to 200 timers a run (the scheduled job runs every minute).
pub async fn expire_due(table: &Table, now: DateTime<Utc>, actor: &Actor) -> Result<Vec<OrderGroupId>, ReserveError> {
    let mut expired = Vec::new();
    for shard in 0..keys::EXPIRY_SHARDS {
        let timers = table.query_up_to(&keys::reservations_expiring(shard), 200).await?;
        for timer in timers.into_iter().take_while(|t| t.expires_at <= now) {
            let outcome =
                apply_event(table, timer.group_id, OrderEvent::Expired, None, Some("unpaid in time"), actor).await?;
            match outcome {
                Some(Outcome::Moved { .. }) => expired.push(timer.group_id),
                _ => table.delete::<ReservationExpiry>(&(timer.expires_at, timer.group_id), None).await?,
            }
        }
    }
    Ok(expired)
}

/// One webhook event a payment provider delivered, recorded once per provider and event id:
/// later deliveries of it are answered without being applied again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentEventRecord {
    /// `card` or `wallet`.
    pub provider: String,
    pub event_id: String,
    /// The provider's event type.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<OrderGroupId>,
    /// What it came to (`moved`, `already_applied`, `stale`, `refund_due`, `not_allowed`,
    /// `amount_mismatch`, `unknown_group`, `ignored`).
    pub outcome: String,
    pub received_at: DateTime<Utc>,
}

impl Entity for PaymentEventRecord {
    type Id = (String, String);
    const NAME: &'static str = "payment event";
    fn key((provider, event): &Self::Id) -> keys::Key {
        keys::payment_event(provider, event)
    }
    fn key_of(&self) -> keys::Key {
        keys::payment_event(&self.provider, &self.event_id)
    }
}

/// The record of a provider's event, if it was applied before.
pub async fn payment_event(
    table: &Table,
    provider: &str,
    event_id: &str,
) -> Result<Option<PaymentEventRecord>, StoreError> {
    table.get::<PaymentEventRecord>(&(provider.to_string(), event_id.to_string())).await
}

/// Records an applied event (the first record of one event stays; a concurrent copy is not an
/// error).
pub async fn record_payment_event(table: &Table, record: &PaymentEventRecord) -> Result<(), StoreError> {
    match table.put(record, Some(Expr::not_exists())).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Records a dispute (chargeback) against the group's payment, once per provider dispute id; a
/// later event of the same dispute updates its status. `false`: no such group.
pub async fn record_dispute(table: &Table, id: OrderGroupId, dispute: &Dispute) -> Result<bool, StoreError> {
    for _ in 0..MOVE_TRIES {
        let Some(group) = table.get::<OrderGroup>(&id).await? else { return Ok(false) };
        let mut disputes = group.disputes.clone();
        match disputes.iter_mut().find(|d| d.provider_dispute_id == dispute.provider_dispute_id) {
            Some(known) if known.status == dispute.status => return Ok(true),
            Some(known) => known.status = dispute.status,
            None => disputes.push(dispute.clone()),
        }
        let change = Change::new(
            Expr::new("SET disputes = :disputes, version = :next, updated_at = :now")
                .val(":disputes", &disputes)
                .val(":next", &(group.version + 1))
                .val(":now", &Utc::now()),
        )
        .when(Expr::new("version = :read").val(":read", &group.version));
        match table.update::<OrderGroup>(&id, change).await {
            Ok(_) => return Ok(true),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the order is changing too fast; try again".into()))
}

/// Adds a payment the provider took but the group must not keep (a wrong amount or currency) to
/// its refunds due, once. `false`: no such group.
pub async fn flag_refund(table: &Table, id: OrderGroupId, payment_reference: &str) -> Result<bool, StoreError> {
    for _ in 0..MOVE_TRIES {
        let Some(group) = table.get::<OrderGroup>(&id).await? else { return Ok(false) };
        if group.refunds_due.iter().any(|r| r == payment_reference) {
            return Ok(true);
        }
        match table.update::<OrderGroup>(&id, refund_due_change(&group, payment_reference, Utc::now())).await {
            Ok(_) => return Ok(true),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the order is changing too fast; try again".into()))
}

fn refund_due_change(group: &OrderGroup, payment_reference: &str, now: DateTime<Utc>) -> Change {
    Change::new(
        Expr::new(
            "SET refunds_due = list_append(if_not_exists(refunds_due, :none), :paid), version = :next, updated_at = :now",
        )
        .val(":none", &Vec::<String>::new())
        .val(":paid", &vec![payment_reference.to_string()])
        .val(":next", &(group.version + 1))
        .val(":now", &now),
    )
    .when(Expr::new("version = :read").val(":read", &group.version))
}
