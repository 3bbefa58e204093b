//! Returns and refunds.
//!
//! A customer asks to send back units of a vendor order's lines that have shipped, each with a
//! reason, within [`RETURN_WINDOW_DAYS`] of the order's delivery. The vendor approves or rejects
//! the request. When the goods arrive, the vendor records what came back, line by line: units
//! restocked (on hand again, through the ledger, into a batch for perishable variants) and units
//! written off. What came back is refunded: each line's share of what the customer paid for it,
//! and the shipping when the vendor says so. The refund goes through the payment provider that
//! took the payment; it is settled (succeeded or failed) by the provider's webhook, exactly once
//! however often that repeats, and a refund that succeeded gets a credit note numbered in the
//! vendor's invoice sequence.
//!
//! Money is exact. A line's refund for `k` more units when `r` were refunded before is
//! `part(total, r + k) - part(total, r)` with `part(total, n) = ⌊total × n ÷ quantity⌋`: the
//! parts of a line add up to exactly what was paid for it, however its units come back.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::billing::{Buyer, Invoice, Lang, Seller};
use crate::ids::{LocationId, OrderGroupId, OrderId, RefundId, ReturnId, UserId, VariantId, VendorId};
use crate::money::{Currency, Money, MoneyError};
use crate::order::{self, OrderEvent, OrderStatus, Outcome, TimelineEntry, VendorOrder};
use crate::payment::Provider;

/// Days after an order's delivery during which its customer may ask to return it.
pub const RETURN_WINDOW_DAYS: i64 = 30;
/// The most lines one return names (each restocked line writes its stock item and movement in
/// the transaction that records the goods' arrival).
pub const MAX_RETURN_LINES: usize = 20;
/// The longest comment, note or reason text kept.
pub const MAX_TEXT: usize = 1000;

/// Why the customer sends units back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    Damaged,
    Defective,
    WrongItem,
    NotAsDescribed,
    NoLongerNeeded,
    Other,
}

/// Where a return stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// Asked for by the customer; the vendor decides.
    Requested,
    /// The vendor accepts it: the customer sends the goods.
    Approved,
    /// The vendor refused it (terminal).
    Rejected,
    /// The goods arrived and were inspected; the refund went to the payment provider.
    Received,
    /// The provider refunded the customer (terminal).
    Refunded,
}

impl ReturnStatus {
    pub const ALL: [ReturnStatus; 5] = [
        ReturnStatus::Requested,
        ReturnStatus::Approved,
        ReturnStatus::Rejected,
        ReturnStatus::Received,
        ReturnStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Requested => "requested",
            ReturnStatus::Approved => "approved",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Received => "received",
            ReturnStatus::Refunded => "refunded",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
            FieldError::new(field, format!("must be one of {}", all.join(", ")))
        })
    }

    /// Whether the return's units still count against what may be returned of the order.
    fn counts(self) -> bool {
        matches!(self, ReturnStatus::Requested | ReturnStatus::Approved)
    }
}

impl std::fmt::Display for ReturnStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Units of one order line the customer sends back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnLine {
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub reason: ReturnReason,
}

/// A lot and expiry date restocked units go into (perishable variants).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RestockBatch {
    #[schema(example = "LOT-2026-11-A")]
    pub lot: String,
    pub expires_on: NaiveDate,
}

/// What came back of one line, as the vendor inspected it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InspectedLine {
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units back on hand, sellable again.
    pub restocked: u32,
    /// Units that came back unsellable.
    pub written_off: u32,
    /// Where the restocked units went.
    pub location_id: LocationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<RestockBatch>,
}

impl InspectedLine {
    pub fn units(&self) -> u32 {
        self.restocked + self.written_off
    }
}

