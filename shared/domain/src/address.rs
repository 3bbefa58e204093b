//! Postal addresses, validated the same way wherever they are entered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{AddressId, UserId};
use crate::values::{AddressLine, Label, Name, OptionalAddressLine, PostalCode, Region, optional_phone};

/// The most addresses one address book holds.
pub const MAX_ADDRESSES: u32 = 20;

/// An address in a user's address book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub id: AddressId,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub recipient: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Exactly one address of a non-empty book is the default.
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Address {
    /// A new or replaced address of `user` from validated fields.
    pub fn new(
        id: AddressId,
        user_id: UserId,
        a: PostalAddress,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            user_id,
            label: a.label,
            recipient: a.recipient,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            is_default: false,
            created_at,
            updated_at: now,
        }
    }
}

/// ISO 3166-1 alpha-2 country codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL \
GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR \
LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK \
PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR \
TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// A country code as [`country`] reads it: any case, surrounding white space trimmed.
pub struct CountryCode;

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let either_case =
            |code: &str| -> String { code.chars().map(|c| format!("[{c}{}]", c.to_ascii_lowercase())).collect() };
        let codes: Vec<String> = COUNTRIES.split_whitespace().map(either_case).collect();
        let space = crate::values::text_pattern_space();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("ISO 3166-1 alpha-2 country code such as GB (any case; stored upper-case)."))
            .pattern(Some(format!("^{space}(?:{}){space}$", codes.join("|"))))
            .examples([serde_json::json!("GB")])
            .into()
    }
}

impl utoipa::ToSchema for CountryCode {}

/// Upper-cases and checks a country code.
pub fn country(field: &str, raw: &str) -> Result<String, FieldError> {
    let code = raw.trim().to_uppercase();
    if code.len() == 2 && COUNTRIES.split_whitespace().any(|c| c == code) {
        Ok(code)
    } else {
        Err(FieldError::new(field, "must be an ISO 3166-1 alpha-2 country code such as GB or US"))
    }
}

/// A postal address as entered by a person, before it gets an id (and as an order keeps it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PostalAddress {
    pub label: Option<String>,
    pub recipient: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
}

/// The raw fields of an address, as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct AddressInput<'a> {
    pub label: Option<&'a str>,
    pub recipient: &'a str,
    pub line1: &'a str,
    pub line2: Option<&'a str>,
    pub city: &'a str,
    pub region: Option<&'a str>,
    pub postal_code: &'a str,
    pub country: &'a str,
    pub phone: Option<&'a str>,
}

fn optional(
    raw: Option<&str>,
    check: impl FnOnce(&str) -> Result<Option<String>, FieldError>,
) -> Result<Option<String>, FieldError> {
    raw.map(check).transpose().map(Option::flatten)
}

impl PostalAddress {
    /// Validates every field; the first invalid one is reported, named as the client named it.
    pub fn parse(input: AddressInput<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            label: optional(input.label, |v| Label::parse("label", v))?,
            recipient: Name::parse("recipient", input.recipient)?,
            line1: AddressLine::parse("line1", input.line1)?,
            line2: optional(input.line2, |v| OptionalAddressLine::parse("line2", v))?,
            city: Name::parse("city", input.city)?,
            region: optional(input.region, |v| Region::parse("region", v))?,
            postal_code: PostalCode::parse("postal_code", input.postal_code)?,
            country: country("country", input.country)?,
            phone: optional(input.phone, |v| optional_phone("phone", v))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> AddressInput<'static> {
        AddressInput {
            recipient: "Ada Lovelace",
            line1: "12 St James's Square",
            city: "London",
            postal_code: "SW1Y 4JH",
            country: "gb",
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_address_is_accepted_with_its_country_upper_cased() {
        let address = PostalAddress::parse(valid()).unwrap();
        assert_eq!(address.country, "GB");
        assert_eq!(address.line2, None);
    }

    #[test]
    fn an_unknown_country_is_rejected_naming_the_country_field() {
        let err = PostalAddress::parse(AddressInput { country: "XX", ..valid() }).unwrap_err();
        assert_eq!(err.field, "country");
    }

    #[test]
    fn a_missing_city_is_rejected_naming_the_city_field() {
        let err = PostalAddress::parse(AddressInput { city: " ", ..valid() }).unwrap_err();
        assert_eq!(err.field, "city");
    }

    #[test]
    fn blank_optional_fields_are_dropped() {
        let address = PostalAddress::parse(AddressInput { line2: Some("  "), phone: Some(""), ..valid() }).unwrap();
        assert_eq!((address.line2, address.phone), (None, None));
    }
}
