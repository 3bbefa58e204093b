//! Locales of translated catalog content and the choice of one per request.
//!
//! A locale is the `language[-script][-region]` subset of BCP 47 (RFC 5646): enough for every
//! translation a vendor writes (`fr-CA`, `zh-Hant-TW`, `es-419`), small enough that two spellings
//! of one locale always compare equal once parsed. Variants, extensions and private-use subtags are
//! refused when stored; in an `Accept-Language` header they are dropped, as RFC 4647 lookup would
//! drop them on its way to a shorter tag anyway. Subtags are checked for shape, not looked up in the
//! IANA registry: a well-formed tag nobody translated into simply never matches.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// A BCP 47 language tag in canonical case: `fr`, `fr-CA`, `zh-Hant-TW`, `es-419`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

/// Documented as what [`Locale::parse`] accepts (any case, `-` or `_` between subtags, white space
/// around it trimmed); answers carry the canonical form.
impl utoipa::PartialSchema for Locale {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let space = crate::values::text_pattern_space();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A BCP 47 language tag: language, optional script, optional region (fr, fr-CA, zh-Hant-TW, es-419); \
                 any case, stored in canonical case.",
            ))
            .pattern(Some(format!(
                "^{space}[A-Za-z]{{2,3}}([-_][A-Za-z]{{4}})?([-_]([A-Za-z]{{2}}|[0-9]{{3}}))?{space}$"
            )))
            .examples([serde_json::json!("fr-CA")])
            .into()
    }
}

impl ToSchema for Locale {}

/// The subtags of a tag in the order BCP 47 places them, each already in canonical case.
struct Subtags {
    language: String,
    script: Option<String>,
    region: Option<String>,
}

impl Subtags {
    fn join(&self) -> String {
        let mut tag = self.language.clone();
        for part in [&self.script, &self.region].into_iter().flatten() {
            tag.push('-');
            tag.push_str(part);
        }
        tag
    }
}

