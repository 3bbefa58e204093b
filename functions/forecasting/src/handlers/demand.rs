//! Writing demand data: a SKU-location's replenishment settings and its daily sales, and running
//! the forecast now. Owner and inventory managers (`InventoryWrite`).

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use chrono::{Datelike, NaiveDate, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{CategoryId, LocationId, SupplierId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::Sku;
use stockyard_http::error::ErrorBody;
use stockyard_http::response::{json, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::demand::{self, DemandSettingsRecord};
use stockyard_store::{Table, categories, locations, products, suppliers};
use utoipa::ToSchema;

use crate::job::{self, RunSummary};

/// SKUs are codes: letters, digits, '-' and '_', stored upper-case.
pub fn sku(field: &str, raw: &str) -> Result<String, stockyard_domain::FieldError> {
    Sku::parse(field, raw)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandSettingsRequest {
    /// The vendor's supplier that replenishes the SKU here (`GET /vendors/{v}/suppliers`):
    /// suggestions are grouped by it and drafts made from them are addressed to it. Absent: the
    /// suggestion is listed but not ordered. 422 `unknown_supplier` when the vendor has no such
    /// supplier.
    #[serde(default)]
    pub supplier_id: Option<SupplierId>,
    /// The catalog category whose SKUs share this one's weekly pattern (the forecast pools them
    /// per location). Absent: the category of the vendor's catalog product with this SKU, when
    /// there is one; otherwise the SKU's pattern is its own. 422 when no such category exists.
    #[serde(default)]
    pub category_id: Option<CategoryId>,
    /// 0–120 days from order to receipt.
    #[schema(example = 3, minimum = 0, maximum = 120)]
    pub lead_time_days: i64,
    /// 1–60 days between orders.
    #[schema(example = 7, minimum = 1, maximum = 60)]
    pub review_period_days: i64,
    /// Target cycle service level, 0.5–0.999.
    #[schema(example = 0.95, minimum = 0.5, maximum = 0.999)]
    pub service_level: f64,
    /// Smallest order the supplier accepts (0 = none), up to 1,000,000.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub min_order_qty: i64,
    /// Orders are whole multiples of this (1–10,000).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 10_000)]
    pub pack_multiple: i64,
    /// Units on hand (0–10,000,000, default 0), for a SKU that Stockyard does not stock at this
    /// location (history imported for goods it does not hold). Once the location has a stock item
    /// of the SKU, forecasts count its available units instead and ignore this.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub on_hand: i64,
    /// Units ordered and not yet received (0–10,000,000, default 0), for a SKU that Stockyard does
    /// not stock here; a stock item's incoming units (open purchase orders, transfers) replace it.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub incoming: i64,
}

fn one() -> i64 {
    1
}

fn whole(field: &str, value: i64, min: i64, max: i64) -> Result<u32, ApiError> {
    if (min..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(ApiError::invalid(field, format!("must be a whole number from {min} to {max}")))
    }
}

/// Validates a settings body into a record (no I/O).
pub fn settings_record(
    vendor_id: VendorId,
    location_id: LocationId,
    sku: String,
    body: &DemandSettingsRequest,
) -> Result<DemandSettingsRecord, ApiError> {
    let lead_time_days = whole("lead_time_days", body.lead_time_days, 0, 120)?;
    let review_period_days = whole("review_period_days", body.review_period_days, 1, 60)?;
    if !(body.service_level.is_finite() && (0.5..=0.999).contains(&body.service_level)) {
        return Err(ApiError::invalid("service_level", "must be from 0.5 to 0.999"));
    }
    Ok(DemandSettingsRecord {
        vendor_id,
        location_id,
        sku,
        supplier_id: body.supplier_id,
        category_id: body.category_id,
        unresolved_supplier_code: None,
        unresolved_category_code: None,
        lead_time_days,
        review_period_days,
        service_level: body.service_level,
        min_order_qty: whole("min_order_qty", body.min_order_qty, 0, 1_000_000)?,
        pack_multiple: whole("pack_multiple", body.pack_multiple, 1, 10_000)?,
        on_hand: whole("on_hand", body.on_hand, 0, 10_000_000)?,
        incoming: whole("incoming", body.incoming, 0, 10_000_000)?,
        updated_at: Utc::now(),
    })
}

/// Authorises a demand write and checks that the location is the vendor's, both reads at once;
/// a refusal wins over a missing location, so strangers learn nothing about the vendor's locations.
async fn authorize_at_location(cx: &Ctx<'_>, vendor_id: VendorId, location_id: LocationId) -> Result<(), ApiError> {
    let (access, location) = tokio::join!(
        cx.vendor(VendorPermission::InventoryWrite),
        locations::get(cx.store().await?, vendor_id, location_id)
    );
    access?;
    match location? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound("location")),
    }
}

/// Create or replace the replenishment settings and stock position of a SKU at a location.
#[utoipa::path(put, path = "/vendors/{vendorId}/demand/{locationId}/{sku}", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = DemandSettingsRequest,
    params(("vendorId" = VendorId, Path), ("locationId" = LocationId, Path), ("sku" = Sku, Path)),
    responses((status = 200, body = DemandSettingsRecord), (status = 403, body = ErrorBody),
              (status = 404, description = "no such location in this vendor", body = ErrorBody), (status = 422, description = "invalid_field or unknown_supplier", body = ErrorBody)))]
