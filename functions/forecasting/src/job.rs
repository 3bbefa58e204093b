//! The demand forecast of one vendor (`run_vendor`, also behind `POST /vendors/{id}/forecast-runs`)
//! and the nightly forecast of every vendor with demand data (`nightly-demand-forecast`, scheduled
//! at 02:00 UTC), which enqueues one message per vendor for `forecast-vendor` (see
//! [`crate::fanout`]).
//!
//! A run reads the vendor's settings and two years of history, forecasts every SKU-location,
//! suggests orders and overwrites the vendor's forecast items; re-running is harmless. Invoked
//! with `{"vendor_id": ...}`, the nightly function forecasts that vendor at once instead.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, anyhow};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stockyard_analytics::replenish::Risk;
use stockyard_analytics::{forecast_usable, replenish};
use stockyard_domain::ids::{ForecastRunId, LocationId, VendorId};
use stockyard_store::demand::{self, DemandSettingsRecord, ForecastRecord, ForecastRunRecord, RunStatus};
use stockyard_store::{PageRequest, Table, stock};

use crate::fanout;
use crate::panel::{self, RunContext};

/// Batches of forecast writes in flight at once.
pub const WRITE_PARALLELISM: usize = 4;

pub struct JobDeps {
    pub table: Table,
    /// The forecast-vendors queue (`FORECAST_VENDORS_QUEUE_URL`), which the scheduled run fills;
    /// absent for the worker, which only reads it.
    pub queue: Option<(aws_sdk_sqs::Client, String)>,
}

impl JobDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let table = Table::from_env(sdk)?;
        let queue = std::env::var("FORECAST_VENDORS_QUEUE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| (aws_sdk_sqs::Client::new(sdk), url));
        Ok(Self { table, queue })
    }
}

/// The last complete day: what a run started now forecasts from.
pub fn default_as_of() -> NaiveDate {
    Utc::now().date_naive() - Duration::days(1)
}

/// The outcome of one vendor's run.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunSummary {
    pub run_id: ForecastRunId,
    pub vendor_id: VendorId,
    pub as_of: NaiveDate,
    pub status: RunStatus,
    pub series: u32,
    pub forecasts_written: u32,
    pub orders_suggested: u32,
    pub at_risk: u32,
    pub duration_ms: u64,
    /// Series not forecast because their sales history is unusable (a day of NaN, infinite or
    /// negative units), each with the SKU, location, day and value; the others were forecast.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
}

impl From<&ForecastRunRecord> for RunSummary {
    fn from(r: &ForecastRunRecord) -> Self {
        Self {
            run_id: r.run_id,
            vendor_id: r.vendor_id,
            as_of: r.as_of,
            status: r.status,
            series: r.series,
            forecasts_written: r.forecasts_written,
            orders_suggested: r.orders_suggested,
            at_risk: r.at_risk,
            duration_ms: r.duration_ms.unwrap_or(0),
            rejected: r.rejected.clone(),
        }
    }
}

/// Forecasts every SKU-location of `vendor` from history up to `as_of` and writes the results.
pub async fn run_vendor(
    table: &Table,
    vendor: VendorId,
    as_of: NaiveDate,
    trigger: &str,
) -> anyhow::Result<RunSummary> {
    let started = Instant::now();
    let settings = demand::all_settings(table, vendor).await.context("reading replenishment settings")?;
    run_settings(table, vendor, settings, as_of, trigger, started).await
}

/// Forecasts the SKU-locations of `settings` (all of `vendor`'s, as read at `started`) and writes
/// the results, recording the run.
pub async fn run_settings(
    table: &Table,
    vendor: VendorId,
    settings: Vec<DemandSettingsRecord>,
    as_of: NaiveDate,
    trigger: &str,
    started: Instant,
) -> anyhow::Result<RunSummary> {
    // Settings from before they referred to suppliers and categories are migrated first, so a
    // run never waits for `migrate-demand-references`.
    let settings = if settings.iter().any(DemandSettingsRecord::unresolved) {
        let (done, now) = crate::migrate::vendor_settings(table, vendor, settings).await?;
        tracing::info!(%vendor, migrated = done.migrated, "settings with codes migrated before the run");
        now
    } else {
        settings
    };
    let mut run = ForecastRunRecord {
        run_id: ForecastRunId::generate(),
        vendor_id: vendor,
        as_of,
        trigger: trigger.into(),
        status: RunStatus::Running,
        started_at: Utc::now(),
        finished_at: None,
        series: 0,
        forecasts_written: 0,
        orders_suggested: 0,
        at_risk: 0,
        duration_ms: None,
        error: None,
        rejected: Vec::new(),
    };
    demand::put_run(table, &run).await.context("recording the run's start")?;
    let outcome = forecast_and_write(table, &mut run, settings).await;
    run.finished_at = Some(Utc::now());
    run.duration_ms = Some(started.elapsed().as_millis() as u64);
    run.status = if outcome.is_ok() { RunStatus::Finished } else { RunStatus::Failed };
    run.error = outcome.as_ref().err().map(|e| format!("{e:#}"));
    demand::put_run(table, &run).await.context("recording the run's end")?;
    outcome?;
    Ok(RunSummary::from(&run))
}

