//! Orders: the status machine of one vendor's order, its timeline, its disputes, and the check of
//! what the payment provider says was paid against what the order expects.
//!
//! An order is paid (`pending_payment` → `requires_action` → `paid`), then fulfilled (`processing`
//! → `partially_shipped` → `shipped` → `delivered`), or closed unpaid (`cancelled`, `expired`), or
//! refunded. Events come from the payment provider's webhooks (delivered at least once, in any
//! order), from the reservation's timer and from the vendor's own commands. [`apply`] judges one
//! event against the order's current status and never fails: it answers whether the order moves
//! (and what happens to its stock reservation), or why it does not. Each move is written with a
//! condition that the status is still one of [`sources`] of the event, so two workers never both
//! apply one.
//!
//! Rules, in short (the table in the tests spells out every pair):
//! - A move always changes the status; an event whose effect the order already shows (a duplicate,
//!   or a milestone the order can only have passed through, such as a payment of a shipped order)
//!   is [`Outcome::AlreadyApplied`]; an event of a stage the order has left (a 3-D Secure step or a
//!   failure after the payment succeeded, the reservation's timer after payment) is
//!   [`Outcome::Stale`]. Both are acknowledged and change nothing.
//! - `cancelled` means called off before payment: only an unpaid order is cancelled. A paid order
//!   is called off by refunding it, and the refund's event moves it to `refunded` (freeing what is
//!   still reserved). So a payment that succeeds for a cancelled or expired order was never kept:
//!   it is [`Outcome::RefundDue`], on every delivery of it.
//! - A failed payment keeps the order payable: the customer may retry with another card before the
//!   reservation expires, so `requires_action` goes back to `pending_payment` and a failure on
//!   `pending_payment` changes nothing. Only the reservation's timer closes an unpaid order.
//! - A refund can only follow a payment. When the refund's webhook overtakes the payment's, the
//!   order goes to `refunded` at once and the payment's event, arriving later, is a duplicate; so
//!   any order of the same provider events ends in one status.
//! - Fulfilment (processing, shipping, delivery) needs a paid order: on an unpaid, cancelled,
//!   expired or refunded order it is [`Outcome::NotAllowed`].
//!
//! `apply` judges by status alone. A second, different payment for an order already paid (two
//! intents both succeeding) is told from a duplicate delivery by the payment's provider
//! reference, which the caller records with the order.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{LocationId, OrderGroupId, OrderId, ProductId, UserId, VariantId, VendorId};
use crate::money::{Currency, Money, MoneyError};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed; its stock is reserved until the reservation expires; waiting for the payment.
    PendingPayment,
    /// The provider asks the customer to authenticate the payment (3-D Secure).
    RequiresAction,
    /// Paid: the reservation no longer expires; the vendor may start fulfilling it.
    Paid,
    /// The vendor is preparing it.
    Processing,
    /// Some of its lines have left.
    PartiallyShipped,
    /// Every line has left.
    Shipped,
    /// The customer received it. Not terminal: it may still be refunded (a return).
    Delivered,
    /// Called off before it was paid; its reservation was released (terminal).
    Cancelled,
    /// Its payment was refunded in full (terminal).
    Refunded,
    /// Not paid before its reservation ran out; the reservation was released (terminal).
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::PendingPayment,
        OrderStatus::RequiresAction,
        OrderStatus::Paid,
        OrderStatus::Processing,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::RequiresAction => "requires_action",
            OrderStatus::Paid => "paid",
            OrderStatus::Processing => "processing",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, format!("must be one of {}", Self::ALL.map(|s| s.as_str()).join(", ")))
        })
    }

    /// No event moves the order any more: cancelled, refunded and expired.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Cancelled | OrderStatus::Refunded | OrderStatus::Expired)
    }

    /// Not yet paid, and still payable.
    pub fn is_awaiting_payment(self) -> bool {
        matches!(self, OrderStatus::PendingPayment | OrderStatus::RequiresAction)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What may happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// The provider asks the customer to authenticate (3-D Secure).
    PaymentRequiresAction,
    /// The payment succeeded.
    PaymentSucceeded,
    /// A payment attempt failed (declined, authentication failed).
    PaymentFailed,
    /// The unpaid order's reservation timed out.
    Expired,
    /// The customer or the vendor called the unpaid order off.
    Cancelled,
    /// The vendor started preparing it.
    ProcessingStarted,
    /// Some lines were shipped.
    PartShipped,
    /// The last lines were shipped.
    AllShipped,
    /// The carrier delivered it.
    Delivered,
    /// The payment was refunded in full.
    Refunded,
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 10] = [
        OrderEvent::PaymentRequiresAction,
        OrderEvent::PaymentSucceeded,
        OrderEvent::PaymentFailed,
        OrderEvent::Expired,
        OrderEvent::Cancelled,
        OrderEvent::ProcessingStarted,
        OrderEvent::PartShipped,
        OrderEvent::AllShipped,
        OrderEvent::Delivered,
        OrderEvent::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderEvent::PaymentRequiresAction => "payment_requires_action",
            OrderEvent::PaymentSucceeded => "payment_succeeded",
            OrderEvent::PaymentFailed => "payment_failed",
            OrderEvent::Expired => "expired",
            OrderEvent::Cancelled => "cancelled",
            OrderEvent::ProcessingStarted => "processing_started",
            OrderEvent::PartShipped => "part_shipped",
            OrderEvent::AllShipped => "all_shipped",
            OrderEvent::Delivered => "delivered",
            OrderEvent::Refunded => "refunded",
        }
    }

    /// The status this event moves an order to, whichever status it moves it from.
    pub fn target(self) -> OrderStatus {
        match self {
            OrderEvent::PaymentRequiresAction => OrderStatus::RequiresAction,
            OrderEvent::PaymentSucceeded => OrderStatus::Paid,
            OrderEvent::PaymentFailed => OrderStatus::PendingPayment,
            OrderEvent::Expired => OrderStatus::Expired,
            OrderEvent::Cancelled => OrderStatus::Cancelled,
            OrderEvent::ProcessingStarted => OrderStatus::Processing,
            OrderEvent::PartShipped => OrderStatus::PartiallyShipped,
            OrderEvent::AllShipped => OrderStatus::Shipped,
            OrderEvent::Delivered => OrderStatus::Delivered,
            OrderEvent::Refunded => OrderStatus::Refunded,
        }
    }
}

