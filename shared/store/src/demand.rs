//! Demand data of a vendor: replenishment settings and daily sales history per SKU-location,
//! and what the forecast makes of them (forecast items, run records). Access patterns 26–36 of
//! infra/data-model.md.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::channel::SaleRecord;
use stockyard_domain::demand::Risk;
use stockyard_domain::ids::{CategoryId, ChannelId, ForecastRunId, LocationId, SupplierId, VendorId};

use crate::channels::SaleKind;

use crate::entity::Entity;
use crate::table::{Change, Expr, to_item};
use crate::{Page, PageRequest, StoreError, Table, keys};

/// Marks a vendor as having demand data (the nightly job lists these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandMarkerRecord {
    pub vendor_id: VendorId,
    pub created_at: DateTime<Utc>,
}

/// How one SKU-location is replenished, and its stock position until stock levels exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = DemandSettings)]
pub struct DemandSettingsRecord {
    pub vendor_id: VendorId,
    pub location_id: LocationId,
    pub sku: String,
    /// The vendor's supplier that replenishes the SKU here: suggestions are grouped, and drafts
    /// made, per supplier. Absent when none is set: the suggestion is listed but not ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<SupplierId>,
    /// The catalog category whose SKUs share a weekly pattern with this one (the forecast pools
    /// them per location). Absent: the SKU's pattern is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
    /// A supplier code written before settings referred to suppliers, kept while it matches none
    /// of the vendor's suppliers (`migrate-demand-references` tries again on every run).
    #[serde(default, alias = "supplier", skip_serializing_if = "Option::is_none")]
    pub unresolved_supplier_code: Option<String>,
    /// A category code from before, kept while it matches no catalog category; the forecast still
    /// pools the SKUs that share it.
    #[serde(default, alias = "category", skip_serializing_if = "Option::is_none")]
    pub unresolved_category_code: Option<String>,
    pub lead_time_days: u32,
    pub review_period_days: u32,
    /// Target cycle service level (0.5..1).
    pub service_level: f64,
    pub min_order_qty: u32,
    pub pack_multiple: u32,
    pub on_hand: u32,
    pub incoming: u32,
    pub updated_at: DateTime<Utc>,
}

impl Entity for DemandMarkerRecord {
    type Id = VendorId;
    const NAME: &'static str = "demand marker";
    fn key(vendor: &VendorId) -> keys::Key {
        keys::demand_marker(*vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::demand_marker(self.vendor_id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::demand_vendor_listing(self.vendor_id))
    }
}

/// What the forecast pools a SKU's weekly pattern by, together with its location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pool<'a> {
    /// The SKUs of one catalog category.
    Category(CategoryId),
    /// The SKUs that share a category code no catalog category matched.
    Code(&'a str),
    /// The SKU alone.
    Own(&'a str),
}

impl DemandSettingsRecord {
    pub fn pool(&self) -> Pool<'_> {
        match (self.category_id, &self.unresolved_category_code) {
            (Some(id), _) => Pool::Category(id),
            (None, Some(code)) => Pool::Code(code),
            (None, None) => Pool::Own(&self.sku),
        }
    }

    /// Whether it still holds a code from before settings referred to suppliers and categories.
    pub fn unresolved(&self) -> bool {
        (self.supplier_id.is_none() && self.unresolved_supplier_code.is_some())
            || (self.category_id.is_none() && self.unresolved_category_code.is_some())
    }
}

impl Entity for DemandSettingsRecord {
    type Id = (VendorId, LocationId, String);
    const NAME: &'static str = "demand settings";
    fn key((vendor, location, sku): &(VendorId, LocationId, String)) -> keys::Key {
        keys::demand_settings(*vendor, *location, sku)
    }
    fn key_of(&self) -> keys::Key {
        keys::demand_settings(self.vendor_id, self.location_id, &self.sku)
    }
}

/// One calendar year of a SKU-location's daily units (see [`encode_units`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesHistoryRecord {
    pub vendor_id: VendorId,
    pub location_id: LocationId,
    pub sku: String,
    pub year: i32,
    #[serde(with = "serde_bytes")]
    pub units: Vec<u8>,
    /// The days (bit `d` = day `d` of the year, from 0) whose units come from channel sales: the
    /// manual sales endpoint leaves them alone.
    #[serde(default, with = "serde_bytes", skip_serializing_if = "Vec::is_empty")]
    pub channel_days: Vec<u8>,
    /// Incremented by every write; a write holds only if nobody wrote since it read.
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

impl Entity for SalesHistoryRecord {
    type Id = (VendorId, LocationId, String, i32);
    const NAME: &'static str = "sales history";
    fn key((vendor, location, sku, year): &(VendorId, LocationId, String, i32)) -> keys::Key {
        keys::sales_history(*vendor, *location, sku, *year)
    }
    fn key_of(&self) -> keys::Key {
        keys::sales_history(self.vendor_id, self.location_id, &self.sku, self.year)
    }
}

impl SalesHistoryRecord {
    /// Units per day of the year (index 0 = 1 January); days never written are absent (0).
    pub fn daily_units(&self) -> Result<Vec<u32>, StoreError> {
        decode_units(&self.units)
    }

