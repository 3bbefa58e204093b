//! What a paid order group leaves on paper: one invoice per vendor order (the vendor is the seller
//! of record, numbered in its own gapless sequence) and one payment receipt per group, plus the
//! languages and money formatting the customer reads them in.
//!
//! An invoice is built from the vendor order as it was paid ([`Invoice::of`]): its lines, their
//! net, tax and gross, a tax breakdown and the totals the order carries. The order keeps each
//! line's tax amount but not the rate it came from, so the breakdown groups lines by the rate
//! their net and tax imply, to a hundredth of a percent (exact for every rate the tax table can
//! hold once a line's net is large enough that rounding its tax cannot move the quotient; a tax
//! the order holds beyond its lines', the shipping's, is its own row).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{OrderGroupId, OrderId, VendorId};
use crate::money::{Currency, Money};
use crate::order::{OrderGroup, VendorOrder};

/// The languages order emails and documents are written in. Anything else reads English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    En,
    Fr,
    De,
}

impl Lang {
    /// The language of a locale tag (`fr-FR` → French), English for any other.
    pub fn of(locale: &str) -> Self {
        let language = locale.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match language.as_str() {
            "fr" => Lang::Fr,
            "de" => Lang::De,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }
}

/// The sign written before or after an amount: `€`, `$`, `£`; other currencies by their code.
fn symbol(currency: Currency) -> Option<&'static str> {
    match currency.code() {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        _ => None,
    }
}

/// `money` as a reader of `lang` writes it: `€1,234.50` in English, `1 234,50 €` in French (a
/// no-break space groups the thousands), `1.234,50 €` in German; a currency without a sign of its
/// own by its code (`CHF 12.00`, `12,00 CHF`). Exact: minor units, never floating point.
pub fn format_money(money: Money, lang: Lang) -> String {
    let exponent = money.currency.exponent();
    let abs = money.amount.unsigned_abs();
    let scale = 10u64.pow(exponent);
    let (whole, fraction) = (abs / scale, abs % scale);
    let (group, decimal) = match lang {
        Lang::En => (',', '.'),
        Lang::Fr => ('\u{a0}', ','),
        Lang::De => ('.', ','),
    };
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let number = if exponent == 0 {
        grouped
    } else {
        format!("{grouped}{decimal}{fraction:0width$}", width = exponent as usize)
    };
    let sign = if money.amount < 0 { "-" } else { "" };
    let code = money.currency.code();
    match (lang, symbol(money.currency)) {
        (Lang::En, Some(s)) => format!("{sign}{s}{number}"),
        (Lang::En, None) => format!("{sign}{code} {number}"),
        (_, s) => format!("{sign}{number}\u{a0}{}", s.unwrap_or(code)),
    }
}

/// A date as a reader of `lang` writes it: `2026-12-01` stays ISO in English, `01/12/2026` in
/// French, `01.12.2026` in German.
pub fn format_date(at: DateTime<Utc>, lang: Lang) -> String {
    match lang {
        Lang::En => at.format("%Y-%m-%d").to_string(),
        Lang::Fr => at.format("%d/%m/%Y").to_string(),
        Lang::De => at.format("%d.%m.%Y").to_string(),
    }
}

/// The seller of record as its invoice names it, from the vendor's profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Seller {
    pub vendor_id: VendorId,
    pub name: String,
    /// Where it trades from (ISO 3166-1 alpha-2), when the profile says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The postal address lines, when the profile has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<String>,
    /// Its tax (VAT) registration number, when the profile has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
}

/// The buyer as the invoice names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Buyer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: String,
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub discount: Money,
    /// `gross - tax`.
    pub net: Money,
    pub tax: Money,
    /// What the customer paid for the line.
    pub gross: Money,
    /// The rate the line's net and tax imply, in percent (absent when its net is zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "20")]
    pub tax_rate: Option<Decimal>,
}

/// The lines taxed at one rate, summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaxRow {
    /// In percent; absent for the row of the shipping's tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "20")]
    pub rate: Option<Decimal>,
    pub net: Money,
    pub tax: Money,
}

