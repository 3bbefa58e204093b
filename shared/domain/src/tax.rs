//! Tax at checkout: the rates an admin maintains per country (and per region where a region has
//! its own), and the tax on a cart's lines and shipping for one destination.
//!
//! # Inclusive and exclusive prices
//! A country's rates say how its shelf prices are written ([`PricingMode`]):
//! - **Tax-inclusive** (EU VAT, UK VAT, Japanese consumption tax): the price the catalog shows is
//!   what the customer pays, tax included. The tax is taken out of it: for a line's gross amount
//!   `g` at rate `r`, the net is `round(g / (1 + r))` and the tax is `g − net`, so the line's gross
//!   is exactly the price shown and never moves by a cent. £12.00 at 20% is £10.00 net + £2.00 VAT.
//! - **Tax-exclusive** (US and Canadian sales taxes): the price shown is net and tax is added on
//!   top: the tax is `round(net × r)` and the gross is `net + tax`. $100.00 at 7.25% is $107.25.
//!
//! A line's amount is `unit price × quantity − discount`, the discount being the part of the
//! cart's discounts already allocated to that line; it is gross in an inclusive country and net in
//! an exclusive one. Shipping is one more line, taxed as the destination's shipping tax class.
//!
//! # Rounding: per line, half away from zero
//! Each line's tax is rounded once, to the currency's minor unit (0 places for JPY, 2 for EUR, 3
//! for KWD), half away from zero as in `exchange`. The summary and the totals are then exact sums
//! of the lines and are never rounded again, so:
//! - the invoice adds up: every line shows net + tax = gross and the totals are the sums of the
//!   columns above them;
//! - a line's tax is fixed when the order is placed, so returning one line refunds exactly the tax
//!   that line was charged, whatever else was in the cart;
//! - in an inclusive country the customer pays exactly the sum of the prices shown.
//!
//! Rounding the total instead can differ from the sum of the rounded lines by up to half a minor
//! unit per line (three £0.99 lines at 20%: 48p of VAT line by line, 49p on the £2.97 total). Tax
//! authorities generally accept either method applied consistently; this module always rounds per
//! line.
//!
//! # Rates
//! Rates are percentages from 0 to 100 with at most four decimal places (`20`, `7.25`, `8.875`),
//! held as exact decimals; the arithmetic is done on integers and no floating point is involved. A
//! region's rate for a class replaces the country-wide rate for that class. A class that neither
//! the region nor the country lists is not taxed there (see [`TaxTreatment::NoRate`]); an exempt
//! line is outside the tax altogether and never has a rate.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::address::country;
use crate::catalog::TaxClass;
use crate::values::bounded_text;
use crate::{Currency, FieldError, Money};

/// The most decimal places a rate may have (`8.875`, `7.1234`).
pub const MAX_RATE_DECIMALS: u32 = 4;
/// The longest name of a rate, in characters.
pub const MAX_RATE_NAME_LEN: usize = 100;
/// The longest region (ISO 3166-2 subdivision) code, after the country prefix.
pub const MAX_REGION_LEN: usize = 3;
/// The name a line shows when its jurisdiction lists no rate for its class.
pub const NO_RATE_NAME: &str = "No tax";
/// The name an exempt line shows.
pub const EXEMPT_NAME: &str = "Exempt";
/// The id of the shipping line in a breakdown and in errors.
pub const SHIPPING_LINE_ID: &str = "shipping";

/// How a country's shelf prices relate to its tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PricingMode {
    /// Prices include tax (VAT style): the tax is taken out of the price shown.
    TaxInclusive,
    /// Prices exclude tax (sales-tax style): the tax is added on top of the price shown.
    TaxExclusive,
}

/// One rate of a country, or of one of its regions, for one tax class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxRate {
    /// The ISO 3166-2 subdivision code without the country (`CA` for US-CA; `US-CA` is read too),
    /// stored upper-case. Absent for the country-wide rate. A region's rate replaces the
    /// country-wide rate of the same class for destinations in that region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "CA")]
    pub region: Option<String>,
    /// Never `exempt`: exempt goods are not taxed and have no rate.
    pub tax_class: TaxClass,
    /// A percentage from 0 to 100 with at most 4 decimal places, as a decimal string.
    #[schema(value_type = String, example = "20")]
    pub rate: Decimal,
    /// What the customer sees on the receipt.
    #[schema(example = "VAT 20%")]
    pub name: String,
}

/// A country's tax settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CountryTax {
    /// ISO 3166-1 alpha-2, stored upper-case.
    #[schema(example = "GB")]
    pub country: String,
    pub pricing: PricingMode,
    /// Shipping is taxed as this class at the destination's rate for it (`exempt`: shipping is not
    /// taxed there). The shipping fee is written the way the country's prices are: tax included
    /// in an inclusive country.
    pub shipping_tax_class: TaxClass,
    /// Country-wide and regional rates, at most one per (region, class).
    #[serde(default)]
    pub rates: Vec<TaxRate>,
}

/// Every country's tax settings, checked. Checkout refuses a destination the table does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "TaxTableRecord")]
pub struct TaxTable {
    countries: Vec<CountryTax>,
}

/// The unchecked shape of [`TaxTable`], as read from a request or the store.
#[derive(Deserialize)]
struct TaxTableRecord {
    #[serde(default)]
    countries: Vec<CountryTax>,
}

impl TryFrom<TaxTableRecord> for TaxTable {
    type Error = FieldError;
    fn try_from(r: TaxTableRecord) -> Result<Self, Self::Error> {
        TaxTable::new(r.countries)
    }
}

/// Reads a region code: trimmed, upper-cased, with a leading `<country>-` dropped; blank is none,
/// and anything but 1 to 3 letters or digits is `Err`.
fn region_code(country: &str, raw: &str) -> Result<Option<String>, ()> {
    let code = raw.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Ok(None);
    }
    let code = code.strip_prefix(country).and_then(|rest| rest.strip_prefix('-')).unwrap_or(&code);
    if (1..=MAX_REGION_LEN).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(Some(code.to_string()))
    } else {
        Err(())
    }
}

fn class_name(class: TaxClass) -> &'static str {
    match class {
        TaxClass::Standard => "standard",
        TaxClass::Reduced => "reduced",
        TaxClass::Zero => "zero",
        TaxClass::Exempt => "exempt",
    }
}