impl fmt::Display for OrderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a move does to the order's stock reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationEffect {
    /// Nothing.
    None,
    /// The order was paid: its reservation no longer expires.
    Confirm,
    /// The order will not ship what is still reserved for it (closed unpaid, or refunded before
    /// the rest left): the reserved units are available again.
    Release,
}

/// The judgement of one event against an order's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The order moves to `to` (written on the condition that its status is still one of
    /// [`sources`] of the event).
    Moved { to: OrderStatus, reservation: ReservationEffect },
    /// The order already shows the event's effect (a duplicate delivery): acknowledge, change nothing.
    AlreadyApplied,
    /// The event belongs to a stage the order has left (it arrived out of order): acknowledge,
    /// change nothing.
    Stale,
    /// A payment succeeded for an order that was closed unpaid (cancelled or expired): the order
    /// stays closed and the payment must be refunded, never kept.
    RefundDue,
    /// The event makes no sense for the order (shipping an unpaid order, cancelling a paid one):
    /// an error for whoever asked.
    NotAllowed,
}

impl Outcome {
    /// Whether the event is fine to acknowledge (everything but [`Outcome::NotAllowed`]).
    pub fn is_accepted(self) -> bool {
        !matches!(self, Outcome::NotAllowed)
    }
}

/// Judges `event` against an order at `status`. See the module's documentation for the rules.
pub fn apply(status: OrderStatus, event: OrderEvent) -> Outcome {
    use OrderEvent as E;
    use OrderStatus as S;
    use Outcome::{AlreadyApplied, NotAllowed, RefundDue, Stale};
    let moved = |reservation| Outcome::Moved { to: event.target(), reservation };
    match (event, status) {
        (E::PaymentRequiresAction, S::PendingPayment) => moved(ReservationEffect::None),
        (E::PaymentRequiresAction, S::RequiresAction) => AlreadyApplied,
        // Paid, fulfilled or closed: the authentication step is over.
        (E::PaymentRequiresAction, _) => Stale,

        (E::PaymentSucceeded, S::PendingPayment | S::RequiresAction) => moved(ReservationEffect::Confirm),
        // Closed unpaid: the money must go back.
        (E::PaymentSucceeded, S::Cancelled | S::Expired) => RefundDue,
        // Paid, fulfilled or refunded: each of these was paid, by this payment.
        (E::PaymentSucceeded, _) => AlreadyApplied,

        // The customer may try again: the order stays payable until its reservation expires.
        (E::PaymentFailed, S::RequiresAction) => moved(ReservationEffect::None),
        (E::PaymentFailed, S::PendingPayment) => AlreadyApplied,
        // An attempt that failed before another one succeeded, or after the order closed.
        (E::PaymentFailed, _) => Stale,

        (E::Expired, S::PendingPayment | S::RequiresAction) => moved(ReservationEffect::Release),
        // Closed unpaid already, reservation released.
        (E::Expired, S::Expired | S::Cancelled) => AlreadyApplied,
        // The timer fired after the payment confirmed the reservation.
        (E::Expired, _) => Stale,

        (E::Cancelled, S::PendingPayment | S::RequiresAction) => moved(ReservationEffect::Release),
        (E::Cancelled, S::Cancelled | S::Expired) => AlreadyApplied,
        // Paid (refund it instead), fulfilled, or refunded.
        (E::Cancelled, _) => NotAllowed,

        (E::ProcessingStarted, S::Paid) => moved(ReservationEffect::None),
        (E::ProcessingStarted, S::Processing) => AlreadyApplied,
        (E::ProcessingStarted, S::PartiallyShipped | S::Shipped | S::Delivered) => Stale,
        (E::ProcessingStarted, _) => NotAllowed,

        (E::PartShipped, S::Paid | S::Processing) => moved(ReservationEffect::None),
        // Another parcel of an order already partly shipped: its status stays.
        (E::PartShipped, S::PartiallyShipped) => AlreadyApplied,
        (E::PartShipped, S::Shipped | S::Delivered) => Stale,
        (E::PartShipped, _) => NotAllowed,

        (E::AllShipped, S::Paid | S::Processing | S::PartiallyShipped) => moved(ReservationEffect::None),
        (E::AllShipped, S::Shipped | S::Delivered) => AlreadyApplied,
        (E::AllShipped, _) => NotAllowed,

        (E::Delivered, S::Shipped) => moved(ReservationEffect::None),
        (E::Delivered, S::Delivered) => AlreadyApplied,
        // Not (fully) shipped, or closed.
        (E::Delivered, _) => NotAllowed,

        // Before everything left: what is still reserved is freed. A refund overtaking its
        // payment's webhook closes the unpaid order the same way.
        (E::Refunded, S::PendingPayment | S::RequiresAction | S::Paid | S::Processing | S::PartiallyShipped) => {
            moved(ReservationEffect::Release)
        }
        (E::Refunded, S::Shipped | S::Delivered) => moved(ReservationEffect::None),
        // A duplicate, or the refund of a payment that came after the order closed (RefundDue).
        (E::Refunded, S::Refunded | S::Cancelled | S::Expired) => AlreadyApplied,
    }
}

