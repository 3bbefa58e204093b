//! What the search index holds of a product: everything a shopper can search, filter, sort and see
//! in a result, for each search language, decided once when the product changes. Pure: built from
//! the stored product, its vendor and the category tree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::catalog::AttributeType;
use stockyard_domain::category::Tree;
use stockyard_domain::exchange::{ExchangeRates, convert};
use stockyard_domain::ids::{CategoryId, ProductId, VendorId};
use stockyard_domain::image::{ImageStatus, ProductImage};
use stockyard_domain::locale::{Locale, negotiate};
use stockyard_domain::money::{Currency, Money};
use stockyard_domain::product::{Product, ProductTranslation, Variant};
use stockyard_domain::vendor::{Vendor, VendorStatus};

/// The languages with a stemmer of their own. A shopper asking for another language searches
/// the English fields (which hold each product's own text when it has no English).
pub const LANGUAGES: [&str; 4] = ["en", "fr", "de", "es"];

/// The language whose fields answer a request for `locale`.
pub fn search_language(locale: &Locale) -> &'static str {
    LANGUAGES.iter().copied().find(|l| *l == locale.language()).unwrap_or("en")
}

/// A product's text in one search language, in the best locale it has for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalText {
    pub locale: Locale,
    pub title: String,
    pub slug: String,
    /// Description, brand, tags and attribute names and values, for matching only.
    pub body: String,
}

/// A published product of an active vendor, as indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDoc {
    pub product_id: ProductId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub category_id: CategoryId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    pub tags: Vec<String>,
    /// `code=value` of every attribute and variant option (lower-case), for filters and facets.
    pub attributes: Vec<String>,
    /// Per search language.
    pub texts: BTreeMap<String, LocalText>,
    pub base_currency: Currency,
    /// Each variant's regular prices (minor units per currency). Sale prices are time-bound and
    /// shown on the product's page; results filter and sort on regular prices.
    pub variant_prices: Vec<BTreeMap<Currency, i64>>,
    pub published_at: DateTime<Utc>,
    /// The storage key of the first ready image's thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

/// A product's lowest price in one currency and whether it was converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromPrice {
    pub amount: i64,
    pub converted: bool,
}

impl ProductDoc {
    /// The document for a product, or `None` when shoppers must not find it (not published, or
    /// its vendor is not active).
    pub fn build(
        product: &Product,
        variants: &[Variant],
        translations: &[ProductTranslation],
        images: &[ProductImage],
        vendor: &Vendor,
        tree: &Tree,
    ) -> Option<ProductDoc> {
        if !product.status.is_public() || vendor.status != VendorStatus::Active || vendor.id != product.vendor_id {
            return None;
        }
        let defs = tree.effective_attributes(product.category_id);
        let mut available = vec![product.locale.clone()];
        available.extend(translations.iter().map(|t| t.locale.clone()));
        let mut attributes = Vec::new();
        let values = product.attributes.iter().chain(variants.iter().flat_map(|v| v.options.iter()));
        for (code, value) in values {
            let text = match value {
                serde_json::Value::String(s) => s.to_lowercase(),
                other => other.to_string(),
            };
            let pair = format!("{code}={text}");
            if !attributes.contains(&pair) {
                attributes.push(pair);
            }
        }
        let texts = LANGUAGES
            .iter()
            .map(|lang| {
                let chosen = negotiate(Some(lang), &available, &product.locale).locale;
                let (title, description, slug) = match translations.iter().find(|t| t.locale == chosen) {
                    Some(t) => (t.title.clone(), t.description.clone(), t.slug.to_string()),
                    None => (product.title.clone(), product.description.clone(), product.slug.to_string()),
                };
                let want = Locale::parse("lang", lang).expect("search languages are locales");
                let label = |labels: &BTreeMap<Locale, String>| -> Option<String> {
                    labels.get(&want).or_else(|| labels.get(&chosen)).or_else(|| labels.values().next()).cloned()
                };
                let mut body = vec![description];
                body.extend(product.brand.clone());
                body.extend(product.tags.iter().cloned());
                for (code, value) in product.attributes.iter().chain(variants.iter().flat_map(|v| v.options.iter())) {
                    let Some(def) = defs.iter().find(|d| &d.code == code) else { continue };
                    body.extend(label(&def.labels));
                    match (&def.kind, value) {
                        (AttributeType::Enum { values }, serde_json::Value::String(v)) => {
                            body.extend(values.iter().find(|e| &e.code == v).and_then(|e| label(&e.labels)));
                        }
                        (AttributeType::Text { .. }, serde_json::Value::String(v)) => body.push(v.clone()),
                        _ => {}
                    }
                }
                (lang.to_string(), LocalText { locale: chosen, title, slug, body: body.join("\n") })
            })
            .collect();
        Some(ProductDoc {
            product_id: product.id,
            vendor_id: product.vendor_id,
            vendor_name: vendor.name.clone(),
            category_id: product.category_id,
            brand: product.brand.clone(),
            tags: product.tags.clone(),
            attributes,
            texts,
            base_currency: vendor.base_currency,
            variant_prices: variants
                .iter()
                .map(|v| v.prices.iter().map(|(c, p)| (*c, p.amount)).collect())
                .filter(|p: &BTreeMap<Currency, i64>| !p.is_empty())
                .collect(),
            published_at: product.published_at.unwrap_or(product.updated_at),
            thumbnail: images
                .iter()
                .filter(|i| i.status == ImageStatus::Ready)
                .flat_map(|i| i.renditions.iter())
                .find(|r| r.size == "thumbnail")
                .map(|r| r.key.clone()),
        })
    }

    /// The lowest price in every currency a shopper can see it in: a variant's own price where it
    /// has one, else its base-currency price converted at `rates`.
    pub fn from_prices(&self, rates: Option<&ExchangeRates>) -> BTreeMap<Currency, FromPrice> {
        let mut currencies: Vec<Currency> = self.variant_prices.iter().flat_map(|p| p.keys().copied()).collect();
        if let Some(rates) = rates {
            currencies.extend(rates.currencies());
        }
        currencies.sort();
        currencies.dedup();
        let mut out = BTreeMap::new();
        for currency in currencies {
            let mut best: Option<FromPrice> = None;
            for prices in &self.variant_prices {
                let price = match prices.get(&currency) {
                    Some(amount) => Some(FromPrice { amount: *amount, converted: false }),
                    None => prices
                        .get(&self.base_currency)
                        .zip(rates)
                        .and_then(|(amount, rates)| {
                            convert(Money::new(*amount, self.base_currency), currency, rates).ok()
                        })
                        .map(|c| FromPrice { amount: c.money.amount, converted: true }),
                };
                if let Some(price) = price
                    && best.is_none_or(|b| price.amount < b.amount)
                {
                    best = Some(price);
                }
            }
            if let Some(best) = best {
                out.insert(currency, best);
            }
        }
        out
    }
}
