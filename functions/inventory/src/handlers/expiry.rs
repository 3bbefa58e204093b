//! The near-expiry report: the vendor's batches that expire within a window (the vendor's
//! `near_expiry_days` unless the request says otherwise), and those already expired but still on
//! hand, first-expiring first, so they are sold first or written off.

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use stockyard_domain::ids::{LocationId, ProductId, VariantId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::{BinLocation, StockItem};
use stockyard_http::error::ErrorBody;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response, response::ok};
use stockyard_store::stock as store;
use utoipa::{IntoParams, ToSchema};

use super::stock::{LIST_READ_LIMIT, stock_cursor, stock_offset};

/// One batch in the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiringBatch {
    pub sku: String,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub location_id: LocationId,
    #[schema(example = "LOT-2026-11-A")]
    pub lot: String,
    /// The last day the batch may be sold.
    pub expires_on: NaiveDate,
    /// Days from today to `expires_on` (0: its last day; negative: expired that many days ago).
    pub days_left: i64,
    /// Past its date: never sold or reserved any more, on hand until written off.
    pub expired: bool,
    pub units: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bin: Option<BinLocation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiryReport {
    /// The day the report was made for.
    pub as_of: NaiveDate,
    /// The window used, in days from today.
    pub within_days: u32,
    /// Units in the listed batches that are not expired yet / already expired (every page's).
    pub expiring_units: u64,
    pub expired_units: u64,
    /// This page's batches, first-expiring first.
    pub items: Vec<ExpiringBatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// True when the vendor holds more stock items than one report reads (20,000): narrow it by
    /// location.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExpiryReportParams {
    /// Days from today (0–365); default: the vendor's `near_expiry_days`.
    #[param(minimum = 0, maximum = 365)]
    pub within_days: Option<u32>,
    /// Only this location's batches.
    pub location_id: Option<LocationId>,
    /// Leave out batches already past their date (default false: they are listed for writing off).
    pub exclude_expired: Option<bool>,
    /// Batches per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page with the same filters.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
}

/// The batches of `items` that expire on or before `today + within_days`, expired ones only when
/// `with_expired`, first-expiring first (then SKU, location, lot).
pub fn expiring_batches(
    items: &[StockItem],
    today: NaiveDate,
    within_days: u32,
    with_expired: bool,
) -> Vec<ExpiringBatch> {
    let horizon = today + chrono::Days::new(u64::from(within_days));
    let mut found: Vec<ExpiringBatch> = items
        .iter()
        .flat_map(|item| item.batches.iter().map(move |b| (item, b)))
        .filter(|(_, b)| b.on_hand > 0 && b.expires_on <= horizon && (with_expired || !b.expired(today)))
        .map(|(item, b)| ExpiringBatch {
            sku: item.sku.clone(),
            variant_id: item.variant_id,
            product_id: item.product_id,
            location_id: item.location_id,
            lot: b.lot.clone(),
            expires_on: b.expires_on,
            days_left: (b.expires_on - today).num_days(),
            expired: b.expired(today),
            units: b.on_hand,
            bin: item.bin.clone(),
        })
        .collect();
    found.sort_by(|a, b| {
        (a.expires_on, &a.sku, a.location_id, &a.lot).cmp(&(b.expires_on, &b.sku, b.location_id, &b.lot))
    });
    found
}

/// Batches nearing expiry, and expired ones still on hand, first-expiring first.
#[utoipa::path(get, path = "/vendors/{vendorId}/stock/expiring", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ExpiryReportParams),
    responses((status = 200, body = ExpiryReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_expiring_stock(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let within = super::lookup::days_query(&cx, "within_days")?;
    let location = cx.query_as("location_id", LocationId::parse)?;
    let exclude_expired = cx.query_as("exclude_expired", |field, raw| match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(stockyard_domain::FieldError::new(field, "must be true or false")),
    })?;
    let digest =
        format!("expiring|{within:?}|{}|{exclude_expired:?}", location.map(|l| l.to_string()).unwrap_or_default());
    let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(digest.as_bytes()))[..16].to_string();
    let offset = page.cursor.as_deref().map(|c| stock_offset(c, &digest)).transpose()?.unwrap_or(0);
    let access = cx.vendor(VendorPermission::StockRead).await?;
    let within_days = within.unwrap_or(access.vendor.near_expiry_days);
    let items = store::of_vendor(cx.store().await?, access.id(), location, LIST_READ_LIMIT).await?;
    let today = Utc::now().date_naive();
    let batches = expiring_batches(&items, today, within_days, !exclude_expired.unwrap_or(false));
    let units = |expired: bool| batches.iter().filter(|b| b.expired == expired).map(|b| u64::from(b.units)).sum();
    let limit = page.limit.clamp(1, 100) as usize;
    let end = (offset + limit).min(batches.len());
    Ok(ok(&ExpiryReport {
        as_of: today,
        within_days,
        expiring_units: units(false),
        expired_units: units(true),
        items: batches.get(offset..end).map(<[ExpiringBatch]>::to_vec).unwrap_or_default(),
        next_cursor: (end < batches.len()).then(|| stock_cursor(end, &digest)),
        partial: items.len() >= LIST_READ_LIMIT,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use stockyard_domain::stock::Batch;

    #[test]
    fn the_report_lists_batches_within_the_window_first_expiring_first_and_expired_ones_unless_left_out() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let (vendor, location) = (VendorId::generate(), LocationId::generate());
        let item = |sku: &str, batches: &[(&str, i64, u32)]| {
            let mut item =
                StockItem::empty(vendor, VariantId::generate(), ProductId::generate(), sku, location, true, Utc::now());
            item.batches = batches
                .iter()
                .map(|(lot, days, on_hand)| Batch {
                    lot: lot.to_string(),
                    expires_on: today + Duration::days(*days),
                    on_hand: *on_hand,
                    received_at: Utc::now(),
                })
                .collect();
            item.on_hand = item.batches.iter().map(|b| b.on_hand).sum();
            item
        };
        let items = [
            item("MILK", &[("M-OLD", -2, 3), ("M-SOON", 2, 5), ("M-LATER", 20, 9)]),
            item("CHEESE", &[("C-TODAY", 0, 4), ("C-EMPTY", 1, 0), ("C-EDGE", 7, 2), ("C-OUT", 8, 6)]),
        ];
        let lots = |with_expired| -> Vec<(String, i64, bool)> {
            expiring_batches(&items, today, 7, with_expired)
                .into_iter()
                .map(|b| (b.lot, b.days_left, b.expired))
                .collect()
        };
        let expected = [("M-OLD", -2, true), ("C-TODAY", 0, false), ("M-SOON", 2, false), ("C-EDGE", 7, false)];
        let expected: Vec<(String, i64, bool)> = expected.iter().map(|(l, d, e)| (l.to_string(), *d, *e)).collect();
        assert_eq!(lots(true), expected, "inside 7 days (inclusive), none empty, by date");
        assert_eq!(lots(false), expected[1..].to_vec(), "expired left out on request");
        assert_eq!(expiring_batches(&items, today, 0, false).len(), 1, "0 days: just today's last day");
    }
}