async fn forecast_and_write(
    table: &Table,
    run: &mut ForecastRunRecord,
    settings: Vec<DemandSettingsRecord>,
) -> anyhow::Result<()> {
    let t = Instant::now();
    run.series = settings.len() as u32;
    if settings.is_empty() {
        return Ok(());
    }
    let locations: Vec<LocationId> =
        settings.iter().map(|s| s.location_id).collect::<BTreeSet<_>>().into_iter().collect();
    let first_year = panel::window_start(run.as_of).year();
    let (histories, items) = tokio::try_join!(
        async {
            demand::read_history(table, run.vendor_id, &locations, first_year).await.context("reading sales history")
        },
        async {
            let items = stock::all_of_vendor(table, run.vendor_id).await.context("reading stock")?;
            let in_shards = stock::free_in_shards(table, &items).await.context("reading stock shards")?;
            Ok::<_, anyhow::Error>(items.into_iter().zip(in_shards).collect::<Vec<_>>())
        },
    )?;
    let stocks = panel::stocks(&settings, &items, Utc::now().date_naive());
    drop(items);
    let read_ms = t.elapsed().as_millis();
    let context = RunContext { run_id: run.run_id, as_of: run.as_of, generated_at: Utc::now() };
    // The maths is CPU-bound: off the async workers.
    let (records, settings, rejected) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let vp = panel::build_panel(&settings, &histories, context.as_of).context("building the panel")?;
        drop(histories);
        let config = panel::engine_config(&settings);
        let run = forecast_usable(&vp.panel, &config);
        if run.forecasts.len() != settings.len() {
            return Err(anyhow!("the engine returned {} forecasts for {} series", run.forecasts.len(), settings.len()));
        }
        // A series the engine refuses is reported and left out; the others are forecast.
        let rejected = panel::rejected(&settings, vp.start, &run.invalid);
        for (s, f) in settings.iter().zip(&run.forecasts) {
            for absurd in f.iter().flat_map(|f| &f.absurd_days) {
                let day = vp.start + Duration::days(absurd.day as i64);
                tracing::warn!(sku = %s.sku, location = %s.location_id, %day, recorded = absurd.recorded,
                    counted = absurd.counted, "a day of sales far beyond anything else this SKU-location sold was not trusted");
            }
        }
        let records = settings
            .iter()
            .zip(&run.forecasts)
            .enumerate()
            .filter_map(|(i, (s, f))| f.as_ref().map(|f| (i, s, f)))
            .map(|(i, s, f)| {
                let largest = panel::largest_cycle_demand(vp.panel.demand.row(i), &f.absurd_days, panel::cover_days(s));
                let suggestion = replenish::suggest(f, &panel::stock_position(s, stocks[i], Some(largest)))
                    .with_context(|| format!("suggesting for {} at {}", s.sku, s.location_id))?;
                Ok(panel::forecast_record(s, stocks[i], f, &suggestion, &context))
            })
            .collect::<anyhow::Result<Vec<ForecastRecord>>>()?;
        Ok((records, settings.len(), rejected))
    })
    .await
    .map_err(|e| anyhow!("the forecast stopped: {e}"))??;
    let forecast_ms = t.elapsed().as_millis() - read_ms;
    for reason in &rejected {
        tracing::warn!(vendor = %run.vendor_id, reason, "series not forecast");
    }
    run.rejected = rejected;
    run.orders_suggested = records.iter().filter(|r| r.order_qty > 0.0).count() as u32;
    run.at_risk = records.iter().filter(|r| r.risk != Risk::None).count() as u32;
    let written = demand::write_forecasts(table, &records, WRITE_PARALLELISM).await.context("writing forecasts")?;
    run.forecasts_written = written as u32;
    tracing::info!(
        vendor = %run.vendor_id,
        series = settings,
        read_ms,
        forecast_ms,
        write_ms = t.elapsed().as_millis() - read_ms - forecast_ms,
        "vendor forecast"
    );
    Ok(())
}