/// The statuses from which `event` moves an order: the condition `status IN (...)` of the write
/// that applies it. Exactly those for which [`apply`] answers [`Outcome::Moved`].
pub fn sources(event: OrderEvent) -> Vec<OrderStatus> {
    use OrderStatus as S;
    match event {
        OrderEvent::PaymentRequiresAction => vec![S::PendingPayment],
        OrderEvent::PaymentSucceeded => vec![S::PendingPayment, S::RequiresAction],
        OrderEvent::PaymentFailed => vec![S::RequiresAction],
        OrderEvent::Expired => vec![S::PendingPayment, S::RequiresAction],
        OrderEvent::Cancelled => vec![S::PendingPayment, S::RequiresAction],
        OrderEvent::ProcessingStarted => vec![S::Paid],
        OrderEvent::PartShipped => vec![S::Paid, S::Processing],
        OrderEvent::AllShipped => vec![S::Paid, S::Processing, S::PartiallyShipped],
        OrderEvent::Delivered => vec![S::Shipped],
        OrderEvent::Refunded => vec![
            S::PendingPayment,
            S::RequiresAction,
            S::Paid,
            S::Processing,
            S::PartiallyShipped,
            S::Shipped,
            S::Delivered,
        ],
    }
}

/// One step of an order's history, as the customer and the vendor see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub status: OrderStatus,
    /// What happened, in a few words (`"card declined"`, `"tracking 1Z999"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a dispute (chargeback) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    /// The customer's bank disputes the payment; the provider holds the disputed amount.
    Open,
    /// Decided for the vendor: the amount is released.
    Won,
    /// Decided for the customer: the amount went back to them.
    Lost,
}

