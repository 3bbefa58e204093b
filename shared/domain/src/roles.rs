//! Who may do what. Platform roles belong to a user; vendor roles to a user's membership of one vendor.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role on the platform as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlatformRole {
    /// Every account: shops, keeps a cart and an address book.
    Customer,
    /// Runs the platform: users, vendors, suspensions.
    Admin,
    /// Manages banners, landing pages and blog posts.
    ContentManager,
    /// Picks, packs and ships.
    WarehouseStaff,
    /// Reads accounts and orders to help customers; changes nothing.
    Support,
}

impl PlatformRole {
    pub const ALL: [PlatformRole; 5] = [
        PlatformRole::Customer,
        PlatformRole::Admin,
        PlatformRole::ContentManager,
        PlatformRole::WarehouseStaff,
        PlatformRole::Support,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlatformRole::Customer => "customer",
            PlatformRole::Admin => "admin",
            PlatformRole::ContentManager => "content_manager",
            PlatformRole::WarehouseStaff => "warehouse_staff",
            PlatformRole::Support => "support",
        }
    }

    /// May read every user and vendor (admin and support).
    pub fn reads_all_accounts(self) -> bool {
        matches!(self, PlatformRole::Admin | PlatformRole::Support)
    }

    /// Picks, packs and ships for every vendor (warehouse staff): sees each vendor's pick lists
    /// and parcels, with no customer detail beyond where a parcel goes.
    pub fn fulfils_for_all_vendors(self) -> bool {
        matches!(self, PlatformRole::WarehouseStaff)
    }
}

impl fmt::Display for PlatformRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PlatformRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("must be one of {}", Self::ALL.map(|r| r.as_str()).join(", ")))
    }
}

/// A member's role in one vendor organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorRole {
    /// Created the vendor; may do everything, including managing staff.
    Owner,
    /// Edits products, prices and translations.
    CatalogEditor,
    /// Manages stock, locations, batches and purchase orders.
    InventoryManager,
    /// Handles the vendor's orders, returns and shipments.
    OrderHandler,
    /// Reads the vendor's data; changes nothing.
    Viewer,
}

/// One thing a vendor member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorPermission {
    /// See the vendor, its staff and its locations.
    Read,
    /// See who was invited and whether they accepted (owner only; changes nothing).
    ReadInvitations,
    /// See the vendor's API keys (owner only; changes nothing). Issuing and revoking them is `Manage`.
    ReadApiKeys,
    /// Change the vendor's profile, invite staff, change or remove their roles.
    Manage,
    /// Create and change products.
    CatalogWrite,
    /// See stock levels, batches, movements and transfers (not catalog editors).
    StockRead,
    /// Change stock, locations, batches and purchase orders.
    InventoryWrite,
    /// Handle orders, returns and shipments.
    OrdersWrite,
    /// See what waits to be picked at the vendor's locations and the parcels that left (the owner,
    /// order handlers, and the platform's warehouse staff for every vendor).
    FulfilmentRead,
    /// Pack and ship: record a parcel, which takes its units out of on hand (as `FulfilmentRead`).
    Fulfil,
    /// See sales history, demand forecasts and replenishment suggestions (commercially sensitive:
    /// the owner, inventory managers and viewers; not catalog editors, order handlers or platform staff).
    DemandRead,
    /// See the vendor's webhook endpoints and their deliveries (the owner and inventory managers;
    /// the owner manages them with `Manage`).
    WebhooksRead,
}

impl VendorPermission {
    /// Whether using this permission changes the vendor's data (refused while it is suspended).
    pub fn changes_data(self) -> bool {
        !matches!(
            self,
            VendorPermission::Read
                | VendorPermission::ReadInvitations
                | VendorPermission::ReadApiKeys
                | VendorPermission::DemandRead
                | VendorPermission::StockRead
                | VendorPermission::WebhooksRead
                | VendorPermission::FulfilmentRead
        )
    }
}

