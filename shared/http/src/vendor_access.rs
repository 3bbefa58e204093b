//! The one place that decides whether a caller may touch a vendor's data.
//! Membership is read from the store on every call, so a removed member loses access at once;
//! so is an API key, so a revoked key is refused at once.

use stockyard_domain::api_key::{ApiKey, KeyPermission, KeyRefusal, KeyTarget};
use stockyard_domain::ids::VendorId;
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_domain::vendor::{Vendor, VendorStatus};

use crate::{ApiError, Principal};

/// What a vendor route needs of its caller: the permission a member needs and, on the few routes
/// devices and integrations call, the permission an API key needs with what the request touches
/// (its channel or location). Every other route takes no key: `VendorPermission` converts into a
/// need without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    member: VendorPermission,
    api_key: Option<(KeyPermission, KeyTarget)>,
}

impl Need {
    /// Members with `member`, or an API key with `key` whose scope covers `target`.
    pub fn or_api_key(member: VendorPermission, key: KeyPermission, target: KeyTarget) -> Self {
        Self { member, api_key: Some((key, target)) }
    }

    pub fn member(&self) -> VendorPermission {
        self.member
    }

    pub fn api_key(&self) -> Option<(KeyPermission, KeyTarget)> {
        self.api_key
    }
}

impl From<VendorPermission> for Need {
    fn from(member: VendorPermission) -> Self {
        Self { member, api_key: None }
    }
}

/// A vendor the caller may act on, and the caller's role in it (none for platform staff).
#[derive(Debug, Clone)]
pub struct VendorAccess {
    pub vendor: Vendor,
    pub role: Option<VendorRole>,
}

impl VendorAccess {
    pub fn id(&self) -> VendorId {
        self.vendor.id
    }
}

/// The rule, without I/O: members act within their role; admin and support may read any vendor;
/// a suspended vendor's members may only read.
pub fn decide(
    principal: &Principal,
    vendor: &Vendor,
    role: Option<VendorRole>,
    permission: VendorPermission,
) -> Result<(), ApiError> {
    let allowed = match role {
        Some(role) => role.allows(permission),
        // Invitations hold outsiders' email addresses: only the vendor's owner sees them.
        None => {
            let reads = matches!(
                permission,
                VendorPermission::Read | VendorPermission::StockRead | VendorPermission::FulfilmentRead
            );
            let fulfils = matches!(permission, VendorPermission::FulfilmentRead | VendorPermission::Fulfil);
            (reads && principal.reads_all_accounts())
                || (fulfils && principal.roles.iter().any(|r| r.fulfils_for_all_vendors()))
        }
    };
    if !allowed {
        return Err(ApiError::Forbidden(match role {
            Some(role) => format!("your role in this vendor ({role}) does not allow this"),
            None => "you are not a member of this vendor".into(),
        }));
    }
    if vendor.status == VendorStatus::Suspended && permission.changes_data() {
        return Err(ApiError::ForbiddenBecause {
            code: "vendor_suspended",
            message: "this vendor is suspended; its data can be read but not changed".into(),
        });
    }
    Ok(())
}

