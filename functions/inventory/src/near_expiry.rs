//! `check-expiring-stock`: every day at 06:00 UTC, finds the batches that have come within their
//! vendor's near-expiry window with units left, and puts one near-expiry alert per batch on the
//! alerts queue (`raise-stock-alerts` records it and emails the owner and inventory managers).
//!
//! It reads no stock item it does not need: each batch is marked on its expiry day when it is
//! first held (`stock::BatchExpiry`), so the check reads the 91 days from today to the longest
//! window (90 days), then the stock items of the marked batches. A batch's alert id derives from
//! the batch, and a batch already alerted is skipped, so running the check twice (or every day
//! while the batch stays in the window) raises one alert and one email.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use futures_util::{StreamExt, TryStreamExt};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use stockyard_domain::ids::{StockAlertId, VendorId};
use stockyard_domain::stock::StockAlert;
use stockyard_domain::vendor::Vendor;
use stockyard_messaging::Publisher;
use stockyard_store::stock::{self, BatchExpiry};
use stockyard_store::{Table, alerts, vendors};

pub struct CheckDeps {
    pub table: Table,
    pub alerts: Publisher,
}

impl CheckDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, alerts: Publisher::from_env(sdk, "ALERTS_QUEUE_URL")? })
    }
}

/// What one check did.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub as_of: Option<NaiveDate>,
    /// Marked batches found over the days read.
    pub batches: u32,
    /// Vendors with a batch inside their window.
    pub vendors: u32,
    /// Alerts put on the queue (batches inside their window with units left, not alerted before).
    pub alerts_queued: u32,
    /// Batches inside their window that were alerted on an earlier day.
    pub already_alerted: u32,
}

/// Days read in parallel.
const PARALLEL_DAYS: usize = 8;

/// The near-expiry alerts of `marked` (one vendor's marked batches) on `today`: the batches inside
/// the vendor's window whose stock item still holds units of them.
pub async fn alerts_of(
    table: &Table,
    vendor: &Vendor,
    marked: &[BatchExpiry],
    today: NaiveDate,
) -> anyhow::Result<Vec<StockAlert>> {
    let horizon = today + chrono::Days::new(u64::from(vendor.near_expiry_days));
    let mut found = Vec::new();
    for m in marked.iter().filter(|m| m.expires_on >= today && m.expires_on <= horizon) {
        let Some(item) = stock::get(table, m.vendor_id, m.variant_id, m.location_id).await? else { continue };
        let batch = item.batches.iter().find(|b| b.lot == m.lot && b.expires_on == m.expires_on && b.on_hand > 0);
        if let Some(batch) = batch {
            found.push(StockAlert::near_expiry(&item, batch, today, Utc::now()));
        }
    }
    Ok(found)
}

pub async fn check(deps: &CheckDeps, today: NaiveDate) -> anyhow::Result<CheckReport> {
    let days: Vec<NaiveDate> =
        (0..=Vendor::MAX_NEAR_EXPIRY_DAYS).map(|d| today + chrono::Days::new(u64::from(d))).collect();
    let marked: Vec<Vec<BatchExpiry>> = futures_util::stream::iter(days)
        .map(|day| stock::expiring_on(&deps.table, day))
        .buffered(PARALLEL_DAYS)
        .try_collect()
        .await
        .context("reading the batches marked on the days ahead")?;
    let mut by_vendor: HashMap<VendorId, Vec<BatchExpiry>> = HashMap::new();
    let mut report = CheckReport { as_of: Some(today), ..CheckReport::default() };
    for m in marked.into_iter().flatten() {
        report.batches += 1;
        by_vendor.entry(m.vendor_id).or_default().push(m);
    }
    for (vendor_id, marked) in by_vendor {
        let Some(vendor) = vendors::get(&deps.table, vendor_id).await? else { continue };
        let found = alerts_of(&deps.table, &vendor, &marked, today).await?;
        if found.is_empty() {
            continue;
        }
        report.vendors += 1;
        for alert in found {
            let id: StockAlertId = alert.id;
            if alerts::get(&deps.table, vendor_id, id).await?.is_some() {
                report.already_alerted += 1;
                continue;
            }
            deps.alerts.publish_raw(&serde_json::to_string(&alert)?).await?;
            report.alerts_queued += 1;
            tracing::info!(vendor = %vendor_id, sku = alert.sku, lot = alert.lot, expires_on = ?alert.expires_on, "batch near expiry");
        }
    }
    tracing::info!(
        batches = report.batches,
        vendors = report.vendors,
        alerts_queued = report.alerts_queued,
        already_alerted = report.already_alerted,
        "near-expiry check done"
    );
    Ok(report)
}

pub async fn handle(deps: &CheckDeps, event: LambdaEvent<Value>) -> Result<CheckReport, lambda_runtime::Error> {
    let scheduled = event.payload.get("source").and_then(Value::as_str) == Some("aws.events");
    if !scheduled && !event.payload.as_object().is_some_and(|o| o.is_empty()) {
        return Err("the payload is {} (or the schedule's event)".into());
    }
    Ok(check(deps, Utc::now().date_naive()).await?)
}
