//! The one place that decides whether a caller may touch a vendor's data.
//! Membership is read from the store on every call, so a removed member loses access at once.

use stockyard_domain::ids::VendorId;
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_domain::vendor::{Vendor, VendorStatus};

use crate::{ApiError, Principal};

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
            matches!(permission, VendorPermission::Read | VendorPermission::StockRead) && principal.reads_all_accounts()
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stockyard_domain::ids::UserId;
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
}