/// A chargeback the customer's bank opened against an order's payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dispute {
    /// The provider's id of the dispute.
    #[schema(example = "dp_1Nx2")]
    pub provider_dispute_id: String,
    pub amount: Money,
    /// The reason the provider gives (`fraudulent`, `product_not_received`, ...).
    #[schema(example = "product_not_received")]
    pub reason: String,
    pub status: DisputeStatus,
    pub opened_at: DateTime<Utc>,
}

impl Dispute {
    /// What the dispute holds back: its amount while it is open, nothing once decided.
    pub fn held(&self) -> Money {
        match self.status {
            DisputeStatus::Open => self.amount,
            DisputeStatus::Won | DisputeStatus::Lost => Money::zero(self.amount.currency),
        }
    }
}

/// What an order's disputes hold back in total, in `currency` (a dispute in another currency is
/// an error, not converted).
pub fn total_held(disputes: &[Dispute], currency: Currency) -> Result<Money, MoneyError> {
    disputes.iter().try_fold(Money::zero(currency), |sum, d| sum.checked_add(d.held()))
}

/// What the provider says was paid differs from what the order expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, but the provider reports {paid_minor} minor units of {paid_currency}")]
pub struct PaymentMismatch {
    pub expected: Money,
    pub paid_minor: i64,
    pub paid_currency: String,
}

/// Checks a provider's amount (minor units) and currency code (either case: card providers write
/// it in lower case) against what the order expects. Anything else is a mismatch naming both.
pub fn check_amount(expected: Money, paid_minor: i64, paid_currency: &str) -> Result<(), PaymentMismatch> {
    if paid_minor == expected.amount && paid_currency.eq_ignore_ascii_case(expected.currency.code()) {
        return Ok(());
    }
    Err(PaymentMismatch { expected, paid_minor, paid_currency: paid_currency.to_string() })
}

/// Units of one stock item an order group holds: given back when it expires unpaid or is
/// cancelled, kept (still reserved) once it is paid, until fulfilment ships them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeldStock {
    pub vendor_id: VendorId,
    pub variant_id: VariantId,
    pub location_id: LocationId,
    /// The stock shard the units were reserved from (absent: the stock item itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<u8>,
    pub quantity: u32,
}

/// Where one line's units come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineAllocation {
    pub location_id: LocationId,
    pub quantity: u32,
    /// Of those, units shipped so far.
    #[serde(default)]
    pub shipped: u32,
}

/// One line of a vendor order, priced, discounted and taxed at checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
    /// The coupon's share of this line.
    pub discount: Money,
    pub tax: Money,
    /// What the customer pays for the line (tax included).
    pub total: Money,
    pub allocations: Vec<LineAllocation>,
    /// Of the units shipped, those that came back and were refunded (or are being refunded).
    #[serde(default)]
    pub returned: u32,
}