    /// Whether channel sales wrote day `day` (0 = 1 January).
    pub fn channel_day(&self, day: usize) -> bool {
        self.channel_days.get(day / 8).is_some_and(|b| b & (1 << (day % 8)) != 0)
    }

    fn mark_channel_day(&mut self, day: usize) {
        if self.channel_days.len() <= day / 8 {
            self.channel_days.resize(day / 8 + 1, 0);
        }
        self.channel_days[day / 8] |= 1 << (day % 8);
    }
}

/// One channel sale (or return: negative) for the sales history: which sale, and its units on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelUnits {
    pub sale: (ChannelId, SaleKind, String),
    pub day: NaiveDate,
    pub quantity: i64,
}

/// Most sales one history transaction counts (the year item takes the 100th write).
pub const CHANNEL_UNITS_PER_WRITE: usize = 99;

/// Adds channel sales of one SKU-location to its sales history, each sale once: one transaction
/// per calendar year writes the year item (guarded by its version) and marks every sale it counts
/// (`aggregated_at`, only if not marked yet), so a sale delivered twice is counted once. A day
/// channels write for the first time replaces what the manual endpoint had there; later sales add
/// to it (a day's net units never below 0). At most [`CHANNEL_UNITS_PER_WRITE`] sales a call.
/// Returns the sales counted now (those counted before are left out).
pub async fn add_channel_units(
    table: &Table,
    vendor: VendorId,
    location: LocationId,
    sku: &str,
    sales: &[ChannelUnits],
) -> Result<usize, StoreError> {
    assert!(sales.len() <= CHANNEL_UNITS_PER_WRITE, "at most {CHANNEL_UNITS_PER_WRITE} sales a write");
    // a sale delivered twice in one batch is one sale (and one transaction may write an item once)
    let mut pending: Vec<&ChannelUnits> = Vec::with_capacity(sales.len());
    for sale in sales {
        if !pending.iter().any(|p| p.sale == sale.sale) {
            pending.push(sale);
        }
    }
    let mut counted = 0;
    let mut attempt = 0u64;
    while !pending.is_empty() {
        attempt += 1;
        let year = pending[0].day.year();
        let (this_year, later): (Vec<&ChannelUnits>, Vec<&ChannelUnits>) =
            pending.iter().partition(|s| s.day.year() == year);
        let id = (vendor, location, sku.to_string(), year);
        let current = table.get::<SalesHistoryRecord>(&id).await?;
        let condition = match &current {
            Some(r) => Expr::new("#version = :version").name("#version", "version").val(":version", &r.version),
            None => Expr::not_exists(),
        };
        let mut record = current.clone().unwrap_or(SalesHistoryRecord {
            vendor_id: vendor,
            location_id: location,
            sku: sku.to_string(),
            year,
            units: Vec::new(),
            channel_days: Vec::new(),
            version: 0,
            updated_at: Utc::now(),
        });
        let mut daily: Vec<i64> = record.daily_units()?.into_iter().map(i64::from).collect();
        for sale in &this_year {
            let day = sale.day.ordinal0() as usize;
            if daily.len() <= day {
                daily.resize(day + 1, 0);
            }
            if !record.channel_day(day) {
                daily[day] = 0;
                record.mark_channel_day(day);
            }
            daily[day] += sale.quantity;
        }
        record.units =
            encode_units(&daily.iter().map(|u| (*u).clamp(0, i64::from(u32::MAX)) as u32).collect::<Vec<_>>());
        record.version += 1;
        record.updated_at = Utc::now();
        let mut tx = table.tx();
        tx.put("history", &record, Some(condition))?;
        for (i, sale) in this_year.iter().enumerate() {
            let (channel, kind, sale_id) = &sale.sale;
            let change = Change::new(Expr::new("SET aggregated_at = :at").val(":at", &record.updated_at))
                .when(Expr::new("attribute_exists(PK) AND attribute_not_exists(aggregated_at)"));
            tx.update::<SaleRecord>(format!("sale:{i}"), &(vendor, *channel, *kind, sale_id.clone()), change)?;
        }
        match table.commit(tx).await {
            Ok(()) => {
                counted += this_year.len();
                pending = later;
            }
            Err(StoreError::Conflict { step }) if step.starts_with("sale:") => {
                // counted before (or not there): leave it out and write the rest
                let i: usize = step["sale:".len()..].parse().unwrap_or(usize::MAX);
                if let Some(gone) = this_year.get(i).copied() {
                    pending.retain(|s| !std::ptr::eq(*s, gone));
                }
            }
            Err(StoreError::Conflict { .. }) if attempt < 50 => {
                let jitter = u64::from(Utc::now().timestamp_subsec_nanos() % 16);
                tokio::time::sleep(Duration::from_millis(5 * attempt.min(10) + jitter)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(counted)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
}

/// One forecast run of one vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRunRecord {
    pub run_id: ForecastRunId,
    pub vendor_id: VendorId,
    /// The last day of history the run used.
    pub as_of: NaiveDate,
    /// `schedule`, `on_demand` or `api`.
    pub trigger: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub series: u32,
    pub forecasts_written: u32,
    pub orders_suggested: u32,
    pub at_risk: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Series left out of the run because their history is unusable, one line each (SKU,
    /// location, day, value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
}

impl Entity for ForecastRunRecord {
    type Id = (VendorId, ForecastRunId);
    const NAME: &'static str = "forecast run";
    fn key((vendor, run): &(VendorId, ForecastRunId)) -> keys::Key {
        keys::forecast_run(*vendor, *run)
    }
    fn key_of(&self) -> keys::Key {
        keys::forecast_run(self.vendor_id, self.run_id)
    }
}

/// Where a forecast's stock position came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StockSource {
    /// Stockyard's stock item of the SKU at the location: available and incoming as the run read
    /// them.
    Tracked,
    /// The figures in the SKU-location's demand settings: Stockyard holds no stock item there
    /// (history imported for goods it does not stock).
    #[default]
    Declared,
}

/// The latest forecast and replenishment suggestion of one SKU-location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRecord {
    pub vendor_id: VendorId,
    pub location_id: LocationId,
    pub sku: String,
    /// The settings' supplier when the forecast ran (absent: none set). Forecasts written before
    /// settings referred to suppliers lack it until the migration or the next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<SupplierId>,
    /// The settings' catalog category when the forecast ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_id: Option<CategoryId>,
    /// The model the engine chose.
    pub model: String,
    /// Expected units per day, from the day after `as_of`, 28 days.
    pub daily: Vec<f64>,
    /// Expected demand over the 28 days.
    pub demand_28d: f64,
    pub lead_time_days: u32,
    pub review_period_days: u32,
    pub service_level: f64,
    /// Expected demand over lead time + review period.
    pub expected_demand: f64,
    /// Quantiles of demand over lead time + review period.
    pub p90: f64,
    pub p95: f64,
    pub p98: f64,
    /// Units the suggestion counted as on hand: available stock (on hand less reserved and
    /// expired units) when Stockyard tracks the SKU here, else the settings' declared figure.
    pub on_hand: u32,
    /// Units on their way (open purchase orders, transfers in transit), counted alike.
    pub incoming: u32,
    /// Where `on_hand` and `incoming` came from. Records written before stock was tracked say
    /// `declared`.
    #[serde(default)]
    pub stock_source: StockSource,
    pub safety_stock: f64,
    pub reorder_point: f64,
    pub order_up_to: f64,
    pub order_qty: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_cover: Option<f64>,
    pub risk: Risk,
    /// Why the suggested order must be reviewed before it is placed (the sanity guard), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    pub run_id: ForecastRunId,
    pub as_of: NaiveDate,
    pub generated_at: DateTime<Utc>,
}

/// The nightly fan-out of one day (`nightly-demand-forecast` enqueues one message per vendor;
/// `forecast-vendor` works through them): how many vendors were enqueued and how far they got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NightlyRunRecord {
    /// The last day of history forecast from.
    pub as_of: NaiveDate,
    /// Vendors enqueued (the largest count any enqueueing invocation of the day saw).
    #[serde(default)]
    pub vendors: u32,
    /// Vendors forecast (each counted once, when its claim is finished).
    #[serde(default)]
    pub done: u32,
    /// Attempts that failed (a vendor is retried by its queue, then parked in the dead-letter
    /// queue; the vendors whose last attempt failed are listed by [`failed_vendor_days`]).
    #[serde(default)]
    pub failed_attempts: u32,
    /// SKU-locations forecast over the vendors done.
    #[serde(default)]
    pub series: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enqueued_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for NightlyRunRecord {
    type Id = NaiveDate;
    const NAME: &'static str = "nightly forecast run";
    fn key(as_of: &NaiveDate) -> keys::Key {
        keys::nightly_run(*as_of)
    }
    fn key_of(&self) -> keys::Key {
        keys::nightly_run(self.as_of)
    }
}

/// Where one vendor's forecast of one day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    /// A worker holds it until `lease_until`.
    Claimed,
    Done,
    /// The last attempt failed; the next delivery of the vendor's message claims it again.
    Failed,
}

/// One vendor's forecast of one day: claimed by one worker at a time, finished at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorDayRecord {
    pub vendor_id: VendorId,
    pub as_of: NaiveDate,
    pub status: DayStatus,
    /// Identifies the claim (a fresh one per attempt): only its holder may finish it.
    pub token: String,
    pub lease_until: DateTime<Utc>,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<ForecastRunId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for VendorDayRecord {
    type Id = (VendorId, NaiveDate);
    const NAME: &'static str = "vendor forecast day";
    fn key((vendor, as_of): &(VendorId, NaiveDate)) -> keys::Key {
        keys::vendor_day(*vendor, *as_of)
    }
    fn key_of(&self) -> keys::Key {
        keys::vendor_day(self.vendor_id, self.as_of)
    }
    /// Failed days are listed per day, for the run's failure report.
    fn index_key(&self) -> Option<keys::IndexKey> {
        (self.status == DayStatus::Failed).then(|| keys::failed_vendor_day_listing(self.as_of, self.vendor_id))
    }
}

/// What a worker may do with a vendor's day.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The worker holds the day: forecast, then [`finish_vendor_day`] or [`fail_vendor_day`].
    Held(VendorDayRecord),
    /// Already forecast for this day: nothing to do.
    Done,
    /// Another worker holds it (until the time given): try again later.
    Busy(DateTime<Utc>),
}

