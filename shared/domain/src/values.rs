//! Validated values built from client input with `parse`, each naming the field it came from.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use validator::ValidateEmail;

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl utoipa::PartialSchema for Email {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An email address (stored lower-case), with a dot in its domain."))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Email)))
            .max_length(Some(Self::MAX_LEN))
            // The part after the last `@` has a dot (`ada@localhost` is refused).
            .pattern(Some("[.][^@]*$"))
            .examples([serde_json::json!("ada@example.com")])
            .into()
    }
}

impl utoipa::ToSchema for Email {}

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if normalised.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(field, "must be at most 254 characters"));
        }
        if !normalised.validate_email() || !normalised.rsplit('@').next().is_some_and(|d| d.contains('.')) {
            return Err(FieldError::new(field, "is not a valid email address"));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shortest and longest passwords, in characters.
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 128;

/// The password rules: long enough to resist guessing, short enough to bound hashing cost.
pub fn check_password(field: &str, password: &str, email: Option<&Email>) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN {
        return Err(FieldError::new(field, format!("must be at least {PASSWORD_MIN} characters")));
    }
    if chars > PASSWORD_MAX {
        return Err(FieldError::new(field, format!("must be at most {PASSWORD_MAX} characters")));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err(FieldError::new(field, "must use at least 4 different characters"));
    }
    if email.is_some_and(|e| e.as_str().eq_ignore_ascii_case(password.trim())) {
        return Err(FieldError::new(field, "must not be the email address"));
    }
    Ok(())
}

/// Characters that change how text is shown without being seen: bidirectional controls (the
/// right-to-left override is a known way to disguise a name shown to other people) and zero-width
/// characters. Names and free text refuse them.
pub fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Free text with a length range, trimmed: at most `max` characters as sent, at least `min` once
/// trimmed; control characters (other than line feeds) and invisible formatting characters
/// (bidirectional controls, zero-width characters) are refused. [`text_schema`] says the same.
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    if raw.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    let text = raw.trim();
    let len = text.chars().count();
    if len < min {
        return Err(if min <= 1 {
            FieldError::new(field, "is required")
        } else {
            FieldError::new(field, format!("must be at least {min} characters"))
        });
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    if text.chars().any(is_invisible_formatting) {
        return Err(FieldError::new(
            field,
            "must not contain invisible formatting characters (bidirectional controls, zero-width characters)",
        ));
    }
    Ok(text.to_string())
}

/// Like [`bounded_text`], but blank text (empty or only white space) means "none".
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<Option<String>, FieldError> {
    if raw.trim().is_empty() && raw.chars().count() <= max {
        return Ok(None);
    }
    bounded_text(field, raw, 1, max).map(Some)
}

/// A calendar date written exactly as `YYYY-MM-DD` (no sign, no padding spaces, two-digit month
/// and day), and a real one.
pub fn date(field: &str, raw: &str) -> Result<chrono::NaiveDate, FieldError> {
    let bad = || FieldError::new(field, "must be a date as YYYY-MM-DD");
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err(bad());
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad())
}

/// A telephone number in E.164 form: `+`, country code, up to 15 digits in all.
pub fn phone(field: &str, raw: &str) -> Result<String, FieldError> {
    let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    if digits.len() < 7 || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
        return Err(FieldError::new(field, "must be an international number such as +441632960961"));
    }
    Ok(compact)
}

/// A telephone number where blank (empty or white space) means none.
pub fn optional_phone(field: &str, raw: &str) -> Result<Option<String>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        number => phone(field, number).map(Some),
    }
}

/// A short machine-friendly code (location codes, SKUs, suppliers): A–Z, a–z, 0–9, `-` and `_`,
/// at most `max` of them once trimmed; stored upper-case. [`code_schema`] says the same.
pub fn code(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let code = raw.trim();
    if code.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(FieldError::new(field, "may contain only letters, digits, '-' and '_'"));
    }
    if code.len() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    Ok(code.to_ascii_uppercase())
}

// ---- how the API documents these rules -----------------------------------------------------------
//
// The patterns below are written for JSON Schema (ECMA-262) and read the same by Python's `re`;
// each is built from the same character ranges the parsers use, and a test checks every character.