/// One step of a return's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReturnStep {
    pub at: DateTime<Utc>,
    pub status: ReturnStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A customer's request to send back units of one vendor order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReturnRequest {
    pub id: ReturnId,
    pub group_id: OrderGroupId,
    pub order_id: OrderId,
    pub vendor_id: VendorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<UserId>,
    pub status: ReturnStatus,
    pub lines: Vec<ReturnLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What came back, once the goods arrived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inspected: Vec<InspectedLine>,
    /// The refund of what came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    pub timeline: Vec<ReturnStep>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a return cannot be asked for or moved on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    /// The order has shipped nothing, or was refunded.
    #[error("an order that is {0} has nothing to return")]
    NotReturnable(OrderStatus),
    /// More than [`RETURN_WINDOW_DAYS`] after the delivery.
    #[error("the return window closed on {0}")]
    WindowClosed(NaiveDate),
    /// The return is not where the step needs it.
    #[error("a return that is {0} cannot be {1}")]
    State(ReturnStatus, &'static str),
    /// Something asked for is wrong (names the field).
    #[error("{0}")]
    Field(FieldError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

impl From<FieldError> for ReturnError {
    fn from(e: FieldError) -> Self {
        ReturnError::Field(e)
    }
}

/// When the order was delivered (the last time it moved to `delivered`).
pub fn delivered_at(order: &VendorOrder) -> Option<DateTime<Utc>> {
    order.timeline.iter().rev().find(|t| t.status == OrderStatus::Delivered).map(|t| t.at)
}

/// The last day a return may be asked for: the delivery's day plus the window (none before the
/// order is delivered: shipped units may be sent back as soon as they arrive).
pub fn window_closes(order: &VendorOrder) -> Option<NaiveDate> {
    delivered_at(order).map(|at| (at + TimeDelta::days(RETURN_WINDOW_DAYS)).date_naive())
}

/// Units of `variant` in `order` that shipped and are neither refunded nor in an open return.
pub fn returnable(order: &VendorOrder, open: &[ReturnRequest], variant: VariantId) -> u32 {
    let Some(line) = order.lines.iter().find(|l| l.variant_id == variant) else { return 0 };
    let shipped: u32 = line.allocations.iter().map(|a| a.shipped).sum();
    let asked: u32 = open
        .iter()
        .filter(|r| r.order_id == order.id && r.status.counts())
        .flat_map(|r| r.lines.iter().filter(|l| l.variant_id == variant))
        .map(|l| l.quantity)
        .sum();
    shipped.saturating_sub(line.returned).saturating_sub(asked)
}

/// Checks a request to return `lines` (variant, units, reason) of `order` on `today`, given the
/// order's other returns, and answers the lines as the return keeps them. Each variant once,
/// 1 up to [`returnable`] units; nothing is returnable of an order that has not shipped, was
/// refunded, or was delivered more than [`RETURN_WINDOW_DAYS`] ago.
pub fn request(
    order: &VendorOrder,
    others: &[ReturnRequest],
    lines: &[(VariantId, u32, ReturnReason)],
    today: NaiveDate,
) -> Result<Vec<ReturnLine>, ReturnError> {
    if !matches!(order.status, OrderStatus::PartiallyShipped | OrderStatus::Shipped | OrderStatus::Delivered) {
        return Err(ReturnError::NotReturnable(order.status));
    }
    if let Some(closes) = window_closes(order).filter(|closes| today > *closes) {
        return Err(ReturnError::WindowClosed(closes));
    }
    if lines.is_empty() || lines.len() > MAX_RETURN_LINES {
        return Err(FieldError::new("lines", format!("must hold 1 to {MAX_RETURN_LINES} lines")).into());
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, &(variant, quantity, reason)) in lines.iter().enumerate() {
        if lines[..i].iter().any(|l| l.0 == variant) {
            return Err(FieldError::new(format!("lines[{i}].sku"), "names a line twice").into());
        }
        let line = order
            .lines
            .iter()
            .find(|l| l.variant_id == variant)
            .ok_or_else(|| FieldError::new(format!("lines[{i}].sku"), "is not a line of this order"))?;
        let left = returnable(order, others, variant);
        if left == 0 {
            return Err(FieldError::new(
                format!("lines[{i}].sku"),
                "has no units to return: none shipped, or all are refunded or in another return",
            )
            .into());
        }
        if quantity == 0 || quantity > left {
            return Err(FieldError::new(format!("lines[{i}].quantity"), format!("must be between 1 and {left}")).into());
        }
        out.push(ReturnLine {
            variant_id: variant,
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity,
            reason,
        });
    }
    Ok(out)
}

impl ReturnRequest {
    /// A new return of `lines` (as [`request`] checked them) of `order`, asked for at `now`.
    pub fn new(
        order: &VendorOrder,
        customer_id: Option<UserId>,
        lines: Vec<ReturnLine>,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ReturnId::generate(),
            group_id: order.group_id,
            order_id: order.id,
            vendor_id: order.vendor_id,
            customer_id,
            status: ReturnStatus::Requested,
            lines,
            comment,
            inspected: Vec::new(),
            refund_id: None,
            timeline: vec![ReturnStep { at: now, status: ReturnStatus::Requested, note: None }],
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn step(&mut self, status: ReturnStatus, note: Option<String>, now: DateTime<Utc>) {
        self.status = status;
        self.timeline.push(ReturnStep { at: now, status, note });
        self.version += 1;
        self.updated_at = now;
    }

    /// The vendor's decision on a requested return (a rejection may also come after approval,
    /// when the goods never arrive). Deciding again the same way is refused as well: the caller
    /// replays a retried request through its idempotency key.
    pub fn decide(&mut self, approve: bool, note: Option<String>, now: DateTime<Utc>) -> Result<(), ReturnError> {
        match (self.status, approve) {
            (ReturnStatus::Requested, true) => self.step(ReturnStatus::Approved, note, now),
            (ReturnStatus::Requested | ReturnStatus::Approved, false) => self.step(ReturnStatus::Rejected, note, now),
            (status, true) => return Err(ReturnError::State(status, "approved")),
            (status, false) => return Err(ReturnError::State(status, "rejected")),
        }
        Ok(())
    }
}

/// `n` of `quantity` units' share of `total`, rounded down (exact at `n == quantity`).
fn part(total: Money, n: u32, quantity: u32) -> Money {
    if quantity == 0 {
        return Money::zero(total.currency);
    }
    let amount = i128::from(total.amount) * i128::from(n) / i128::from(quantity);
    Money::new(amount as i64, total.currency)
}

/// One line of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundLine {
    pub variant_id: VariantId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    /// What is refunded for the units, tax included.
    pub amount: Money,
    /// Of `amount`, the tax.
    pub tax: Money,
}

/// What the arrival of a return's goods refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDue {
    pub lines: Vec<RefundLine>,
    pub shipping: Money,
    pub amount: Money,
}

/// Records that the goods of an approved return arrived: `inspected` says, per line of the
/// return, what was restocked and what written off (together at most the units asked for); the
/// order counts the units as returned, and `refund_shipping` refunds the order's shipping (once
/// per order). Answers what is to be refunded. Nothing changes on an error.
pub fn receive(
    ret: &mut ReturnRequest,
    order: &mut VendorOrder,
    inspected: Vec<InspectedLine>,
    refund_shipping: bool,
    now: DateTime<Utc>,
) -> Result<RefundDue, ReturnError> {
    if ret.status != ReturnStatus::Approved {
        return Err(ReturnError::State(ret.status, "received"));
    }
    if inspected.is_empty() || inspected.len() > ret.lines.len() {
        let n = ret.lines.len();
        return Err(FieldError::new("lines", format!("must hold 1 to {n} lines (the return's)")).into());
    }
    let currency = order.totals.total.currency;
    let mut after = order.clone();
    let mut lines = Vec::new();
    let mut amount = Money::zero(currency);
    for (i, got) in inspected.iter().enumerate() {
        if inspected[..i].iter().any(|l| l.variant_id == got.variant_id) {
            return Err(FieldError::new(format!("lines[{i}].sku"), "names a line twice").into());
        }
        let asked = ret
            .lines
            .iter()
            .find(|l| l.variant_id == got.variant_id)
            .ok_or_else(|| FieldError::new(format!("lines[{i}].sku"), "is not a line of this return"))?;
        let line = after
            .lines
            .iter_mut()
            .find(|l| l.variant_id == got.variant_id)
            .ok_or_else(|| FieldError::new(format!("lines[{i}].sku"), "is not a line of the order"))?;
        let shipped: u32 = line.allocations.iter().map(|a| a.shipped).sum();
        let most = asked.quantity.min(shipped.saturating_sub(line.returned));
        let units = got.units();
        if units > most {
            return Err(FieldError::new(
                format!("lines[{i}]"),
                format!("restocked and written off together must be at most {most} (the units asked for)"),
            )
            .into());
        }
        if units == 0 {
            continue;
        }
        let before = line.returned;
        line.returned += units;
        let share =
            part(line.total, line.returned, line.quantity).checked_sub(part(line.total, before, line.quantity))?;
        let tax = part(line.tax, line.returned, line.quantity).checked_sub(part(line.tax, before, line.quantity))?;
        amount = amount.checked_add(share)?;
        lines.push(RefundLine {
            variant_id: line.variant_id,
            sku: line.sku.clone(),
            title: line.title.clone(),
            quantity: units,
            amount: share,
            tax,
        });
    }
    let mut shipping = Money::zero(currency);
    if refund_shipping {
        if after.totals.refunded_shipping.is_some() {
            return Err(FieldError::new("refund_shipping", "this order's shipping was refunded already").into());
        }
        shipping = after.totals.shipping;
        after.totals.refunded_shipping = Some(shipping);
        amount = amount.checked_add(shipping)?;
    }
    if amount.amount <= 0 {
        return Err(FieldError::new(
            "lines",
            "nothing to refund: record at least one unit (or the shipping), or reject the return",
        )
        .into());
    }
    let note = format!("{} units received", inspected.iter().map(InspectedLine::units).sum::<u32>());
    after.timeline.push(TimelineEntry { at: now, status: after.status, note: Some(format!("return: {note}")) });
    after.version += 1;
    after.updated_at = now;
    ret.inspected = inspected;
    ret.step(ReturnStatus::Received, Some(note), now);
    *order = after;
    Ok(RefundDue { lines, shipping, amount })
}

/// Where a refund stands at the payment provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Recorded; sent (or to be sent) to the provider, which has not said how it went.
    Pending,
    /// The provider gave the money back (terminal).
    Succeeded,
    /// The provider could not give it back (the reason says why); it may be sent again.
    Failed,
}