/// Decides a claim on a day as read (`current`): `None` (free) when unclaimed, failed, or claimed
/// by a lease that ran out; done stays done; a live lease is someone else's.
pub fn claim_decision(current: Option<&VendorDayRecord>, now: DateTime<Utc>) -> Option<Claim> {
    match current {
        None => None,
        Some(day) => match day.status {
            DayStatus::Done => Some(Claim::Done),
            DayStatus::Failed => None,
            DayStatus::Claimed if day.lease_until <= now => None,
            DayStatus::Claimed => Some(Claim::Busy(day.lease_until)),
        },
    }
}

/// Claims `vendor`'s forecast of `as_of` for `lease` (longer than a worker can run): read,
/// decide ([`claim_decision`]), then write the claim only if the day is still as read, so two
/// workers delivered the same message never both hold it.
pub async fn claim_vendor_day(
    table: &Table,
    vendor: VendorId,
    as_of: NaiveDate,
    token: &str,
    lease: Duration,
) -> Result<Claim, StoreError> {
    let now = Utc::now();
    let current: Option<VendorDayRecord> = table.get(&(vendor, as_of)).await?;
    if let Some(taken) = claim_decision(current.as_ref(), now) {
        return Ok(taken);
    }
    let held = VendorDayRecord {
        vendor_id: vendor,
        as_of,
        status: DayStatus::Claimed,
        token: token.to_string(),
        lease_until: now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(15)),
        attempts: current.as_ref().map_or(0, |d| d.attempts) + 1,
        run_id: None,
        error: current.as_ref().and_then(|d| d.error.clone()),
        updated_at: now,
    };
    let unchanged = match &current {
        None => Expr::not_exists(),
        Some(day) => Expr::new("#token = :read").name("#token", "token").val(":read", &day.token),
    };
    match table.put(&held, Some(unchanged)).await {
        Ok(()) => Ok(Claim::Held(held)),
        Err(StoreError::ConditionFailed) => Ok(Claim::Busy(now)),
        Err(e) => Err(e),
    }
}