/// White space as Rust's `str::trim` removes it (Unicode White_Space).
pub const WHITE_SPACE: &[(char, char)] = &[
    ('\u{0009}', '\u{000D}'),
    (' ', ' '),
    ('\u{0085}', '\u{0085}'),
    ('\u{00A0}', '\u{00A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200A}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

/// Characters text refuses: control characters other than the line feed, and the invisible
/// formatting characters of [`is_invisible_formatting`].
pub const REFUSED_IN_TEXT: &[(char, char)] = &[
    ('\u{0000}', '\u{0009}'),
    ('\u{000B}', '\u{001F}'),
    ('\u{007F}', '\u{009F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{FEFF}', '\u{FEFF}'),
];

/// Any white space, as a pattern fragment.
pub fn text_pattern_space() -> String {
    format!("[{}]*", class_body(&[WHITE_SPACE]))
}

fn class_body(ranges: &[&[(char, char)]]) -> String {
    let escape = |c: char| format!("\\u{:04x}", c as u32);
    ranges
        .iter()
        .flat_map(|r| r.iter())
        .map(|&(a, b)| if a == b { escape(a) } else { format!("{}-{}", escape(a), escape(b)) })
        .collect()
}

/// The pattern of [`bounded_text`] (`blank_is_none`: of [`optional_text`]): optional white space
/// around text that starts and ends with a visible character, with no refused character within.
pub fn text_pattern(min: usize, blank_is_none: bool) -> String {
    let space = format!("[{}]*", class_body(&[WHITE_SPACE]));
    let edge = format!("[^{}]", class_body(&[WHITE_SPACE, REFUSED_IN_TEXT]));
    let inner = format!("[^{}]*", class_body(&[REFUSED_IN_TEXT]));
    let text = if min >= 2 { format!("{edge}{inner}{edge}") } else { format!("{edge}(?:{inner}{edge})?") };
    if blank_is_none { format!("^{space}(?:{text}{space})?$") } else { format!("^{space}{text}{space}$") }
}

/// The schema of free text read by [`bounded_text`] or [`optional_text`].
pub fn text_schema(min: usize, max: usize, blank_is_none: bool, description: &str) -> utoipa::openapi::Object {
    let rule = if blank_is_none { "blank means none" } else { "trimmed" };
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(format!(
            "{description} Up to {max} characters, {rule}; no control characters (line feeds aside) and no \
             invisible formatting characters (bidirectional controls, zero-width characters, U+FEFF)."
        )))
        .min_length((!blank_is_none).then_some(min))
        .max_length(Some(max))
        .pattern(Some(text_pattern(min, blank_is_none)))
        .build()
}

/// The schema of a [`code`] of at most `max` characters.
pub fn code_schema(max: usize, description: &str) -> utoipa::openapi::Object {
    let space = format!("[{}]*", class_body(&[WHITE_SPACE]));
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(format!(
            "{description} 1 to {max} letters, digits, '-' and '_' (stored upper-case; surrounding white space is trimmed)."
        )))
        .pattern(Some(format!("^{space}[0-9A-Za-z_-]{{1,{max}}}{space}$")))
        .build()
}

