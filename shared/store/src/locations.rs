//! A vendor's stock locations: warehouses and stores.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, VendorId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Warehouse,
    Store,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationRecord {
    pub id: LocationId,
    pub vendor_id: VendorId,
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Reserves a location code within its vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationCodeRecord {
    pub location_id: LocationId,
}