impl TaxRate {
    /// Checks one rate of `country`; errors are named under `field` (`countries[0].rates[1]`).
    fn checked(&self, field: &str, country: &str) -> Result<TaxRate, FieldError> {
        let region = match &self.region {
            None => None,
            Some(raw) => region_code(country, raw).map_err(|()| {
                FieldError::new(
                    format!("{field}.region"),
                    format!("must be an ISO 3166-2 subdivision code of {country} such as CA (for US-CA)"),
                )
            })?,
        };
        if self.tax_class == TaxClass::Exempt {
            return Err(FieldError::new(
                format!("{field}.tax_class"),
                "exempt goods are not taxed and take no rate; list only standard, reduced or zero rates",
            ));
        }
        let rate = self.rate.normalize();
        if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED {
            return Err(FieldError::new(format!("{field}.rate"), "must be a percentage from 0 to 100"));
        }
        if rate.scale() > MAX_RATE_DECIMALS {
            return Err(FieldError::new(
                format!("{field}.rate"),
                format!("must have at most {MAX_RATE_DECIMALS} decimal places"),
            ));
        }
        let name = bounded_text(&format!("{field}.name"), &self.name, 1, MAX_RATE_NAME_LEN)?;
        Ok(TaxRate { region, tax_class: self.tax_class, rate, name })
    }
}

impl TaxTable {
    /// Checks every country and rate and stores them normalised (codes upper-case, rates without
    /// trailing zeros, names trimmed). The first problem is reported, named by its path:
    /// `countries[2].country`, `countries[0].rates[1].rate`.
    pub fn new(countries: Vec<CountryTax>) -> Result<Self, FieldError> {
        let mut checked: Vec<CountryTax> = Vec::with_capacity(countries.len());
        for (i, c) in countries.iter().enumerate() {
            let at = format!("countries[{i}]");
            let code = country(&format!("{at}.country"), &c.country)?;
            if let Some(k) = checked.iter().position(|seen| seen.country == code) {
                return Err(FieldError::new(
                    format!("{at}.country"),
                    format!("{code} is listed twice (also countries[{k}])"),
                ));
            }
            let mut rates: Vec<TaxRate> = Vec::with_capacity(c.rates.len());
            for (j, rate) in c.rates.iter().enumerate() {
                let field = format!("{at}.rates[{j}]");
                let rate = rate.checked(&field, &code)?;
                if let Some(k) = rates.iter().position(|r| r.region == rate.region && r.tax_class == rate.tax_class) {
                    let place = match &rate.region {
                        Some(region) => format!("{code}-{region}"),
                        None => format!("{code} (country-wide)"),
                    };
                    return Err(FieldError::new(
                        format!("{field}.tax_class"),
                        format!("{place} already has a {} rate (rates[{k}])", class_name(rate.tax_class)),
                    ));
                }
                rates.push(rate);
            }
            checked.push(CountryTax {
                country: code,
                pricing: c.pricing,
                shipping_tax_class: c.shipping_tax_class,
                rates,
            });
        }
        Ok(Self { countries: checked })
    }

    /// Every country's settings, in the order the admin listed them.
    pub fn countries(&self) -> &[CountryTax] {
        &self.countries
    }

    /// A country's settings, by its code in any case.
    pub fn country(&self, code: &str) -> Option<&CountryTax> {
        let code = code.trim();
        self.countries.iter().find(|c| c.country.eq_ignore_ascii_case(code))
    }

    /// The rate for `class` at a destination: the region's own rate if it lists one, else the
    /// country-wide rate, else 0% as [`TaxTreatment::NoRate`] (the jurisdiction lists no rate for
    /// this class, so there is nothing to collect: a US state where the seller does not collect
    /// sales tax, a class a country does not tax). `Ok(None)` for exempt goods, which are not
    /// taxed at all.
    ///
    /// The region is read like a rate's (`CA`, `us-ca`); one that is not a subdivision code (a
    /// free-text state name) matches no regional rate, so the country-wide rates apply.
    pub fn rate_for(
        &self,
        country: &str,
        region: Option<&str>,
        class: TaxClass,
    ) -> Result<Option<AppliedRate>, TaxError> {
        let settings =
            self.country(country).ok_or_else(|| TaxError::NoRates { country: country.trim().to_uppercase() })?;
        if class == TaxClass::Exempt {
            return Ok(None);
        }
        let region = region.and_then(|r| region_code(&settings.country, r).ok().flatten());
        let regional = region.as_ref().and_then(|region| {
            settings.rates.iter().find(|r| r.tax_class == class && r.region.as_ref() == Some(region))
        });
        let found = regional.or_else(|| settings.rates.iter().find(|r| r.tax_class == class && r.region.is_none()));
        Ok(Some(match found {
            Some(r) => AppliedRate {
                rate: r.rate,
                name: r.name.clone(),
                treatment: TaxTreatment::Rated,
                jurisdiction: Jurisdiction { country: settings.country.clone(), region: r.region.clone() },
            },
            None => AppliedRate {
                rate: Decimal::ZERO,
                name: NO_RATE_NAME.to_string(),
                treatment: TaxTreatment::NoRate,
                jurisdiction: Jurisdiction { country: settings.country.clone(), region: None },
            },
        }))
    }
}

/// Where a tax is levied: a country, or one of its regions when the region's own rate applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Jurisdiction {
    #[schema(example = "US")]
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "CA")]
    pub region: Option<String>,
}

/// Why a line is taxed the way it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxTreatment {
    /// A rate listed in the table applies (it may be 0%: zero-rated goods are taxable at 0%).
    Rated,
    /// The jurisdiction lists no rate for the line's class: 0%, nothing to collect.
    NoRate,
    /// Exempt goods: outside the tax, never in the rate summary.
    Exempt,
}

/// The rate a line is taxed at, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppliedRate {
    #[schema(value_type = String, example = "20")]
    pub rate: Decimal,
    #[schema(example = "VAT 20%")]
    pub name: String,
    pub treatment: TaxTreatment,
    pub jurisdiction: Jurisdiction,
}

/// A cart line as checkout hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxableLine {
    /// The cart line's id, echoed in the breakdown and in errors.
    pub id: String,
    /// The price the catalog shows: tax included in an inclusive country.
    pub unit_price: Money,
    pub quantity: u32,
    /// The part of the cart's discounts already allocated to this line, written like the price
    /// (tax included in an inclusive country); at most `unit_price × quantity`.
    pub discount: Money,
    pub tax_class: TaxClass,
}