fn is_language(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_script(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_region(s: &str) -> bool {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
        || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
}

fn title_case(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let (first, rest) = lower.split_at(1);
    format!("{}{rest}", first.to_ascii_uppercase())
}

/// Reads subtags in order and stops at the first that is not the next one the subset allows.
/// Returns the subtags read and whether the whole tag was consumed.
fn read_subtags(raw: &str) -> Option<(Subtags, bool)> {
    let mut parts = raw.split(['-', '_']).peekable();
    let language = parts.next().filter(|l| is_language(l))?.to_ascii_lowercase();
    let script = parts.next_if(|s| is_script(s)).map(title_case);
    let region = parts.next_if(|s| is_region(s)).map(|r| r.to_ascii_uppercase());
    let complete = parts.next().is_none();
    Some((Subtags { language, script, region }, complete))
}

impl Locale {
    /// Parses a tag in any case, with `-` or `_` between subtags (`FR_ca` is `fr-CA`).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match read_subtags(raw.trim()) {
            Some((subtags, true)) => Ok(Self(subtags.join())),
            _ => Err(FieldError::new(
                field,
                "must be a language tag such as fr, fr-CA or zh-Hant-TW (language, optional script, optional region)",
            )),
        }
    }

    /// The longest prefix of a tag that the subset covers (`de-CH-1996` gives `de-CH`), for reading
    /// what a client accepts, where an unusual tag should still count for its language.
    fn parse_prefix(raw: &str) -> Option<Self> {
        read_subtags(raw.trim()).map(|(subtags, _)| Self(subtags.join()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    pub fn script(&self) -> Option<&str> {
        self.0.split('-').skip(1).find(|s| s.len() == 4)
    }

    pub fn region(&self) -> Option<&str> {
        self.0.split('-').skip(1).find(|s| s.len() != 4)
    }

    /// The tag without its last subtag (`zh-Hant-TW` → `zh-Hant` → `zh`), as RFC 4647 lookup
    /// shortens a tag; `None` for a bare language.
    pub fn parent(&self) -> Option<Locale> {
        self.0.rsplit_once('-').map(|(head, _)| Locale(head.to_string()))
    }

    /// This tag and every shorter one, longest first.
    fn truncations(&self) -> impl Iterator<Item = Locale> {
        std::iter::successors(Some(self.clone()), Locale::parent)
    }
}

impl TryFrom<String> for Locale {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("locale", &s).map_err(|e| e.message)
    }
}

impl From<Locale> for String {
    fn from(l: Locale) -> Self {
        l.0
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The locale chosen for a response (it goes in `Content-Language`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub locale: Locale,
    /// True when the locale is not one the client named: a shorter form of one (`fr` for `fr-CA`)
    /// or the default. A client that named none gets the default without a fallback.
    pub fallback_used: bool,
}

/// The order in which to look for content in `wanted`: the tag, its shorter forms, then the
/// default and its shorter forms, each once.
pub fn fallback_chain(wanted: &Locale, default: &Locale) -> Vec<Locale> {
    let mut chain: Vec<Locale> = Vec::new();
    for locale in wanted.truncations().chain(default.truncations()) {
        if !chain.contains(&locale) {
            chain.push(locale);
        }
    }
    chain
}

/// A header is client input: only this many entries are read, so a long one costs no more.
const MAX_RANGES: usize = 32;

/// One entry of `Accept-Language`: a tag or `*` (`None`), with its weight in thousandths.
struct Range {
    tag: Option<Locale>,
    quality: u16,
}

/// A weight as RFC 9110 writes it: `0` to `1` with at most three decimals; anything else is invalid.
fn parse_quality(raw: &str) -> Option<u16> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn parse_range(entry: &str) -> Option<Range> {
    let mut pieces = entry.split(';');
    let tag = pieces.next()?.trim();
    let mut quality = 1000;
    for param in pieces {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            quality = parse_quality(value.trim())?;
        }
    }
    if tag == "*" {
        return Some(Range { tag: None, quality });
    }
    Some(Range { tag: Some(Locale::parse_prefix(tag)?), quality })
}

/// The locales `Accept-Language` names and their shorter forms, most wanted first (refused and
/// malformed entries and `*` left out), each once: the places to look for a slug in.
pub fn wanted(accept_language: Option<&str>) -> Vec<Locale> {
    let mut ranges: Vec<Range> = accept_language
        .unwrap_or("")
        .split(',')
        .filter(|e| !e.trim().is_empty())
        .take(MAX_RANGES)
        .filter_map(parse_range)
        .filter(|r| r.quality > 0)
        .collect();
    ranges.sort_by_key(|r| std::cmp::Reverse(r.quality));
    let mut out: Vec<Locale> = Vec::new();
    for locale in ranges.iter().filter_map(|r| r.tag.as_ref()).flat_map(|t| t.truncations()) {
        if !out.contains(&locale) {
            out.push(locale);
        }
    }
    out
}

/// Chooses the locale of a response from `Accept-Language`, among the locales the content is
/// available in. Entries are ranked by weight (ties keep the client's order); for each, the tag
/// then its shorter forms are tried (RFC 4647 lookup), so `fr-CA` is served `fr` before the
/// default. `q=0` refuses a tag and its longer forms; `*` accepts the default, or else any
/// available locale not refused. Malformed entries are ignored and the default is the last
/// resort, so this never fails.
pub fn negotiate(accept_language: Option<&str>, available: &[Locale], default: &Locale) -> Negotiated {
    let header = accept_language.unwrap_or("");
    let mut ranges: Vec<Range> =
        header.split(',').filter(|e| !e.trim().is_empty()).take(MAX_RANGES).filter_map(parse_range).collect();
    if ranges.is_empty() {
        return Negotiated { locale: default.clone(), fallback_used: !header.trim().is_empty() };
    }
    let refused: Vec<Locale> = ranges.iter().filter(|r| r.quality == 0).filter_map(|r| r.tag.clone()).collect();
    // A refusal of `fr` covers `fr-CA` too: the client does not read French.
    let is_refused = |l: &Locale| l.truncations().any(|t| refused.contains(&t));
    ranges.retain(|r| r.quality > 0);
    ranges.sort_by_key(|r| std::cmp::Reverse(r.quality));
    let named: Vec<&Locale> = ranges.iter().filter_map(|r| r.tag.as_ref()).collect();

    for range in &ranges {
        let found = match &range.tag {
            Some(tag) => tag.truncations().find(|c| available.contains(c) && !is_refused(c)),
            None if !is_refused(default) => Some(default.clone()),
            None => available.iter().find(|l| !is_refused(l)).cloned(),
        };
        if let Some(locale) = found {
            let fallback_used = range.tag.is_some() && !named.contains(&&locale);
            return Negotiated { locale, fallback_used };
        }
    }
    Negotiated { locale: default.clone(), fallback_used: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(s: &str) -> Locale {
        Locale::parse("locale", s).unwrap()
    }

    fn locs(list: &[&str]) -> Vec<Locale> {
        list.iter().map(|s| loc(s)).collect()
    }

    #[test]
    fn wanted_locales_come_by_weight_with_their_shorter_forms_once() {
        assert_eq!(wanted(Some("de;q=0.5, fr-CA, fr;q=0.9, en;q=0")), locs(&["fr-CA", "fr", "de"]));
        assert!(wanted(None).is_empty());
        assert!(wanted(Some("*, ;;;")).is_empty());
    }

    #[test]
    fn tags_are_stored_in_canonical_case_whatever_case_the_client_used() {
        for (raw, canonical) in [
            ("fr", "fr"),
            ("FR-ca", "fr-CA"),
            ("fr_CA", "fr-CA"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("ZH-HANT", "zh-Hant"),
            ("es-419", "es-419"),
            (" de-AT ", "de-AT"),
            ("haw", "haw"),
            ("sr-latn-rs", "sr-Latn-RS"),
        ] {
            assert_eq!(loc(raw).as_str(), canonical, "{raw}");
        }
    }

    #[test]
    fn tags_outside_language_script_region_are_refused_and_name_the_field() {
        for bad in [
            "",
            "f",
            "french",
            "fr-",
            "-fr",
            "fr--CA",
            "fr-C",
            "fr-CAN",
            "fr-12",
            "de-CH-1996",
            "en-US-x-twain",
            "x-klingon",
            "i-default",
            "*",
            "fr CA",
            "zh-Hant-Latn",
            "fr-CA-Hant",
            "é",
            "1a",
        ] {
            let err = Locale::parse("locale", bad).unwrap_err();
            assert_eq!(err.field, "locale", "{bad}");
        }
    }

    #[test]
    fn a_locale_knows_its_parts_and_shortens_one_subtag_at_a_time() {
        let l = loc("zh-Hant-TW");
        assert_eq!((l.language(), l.script(), l.region()), ("zh", Some("Hant"), Some("TW")));
        assert_eq!(loc("es-419").region(), Some("419"));
        assert_eq!(loc("fr").script(), None);
        assert_eq!(l.parent(), Some(loc("zh-Hant")));
        assert_eq!(loc("zh-Hant").parent(), Some(loc("zh")));
        assert_eq!(loc("zh").parent(), None);
    }

    #[test]
    fn locales_travel_as_strings_and_work_as_map_keys() {
        let json = serde_json::to_value(loc("fr-CA")).unwrap();
        assert_eq!(json, serde_json::json!("fr-CA"));
        assert_eq!(serde_json::from_value::<Locale>(serde_json::json!("FR-ca")).unwrap(), loc("fr-CA"));
        assert!(serde_json::from_value::<Locale>(serde_json::json!("fr-CA-x-y")).is_err());
        let labels: std::collections::BTreeMap<Locale, String> =
            serde_json::from_str(r#"{"fr": "Taille", "en-gb": "Size"}"#).unwrap();
        assert_eq!(labels[&loc("en-GB")], "Size");
        assert_eq!(serde_json::to_string(&labels).unwrap(), r#"{"en-GB":"Size","fr":"Taille"}"#);
    }

    #[test]
    fn the_fallback_chain_shortens_the_wanted_tag_then_ends_with_the_default() {
        assert_eq!(fallback_chain(&loc("fr-CA"), &loc("en")), locs(&["fr-CA", "fr", "en"]));
        assert_eq!(
            fallback_chain(&loc("zh-Hant-TW"), &loc("en-GB")),
            locs(&["zh-Hant-TW", "zh-Hant", "zh", "en-GB", "en"])
        );
        assert_eq!(fallback_chain(&loc("fr-CA"), &loc("fr")), locs(&["fr-CA", "fr"]));
        assert_eq!(fallback_chain(&loc("en"), &loc("en")), locs(&["en"]));
    }

    #[test]
    fn the_highest_weighted_available_locale_wins() {
        let available = locs(&["en", "fr", "de"]);
        let n = negotiate(Some("de;q=0.5, fr;q=0.9, en;q=0.1"), &available, &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("fr"), fallback_used: false });
        let n = negotiate(Some("es, de;q=0.8"), &available, &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("de"), fallback_used: false });
    }

    #[test]
    fn equal_weights_keep_the_clients_order() {
        let available = locs(&["en", "fr", "de"]);
        assert_eq!(negotiate(Some("de, fr"), &available, &loc("en")).locale, loc("de"));
        assert_eq!(negotiate(Some("fr;q=0.7, de;q=0.7"), &available, &loc("en")).locale, loc("fr"));
    }

    #[test]
    fn a_regional_tag_falls_back_to_its_language_before_the_default() {
        let available = locs(&["en", "fr"]);
        let n = negotiate(Some("fr-CA"), &available, &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("fr"), fallback_used: true });
        let n = negotiate(Some("zh-Hant-TW"), &locs(&["en", "zh-Hant"]), &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("zh-Hant"), fallback_used: true });
        // A lower-weighted exact match is still worth less than the client's first choice's language.
        let n = negotiate(Some("fr-CA, en;q=0.5"), &available, &loc("en"));
        assert_eq!(n.locale, loc("fr"));
    }

    #[test]
    fn a_shorter_tag_the_client_also_named_is_not_a_fallback() {
        let n = negotiate(Some("fr-CA, fr;q=0.9"), &locs(&["en", "fr"]), &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("fr"), fallback_used: false });
    }

    #[test]
    fn nothing_acceptable_gives_the_default_with_a_fallback() {
        let n = negotiate(Some("ja, ko;q=0.5"), &locs(&["en", "fr"]), &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("en"), fallback_used: true });
    }

    #[test]
    fn no_header_gives_the_default_without_a_fallback() {
        for header in [None, Some(""), Some("  ")] {
            let n = negotiate(header, &locs(&["en", "fr"]), &loc("en"));
            assert_eq!(n, Negotiated { locale: loc("en"), fallback_used: false }, "{header:?}");
        }
    }

    #[test]
    fn a_weight_of_zero_refuses_a_language_and_its_regional_forms() {
        let available = locs(&["en", "fr", "fr-CA", "de"]);
        let n = negotiate(Some("fr-CA, de;q=0.5, fr;q=0"), &available, &loc("en"));
        assert_eq!(n.locale, loc("de"));
        let n = negotiate(Some("*, en;q=0"), &available, &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("fr"), fallback_used: false });
    }

    #[test]
    fn a_wildcard_accepts_the_default() {
        let n = negotiate(Some("ja, *;q=0.1"), &locs(&["en", "fr"]), &loc("fr"));
        assert_eq!(n, Negotiated { locale: loc("fr"), fallback_used: false });
    }

    #[test]
    fn malformed_entries_are_ignored_and_the_rest_still_count() {
        let available = locs(&["en", "fr", "de"]);
        for header in [
            "fr;q=2, de",
            "fr;q=abc, de",
            "fr;q=0.5555, de;q=0.1",
            "fr;q, de",
            "12-34, de",
            "???, de",
            ",,, de ,",
            "fr;q=-1, de",
            "fr;q=1.5, de",
        ] {
            assert_eq!(negotiate(Some(header), &available, &loc("en")).locale, loc("de"), "{header}");
        }
        let n = negotiate(Some(";;;==,,"), &available, &loc("en"));
        assert_eq!(n, Negotiated { locale: loc("en"), fallback_used: true });
    }

    #[test]
    fn weights_are_read_as_rfc_9110_writes_them() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0."), Some(0));
        for bad in ["1.001", "2", "-0", ".5", "0.1234", "", "0,5", "1e0"] {
            assert_eq!(parse_quality(bad), None, "{bad}");
        }
    }

    #[test]
    fn tags_with_variants_or_extensions_count_for_their_leading_subtags() {
        let n = negotiate(Some("de-CH-1996, en;q=0.1"), &locs(&["en", "de-CH"]), &loc("en"));
        assert_eq!(n.locale, loc("de-CH"));
        let n = negotiate(Some("en-US-x-twain"), &locs(&["fr", "en"]), &loc("fr"));
        assert_eq!(n, Negotiated { locale: loc("en"), fallback_used: true });
    }

    #[test]
    fn a_long_header_is_read_only_up_to_its_first_entries() {
        let mut header = vec!["xx"; 40].join(", ");
        header.push_str(", fr");
        assert_eq!(negotiate(Some(&header), &locs(&["en", "fr"]), &loc("en")).locale, loc("en"));
    }

    #[test]
    fn negotiation_always_answers_a_locale_that_is_available_or_the_default() {
        // A cheap property check over many generated headers.
        let available = locs(&["en", "fr", "fr-CA", "de", "zh-Hant"]);
        let default = loc("en");
        let pieces =
            ["fr", "fr-CA", "FR-be", "de;q=0", "*", "zh-Hant-TW;q=0.3", "x;q=1", "en;q=0", "es;q=0.9", ";q=", "ja"];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut entries = Vec::new();
            for _ in 0..(seed % 5) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                entries.push(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let header = entries.join(",");
            let n = negotiate(Some(&header), &available, &default);
            assert!(available.contains(&n.locale) || n.locale == default, "{header} gave {}", n.locale);
            if !n.fallback_used && !header.contains('*') && !header.trim().is_empty() {
                assert!(header.to_lowercase().contains(&n.locale.as_str().to_lowercase()), "{header}");
            }
        }
    }
}
