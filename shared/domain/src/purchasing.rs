//! Suppliers and purchase orders.
//!
//! A vendor buys from its suppliers (a code unique within the vendor, a contact email, the
//! currency it invoices in, its lead time, an optional minimum order value and the pack size it
//! sells in). A purchase order goes draft → sent → partially received → received, or is cancelled
//! from draft, sent or partially received. Every transition moves the order's `version`, and the
//! store writes it only while the order is still at the version it was read at, so two workers
//! can never both apply one. Quantities are units, a multiple of the pack size; money is integer
//! minor units of the supplier's currency.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{LocationId, ProductId, PurchaseOrderId, SupplierId, VariantId, VendorId};
use crate::money::{Currency, Money};
use crate::stock::{Actor, MAX_QUANTITY};

/// Most lines one purchase order holds: sending it is one transaction of the order and one
/// `incoming` change per line, within DynamoDB's 100 items.
pub const MAX_LINES: usize = 99;
/// Longest lead time a supplier may have, in days.
pub const MAX_LEAD_TIME_DAYS: u32 = 365;
/// Most units in one pack.
pub const MAX_PACK_SIZE: u32 = 1_000_000;
/// Largest amount (minimum order, unit cost) in minor units: 10 billion of a two-decimal currency.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// A supplier a vendor buys from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Supplier {
    pub id: SupplierId,
    pub vendor_id: VendorId,
    /// Unique within the vendor (letters, digits, '-' and '_', upper-case); the demand settings'
    /// `supplier` names a supplier by it.
    #[schema(example = "ACME")]
    pub code: String,
    #[schema(example = "Acme Dairy Ltd")]
    pub name: String,
    /// Where purchase orders are sent.
    #[schema(example = "orders@acme.example")]
    pub email: String,
    /// What the supplier invoices in: unit costs and the minimum order are in its minor units.
    pub currency: Currency,
    /// Days from sending an order to its arrival.
    #[schema(example = 5)]
    pub lead_time_days: u32,
    /// The smallest order the supplier accepts, in minor units of its currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 25000)]
    pub minimum_order: Option<i64>,
    /// Units per pack: ordered quantities are multiples of it.
    #[schema(example = 12)]
    pub pack_size: u32,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Checks a lead time, naming `field`.
pub fn lead_time(field: &str, raw: i64) -> Result<u32, FieldError> {
    u32::try_from(raw)
        .ok()
        .filter(|d| *d <= MAX_LEAD_TIME_DAYS)
        .ok_or_else(|| FieldError::new(field, format!("must be a whole number of days from 0 to {MAX_LEAD_TIME_DAYS}")))
}

/// Checks a pack size, naming `field`.
pub fn pack_size(field: &str, raw: i64) -> Result<u32, FieldError> {
    u32::try_from(raw)
        .ok()
        .filter(|n| (1..=MAX_PACK_SIZE).contains(n))
        .ok_or_else(|| FieldError::new(field, format!("must be from 1 to {MAX_PACK_SIZE} units")))
}

/// Checks an amount in minor units (a minimum order, a unit cost), naming `field`.
pub fn amount(field: &str, raw: i64) -> Result<i64, FieldError> {
    if !(0..=MAX_AMOUNT).contains(&raw) {
        return Err(FieldError::new(field, format!("must be from 0 to {MAX_AMOUNT} minor units of the currency")));
    }
    Ok(raw)
}

/// Where a purchase order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseOrderStatus {
    /// Being prepared: lines can change; nothing is incoming yet.
    Draft,
    /// Sent to the supplier: its lines are incoming at the destination.
    Sent,
    /// Some units arrived; the rest are still incoming.
    PartiallyReceived,
    /// Every unit arrived (closed).
    Received,
    /// Called off; what had not arrived is no longer incoming (closed).
    Cancelled,
}

