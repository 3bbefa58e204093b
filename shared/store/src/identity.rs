//! Users, addresses, refresh tokens, vendors, memberships and invitations.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{AddressId, InvitationId, TokenFamilyId, UserId, VendorId};
use stockyard_domain::roles::{PlatformRole, VendorRole};
use stockyard_domain::values::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub password_hash: String,
    pub roles: Vec<PlatformRole>,
    /// The vendor this user owns or works for (at most one); absent for pure customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_role: Option<VendorRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Points an email address at its account; its existence makes the address taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEmailRecord {
    pub user_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressRecord {
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
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokenStatus {
    /// May be exchanged once for a new pair.
    Active,
    /// Already exchanged; presenting it again means it was stolen, and the family is revoked.
    Rotated,
}

/// A refresh token, stored only as a hash of its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub user_id: UserId,
    pub family_id: TokenFamilyId,
    pub status: RefreshTokenStatus,
    pub created_at: DateTime<Utc>,
    /// TTL: the token is refused after this and deleted soon after.
    pub expires_at: i64,
}

/// All refresh tokens rotated from one login; revoking it logs that session out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenFamilyRecord {
    pub user_id: UserId,
    pub revoked: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    Active,
    /// Suspended by an administrator: its members may read but not change anything.
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorRecord {
    pub id: VendorId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: VendorStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub vendor_id: VendorId,
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    pub role: VendorRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub id: InvitationId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub email: Email,
    pub role: VendorRole,
    pub status: InvitationStatus,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    /// After this a pending invitation can no longer be accepted.
    pub expires_on: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
}

/// Holds the place of a pending invitation so one email gets one pending invitation per vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationGuardRecord {
    pub invitation_id: InvitationId,
    /// TTL: an expired invitation frees the place.
    pub expires_at: i64,
}
