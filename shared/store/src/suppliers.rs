//! A vendor's suppliers, each with a code unique within the vendor.

use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{SupplierId, VendorId};
use stockyard_domain::purchasing::Supplier;

use crate::entity::Entity;
use crate::table::Expr;
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for Supplier {
    type Id = (VendorId, SupplierId);
    const NAME: &'static str = "supplier";
    fn key((vendor, id): &Self::Id) -> keys::Key {
        keys::supplier(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::supplier(self.vendor_id, self.id)
    }
}

/// Reserves a supplier code within its vendor and names the supplier that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplierCodeRecord {
    pub vendor_id: VendorId,
    pub code: String,
    pub supplier_id: SupplierId,
}

impl Entity for SupplierCodeRecord {
    type Id = (VendorId, String);
    const NAME: &'static str = "supplier code";
    fn key((vendor, code): &Self::Id) -> keys::Key {
        keys::supplier_code(*vendor, code)
    }
    fn key_of(&self) -> keys::Key {
        keys::supplier_code(self.vendor_id, &self.code)
    }
}

/// The step that fails when the vendor already has a supplier with the code.
pub const CODE_TAKEN: &str = "supplier_code";
/// The step of [`replace`] that fails when the supplier changed since it was read.
pub const SUPPLIER_CHANGED: &str = "supplier";

fn claim(supplier: &Supplier) -> SupplierCodeRecord {
    SupplierCodeRecord { vendor_id: supplier.vendor_id, code: supplier.code.clone(), supplier_id: supplier.id }
}

/// Adds a supplier and reserves its code.
pub fn create(table: &Table, supplier: &Supplier) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.put(CODE_TAKEN, &claim(supplier), Some(Expr::not_exists()))?;
    tx.put("supplier", supplier, Some(Expr::not_exists()))?;
    Ok(tx)
}

/// Writes `after` over the supplier as it was read (`before`, step [`SUPPLIER_CHANGED`] when it
/// moved on meanwhile); a new code is claimed (step [`CODE_TAKEN`]) and the old one released.
pub fn replace(table: &Table, before: &Supplier, after: &Supplier) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.put(SUPPLIER_CHANGED, after, Some(Expr::new("version = :read").val(":read", &before.version)))?;
    if before.code != after.code {
        tx.put(CODE_TAKEN, &claim(after), Some(Expr::not_exists()))?;
        tx.delete::<SupplierCodeRecord>(
            "old_code",
            &(before.vendor_id, before.code.clone()),
            Some(Expr::new("supplier_id = :me").val(":me", &before.id)),
        )?;
    }
    Ok(tx)
}

pub async fn get(table: &Table, vendor: VendorId, id: SupplierId) -> Result<Option<Supplier>, StoreError> {
    table.get::<Supplier>(&(vendor, id)).await
}

/// The vendor's supplier with this code (upper-case), if any.
pub async fn by_code(table: &Table, vendor: VendorId, code: &str) -> Result<Option<Supplier>, StoreError> {
    let Some(claim) = table.get::<SupplierCodeRecord>(&(vendor, code.to_string())).await? else { return Ok(None) };
    get(table, vendor, claim.supplier_id).await
}

/// The vendor's suppliers, oldest first unless the page asks for newest first.
pub async fn list(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<Supplier>, StoreError> {
    table.query(&keys::suppliers_of(vendor), page).await
}