impl PurchaseOrderStatus {
    pub const ALL: [PurchaseOrderStatus; 5] = [
        PurchaseOrderStatus::Draft,
        PurchaseOrderStatus::Sent,
        PurchaseOrderStatus::PartiallyReceived,
        PurchaseOrderStatus::Received,
        PurchaseOrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseOrderStatus::Draft => "draft",
            PurchaseOrderStatus::Sent => "sent",
            PurchaseOrderStatus::PartiallyReceived => "partially_received",
            PurchaseOrderStatus::Received => "received",
            PurchaseOrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, format!("must be one of {}", Self::ALL.map(|s| s.as_str()).join(", ")))
        })
    }

    /// Sent and not yet fully received or cancelled: its outstanding units are incoming.
    pub fn is_open(self) -> bool {
        matches!(self, PurchaseOrderStatus::Sent | PurchaseOrderStatus::PartiallyReceived)
    }
}

impl fmt::Display for PurchaseOrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The supplier as it was when the order was made (the order keeps what it was sent to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OrderedFrom {
    pub supplier_id: SupplierId,
    #[schema(example = "ACME")]
    pub code: String,
    pub name: String,
    pub email: String,
    pub currency: Currency,
    pub pack_size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_order: Option<i64>,
}

impl From<&Supplier> for OrderedFrom {
    fn from(s: &Supplier) -> Self {
        Self {
            supplier_id: s.id,
            code: s.code.clone(),
            name: s.name.clone(),
            email: s.email.clone(),
            currency: s.currency,
            pack_size: s.pack_size,
            minimum_order: s.minimum_order,
        }
    }
}

/// The location the goods go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliverTo {
    pub location_id: LocationId,
    #[schema(example = "WH-LONDON")]
    pub code: String,
    pub name: String,
}

/// One SKU of a purchase order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PurchaseOrderLine {
    #[schema(example = "MILK-1L")]
    pub sku: String,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    /// Units ordered (a multiple of the supplier's pack size).
    #[schema(example = 48)]
    pub quantity: u32,
    /// Units received so far.
    pub received: u32,
    /// Cost of one unit, in minor units of the order's currency.
    #[schema(example = 85)]
    pub unit_cost: i64,
    /// The variant has a shelf life: it is received into batches (lot, expiry date).
    #[serde(default)]
    pub perishable: bool,
}

impl PurchaseOrderLine {
    /// Units still to arrive.
    pub fn outstanding(&self) -> u32 {
        self.quantity.saturating_sub(self.received)
    }
}

/// How an order came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderOrigin {
    /// Written by hand.
    Manual,
    /// Made from the latest replenishment suggestions.
    Suggestions,
}

/// An order placed with one supplier for delivery to one location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PurchaseOrder {
    pub id: PurchaseOrderId,
    pub vendor_id: VendorId,
    /// The vendor's own running number, printed on the document.
    #[schema(example = "PO-000042")]
    pub number: String,
    pub status: PurchaseOrderStatus,
    pub supplier: OrderedFrom,
    pub deliver_to: DeliverTo,
    /// The supplier's currency: unit costs and the total are in its minor units.
    pub currency: Currency,
    pub lines: Vec<PurchaseOrderLine>,
    /// Sum of quantity × unit cost over the lines, in minor units.
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub origin: OrderOrigin,
    /// Moves with every change: writes are conditioned on it.
    pub version: u64,
    /// The vendor's name as printed on the document (set when sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    pub created_by: Actor,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was fully received or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
}

/// One line of one receipt: what arrived, into which batch, and the ledger version it made. A
/// receipt's id is claimed per line in the transaction that posts the line, so a retried receipt
/// never posts a line twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReceivedLine {
    pub vendor_id: VendorId,
    pub purchase_order_id: PurchaseOrderId,
    /// The receipt: derived from the request's `Idempotency-Key`, or new for a request without one.
    pub receipt_id: String,
    #[schema(example = "MILK-1L")]
    pub sku: String,
    pub quantity: u32,
    /// Perishable variants: the batch the units went into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<chrono::NaiveDate>,
    pub location_id: LocationId,
    /// The stock item's version after this line was posted (its movement in the ledger).
    pub movement_version: u64,
    pub received_by: Actor,
    pub received_at: DateTime<Utc>,
}