/// The rule for an API key (found, its secret right and not revoked), without I/O: a key acts on
/// its own vendor only (403 before anything says whether the path's vendor exists), with a
/// permission it holds, within its scope; a suspended vendor's keys change nothing.
pub fn decide_key(
    key: &ApiKey,
    vendor_id: VendorId,
    vendor: Option<&Vendor>,
    permission: KeyPermission,
    target: KeyTarget,
) -> Result<(), ApiError> {
    key.allows(vendor_id, permission, target)
        .map_err(|refusal: KeyRefusal| ApiError::Forbidden(refusal.to_string()))?;
    if vendor.is_some_and(|v| v.status == VendorStatus::Suspended) {
        return Err(ApiError::ForbiddenBecause {
            code: "vendor_suspended",
            message: "this vendor is suspended; its data can be read but not changed".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stockyard_domain::api_key::{ApiKeyScope, ApiKeyStatus};
    use stockyard_domain::ids::{ChannelId, LocationId, UserId};
    use stockyard_domain::roles::PlatformRole;
    use stockyard_domain::values::Email;

    fn vendor(status: VendorStatus) -> Vendor {
        Vendor {
            id: VendorId::generate(),
            name: "Green Valley".into(),
            description: None,
            status,
            status_reason: None,
            owner_id: UserId::generate(),
            base_currency: Vendor::default_currency(),
            default_locale: Vendor::default_locale(),
            invoicing: None,
            near_expiry_days: Vendor::default_near_expiry_days(),
            country: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn caller(roles: &[PlatformRole]) -> Principal {
        Principal {
            user_id: UserId::generate(),
            email: Email::parse("e", "x@y.co").unwrap(),
            roles: roles.to_vec(),
            session: stockyard_domain::ids::TokenFamilyId::generate(),
            credentials_version: 0,
        }
    }

    #[test]
    fn a_stranger_may_do_nothing_with_a_vendor() {
        let v = vendor(VendorStatus::Active);
        let customer = caller(&[PlatformRole::Customer]);
        assert!(decide(&customer, &v, None, VendorPermission::Read).is_err());
        let warehouse = caller(&[PlatformRole::Customer, PlatformRole::WarehouseStaff]);
        assert!(decide(&warehouse, &v, None, VendorPermission::Read).is_err());
    }

    #[test]
    fn admin_and_support_may_read_but_not_change_a_vendor_they_do_not_belong_to() {
        let v = vendor(VendorStatus::Active);
        for role in [PlatformRole::Admin, PlatformRole::Support] {
            let platform = caller(&[PlatformRole::Customer, role]);
            assert!(decide(&platform, &v, None, VendorPermission::Read).is_ok());
            assert!(decide(&platform, &v, None, VendorPermission::ReadInvitations).is_err());
            assert!(decide(&platform, &v, None, VendorPermission::InventoryWrite).is_err());
        }
    }

    #[test]
    fn members_of_a_suspended_vendor_may_only_read() {
        let v = vendor(VendorStatus::Suspended);
        let owner = caller(&[PlatformRole::Customer]);
        assert!(decide(&owner, &v, Some(VendorRole::Owner), VendorPermission::Read).is_ok());
        assert!(decide(&owner, &v, Some(VendorRole::Owner), VendorPermission::ReadInvitations).is_ok());
        let err = decide(&owner, &v, Some(VendorRole::Owner), VendorPermission::Manage).unwrap_err();
        assert_eq!(err.code(), "vendor_suspended");
    }

    #[test]
    fn staff_act_within_their_role() {
        let v = vendor(VendorStatus::Active);
        let staff = caller(&[PlatformRole::Customer]);
        assert!(decide(&staff, &v, Some(VendorRole::InventoryManager), VendorPermission::InventoryWrite).is_ok());
        assert!(decide(&staff, &v, Some(VendorRole::CatalogEditor), VendorPermission::InventoryWrite).is_err());
        assert!(decide(&staff, &v, Some(VendorRole::Viewer), VendorPermission::Manage).is_err());
    }

    fn key(vendor: VendorId, scope: ApiKeyScope, permissions: &[KeyPermission]) -> ApiKey {
        ApiKey {
            id: stockyard_domain::ids::ApiKeyId::generate(),
            vendor_id: vendor,
            name: "Till".into(),
            scope,
            permissions: permissions.to_vec(),
            hint: "syk_…".into(),
            status: ApiKeyStatus::Active,
            created_at: Utc::now(),
            created_by: UserId::generate(),
            revoked_at: None,
            revoked_by: None,
        }
    }

    #[test]
    fn a_key_acts_on_its_own_vendor_within_its_scope_and_never_while_the_vendor_is_suspended() {
        let v = vendor(VendorStatus::Active);
        let channel = ChannelId::generate();
        let till = key(v.id, ApiKeyScope::Channel { channel_id: channel }, &[KeyPermission::ChannelSales]);
        let sales = KeyPermission::ChannelSales;
        assert!(decide_key(&till, v.id, Some(&v), sales, KeyTarget::Channel(channel)).is_ok());
        let elsewhere = decide_key(&till, v.id, Some(&v), sales, KeyTarget::Channel(ChannelId::generate()));
        assert_eq!(elsewhere.unwrap_err().code(), "forbidden");
        let other = vendor(VendorStatus::Active);
        let foreign = decide_key(&till, other.id, None, sales, KeyTarget::Channel(channel)).unwrap_err();
        assert_eq!(
            (foreign.code(), foreign.to_string().as_str()),
            ("forbidden", "this API key belongs to another vendor")
        );
        let suspended = Vendor { status: VendorStatus::Suspended, ..v.clone() };
        let err = decide_key(&till, v.id, Some(&suspended), sales, KeyTarget::Channel(channel)).unwrap_err();
        assert_eq!(err.code(), "vendor_suspended");
    }

    #[test]
    fn a_need_without_a_key_permission_is_what_a_member_permission_converts_into() {
        let need: Need = VendorPermission::Manage.into();
        assert_eq!((need.member(), need.api_key()), (VendorPermission::Manage, None));
        let target = KeyTarget::Location(LocationId::generate());
        let scans = Need::or_api_key(VendorPermission::InventoryWrite, KeyPermission::ScanCount, target);
        assert_eq!(scans.api_key(), Some((KeyPermission::ScanCount, target)));
    }
}