pub async fn put_demand_settings(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let (vendor_id, location_id) = (cx.vendor_id()?, cx.path("locationId", LocationId::parse)?);
    let sku = cx.path("sku", sku)?;
    let body: DemandSettingsRequest = cx.body()?;
    let mut record = settings_record(vendor_id, location_id, sku, &body)?;
    authorize_at_location(&cx, vendor_id, location_id).await?;
    let table = cx.store().await?;
    record.category_id = check_references(table, &record).await?;
    demand::put_settings(table, &record).await?;
    Ok(ok(&record))
}

/// Checks that the settings' supplier is the vendor's and their category exists, and returns the
/// category to store: the one given, else the category of the vendor's catalog product with the
/// SKU, if any.
async fn check_references(table: &Table, record: &DemandSettingsRecord) -> Result<Option<CategoryId>, ApiError> {
    if let Some(supplier) = record.supplier_id
        && suppliers::get(table, record.vendor_id, supplier).await?.is_none()
    {
        return Err(ApiError::unprocessable(
            "unknown_supplier",
            Some("supplier_id"),
            "this vendor has no such supplier",
        ));
    }
    match record.category_id {
        Some(category) => match categories::get(table, category).await? {
            Some(_) => Ok(Some(category)),
            None => Err(ApiError::invalid("category_id", "is not a category")),
        },
        None => catalog_category(table, record.vendor_id, &record.sku).await,
    }
}

/// The category of the vendor's catalog product that has a variant with this SKU, if any.
pub async fn catalog_category(table: &Table, vendor: VendorId, sku: &str) -> Result<Option<CategoryId>, ApiError> {
    let Some(product) = products::sku_owner(table, vendor, sku).await? else { return Ok(None) };
    Ok(products::get(table, product).await?.map(|p| p.product.category_id))
}

/// A day of sales as the API takes it: a date (`values::date`) from [`EARLIEST_DATE`], which the
/// pattern's year says, and not in the future, which no schema can say (422).
pub struct SalesDate;

impl utoipa::PartialSchema for SalesDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("YYYY-MM-DD, from 2000-01-01 and not in the future (UTC); each date once per request."))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Date)))
            .pattern(Some("^2[0-9]{3}-[0-9]{2}-[0-9]{2}$"))
            .examples([serde_json::json!("2026-11-20")])
            .into()
    }
}

impl ToSchema for SalesDate {}