/// Step names of the finishing transaction.
pub const DAY_CLAIM: &str = "vendor_day";

/// Finishes a held day (only its holder can: the token must still be the claim's) and counts the
/// vendor in the day's nightly run, in one transaction.
pub async fn finish_vendor_day(
    table: &Table,
    held: &VendorDayRecord,
    run_id: ForecastRunId,
    series: u32,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let done =
        VendorDayRecord { status: DayStatus::Done, run_id: Some(run_id), error: None, updated_at: now, ..held.clone() };
    let mut tx = table.tx();
    tx.put(DAY_CLAIM, &done, Some(still_held(held)))?;
    tx.update::<NightlyRunRecord>("nightly_run", &held.as_of, count(held.as_of, now, "done", u64::from(series)))?;
    table.commit(tx).await
}

/// Records a failed attempt on a held day (listed for the run's failure report until a later
/// attempt finishes it) and counts it in the day's nightly run.
pub async fn fail_vendor_day(table: &Table, held: &VendorDayRecord, error: &str) -> Result<(), StoreError> {
    let now = Utc::now();
    let failed = VendorDayRecord {
        status: DayStatus::Failed,
        error: Some(error.chars().take(1000).collect()),
        updated_at: now,
        ..held.clone()
    };
    let mut tx = table.tx();
    tx.put(DAY_CLAIM, &failed, Some(still_held(held)))?;
    tx.update::<NightlyRunRecord>("nightly_run", &held.as_of, count(held.as_of, now, "failed_attempts", 0))?;
    table.commit(tx).await
}