/// Money given back to a customer for part of one vendor order, through the provider that took
/// the payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: RefundId,
    pub group_id: OrderGroupId,
    pub order_id: OrderId,
    pub vendor_id: VendorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_id: Option<ReturnId>,
    pub provider: Provider,
    /// The provider's reference of the payment refunded (card intent, wallet capture).
    pub payment_reference: String,
    pub lines: Vec<RefundLine>,
    pub shipping: Money,
    pub amount: Money,
    pub status: RefundStatus,
    /// Times it was sent to the provider (each send after a failure is a new refund there).
    #[serde(default)]
    pub attempts: u32,
    /// The provider's id of the refund, once it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    /// Why the provider could not refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The credit note issued when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "CN-000043")]
    pub credit_note: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Refund {
    /// The key the provider is asked with: one refund there per attempt, however often a send is
    /// retried.
    pub fn provider_key(&self) -> String {
        format!("refund-{}-{}", self.id, self.attempts.max(1))
    }
}

/// What the provider said of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRefundState {
    Pending,
    Succeeded,
    Failed,
}

/// Counts a succeeded refund on its vendor order: `totals.refunded` grows by its amount, and an
/// order refunded in full moves to `refunded`. Answers whether the status moved.
pub fn count_refund(order: &mut VendorOrder, refund: &Refund, now: DateTime<Utc>) -> Result<bool, MoneyError> {
    let currency = order.totals.total.currency;
    let refunded = order.totals.refunded.unwrap_or(Money::zero(currency)).checked_add(refund.amount)?;
    order.totals.refunded = Some(refunded);
    let mut moved = false;
    let note = format!("refunded {}", refund.amount);
    if refunded.amount >= order.totals.total.amount
        && let Outcome::Moved { to, .. } = order::apply(order.status, OrderEvent::Refunded)
    {
        order.status = to;
        moved = true;
    }
    order.timeline.push(TimelineEntry { at: now, status: order.status, note: Some(note) });
    order.version += 1;
    order.updated_at = now;
    Ok(moved)
}

