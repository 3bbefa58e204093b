//! Request and response bodies of the identity API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{AddressId, InvitationId, UserId, VendorId};
use stockyard_domain::roles::{PlatformRole, VendorRole};
use stockyard_store::identity::{
    AddressRecord, InvitationRecord, InvitationStatus, MemberRecord, UserRecord, VendorRecord, VendorStatus,
};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 10 to 128 characters, at least 4 different ones, not the email address.
    #[schema(example = "correct horse battery")]
    pub password: String,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
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
    pub user: UserView,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub roles: Vec<PlatformRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_role: Option<VendorRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserRecord> for UserView {
    fn from(u: UserRecord) -> Self {
        Self {
            id: u.id,
            email: u.email.to_string(),
            name: u.name,
            phone: u.phone,
            roles: u.roles,
            vendor_id: u.vendor_id,
            vendor_role: u.vendor_role,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Fields to change; absent fields stay as they are, an empty `phone` removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    pub name: Option<String>,
    #[schema(example = "+441632960961")]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    #[schema(example = "Home")]
    pub label: Option<String>,
    #[schema(example = "Ada Lovelace")]
    pub recipient: String,
    #[schema(example = "12 St James's Square")]
    pub line1: String,
    pub line2: Option<String>,
    #[schema(example = "London")]
    pub city: String,
    pub region: Option<String>,
    #[schema(example = "SW1Y 4JH")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB")]
    pub country: String,
    pub phone: Option<String>,
    /// Make this the default address (the first address always is).
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub id: AddressId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub recipient: String,
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AddressRecord> for AddressView {
    fn from(a: AddressRecord) -> Self {
        Self {
            id: a.id,
            label: a.label,
            recipient: a.recipient,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            is_default: a.is_default,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVendorRequest {
    #[schema(example = "Green Valley Farm")]
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVendorRequest {
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VendorView {
    pub id: VendorId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: VendorStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<VendorRecord> for VendorView {
    fn from(v: VendorRecord) -> Self {
        Self {
            id: v.id,
            name: v.name,
            description: v.description,
            status: v.status,
            status_reason: v.status_reason,
            owner_id: v.owner_id,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberView {
    pub vendor_id: VendorId,
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: VendorRole,
    pub joined_at: DateTime<Utc>,
}

impl From<MemberRecord> for MemberView {
    fn from(m: MemberRecord) -> Self {
        Self {
            vendor_id: m.vendor_id,
            user_id: m.user_id,
            email: m.email.to_string(),
            name: m.name,
            role: m.role,
            joined_at: m.joined_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteStaffRequest {
    #[schema(example = "grace@example.com")]
    pub email: String,
    /// One of catalog_editor, inventory_manager, order_handler, viewer.
    #[schema(example = "inventory_manager")]
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaffRoleRequest {
    /// One of catalog_editor, inventory_manager, order_handler, viewer.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    pub id: InvitationId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub email: String,
    pub role: VendorRole,
    /// `expired` when a pending invitation passed its expiry.
    #[schema(example = "pending")]
    pub status: String,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
}

impl InvitationView {
    pub fn new(i: InvitationRecord, now: DateTime<Utc>) -> Self {
        let status = match i.status {
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Pending if i.expires_on <= now => "expired",
            InvitationStatus::Pending => "pending",
        };
        Self {
            id: i.id,
            vendor_id: i.vendor_id,
            vendor_name: i.vendor_name,
            email: i.email.to_string(),
            role: i.role,
            status: status.into(),
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
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVendorStatusRequest {
    /// `active` or `suspended`.
    pub status: String,
    /// Why; shown to the vendor.
    pub reason: Option<String>,
}
