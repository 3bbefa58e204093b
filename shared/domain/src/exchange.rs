//! Exchange rates maintained by an admin, and the conversion of a price into a currency the
//! variant has no price in.
//!
//! Every rate is quoted against one base currency, so any pair converts through the base (a cross
//! rate) and the table never disagrees with itself. The arithmetic is exact: a conversion is one
//! fraction of integers (the amount in minor units, the two rates' decimal digits and the powers of
//! ten between the two currencies' exponents), and the only rounding is the last step to a whole
//! minor unit of the target currency.
//!
//! # Rounding: half away from zero
//! A result that lies exactly halfway between two minor units goes to the one further from zero
//! (0.5 cent becomes 1 cent, -0.5 becomes -1). A converted price is worked out once and shown to
//! one shopper, who pays what is shown; it is not one term of a long sum where half-to-even would
//! cancel a drift. Half away from zero is the rule people check a price by, the one the euro
//! conversion rules (Council Regulation 1103/97, article 5) set for converted amounts, and it is
//! symmetric, so a refund converts to exactly the negative of the charge.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Currency, FieldError, Money};

/// The most decimal places a rate may have.
pub const MAX_RATE_DECIMALS: u32 = 10;

/// The largest rate accepted: far above any real one (the weakest currencies are in the tens of
/// thousands per dollar), and small enough that a conversion's fraction always fits 128 bits.
pub const MAX_RATE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// How many units of each currency one unit of `base` buys, as of a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "ExchangeRatesRecord")]
pub struct ExchangeRates {
    base: Currency,
    /// Units of each quote currency per one unit of the base, written as decimal strings so no
    /// digit is lost (`"JPY": "161.25"`).
    #[schema(value_type = BTreeMap<String, String>, example = json!({"USD": "1.0825", "JPY": "161.25"}))]
    rates: BTreeMap<Currency, Decimal>,
    as_of: DateTime<Utc>,
}

/// The unchecked shape of [`ExchangeRates`], as read from a request or the store.
#[derive(Deserialize)]
struct ExchangeRatesRecord {
    base: Currency,
    /// Absent when empty (the store leaves empty maps out).
    #[serde(default)]
    rates: BTreeMap<Currency, Decimal>,
    as_of: DateTime<Utc>,
}

impl TryFrom<ExchangeRatesRecord> for ExchangeRates {
    type Error = FieldError;
    fn try_from(r: ExchangeRatesRecord) -> Result<Self, Self::Error> {
        ExchangeRates::new(r.base, r.rates, r.as_of)
    }
}

impl ExchangeRates {
    /// Checks each rate (strictly positive, at most [`MAX_RATE_DECIMALS`] places, at most
    /// [`MAX_RATE`]); the base may be listed only at exactly 1. Errors name `rates.<CODE>`.
    pub fn new(base: Currency, rates: BTreeMap<Currency, Decimal>, as_of: DateTime<Utc>) -> Result<Self, FieldError> {
        let mut checked = BTreeMap::new();
        for (currency, rate) in rates {
            let field = format!("rates.{currency}");
            let rate = rate.normalize();
            if currency == base {
                if rate != Decimal::ONE {
                    return Err(FieldError::new(field, "the base currency's rate must be 1"));
                }
                continue;
            }
            if rate <= Decimal::ZERO {
                return Err(FieldError::new(field, "must be greater than zero"));
            }
            if rate.scale() > MAX_RATE_DECIMALS {
                return Err(FieldError::new(field, format!("must have at most {MAX_RATE_DECIMALS} decimal places")));
            }
            if rate > MAX_RATE {
                return Err(FieldError::new(field, format!("must be at most {MAX_RATE}")));
            }
            checked.insert(currency, rate);
        }
        Ok(Self { base, rates: checked, as_of })
    }

    pub fn base(&self) -> Currency {
        self.base
    }

    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// Units of `currency` per one unit of the base: 1 for the base itself, `None` if unlisted.
    pub fn per_base(&self, currency: Currency) -> Option<Decimal> {
        if currency == self.base { Some(Decimal::ONE) } else { self.rates.get(&currency).copied() }
    }

