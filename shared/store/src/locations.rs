//! A vendor's stock locations: warehouses and stores, each with a code unique within the vendor.

use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, VendorId};
use stockyard_domain::location::Location;

use crate::entity::Entity;
use crate::table::Expr;
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for Location {
    type Id = (VendorId, LocationId);
    const NAME: &'static str = "location";
    fn key((vendor, id): &(VendorId, LocationId)) -> keys::Key {
        keys::location(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::location(self.vendor_id, self.id)
    }
}

/// Reserves a location code within its vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationCodeRecord {
    pub vendor_id: VendorId,
    pub code: String,
    pub location_id: LocationId,
}

impl Entity for LocationCodeRecord {
    type Id = (VendorId, String);
    const NAME: &'static str = "location code";
    fn key((vendor, code): &(VendorId, String)) -> keys::Key {
        keys::location_code(*vendor, code)
    }
    fn key_of(&self) -> keys::Key {
        keys::location_code(self.vendor_id, &self.code)
    }
}

/// The step of [`create`] that fails when the vendor already has a location with the code.
pub const CODE_TAKEN: &str = "location_code";

/// Adds a location and reserves its code.
pub fn create(table: &Table, location: &Location) -> Result<Tx, StoreError> {
    let code =
        LocationCodeRecord { vendor_id: location.vendor_id, code: location.code.clone(), location_id: location.id };
    let mut tx = table.tx();
    tx.put(CODE_TAKEN, &code, Some(Expr::not_exists()))?;
    tx.put("location", location, Some(Expr::not_exists()))?;
    Ok(tx)
}

pub async fn get(table: &Table, vendor: VendorId, id: LocationId) -> Result<Option<Location>, StoreError> {
    table.get::<Location>(&(vendor, id)).await
}

pub async fn list(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<Location>, StoreError> {
    table.query(&keys::locations_of(vendor), page).await
}

pub async fn all(table: &Table, vendor: VendorId) -> Result<Vec<Location>, StoreError> {
    table.query_all(&keys::locations_of(vendor)).await
}
