//! A vendor's shipping (zones, services, ship-from calendar): one item in the vendor's partition,
//! replaced whole under a version, so two changes made at once never silently lose one another.

use stockyard_domain::ids::VendorId;
use stockyard_domain::shipping::VendorShipping;

use crate::entity::Entity;
use crate::table::Expr;
use crate::{StoreError, Table, keys};

impl Entity for VendorShipping {
    type Id = VendorId;
    const NAME: &'static str = "vendor shipping";
    fn key(vendor: &VendorId) -> keys::Key {
        keys::vendor_shipping(*vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::vendor_shipping(self.vendor_id)
    }
}

/// The vendor's shipping, if it set any (strongly consistent).
pub async fn get(table: &Table, vendor: VendorId) -> Result<Option<VendorShipping>, StoreError> {
    table.get::<VendorShipping>(&vendor).await
}

/// Writes `after` over the vendor's shipping as it was read: at `read_version`, or absent (`None`).
/// [`StoreError::ConditionFailed`] when it changed (or appeared) meanwhile: nothing is written.
pub async fn replace(table: &Table, read_version: Option<u64>, after: &VendorShipping) -> Result<(), StoreError> {
    let unchanged = match read_version {
        None => Expr::not_exists(),
        Some(read) => Expr::new("#version = :read").name("#version", "version").val(":read", &read),
    };
    table.put(after, Some(unchanged)).await
}
