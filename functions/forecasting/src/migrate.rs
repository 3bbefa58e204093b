//! Demand settings written before they referred to suppliers and categories held free codes
//! (`supplier`, `category`). `migrate-demand-references` turns them into references, vendor by
//! vendor, and the nightly run does the same for a vendor it finds unmigrated, so forecasts never
//! wait for the migration:
//!
//! - a supplier code becomes the vendor's supplier with that code;
//! - a category code becomes the category of the vendor's catalog product with the SKU, else the
//!   catalog category whose slug (any locale) or English name is the code;
//! - a code that matches nothing stays, as `unresolved_*_code`, and is tried again next time: the
//!   forecast still pools the SKUs that share an unresolved category code, and lists suggestions
//!   without a supplier for the manager to assign.
//!
//! Each settings item is replaced only if nobody wrote it since it was read, and each forecast
//! only if no newer run replaced it, so the migration never undoes a concurrent change. Running it
//! again changes nothing.

use std::collections::HashMap;

use anyhow::Context;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use stockyard_domain::category::Tree;
use stockyard_domain::ids::{CategoryId, LocationId, SupplierId, VendorId};
use stockyard_store::demand::{self, DemandSettingsRecord};
use stockyard_store::{PageRequest, Table, categories, products, suppliers};

/// What migrating one vendor (or, summed, many) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Migrated {
    pub vendors: u32,
    /// Settings read.
    pub settings: u32,
    /// Settings rewritten with at least one reference resolved.
    pub migrated: u32,
    /// Settings someone changed while the migration worked on them (theirs stand).
    pub changed_meanwhile: u32,
    /// Settings still naming a supplier code, or a category code, that matched nothing.
    pub unresolved_suppliers: u32,
    pub unresolved_categories: u32,
    /// Forecasts relabelled with their settings' supplier and category.
    pub forecasts_relabelled: u32,
}

impl Migrated {
    fn add(&mut self, other: &Migrated) {
        self.vendors += other.vendors;
        self.settings += other.settings;
        self.migrated += other.migrated;
        self.changed_meanwhile += other.changed_meanwhile;
        self.unresolved_suppliers += other.unresolved_suppliers;
        self.unresolved_categories += other.unresolved_categories;
        self.forecasts_relabelled += other.forecasts_relabelled;
    }
}

/// Looks codes up once per vendor: suppliers by code, the category tree read at most once.
struct Resolver<'a> {
    table: &'a Table,
    vendor: VendorId,
    suppliers: HashMap<String, Option<SupplierId>>,
    tree: Option<Tree>,
}

impl Resolver<'_> {
    async fn supplier(&mut self, code: &str) -> anyhow::Result<Option<SupplierId>> {
        let code = code.trim().to_ascii_uppercase();
        if let Some(found) = self.suppliers.get(&code) {
            return Ok(*found);
        }
        let found = suppliers::by_code(self.table, self.vendor, &code).await?.map(|s| s.id);
        self.suppliers.insert(code, found);
        Ok(found)
    }

    async fn category(&mut self, sku: &str, code: &str) -> anyhow::Result<Option<CategoryId>> {
        if let Some(product) = products::sku_owner(self.table, self.vendor, sku).await?
            && let Some(product) = products::get(self.table, product).await?
        {
            return Ok(Some(product.product.category_id));
        }
        if self.tree.is_none() {
            self.tree = Some(categories::tree(self.table).await?.tree);
        }
        let tree = self.tree.as_ref().expect("read above");
        Ok(category_named(tree, code))
    }
}

/// The category whose slug in some locale, or whose English name, is `code` (ignoring case, and
/// `_` for `-`), when exactly one is.
pub fn category_named(tree: &Tree, code: &str) -> Option<CategoryId> {
    let wanted = code.trim().to_ascii_lowercase().replace('_', "-");
    let mut found = tree.all().filter(|c| {
        c.slugs.values().any(|s| s.as_str() == wanted)
            || c.names
                .iter()
                .any(|(l, n)| l.as_str() == "en" && n.trim().to_ascii_lowercase().replace(' ', "-") == wanted)
    });
    match (found.next(), found.next()) {
        (Some(only), None) => Some(only.id),
        _ => None,
    }
}

/// Resolves the codes of `settings` (the vendor's, as read) and writes those that changed.
/// Returns what it did and the settings as they now stand (a migrated one in its new form; one
/// changed meanwhile as it was read: the next run reads the newer one).
pub async fn vendor_settings(
    table: &Table,
    vendor: VendorId,
    settings: Vec<DemandSettingsRecord>,
) -> anyhow::Result<(Migrated, Vec<DemandSettingsRecord>)> {
    let mut done = Migrated { vendors: 1, settings: settings.len() as u32, ..Default::default() };
    let mut resolver = Resolver { table, vendor, suppliers: HashMap::new(), tree: None };
    let mut now = Vec::with_capacity(settings.len());
    for before in settings {
        if !before.unresolved() {
            now.push(before);
            continue;
        }
        let mut after = before.clone();
        if after.supplier_id.is_none()
            && let Some(code) = &after.unresolved_supplier_code
            && let Some(id) = resolver.supplier(code).await?
        {
            (after.supplier_id, after.unresolved_supplier_code) = (Some(id), None);
        }
        if after.category_id.is_none()
            && let Some(code) = &after.unresolved_category_code
            && let Some(id) = resolver.category(&after.sku, code).await?
        {
            (after.category_id, after.unresolved_category_code) = (Some(id), None);
        }
        done.unresolved_suppliers += u32::from(after.unresolved_supplier_code.is_some());
        done.unresolved_categories += u32::from(after.unresolved_category_code.is_some());
        if after == before {
            now.push(before);
        } else if demand::replace_settings(table, &before, &after).await? {
            done.migrated += 1;
            now.push(after);
        } else {
            done.changed_meanwhile += 1;
            now.push(before);
        }
    }
    Ok((done, now))
}

