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