/// One line's tax, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxLine {
    /// The cart line's id, or `shipping`.
    pub id: String,
    pub tax_class: TaxClass,
    pub net: Money,
    pub tax: Money,
    /// `net + tax`: what the customer pays for the line.
    pub gross: Money,
    /// The percentage applied (0 for exempt lines and classes without a rate).
    #[schema(value_type = String, example = "20")]
    pub rate: Decimal,
    /// The rate's name as the customer sees it.
    #[schema(example = "VAT 20%")]
    pub rate_name: String,
    pub treatment: TaxTreatment,
    pub jurisdiction: Jurisdiction,
}

/// The lines taxed at one rate, summed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RateSummary {
    #[schema(example = "VAT 20%")]
    pub name: String,
    #[schema(value_type = String, example = "20")]
    pub rate: Decimal,
    /// The sum of the lines' net amounts.
    pub taxable_amount: Money,
    /// The sum of the lines' taxes (each rounded on its line).
    pub tax: Money,
}

/// The sums of every line, shipping included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxTotals {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    /// The part of `net` on exempt lines (not in the rate summary): the summary's taxable amounts
    /// plus this are `net`.
    pub exempt: Money,
}

/// The tax on a cart for one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxBreakdown {
    pub currency: Currency,
    pub pricing: PricingMode,
    /// The shipping address's country and region, as read.
    pub destination: Jurisdiction,
    /// One per cart line, in the cart's order.
    pub lines: Vec<TaxLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<TaxLine>,
    /// One per (name, rate) in the order first met, exempt lines left out.
    pub summary: Vec<RateSummary>,
    pub totals: TaxTotals,
}

/// Why the tax on a cart could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    /// The table has no settings for the destination country: checkout cannot ship there.
    #[error("no tax rates for the country {country}")]
    NoRates { country: String },
    /// A line's price or discount, or the shipping fee, is not in the cart's currency.
    #[error("line {line}: {found} is not the cart's currency {expected}")]
    CurrencyMismatch { line: String, expected: Currency, found: Currency },
    /// A negative price, discount or shipping fee.
    #[error("line {line}: prices, discounts and shipping must not be negative")]
    Negative { line: String },
    /// A discount larger than the line's amount.
    #[error("line {line}: the discount {discount} is more than the line's amount {amount}")]
    DiscountExceedsLine { line: String, amount: Money, discount: Money },
    /// An amount beyond the range of minor units, on a line or (`line` none) in the totals.
    #[error("amount out of range{}", .line.as_ref().map(|l| format!(" on line {l}")).unwrap_or_default())]
    Overflow { line: Option<String> },
}

/// `numerator / denominator` (both non-negative, denominator positive) to the nearest integer,
/// halves away from zero.
fn divide_rounding_half_away_from_zero(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    if (numerator % denominator) * 2 >= denominator { quotient + 1 } else { quotient }
}

/// The line's net, tax and gross from its amount (`unit × quantity − discount`).
fn split(amount: i64, rate: Decimal, pricing: PricingMode) -> Option<(i64, i64, i64)> {
    // rate / 100 = mantissa / (100 × 10^scale); the rate has at most 4 places and is at most 100,
    // so both are at most 10^6, and an i64 amount times either fits 128 bits.
    let numerator = rate.mantissa();
    let denominator = 100 * 10i128.pow(rate.scale());
    let amount = i128::from(amount);
    match pricing {
        PricingMode::TaxInclusive => {
            // net = gross / (1 + r) = gross × denominator / (denominator + numerator)
            let net = divide_rounding_half_away_from_zero(amount * denominator, denominator + numerator);
            let net = i64::try_from(net).ok()?;
            let gross = i64::try_from(amount).ok()?;
            Some((net, gross - net, gross))
        }
        PricingMode::TaxExclusive => {
            let tax = i64::try_from(divide_rounding_half_away_from_zero(amount * numerator, denominator)).ok()?;
            let net = i64::try_from(amount).ok()?;
            Some((net, tax, net.checked_add(tax)?))
        }
    }
}

/// One line's tax at the destination.
fn tax_line(
    table: &TaxTable,
    destination: &Jurisdiction,
    pricing: PricingMode,
    id: &str,
    class: TaxClass,
    amount: Money,
) -> Result<TaxLine, TaxError> {
    let applied =
        table.rate_for(&destination.country, destination.region.as_deref(), class)?.unwrap_or_else(|| AppliedRate {
            rate: Decimal::ZERO,
            name: EXEMPT_NAME.to_string(),
            treatment: TaxTreatment::Exempt,
            jurisdiction: Jurisdiction { country: destination.country.clone(), region: None },
        });
    let (net, tax, gross) =
        split(amount.amount, applied.rate, pricing).ok_or_else(|| TaxError::Overflow { line: Some(id.to_string()) })?;
    let money = |a| Money::new(a, amount.currency);
    Ok(TaxLine {
        id: id.to_string(),
        tax_class: class,
        net: money(net),
        tax: money(tax),
        gross: money(gross),
        rate: applied.rate,
        rate_name: applied.name,
        treatment: applied.treatment,
        jurisdiction: applied.jurisdiction,
    })
}

/// A line's amount: `unit × quantity − discount`, checked.
fn line_amount(line: &TaxableLine, currency: Currency) -> Result<Money, TaxError> {
    for found in [line.unit_price.currency, line.discount.currency] {
        if found != currency {
            return Err(TaxError::CurrencyMismatch { line: line.id.clone(), expected: currency, found });
        }
    }
    if line.unit_price.amount < 0 || line.discount.amount < 0 {
        return Err(TaxError::Negative { line: line.id.clone() });
    }
    let amount =
        line.unit_price.times(line.quantity).map_err(|_| TaxError::Overflow { line: Some(line.id.clone()) })?;
    if line.discount.amount > amount.amount {
        return Err(TaxError::DiscountExceedsLine { line: line.id.clone(), amount, discount: line.discount });
    }
    Ok(Money::new(amount.amount - line.discount.amount, currency))
}