/// A vendor order's sums, in the order's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderTotals {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
    /// What the provider has refunded of it so far (returns, shipping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Money>,
    /// The shipping, once a refund has included it (it is refunded once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded_shipping: Option<Money>,
}

/// One vendor's part of an order group: what that vendor sells, ships and invoices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VendorOrder {
    pub id: OrderId,
    pub group_id: OrderGroupId,
    pub vendor_id: VendorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<UserId>,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub totals: OrderTotals,
    /// The platform's commission on this order, frozen when it was placed (a fraction: 0.12).
    #[schema(value_type = String, example = "0.12")]
    pub commission_rate: rust_decimal::Decimal,
    /// The ship date promised by the chosen shipping option (what the fulfilment KPI measures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_ship_by: Option<NaiveDate>,
    /// The shipping option chosen at checkout (carrier, service, price before any coupon, dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<crate::shipping::ShippingOption>,
    /// The tax, line by line and per rate, as checkout worked it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<crate::tax::TaxBreakdown>,
    pub timeline: Vec<TimelineEntry>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The payment a checkout opened with a provider: Stockyard keeps only the provider's references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentSession {
    pub provider: crate::payment::Provider,
    /// The card provider's payment intent id, or the wallet provider's order id.
    #[schema(example = "pi_3Mtw")]
    pub reference: String,
    /// Card payments: what the shop's page confirms the intent with (the card details go from
    /// the page to the provider, never through Stockyard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Wallet payments: where the customer approves the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_url: Option<String>,
}

/// A coupon's use by one order group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CouponUse {
    pub coupon_id: crate::ids::CouponId,
    #[schema(example = "SUMMER-10")]
    pub code: String,
    /// Whose use it counts as: the customer's id, or a guest's lower-cased email.
    pub customer: String,
    pub amount: Money,
}

/// Units of a variant limited per customer that one order group counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LimitedPurchase {
    pub variant_id: VariantId,
    pub quantity: u32,
    pub limit: u32,
    pub customer: String,
}