/// A new receipt's id (time-ordered), for a receipt posted without an `Idempotency-Key`.
pub fn new_receipt_id() -> String {
    crate::ids::next_ulid().to_string()
}

/// Why a purchase order refused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurchasingError {
    /// Only a draft can change its lines or be sent.
    NotDraft(PurchaseOrderStatus),
    /// Only a sent or partially received order can receive goods.
    NotOpen(PurchaseOrderStatus),
    /// A received or cancelled order cannot be cancelled.
    Closed(PurchaseOrderStatus),
    /// The order has no line for this SKU.
    UnknownLine(String),
    /// More units than are still outstanding on the line.
    MoreThanOrdered { sku: String, outstanding: u32, requested: u32 },
    /// The order's value is below the supplier's minimum order.
    BelowMinimum { total: Money, minimum: Money },
    /// The total does not fit (quantity × unit cost summed over the lines).
    Overflow,
}

impl fmt::Display for PurchasingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PurchasingError::NotDraft(s) => write!(f, "only a draft can be changed or sent; this order is {s}"),
            PurchasingError::NotOpen(s) => {
                write!(f, "only a sent or partially received order takes goods; this order is {s}")
            }
            PurchasingError::Closed(s) => write!(f, "this order is {s} already"),
            PurchasingError::UnknownLine(sku) => write!(f, "this order has no line for {sku}"),
            PurchasingError::MoreThanOrdered { sku, outstanding, requested } => {
                write!(f, "{requested} units of {sku} were received but only {outstanding} are outstanding")
            }
            PurchasingError::BelowMinimum { total, minimum } => {
                write!(f, "the order's total {total} is below the supplier's minimum order of {minimum}")
            }
            PurchasingError::Overflow => f.write_str("the order's total is out of range"),
        }
    }
}

impl std::error::Error for PurchasingError {}

/// A line as a client asks for it, before it names a variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub sku: String,
    pub quantity: u32,
    pub unit_cost: i64,
}

/// Checks the lines of an order for a supplier selling in packs of `pack_size`: 1 to
/// [`MAX_LINES`] lines, each SKU once, quantities from 1 to [`MAX_QUANTITY`] in whole packs, unit
/// costs within range. Raw quantities and costs come as sent; fields are named `lines[i].…`.
pub fn check_lines(raw: &[(String, i64, i64)], pack_size: u32) -> Result<Vec<LineRequest>, FieldError> {
    if raw.is_empty() || raw.len() > MAX_LINES {
        return Err(FieldError::new("lines", format!("must hold 1 to {MAX_LINES} lines")));
    }
    let mut seen = HashSet::new();
    let mut lines = Vec::with_capacity(raw.len());
    for (i, (sku, quantity, unit_cost)) in raw.iter().enumerate() {
        let sku = crate::values::Sku::parse(&format!("lines[{i}].sku"), sku)?;
        if !seen.insert(sku.clone()) {
            return Err(FieldError::new(format!("lines[{i}].sku"), "orders a SKU a second time"));
        }
        let field = format!("lines[{i}].quantity");
        let quantity = u32::try_from(*quantity)
            .ok()
            .filter(|q| (1..=MAX_QUANTITY).contains(q))
            .ok_or_else(|| FieldError::new(&field, format!("must be from 1 to {MAX_QUANTITY} units")))?;
        if quantity % pack_size != 0 {
            return Err(FieldError::new(
                field,
                format!("must be a multiple of the supplier's pack size ({pack_size} units)"),
            ));
        }
        let unit_cost = amount(&format!("lines[{i}].unit_cost"), *unit_cost)?;
        lines.push(LineRequest { sku, quantity, unit_cost });
    }
    Ok(lines)
}

