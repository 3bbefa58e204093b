//! Validated values built from client input with `parse`, each naming the field it came from.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use validator::ValidateEmail;

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = "email", example = "ada@example.com")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if normalised.len() > Self::MAX_LEN {
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

/// The password rules: long enough to resist guessing, short enough to bound hashing cost.
pub fn check_password(field: &str, password: &str, email: Option<&Email>) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < 10 {
        return Err(FieldError::new(field, "must be at least 10 characters"));
    }
    if chars > 128 {
        return Err(FieldError::new(field, "must be at most 128 characters"));
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

/// Free text with a required length range, trimmed; control characters and invisible formatting
/// characters (bidirectional controls, zero-width characters) are refused.
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min {
        return Err(if min <= 1 {
            FieldError::new(field, "is required")
        } else {
            FieldError::new(field, format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
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

/// A short machine-friendly code (location codes, SKUs later): A–Z, 0–9, `-` and `_`.
pub fn code(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let code = raw.trim().to_uppercase();
    if code.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if code.len() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(FieldError::new(field, "may contain only letters, digits, '-' and '_'"));
    }
    Ok(code)
}

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
    }
}
