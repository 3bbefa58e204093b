//! Returns, refunds and credit notes (see `stockyard_domain::returns` for the rules).
//!
//! A return sits in its group's partition beside the vendor order (`RETURN#<vendor>#<id>`) and on
//! the vendor's listing (`VENDORRETURNS#<vendor>` on GSI1). The vendor's decision is one write
//! under the return's version. The goods' arrival is one transaction: the return moves to
//! `received` and names its refund, the vendor order counts the units returned (under the
//! versions read), each restocked line's stock item takes its units back on hand with its
//! ledger movement (`customer_return`, into the batch named for perishable variants), and the
//! refund is written `pending`. A lost race reads everything again.
//!
//! A refund is settled by the provider's word ([`settle`]). Success is one transaction too: the
//! refund moves from `pending` (or `failed`) to `succeeded` under its version, which happens once
//! however often the provider's webhook repeats; the vendor's sequence hands the credit note its
//! number (shared with the invoices: [`crate::billing::SEQUENCE_MOVED`] when another document
//! took it meanwhile); the credit note is written; the vendor order counts the amount refunded
//! (and moves to `refunded` when that is all it cost); the return moves to `refunded`; and the
//! group follows when every vendor order of it is refunded.

use std::time::Duration;

use chrono::Utc;
use stockyard_domain::ids::{LocationId, OrderGroupId, RefundId, ReturnId, VendorId};
use stockyard_domain::order::{OrderGroup, OrderStatus, VendorOrder};
use stockyard_domain::returns::{
    self, CreditNote, InspectedLine, ProviderRefundState, Refund, RefundDue, RefundStatus, ReturnError, ReturnRequest,
    ReturnStatus,
};
use stockyard_domain::stock::{Actor, BatchQuantity, MovementReason, StockError, StockItem};

use crate::billing::{InvoiceSequenceRecord, SEQUENCE_MOVED};
use crate::entity::Entity;
use crate::orders::{ORDER_GROUP, VENDOR_ORDER};
use crate::stock::STOCK_CHANGED;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

/// The transaction step of a return's write.
pub const RETURN: &str = "return";
/// The transaction step of a refund's write.
pub const REFUND: &str = "refund";
/// The transaction step of a credit note's write.
const CREDIT_NOTE: &str = "credit_note";
/// Tries of a write that lost a race on its order, return, stock or sequence.
const TRIES: u32 = 8;