/// Sum of quantity × unit cost.
pub fn order_total(lines: &[PurchaseOrderLine]) -> Result<i64, PurchasingError> {
    lines.iter().try_fold(0i64, |sum, l| {
        l.unit_cost.checked_mul(i64::from(l.quantity)).and_then(|v| sum.checked_add(v)).ok_or(PurchasingError::Overflow)
    })
}

/// A suggested quantity (fractional units, as the forecast computes them) as units to order:
/// whole units rounded up, then up to whole packs. 0 stays 0.
pub fn round_up_to_pack(units: f64, pack_size: u32) -> u32 {
    if units.is_nan() || units <= 0.0 {
        return 0;
    }
    let pack = u64::from(pack_size.max(1));
    let whole = units.ceil().min(f64::from(MAX_QUANTITY)) as u64;
    let packs = whole.div_ceil(pack);
    (packs * pack).min(u64::from(MAX_QUANTITY) / pack * pack) as u32
}

/// The printed number of a vendor's `n`-th purchase order.
pub fn order_number(n: u64) -> String {
    format!("PO-{n:06}")
}

impl PurchaseOrder {
    /// Replaces a draft's lines (and recomputes its total).
    pub fn replace_lines(&mut self, lines: Vec<PurchaseOrderLine>, now: DateTime<Utc>) -> Result<(), PurchasingError> {
        if self.status != PurchaseOrderStatus::Draft {
            return Err(PurchasingError::NotDraft(self.status));
        }
        self.total = order_total(&lines)?;
        self.lines = lines;
        self.touch(now);
        Ok(())
    }

    /// Sends a draft: refused below the supplier's minimum order. Every line is incoming from now on.
    pub fn send(&mut self, vendor_name: &str, now: DateTime<Utc>) -> Result<(), PurchasingError> {
        if self.status != PurchaseOrderStatus::Draft {
            return Err(PurchasingError::NotDraft(self.status));
        }
        if let Some(minimum) = self.supplier.minimum_order
            && self.total < minimum
        {
            return Err(PurchasingError::BelowMinimum {
                total: Money::new(self.total, self.currency),
                minimum: Money::new(minimum, self.currency),
            });
        }
        self.status = PurchaseOrderStatus::Sent;
        self.vendor_name = Some(vendor_name.to_string());
        self.sent_at = Some(now);
        self.touch(now);
        Ok(())
    }

    /// Whether `quantity` units of `sku` can be received now (nothing changes).
    pub fn check_receipt(&self, sku: &str, quantity: u32) -> Result<&PurchaseOrderLine, PurchasingError> {
        if !self.status.is_open() {
            return Err(PurchasingError::NotOpen(self.status));
        }
        let line = self.lines.iter().find(|l| l.sku == sku).ok_or_else(|| PurchasingError::UnknownLine(sku.into()))?;
        if quantity > line.outstanding() {
            return Err(PurchasingError::MoreThanOrdered {
                sku: sku.into(),
                outstanding: line.outstanding(),
                requested: quantity,
            });
        }
        Ok(line)
    }

    /// Receives `quantity` units of one line: partially received until every line is complete,
    /// then received.
    pub fn receive(&mut self, sku: &str, quantity: u32, now: DateTime<Utc>) -> Result<(), PurchasingError> {
        self.check_receipt(sku, quantity)?;
        if let Some(line) = self.lines.iter_mut().find(|l| l.sku == sku) {
            line.received += quantity;
        }
        if self.lines.iter().all(|l| l.outstanding() == 0) {
            self.status = PurchaseOrderStatus::Received;
            self.closed_at = Some(now);
        } else {
            self.status = PurchaseOrderStatus::PartiallyReceived;
        }
        self.touch(now);
        Ok(())
    }

    /// Cancels a draft or an open order. Answers the units per line (by index) that stop being
    /// incoming: none for a draft, the outstanding ones for an open order.
    pub fn cancel(&mut self, now: DateTime<Utc>) -> Result<Vec<(usize, u32)>, PurchasingError> {
        let was_open = self.status.is_open();
        if !was_open && self.status != PurchaseOrderStatus::Draft {
            return Err(PurchasingError::Closed(self.status));
        }
        let released = if was_open {
            self.lines.iter().enumerate().map(|(i, l)| (i, l.outstanding())).filter(|(_, q)| *q > 0).collect()
        } else {
            Vec::new()
        };
        self.status = PurchaseOrderStatus::Cancelled;
        self.closed_at = Some(now);
        self.touch(now);
        Ok(released)
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("currency", "EUR").unwrap()
    }