fn still_held(held: &VendorDayRecord) -> Expr {
    Expr::new("#token = :mine AND #status = :claimed")
        .name("#token", "token")
        .name("#status", "status")
        .val(":mine", &held.token)
        .val(":claimed", &DayStatus::Claimed)
}

/// Adds one to `counter` (and `series` to the series) of the day's run, creating the run's
/// record if no enqueueing invocation did (a message sent by hand).
fn count(as_of: NaiveDate, now: DateTime<Utc>, counter: &str, series: u64) -> Change {
    let update = Expr::new(
        "SET #as_of = if_not_exists(#as_of, :as_of), #updated = :now, #entity = :entity ADD #counter :one, #series :series",
    )
    .name("#as_of", "as_of")
    .name("#updated", "updated_at")
    .name("#entity", keys::ENTITY)
    .name("#counter", counter)
    .name("#series", "series")
    .val(":as_of", &as_of)
    .val(":now", &now)
    .val(":entity", NightlyRunRecord::NAME)
    .val(":one", &1u32)
    .val(":series", &series);
    Change::new(update)
}

/// Records that `vendors` vendors were enqueued for `as_of` (a retried enqueue keeps the larger
/// count and the first time).
pub async fn record_enqueued(table: &Table, as_of: NaiveDate, vendors: u32) -> Result<NightlyRunRecord, StoreError> {
    let now = Utc::now();
    let update = Expr::new(
        "SET #as_of = if_not_exists(#as_of, :as_of), #updated = :now, #enqueued = if_not_exists(#enqueued, :now), \
         #entity = :entity, #vendors = :vendors",
    )
    .name("#as_of", "as_of")
    .name("#updated", "updated_at")
    .name("#enqueued", "enqueued_at")
    .name("#entity", keys::ENTITY)
    .name("#vendors", "vendors")
    .val(":as_of", &as_of)
    .val(":now", &now)
    .val(":entity", NightlyRunRecord::NAME)
    .val(":vendors", &vendors);
    let larger = Expr::new("attribute_not_exists(#vendors) OR #vendors <= :vendors")
        .name("#vendors", "vendors")
        .val(":vendors", &vendors);
    match table.update::<NightlyRunRecord>(&as_of, Change::new(update).when(larger)).await {
        Ok(run) => Ok(run),
        Err(StoreError::ConditionFailed) => {
            table.get(&as_of).await?.ok_or_else(|| StoreError::Malformed("nightly run vanished".into()))
        }
        Err(e) => Err(e),
    }
}

/// The nightly run of `as_of`, if any.
pub async fn nightly_run(table: &Table, as_of: NaiveDate) -> Result<Option<NightlyRunRecord>, StoreError> {
    table.get(&as_of).await
}

/// The latest nightly runs, newest first.
pub async fn nightly_runs(table: &Table, page: &PageRequest) -> Result<Page<NightlyRunRecord>, StoreError> {
    table.query(&keys::nightly_runs(), page).await
}

/// Vendors whose forecast of `as_of` failed on its last attempt so far, with the error.
pub async fn failed_vendor_days(table: &Table, as_of: NaiveDate) -> Result<Vec<VendorDayRecord>, StoreError> {
    table.query_all(&keys::failed_vendor_days(as_of)).await
}

/// A vendor's day as recorded.
pub async fn vendor_day(
    table: &Table,
    vendor: VendorId,
    as_of: NaiveDate,
) -> Result<Option<VendorDayRecord>, StoreError> {
    table.get(&(vendor, as_of)).await
}

impl Entity for ForecastRecord {
    type Id = (VendorId, LocationId, String);
    const NAME: &'static str = "forecast";
    fn key((vendor, location, sku): &(VendorId, LocationId, String)) -> keys::Key {
        keys::forecast(*vendor, *location, sku)
    }
    fn key_of(&self) -> keys::Key {
        keys::forecast(self.vendor_id, self.location_id, &self.sku)
    }
    /// Only forecasts that order or are at risk are listed for replenishment.
    fn index_key(&self) -> Option<keys::IndexKey> {
        self.actionable()
            .then(|| keys::replenishment_listing(self.vendor_id, self.supplier_id, self.location_id, &self.sku))
    }
}