/// Works out the tax on `lines` and `shipping` (the fee as the customer sees it) delivered to
/// `destination` (country, region), in `currency`: each line rounded on its own, then summed per
/// rate and in total without further rounding. See the module's documentation for the formulas.
pub fn compute(
    table: &TaxTable,
    destination: (&str, Option<&str>),
    currency: Currency,
    lines: &[TaxableLine],
    shipping: Option<Money>,
) -> Result<TaxBreakdown, TaxError> {
    let (country, region) = destination;
    let settings =
        table.country(country).ok_or_else(|| TaxError::NoRates { country: country.trim().to_uppercase() })?;
    let destination = Jurisdiction {
        country: settings.country.clone(),
        region: region.and_then(|r| region_code(&settings.country, r).ok().flatten()),
    };
    let pricing = settings.pricing;

    let mut taxed = Vec::with_capacity(lines.len());
    for line in lines {
        let amount = line_amount(line, currency)?;
        taxed.push(tax_line(table, &destination, pricing, &line.id, line.tax_class, amount)?);
    }
    let shipping = match shipping {
        None => None,
        Some(fee) => {
            let line = SHIPPING_LINE_ID.to_string();
            if fee.currency != currency {
                return Err(TaxError::CurrencyMismatch { line, expected: currency, found: fee.currency });
            }
            if fee.amount < 0 {
                return Err(TaxError::Negative { line });
            }
            Some(tax_line(table, &destination, pricing, SHIPPING_LINE_ID, settings.shipping_tax_class, fee)?)
        }
    };

    let overflow = || TaxError::Overflow { line: None };
    let zero = Money::zero(currency);
    let mut totals = TaxTotals { net: zero, tax: zero, gross: zero, exempt: zero };
    let mut summary: Vec<RateSummary> = Vec::new();
    for line in taxed.iter().chain(shipping.iter()) {
        totals.net = totals.net.checked_add(line.net).map_err(|_| overflow())?;
        totals.tax = totals.tax.checked_add(line.tax).map_err(|_| overflow())?;
        totals.gross = totals.gross.checked_add(line.gross).map_err(|_| overflow())?;
        if line.treatment == TaxTreatment::Exempt {
            totals.exempt = totals.exempt.checked_add(line.net).map_err(|_| overflow())?;
            continue;
        }
        let k = match summary.iter().position(|s| s.name == line.rate_name && s.rate == line.rate) {
            Some(k) => k,
            None => {
                summary.push(RateSummary {
                    name: line.rate_name.clone(),
                    rate: line.rate,
                    taxable_amount: zero,
                    tax: zero,
                });
                summary.len() - 1
            }
        };
        let entry = &mut summary[k];
        entry.taxable_amount = entry.taxable_amount.checked_add(line.net).map_err(|_| overflow())?;
        entry.tax = entry.tax.checked_add(line.tax).map_err(|_| overflow())?;
    }

    Ok(TaxBreakdown { currency, pricing, destination, lines: taxed, shipping, summary, totals })
}