    fn line(sku: &str, quantity: u32, unit_cost: i64) -> PurchaseOrderLine {
        PurchaseOrderLine {
            sku: sku.into(),
            variant_id: VariantId::generate(),
            product_id: ProductId::generate(),
            quantity,
            received: 0,
            unit_cost,
            perishable: false,
        }
    }

    fn order(lines: Vec<PurchaseOrderLine>, minimum_order: Option<i64>) -> PurchaseOrder {
        let now = Utc::now();
        PurchaseOrder {
            id: PurchaseOrderId::generate(),
            vendor_id: VendorId::generate(),
            number: order_number(1),
            status: PurchaseOrderStatus::Draft,
            supplier: OrderedFrom {
                supplier_id: SupplierId::generate(),
                code: "ACME".into(),
                name: "Acme".into(),
                email: "orders@acme.example".into(),
                currency: eur(),
                pack_size: 6,
                minimum_order,
            },
            deliver_to: DeliverTo { location_id: LocationId::generate(), code: "WH".into(), name: "Warehouse".into() },
            currency: eur(),
            total: order_total(&lines).unwrap(),
            lines,
            note: None,
            origin: OrderOrigin::Manual,
            version: 1,
            vendor_name: None,
            created_by: Actor::System { name: "test".into() },
            created_at: now,
            updated_at: now,
            sent_at: None,
            closed_at: None,
        }
    }

