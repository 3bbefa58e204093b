//! A vendor's stock locations: warehouses and stores.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{LocationId, VendorId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Warehouse,
    Store,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub id: LocationId,
    pub vendor_id: VendorId,
    /// Unique within the vendor: letters, digits, '-' and '_', upper-case.
    #[schema(example = "WH-LONDON")]
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
}