impl VendorRole {
    /// The roles an owner can give to staff (ownership is never handed out by invitation).
    pub const STAFF: [VendorRole; 4] =
        [VendorRole::CatalogEditor, VendorRole::InventoryManager, VendorRole::OrderHandler, VendorRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            VendorRole::Owner => "owner",
            VendorRole::CatalogEditor => "catalog_editor",
            VendorRole::InventoryManager => "inventory_manager",
            VendorRole::OrderHandler => "order_handler",
            VendorRole::Viewer => "viewer",
        }
    }

    /// Parses a role an owner may give to staff, naming `field` otherwise.
    pub fn parse_staff(field: &str, raw: &str) -> Result<Self, crate::FieldError> {
        Self::STAFF.into_iter().find(|r| r.as_str() == raw).ok_or_else(|| {
            crate::FieldError::new(field, format!("must be one of {}", Self::STAFF.map(|r| r.as_str()).join(", ")))
        })
    }

    /// Everything this role may do.
    pub fn permissions(self) -> &'static [VendorPermission] {
        use VendorPermission::*;
        match self {
            VendorRole::Owner => &[
                Read,
                ReadInvitations,
                ReadApiKeys,
                Manage,
                CatalogWrite,
                StockRead,
                InventoryWrite,
                OrdersWrite,
                FulfilmentRead,
                Fulfil,
                DemandRead,
                WebhooksRead,
            ],
            VendorRole::CatalogEditor => &[Read, CatalogWrite],
            VendorRole::InventoryManager => &[Read, StockRead, InventoryWrite, DemandRead, WebhooksRead],
            VendorRole::OrderHandler => &[Read, StockRead, OrdersWrite, FulfilmentRead, Fulfil],
            VendorRole::Viewer => &[Read, StockRead, DemandRead],
        }
    }

    pub fn allows(self, permission: VendorPermission) -> bool {
        self.permissions().contains(&permission)
    }
}

/// The roles an owner can give to staff, as the API documents them (see [`VendorRole::parse_staff`]).
pub struct StaffRole;

impl utoipa::PartialSchema for StaffRole {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("A role an owner can give to staff (ownership is never handed out)."))
            .enum_values(Some(VendorRole::STAFF.map(VendorRole::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for StaffRole {}

impl fmt::Display for VendorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VendorPermission::*;

    #[test]
    fn only_the_owner_manages_the_vendor_and_its_staff() {
        assert!(VendorRole::Owner.allows(Manage) && VendorRole::Owner.allows(ReadInvitations));
        assert!(VendorRole::Owner.allows(ReadApiKeys));
        for role in VendorRole::STAFF {
            assert!(!role.allows(Manage), "{role}");
            assert!(!role.allows(ReadInvitations), "{role}");
            assert!(!role.allows(ReadApiKeys), "{role}");
        }
    }

    #[test]
    fn only_reading_permissions_are_allowed_to_change_nothing() {
        assert!(!Read.changes_data() && !ReadInvitations.changes_data() && !DemandRead.changes_data());
        assert!(!ReadApiKeys.changes_data());
        assert!([Manage, CatalogWrite, InventoryWrite, OrdersWrite].iter().all(|p| p.changes_data()));
    }

    #[test]
    fn every_role_can_read_and_each_staff_role_writes_only_its_own_area() {
        let writes = |r: VendorRole| {
            [CatalogWrite, InventoryWrite, OrdersWrite].into_iter().filter(|p| r.allows(*p)).collect::<Vec<_>>()
        };
        assert!(VendorRole::STAFF.iter().all(|r| r.allows(Read)));
        assert_eq!(writes(VendorRole::CatalogEditor), vec![CatalogWrite]);
        assert_eq!(writes(VendorRole::InventoryManager), vec![InventoryWrite]);
        assert_eq!(writes(VendorRole::OrderHandler), vec![OrdersWrite]);
        assert!(writes(VendorRole::Viewer).is_empty());
    }

    #[test]
    fn demand_data_is_read_by_the_owner_inventory_managers_and_viewers_only() {
        let readers: Vec<VendorRole> =
            [VendorRole::Owner].into_iter().chain(VendorRole::STAFF).filter(|r| r.allows(DemandRead)).collect();
        assert_eq!(readers, vec![VendorRole::Owner, VendorRole::InventoryManager, VendorRole::Viewer]);
        assert!(!VendorRole::Viewer.allows(InventoryWrite), "viewers read forecasts but never change demand data");
    }

    #[test]
    fn stock_is_read_by_everyone_but_catalog_editors() {
        let readers: Vec<VendorRole> =
            [VendorRole::Owner].into_iter().chain(VendorRole::STAFF).filter(|r| r.allows(StockRead)).collect();
        assert_eq!(
            readers,
            vec![VendorRole::Owner, VendorRole::InventoryManager, VendorRole::OrderHandler, VendorRole::Viewer]
        );
        assert!(!StockRead.changes_data());
    }

    #[test]
    fn owner_cannot_be_given_by_invitation() {
        assert!(VendorRole::parse_staff("role", "owner").is_err());
        assert_eq!(VendorRole::parse_staff("role", "viewer"), Ok(VendorRole::Viewer));
    }

    #[test]
    fn platform_roles_parse_from_their_names() {
        for role in PlatformRole::ALL {
            assert_eq!(role.as_str().parse::<PlatformRole>(), Ok(role));
        }
        assert!("root".parse::<PlatformRole>().is_err());
    }
}