/// The tax table in force, as stored and served: the table and its version, which every change
/// moves by one (checkout can name the rates an order was taxed with). Before an admin sets any,
/// it is the empty table at version 0, without `updated_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxRates {
    #[serde(flatten)]
    pub table: TaxTable,
    /// 0 before the table was ever set; one more with every change.
    #[schema(example = 3)]
    pub version: u64,
    /// When the table was last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl TaxRates {
    /// The rates before an admin set any: no country, so checkout refuses every destination.
    pub fn unset() -> Self {
        Self { table: TaxTable { countries: Vec::new() }, version: 0, updated_at: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    use PricingMode::{TaxExclusive, TaxInclusive};
    use TaxClass::{Exempt, Reduced, Standard, Zero};

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn rate(region: Option<&str>, class: TaxClass, percent: &str, name: &str) -> TaxRate {
        TaxRate { region: region.map(str::to_string), tax_class: class, rate: dec(percent), name: name.to_string() }
    }

    fn country_tax(code: &str, pricing: PricingMode, shipping: TaxClass, rates: Vec<TaxRate>) -> CountryTax {
        CountryTax { country: code.to_string(), pricing, shipping_tax_class: shipping, rates }
    }

    fn table() -> TaxTable {
        TaxTable::new(vec![
            country_tax(
                "GB",
                TaxInclusive,
                Standard,
                vec![
                    rate(None, Standard, "20", "VAT 20%"),
                    rate(None, Reduced, "5", "VAT 5%"),
                    rate(None, Zero, "0", "VAT 0%"),
                ],
            ),
            country_tax(
                "DE",
                TaxInclusive,
                Standard,
                vec![rate(None, Standard, "19", "MwSt. 19%"), rate(None, Reduced, "7", "MwSt. 7%")],
            ),
            // No country-wide rate: sales tax only where a state is listed. Shipping not taxed.
            country_tax(
                "US",
                TaxExclusive,
                Exempt,
                vec![
                    rate(Some("CA"), Standard, "7.25", "CA sales tax"),
                    rate(Some("US-NY"), Standard, "4", "NY sales tax"),
                ],
            ),
            // GST country-wide; Ontario's HST replaces it.
            country_tax(
                "ca",
                TaxExclusive,
                Standard,
                vec![rate(None, Standard, "5", "GST 5%"), rate(Some("ON"), Standard, "13", "HST 13%")],
            ),
            country_tax(
                "JP",
                TaxInclusive,
                Standard,
                vec![rate(None, Standard, "10", "消費税 10%"), rate(None, Reduced, "8", "消費税 8%")],
            ),
            // The 5% of the GCC VAT agreement, for the arithmetic in fils.
            country_tax("KW", TaxExclusive, Standard, vec![rate(None, Standard, "5", "VAT 5%")]),
        ])
        .unwrap()
    }

    fn line(id: &str, unit: i64, quantity: u32, discount: i64, class: TaxClass, currency: &str) -> TaxableLine {
        TaxableLine {
            id: id.to_string(),
            unit_price: Money::new(unit, cur(currency)),
            quantity,
            discount: Money::new(discount, cur(currency)),
            tax_class: class,
        }
    }

    /// (net, tax, gross) of a line in minor units.
    fn figures(l: &TaxLine) -> (i64, i64, i64) {
        (l.net.amount, l.tax.amount, l.gross.amount)
    }

    fn totals(b: &TaxBreakdown) -> (i64, i64, i64) {
        (b.totals.net.amount, b.totals.tax.amount, b.totals.gross.amount)
    }

    fn summary(b: &TaxBreakdown) -> Vec<(&str, Decimal, i64, i64)> {
        b.summary.iter().map(|s| (s.name.as_str(), s.rate, s.taxable_amount.amount, s.tax.amount)).collect()
    }

    /// Every breakdown adds up: net + tax = gross per line, the totals are the columns' sums and
    /// the summary plus the exempt part is the net.
    fn assert_adds_up(b: &TaxBreakdown) {
        let all: Vec<&TaxLine> = b.lines.iter().chain(b.shipping.iter()).collect();
        for l in &all {
            assert_eq!(l.net.amount + l.tax.amount, l.gross.amount, "{}", l.id);
        }
        let sum = |f: fn(&TaxLine) -> i64| all.iter().map(|l| f(l)).sum::<i64>();
        assert_eq!(b.totals.net.amount, sum(|l| l.net.amount));
        assert_eq!(b.totals.tax.amount, sum(|l| l.tax.amount));
        assert_eq!(b.totals.gross.amount, sum(|l| l.gross.amount));
        let taxable: i64 = b.summary.iter().map(|s| s.taxable_amount.amount).sum();
        assert_eq!(taxable + b.totals.exempt.amount, b.totals.net.amount);
        assert_eq!(b.summary.iter().map(|s| s.tax.amount).sum::<i64>(), b.totals.tax.amount);
    }

    #[test]
    fn uk_prices_include_20_percent_vat_which_is_taken_out_of_the_price_shown() {
        // £12.00 incl. = 12.00 / 1.2 = £10.00 net + £2.00 VAT.
        // £4.99 shipping: 4.99 / 1.2 = 4.158333 -> £4.16 net, £0.83 VAT.
        let b = compute(
            &table(),
            ("gb", None),
            cur("GBP"),
            &[line("mug", 1200, 1, 0, Standard, "GBP")],
            Some(Money::new(499, cur("GBP"))),
        )
        .unwrap();
        assert_eq!(figures(&b.lines[0]), (1000, 200, 1200));
        assert_eq!(b.lines[0].rate, dec("20"));
        assert_eq!(b.lines[0].rate_name, "VAT 20%");
        assert_eq!(b.lines[0].jurisdiction, Jurisdiction { country: "GB".into(), region: None });
        let shipping = b.shipping.as_ref().unwrap();
        assert_eq!((shipping.id.as_str(), figures(shipping)), ("shipping", (416, 83, 499)));
        assert_eq!(totals(&b), (1416, 283, 1699));
        assert_eq!(summary(&b), [("VAT 20%", dec("20"), 1416, 283)]);
        assert_eq!((b.pricing, b.destination.country.as_str()), (TaxInclusive, "GB"));
        assert_adds_up(&b);
    }

    #[test]
    fn a_uk_cart_mixes_standard_reduced_zero_rated_and_exempt_lines() {
        let lines = [
            // £10.50 at 5%: 10.50 / 1.05 = £10.00 net, £0.50 VAT.
            line("car-seat", 1050, 1, 0, Reduced, "GBP"),
            // A book, zero-rated: taxable at 0%, listed as VAT 0%.
            line("book", 899, 1, 0, Zero, "GBP"),
            // Stamps, exempt: no VAT, no rate, not in the summary.
            line("stamps", 135, 2, 0, Exempt, "GBP"),
            // 2 × £12.00 with £4.00 off: £20.00 incl. / 1.2 = 16.6667 -> £16.67 net, £3.33 VAT.
            line("mug", 1200, 2, 400, Standard, "GBP"),
        ];
        let b = compute(&table(), ("GB", None), cur("GBP"), &lines, None).unwrap();
        let got: Vec<_> =
            b.lines.iter().map(|l| (l.id.as_str(), figures(l), l.treatment, l.rate_name.as_str())).collect();
        assert_eq!(
            got,
            [
                ("car-seat", (1000, 50, 1050), TaxTreatment::Rated, "VAT 5%"),
                ("book", (899, 0, 899), TaxTreatment::Rated, "VAT 0%"),
                ("stamps", (270, 0, 270), TaxTreatment::Exempt, "Exempt"),
                ("mug", (1667, 333, 2000), TaxTreatment::Rated, "VAT 20%"),
            ]
        );
        assert_eq!(b.lines[2].rate, Decimal::ZERO);
        assert_eq!(
            summary(&b),
            [("VAT 5%", dec("5"), 1000, 50), ("VAT 0%", dec("0"), 899, 0), ("VAT 20%", dec("20"), 1667, 333)]
        );
        // net 1000 + 899 + 270 + 1667 = 3836, tax 50 + 333 = 383, gross 1050 + 899 + 270 + 2000 = 4219
        assert_eq!(totals(&b), (3836, 383, 4219));
        assert_eq!(b.totals.exempt.amount, 270);
        assert_eq!(b.shipping, None);
        assert_adds_up(&b);
    }

    #[test]
    fn a_german_cart_mixes_19_and_7_percent_lines() {
        let lines = [
            // 2 × €11.90 = €23.80 / 1.19 = €20.00 net, €3.80 MwSt.
            line("shirt", 1190, 2, 0, Standard, "EUR"),
            // a book at 7%: €10.70 / 1.07 = €10.00 net, €0.70 MwSt.
            line("book", 1070, 1, 0, Reduced, "EUR"),
            // €9.99 / 1.19 = 8.394958 -> €8.39 net, €1.60 MwSt.
            line("socks", 999, 1, 0, Standard, "EUR"),
        ];
        // shipping €4.90 / 1.19 = 4.117647 -> €4.12 net, €0.78 MwSt.
        let b = compute(&table(), ("DE", None), cur("EUR"), &lines, Some(Money::new(490, cur("EUR")))).unwrap();
        let got: Vec<_> = b.lines.iter().map(figures).collect();
        assert_eq!(got, [(2000, 380, 2380), (1000, 70, 1070), (839, 160, 999)]);
        assert_eq!(figures(b.shipping.as_ref().unwrap()), (412, 78, 490));
        // 19%: net 2000 + 839 + 412 = 3251, tax 380 + 160 + 78 = 618; 7%: 1000 and 70.
        assert_eq!(summary(&b), [("MwSt. 19%", dec("19"), 3251, 618), ("MwSt. 7%", dec("7"), 1000, 70)]);
        assert_eq!(totals(&b), (4251, 688, 4939));
        assert_adds_up(&b);
    }

    #[test]
    fn a_us_state_adds_its_sales_tax_on_top_and_shipping_is_not_taxed_there() {
        // 3 × $19.99 = $59.97 − $5.00 = $54.97 net; × 7.25% = 3.985325 -> $3.99; $58.96 gross.
        let lines = [line("lamp", 1999, 3, 500, Standard, "USD")];
        let b = compute(&table(), ("US", Some("CA")), cur("USD"), &lines, Some(Money::new(995, cur("USD")))).unwrap();
        assert_eq!(figures(&b.lines[0]), (5497, 399, 5896));
        assert_eq!(b.lines[0].rate, dec("7.25"));
        assert_eq!(b.lines[0].rate_name, "CA sales tax");
        assert_eq!(b.lines[0].jurisdiction, Jurisdiction { country: "US".into(), region: Some("CA".into()) });
        // Shipping is exempt in this table: $9.95 stays $9.95.
        let shipping = b.shipping.as_ref().unwrap();
        assert_eq!((figures(shipping), shipping.treatment), ((995, 0, 995), TaxTreatment::Exempt));
        assert_eq!(summary(&b), [("CA sales tax", dec("7.25"), 5497, 399)]);
        assert_eq!(totals(&b), (6492, 399, 6891));
        assert_eq!(b.totals.exempt.amount, 995);
        assert_adds_up(&b);

        // New York, written as ISO 3166-2 writes it: $54.97 × 4% = 2.1988 -> $2.20.
        let b = compute(&table(), ("US", Some("us-ny")), cur("USD"), &lines, None).unwrap();
        assert_eq!((figures(&b.lines[0]), b.lines[0].rate_name.as_str()), ((5497, 220, 5717), "NY sales tax"));
        assert_eq!(b.destination, Jurisdiction { country: "US".into(), region: Some("NY".into()) });

        // Oregon lists no rate and there is no country-wide one: 0%, nothing to collect.
        for region in [Some("OR"), None, Some("Oregon")] {
            let b = compute(&table(), ("US", region), cur("USD"), &lines, None).unwrap();
            let l = &b.lines[0];
            assert_eq!(
                (figures(l), l.treatment, l.rate_name.as_str()),
                ((5497, 0, 5497), TaxTreatment::NoRate, "No tax")
            );
            assert_eq!(l.jurisdiction, Jurisdiction { country: "US".into(), region: None });
            assert_eq!(summary(&b), [("No tax", Decimal::ZERO, 5497, 0)]);
        }
    }

    #[test]
    fn a_regions_rate_replaces_the_country_wide_rate_and_other_regions_keep_it() {
        // Ontario: $100.00 + 13% HST = $113.00; Alberta lists nothing of its own: 5% GST.
        let lines = [line("kettle", 10_000, 1, 0, Standard, "CAD")];
        let on = compute(&table(), ("CA", Some("ON")), cur("CAD"), &lines, None).unwrap();
        assert_eq!((figures(&on.lines[0]), on.lines[0].rate_name.as_str()), ((10_000, 1300, 11_300), "HST 13%"));
        assert_eq!(on.lines[0].jurisdiction.region.as_deref(), Some("ON"));
        let ab = compute(&table(), ("CA", Some("AB")), cur("CAD"), &lines, None).unwrap();
        assert_eq!((figures(&ab.lines[0]), ab.lines[0].rate_name.as_str()), ((10_000, 500, 10_500), "GST 5%"));
        assert_eq!(ab.lines[0].jurisdiction, Jurisdiction { country: "CA".into(), region: None });

        let t = table();
        assert_eq!(t.rate_for("CA", Some("ON"), Standard).unwrap().unwrap().rate, dec("13"));
        assert_eq!(t.rate_for("ca", Some("ca-on"), Standard).unwrap().unwrap().rate, dec("13"));
        assert_eq!(t.rate_for("CA", None, Standard).unwrap().unwrap().rate, dec("5"));
        // a class with no rate at all in a known country: 0%, and saying so
        let reduced = t.rate_for("CA", Some("ON"), Reduced).unwrap().unwrap();
        assert_eq!(
            (reduced.rate, reduced.treatment, reduced.name.as_str()),
            (Decimal::ZERO, TaxTreatment::NoRate, "No tax")
        );
        assert_eq!(t.rate_for("CA", Some("ON"), Exempt), Ok(None));
        assert_eq!(t.rate_for("FR", None, Standard), Err(TaxError::NoRates { country: "FR".into() }));
    }

    #[test]
    fn yen_prices_include_10_percent_with_no_decimals() {
        let lines = [
            // ¥1,980 / 1.1 = ¥1,800 net, ¥180 tax.
            line("towel", 1980, 1, 0, Standard, "JPY"),
            // ¥1,000 / 1.1 = 909.09 -> ¥909 net, ¥91 tax.
            line("cup", 1000, 1, 0, Standard, "JPY"),
            // food at 8%: 2 × ¥540 = ¥1,080 / 1.08 = ¥1,000 net, ¥80 tax.
            line("tea", 540, 2, 0, Reduced, "JPY"),
        ];
        let b = compute(&table(), ("JP", None), cur("JPY"), &lines, None).unwrap();
        let got: Vec<_> = b.lines.iter().map(figures).collect();
        assert_eq!(got, [(1800, 180, 1980), (909, 91, 1000), (1000, 80, 1080)]);
        assert_eq!(summary(&b), [("消費税 10%", dec("10"), 2709, 271), ("消費税 8%", dec("8"), 1000, 80)]);
        assert_eq!(totals(&b), (3709, 351, 4060));
        assert_adds_up(&b);
    }

    #[test]
    fn dinar_amounts_are_taxed_to_the_fils() {
        let lines = [
            // 12.345 KWD × 5% = 0.61725 -> 0.617 KWD.
            line("lamp", 12_345, 1, 0, Standard, "KWD"),
            // 3 × 0.990 = 2.970 KWD × 5% = 0.1485 -> 0.149 (exactly half a fils: away from zero).
            line("cup", 990, 3, 0, Standard, "KWD"),
        ];
        // shipping 1.500 × 5% = 0.075
        let b = compute(&table(), ("KW", None), cur("KWD"), &lines, Some(Money::new(1500, cur("KWD")))).unwrap();
        let got: Vec<_> = b.lines.iter().map(figures).collect();
        assert_eq!(got, [(12_345, 617, 12_962), (2970, 149, 3119)]);
        assert_eq!(figures(b.shipping.as_ref().unwrap()), (1500, 75, 1575));
        assert_eq!(totals(&b), (16_815, 841, 17_656));
        assert_eq!(summary(&b), [("VAT 5%", dec("5"), 16_815, 841)]);
        assert_adds_up(&b);
    }

    #[test]
    fn rounding_each_line_can_differ_from_rounding_the_total_and_the_lines_win() {
        // Three £0.99 lines at 20% inclusive: 0.99 / 1.2 = 0.825 -> £0.83 net, £0.16 VAT each,
        // 48p in all. The £2.97 total / 1.2 = 2.475 -> £2.48 net would be 49p of VAT.
        let lines: Vec<_> = (0..3).map(|i| line(&format!("pen-{i}"), 99, 1, 0, Standard, "GBP")).collect();
        let b = compute(&table(), ("GB", None), cur("GBP"), &lines, None).unwrap();
        assert!(b.lines.iter().all(|l| figures(l) == (83, 16, 99)));
        assert_eq!(totals(&b), (249, 48, 297));
        let whole =
            compute(&table(), ("GB", None), cur("GBP"), &[line("pens", 99, 3, 0, Standard, "GBP")], None).unwrap();
        assert_eq!(totals(&whole), (248, 49, 297));

        // Exclusive: two $1.00 lines in California: 7.25 cents -> 7 cents each, 14 cents; $2.00 in
        // one line is 14.5 cents -> 15 cents.
        let lines = [line("a", 100, 1, 0, Standard, "USD"), line("b", 100, 1, 0, Standard, "USD")];
        let b = compute(&table(), ("US", Some("CA")), cur("USD"), &lines, None).unwrap();
        assert_eq!(totals(&b), (200, 14, 214));
        let one = compute(&table(), ("US", Some("CA")), cur("USD"), &[line("ab", 100, 2, 0, Standard, "USD")], None);
        assert_eq!(totals(&one.unwrap()), (200, 15, 215));
    }

    #[test]
    fn the_summary_and_the_totals_are_exact_sums_of_the_lines_for_any_cart() {
        let t = table();
        let places = [
            ("GB", None, "GBP"),
            ("DE", None, "EUR"),
            ("US", Some("CA"), "USD"),
            ("JP", None, "JPY"),
            ("KW", None, "KWD"),
        ];
        let classes = [Standard, Reduced, Zero, Exempt];
        let mut seed: u64 = 11;
        let mut next = |m: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for _ in 0..300 {
            let (country, region, code) = places[next(5) as usize];
            let lines: Vec<_> = (0..1 + next(8))
                .map(|i| {
                    let unit = next(100_000) as i64;
                    let quantity = next(5) as u32;
                    let discount = if quantity == 0 { 0 } else { next(unit as u64 + 1) as i64 };
                    line(&format!("l{i}"), unit, quantity, discount, classes[next(4) as usize], code)
                })
                .collect();
            let shipping = (next(2) == 0).then(|| Money::new(next(2000) as i64, cur(code)));
            let b = compute(&t, (country, region), cur(code), &lines, shipping).unwrap();
            assert_adds_up(&b);
            for (l, given) in b.lines.iter().zip(&lines) {
                let amount = given.unit_price.amount * i64::from(given.quantity) - given.discount.amount;
                // the price shown is kept: gross in an inclusive country, net in an exclusive one
                let kept = if b.pricing == TaxInclusive { l.gross.amount } else { l.net.amount };
                assert_eq!(kept, amount);
                // and the tax is within half a minor unit of the exact figure
                let r = l.rate / Decimal::ONE_HUNDRED;
                let exact = if b.pricing == TaxInclusive {
                    Decimal::from(amount) - Decimal::from(amount) / (Decimal::ONE + r)
                } else {
                    Decimal::from(amount) * r
                };
                assert!((Decimal::from(l.tax.amount) - exact).abs() <= dec("0.5000001"), "{l:?}");
            }
        }
    }

    #[test]
    fn a_destination_without_rates_is_refused_naming_its_country() {
        let lines = [line("mug", 1200, 1, 0, Standard, "EUR")];
        assert_eq!(
            compute(&table(), (" fr ", None), cur("EUR"), &lines, None),
            Err(TaxError::NoRates { country: "FR".into() })
        );
        assert_eq!(TaxError::NoRates { country: "FR".into() }.to_string(), "no tax rates for the country FR");
    }

    #[test]
    fn wrong_currencies_negative_amounts_and_oversized_discounts_are_refused() {
        let t = table();
        let gb =
            |lines: &[TaxableLine], shipping: Option<Money>| compute(&t, ("GB", None), cur("GBP"), lines, shipping);
        let mut euro_discount = line("mug", 1200, 1, 0, Standard, "GBP");
        euro_discount.discount = Money::new(100, cur("EUR"));
        assert_eq!(
            gb(&[euro_discount], None),
            Err(TaxError::CurrencyMismatch { line: "mug".into(), expected: cur("GBP"), found: cur("EUR") })
        );
        assert_eq!(
            gb(&[line("mug", 1200, 1, 0, Standard, "EUR")], None),
            Err(TaxError::CurrencyMismatch { line: "mug".into(), expected: cur("GBP"), found: cur("EUR") })
        );
        assert_eq!(
            gb(&[], Some(Money::new(499, cur("USD")))),
            Err(TaxError::CurrencyMismatch { line: "shipping".into(), expected: cur("GBP"), found: cur("USD") })
        );
        assert_eq!(
            gb(&[line("mug", -1200, 1, 0, Standard, "GBP")], None),
            Err(TaxError::Negative { line: "mug".into() })
        );
        assert_eq!(
            gb(&[line("mug", 1200, 1, -1, Standard, "GBP")], None),
            Err(TaxError::Negative { line: "mug".into() })
        );
        assert_eq!(gb(&[], Some(Money::new(-1, cur("GBP")))), Err(TaxError::Negative { line: "shipping".into() }));
        // 2 × £12.00 = £24.00; £24.01 off is too much, £24.00 off leaves a free line.
        assert_eq!(
            gb(&[line("mug", 1200, 2, 2401, Standard, "GBP")], None),
            Err(TaxError::DiscountExceedsLine {
                line: "mug".into(),
                amount: Money::new(2400, cur("GBP")),
                discount: Money::new(2401, cur("GBP"))
            })
        );
        let free = gb(&[line("mug", 1200, 2, 2400, Standard, "GBP")], None).unwrap();
        assert_eq!(figures(&free.lines[0]), (0, 0, 0));
    }

    #[test]
    fn amounts_beyond_minor_units_are_an_error_never_a_wrap() {
        let t = table();
        let big = i64::MAX / 2 + 1;
        assert_eq!(
            compute(&t, ("GB", None), cur("GBP"), &[line("x", big, 2, 0, Standard, "GBP")], None),
            Err(TaxError::Overflow { line: Some("x".into()) })
        );
        // Exclusive: the largest net plus its tax no longer fits.
        assert_eq!(
            compute(&t, ("KW", None), cur("KWD"), &[line("x", i64::MAX, 1, 0, Standard, "KWD")], None),
            Err(TaxError::Overflow { line: Some("x".into()) })
        );
        // Inclusive: the largest gross splits exactly; two of them overflow the totals.
        let one = compute(&t, ("GB", None), cur("GBP"), &[line("x", i64::MAX, 1, 0, Standard, "GBP")], None).unwrap();
        assert_eq!(one.totals.gross.amount, i64::MAX);
        let two = [line("x", i64::MAX, 1, 0, Standard, "GBP"), line("y", 1, 1, 0, Standard, "GBP")];
        assert_eq!(compute(&t, ("GB", None), cur("GBP"), &two, None), Err(TaxError::Overflow { line: None }));
        assert_eq!(TaxError::Overflow { line: None }.to_string(), "amount out of range");
        assert_eq!(TaxError::Overflow { line: Some("x".into()) }.to_string(), "amount out of range on line x");
    }

    #[test]
    fn every_problem_in_a_table_is_named_by_its_path() {
        let gb = || country_tax("GB", TaxInclusive, Standard, vec![rate(None, Standard, "20", "VAT 20%")]);
        let with_rate = |r: TaxRate| {
            let mut us =
                country_tax("US", TaxExclusive, Exempt, vec![rate(Some("CA"), Standard, "7.25", "CA sales tax")]);
            us.rates.push(r);
            vec![gb(), us]
        };
        let cases: Vec<(Vec<CountryTax>, &str, &str)> = vec![
            (
                vec![gb(), country_tax("XX", TaxInclusive, Standard, vec![])],
                "countries[1].country",
                "must be an ISO 3166-1 alpha-2 country code such as GB or US",
            ),
            (
                vec![
                    gb(),
                    country_tax("DE", TaxInclusive, Standard, vec![]),
                    country_tax("gb", TaxInclusive, Zero, vec![]),
                ],
                "countries[2].country",
                "GB is listed twice (also countries[0])",
            ),
            (
                with_rate(rate(Some("us-ca"), Standard, "8", "CA")),
                "countries[1].rates[1].tax_class",
                "US-CA already has a standard rate (rates[0])",
            ),
            (
                vec![country_tax(
                    "GB",
                    TaxInclusive,
                    Standard,
                    vec![rate(None, Zero, "0", "a"), rate(None, Zero, "0", "b")],
                )],
                "countries[0].rates[1].tax_class",
                "GB (country-wide) already has a zero rate (rates[0])",
            ),
            (
                with_rate(rate(None, Standard, "-0.01", "x")),
                "countries[1].rates[1].rate",
                "must be a percentage from 0 to 100",
            ),
            (
                with_rate(rate(None, Standard, "100.0001", "x")),
                "countries[1].rates[1].rate",
                "must be a percentage from 0 to 100",
            ),
            (
                with_rate(rate(None, Standard, "7.12345", "x")),
                "countries[1].rates[1].rate",
                "must have at most 4 decimal places",
            ),
            (with_rate(rate(None, Standard, "5", "  ")), "countries[1].rates[1].name", "is required"),
            (
                with_rate(rate(None, Exempt, "0", "x")),
                "countries[1].rates[1].tax_class",
                "exempt goods are not taxed and take no rate; list only standard, reduced or zero rates",
            ),
            (
                with_rate(rate(Some("California"), Standard, "7.25", "x")),
                "countries[1].rates[1].region",
                "must be an ISO 3166-2 subdivision code of US such as CA (for US-CA)",
            ),
            (
                with_rate(rate(Some("GB-CA"), Standard, "7.25", "x")),
                "countries[1].rates[1].region",
                "must be an ISO 3166-2 subdivision code of US such as CA (for US-CA)",
            ),
        ];
        for (countries, field, message) in cases {
            let err = TaxTable::new(countries).unwrap_err();
            assert_eq!((err.field.as_str(), err.message.as_str()), (field, message));
        }
        let long = "x".repeat(MAX_RATE_NAME_LEN + 1);
        assert_eq!(
            TaxTable::new(with_rate(rate(None, Standard, "5", &long))).unwrap_err().field,
            "countries[1].rates[1].name"
        );
    }

    #[test]
    fn a_table_is_stored_normalised_and_the_extremes_of_a_rate_are_accepted() {
        let t = TaxTable::new(vec![country_tax(
            " us ",
            TaxExclusive,
            Exempt,
            vec![
                rate(Some(" us-ca "), Standard, "7.2500", " CA sales tax "),
                rate(Some(""), Reduced, "100", "all of it"),
                rate(Some("NY"), Zero, "0.0000", "none"),
                rate(Some("TX"), Reduced, "8.1234", "four places"),
            ],
        )])
        .unwrap();
        let us = t.country("us").unwrap();
        assert_eq!(us.country, "US");
        let stored: Vec<_> =
            us.rates.iter().map(|r| (r.region.as_deref(), r.rate.to_string(), r.name.as_str())).collect();
        assert_eq!(
            stored,
            [
                (Some("CA"), "7.25".to_string(), "CA sales tax"),
                (None, "100".to_string(), "all of it"),
                (Some("NY"), "0".to_string(), "none"),
                (Some("TX"), "8.1234".to_string(), "four places"),
            ]
        );
        assert_eq!(t.countries().len(), 1);
        assert!(TaxTable::new(vec![]).unwrap().country("GB").is_none());
    }

    #[test]
    fn a_table_reads_and_writes_json_with_rates_as_decimal_strings_and_is_checked_on_the_way_in() {
        let json = serde_json::json!({"countries": [{
            "country": "GB",
            "pricing": "tax_inclusive",
            "shipping_tax_class": "standard",
            "rates": [{"tax_class": "standard", "rate": "20", "name": "VAT 20%"}]
        }, {
            "country": "US",
            "pricing": "tax_exclusive",
            "shipping_tax_class": "exempt",
            "rates": [{"region": "CA", "tax_class": "standard", "rate": "7.25", "name": "CA sales tax"}]
        }]});
        let t: TaxTable = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(t.rate_for("US", Some("CA"), Standard).unwrap().unwrap().rate, dec("7.25"));
        assert_eq!(serde_json::to_value(&t).unwrap(), json);

        let mut bad = json.clone();
        bad["countries"][1]["rates"][0]["rate"] = serde_json::json!("107.25");
        let err = serde_json::from_value::<TaxTable>(bad).unwrap_err().to_string();
        assert!(err.contains("countries[1].rates[0].rate"), "{err}");

        let b = compute(&t, ("GB", None), cur("GBP"), &[line("mug", 1200, 1, 0, Standard, "GBP")], None).unwrap();
        let out = serde_json::to_value(&b).unwrap();
        assert_eq!(out["lines"][0]["rate"], "20");
        assert_eq!(out["lines"][0]["tax"], serde_json::json!({"amount": 200, "currency": "GBP"}));
        assert_eq!(out["lines"][0]["treatment"], "rated");
        assert_eq!(out["pricing"], "tax_inclusive");
        assert!(out.get("shipping").is_none());
        assert_eq!(serde_json::from_value::<TaxBreakdown>(out).unwrap(), b);
    }
}