/// The sums an invoice shows: those the vendor order carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceTotals {
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    pub tax: Money,
    pub total: Money,
}

/// An invoice of one vendor order: the vendor sells, the customer buys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    pub group_id: OrderGroupId,
    pub order_id: OrderId,
    pub vendor_id: VendorId,
    /// The vendor's running number of it: 1, 2, 3, ... without gaps.
    pub sequence: u64,
    /// As printed: `INV-000042`.
    #[schema(example = "INV-000042")]
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub currency: Currency,
    /// The language it is written in (the order's).
    pub lang: Lang,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<InvoiceLine>,
    pub tax_breakdown: Vec<TaxRow>,
    pub totals: InvoiceTotals,
    /// The payment that paid it (the provider's reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
}

/// How an invoice number is printed.
pub fn invoice_number(sequence: u64) -> String {
    format!("INV-{sequence:06}")
}

/// The rate `tax` on `net` implies, in percent to two decimal places (none for a zero net).
fn implied_rate(net: i64, tax: i64) -> Option<Decimal> {
    if net <= 0 {
        return None;
    }
    Some((Decimal::from(tax) * Decimal::from(100) / Decimal::from(net)).round_dp(2).normalize())
}

impl Invoice {
    /// The invoice of `order` (of `group`), numbered `sequence` by its vendor, issued at
    /// `issued_at`. Amounts in another currency than the order's are a broken order: refused.
    pub fn of(
        group: &OrderGroup,
        order: &VendorOrder,
        (seller, buyer): (Seller, Buyer),
        sequence: u64,
        issued_at: DateTime<Utc>,
    ) -> Result<Self, crate::money::MoneyError> {
        let currency = order.totals.total.currency;
        let mut lines = Vec::with_capacity(order.lines.len());
        let mut rows: Vec<TaxRow> = Vec::new();
        let mut line_tax = Money::zero(currency);
        for line in &order.lines {
            let net = line.total.checked_sub(line.tax)?;
            let rate = implied_rate(net.amount, line.tax.amount);
            line_tax = line_tax.checked_add(line.tax)?;
            match rows.iter_mut().find(|r| r.rate == rate && rate.is_some()) {
                Some(row) => {
                    row.net = row.net.checked_add(net)?;
                    row.tax = row.tax.checked_add(line.tax)?;
                }
                None if rate.is_some() => rows.push(TaxRow { rate, net, tax: line.tax }),
                None => {}
            }
            lines.push(InvoiceLine {
                sku: line.sku.clone(),
                title: line.title.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                discount: line.discount,
                net,
                tax: line.tax,
                gross: line.total,
                tax_rate: rate,
            });
        }
        let other_tax = order.totals.tax.checked_sub(line_tax)?;
        if other_tax.amount != 0 {
            rows.push(TaxRow { rate: None, net: order.totals.shipping.checked_sub(other_tax)?, tax: other_tax });
        }
        let t = &order.totals;
        Ok(Self {
            group_id: group.id,
            order_id: order.id,
            vendor_id: order.vendor_id,
            sequence,
            number: invoice_number(sequence),
            issued_at,
            currency,
            lang: Lang::of(&group.locale),
            seller,
            buyer,
            lines,
            tax_breakdown: rows,
            totals: InvoiceTotals {
                subtotal: t.subtotal,
                discount: t.discount,
                shipping: t.shipping,
                tax: t.tax,
                total: t.total,
            },
            payment_reference: group.payment_reference.clone(),
        })
    }
}

/// One vendor's part as the receipt lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptPart {
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub order_id: OrderId,
    #[schema(example = "INV-000042")]
    pub invoice_number: String,
    pub total: Money,
}

/// The payment receipt of an order group: what one payment paid, vendor by vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub group_id: OrderGroupId,
    /// As printed: `R-<group id>`.
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub lang: Lang,
    pub buyer: Buyer,
    pub parts: Vec<ReceiptPart>,
    pub total: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
}

