//! Sales channels: where a vendor's stock is sold (Stockyard's storefront, its physical stores'
//! tills, external marketplaces), and the sales and returns they report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{ChannelId, LocationId, ProductId, VariantId, VendorId};
use crate::money::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Stockyard's own storefront (checkout sells through it); at most one per vendor.
    Storefront,
    /// A physical store's point of sale.
    Pos,
    /// An external marketplace.
    Marketplace,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Channel {
    pub id: ChannelId,
    pub vendor_id: VendorId,
    /// Unique within the vendor (letters, digits, '-' and '_', upper-case).
    #[schema(example = "POS-SOHO")]
    pub code: String,
    pub name: String,
    pub kind: ChannelKind,
    /// Where the channel's sales take stock from unless a sale names another location.
    pub location_id: LocationId,
    pub created_at: DateTime<Utc>,
}

/// A channel's own id of a sale or return: 1–64 visible ASCII characters.
pub fn external_id(field: &str, raw: &str) -> Result<String, FieldError> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldError::new(field, "must be 1 to 64 visible ASCII characters"));
    }
    Ok(id.to_string())
}

/// One sale or return as every channel reports it: the consolidated sales record reports read.
/// Returns are recorded with a negative quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaleRecord {
    pub vendor_id: VendorId,
    pub channel_id: ChannelId,
    pub channel_kind: ChannelKind,
    /// The channel's own id of the sale (or return).
    pub sale_id: String,
    pub location_id: LocationId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units sold (negative: returned).
    pub quantity: i64,
    /// Price of one unit in minor units of `currency`, when the channel says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<Currency>,
    /// ISO 3166-1 alpha-2 of the buyer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// When the sale happened (as the channel reports it).
    pub sold_at: DateTime<Utc>,
    /// When Stockyard recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The stock item's version after the sale took its units (none for a return written off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock_version: Option<u64>,
    /// A return: whether its units went back on hand (`true`) or were written off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restocked: Option<bool>,
    /// A return: the sale it returns units of, when the channel says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns_sale_id: Option<String>,
    /// A sale: units returned against it so far.
    #[serde(default)]
    pub returned: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_id_is_short_visible_ascii() {
        assert_eq!(external_id("sale_id", " till-7/000123 ").unwrap(), "till-7/000123");
        assert!(external_id("sale_id", "").is_err());
        assert!(external_id("sale_id", "a b").is_err());
        assert!(external_id("sale_id", &"x".repeat(65)).is_err());
        assert!(external_id("sale_id", "café").is_err());
    }
}
