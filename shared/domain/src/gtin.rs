//! GS1 Global Trade Item Numbers, the digits under a product's barcode.
//!
//! A GTIN is kept exactly as the vendor gave it (an EAN-13 stays 13 digits) because that is what
//! the label prints and the scanner reads; `as_gtin14` gives the one form in which the same item
//! written as UPC-A or EAN-13 compares equal, for uniqueness and look-up.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// Which of the GS1 lengths a GTIN has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum GtinKind {
    /// EAN-8, for small packs.
    #[serde(rename = "GTIN-8")]
    Gtin8,
    /// UPC-A, the North American retail barcode.
    #[serde(rename = "GTIN-12")]
    Gtin12,
    /// EAN-13, the retail barcode everywhere else.
    #[serde(rename = "GTIN-13")]
    Gtin13,
    /// Trade units (cases, cartons), printed as ITF-14 or GS1-128.
    #[serde(rename = "GTIN-14")]
    Gtin14,
}

/// A GTIN-8, -12, -13 or -14 whose check digit is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = r"^([0-9]{8}|[0-9]{12,14})$", example = "4006381333931")]
pub struct Gtin(String);

/// The GS1 check digit for the digits before it: from the right, weights 3, 1, 3, 1, ...; the
/// check digit brings the weighted sum up to a multiple of ten.
pub(crate) fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 =
        body.iter().rev().enumerate().map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    ((10 - sum % 10) % 10) as u8
}

impl Gtin {
    /// Parses the digits of a GTIN. Surrounding spaces are ignored; anything else that is not a
    /// digit, a length other than 8, 12, 13 or 14, a wrong check digit or all zeros is refused
    /// with a message saying which.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let digits = raw.trim();
        if digits.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(field, "must contain digits only (no spaces or hyphens)"));
        }
        if !matches!(digits.len(), 8 | 12 | 13 | 14) {
            return Err(FieldError::new(
                field,
                format!("must have 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13, GTIN-14), not {}", digits.len()),
            ));
        }
        if digits.bytes().all(|b| b == b'0') {
            return Err(FieldError::new(field, "must not be all zeros"));
        }
        let (body, last) = digits.as_bytes().split_at(digits.len() - 1);
        let expected = check_digit(body);
        if last[0] - b'0' != expected {
            return Err(FieldError::new(
                field,
                format!("has a wrong check digit: the last digit should be {expected}, not {}", last[0] - b'0'),
            ));
        }
        Ok(Self(digits.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> GtinKind {
        match self.0.len() {
            8 => GtinKind::Gtin8,
            12 => GtinKind::Gtin12,
            13 => GtinKind::Gtin13,
            _ => GtinKind::Gtin14,
        }
    }

    /// The 14-digit form (zeros in front), equal for the same item whatever length it was given in.
    pub fn as_gtin14(&self) -> String {
        format!("{:0>14}", self.0)
    }
}

impl TryFrom<String> for Gtin {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("gtin", &s).map_err(|e| e.message)
    }
}