/// What the nightly function answers.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct NightlyReport {
    pub as_of: Option<NaiveDate>,
    /// Vendors forecast by this invocation (on demand: the one asked for).
    pub vendors: u32,
    /// Vendors enqueued for `forecast-vendor` (a scheduled run).
    pub enqueued: u32,
    pub vendors_failed: u32,
    pub series: u32,
    pub forecasts_written: u32,
    pub duration_ms: u64,
    pub series_per_second: f64,
    /// Peak resident memory of the process (VmHWM), when the platform reports it.
    pub peak_memory_mb: Option<f64>,
    pub runs: Vec<RunSummary>,
}

/// The optional payload of an on-demand invocation: `{ "vendor_id": "..." }` forecasts that vendor
/// (even if already done today); `as_of` (YYYY-MM-DD) overrides the last day of history. Without
/// a vendor, every vendor is enqueued as by the schedule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NightlyRequest {
    pub vendor_id: Option<String>,
    pub as_of: Option<NaiveDate>,
}

pub async fn handle(deps: &JobDeps, event: LambdaEvent<Value>) -> Result<NightlyReport, lambda_runtime::Error> {
    let started = Instant::now();
    // A scheduled event has `source: aws.events`; anything else is read as a request.
    let request: NightlyRequest = if event.payload.get("source").and_then(Value::as_str) == Some("aws.events") {
        NightlyRequest::default()
    } else {
        serde_json::from_value(event.payload.clone()).context("the payload is { \"vendor_id\"?, \"as_of\"? }")?
    };
    let as_of = request.as_of.unwrap_or_else(default_as_of);
    let mut report = NightlyReport { as_of: Some(as_of), ..Default::default() };

    match &request.vendor_id {
        Some(raw) => {
            let vendor = VendorId::parse("vendor_id", raw).map_err(|e| anyhow!("{e}"))?;
            match run_vendor(&deps.table, vendor, as_of, "on_demand").await {
                Ok(summary) => {
                    report.vendors = 1;
                    report.series = summary.series;
                    report.forecasts_written = summary.forecasts_written;
                    report.runs.push(summary);
                }
                Err(e) => {
                    tracing::error!(%vendor, error = format!("{e:#}"), "vendor not forecast");
                    return Err(e.context(format!("forecasting vendor {vendor}")).into());
                }
            }
        }
        None => {
            let (sqs, url) = deps.queue.as_ref().context("FORECAST_VENDORS_QUEUE_URL is not set")?;
            let vendors = all_vendors(&deps.table).await?;
            // The run record first, so that progress is measured against every vendor even while
            // the messages are still being sent.
            demand::record_enqueued(&deps.table, as_of, vendors.len() as u32).await.context("recording the run")?;
            let sent = fanout::enqueue(sqs, url, &fanout::messages(&vendors, as_of)?).await?;
            report.enqueued = sent as u32;
            tracing::info!(vendors = vendors.len(), %as_of, "nightly forecast enqueued");
        }
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.series_per_second =
        (f64::from(report.series) / started.elapsed().as_secs_f64().max(1e-3) * 10.0).round() / 10.0;
    report.peak_memory_mb = peak_memory_mb();
    Ok(report)
}

async fn all_vendors(table: &Table) -> anyhow::Result<Vec<VendorId>> {
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    let mut vendors = Vec::new();
    loop {
        let next = demand::vendors(table, &page).await.context("listing vendors with demand data")?;
        vendors.extend(next.items.into_iter().map(|m| m.vendor_id));
        match next.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(vendors),
        }
    }
}

/// Peak resident set size of this process in MB (Linux `VmHWM`).
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_memory_of_this_process_is_read_from_the_platform() {
        let mb = peak_memory_mb().expect("Linux reports VmHWM");
        assert!(mb > 0.0 && mb < 100_000.0, "{mb}");
    }

    #[test]
    fn an_on_demand_payload_names_a_vendor_and_optionally_the_day() {
        let r: NightlyRequest =
            serde_json::from_value(serde_json::json!({"vendor_id": "x", "as_of": "2026-11-20"})).unwrap();
        assert_eq!(r.vendor_id.as_deref(), Some("x"));
        assert_eq!(r.as_of, NaiveDate::from_ymd_opt(2026, 11, 20));
        let typo = serde_json::from_value::<NightlyRequest>(serde_json::json!({"vendorId": "x"}));
        assert!(typo.is_err(), "a misspelt vendor must not turn into a run of every vendor");
    }
}