    #[test]
    fn an_order_goes_from_draft_to_sent_to_partially_received_to_received() {
        let mut po = order(vec![line("A", 12, 100), line("B", 6, 250)], None);
        assert_eq!(po.total, 12 * 100 + 6 * 250);
        po.send("Shop", Utc::now()).unwrap();
        assert_eq!((po.status, po.version, po.vendor_name.as_deref()), (PurchaseOrderStatus::Sent, 2, Some("Shop")));
        po.receive("A", 12, Utc::now()).unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::PartiallyReceived);
        po.receive("B", 2, Utc::now()).unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::PartiallyReceived);
        po.receive("B", 4, Utc::now()).unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Received);
        assert!(po.closed_at.is_some());
        assert_eq!(po.version, 5);
    }

    #[test]
    fn receiving_more_than_is_outstanding_is_refused_and_changes_nothing() {
        let mut po = order(vec![line("A", 12, 100)], None);
        po.send("Shop", Utc::now()).unwrap();
        po.receive("A", 10, Utc::now()).unwrap();
        let before = po.clone();
        assert_eq!(
            po.receive("A", 3, Utc::now()),
            Err(PurchasingError::MoreThanOrdered { sku: "A".into(), outstanding: 2, requested: 3 })
        );
        assert_eq!(po.receive("Z", 1, Utc::now()), Err(PurchasingError::UnknownLine("Z".into())));
        assert_eq!(po, before);
    }

    #[test]
    fn a_draft_takes_no_goods_and_a_sent_order_no_new_lines() {
        let mut po = order(vec![line("A", 12, 100)], None);
        assert_eq!(po.receive("A", 1, Utc::now()), Err(PurchasingError::NotOpen(PurchaseOrderStatus::Draft)));
        po.send("Shop", Utc::now()).unwrap();
        assert_eq!(
            po.replace_lines(vec![line("B", 6, 1)], Utc::now()),
            Err(PurchasingError::NotDraft(PurchaseOrderStatus::Sent))
        );
        assert_eq!(po.send("Shop", Utc::now()), Err(PurchasingError::NotDraft(PurchaseOrderStatus::Sent)));
    }

    #[test]
    fn an_order_below_the_suppliers_minimum_is_not_sent() {
        let mut po = order(vec![line("A", 6, 100)], Some(1000));
        let refused = po.send("Shop", Utc::now()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the order's total 6.00 EUR is below the supplier's minimum order of 10.00 EUR"
        );
        assert_eq!(po.status, PurchaseOrderStatus::Draft);
        po.replace_lines(vec![line("A", 12, 100)], Utc::now()).unwrap();
        po.send("Shop", Utc::now()).unwrap();
    }

    #[test]
    fn cancelling_releases_only_what_is_still_incoming() {
        let mut draft = order(vec![line("A", 12, 100)], None);
        assert_eq!(draft.cancel(Utc::now()).unwrap(), vec![]);
        let mut po = order(vec![line("A", 12, 100), line("B", 6, 100), line("C", 6, 1)], None);
        po.send("Shop", Utc::now()).unwrap();
        po.receive("A", 5, Utc::now()).unwrap();
        po.receive("B", 6, Utc::now()).unwrap();
        assert_eq!(po.cancel(Utc::now()).unwrap(), vec![(0, 7), (2, 6)]);
        assert_eq!(po.status, PurchaseOrderStatus::Cancelled);
        assert_eq!(po.cancel(Utc::now()), Err(PurchasingError::Closed(PurchaseOrderStatus::Cancelled)));
    }

    #[test]
    fn lines_are_whole_packs_of_distinct_skus() {
        let ok = check_lines(&[("milk-1l".into(), 12, 85), ("EGGS".into(), 6, 0)], 6).unwrap();
        assert_eq!(ok[0], LineRequest { sku: "MILK-1L".into(), quantity: 12, unit_cost: 85 });
        let field = |raw: &[(String, i64, i64)]| check_lines(raw, 6).unwrap_err().field;
        assert_eq!(field(&[("A".into(), 7, 1)]), "lines[0].quantity");
        assert_eq!(field(&[("A".into(), 0, 1)]), "lines[0].quantity");
        assert_eq!(field(&[("A".into(), 6, 1), ("a".into(), 6, 1)]), "lines[1].sku");
        assert_eq!(field(&[("A".into(), 6, -1)]), "lines[0].unit_cost");
        assert_eq!(field(&[("A#1".into(), 6, 1)]), "lines[0].sku");
        assert_eq!(field(&[]), "lines");
        let many: Vec<(String, i64, i64)> = (0..=MAX_LINES).map(|i| (format!("S{i}"), 6, 1)).collect();
        assert_eq!(field(&many), "lines");
    }

    #[test]
    fn suggested_quantities_round_up_to_whole_packs() {
        assert_eq!(round_up_to_pack(0.0, 12), 0);
        assert_eq!(round_up_to_pack(-3.0, 12), 0);
        assert_eq!(round_up_to_pack(0.2, 12), 12);
        assert_eq!(round_up_to_pack(12.0, 12), 12);
        assert_eq!(round_up_to_pack(12.01, 12), 24);
        assert_eq!(round_up_to_pack(7.5, 1), 8);
        assert_eq!(round_up_to_pack(f64::NAN, 6), 0);
        assert_eq!(round_up_to_pack(1e12, 7) % 7, 0);
    }

    #[test]
    fn supplier_values_are_checked_with_their_field() {
        assert_eq!(lead_time("lead_time_days", 365).unwrap(), 365);
        assert_eq!(lead_time("lead_time_days", 366).unwrap_err().field, "lead_time_days");
        assert_eq!(lead_time("lead_time_days", -1).unwrap_err().field, "lead_time_days");
        assert_eq!(pack_size("pack_size", 0).unwrap_err().field, "pack_size");
        assert!(amount("minimum_order", MAX_AMOUNT + 1).is_err());
        assert_eq!(PurchaseOrderStatus::parse("status", "partially_received").unwrap().as_str(), "partially_received");
        assert!(PurchaseOrderStatus::parse("status", "Sent").is_err());
        assert_eq!(order_number(42), "PO-000042");
    }
}
