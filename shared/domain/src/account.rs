//! A person's account as the API shows it (the password hash stays in the store).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{UserId, VendorId};
use crate::roles::{PlatformRole, VendorRole};
use crate::values::Email;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    /// Whether the owner of the account has proven they read `email` (by the link it was sent).
    /// Unverified accounts can browse and buy but cannot create a vendor.
    #[serde(default)]
    pub email_verified: bool,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub roles: Vec<PlatformRole>,
    /// The vendor this user owns or works for (at most one); absent for pure customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_role: Option<VendorRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