impl From<Gtin> for String {
    fn from(g: Gtin) -> Self {
        g.0
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes a body with its check digit, worked out here by hand-rolled arithmetic that does
    /// not share code with the parser: odd positions from the right weigh 3.
    fn complete(body: &str) -> String {
        let mut sum = 0;
        for (i, c) in body.chars().rev().enumerate() {
            let d = c.to_digit(10).unwrap();
            sum += if i % 2 == 0 { 3 * d } else { d };
        }
        format!("{body}{}", (10 - sum % 10) % 10)
    }

    #[test]
    fn real_world_style_numbers_of_every_length_are_accepted_with_their_kind() {
        let cases = [
            (complete("9638507"), GtinKind::Gtin8, "96385074"),
            (complete("03600029145"), GtinKind::Gtin12, "036000291452"),
            (complete("400638133393"), GtinKind::Gtin13, "4006381333931"),
            (complete("978014300723"), GtinKind::Gtin13, "9780143007234"),
            (complete("1001234567890"), GtinKind::Gtin14, "10012345678902"),
        ];
        for (digits, kind, printed) in cases {
            assert_eq!(digits, printed, "the worked example agrees with the printed barcode");
            let gtin = Gtin::parse("gtin", &digits).unwrap();
            assert_eq!(gtin.kind(), kind);
            assert_eq!(gtin.as_str(), digits);
        }
    }

    #[test]
    fn a_wrong_check_digit_is_refused_saying_what_it_should_be() {
        let err = Gtin::parse("variants[0].gtin", "4006381333932").unwrap_err();
        assert_eq!(err.field, "variants[0].gtin");
        assert_eq!(err.message, "has a wrong check digit: the last digit should be 1, not 2");
    }

    #[test]
    fn every_single_digit_typo_is_caught() {
        let valid = "4006381333931";
        for position in 0..valid.len() {
            for replacement in b'0'..=b'9' {
                let mut bytes = valid.as_bytes().to_vec();
                if bytes[position] == replacement {
                    continue;
                }
                bytes[position] = replacement;
                let typo = String::from_utf8(bytes).unwrap();
                assert!(Gtin::parse("gtin", &typo).is_err(), "{typo}");
            }
        }
    }

    #[test]
    fn exactly_one_check_digit_completes_any_body() {
        let mut seed: u64 = 42;
        for _ in 0..500 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = [7, 11, 12, 13][(seed >> 60) as usize % 4];
            let body: String = (0..len).map(|i| char::from(b'0' + ((seed >> (i * 4 % 60)) % 10) as u8)).collect();
            let accepted: Vec<u8> = (0..10).filter(|d| Gtin::parse("gtin", &format!("{body}{d}")).is_ok()).collect();
            if body.bytes().all(|b| b == b'0') {
                assert_eq!(accepted, Vec::<u8>::new());
            } else {
                assert_eq!(accepted, vec![check_digit(body.as_bytes())], "{body}");
            }
        }
    }

    #[test]
    fn wrong_lengths_and_non_digits_are_refused_with_the_reason() {
        assert!(Gtin::parse("gtin", "1234567").unwrap_err().message.contains("not 7"));
        assert!(Gtin::parse("gtin", &complete("1234567890")).unwrap_err().message.contains("not 11"));
        assert!(Gtin::parse("gtin", &complete("123456789012345")).unwrap_err().message.contains("not 16"));
        for bad in ["4006-381333931", "4006381 333931", "40063813339３1", "+96385074", "9638507a"] {
            assert!(Gtin::parse("gtin", bad).unwrap_err().message.contains("digits only"), "{bad}");
        }
        assert_eq!(Gtin::parse("gtin", " ").unwrap_err().message, "is required");
        assert_eq!(Gtin::parse("gtin", "00000000").unwrap_err().message, "must not be all zeros");
    }

    #[test]
    fn digits_are_kept_as_given_and_compare_in_their_fourteen_digit_form() {
        let upc = Gtin::parse("gtin", " 036000291452 ").unwrap();
        let ean = Gtin::parse("gtin", "0036000291452").unwrap();
        assert_eq!(upc.as_str(), "036000291452");
        assert_ne!(upc, ean);
        assert_eq!(upc.as_gtin14(), ean.as_gtin14());
        assert_eq!(upc.as_gtin14(), "00036000291452");
    }

    #[test]
    fn gtins_travel_as_strings_checked_on_the_way_in() {
        let gtin = Gtin::parse("gtin", "96385074").unwrap();
        assert_eq!(serde_json::to_value(&gtin).unwrap(), serde_json::json!("96385074"));
        assert_eq!(serde_json::from_value::<Gtin>(serde_json::json!("96385074")).unwrap(), gtin);
        let err = serde_json::from_value::<Gtin>(serde_json::json!("96385075")).unwrap_err();
        assert!(err.to_string().contains("should be 4"), "{err}");
        assert_eq!(serde_json::to_value(gtin.kind()).unwrap(), serde_json::json!("GTIN-8"));
    }
}