/// Declares a kind of text the API takes, with the rule that parses it and the schema that
/// documents it, so the two cannot drift apart.
macro_rules! text_kind {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl $name {
            pub const MIN: usize = $min;
            pub const MAX: usize = $max;

            /// The trimmed text, or the error naming `field`.
            pub fn parse(field: &str, raw: &str) -> Result<String, FieldError> {
                bounded_text(field, raw, Self::MIN, Self::MAX)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                text_schema(Self::MIN, Self::MAX, false, $description).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
    ($(#[$doc:meta])* $name:ident, blank is none, $max:expr, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl $name {
            pub const MAX: usize = $max;

            /// The trimmed text, `None` when blank, or the error naming `field`.
            pub fn parse(field: &str, raw: &str) -> Result<Option<String>, FieldError> {
                optional_text(field, raw, Self::MAX)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                text_schema(1, Self::MAX, true, $description).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

text_kind!(/// A person's or a place's name: 1 to 100 characters once trimmed.
    Name, 1, 100, "A person's or a place's name.");
text_kind!(/// A vendor's name: 2 to 100 characters once trimmed.
    VendorName, 2, 100, "A vendor's name, at least 2 characters once trimmed.");
text_kind!(/// A line of a postal address.
    AddressLine, 1, 200, "A line of a postal address.");
text_kind!(/// A postal code.
    PostalCode, 1, 20, "A postal code.");
text_kind!(/// Why an administrator changed something, shown to those concerned.
    Reason, 1, 500, "Why; shown to those concerned.");
text_kind!(/// An optional short label, such as "Home"; blank means none.
    Label, blank is none, 40, "A short label such as Home; optional.");
text_kind!(/// An optional second address line; blank means none.
    OptionalAddressLine, blank is none, 200, "A further line of a postal address; optional.");
text_kind!(/// An optional region, county or state; blank means none.
    Region, blank is none, 100, "A region, county or state; optional.");
text_kind!(/// A product's title in one locale.
    Title, 1, 200, "A product's title.");
text_kind!(/// A product's brand.
    Brand, 1, 100, "A brand name.");
text_kind!(/// A tag on a product (stored lower-case).
    Tag, 1, 40, "A tag, stored lower-case.");
text_kind!(/// A vendor's description; blank means none.
    Description, blank is none, 2000, "A description; optional.");

/// Declares a kind of [`code`] with its longest length, its parser and its schema.
macro_rules! code_kind {
    ($(#[$doc:meta])* $name:ident, $max:expr, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl $name {
            pub const MAX: usize = $max;

            /// The code, upper-cased, or the error naming `field`.
            pub fn parse(field: &str, raw: &str) -> Result<String, FieldError> {
                code(field, raw, Self::MAX)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                code_schema(Self::MAX, $description).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

code_kind!(/// A stock-keeping unit's code.
    Sku, 64, "A stock-keeping unit.");
code_kind!(/// A supplier's code.
    SupplierCode, 40, "A supplier's code.");
code_kind!(/// A stock location's code, unique within its vendor.
    LocationCode, 32, "A stock location's code, unique within the vendor.");
code_kind!(/// A vendor's code for one of its shipping zones, unique among its zones.
    ShippingZoneCode, 40, "A vendor's code for one of its shipping zones, unique among its zones.");
code_kind!(/// A shipping service's code, unique among the services of its zone.
    ShippingServiceCode, 40, "A shipping service's code, unique among the services of its zone.");
code_kind!(/// A batch's lot code.
    LotCode, 40, "A batch's lot code, as the supplier prints it.");
code_kind!(/// A barcode scanner's or RFID reader's id.
    ReaderCode, 64, "A barcode scanner's or RFID reader's id.");
code_kind!(/// One part of a bin location (zone, aisle, shelf or bin).
    BinPart, 16, "One part of a bin location: zone, aisle, shelf or bin.");

/// A telephone number as [`phone`] reads it, where blank means none (or removes it).
pub struct Phone;

impl utoipa::PartialSchema for Phone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let space = format!("[{}]*", class_body(&[WHITE_SPACE]));
        let sep = "[ ().-]*";
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "An international number (E.164): +, then 7 to 15 digits, the first not 0; spaces, '-', '.', \
                 '(' and ')' may separate them. Blank means none.",
            ))
            .pattern(Some(format!("^{space}(?:{sep}\\+{sep}[1-9](?:{sep}[0-9]){{6,14}}{sep}{space})?$")))
            .examples([serde_json::json!("+441632960961")])
            .into()
    }
}

impl utoipa::ToSchema for Phone {}

/// A password as [`check_password`] reads it (its other rules, at least 4 different characters
/// and not the email address, are answered with 422).
pub struct Password;

impl utoipa::PartialSchema for Password {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("10 to 128 characters, at least 4 different ones, not the email address."))
            .min_length(Some(PASSWORD_MIN))
            .max_length(Some(PASSWORD_MAX))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Password)))
            .examples([serde_json::json!("correct horse battery")])
            .into()
    }
}

impl utoipa::ToSchema for Password {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("email", "  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn an_email_without_a_domain_dot_or_at_sign_is_rejected() {
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com"] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
    }

    #[test]
    fn short_repetitive_or_email_passwords_are_refused() {
        let email = Email::parse("email", "ada@example.com").unwrap();
        assert!(check_password("password", "short", None).is_err());
        assert!(check_password("password", "aaaaaaaaaaaa", None).is_err());
        assert!(check_password("password", "ada@example.com", Some(&email)).is_err());
        assert!(check_password("password", &"x1".repeat(70), None).is_err());
        assert!(check_password("password", "correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn bounded_text_trims_and_names_the_field() {
        assert_eq!(bounded_text("name", "  Ada  ", 1, 10).unwrap(), "Ada");
        assert_eq!(bounded_text("name", "   ", 1, 10).unwrap_err().message, "is required");
        assert_eq!(bounded_text("name", "abcdefghijk", 1, 10).unwrap_err().field, "name");
        assert!(bounded_text("name", "bad\u{0007}", 1, 10).is_err());
    }

    #[test]
    fn names_with_bidirectional_controls_or_zero_width_characters_are_refused() {
        for bad in ["Ada\u{202E}gnp.exe", "A\u{200B}da", "\u{FEFF}Ada", "Ad\u{2066}a", "A\u{200D}da"] {
            let err = bounded_text("name", bad, 1, 50).unwrap_err();
            assert!(err.message.contains("invisible"), "{bad:?}: {err:?}");
        }
        assert_eq!(bounded_text("name", "Zoë Ødegård-Łukasz 李", 1, 50).unwrap(), "Zoë Ødegård-Łukasz 李");
    }

    #[test]
    fn only_yyyy_mm_dd_is_a_date() {
        assert_eq!(date("date", "2026-01-01").unwrap(), chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        for bad in ["2026-1-1", "+2026-01-01", " 2026-11-01", "2026-11-01 ", "2026-02-30", "20260101", "2026/01/01", ""]
        {
            assert_eq!(date("date", bad).unwrap_err().field, "date", "{bad:?}");
        }
    }

    #[test]
    fn phone_numbers_must_be_international() {
        assert_eq!(phone("phone", "+44 1632 960-961").unwrap(), "+441632960961");
        assert!(phone("phone", "01632 960961").is_err());
        assert!(phone("phone", "+12").is_err());
    }

    #[test]
    fn codes_are_upper_cased_and_restricted() {
        assert_eq!(code("code", " wh-1 ", 20).unwrap(), "WH-1");
        assert!(code("code", "wh 1", 20).is_err());
        assert!(code("code", "", 20).is_err());
        assert!(code("code", "straße", 20).is_err(), "no letter becomes two ASCII ones");
        assert!(code("code", &"A".repeat(21), 20).is_err());
    }

    fn within(ranges: &[(char, char)], c: char) -> bool {
        ranges.iter().any(|&(a, b)| (a..=b).contains(&c))
    }

    #[test]
    fn the_documented_character_classes_are_the_ones_the_parsers_use() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(within(WHITE_SPACE, c), c.is_whitespace(), "{c:?}");
            let refused = (c.is_control() && c != '\n') || is_invisible_formatting(c);
            assert_eq!(within(REFUSED_IN_TEXT, c), refused, "{c:?}");
        }
    }

    #[test]
    fn text_longer_than_its_maximum_as_sent_is_refused_and_blank_optional_text_is_none() {
        assert!(bounded_text("name", &"a".repeat(100), 1, 100).is_ok());
        assert!(bounded_text("name", &"a".repeat(101), 1, 100).is_err());
        assert!(bounded_text("name", &format!(" {}", "a".repeat(100)), 1, 100).is_err());
        assert_eq!(optional_text("label", "   ", 40).unwrap(), None);
        assert_eq!(optional_text("label", " Home ", 40).unwrap().as_deref(), Some("Home"));
        assert!(optional_text("label", &" ".repeat(41), 40).is_err());
        assert_eq!(VendorName::parse("name", " a ").unwrap_err().field, "name");
    }
}
