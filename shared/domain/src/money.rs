//! Money: integer minor units of one ISO 4217 currency. No floating point anywhere: amounts are
//! parsed from decimal text exactly, added only to the same currency, and overflow is an error.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// Active ISO 4217 codes with two decimal places (the usual case).
const TWO_DECIMALS: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD \
CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR \
IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK \
NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP \
TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD YER ZAR ZMW ZWG";
/// Currencies without minor units.
const NO_DECIMALS: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";
/// Currencies with three decimal places.
const THREE_DECIMALS: &str = "BHD IQD JOD KWD LYD OMR TND";

/// An ISO 4217 currency code known to Stockyard, with its number of decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Documented as the list of codes it accepts, so a client generated from the API's document
/// refuses what the server would.
impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut codes: Vec<&str> =
            [TWO_DECIMALS, NO_DECIMALS, THREE_DECIMALS].iter().flat_map(|list| list.split_whitespace()).collect();
        codes.sort_unstable();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An ISO 4217 currency code (upper-case), one of those Stockyard knows."))
            .enum_values(Some(codes))
            .examples([serde_json::json!("EUR")])
            .into()
    }
}

impl ToSchema for Currency {}

impl Currency {
    /// Parses a code such as `EUR` (upper-case, as ISO 4217 writes it).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim();
        let known = [TWO_DECIMALS, NO_DECIMALS, THREE_DECIMALS].iter().any(|list| list.split(' ').any(|c| c == code));
        match code.as_bytes() {
            [a, b, c] if known => Ok(Self([*a, *b, *c])),
            _ => Err(FieldError::new(field, "must be an ISO 4217 currency code such as EUR or USD")),
        }
    }

    /// Every currency Stockyard knows, in code order.
    pub fn all() -> Vec<Currency> {
        let mut all: Vec<Currency> = [TWO_DECIMALS, NO_DECIMALS, THREE_DECIMALS]
            .iter()
            .flat_map(|list| list.split_whitespace())
            .filter_map(|code| Currency::parse("currency", code).ok())
            .collect();
        all.sort();
        all
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// Decimal places of the minor unit: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        let code = self.code();
        if NO_DECIMALS.split(' ').any(|c| c == code) {
            0
        } else if THREE_DECIMALS.split(' ').any(|c| c == code) {
            3
        } else {
            2
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("currency", &s).map_err(|e| e.message)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of one currency in its minor unit (cents for EUR, yen for JPY, fils for KWD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Money {
    /// Minor units: 1999 is 19.99 EUR, 1999 JPY, 1.999 KWD.
    #[schema(example = 1999)]
    pub amount: i64,
    pub currency: Currency,
}

/// Why an arithmetic step on money was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    CurrencyMismatch(Currency, Currency),
    Overflow,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::CurrencyMismatch(a, b) => write!(f, "cannot combine {a} with {b}"),
            MoneyError::Overflow => f.write_str("amount out of range"),
        }
    }
}

impl std::error::Error for MoneyError {}

impl Money {
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self { amount: 0, currency }
    }

    /// Parses a decimal amount written in major units (`"19.99"` EUR is 1999 cents). More decimal
    /// places than the currency has, signs, exponents and separators are refused rather than rounded.
    pub fn parse_major(field: &str, raw: &str, currency: Currency) -> Result<Self, FieldError> {
        let bad = || {
            FieldError::new(
                field,
                match currency.exponent() {
                    0 => format!("must be a whole amount of {currency}, such as 1500"),
                    e => format!("must be an amount of {currency} with at most {e} decimal places, such as 19.99"),
                },
            )
        };
        let text = raw.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let exponent = currency.exponent() as usize;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > exponent {
            return Err(bad());
        }
        if text.contains('.') && fraction.is_empty() {
            return Err(bad());
        }
        let scale = 10i64.pow(exponent as u32);
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let fraction: i64 =
            if fraction.is_empty() { 0 } else { format!("{fraction:0<exponent$}").parse().map_err(|_| bad())? };
        let amount = whole.checked_mul(scale).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)?;
        Ok(Self { amount, currency })
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.checked_add(Money { amount: other.amount.checked_neg().ok_or(MoneyError::Overflow)?, ..other })
    }

    /// The price of `quantity` items at this unit price.
    pub fn times(self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, currency: self.currency })
    }
}

impl fmt::Display for Money {
    /// `19.99 EUR`, `1500 JPY`, `-0.005 KWD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent();
        let sign = if self.amount < 0 { "-" } else { "" };
        let abs = self.amount.unsigned_abs();
        if exponent == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(exponent);
        write!(f, "{sign}{}.{:0width$} {}", abs / scale, abs % scale, self.currency, width = exponent as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    #[test]
    fn each_currency_has_its_iso_4217_number_of_decimal_places() {
        assert_eq!(cur("EUR").exponent(), 2);
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("KWD").exponent(), 3);
        for bad in ["eur", "EURO", "XXX", "", "E1R"] {
            assert!(Currency::parse("currency", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimal_text_becomes_exact_minor_units_and_prints_back_the_same() {
        assert_eq!(Money::parse_major("p", "19.99", cur("EUR")).unwrap().amount, 1999);
        assert_eq!(Money::parse_major("p", "19.9", cur("EUR")).unwrap().amount, 1990);
        assert_eq!(Money::parse_major("p", "20", cur("EUR")).unwrap().amount, 2000);
        assert_eq!(Money::parse_major("p", "1500", cur("JPY")).unwrap().amount, 1500);
        assert_eq!(Money::parse_major("p", "1.005", cur("KWD")).unwrap().amount, 1005);
        assert_eq!(Money::new(1999, cur("EUR")).to_string(), "19.99 EUR");
        assert_eq!(Money::new(5, cur("EUR")).to_string(), "0.05 EUR");
        assert_eq!(Money::new(-5, cur("KWD")).to_string(), "-0.005 KWD");
        assert_eq!(Money::new(1500, cur("JPY")).to_string(), "1500 JPY");
    }

    #[test]
    fn amounts_with_too_many_decimals_signs_or_junk_are_refused_not_rounded() {
        for bad in ["19.999", "-1", "+1", "1e3", "1,00", "", ".5", "5.", "0x10", "99999999999999999999"] {
            let err = Money::parse_major("price", bad, cur("EUR")).unwrap_err();
            assert_eq!(err.field, "price", "{bad}");
        }
        assert!(Money::parse_major("price", "1.5", cur("JPY")).is_err());
    }

    #[test]
    fn money_adds_only_to_the_same_currency_and_never_overflows_silently() {
        let eur = |a| Money::new(a, cur("EUR"));
        assert_eq!(eur(150).checked_add(eur(250)).unwrap(), eur(400));
        assert_eq!(eur(150).checked_sub(eur(250)).unwrap(), eur(-100));
        assert_eq!(eur(1999).times(3).unwrap(), eur(5997));
        assert!(matches!(eur(1).checked_add(Money::new(1, cur("USD"))), Err(MoneyError::CurrencyMismatch(..))));
        assert_eq!(eur(i64::MAX).checked_add(eur(1)), Err(MoneyError::Overflow));
        assert_eq!(eur(i64::MAX / 2 + 1).times(2), Err(MoneyError::Overflow));
    }

    #[test]
    fn money_serialises_as_minor_units_and_a_currency_code() {
        let json = serde_json::to_value(Money::new(1999, cur("EUR"))).unwrap();
        assert_eq!(json, serde_json::json!({"amount": 1999, "currency": "EUR"}));
        assert!(serde_json::from_value::<Money>(serde_json::json!({"amount": 1, "currency": "ABC"})).is_err());
    }
}