    /// Every currency a price can be converted from or to, the base included.
    pub fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        std::iter::once(self.base).chain(self.rates.keys().copied())
    }
}

/// A converted price and the rate used, for the response to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Converted {
    pub money: Money,
    /// Units of the target currency per unit of the source, for display: when it does not
    /// terminate it is cut to 28 significant digits, which the amount never depends on.
    #[schema(value_type = String, example = "0.0020620155")]
    pub rate: Decimal,
}

/// Why a price could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversionError {
    /// The table has no rate for this currency.
    NoRate(Currency),
    /// The converted amount does not fit in minor units.
    Overflow,
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversionError::NoRate(c) => write!(f, "no exchange rate for {c}"),
            ConversionError::Overflow => f.write_str("converted amount out of range"),
        }
    }
}

impl std::error::Error for ConversionError {}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `numerator / denominator` (denominator positive) to the nearest integer, halves away from zero.
fn divide_rounding_half_away_from_zero(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = (numerator % denominator).abs();
    if remainder * 2 >= denominator { quotient + numerator.signum() } else { quotient }
}

/// Converts `money` into `to` through the table's base, rounding once, half away from zero, to
/// `to`'s minor unit. The same currency converts to itself at rate 1 whatever the table holds.
pub fn convert(money: Money, to: Currency, rates: &ExchangeRates) -> Result<Converted, ConversionError> {
    let from = money.currency;
    if from == to {
        return Ok(Converted { money, rate: Decimal::ONE });
    }
    let from_rate = rates.per_base(from).ok_or(ConversionError::NoRate(from))?;
    let to_rate = rates.per_base(to).ok_or(ConversionError::NoRate(to))?;

    // target minor = amount / 10^e_from / (m_from / 10^s_from) * (m_to / 10^s_to) * 10^e_to
    //              = amount * m_to * 10^(s_from + e_to) / (m_from * 10^(s_to + e_from))
    // Rates are at most 10^9 with 10 places (mantissas below 10^19) and exponents at most 3, so each
    // side is below 10^32 and fits 128 bits; only the product with the amount can overflow.
    let shift = (from_rate.scale() + to.exponent()) as i32 - (to_rate.scale() + from.exponent()) as i32;
    let ten_to = |n: i32| 10i128.pow(n.unsigned_abs());
    let mut numerator = to_rate.mantissa() * if shift > 0 { ten_to(shift) } else { 1 };
    let mut denominator = from_rate.mantissa() * if shift < 0 { ten_to(shift) } else { 1 };
    let common = gcd(numerator, denominator);
    numerator /= common;
    denominator /= common;

    let scaled = i128::from(money.amount).checked_mul(numerator).ok_or(ConversionError::Overflow)?;
    let amount = i64::try_from(divide_rounding_half_away_from_zero(scaled, denominator))
        .map_err(|_| ConversionError::Overflow)?;
    let rate = to_rate.checked_div(from_rate).ok_or(ConversionError::Overflow)?.normalize();
    Ok(Converted { money: Money::new(amount, to), rate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn table(base: &str, rates: &[(&str, &str)]) -> ExchangeRates {
        let rates = rates.iter().map(|(c, r)| (cur(c), dec(r))).collect();
        ExchangeRates::new(cur(base), rates, "2026-03-01T16:00:00Z".parse().unwrap()).unwrap()
    }

    fn eur_table() -> ExchangeRates {
        table("EUR", &[("USD", "1.0825"), ("JPY", "161.25"), ("KWD", "0.3325"), ("GBP", "0.8571")])
    }

    fn conv(amount: i64, from: &str, to: &str, rates: &ExchangeRates) -> i64 {
        convert(Money::new(amount, cur(from)), cur(to), rates).unwrap().money.amount
    }

    #[test]
    fn a_price_converts_from_the_base_at_the_listed_rate() {
        let rates = eur_table();
        // 19.99 EUR * 1.0825 = 21.639175 USD
        let converted = convert(Money::new(1999, cur("EUR")), cur("USD"), &rates).unwrap();
        assert_eq!(converted, Converted { money: Money::new(2164, cur("USD")), rate: dec("1.0825") });
        // and back: 21.64 / 1.0825 = 19.9907... EUR
        assert_eq!(conv(2164, "USD", "EUR", &rates), 1999);
    }

    #[test]
    fn yen_and_dinar_convert_through_the_base_honouring_both_exponents() {
        let rates = eur_table();
        // 1000 JPY = 1000 / 161.25 * 0.3325 KWD = 2.0620155... KWD = 2062 fils
        let converted = convert(Money::new(1000, cur("JPY")), cur("KWD"), &rates).unwrap();
        assert_eq!(converted.money, Money::new(2062, cur("KWD")));
        assert_eq!(converted.rate, dec("0.3325") / dec("161.25"));
        // 1.000 KWD = 161.25 / 0.3325 JPY = 484.96... JPY
        assert_eq!(conv(1000, "KWD", "JPY", &rates), 485);
        // 1 JPY = 0.0062015... EUR: less than one cent rounds to 1 cent, 0 yen stays 0
        assert_eq!(conv(1, "JPY", "EUR", &rates), 1);
        assert_eq!(conv(0, "JPY", "KWD", &rates), 0);
        // USD to GBP is a cross rate neither side is quoted in: 100.00 USD = 100 / 1.0825 * 0.8571
        assert_eq!(conv(10_000, "USD", "GBP", &rates), 7918);
    }

    #[test]
    fn exactly_half_a_minor_unit_rounds_away_from_zero() {
        let rates = table("EUR", &[("USD", "1.5"), ("JPY", "200")]);
        // 1 cent * 1.5 = 1.5 cents; 3 cents = 4.5 cents (half-to-even would give 2 and 4)
        assert_eq!(conv(1, "EUR", "USD", &rates), 2);
        assert_eq!(conv(3, "EUR", "USD", &rates), 5);
        assert_eq!(conv(-1, "EUR", "USD", &rates), -2);
        assert_eq!(conv(-3, "EUR", "USD", &rates), -5);
        // 1 JPY = 1/200 EUR = 0.5 cent exactly; 3 JPY = 1.5 cents
        assert_eq!(conv(1, "JPY", "EUR", &rates), 1);
        assert_eq!(conv(3, "JPY", "EUR", &rates), 2);
        // just under and just over half
        let rates = table("EUR", &[("USD", "1.4999999999"), ("GBP", "1.5000000001")]);
        assert_eq!(conv(1, "EUR", "USD", &rates), 1);
        assert_eq!(conv(1, "EUR", "GBP", &rates), 2);
    }

    #[test]
    fn converting_to_the_same_currency_changes_nothing_even_without_a_rate() {
        let rates = eur_table();
        for (amount, code) in [(1999, "EUR"), (-5, "USD"), (i64::MAX, "CHF"), (i64::MIN, "JPY")] {
            let money = Money::new(amount, cur(code));
            assert_eq!(convert(money, cur(code), &rates).unwrap(), Converted { money, rate: Decimal::ONE });
        }
    }

    #[test]
    fn a_currency_without_a_rate_is_named_in_the_error() {
        let rates = eur_table();
        assert_eq!(convert(Money::new(100, cur("CHF")), cur("EUR"), &rates), Err(ConversionError::NoRate(cur("CHF"))));
        assert_eq!(convert(Money::new(100, cur("EUR")), cur("CHF"), &rates), Err(ConversionError::NoRate(cur("CHF"))));
    }

    #[test]
    fn large_amounts_convert_exactly_or_report_overflow_never_wrap() {
        let rates = eur_table();
        // The largest USD amount: i64::MAX / 1.0825, worked out separately with integers.
        let expected = (i128::from(i64::MAX) * 10_000 * 2 + 10_825) / (10_825 * 2);
        assert_eq!(i128::from(conv(i64::MAX, "USD", "EUR", &rates)), expected);
        assert_eq!(
            i128::from(conv(i64::MIN, "USD", "EUR", &rates)),
            -(i128::from(i64::MIN).abs() * 10_000 * 2 + 10_825) / (10_825 * 2)
        );
        // Growing past i64 is an error.
        assert_eq!(convert(Money::new(i64::MAX, cur("EUR")), cur("USD"), &rates), Err(ConversionError::Overflow));
        assert_eq!(convert(Money::new(i64::MIN, cur("EUR")), cur("KWD"), &rates), Err(ConversionError::Overflow));
        // Extreme rates: the fraction times the amount overflowing 128 bits is an error too.
        let extreme = table("EUR", &[("USD", "0.0000000001"), ("KWD", "999999999.9999999999")]);
        assert_eq!(convert(Money::new(i64::MAX, cur("USD")), cur("KWD"), &extreme), Err(ConversionError::Overflow));
        assert_eq!(convert(Money::new(1, cur("USD")), cur("KWD"), &extreme), Err(ConversionError::Overflow));
        // and the other way the amount shrinks to nothing: 1 fils is 10^-22 cents
        assert_eq!(conv(i64::MAX, "KWD", "USD", &extreme), 0);
    }

    #[test]
    fn conversion_is_symmetric_in_sign_monotonic_and_within_half_a_unit() {
        let rates = eur_table();
        let pairs = [("EUR", "USD"), ("USD", "JPY"), ("JPY", "KWD"), ("KWD", "GBP"), ("GBP", "EUR")];
        let mut seed: u64 = 7;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let amount = (seed >> 20) as i64 % 1_000_000_000_000;
            let (from, to) = pairs[(seed % 5) as usize];
            let up = conv(amount, from, to, &rates);
            assert_eq!(conv(-amount, from, to, &rates), -up, "{amount} {from}->{to}");
            assert!(conv(amount + 1, from, to, &rates) >= up);
            // |up - exact| <= 1/2, checked with the exact rational value in decimal
            let exact = Decimal::from(amount)
                / Decimal::from(10i64.pow(cur(from).exponent()))
                / rates.per_base(cur(from)).unwrap()
                * rates.per_base(cur(to)).unwrap()
                * Decimal::from(10i64.pow(cur(to).exponent()));
            assert!((Decimal::from(up) - exact).abs() <= dec("0.5000001"), "{amount} {from}->{to}: {up} vs {exact}");
        }
    }

    #[test]
    fn rates_must_be_positive_bounded_and_at_most_ten_places() {
        let at = "2026-03-01T00:00:00Z".parse().unwrap();
        let bad = |code: &str, rate: &str| {
            ExchangeRates::new(cur("EUR"), BTreeMap::from([(cur(code), dec(rate))]), at).unwrap_err()
        };
        assert_eq!(bad("USD", "0"), FieldError::new("rates.USD", "must be greater than zero"));
        assert_eq!(bad("USD", "-1.08").message, "must be greater than zero");
        assert_eq!(bad("JPY", "161.12345678901").message, "must have at most 10 decimal places");
        assert_eq!(bad("JPY", "1000000001").message, "must be at most 1000000000");
        assert_eq!(bad("EUR", "1.01").message, "the base currency's rate must be 1");
        // trailing zeros are not decimal places; the base at exactly 1 is fine
        let ok = BTreeMap::from([(cur("JPY"), dec("161.250000000000")), (cur("EUR"), dec("1.00"))]);
        let rates = ExchangeRates::new(cur("EUR"), ok, at).unwrap();
        assert_eq!(rates.per_base(cur("JPY")), Some(dec("161.25")));
        assert_eq!(rates.currencies().map(|c| c.to_string()).collect::<Vec<_>>(), ["EUR", "JPY"]);
    }

    #[test]
    fn a_rate_table_reads_and_writes_rates_as_decimal_strings_and_is_checked_on_the_way_in() {
        let json = serde_json::json!({"base": "EUR", "rates": {"USD": "1.0825", "JPY": "161.25"}, "as_of": "2026-03-01T16:00:00Z"});
        let rates: ExchangeRates = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(rates.per_base(cur("USD")), Some(dec("1.0825")));
        assert_eq!(rates.base(), cur("EUR"));
        assert_eq!(serde_json::to_value(&rates).unwrap(), json);
        let bad = serde_json::json!({"base": "EUR", "rates": {"USD": "-1"}, "as_of": "2026-03-01T16:00:00Z"});
        assert!(serde_json::from_value::<ExchangeRates>(bad).unwrap_err().to_string().contains("rates.USD"));
    }
}