/// A credit note: the vendor's document correcting an invoice by what was refunded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditNote {
    pub group_id: OrderGroupId,
    pub order_id: OrderId,
    pub vendor_id: VendorId,
    pub refund_id: RefundId,
    /// Its number in the vendor's sequence (shared with its invoices: no gaps, no repeats).
    pub sequence: u64,
    #[schema(example = "CN-000043")]
    pub number: String,
    /// The invoice it corrects.
    #[schema(example = "INV-000042")]
    pub invoice_number: String,
    pub issued_at: DateTime<Utc>,
    pub currency: Currency,
    pub lang: Lang,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<RefundLine>,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

/// How a credit note number is printed.
pub fn credit_note_number(sequence: u64) -> String {
    format!("CN-{sequence:06}")
}

impl CreditNote {
    /// The credit note of `refund` against `invoice`, numbered `sequence`.
    pub fn of(invoice: &Invoice, refund: &Refund, sequence: u64, issued_at: DateTime<Utc>) -> Result<Self, MoneyError> {
        let tax = refund.lines.iter().try_fold(Money::zero(refund.amount.currency), |sum, l| sum.checked_add(l.tax))?;
        Ok(Self {
            group_id: refund.group_id,
            order_id: refund.order_id,
            vendor_id: refund.vendor_id,
            refund_id: refund.id,
            sequence,
            number: credit_note_number(sequence),
            invoice_number: invoice.number.clone(),
            issued_at,
            currency: refund.amount.currency,
            lang: invoice.lang,
            seller: invoice.seller.clone(),
            buyer: invoice.buyer.clone(),
            lines: refund.lines.clone(),
            shipping: refund.shipping,
            tax,
            total: refund.amount,
        })
    }
}