/// At most this many days per request.
pub const MAX_DAYS_PER_REQUEST: usize = 366;
/// No sales before this day are accepted.
pub const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a valid date");

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSalesRequest {
    /// 1–366 days; a day sent again replaces its units.
    #[schema(min_items = 1, max_items = 366)]
    pub days: Vec<DailyUnits>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DailyUnits {
    #[schema(value_type = SalesDate)]
    pub date: String,
    /// Units sold that day, 0–1,000,000.
    #[schema(example = 3, minimum = 0, maximum = 1_000_000)]
    pub units: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordSalesResponse {
    pub location_id: LocationId,
    pub sku: String,
    pub days_written: usize,
    /// Days channel sales have written: imported history never overwrites them.
    pub days_kept: usize,
    /// Calendar years whose history changed.
    pub years_written: usize,
}

/// Validates the days of a sales request against `today` (no I/O).
pub fn sales_days(body: &RecordSalesRequest, today: NaiveDate) -> Result<Vec<(NaiveDate, u32)>, ApiError> {
    if body.days.is_empty() {
        return Err(ApiError::invalid("days", "must hold at least one day"));
    }
    if body.days.len() > MAX_DAYS_PER_REQUEST {
        return Err(ApiError::invalid("days", format!("must hold at most {MAX_DAYS_PER_REQUEST} days")));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(body.days.len());
    for (i, day) in body.days.iter().enumerate() {
        let field = |name: &str| format!("days[{i}].{name}");
        let date = stockyard_domain::values::date(&field("date"), &day.date)?;
        if date > today {
            return Err(ApiError::invalid(&field("date"), "is in the future"));
        }
        if date < EARLIEST_DATE {
            return Err(ApiError::invalid(&field("date"), "must be 2000-01-01 or later"));
        }
        if !seen.insert(date) {
            return Err(ApiError::invalid(&field("date"), "appears twice in this request"));
        }
        let units = whole(&field("units"), day.units, 0, 1_000_000)?;
        out.push((date, units));
    }
    Ok(out)
}

/// Set the units sold of a SKU at a location on the given days, to import older history (a day
/// sent again is replaced; a day channel sales have written is kept as it is).
#[utoipa::path(post, path = "/vendors/{vendorId}/demand/{locationId}/{sku}/sales", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    request_body = RecordSalesRequest,
    params(("vendorId" = VendorId, Path), ("locationId" = LocationId, Path), ("sku" = Sku, Path)),
    responses((status = 200, body = RecordSalesResponse), (status = 403, body = ErrorBody),
              (status = 404, description = "no such location in this vendor", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_daily_sales(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let (vendor_id, location_id) = (cx.vendor_id()?, cx.path("locationId", LocationId::parse)?);
    let sku = cx.path("sku", sku)?;
    let body: RecordSalesRequest = cx.body()?;
    let days = sales_days(&body, Utc::now().date_naive())?;
    authorize_at_location(&cx, vendor_id, location_id).await?;
    let (years_written, days_kept) =
        demand::set_daily_units(cx.store().await?, vendor_id, location_id, &sku, &days).await?;
    let days_written = days.len() - days_kept;
    Ok(ok(&RecordSalesResponse { location_id, sku, days_written, days_kept, years_written }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DailySales {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub units: u32,
    /// Where the day's units come from: `channels` (the consolidated sales record) or `imported`.
    pub source: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SalesHistoryResponse {
    pub location_id: LocationId,
    pub sku: String,
    /// Every day from `from` to `to`, oldest first (0 where nothing was sold or recorded).
    pub days: Vec<DailySales>,
}

/// A SKU-location's daily sales history as the forecasts read it: channel sales aggregated per
/// day, and imported history (`?from=` and `?to=`, default the last 28 days; at most 366 days).
#[utoipa::path(get, path = "/vendors/{vendorId}/demand/{locationId}/{sku}/sales", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager", "viewer"])),
    params(("vendorId" = VendorId, Path), ("locationId" = LocationId, Path), ("sku" = Sku, Path),
           ("from" = Option<SalesDate>, Query), ("to" = Option<SalesDate>, Query)),
    responses((status = 200, body = SalesHistoryResponse), (status = 403, body = ErrorBody),
              (status = 404, description = "no such location in this vendor", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_daily_sales(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    cx.vendor_id()?;
    let location_id = cx.path("locationId", LocationId::parse)?;
    let sku = cx.path("sku", sku)?;
    let today = Utc::now().date_naive();
    let to = cx.query_as("to", stockyard_domain::values::date)?.unwrap_or(today);
    let from = cx.query_as("from", stockyard_domain::values::date)?.unwrap_or(to - chrono::Days::new(27));
    if from > to {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
    if (to - from).num_days() >= 366 {
        return Err(ApiError::invalid("from", "the range holds at most 366 days"));
    }
    let vendor = cx.vendor(VendorPermission::DemandRead).await?.id();
    let table = cx.store().await?;
    stockyard_store::locations::get(table, vendor, location_id).await?.ok_or(ApiError::NotFound("location"))?;
    let mut years = BTreeMap::new();
    for year in from.year()..=to.year() {
        years.insert(year, demand::history_year(table, vendor, location_id, &sku, year).await?);
    }
    let mut days = Vec::new();
    let mut date = from;
    while date <= to {
        let record = years.get(&date.year()).and_then(Option::as_ref);
        let day = date.ordinal0() as usize;
        let units = match record {
            Some(r) => r.daily_units()?.get(day).copied().unwrap_or(0),
            None => 0,
        };
        let source = if record.is_some_and(|r| r.channel_day(day)) { "channels" } else { "imported" };
        days.push(DailySales { date, units, source: source.into() });
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    Ok(ok(&SalesHistoryResponse { location_id, sku, days }))
}

/// A vendor with more SKU-locations than this is forecast by the nightly run only.
pub const MAX_SYNC_SERIES: usize = 20_000;

/// Forecast this vendor now from history up to yesterday, and answer the run's summary.
#[utoipa::path(post, path = "/vendors/{vendorId}/forecast-runs", tag = "forecasting", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path)),
    responses((status = 201, body = RunSummary), (status = 403, body = ErrorBody),
              (status = 422, description = "run_too_large: the vendor is forecast nightly only", body = ErrorBody)))]
pub async fn create_forecast_run(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let vendor_id = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    let started = Instant::now();
    let settings = demand::all_settings(cx.store().await?, vendor_id).await?;
    let series = settings.len();
    if series > MAX_SYNC_SERIES {
        return Err(ApiError::unprocessable(
            "run_too_large",
            None,
            format!(
                "{series} SKU-locations are more than a request can forecast ({MAX_SYNC_SERIES}); the nightly run covers them"
            ),
        ));
    }
    let summary = job::run_settings(cx.store().await?, vendor_id, settings, job::default_as_of(), "api", started)
        .await
        .map_err(ApiError::internal)?;
    Ok(json(StatusCode::CREATED, &summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn days(pairs: &[(&str, i64)]) -> RecordSalesRequest {
        RecordSalesRequest { days: pairs.iter().map(|(d, u)| DailyUnits { date: d.to_string(), units: *u }).collect() }
    }

    #[test]
    fn future_dates_negative_units_and_repeated_days_are_refused_naming_the_entry() {
        let today = date("2026-11-25");
        let field = |r: Result<_, ApiError>| r.unwrap_err().field().map(String::from);
        assert_eq!(
            field(sales_days(&days(&[("2026-11-25", 1), ("2026-11-26", 1)]), today)),
            Some("days[1].date".into())
        );
        assert_eq!(field(sales_days(&days(&[("2026-11-20", -1)]), today)), Some("days[0].units".into()));
        assert_eq!(field(sales_days(&days(&[("2026-02-30", 1)]), today)), Some("days[0].date".into()));
        for loose in ["2026-1-1", "+2026-01-01", " 2026-11-01", "2026-11-01 "] {
            assert_eq!(field(sales_days(&days(&[(loose, 1)]), today)), Some("days[0].date".into()), "{loose:?}");
        }
        assert_eq!(
            field(sales_days(&days(&[("2026-11-20", 1), ("2026-11-20", 2)]), today)),
            Some("days[1].date".into())
        );
        assert_eq!(field(sales_days(&days(&[]), today)), Some("days".into()));
        let too_many: Vec<(String, i64)> =
            (0..367).map(|i| ((today - chrono::Duration::days(i)).to_string(), 1)).collect();
        let body =
            RecordSalesRequest { days: too_many.into_iter().map(|(date, units)| DailyUnits { date, units }).collect() };
        assert_eq!(field(sales_days(&body, today)), Some("days".into()));
    }

    #[test]
    fn the_documented_first_year_is_the_earliest_date() {
        assert_eq!(EARLIEST_DATE, date("2000-01-01"));
    }

    #[test]
    fn a_full_year_of_days_up_to_today_is_accepted() {
        let today = date("2026-11-25");
        let body = RecordSalesRequest {
            days: (0..366)
                .map(|i| DailyUnits { date: (today - chrono::Duration::days(i)).to_string(), units: 0 })
                .collect(),
        };
        assert_eq!(sales_days(&body, today).unwrap().len(), 366);
    }

    #[test]
    fn settings_outside_their_ranges_are_refused_naming_the_field() {
        let good = || DemandSettingsRequest {
            supplier_id: Some(SupplierId::generate()),
            category_id: None,
            lead_time_days: 3,
            review_period_days: 7,
            service_level: 0.95,
            min_order_qty: 0,
            pack_multiple: 1,
            on_hand: 10,
            incoming: 0,
        };
        let (v, l) = (VendorId::generate(), LocationId::generate());
        let body = good();
        let record = settings_record(v, l, "MILK".into(), &body).unwrap();
        assert_eq!((record.supplier_id, record.category_id), (body.supplier_id, None));
        assert!(record.unresolved_supplier_code.is_none() && record.unresolved_category_code.is_none());
        type Spoil = Box<dyn Fn(&mut DemandSettingsRequest)>;
        let cases: Vec<(&str, Spoil)> = vec![
            ("lead_time_days", Box::new(|b| b.lead_time_days = 121)),
            ("review_period_days", Box::new(|b| b.review_period_days = 0)),
            ("service_level", Box::new(|b| b.service_level = 1.0)),
            ("min_order_qty", Box::new(|b| b.min_order_qty = -1)),
            ("pack_multiple", Box::new(|b| b.pack_multiple = 0)),
            ("on_hand", Box::new(|b| b.on_hand = -5)),
            ("incoming", Box::new(|b| b.incoming = 10_000_001)),
        ];
        for (field, spoil) in cases {
            let mut body = good();
            spoil(&mut body);
            let err = settings_record(v, l, "MILK".into(), &body).unwrap_err();
            assert_eq!(err.field(), Some(field));
        }
    }
}
