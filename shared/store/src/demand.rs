//! Demand data of a vendor: replenishment settings and daily sales history per SKU-location,
//! and what the forecast makes of them (forecast items, run records). Access patterns 26–36 of
//! infra/data-model.md.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::demand::Risk;
use stockyard_domain::ids::{ForecastRunId, LocationId, VendorId};

use crate::entity::Entity;
use crate::table::{Expr, to_item};
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
    pub category: String,
    pub supplier: String,
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

/// The latest forecast and replenishment suggestion of one SKU-location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRecord {
    pub vendor_id: VendorId,
    pub location_id: LocationId,
    pub sku: String,
    pub category: String,
    pub supplier: String,
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
    pub on_hand: u32,
    pub incoming: u32,
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
            .then(|| keys::replenishment_listing(self.vendor_id, &self.supplier, self.location_id, &self.sku))
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
) -> Result<usize, StoreError> {
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
            let (mut daily, condition) = match &current {
                Some(r) => (
                    r.daily_units()?,
                    Expr::new("#version = :version").name("#version", "version").val(":version", &r.version),
                ),
                None => (Vec::new(), Expr::not_exists()),
            };
            for (day, units) in changes {
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
                version: current.as_ref().map_or(1, |r| r.version + 1),
                updated_at: Utc::now(),
            };
            match table.put(&record, Some(condition)).await {
                Ok(()) => break,
                Err(StoreError::ConditionFailed) if attempt < 12 => {
                    // Another writer won: read again after a short, jittered pause.
                    let jitter = u64::from(Utc::now().timestamp_subsec_nanos() % 16);
                    tokio::time::sleep(Duration::from_millis(5 * attempt + jitter)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(by_year.len())
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

/// Every actionable forecast of the vendor (optionally of one supplier), by supplier, location, SKU.
pub async fn actionable(
    table: &Table,
    vendor: VendorId,
    supplier: Option<&str>,
) -> Result<Vec<ForecastRecord>, StoreError> {
    table.query_all(&keys::replenishment_of(vendor, supplier)).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
            version: 1,
            updated_at: Utc::now(),
        };
        let item: crate::table::Item = serde_dynamo::to_item(&record).unwrap();
        assert!(item["units"].is_b(), "{:?}", item["units"]);
        let back: SalesHistoryRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.daily_units().unwrap(), vec![3, 0, 200]);
    }
}
