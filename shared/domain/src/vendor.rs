//! Vendor organisations, their members and invitations to join them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{UserId, VendorId};
use crate::locale::Locale;
use crate::money::Currency;
use crate::roles::VendorRole;
use crate::values::Email;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    Active,
    /// Suspended by an administrator: its members may read but not change anything.
    Suspended,
}

impl VendorStatus {
    pub const ALL: [VendorStatus; 2] = [VendorStatus::Active, VendorStatus::Suspended];

    pub fn as_str(self) -> &'static str {
        match self {
            VendorStatus::Active => "active",
            VendorStatus::Suspended => "suspended",
        }
    }

    /// Parses a status the client sent, naming `field` when it is not one.
    pub fn parse(field: &str, raw: &str) -> Result<Self, crate::FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| crate::FieldError::new(field, "must be active or suspended"))
    }
}

/// A vendor organisation selling on the marketplace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: VendorStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub owner_id: UserId,
    /// The currency the vendor prices in first; prices in other currencies convert from it.
    /// Vendors made before it existed price in USD.
    #[serde(default = "Vendor::default_currency")]
    #[schema(value_type = String, example = "EUR")]
    pub base_currency: Currency,
    /// The locale new products are written in and the last fallback of shoppers' languages.
    #[serde(default = "Vendor::default_locale")]
    #[schema(value_type = String, example = "en")]
    pub default_locale: Locale,
    /// Where the vendor trades from (ISO 3166-1 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "GB")]
    pub country: Option<String>,
    /// What the vendor's invoices say of it as the seller of record (address, tax number); set by
    /// the owner. Until then its invoices name it by `name` and `country` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoicing: Option<InvoicingDetails>,
    /// A batch expiring within this many days (0–90) is near expiry: the stock views say
    /// `expiring`, the near-expiry report lists it, and the daily check alerts once per batch.
    /// Vendors made before it existed get 7.
    #[serde(default = "Vendor::default_near_expiry_days")]
    #[schema(minimum = 0, maximum = 90, example = 7)]
    pub near_expiry_days: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Vendor {
    /// The most a vendor's near-expiry window can be, in days.
    pub const MAX_NEAR_EXPIRY_DAYS: u32 = 90;

    pub fn default_near_expiry_days() -> u32 {
        crate::stock::DEFAULT_NEAR_EXPIRY_DAYS
    }

    /// A near-expiry window as the API takes it: a whole number of days from 0 to 90.
    pub fn parse_near_expiry_days(field: &str, days: i64) -> Result<u32, crate::FieldError> {
        u32::try_from(days).ok().filter(|d| *d <= Self::MAX_NEAR_EXPIRY_DAYS).ok_or_else(|| {
            crate::FieldError::new(
                field,
                format!("must be a whole number of days from 0 to {}", Self::MAX_NEAR_EXPIRY_DAYS),
            )
        })
    }

    pub fn default_currency() -> Currency {
        Currency::parse("base_currency", "USD").expect("USD is a currency")
    }

    pub fn default_locale() -> Locale {
        Locale::parse("default_locale", "en").expect("en is a locale")
    }
}

/// The vendor as the seller of record on its invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoicingDetails {
    /// The registered name, when it is not the vendor's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Green Valley Farm Ltd")]
    pub legal_name: Option<String>,
    #[schema(example = "1 Orchard Lane")]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    #[schema(example = "Ludlow")]
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[schema(example = "SY8 1AA")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB")]
    pub country: String,
    /// The tax (VAT) registration number, upper-case, without spaces, dots or dashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "GB123456789")]
    pub tax_id: Option<String>,
}

impl InvoicingDetails {
    /// The address as an invoice prints it: the lines, then postal code and city, then region.
    pub fn address_lines(&self) -> Vec<String> {
        let mut lines = vec![self.line1.clone()];
        lines.extend(self.line2.clone());
        lines.push(format!("{} {}", self.postal_code, self.city));
        lines.extend(self.region.clone());
        lines
    }
}

/// A tax (VAT) registration number as entered: 4 to 20 letters and digits once spaces, dots and
/// dashes are taken out; any case (stored upper-case). The country's own check digits are the
/// tax authority's to verify.
pub struct TaxId;

impl TaxId {
    /// The number upper-case without separators, or the error naming `field`; blank is none.
    pub fn parse(field: &str, raw: &str) -> Result<Option<String>, crate::FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() && raw.len() <= 30 {
            return Ok(None);
        }
        let bad =
            || crate::FieldError::new(field, "must be 4 to 20 letters and digits (spaces, dots and dashes allowed)");
        if raw.len() > 30 || !trimmed.chars().all(|c| c.is_ascii_alphanumeric() || " .-".contains(c)) {
            return Err(bad());
        }
        let compact: String =
            trimmed.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
        if !(4..=20).contains(&compact.len()) {
            return Err(bad());
        }
        Ok(Some(compact))
    }
}

impl utoipa::PartialSchema for TaxId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A tax (VAT) registration number: 4 to 20 letters and digits, spaces, dots and dashes allowed; blank is none."))
            .max_length(Some(30))
            .pattern(Some(r"^(?:\s*|[ .-]*(?:[A-Za-z0-9][ .-]*){4,20})$"))
            .examples([serde_json::json!("GB 123 4567 89")])
            .into()
    }
}

impl utoipa::ToSchema for TaxId {}

/// A person's membership of a vendor, with their role in it. Name and email are the user's,
/// kept in step with the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub vendor_id: VendorId,
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    pub role: VendorRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tax_number_is_kept_upper_case_without_separators_and_blank_is_none() {
        assert_eq!(TaxId::parse("tax_id", " gb 123.456-789 "), Ok(Some("GB123456789".into())));
        assert_eq!(TaxId::parse("tax_id", "  "), Ok(None));
        for bad in ["FR1", "FR 12 345 678 901 234 567 89", "DE/123456789", "ÉS12345678"] {
            assert_eq!(TaxId::parse("invoicing.tax_id", bad).unwrap_err().field, "invoicing.tax_id", "{bad}");
        }
    }

    #[test]
    fn an_invoices_address_reads_line_by_line_with_postal_code_before_city() {
        let details = InvoicingDetails {
            legal_name: None,
            line1: "3 rue des Tisserands".into(),
            line2: Some("Bâtiment B".into()),
            city: "Lyon".into(),
            region: None,
            postal_code: "69001".into(),
            country: "FR".into(),
            tax_id: None,
        };
        assert_eq!(details.address_lines(), ["3 rue des Tisserands", "Bâtiment B", "69001 Lyon"]);
    }
}