impl Entity for ReturnRequest {
    type Id = (OrderGroupId, VendorId, ReturnId);
    const NAME: &'static str = "return";
    fn key((group, vendor, id): &Self::Id) -> keys::Key {
        keys::return_request(*group, *vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::return_request(self.group_id, self.vendor_id, self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::vendor_return_listing(self.vendor_id, self.id))
    }
}

impl Entity for Refund {
    type Id = (OrderGroupId, RefundId);
    const NAME: &'static str = "refund";
    fn key((group, id): &Self::Id) -> keys::Key {
        keys::refund(*group, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::refund(self.group_id, self.id)
    }
}

impl Entity for CreditNote {
    type Id = (OrderGroupId, RefundId);
    const NAME: &'static str = "credit note";
    fn key((group, refund): &Self::Id) -> keys::Key {
        keys::credit_note(*group, *refund)
    }
    fn key_of(&self) -> keys::Key {
        keys::credit_note(self.group_id, self.refund_id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::vendor_credit_note_listing(self.vendor_id, self.sequence))
    }
}

/// The returns of a group, every vendor's.
pub async fn of_group(table: &Table, group: OrderGroupId) -> Result<Vec<ReturnRequest>, StoreError> {
    table.query_all(&keys::returns_of_group(group)).await
}

/// One of the vendor's returns.
pub async fn of_vendor_by_id(
    table: &Table,
    vendor: VendorId,
    id: ReturnId,
) -> Result<Option<ReturnRequest>, StoreError> {
    let found = table.query_all(&keys::vendor_return_by_id(vendor, id)).await?;
    // The index is eventually consistent: the return itself is read from the table.
    match found.into_iter().next() {
        Some(r) => table.get::<ReturnRequest>(&(r.group_id, vendor, id)).await,
        None => Ok(None),
    }
}

/// The vendor's returns, newest first by default, only those at `status` when given.
pub async fn of_vendor(
    table: &Table,
    vendor: VendorId,
    status: Option<ReturnStatus>,
    page: &PageRequest,
) -> Result<Page<ReturnRequest>, StoreError> {
    let filter = status.map(|s| Expr::new("#status = :status").name("#status", "status").val(":status", &s));
    table.query_filtered(&keys::vendor_returns(vendor), page, filter, |_| true).await
}

/// Writes a new return (with whatever else `with` adds to its transaction: the idempotency
/// record).
pub async fn open(
    table: &Table,
    ret: &ReturnRequest,
    with: impl FnOnce(&mut Tx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut tx = table.tx();
    tx.put(RETURN, ret, Some(Expr::not_exists()))?;
    with(&mut tx)?;
    table.commit(tx).await
}

fn write_return(tx: &mut Tx, before_version: u64, after: &ReturnRequest) -> Result<(), StoreError> {
    let set = Expr::new(
        "SET #status = :status, timeline = :timeline, inspected = :inspected, version = :next, updated_at = :now",
    )
    .name("#status", "status")
    .val(":status", &after.status)
    .val(":timeline", &after.timeline)
    .val(":inspected", &after.inspected)
    .val(":next", &after.version)
    .val(":now", &after.updated_at);
    let set = match after.refund_id {
        Some(refund) => {
            let mut set = set.val(":refund", &refund);
            set.expression.push_str(", refund_id = :refund");
            set
        }
        None => set,
    };
    let read = Expr::new("version = :read").val(":read", &before_version);
    tx.update::<ReturnRequest>(RETURN, &(after.group_id, after.vendor_id, after.id), Change::new(set).when(read))?;
    Ok(())
}

/// Writes the vendor's decision on a return, under the version read; `with` adds to the
/// transaction (the idempotency record). `Conflict` at [`RETURN`] when it changed meanwhile.
pub async fn write_decision(
    table: &Table,
    before_version: u64,
    after: &ReturnRequest,
    with: impl FnOnce(&mut Tx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut tx = table.tx();
    write_return(&mut tx, before_version, after)?;
    with(&mut tx)?;
    table.commit(tx).await
}

/// Why the goods' arrival could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveFailure {
    #[error("no such return or order")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] ReturnError),
    /// A restocked line cannot go where it was sent (names the line by its index).
    #[error("line {index}: {error}")]
    Stock { index: usize, error: StockError },
    /// The variant has no stock at the location named for a line.
    #[error("line {0}: no stock of the variant at that location")]
    NoStockHere(usize),
    /// A line restocks a perishable variant without naming the lot the units go into.
    #[error("line {0}: a perishable variant is restocked into a lot")]
    NeedsLot(usize),
    /// The group was paid without a provider reference to refund.
    #[error("the order's payment has no provider reference to refund")]
    NotRefundable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What arrived of one line of a return, as the vendor recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivedLine {
    /// The line of the return (its index there).
    pub index: usize,
    pub restocked: u32,
    pub written_off: u32,
    /// Where restocked units go (default: where the line shipped from).
    pub location: Option<LocationId>,
    /// The lot they go into (perishable variants).
    pub batch: Option<returns::RestockBatch>,
}

/// What [`receive`] recorded.
#[derive(Debug, Clone)]
pub struct Received {
    pub ret: ReturnRequest,
    pub order: VendorOrder,
    pub refund: Refund,
}

/// Records the arrival of an approved return's goods (see the module's documentation); `with`
/// adds to the transaction (the idempotency record). A restocked line without a location goes
/// back to where the line shipped from.
#[allow(clippy::too_many_arguments)]
pub async fn receive(
    table: &Table,
    (vendor, id): (VendorId, ReturnId),
    lines: &[ArrivedLine],
    refund_shipping: bool,
    actor: &Actor,
    mut with: impl FnMut(&mut Tx, &Received) -> Result<(), StoreError>,
) -> Result<Received, ReceiveFailure> {
    let refund_id = RefundId::generate();
    for attempt in 0..TRIES {
        let Some(ret) = of_vendor_by_id(table, vendor, id).await? else { return Err(ReceiveFailure::NotFound) };
        let order_key = (ret.group_id, vendor);
        let (order, group) =
            tokio::try_join!(table.get::<VendorOrder>(&order_key), table.get::<OrderGroup>(&ret.group_id))?;
        let (Some(order), Some(group)) = (order, group) else { return Err(ReceiveFailure::NotFound) };
        let (Some(provider), Some(reference)) = (group.payment_provider, group.payment_reference.clone()) else {
            return Err(ReceiveFailure::NotRefundable);
        };
        // Each line of the request names a line of the return by index (checked by the caller).
        let mut inspected = Vec::with_capacity(lines.len());
        for (position, line) in lines.iter().enumerate() {
            let asked = ret.lines.get(line.index).ok_or_else(|| {
                ReturnError::Field(stockyard_domain::FieldError::new(
                    format!("lines[{position}].sku"),
                    "is not a line of this return",
                ))
            })?;
            let shipped_from = order
                .lines
                .iter()
                .find(|l| l.variant_id == asked.variant_id)
                .and_then(|l| l.allocations.iter().find(|a| a.shipped > 0))
                .map(|a| a.location_id);
            let Some(location_id) = line.location.or(shipped_from) else {
                return Err(ReceiveFailure::NoStockHere(position));
            };
            inspected.push(InspectedLine {
                variant_id: asked.variant_id,
                sku: asked.sku.clone(),
                restocked: line.restocked,
                written_off: line.written_off,
                location_id,
                batch: line.batch.clone(),
            });
        }
        let now = Utc::now();
        let mut ret_after = ret.clone();
        let mut order_after = order.clone();
        let due: RefundDue =
            returns::receive(&mut ret_after, &mut order_after, inspected.clone(), refund_shipping, now)?;
        ret_after.refund_id = Some(refund_id);
        let refund = Refund {
            id: refund_id,
            group_id: ret.group_id,
            order_id: ret.order_id,
            vendor_id: vendor,
            return_id: Some(ret.id),
            provider,
            payment_reference: reference,
            lines: due.lines,
            shipping: due.shipping,
            amount: due.amount,
            status: RefundStatus::Pending,
            attempts: 0,
            provider_refund_id: None,
            failure: None,
            credit_note: None,
            created_at: now,
            settled_at: None,
            version: 1,
        };
        let mut tx = table.tx();
        write_return(&mut tx, ret.version, &ret_after)?;
        crate::orders::write_vendor_order(&mut tx, &order, &order_after)?;
        tx.put(REFUND, &refund, Some(Expr::not_exists()))?;
        let reference = format!("RETURN#{}", ret.id);
        for (index, line) in inspected.iter().enumerate().filter(|(_, l)| l.restocked > 0) {
            let item = table.get::<StockItem>(&(vendor, line.variant_id, line.location_id)).await?;
            let Some(before) = item else { return Err(ReceiveFailure::NoStockHere(index)) };
            let mut after = before.clone();
            let batches: Vec<BatchQuantity> = match (&line.batch, before.perishable) {
                (Some(b), true) => vec![BatchQuantity {
                    lot: b.lot.clone(),
                    expires_on: b.expires_on,
                    quantity: i64::from(line.restocked),
                }],
                (None, true) => return Err(ReceiveFailure::NeedsLot(index)),
                _ => Vec::new(),
            };
            let quantity = i64::from(line.restocked);
            after.apply(quantity, &batches, now).map_err(|error| ReceiveFailure::Stock { index, error })?;
            let mut movement = crate::stock::movement_of(
                &after,
                None,
                (after.version, after.on_hand, quantity, 0),
                (&reference, actor, MovementReason::CustomerReturn),
                Some(format!("return of order {}", order.id)),
                now,
            );
            movement.batches = batches;
            tx = tx.and(crate::stock::change(table, Some(&before), &after, &movement, 0)?);
        }
        let received = Received { ret: ret_after, order: order_after, refund };
        with(&mut tx, &received)?;
        match table.commit(tx).await {
            Ok(()) => return Ok(received),
            Err(e)
                if e.failed_at(RETURN)
                    || e.failed_at(VENDOR_ORDER)
                    || e.failed_at(STOCK_CHANGED)
                    || e.failed_at("movement")
                    || e.is_transient() =>
            {
                tokio::time::sleep(Duration::from_millis(5 + 20 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Throttled("the return or its order is changing too fast; try again".into()).into())
}

/// A refund.
pub async fn refund(table: &Table, group: OrderGroupId, id: RefundId) -> Result<Option<Refund>, StoreError> {
    table.get::<Refund>(&(group, id)).await
}

/// The refunds of a group, oldest first.
pub async fn refunds_of_group(table: &Table, group: OrderGroupId) -> Result<Vec<Refund>, StoreError> {
    table.query_all(&keys::refunds_of_group(group)).await
}

/// The credit notes of a group.
pub async fn credit_notes_of_group(table: &Table, group: OrderGroupId) -> Result<Vec<CreditNote>, StoreError> {
    table.query_all(&keys::credit_notes_of_group(group)).await
}

/// A vendor's credit notes by number.
pub async fn credit_notes_of_vendor(
    table: &Table,
    vendor: VendorId,
    page: &PageRequest,
) -> Result<Page<CreditNote>, StoreError> {
    table.query(&keys::vendor_credit_notes(vendor), page).await
}

/// Counts a send of a pending (or failed) refund to its provider before it is made: the attempt
/// names the provider's idempotency key. Answers the refund as it now is, or `None` when it is
/// settled already (nothing to send).
pub async fn begin_attempt(table: &Table, refund: &Refund, again: bool) -> Result<Option<Refund>, StoreError> {
    let mut after = refund.clone();
    match (refund.status, again) {
        (RefundStatus::Succeeded, _) => return Ok(None),
        // A pending refund never sent, or sent without an answer: the same attempt again.
        (RefundStatus::Pending, false) if refund.attempts > 0 => return Ok(Some(refund.clone())),
        (RefundStatus::Pending, _) | (RefundStatus::Failed, _) => {
            after.attempts += 1;
            after.status = RefundStatus::Pending;
            after.failure = None;
            after.version += 1;
        }
    }
    let change = Change::new(
        Expr::new("SET attempts = :attempts, #status = :pending, version = :next REMOVE failure")
            .name("#status", "status")
            .val(":attempts", &after.attempts)
            .val(":pending", &RefundStatus::Pending)
            .val(":next", &after.version),
    )
    .when(Expr::new("version = :read").val(":read", &refund.version));
    match table.update::<Refund>(&(refund.group_id, refund.id), change).await {
        Ok(_) => Ok(Some(after)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Keeps the provider's id of a refund it accepted (once: the first answer stays).
pub async fn note_provider_id(table: &Table, refund: &Refund, provider_id: &str) -> Result<(), StoreError> {
    let change = Change::new(Expr::new("SET provider_refund_id = :id").val(":id", &provider_id))
        .when(Expr::new("attribute_not_exists(provider_refund_id)"));
    match table.update::<Refund>(&(refund.group_id, refund.id), change).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What the provider's word on a refund came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// No such refund of that group.
    Unknown,
    /// Said before (a repeated webhook), or the refund is settled otherwise: nothing changed.
    AlreadySettled,
    /// The provider is still working on it: nothing changed.
    StillPending,
    /// Recorded now: succeeded (with its credit note) or failed.
    Recorded(Box<Refund>),
}

/// Records the provider's word on a refund (see the module's documentation): success exactly
/// once, with its credit note; failure on a pending refund (it may be sent again). A success
/// needs the vendor order's invoice (written when the group was paid): without it, `Malformed`.
pub async fn settle(
    table: &Table,
    (group_id, id): (OrderGroupId, RefundId),
    state: ProviderRefundState,
    provider_id: Option<&str>,
    failure: Option<&str>,
) -> Result<Settled, StoreError> {
    for attempt in 0..TRIES * 2 {
        let Some(refund) = refund(table, group_id, id).await? else { return Ok(Settled::Unknown) };
        if refund.status == RefundStatus::Succeeded {
            return Ok(Settled::AlreadySettled);
        }
        let now = Utc::now();
        match state {
            ProviderRefundState::Pending => return Ok(Settled::StillPending),
            ProviderRefundState::Failed => {
                if refund.status == RefundStatus::Failed {
                    return Ok(Settled::AlreadySettled);
                }
                let mut after = refund.clone();
                after.status = RefundStatus::Failed;
                after.failure = Some(failure.unwrap_or("the provider could not refund").chars().take(500).collect());
                after.version += 1;
                let change = Change::new(
                    Expr::new("SET #status = :failed, failure = :why, version = :next")
                        .name("#status", "status")
                        .val(":failed", &after.status)
                        .val(":why", &after.failure)
                        .val(":next", &after.version),
                )
                .when(Expr::new("version = :read").val(":read", &refund.version));
                match table.update::<Refund>(&(group_id, id), change).await {
                    Ok(_) => return Ok(Settled::Recorded(Box::new(after))),
                    Err(StoreError::ConditionFailed) => continue,
                    Err(e) => return Err(e),
                }
            }
            ProviderRefundState::Succeeded => {}
        }
        let order_key = (group_id, refund.vendor_id);
        let (order, group, siblings, invoice, last) = tokio::try_join!(
            table.get::<VendorOrder>(&order_key),
            table.get::<OrderGroup>(&group_id),
            crate::orders::orders_of(table, group_id),
            crate::billing::invoice(table, group_id, refund.vendor_id),
            crate::billing::last_invoice_number(table, refund.vendor_id),
        )?;
        let (Some(order), Some(group)) = (order, group) else { return Ok(Settled::Unknown) };
        let invoice = invoice.ok_or_else(|| {
            StoreError::Malformed(format!("order {} has no invoice yet to credit; try again shortly", order.id))
        })?;
        let sequence = last + 1;
        let note = CreditNote::of(&invoice, &refund, sequence, now)
            .map_err(|e| StoreError::Malformed(format!("a refund that cannot be credited: {e}")))?;
        let mut order_after = order.clone();
        let moved = returns::count_refund(&mut order_after, &refund, now)
            .map_err(|e| StoreError::Malformed(format!("a refund that cannot be counted: {e}")))?;
        let mut after = refund.clone();
        after.status = RefundStatus::Succeeded;
        after.failure = None;
        after.credit_note = Some(note.number.clone());
        after.settled_at = Some(now);
        after.provider_refund_id = after.provider_refund_id.or(provider_id.map(str::to_string));
        after.version += 1;

        let mut tx = table.tx();
        let taken = if last == 0 {
            Expr::new("attribute_not_exists(PK)")
        } else {
            Expr::new("#last = :read").name("#last", "last").val(":read", &last)
        };
        let sequence_change = Change::new(
            Expr::new("SET #last = :next, vendor_id = :vendor")
                .name("#last", "last")
                .val(":next", &sequence)
                .val(":vendor", &refund.vendor_id),
        )
        .when(taken);
        tx.update::<InvoiceSequenceRecord>(SEQUENCE_MOVED, &refund.vendor_id, sequence_change)?;
        tx.put(CREDIT_NOTE, &note, Some(Expr::not_exists()))?;
        let mut set = Expr::new(
            "SET #status = :succeeded, credit_note = :note, settled_at = :now, version = :next REMOVE failure",
        )
        .name("#status", "status")
        .val(":succeeded", &RefundStatus::Succeeded)
        .val(":note", &note.number)
        .val(":now", &now)
        .val(":next", &after.version);
        if let Some(provider_id) = provider_id {
            // The id the provider's answer noted first stays.
            set = set.val(":pid", &provider_id);
            set.expression = set.expression.replacen(
                "version = :next",
                "version = :next, provider_refund_id = if_not_exists(provider_refund_id, :pid)",
                1,
            );
        }
        let refund_change = Change::new(set).when(Expr::new("version = :read").val(":read", &refund.version));
        tx.update::<Refund>(REFUND, &(group_id, id), refund_change)?;
        crate::orders::write_vendor_order(&mut tx, &order, &order_after)?;
        if let Some(return_id) = refund.return_id
            && let Some(ret) = table.get::<ReturnRequest>(&(group_id, refund.vendor_id, return_id)).await?
            && ret.status == ReturnStatus::Received
        {
            let mut ret_after = ret.clone();
            ret_after.status = ReturnStatus::Refunded;
            ret_after.timeline.push(returns::ReturnStep {
                at: now,
                status: ReturnStatus::Refunded,
                note: Some(format!("{} refunded, credit note {}", refund.amount, note.number)),
            });
            ret_after.version += 1;
            ret_after.updated_at = now;
            write_return(&mut tx, ret.version, &ret_after)?;
        }
        let all_refunded = siblings
            .iter()
            .map(|o| if o.vendor_id == order.vendor_id { order_after.status } else { o.status })
            .all(|s| s == OrderStatus::Refunded);
        if moved && all_refunded && group.status != OrderStatus::Refunded {
            let change = Change::new(
                Expr::new("SET #status = :status, version = :next, updated_at = :now")
                    .name("#status", "status")
                    .val(":status", &OrderStatus::Refunded)
                    .val(":next", &(group.version + 1))
                    .val(":now", &now),
            )
            .when(Expr::new("version = :read").val(":read", &group.version));
            tx.update::<OrderGroup>(ORDER_GROUP, &group_id, change)?;
        }
        match table.commit(tx).await {
            Ok(()) => return Ok(Settled::Recorded(Box::new(after))),
            Err(e) if e.failed_at(REFUND) || e.failed_at(CREDIT_NOTE) => continue,
            Err(e)
                if e.failed_at(SEQUENCE_MOVED)
                    || e.failed_at(VENDOR_ORDER)
                    || e.failed_at(RETURN)
                    || e.failed_at(ORDER_GROUP)
                    || e.is_transient() =>
            {
                let pause = 5 + u64::from(attempt) * 10 + u64::from(ulid::Ulid::new().random() as u8 % 20);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the refund's order or the vendor's numbers are busy; try again".into()))
}