/// Trims an optional free text and checks its length, naming `field`.
pub fn text(field: &str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if raw.chars().count() > MAX_TEXT {
        return Err(FieldError::new(field, format!("must be at most {MAX_TEXT} characters")));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(field, "must not hold control characters"));
    }
    Ok(Some(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProductId;
    use crate::order::{LineAllocation, OrderLine, OrderTotals};

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "EUR").unwrap())
    }

    fn at(day: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{day}T10:00:00Z")).unwrap().with_timezone(&Utc)
    }

    fn line(quantity: u32, shipped: u32, total: i64, tax: i64) -> OrderLine {
        OrderLine {
            variant_id: VariantId::generate(),
            product_id: ProductId::generate(),
            sku: format!("SKU-{quantity}-{total}"),
            title: "Thing".into(),
            quantity,
            unit_price: eur(total / i64::from(quantity)),
            discount: eur(0),
            tax: eur(tax),
            total: eur(total),
            allocations: vec![LineAllocation { location_id: LocationId::generate(), quantity, shipped }],
            returned: 0,
        }
    }

    fn order(status: OrderStatus, lines: Vec<OrderLine>, shipping: i64, delivered: Option<&str>) -> VendorOrder {
        let subtotal = lines.iter().fold(eur(0), |s, l| s.checked_add(l.total).unwrap());
        let tax = lines.iter().fold(eur(0), |s, l| s.checked_add(l.tax).unwrap());
        let total = subtotal.checked_add(eur(shipping)).unwrap();
        let mut timeline = vec![TimelineEntry { at: at("2026-11-01"), status: OrderStatus::Paid, note: None }];
        if let Some(day) = delivered {
            timeline.push(TimelineEntry { at: at(day), status: OrderStatus::Delivered, note: None });
        }
        VendorOrder {
            id: OrderId::generate(),
            group_id: OrderGroupId::generate(),
            vendor_id: VendorId::generate(),
            customer_id: None,
            status,
            lines,
            totals: OrderTotals {
                subtotal,
                discount: eur(0),
                shipping: eur(shipping),
                tax,
                total,
                refunded: None,
                refunded_shipping: None,
            },
            commission_rate: rust_decimal::Decimal::new(1, 1),
            promised_ship_by: None,
            shipping: None,
            tax: None,
            timeline,
            version: 7,
            created_at: at("2026-11-01"),
            updated_at: at("2026-11-01"),
        }
    }

    fn asked(o: &VendorOrder, lines: Vec<ReturnLine>) -> ReturnRequest {
        ReturnRequest::new(o, None, lines, None, at("2026-11-10"))
    }

    fn inspected(o: &VendorOrder, i: usize, restocked: u32, written_off: u32) -> InspectedLine {
        let l = &o.lines[i];
        InspectedLine {
            variant_id: l.variant_id,
            sku: l.sku.clone(),
            restocked,
            written_off,
            location_id: l.allocations[0].location_id,
            batch: None,
        }
    }

    fn day(d: &str) -> NaiveDate {
        at(d).date_naive()
    }

    #[test]
    fn only_shipped_units_within_the_window_may_be_asked_for() {
        let o =
            order(OrderStatus::Delivered, vec![line(3, 3, 3000, 500), line(2, 1, 2000, 0)], 500, Some("2026-11-05"));
        let (a, b) = (o.lines[0].variant_id, o.lines[1].variant_id);
        let why = ReturnReason::Damaged;
        let lines = request(&o, &[], &[(a, 2, why), (b, 1, why)], day("2026-12-05")).unwrap();
        assert_eq!((lines[0].quantity, lines[1].sku.as_str()), (2, o.lines[1].sku.as_str()));
        // Thirty days after the delivery's day is the last.
        assert_eq!(
            request(&o, &[], &[(a, 1, why)], day("2026-12-06")),
            Err(ReturnError::WindowClosed(day("2026-12-05")))
        );
        let field = |r: Result<Vec<ReturnLine>, ReturnError>| match r {
            Err(ReturnError::Field(e)) => (e.field, e.message),
            other => panic!("expected a field error, got {other:?}"),
        };
        // Line b shipped one unit of two.
        assert_eq!(field(request(&o, &[], &[(b, 2, why)], day("2026-11-06"))).0, "lines[0].quantity");
        assert_eq!(field(request(&o, &[], &[(a, 1, why), (a, 1, why)], day("2026-11-06"))).0, "lines[1].sku");
        assert_eq!(field(request(&o, &[], &[(VariantId::generate(), 1, why)], day("2026-11-06"))).0, "lines[0].sku");
        assert_eq!(field(request(&o, &[], &[], day("2026-11-06"))).0, "lines");
        // An open return holds its units; a rejected one gives them back.
        let mut open = asked(&o, request(&o, &[], &[(a, 2, why)], day("2026-11-06")).unwrap());
        assert_eq!(returnable(&o, std::slice::from_ref(&open), a), 1);
        assert!(field(request(&o, std::slice::from_ref(&open), &[(a, 2, why)], day("2026-11-06"))).1.contains("1"));
        open.decide(false, None, at("2026-11-07")).unwrap();
        assert_eq!(returnable(&o, &[open], a), 3);
        let unpaid = order(OrderStatus::Paid, vec![line(1, 0, 100, 0)], 0, None);
        let v = unpaid.lines[0].variant_id;
        assert_eq!(
            request(&unpaid, &[], &[(v, 1, why)], day("2026-11-06")),
            Err(ReturnError::NotReturnable(OrderStatus::Paid))
        );
    }

    #[test]
    fn decisions_follow_the_return_and_a_decided_one_is_not_decided_again() {
        let o = order(OrderStatus::Delivered, vec![line(1, 1, 100, 0)], 0, Some("2026-11-05"));
        let lines = request(&o, &[], &[(o.lines[0].variant_id, 1, ReturnReason::Other)], day("2026-11-06")).unwrap();
        let mut r = asked(&o, lines);
        r.decide(true, Some("send it back".into()), at("2026-11-07")).unwrap();
        assert_eq!((r.status, r.version, r.timeline.len()), (ReturnStatus::Approved, 2, 2));
        assert_eq!(r.decide(true, None, at("2026-11-07")), Err(ReturnError::State(ReturnStatus::Approved, "approved")));
        r.decide(false, Some("never arrived".into()), at("2026-11-20")).unwrap();
        assert_eq!(
            r.decide(false, None, at("2026-11-21")),
            Err(ReturnError::State(ReturnStatus::Rejected, "rejected"))
        );
    }

    #[test]
    fn the_parts_of_a_line_refunded_unit_by_unit_add_up_to_what_was_paid() {
        // 3 units for 10.00 with 1.67 tax: 3.33 + 3.33 + 3.34 (tax 0.55 + 0.56 + 0.56).
        let mut o = order(OrderStatus::Delivered, vec![line(3, 3, 1000, 167)], 450, Some("2026-11-05"));
        let v = o.lines[0].variant_id;
        let mut amounts = Vec::new();
        let mut taxes = Vec::new();
        for n in 0..3 {
            let lines = request(&o, &[], &[(v, 1, ReturnReason::Defective)], day("2026-11-06")).unwrap();
            let mut r = asked(&o, lines);
            r.decide(true, None, at("2026-11-07")).unwrap();
            let got = vec![inspected(&o, 0, 1, 0)];
            let due = receive(&mut r, &mut o, got, n == 2, at("2026-11-08")).unwrap();
            assert_eq!(r.status, ReturnStatus::Received);
            amounts.push(due.lines[0].amount.amount);
            taxes.push(due.lines[0].tax.amount);
            if n == 2 {
                assert_eq!((due.shipping, due.amount), (eur(450), eur(334 + 450)));
            }
        }
        assert_eq!(amounts, [333, 333, 334]);
        assert_eq!(taxes, [55, 56, 56]);
        assert_eq!(o.lines[0].returned, 3);
        assert_eq!(o.totals.refunded_shipping, Some(eur(450)));
        // Nothing is left to return, and the shipping is not refunded twice.
        assert_eq!(returnable(&o, &[], v), 0);
    }

    #[test]
    fn an_arrival_is_checked_whole_before_anything_changes() {
        let mut o =
            order(OrderStatus::Delivered, vec![line(2, 2, 2000, 0), line(1, 1, 500, 0)], 300, Some("2026-11-05"));
        let lines =
            request(&o, &[], &[(o.lines[0].variant_id, 2, ReturnReason::WrongItem)], day("2026-11-06")).unwrap();
        let mut r = asked(&o, lines);
        let before = (r.clone(), o.clone());
        // Not approved yet.
        assert!(matches!(
            receive(&mut r, &mut o, vec![inspected(&before.1, 0, 1, 0)], false, at("2026-11-08")),
            Err(ReturnError::State(ReturnStatus::Requested, "received"))
        ));
        r.decide(true, None, at("2026-11-07")).unwrap();
        let approved = r.clone();
        let field = |result: Result<RefundDue, ReturnError>| match result {
            Err(ReturnError::Field(e)) => e.field,
            other => panic!("expected a field error, got {other:?}"),
        };
        let x = &before.1;
        assert_eq!(field(receive(&mut r, &mut o, vec![inspected(x, 0, 2, 1)], false, at("2026-11-08"))), "lines[0]");
        assert_eq!(
            field(receive(&mut r, &mut o, vec![inspected(x, 1, 1, 0)], false, at("2026-11-08"))),
            "lines[0].sku"
        );
        assert_eq!(field(receive(&mut r, &mut o, vec![inspected(x, 0, 0, 0)], false, at("2026-11-08"))), "lines");
        assert_eq!((&r, &o), (&approved, &before.1), "nothing changed");
        // One restocked, one written off: both refunded; the order counts them.
        let due = receive(&mut r, &mut o, vec![inspected(x, 0, 1, 1)], true, at("2026-11-08")).unwrap();
        assert_eq!((due.amount, due.shipping, o.lines[0].returned), (eur(2300), eur(300), 2));
        assert_eq!(o.version, before.1.version + 1);
    }

    #[test]
    fn an_order_refunded_in_full_moves_to_refunded_and_a_credit_note_shows_the_refund() {
        let mut o = order(OrderStatus::Delivered, vec![line(2, 2, 2000, 333)], 500, Some("2026-11-05"));
        let template = o.clone();
        let refund = |amount: i64| Refund {
            id: RefundId::generate(),
            group_id: template.group_id,
            order_id: template.id,
            vendor_id: template.vendor_id,
            return_id: None,
            provider: Provider::Card,
            payment_reference: "pi_1".into(),
            lines: vec![RefundLine {
                variant_id: template.lines[0].variant_id,
                sku: template.lines[0].sku.clone(),
                title: "Thing".into(),
                quantity: 1,
                amount: eur(amount),
                tax: eur(166),
            }],
            shipping: eur(0),
            amount: eur(amount),
            status: RefundStatus::Succeeded,
            attempts: 1,
            provider_refund_id: None,
            failure: None,
            credit_note: None,
            created_at: at("2026-11-08"),
            settled_at: None,
            version: 1,
        };
        let first = refund(1000);
        assert!(!count_refund(&mut o, &first, at("2026-11-09")).unwrap());
        assert_eq!((o.status, o.totals.refunded), (OrderStatus::Delivered, Some(eur(1000))));
        assert!(count_refund(&mut o, &refund(1500), at("2026-11-09")).unwrap());
        assert_eq!((o.status, o.totals.refunded), (OrderStatus::Refunded, Some(eur(2500))));
        let invoice = Invoice {
            group_id: o.group_id,
            order_id: o.id,
            vendor_id: o.vendor_id,
            sequence: 41,
            number: crate::billing::invoice_number(41),
            issued_at: at("2026-11-01"),
            currency: eur(0).currency,
            lang: Lang::Fr,
            seller: Seller {
                vendor_id: o.vendor_id,
                name: "Acme".into(),
                country: None,
                address: vec![],
                tax_id: None,
            },
            buyer: Buyer { name: None, email: "c@example.com".into() },
            lines: vec![],
            tax_breakdown: vec![],
            totals: crate::billing::InvoiceTotals {
                subtotal: eur(2000),
                discount: eur(0),
                shipping: eur(500),
                tax: eur(333),
                total: eur(2500),
            },
            payment_reference: None,
        };
        let note = CreditNote::of(&invoice, &first, 43, at("2026-11-09")).unwrap();
        assert_eq!((note.number.as_str(), note.invoice_number.as_str()), ("CN-000043", "INV-000041"));
        assert_eq!((note.total, note.tax, note.lang), (eur(1000), eur(166), Lang::Fr));
        assert_eq!(first.provider_key(), format!("refund-{}-1", first.id));
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("comment", Some("  ")), Ok(None));
        assert_eq!(text("comment", Some(" torn ")), Ok(Some("torn".into())));
        assert_eq!(text("comment", Some(&"x".repeat(MAX_TEXT + 1))).unwrap_err().field, "comment");
        assert!(text("note", Some("a\u{0}b")).is_err());
        assert_eq!(ReturnStatus::parse("status", "approved"), Ok(ReturnStatus::Approved));
        assert_eq!(ReturnStatus::parse("status", "x").unwrap_err().field, "status");
    }
}