/// Migrates one vendor: its settings, then the supplier and category its forecasts carry.
pub async fn vendor(table: &Table, vendor: VendorId) -> anyhow::Result<Migrated> {
    let settings = demand::all_settings(table, vendor).await.context("reading demand settings")?;
    let (mut done, settings) = vendor_settings(table, vendor, settings).await?;
    let by_series: HashMap<(LocationId, &str), &DemandSettingsRecord> =
        settings.iter().map(|s| ((s.location_id, s.sku.as_str()), s)).collect();
    for mut forecast in demand::all_forecasts(table, vendor).await.context("reading forecasts")? {
        let Some(s) = by_series.get(&(forecast.location_id, forecast.sku.as_str())) else { continue };
        if (forecast.supplier_id, forecast.category_id) == (s.supplier_id, s.category_id) {
            continue;
        }
        (forecast.supplier_id, forecast.category_id) = (s.supplier_id, s.category_id);
        if demand::relabel_forecast(table, &forecast).await? {
            done.forecasts_relabelled += 1;
        }
    }
    Ok(done)
}

/// What `migrate-demand-references` takes: one vendor, or every vendor with demand data from
/// `cursor` on (a run stops after `max_vendors` and returns where to go on).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateRequest {
    #[serde(default)]
    pub vendor_id: Option<VendorId>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub max_vendors: Option<u32>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MigrateReport {
    #[serde(flatten)]
    pub migrated: Migrated,
    /// Set when vendors remain: invoke again with `{ "cursor": ... }`.
    pub next_cursor: Option<String>,
    pub duration_ms: u64,
}

/// Vendors one invocation migrates unless told otherwise: well inside a Lambda's 15 minutes.
pub const DEFAULT_MAX_VENDORS: u32 = 2_000;

/// Migrates the vendor asked for, or the vendors with demand data page by page, logging each.
pub async fn run(table: &Table, request: MigrateRequest) -> anyhow::Result<MigrateReport> {
    let started = Utc::now();
    let mut report = MigrateReport::default();
    if let Some(one) = request.vendor_id {
        report.migrated = vendor(table, one).await.with_context(|| format!("migrating vendor {one}"))?;
    } else {
        let max = request.max_vendors.unwrap_or(DEFAULT_MAX_VENDORS).max(1);
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        page.cursor = request.cursor;
        loop {
            let next = demand::vendors(table, &page).await.context("listing vendors with demand data")?;
            for marker in &next.items {
                let done = vendor(table, marker.vendor_id)
                    .await
                    .with_context(|| format!("migrating vendor {}", marker.vendor_id))?;
                tracing::info!(vendor = %marker.vendor_id, settings = done.settings, migrated = done.migrated,
                    unresolved_suppliers = done.unresolved_suppliers, unresolved_categories = done.unresolved_categories,
                    "vendor migrated");
                report.migrated.add(&done);
            }
            tracing::info!(vendors = report.migrated.vendors, migrated = report.migrated.migrated, "progress");
            match next.next_cursor {
                Some(cursor) if report.migrated.vendors >= max => {
                    report.next_cursor = Some(cursor);
                    break;
                }
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
    }
    report.duration_ms = (Utc::now() - started).num_milliseconds().max(0) as u64;
    tracing::info!(report = ?report, "demand references migrated");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::category::Category;

    fn category(en: &str, slugs: &[(&str, &str)]) -> Category {
        let slugs: serde_json::Map<String, serde_json::Value> =
            slugs.iter().map(|(l, s)| (l.to_string(), serde_json::json!(s))).collect();
        serde_json::from_value(serde_json::json!({
            "id": CategoryId::generate(), "names": { "en": en }, "slugs": slugs, "attributes": [],
            "created_at": Utc::now(), "updated_at": Utc::now()
        }))
        .expect("a category")
    }

    #[test]
    fn an_old_code_names_the_one_category_whose_slug_or_english_name_it_is() {
        let dairy = category("Dairy", &[("en", "dairy"), ("fr", "produits-laitiers")]);
        let frozen = category("Frozen food", &[("en", "frozen")]);
        let (twin_a, twin_b) = (category("Tea", &[("en", "tea")]), category("Tea", &[("en", "tea-leaves")]));
        let tree = Tree::new([dairy.clone(), frozen.clone(), twin_a, twin_b]);
        assert_eq!(category_named(&tree, "DAIRY"), Some(dairy.id));
        assert_eq!(category_named(&tree, "produits_laitiers"), Some(dairy.id), "any locale's slug, _ for -");
        assert_eq!(category_named(&tree, "FROZEN-FOOD"), Some(frozen.id), "the English name");
        assert_eq!(category_named(&tree, "TEA"), None, "two categories answer to it: neither is taken");
        assert_eq!(category_named(&tree, "BAKERY"), None);
    }
}