impl Receipt {
    /// The receipt of `group`, listing its invoices.
    pub fn of(group: &OrderGroup, buyer: Buyer, invoices: &[Invoice], issued_at: DateTime<Utc>) -> Self {
        Self {
            group_id: group.id,
            number: format!("R-{}", group.id),
            issued_at,
            lang: Lang::of(&group.locale),
            buyer,
            parts: invoices
                .iter()
                .map(|i| ReceiptPart {
                    vendor_id: i.vendor_id,
                    vendor_name: i.seller.name.clone(),
                    order_id: i.order_id,
                    invoice_number: i.number.clone(),
                    total: i.totals.total,
                })
                .collect(),
            total: group.total,
            payment_reference: group.payment_reference.clone(),
        }
    }
}

/// What kind of document a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Invoice,
    Receipt,
    CreditNote,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{LocationId, ProductId, VariantId};
    use crate::order::{LineAllocation, OrderLine, OrderStatus, OrderTotals};

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn eur(amount: i64) -> Money {
        Money::new(amount, cur("EUR"))
    }

    #[test]
    fn money_is_written_the_way_each_language_writes_it() {
        let m = eur(123_456_789);
        assert_eq!(format_money(m, Lang::En), "€1,234,567.89");
        assert_eq!(format_money(m, Lang::Fr), "1\u{a0}234\u{a0}567,89\u{a0}€");
        assert_eq!(format_money(m, Lang::De), "1.234.567,89\u{a0}€");
        assert_eq!(format_money(eur(5), Lang::En), "€0.05");
        assert_eq!(format_money(eur(-1999), Lang::De), "-19,99\u{a0}€");
        assert_eq!(format_money(Money::new(1500, cur("JPY")), Lang::En), "¥1,500");
        assert_eq!(format_money(Money::new(1200, cur("CHF")), Lang::En), "CHF 12.00");
        assert_eq!(format_money(Money::new(1200, cur("CHF")), Lang::Fr), "12,00\u{a0}CHF");
        assert_eq!(format_money(Money::new(1234, cur("KWD")), Lang::En), "KWD 1.234");
    }

    #[test]
    fn a_locale_reads_its_language_and_any_other_reads_english() {
        assert_eq!(Lang::of("fr-FR"), Lang::Fr);
        assert_eq!(Lang::of("fr_CA"), Lang::Fr);
        assert_eq!(Lang::of("DE"), Lang::De);
        assert_eq!(Lang::of("de-AT"), Lang::De);
        assert_eq!(Lang::of("es-ES"), Lang::En);
        assert_eq!(Lang::of(""), Lang::En);
    }

    #[test]
    fn dates_are_written_per_language() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T23:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(format_date(at, Lang::En), "2026-12-01");
        assert_eq!(format_date(at, Lang::Fr), "01/12/2026");
        assert_eq!(format_date(at, Lang::De), "01.12.2026");
    }

    fn line(sku: &str, quantity: u32, unit: i64, tax: i64) -> OrderLine {
        let total = eur(unit * i64::from(quantity));
        OrderLine {
            variant_id: VariantId::generate(),
            product_id: ProductId::generate(),
            sku: sku.into(),
            title: format!("Product {sku}"),
            quantity,
            unit_price: eur(unit),
            discount: eur(0),
            tax: eur(tax),
            total,
            allocations: vec![LineAllocation { location_id: LocationId::generate(), quantity, shipped: 0 }],
            returned: 0,
        }
    }

    pub(crate) fn paid_group(orders: &[&VendorOrder]) -> OrderGroup {
        let now = Utc::now();
        let total = orders.iter().fold(eur(0), |sum, o| sum.checked_add(o.totals.total).unwrap());
        OrderGroup {
            id: orders[0].group_id,
            customer_id: None,
            email: "guest@example.com".into(),
            currency: cur("EUR"),
            locale: "de-DE".into(),
            orders: orders.iter().map(|o| (o.vendor_id, o.id)).collect(),
            total,
            status: OrderStatus::Paid,
            holds: Vec::new(),
            expires_at: now,
            payment_reference: Some("pi_123".into()),
            refunds_due: Vec::new(),
            disputes: Vec::new(),
            shipping_address: None,
            billing_address: None,
            payment: None,
            payment_provider: None,
            coupon: None,
            limited: Vec::new(),
            version: 2,
            created_at: now,
            updated_at: now,
        }
    }

    fn order(lines: Vec<OrderLine>, shipping: i64, shipping_tax: i64) -> VendorOrder {
        let now = Utc::now();
        let subtotal = lines.iter().fold(eur(0), |s, l| s.checked_add(l.total).unwrap());
        let tax = lines.iter().fold(eur(shipping_tax), |s, l| s.checked_add(l.tax).unwrap());
        let total = subtotal.checked_add(eur(shipping)).unwrap();
        VendorOrder {
            id: OrderId::generate(),
            group_id: OrderGroupId::generate(),
            vendor_id: VendorId::generate(),
            customer_id: None,
            status: OrderStatus::Paid,
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
            commission_rate: Decimal::new(1, 1),
            promised_ship_by: None,
            shipping: None,
            tax: None,
            timeline: Vec::new(),
            version: 2,
            created_at: now,
            updated_at: now,
        }
    }

    fn parties(order: &VendorOrder) -> (Seller, Buyer) {
        (
            Seller { vendor_id: order.vendor_id, name: "Acme".into(), country: None, address: vec![], tax_id: None },
            Buyer { name: None, email: "guest@example.com".into() },
        )
    }

    #[test]
    fn an_invoice_groups_its_lines_by_rate_and_shows_the_shipping_tax_on_its_own_row() {
        // 20% on 100.00 net (120.00 gross, twice), 5.5% on 10.00 net, shipping 6.00 with 1.00 tax.
        let o = order(vec![line("A", 2, 12_000, 4_000), line("B", 1, 1_055, 55), line("C", 1, 600, 100)], 600, 100);
        let group = paid_group(&[&o]);
        let invoice = Invoice::of(&group, &o, parties(&o), 42, Utc::now()).unwrap();
        assert_eq!(invoice.number, "INV-000042");
        assert_eq!(invoice.lang, Lang::De);
        assert_eq!(invoice.payment_reference.as_deref(), Some("pi_123"));
        let rates: Vec<(Option<String>, i64, i64)> =
            invoice.tax_breakdown.iter().map(|r| (r.rate.map(|d| d.to_string()), r.net.amount, r.tax.amount)).collect();
        assert_eq!(
            rates,
            [(Some("20".into()), 20_000 + 500, 4_000 + 100), (Some("5.5".into()), 1_000, 55), (None, 500, 100)]
        );
        assert_eq!(invoice.lines[0].net, eur(20_000));
        assert_eq!(invoice.totals.total, o.totals.total);
        let summed = invoice.tax_breakdown.iter().fold(eur(0), |s, r| s.checked_add(r.tax).unwrap());
        assert_eq!(summed, invoice.totals.tax, "the breakdown adds up to the order's tax");
    }

    #[test]
    fn untaxed_lines_have_no_rate_row_and_a_receipt_lists_each_invoice() {
        let o = order(vec![line("A", 1, 999, 0)], 0, 0);
        let group = paid_group(&[&o]);
        let invoice = Invoice::of(&group, &o, parties(&o), 1, Utc::now()).unwrap();
        assert_eq!(invoice.tax_breakdown.len(), 1);
        assert_eq!(invoice.tax_breakdown[0].rate, Some(Decimal::ZERO));
        let receipt = Receipt::of(&group, invoice.buyer.clone(), std::slice::from_ref(&invoice), Utc::now());
        assert_eq!(receipt.number, format!("R-{}", group.id));
        assert_eq!(receipt.parts[0].invoice_number, "INV-000001");
        assert_eq!(receipt.total, group.total);
    }
}