/// What one checkout placed: one payment covers it; one vendor order per vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderGroup {
    pub id: OrderGroupId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<UserId>,
    /// Where confirmations go (the guest's contact email, or the customer's).
    pub email: String,
    pub currency: Currency,
    #[schema(example = "fr-FR")]
    pub locale: String,
    /// The vendor orders, by vendor.
    pub orders: Vec<(VendorId, OrderId)>,
    pub total: Money,
    /// The payment's status: moves with every vendor order until the order is paid.
    pub status: OrderStatus,
    pub holds: Vec<HeldStock>,
    /// Unpaid by then, the reservation is given back and the group expires.
    pub expires_at: DateTime<Utc>,
    /// The provider's reference of the payment that paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// Payments the provider took for this group after it expired or was cancelled: to refund.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds_due: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<crate::address::PostalAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<crate::address::PostalAddress>,
    /// How the customer pays: the provider's payment and what the client needs to complete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentSession>,
    /// Chargebacks against the group's payment: an open one holds its amount back from the
    /// vendors until it is decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disputes: Vec<Dispute>,
    /// The provider the customer chose to pay with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_provider: Option<crate::payment::Provider>,
    /// The coupon this group used: its use is given back if the group expires or is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponUse>,
    /// Units of limited variants this group counted against the customer's limit, given back
    /// like the coupon's use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limited: Vec<LimitedPurchase>,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;
    use ReservationEffect as R;

    const AA: Outcome = Outcome::AlreadyApplied;
    const ST: Outcome = Outcome::Stale;
    const RD: Outcome = Outcome::RefundDue;
    const NA: Outcome = Outcome::NotAllowed;

    fn mv(to: OrderStatus, reservation: ReservationEffect) -> Outcome {
        Outcome::Moved { to, reservation }
    }

    /// Every status against every event, in the order of [`OrderEvent::ALL`]: requires action,
    /// succeeded, failed, expired, cancelled, processing, part shipped, all shipped, delivered,
    /// refunded.
    fn table() -> Vec<(OrderStatus, [Outcome; 10])> {
        vec![
            (
                S::PendingPayment,
                [
                    mv(S::RequiresAction, R::None),
                    mv(S::Paid, R::Confirm),
                    AA,
                    mv(S::Expired, R::Release),
                    mv(S::Cancelled, R::Release),
                    NA,
                    NA,
                    NA,
                    NA,
                    mv(S::Refunded, R::Release),
                ],
            ),
            (
                S::RequiresAction,
                [
                    AA,
                    mv(S::Paid, R::Confirm),
                    mv(S::PendingPayment, R::None),
                    mv(S::Expired, R::Release),
                    mv(S::Cancelled, R::Release),
                    NA,
                    NA,
                    NA,
                    NA,
                    mv(S::Refunded, R::Release),
                ],
            ),
            (
                S::Paid,
                [
                    ST,
                    AA,
                    ST,
                    ST,
                    NA,
                    mv(S::Processing, R::None),
                    mv(S::PartiallyShipped, R::None),
                    mv(S::Shipped, R::None),
                    NA,
                    mv(S::Refunded, R::Release),
                ],
            ),
            (
                S::Processing,
                [
                    ST,
                    AA,
                    ST,
                    ST,
                    NA,
                    AA,
                    mv(S::PartiallyShipped, R::None),
                    mv(S::Shipped, R::None),
                    NA,
                    mv(S::Refunded, R::Release),
                ],
            ),
            (
                S::PartiallyShipped,
                [ST, AA, ST, ST, NA, ST, AA, mv(S::Shipped, R::None), NA, mv(S::Refunded, R::Release)],
            ),
            (S::Shipped, [ST, AA, ST, ST, NA, ST, ST, AA, mv(S::Delivered, R::None), mv(S::Refunded, R::None)]),
            (S::Delivered, [ST, AA, ST, ST, NA, ST, ST, AA, AA, mv(S::Refunded, R::None)]),
            (S::Cancelled, [ST, RD, ST, AA, AA, NA, NA, NA, NA, AA]),
            (S::Refunded, [ST, AA, ST, ST, NA, NA, NA, NA, NA, AA]),
            (S::Expired, [ST, RD, ST, AA, AA, NA, NA, NA, NA, AA]),
        ]
    }

    fn run(from: OrderStatus, events: &[OrderEvent]) -> OrderStatus {
        events.iter().fold(from, |status, event| match apply(status, *event) {
            Outcome::Moved { to, .. } => to,
            _ => status,
        })
    }

    fn permutations(items: &[OrderEvent]) -> Vec<Vec<OrderEvent>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut all = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut tail in permutations(&rest) {
                tail.insert(0, first);
                all.push(tail);
            }
        }
        all
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    #[test]
    fn every_status_and_event_pair_gives_the_outcome_the_table_writes_out() {
        let table = table();
        assert_eq!(table.iter().map(|(s, _)| *s).collect::<Vec<_>>(), OrderStatus::ALL.to_vec());
        for (status, row) in table {
            for (event, expected) in OrderEvent::ALL.into_iter().zip(row) {
                assert_eq!(apply(status, event), expected, "{event} on {status}");
            }
        }
    }

    #[test]
    fn sources_are_exactly_the_statuses_an_event_moves_from() {
        for event in OrderEvent::ALL {
            let moving: Vec<OrderStatus> =
                OrderStatus::ALL.into_iter().filter(|s| matches!(apply(*s, event), Outcome::Moved { .. })).collect();
            assert_eq!(sources(event), moving, "{event}");
            for status in OrderStatus::ALL {
                if let Outcome::Moved { to, .. } = apply(status, event) {
                    assert_eq!(to, event.target(), "{event} on {status}");
                    assert_ne!(to, status, "a move changes the status: {event} on {status}");
                }
            }
        }
    }

    #[test]
    fn terminal_statuses_never_move_and_only_they_are_terminal() {
        let terminal: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [S::Cancelled, S::Refunded, S::Expired]);
        for status in OrderStatus::ALL {
            let moves = OrderEvent::ALL.into_iter().any(|e| matches!(apply(status, e), Outcome::Moved { .. }));
            assert_eq!(moves, !status.is_terminal(), "{status}");
        }
    }

    #[test]
    fn an_event_delivered_twice_applies_once() {
        for status in OrderStatus::ALL {
            for event in OrderEvent::ALL {
                if let Outcome::Moved { to, .. } = apply(status, event) {
                    assert_eq!(apply(to, event), AA, "{event} again after moving from {status} to {to}");
                }
            }
        }
    }

    #[test]
    fn payment_webhooks_in_any_order_and_repeated_end_paid() {
        let events = [
            E::PaymentRequiresAction,
            E::PaymentFailed,
            E::PaymentRequiresAction,
            E::PaymentSucceeded,
            E::PaymentSucceeded,
            E::PaymentFailed,
        ];
        for order in permutations(&events) {
            assert_eq!(run(S::PendingPayment, &order), S::Paid, "{order:?}");
        }
    }

    #[test]
    fn a_refund_overtaking_its_payment_still_ends_refunded() {
        let events = [E::PaymentRequiresAction, E::PaymentSucceeded, E::Refunded, E::Refunded];
        for order in permutations(&events) {
            assert_eq!(run(S::PendingPayment, &order), S::Refunded, "{order:?}");
        }
    }

    #[test]
    fn a_fulfilled_order_ignores_late_and_repeated_events() {
        let history =
            [E::PaymentSucceeded, E::ProcessingStarted, E::PartShipped, E::PartShipped, E::AllShipped, E::Delivered];
        assert_eq!(run(S::PendingPayment, &history), S::Delivered);
        let late = [E::PaymentRequiresAction, E::PaymentSucceeded, E::Expired, E::PartShipped, E::AllShipped];
        for event in late {
            assert!(matches!(apply(S::Delivered, event), AA | ST), "{event}");
        }
    }

    #[test]
    fn a_payment_succeeding_after_expiry_or_cancellation_is_flagged_for_refund_every_time() {
        let expired = run(S::PendingPayment, &[E::PaymentRequiresAction, E::Expired]);
        assert_eq!(expired, S::Expired);
        assert_eq!(apply(expired, E::PaymentSucceeded), RD);
        assert_eq!(apply(expired, E::PaymentSucceeded), RD, "a duplicate delivery is flagged again");
        assert_eq!(apply(S::Cancelled, E::PaymentSucceeded), RD);
        // The refund's own webhook then changes nothing: the order stays closed.
        assert_eq!(apply(expired, E::Refunded), AA);
    }

    #[test]
    fn payment_and_expiry_racing_releases_or_confirms_the_reservation_once() {
        assert_eq!(apply(S::PendingPayment, E::PaymentSucceeded), mv(S::Paid, R::Confirm));
        assert_eq!(apply(S::Paid, E::Expired), ST, "the timer after payment must not release");
        assert_eq!(apply(S::RequiresAction, E::Expired), mv(S::Expired, R::Release));
        assert_eq!(apply(S::Expired, E::PaymentSucceeded), RD, "the payment after expiry is not kept");
    }

    #[test]
    fn a_failed_payment_keeps_the_order_payable() {
        assert_eq!(apply(S::RequiresAction, E::PaymentFailed), mv(S::PendingPayment, R::None));
        assert_eq!(apply(S::PendingPayment, E::PaymentFailed), AA);
        assert_eq!(run(S::PendingPayment, &[E::PaymentFailed, E::PaymentSucceeded]), S::Paid);
    }

    #[test]
    fn shipping_an_unpaid_order_or_cancelling_a_paid_one_is_an_error() {
        for event in [E::ProcessingStarted, E::PartShipped, E::AllShipped, E::Delivered] {
            for status in [S::PendingPayment, S::RequiresAction, S::Cancelled, S::Expired, S::Refunded] {
                assert_eq!(apply(status, event), NA, "{event} on {status}");
                assert!(!apply(status, event).is_accepted());
            }
        }
        for status in [S::Paid, S::Processing, S::PartiallyShipped, S::Shipped, S::Delivered] {
            assert_eq!(apply(status, E::Cancelled), NA, "{status}");
        }
        assert_eq!(apply(S::PartiallyShipped, E::Delivered), NA, "delivered before everything shipped");
    }

    #[test]
    fn a_refund_frees_what_is_still_reserved_only_before_everything_left() {
        for status in [S::Paid, S::Processing, S::PartiallyShipped] {
            assert_eq!(apply(status, E::Refunded), mv(S::Refunded, R::Release), "{status}");
        }
        for status in [S::Shipped, S::Delivered] {
            assert_eq!(apply(status, E::Refunded), mv(S::Refunded, R::None), "{status}");
        }
    }

    #[test]
    fn statuses_and_events_round_trip_through_their_names() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse("status", status.as_str()), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), serde_json::json!(status.as_str()));
        }
        for event in OrderEvent::ALL {
            assert_eq!(serde_json::to_value(event).unwrap(), serde_json::json!(event.as_str()));
        }
        assert_eq!(OrderStatus::parse("status", "Paid").unwrap_err().field, "status");
    }

    #[test]
    fn an_open_dispute_holds_its_amount_and_a_decided_one_nothing() {
        let eur = cur("EUR");
        let dispute = |amount, status| Dispute {
            provider_dispute_id: "dp_1".into(),
            amount: Money::new(amount, eur),
            reason: "fraudulent".into(),
            status,
            opened_at: Utc::now(),
        };
        assert_eq!(dispute(1999, DisputeStatus::Open).held(), Money::new(1999, eur));
        assert_eq!(dispute(1999, DisputeStatus::Won).held(), Money::zero(eur));
        assert_eq!(dispute(1999, DisputeStatus::Lost).held(), Money::zero(eur));
        let disputes =
            [dispute(500, DisputeStatus::Open), dispute(700, DisputeStatus::Won), dispute(250, DisputeStatus::Open)];
        assert_eq!(total_held(&disputes, eur), Ok(Money::new(750, eur)));
        assert!(matches!(total_held(&disputes, cur("USD")), Err(MoneyError::CurrencyMismatch(..))));
        let json = serde_json::to_value(dispute(1, DisputeStatus::Open)).unwrap();
        assert_eq!(json["status"], "open");
    }

    #[test]
    fn a_paid_amount_must_match_in_currency_and_minor_units() {
        let expected = Money::new(1999, cur("EUR"));
        assert_eq!(check_amount(expected, 1999, "EUR"), Ok(()));
        assert_eq!(check_amount(expected, 1999, "eur"), Ok(()), "card providers write the code in lower case");
        let short = check_amount(expected, 1998, "EUR").unwrap_err();
        assert_eq!((short.expected, short.paid_minor, short.paid_currency.as_str()), (expected, 1998, "EUR"));
        assert_eq!(short.to_string(), "expected 19.99 EUR, but the provider reports 1998 minor units of EUR");
        let other = check_amount(expected, 1999, "usd").unwrap_err();
        assert_eq!(other.paid_currency, "usd");
        assert!(check_amount(Money::new(1500, cur("JPY")), 1500, "EUR").is_err());
        assert!(check_amount(expected, 1999, "").is_err());
    }

    #[test]
    fn a_timeline_entry_leaves_out_an_absent_note() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let entry = TimelineEntry { at, status: S::Paid, note: None };
        assert_eq!(
            serde_json::to_value(&entry).unwrap(),
            serde_json::json!({"at": "2026-03-01T10:00:00Z", "status": "paid"})
        );
    }
}
