//! Request and response bodies of the identity API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::account::User;
use stockyard_domain::address::CountryCode;
use stockyard_domain::ids::{InvitationId, UserId, VendorId};
use stockyard_domain::roles::{PlatformRole, StaffRole, VendorRole};
use stockyard_domain::values::{
    AddressLine, Description, Email, Label, Name, OptionalAddressLine, Password, Phone, PostalCode, Reason, Region,
    VendorName,
};
use stockyard_domain::vendor::VendorStatus;
use stockyard_store::vendors::{InvitationRecord, InvitationState};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(value_type = Email)]
    pub email: String,
    #[schema(value_type = Password)]
    pub password: String,
    #[schema(value_type = Name, example = "Ada Lovelace")]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(value_type = Email)]
    pub email: String,
    #[schema(min_length = 1, format = Password)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token a sign-in or a refresh answered (not blank).
    #[schema(pattern = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]")]
    pub refresh_token: String,
}

/// A signed-in session: a short-lived access token and a single-use refresh token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
    pub user: User,
}

/// A new access token for the session the request was made in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccessTokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: User,
}

/// The token of a link from an account email (the `token` query parameter of the link).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordRequest {
    /// The token of the reset link.
    pub token: String,
    /// The new password: 10 to 128 characters, at least 4 different ones, not the email address.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// The new password: 10 to 128 characters, at least 4 different ones, not the email address,
    /// not the current password.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The new address.
    #[schema(example = "ada.lovelace@example.com")]
    pub email: String,
    /// The current password.
    pub password: String,
}

/// What happens next, in words.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    pub message: String,
}

/// Fields to change; absent fields stay as they are, an empty `phone` removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    #[schema(value_type = Option<Name>)]
    pub name: Option<String>,
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    #[schema(value_type = Option<Label>, example = "Home")]
    pub label: Option<String>,
    #[schema(value_type = Name, example = "Ada Lovelace")]
    pub recipient: String,
    #[schema(value_type = AddressLine, example = "12 St James's Square")]
    pub line1: String,
    #[schema(value_type = Option<OptionalAddressLine>)]
    pub line2: Option<String>,
    #[schema(value_type = Name, example = "London")]
    pub city: String,
    #[schema(value_type = Option<Region>)]
    pub region: Option<String>,
    #[schema(value_type = PostalCode, example = "SW1Y 4JH")]
    pub postal_code: String,
    #[schema(value_type = CountryCode)]
    pub country: String,
    #[schema(value_type = Option<Phone>)]
    pub phone: Option<String>,
    /// Make this the default address (the first address always is).
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVendorRequest {
    #[schema(value_type = VendorName, example = "Green Valley Farm")]
    pub name: String,
    #[schema(value_type = Option<Description>)]
    pub description: Option<String>,
    /// ISO 4217; USD when absent.
    #[schema(value_type = Option<stockyard_domain::money::Currency>)]
    pub base_currency: Option<String>,
    /// BCP 47; `en` when absent.
    #[schema(value_type = Option<stockyard_domain::locale::Locale>)]
    pub default_locale: Option<String>,
    #[schema(value_type = Option<stockyard_domain::address::CountryCode>)]
    pub country: Option<String>,
    /// Days (0–90) within which a batch counts as near expiry; 7 when absent.
    #[schema(minimum = 0, maximum = 90)]
    pub near_expiry_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVendorRequest {
    #[schema(value_type = Option<VendorName>)]
    pub name: Option<String>,
    /// Blank removes the description.
    #[schema(value_type = Option<Description>)]
    pub description: Option<String>,
    #[schema(value_type = Option<stockyard_domain::money::Currency>)]
    pub base_currency: Option<String>,
    #[schema(value_type = Option<stockyard_domain::locale::Locale>)]
    pub default_locale: Option<String>,
    /// `null` removes the country.
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<stockyard_domain::address::CountryCode>)]
    pub country: Option<Option<String>>,
    /// Days (0–90) within which a batch counts as near expiry.
    #[schema(minimum = 0, maximum = 90)]
    pub near_expiry_days: Option<i64>,
    /// The seller details the vendor's invoices print (the whole of them); `null` removes them.
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    pub invoicing: Option<Option<InvoicingRequest>>,
}

/// The vendor as the seller of record on its invoices: its registered address and tax number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoicingRequest {
    /// The registered name, when it is not the vendor's name.
    #[schema(value_type = Option<Name>, example = "Green Valley Farm Ltd")]
    pub legal_name: Option<String>,
    #[schema(value_type = AddressLine, example = "1 Orchard Lane")]
    pub line1: String,
    #[schema(value_type = Option<OptionalAddressLine>)]
    pub line2: Option<String>,
    #[schema(value_type = Name, example = "Ludlow")]
    pub city: String,
    #[schema(value_type = Option<Region>)]
    pub region: Option<String>,
    #[schema(value_type = PostalCode, example = "SY8 1AA")]
    pub postal_code: String,
    #[schema(value_type = CountryCode)]
    pub country: String,
    #[schema(value_type = Option<stockyard_domain::vendor::TaxId>)]
    pub tax_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteStaffRequest {
    #[schema(value_type = Email, example = "grace@example.com")]
    pub email: String,
    #[schema(value_type = StaffRole, example = "inventory_manager")]
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaffRoleRequest {
    #[schema(value_type = StaffRole)]
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: InvitationId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub email: Email,
    pub role: VendorRole,
    /// `expired` when a pending invitation passed its expiry.
    pub status: InvitationState,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
}

impl InvitationView {
    pub fn new(i: InvitationRecord, now: DateTime<Utc>) -> Self {
        let status = i.state(now);
        Self {
            id: i.id,
            vendor_id: i.vendor_id,
            vendor_name: i.vendor_name,
            email: i.email,
            role: i.role,
            status,
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_on,
            accepted_at: i.accepted_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetUserRolesRequest {
    /// The platform roles the user should hold; `customer` is always kept.
    #[schema(value_type = Vec<PlatformRole>)]
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVendorStatusRequest {
    #[schema(value_type = VendorStatus)]
    pub status: String,
    /// Why; shown to the vendor.
    #[schema(value_type = Option<Reason>)]
    pub reason: Option<String>,
}