impl ForecastRecord {
    /// Whether the replenishment view lists it (it orders, is held for review, or is at risk).
    pub fn actionable(&self) -> bool {
        self.order_qty > 0.0 || self.review.is_some() || self.risk != Risk::None
    }
}

// ---- daily units as varints ----------------------------------------------------------------

/// Encodes daily units as unsigned LEB128 varints, trailing zero days dropped.
pub fn encode_units(days: &[u32]) -> Vec<u8> {
    let used = days.iter().rposition(|u| *u != 0).map_or(0, |i| i + 1);
    let mut out = Vec::with_capacity(used + used / 8);
    for &value in &days[..used] {
        let mut v = value;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
    }
    out
}

/// Decodes [`encode_units`]; a truncated or over-long varint is a malformed item.
pub fn decode_units(bytes: &[u8]) -> Result<Vec<u32>, StoreError> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut value, mut shift) = (0u64, 0u32);
    for &byte in bytes {
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            let day = u32::try_from(value).map_err(|_| StoreError::Malformed("daily units above u32".into()))?;
            out.push(day);
            (value, shift) = (0, 0);
        } else {
            shift += 7;
            if shift > 28 {
                return Err(StoreError::Malformed("daily units varint longer than 5 bytes".into()));
            }
        }
    }
    if shift != 0 {
        return Err(StoreError::Malformed("daily units end inside a varint".into()));
    }
    Ok(out)
}

// ---- settings and the vendor marker -----------------------------------------------------------

