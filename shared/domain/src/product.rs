//! A vendor's products, their sellable variants, prices and translations.
//!
//! Attribute values are stored as the client's JSON after validation against the category's
//! schema (`catalog::validate_attributes`), so a value is read back as written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::catalog::{Dimensions, ProductStatus, TaxClass};
use crate::gtin::Gtin;
use crate::ids::{CategoryId, ProductId, VariantId, VendorId};
use crate::locale::Locale;
use crate::money::Currency;
use crate::slug::Slug;

/// Variants one product may have. A product with its variants and their SKU, option and GTIN
/// claims then fits one DynamoDB transaction (100 writes): 1 product + 1 slug claim + 24 × 4.
pub const MAX_VARIANTS: usize = 24;
/// Tags one product may carry.
pub const MAX_TAGS: usize = 20;
/// The largest price, in minor units (ten thousand million of any major unit).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    pub id: ProductId,
    pub vendor_id: VendorId,
    pub category_id: CategoryId,
    pub status: ProductStatus,
    /// The locale title, description and slug are written in (the vendor's default when created).
    #[schema(value_type = String, example = "en")]
    pub locale: Locale,
    pub title: String,
    /// Plain text or the safe Markdown subset; rendered with everything else escaped.
    pub description: String,
    /// Unique among the vendor's products in this locale.
    #[schema(value_type = String, example = "merino-crew-jumper")]
    pub slug: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Values of the category's attributes that describe the product (not the variant-defining ones).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Moves with every change; a change is written only on the version it was decided on.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<DateTime<Utc>>,
}

/// A price for a time, in the minor units of its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sale {
    pub amount: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A variant's price in one currency, in its minor units (JPY 0 decimals, EUR 2, KWD 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Price {
    #[schema(example = 4999)]
    pub amount: i64,
    /// The "was" price shown struck through; above `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale: Option<Sale>,
}

impl Price {
    /// Checks the amounts and the sale window, naming fields under `field`.
    pub fn check(&self, field: &str) -> Result<(), FieldError> {
        let amount = |name: &str, value: i64| {
            if (1..=MAX_AMOUNT).contains(&value) {
                Ok(())
            } else {
                Err(FieldError::new(format!("{field}.{name}"), format!("must be from 1 to {MAX_AMOUNT} minor units")))
            }
        };
        amount("amount", self.amount)?;
        if let Some(compare_at) = self.compare_at {
            amount("compare_at", compare_at)?;
            if compare_at <= self.amount {
                return Err(FieldError::new(format!("{field}.compare_at"), "must be above the amount"));
            }
        }
        if let Some(sale) = &self.sale {
            amount("sale.amount", sale.amount)?;
            if sale.amount >= self.amount {
                return Err(FieldError::new(format!("{field}.sale.amount"), "must be below the amount"));
            }
            if sale.ends_at <= sale.starts_at {
                return Err(FieldError::new(format!("{field}.sale.ends_at"), "must be after starts_at"));
            }
        }
        Ok(())
    }

    /// What a customer pays at `now`: the sale amount within its window, else the amount.
    pub fn current(&self, now: DateTime<Utc>) -> i64 {
        match &self.sale {
            Some(sale) if sale.starts_at <= now && now < sale.ends_at => sale.amount,
            _ => self.amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variant {
    pub id: VariantId,
    pub product_id: ProductId,
    pub vendor_id: VendorId,
    /// Unique within the vendor: letters, digits, '-' and '_' (stored upper-case).
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Values of the category's variant-defining attributes (no two variants of a product alike).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "4006381333931")]
    pub gtin: Option<Gtin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_g: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Dimensions>,
    #[serde(default)]
    pub tax_class: TaxClass,
    /// Set for perishable goods: inventory then tracks batches and expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelf_life_days: Option<u32>,
    /// The most units one customer may buy (a limited item): a cart line holds at most this many,
    /// and checkout counts it over the customer's orders. At least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_customer: Option<u32>,
    /// Prices per currency.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Price>)]
    pub prices: BTreeMap<Currency, Price>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A product's title, description and slug in another locale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductTranslation {
    pub product_id: ProductId,
    #[schema(value_type = String, example = "fr")]
    pub locale: Locale,
    pub title: String,
    pub description: String,
    #[schema(value_type = String)]
    pub slug: Slug,
    pub updated_at: DateTime<Utc>,
}

/// Tags: trimmed, lower-cased, unique, at most [`MAX_TAGS`] of 1–40 characters.
pub fn tags(field: &str, raw: &[String]) -> Result<Vec<String>, FieldError> {
    if raw.len() > MAX_TAGS {
        return Err(FieldError::new(field, format!("may hold at most {MAX_TAGS} tags")));
    }
    let mut tags: Vec<String> = Vec::with_capacity(raw.len());
    for (i, tag) in raw.iter().enumerate() {
        let tag = crate::values::bounded_text(&format!("{field}[{i}]"), tag, 1, 40)?.to_lowercase();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn price(amount: i64) -> Price {
        Price { amount, compare_at: None, sale: None }
    }

    #[test]
    fn a_sale_price_counts_only_within_its_window() {
        let now = Utc::now();
        let mut p = price(5000);
        p.sale = Some(Sale { amount: 3999, starts_at: now - Duration::hours(1), ends_at: now + Duration::hours(1) });
        assert_eq!(p.current(now), 3999);
        assert_eq!(p.current(now + Duration::hours(1)), 5000, "the end is exclusive");
        assert_eq!(p.current(now - Duration::hours(2)), 5000);
        assert!(p.check("prices.EUR").is_ok());
    }

    #[test]
    fn prices_are_positive_a_compare_at_price_is_higher_and_a_sale_lower() {
        assert_eq!(price(0).check("prices.EUR").unwrap_err().field, "prices.EUR.amount");
        assert!(price(MAX_AMOUNT + 1).check("p").is_err());
        let mut p = price(5000);
        p.compare_at = Some(5000);
        assert_eq!(p.check("p").unwrap_err().field, "p.compare_at");
        let now = Utc::now();
        let mut p = price(5000);
        p.sale = Some(Sale { amount: 5000, starts_at: now, ends_at: now + Duration::days(1) });
        assert_eq!(p.check("p").unwrap_err().field, "p.sale.amount");
        p.sale = Some(Sale { amount: 4000, starts_at: now, ends_at: now });
        assert_eq!(p.check("p").unwrap_err().field, "p.sale.ends_at");
    }

    #[test]
    fn tags_are_lower_cased_once_each_and_bounded() {
        let raw = vec!["Wool".to_string(), " wool ".to_string(), "Winter".to_string()];
        assert_eq!(tags("tags", &raw).unwrap(), ["wool", "winter"]);
        assert_eq!(tags("tags", &["".to_string()]).unwrap_err().field, "tags[0]");
        assert!(tags("tags", &vec!["x".to_string(); MAX_TAGS + 1]).is_err());
    }
}