/// Lists the vendor for the nightly job (once: a repeat fails its condition and is ignored).
pub async fn mark_vendor(table: &Table, vendor: VendorId) -> Result<(), StoreError> {
    let record = DemandMarkerRecord { vendor_id: vendor, created_at: Utc::now() };
    match table.put(&record, Some(Expr::not_exists())).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates or replaces a SKU-location's settings (and lists the vendor).
pub async fn put_settings(table: &Table, settings: &DemandSettingsRecord) -> Result<(), StoreError> {
    mark_vendor(table, settings.vendor_id).await?;
    table.put(settings, None).await
}

pub async fn all_settings(table: &Table, vendor: VendorId) -> Result<Vec<DemandSettingsRecord>, StoreError> {
    table.query_all(&keys::demand_settings_of(vendor)).await
}

/// One page of the vendors that have demand data (every shard of the listing at once, oldest or
/// newest first as asked).
pub async fn vendors(table: &Table, page: &PageRequest) -> Result<Page<DemandMarkerRecord>, StoreError> {
    table.query_sharded(&keys::demand_vendors(), page).await
}

// ---- sales history ------------------------------------------------------------------------------

/// Sets the units of the given days (a later value for the same day wins), one read-modify-write
/// per calendar year touched, each guarded by the year item's version and retried on a lost race.
/// Returns the number of year items written.
pub async fn set_daily_units(
    table: &Table,
    vendor: VendorId,
    location: LocationId,
    sku: &str,
    days: &[(NaiveDate, u32)],
) -> Result<(usize, usize), StoreError> {
    let mut kept = 0;
    let mut by_year: BTreeMap<i32, Vec<(usize, u32)>> = BTreeMap::new();
    for (date, units) in days {
        by_year.entry(date.year()).or_default().push((date.ordinal0() as usize, *units));
    }
    for (year, changes) in &by_year {
        let id = (vendor, location, sku.to_string(), *year);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = table.get::<SalesHistoryRecord>(&id).await?;
            let mut kept_here = 0;
            let (mut daily, condition) = match &current {
                Some(r) => (
                    r.daily_units()?,
                    Expr::new("#version = :version").name("#version", "version").val(":version", &r.version),
                ),
                None => (Vec::new(), Expr::not_exists()),
            };
            for (day, units) in changes {
                if current.as_ref().is_some_and(|r| r.channel_day(*day)) {
                    // channel sales wrote this day: imported history never overwrites it
                    kept_here += 1;
                    continue;
                }
                if daily.len() <= *day {
                    daily.resize(day + 1, 0);
                }
                daily[*day] = *units;
            }
            let record = SalesHistoryRecord {
                vendor_id: vendor,
                location_id: location,
                sku: sku.to_string(),
                year: *year,
                units: encode_units(&daily),
                channel_days: current.as_ref().map(|r| r.channel_days.clone()).unwrap_or_default(),
                version: current.as_ref().map_or(1, |r| r.version + 1),
                updated_at: Utc::now(),
            };
            match table.put(&record, Some(condition)).await {
                Ok(()) => {
                    kept += kept_here;
                    break;
                }
                Err(StoreError::ConditionFailed) if attempt < 12 => {
                    // Another writer won: read again after a short, jittered pause.
                    let jitter = u64::from(Utc::now().timestamp_subsec_nanos() % 16);
                    tokio::time::sleep(Duration::from_millis(5 * attempt + jitter)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok((by_year.len(), kept))
}

/// One SKU-location's history year, if any day of it was ever written.
pub async fn history_year(
    table: &Table,
    vendor: VendorId,
    location: LocationId,
    sku: &str,
    year: i32,
) -> Result<Option<SalesHistoryRecord>, StoreError> {
    table.get::<SalesHistoryRecord>(&(vendor, location, sku.to_string(), year)).await
}

/// Every history item of the vendor's `locations` from `first_year` on: one paginated Query per
/// location, all in parallel.
pub async fn read_history(
    table: &Table,
    vendor: VendorId,
    locations: &[LocationId],
    first_year: i32,
) -> Result<Vec<SalesHistoryRecord>, StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for &location in locations {
        let table = table.clone();
        tasks.spawn(async move {
            let collection = keys::sales_history_at(vendor, location);
            table.query_all_where::<SalesHistoryRecord>(&collection, Some(year_from(first_year))).await
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let part = joined.map_err(|e| StoreError::Unavailable(format!("history reader stopped: {e}")))??;
        all.extend(part);
    }
    Ok(all)
}

fn year_from(first_year: i32) -> Expr {
    Expr::new("#year >= :first_year").name("#year", "year").val(":first_year", &first_year)
}

// ---- runs and forecasts ------------------------------------------------------------------------

pub async fn put_run(table: &Table, run: &ForecastRunRecord) -> Result<(), StoreError> {
    table.put(run, None).await
}

/// Every run of a vendor, oldest first.
pub async fn runs_of(table: &Table, vendor: VendorId) -> Result<Vec<ForecastRunRecord>, StoreError> {
    table.query_all(&keys::forecast_runs_of(vendor)).await
}

pub async fn latest_run(table: &Table, vendor: VendorId) -> Result<Option<ForecastRunRecord>, StoreError> {
    let page = PageRequest { limit: 1, cursor: None, newest_first: true };
    Ok(table.query(&keys::forecast_runs_of(vendor), &page).await?.items.into_iter().next())
}

/// Writes forecasts with BatchWriteItem (25 a request, `parallel` requests in flight), retrying
/// unprocessed items with backoff. Returns the number written.
pub async fn write_forecasts(
    table: &Table,
    forecasts: &[ForecastRecord],
    parallel: usize,
) -> Result<usize, StoreError> {
    let mut items = Vec::with_capacity(forecasts.len());
    for f in forecasts {
        items.push(to_item(f)?);
    }
    table.put_batch(items, parallel).await
}

/// Settings and history of many SKU-locations at once (bulk loads such as the benchmark's), with
/// the vendor listed for the nightly run. Returns the number of items written.
pub async fn load(
    table: &Table,
    settings: &[DemandSettingsRecord],
    history: &[SalesHistoryRecord],
    parallel: usize,
) -> Result<usize, StoreError> {
    let mut items = Vec::with_capacity(settings.len() + history.len());
    for s in settings {
        items.push(to_item(s)?);
    }
    let Some(vendor) = settings.first().map(|s| s.vendor_id) else { return Ok(0) };
    for h in history {
        items.push(to_item(h)?);
    }
    mark_vendor(table, vendor).await?;
    table.put_batch(items, parallel).await
}

/// One page of a vendor's forecasts (by location, then SKU), optionally filtered, reading on until
/// the page is full (see `Page::partial`).
pub async fn forecasts(
    table: &Table,
    vendor: VendorId,
    location: Option<LocationId>,
    risk: Option<Risk>,
    model: Option<&str>,
    page: &PageRequest,
) -> Result<Page<ForecastRecord>, StoreError> {
    let mut clauses = Vec::new();
    let mut filter = Expr::default();
    if let Some(risk) = risk {
        clauses.push("#risk = :risk");
        filter = filter.name("#risk", "risk").val(":risk", &risk);
    }
    if let Some(model) = model {
        clauses.push("#model = :model");
        filter = filter.name("#model", "model").val(":model", model);
    }
    filter.expression = clauses.join(" AND ");
    let filter = (!clauses.is_empty()).then_some(filter);
    table.query_filtered(&keys::forecasts_of(vendor, location), page, filter, |_| true).await
}

/// One SKU's forecast at each of `locations` (parallel reads), in the order of `locations`.
pub async fn forecasts_of_sku(
    table: &Table,
    vendor: VendorId,
    locations: &[LocationId],
    sku: &str,
) -> Result<Vec<ForecastRecord>, StoreError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, &location) in locations.iter().enumerate() {
        let (table, id) = (table.clone(), (vendor, location, sku.to_string()));
        tasks.spawn(async move { (i, table.get::<ForecastRecord>(&id).await) });
    }
    let mut found = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (i, got) = joined.map_err(|e| StoreError::Unavailable(format!("forecast reader stopped: {e}")))?;
        if let Some(f) = got? {
            found.push((i, f));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    Ok(found.into_iter().map(|(_, f)| f).collect())
}

/// Every actionable forecast of the vendor (optionally of one supplier), by supplier (those
/// without one last), location, SKU.
pub async fn actionable(
    table: &Table,
    vendor: VendorId,
    supplier: Option<SupplierId>,
) -> Result<Vec<ForecastRecord>, StoreError> {
    table.query_all(&keys::replenishment_of(vendor, supplier)).await
}

/// Every forecast of the vendor, by location then SKU.
pub async fn all_forecasts(table: &Table, vendor: VendorId) -> Result<Vec<ForecastRecord>, StoreError> {
    table.query_all(&keys::forecasts_of(vendor, None)).await
}

/// Rewrites a forecast with new labels unless a newer run replaced it since it was read
/// (`Ok(false)`: the newer one stands).
pub async fn relabel_forecast(table: &Table, forecast: &ForecastRecord) -> Result<bool, StoreError> {
    let same_run = Expr::new("run_id = :run").val(":run", &forecast.run_id);
    match table.put(forecast, Some(same_run)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces a SKU-location's settings with `after` unless they changed since `before` was read
/// (`Ok(false)`: someone wrote them meanwhile, and theirs stand).
pub async fn replace_settings(
    table: &Table,
    before: &DemandSettingsRecord,
    after: &DemandSettingsRecord,
) -> Result<bool, StoreError> {
    let unchanged = Expr::new("updated_at = :read").val(":read", &before.updated_at);
    match table.put(after, Some(unchanged)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(status: DayStatus, lease_until: DateTime<Utc>) -> VendorDayRecord {
        VendorDayRecord {
            vendor_id: VendorId::generate(),
            as_of: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            status,
            token: "t".into(),
            lease_until,
            attempts: 1,
            run_id: None,
            error: None,
            updated_at: lease_until,
        }
    }

    #[test]
    fn a_day_is_free_unless_done_or_held_by_a_live_lease() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(5);
        assert_eq!(claim_decision(None, now), None);
        assert_eq!(claim_decision(Some(&day(DayStatus::Done, later)), now), Some(Claim::Done));
        assert_eq!(claim_decision(Some(&day(DayStatus::Failed, later)), now), None);
        assert_eq!(claim_decision(Some(&day(DayStatus::Claimed, later)), now), Some(Claim::Busy(later)));
        // A worker that died past its lease (longer than the function can run) frees the day.
        assert_eq!(claim_decision(Some(&day(DayStatus::Claimed, now)), later), None);
    }

    #[test]
    fn only_failed_days_are_listed_for_the_failure_report() {
        let now = Utc::now();
        assert!(day(DayStatus::Failed, now).index_key().is_some());
        assert!(day(DayStatus::Claimed, now).index_key().is_none());
        assert!(day(DayStatus::Done, now).index_key().is_none());
    }

    #[test]
    fn daily_units_round_trip_through_varints_with_trailing_zero_days_dropped() {
        let days = vec![0, 1, 127, 128, 300, 16_383, 16_384, 2_000_000, u32::MAX, 0, 5, 0, 0];
        let bytes = encode_units(&days);
        assert_eq!(decode_units(&bytes).unwrap(), days[..11].to_vec());
        assert!(encode_units(&[0; 366]).is_empty());
    }

    #[test]
    fn a_year_of_ordinary_daily_sales_takes_one_byte_a_day() {
        let year: Vec<u32> = (0..365).map(|d| (d % 40) as u32).collect();
        assert_eq!(encode_units(&year).len(), 365);
    }

    #[test]
    fn truncated_or_overlong_varints_are_malformed() {
        assert!(decode_units(&[0x80]).is_err());
        assert!(decode_units(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err());
        assert!(decode_units(&[0xff, 0xff, 0xff, 0xff, 0x7f]).is_err(), "above u32::MAX");
    }

    #[test]
    fn a_history_record_carries_its_units_as_a_binary_attribute() {
        let record = SalesHistoryRecord {
            vendor_id: VendorId::generate(),
            location_id: LocationId::generate(),
            sku: "MILK-1L".into(),
            year: 2026,
            units: encode_units(&[3, 0, 200]),
            channel_days: Vec::new(),
            version: 1,
            updated_at: Utc::now(),
        };
        let item: crate::table::Item = serde_dynamo::to_item(&record).unwrap();
        assert!(item["units"].is_b(), "{:?}", item["units"]);
        let back: SalesHistoryRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.daily_units().unwrap(), vec![3, 0, 200]);
    }
}
