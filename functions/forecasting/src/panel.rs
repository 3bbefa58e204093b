//! From stored demand data to the engine's input, and from its output to forecast records.
//! Pure: no I/O, so the shape of a run is unit-tested without the store or the engine.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use ndarray::{Array2, ArrayView1};
use stockyard_analytics::outliers::AbsurdDay;
use stockyard_analytics::replenish::{self, StockPosition, Suggestion};
use stockyard_analytics::{Calendar, InvalidDemand, Panel};
use stockyard_analytics::{EngineConfig, SeriesForecast};
use stockyard_domain::ids::{ForecastRunId, LocationId};
use stockyard_domain::stock::{StockItem, availability};
use stockyard_store::StoreError;
use stockyard_store::demand::{DemandSettingsRecord, ForecastRecord, Pool, SalesHistoryRecord, StockSource};

/// Days of history a run uses at most (two years).
pub const MAX_HISTORY_DAYS: usize = 730;
/// A run never trims its panel below this many days, so every model has a few weeks to look at.
pub const MIN_HISTORY_DAYS: usize = 56;
/// Daily points kept per forecast.
pub const HORIZON_DAYS: usize = 28;
/// Days past the history the panel's calendar covers (longer than any horizon).
const CALENDAR_AHEAD_DAYS: usize = 366;
/// Service levels whose quantiles every forecast reports.
pub const REPORTED_LEVELS: [f64; 3] = [0.90, 0.95, 0.98];

/// The panel of one vendor: rows in the order of the settings it was built from.
#[derive(Debug)]
pub struct VendorPanel {
    pub panel: Panel,
    /// Day of column 0.
    pub start: NaiveDate,
    /// The last day of history (the last column).
    pub as_of: NaiveDate,
}

/// First day of the window ending on `as_of`.
pub fn window_start(as_of: NaiveDate) -> NaiveDate {
    as_of - Duration::days(MAX_HISTORY_DAYS as i64 - 1)
}

/// Builds the panel: one row per settings item, the last two years of daily units ending on
/// `as_of` (history of SKU-locations without settings is ignored), leading days on which nothing
/// sold anywhere trimmed (keeping at least [`MIN_HISTORY_DAYS`]); group = category × location.
pub fn build_panel(
    settings: &[DemandSettingsRecord],
    histories: &[SalesHistoryRecord],
    as_of: NaiveDate,
) -> Result<VendorPanel, StoreError> {
    let start = window_start(as_of);
    let rows: HashMap<(LocationId, &str), usize> =
        settings.iter().enumerate().map(|(i, s)| ((s.location_id, s.sku.as_str()), i)).collect();
    let mut demand = Array2::<f32>::zeros((settings.len(), MAX_HISTORY_DAYS));
    for h in histories {
        let Some(&row) = rows.get(&(h.location_id, h.sku.as_str())) else { continue };
        let Some(jan1) = NaiveDate::from_yo_opt(h.year, 1) else { continue };
        let offset = (jan1 - start).num_days();
        for (day, units) in h.daily_units()?.into_iter().enumerate() {
            let col = offset + day as i64;
            if (0..MAX_HISTORY_DAYS as i64).contains(&col) {
                demand[[row, col as usize]] = units as f32;
            }
        }
    }
    let first_sale = (0..MAX_HISTORY_DAYS).find(|&c| demand.column(c).iter().any(|u| *u != 0.0));
    let trim = first_sale.unwrap_or(MAX_HISTORY_DAYS).min(MAX_HISTORY_DAYS - MIN_HISTORY_DAYS);
    let demand = demand.slice(ndarray::s![.., trim..]).to_owned();
    let start = start + Duration::days(trim as i64);

    let mut groups: HashMap<(Pool, LocationId), u32> = HashMap::new();
    let group = settings
        .iter()
        .map(|s| {
            let next = groups.len() as u32;
            *groups.entry((s.pool(), s.location_id)).or_insert(next)
        })
        .collect();
    let days = demand.ncols();
    let mut panel = Panel::from_demand(demand, start.weekday().num_days_from_monday() as u8);
    panel.group = group;
    // Day-of-month effects (paydays, month ends) need the dates; a year past the history covers any
    // horizon. No event calendar or regional flags exist yet.
    panel.calendar = Some(Calendar::plain((start.year(), start.month(), start.day()), days + CALENDAR_AHEAD_DAYS, 1));
    Ok(VendorPanel { panel, start, as_of })
}

/// One line per series the engine refused (see [`stockyard_analytics::forecast_usable`]): SKU,
/// location, the first bad day and its value.
pub fn rejected(settings: &[DemandSettingsRecord], start: NaiveDate, invalid: &[InvalidDemand]) -> Vec<String> {
    invalid
        .iter()
        .filter_map(|bad| {
            let s = settings.get(bad.series)?;
            let day = start + Duration::days(bad.day as i64);
            Some(format!(
                "{} at {}: demand on {day} is {}, not a number of units at least 0",
                s.sku, s.location_id, bad.value
            ))
        })
        .collect()
}

/// The engine configuration for these settings: a horizon that covers every lead time + review
/// period (at least 28 days), and the reported levels plus every target service level.
pub fn engine_config(settings: &[DemandSettingsRecord]) -> EngineConfig {
    let longest = settings.iter().map(cover_days).max().unwrap_or(0);
    let mut levels: Vec<f64> = REPORTED_LEVELS.to_vec();
    for s in settings {
        if !levels.iter().any(|l| (l - s.service_level).abs() < 1e-9) {
            levels.push(s.service_level);
        }
    }
    levels.sort_by(f64::total_cmp);
    EngineConfig { horizon: HORIZON_DAYS.max(longest), service_levels: levels, ..EngineConfig::default() }
}

/// Lead time + review period: the days an order placed now must cover.
pub fn cover_days(s: &DemandSettingsRecord) -> usize {
    (s.lead_time_days + s.review_period_days) as usize
}

/// The most a series sold over `days` consecutive days of its history, counting the days the
/// engine did not trust at what it counted them (so an absurd day cannot silence the guard).
pub fn largest_cycle_demand(row: ArrayView1<f32>, absurd: &[AbsurdDay], days: usize) -> f64 {
    let mut history: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
    for a in absurd {
        if let Some(v) = history.get_mut(a.day) {
            *v = a.counted;
        }
    }
    replenish::largest_total(&history, days)
}

/// The stock a SKU-location's suggestion starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock {
    /// Units that can serve demand: available stock (on hand less reserved and expired units).
    pub on_hand: u32,
    /// Units on their way: open purchase orders and transfers in transit.
    pub incoming: u32,
    pub source: StockSource,
}

impl Stock {
    /// What the settings declare (a SKU-location Stockyard holds no stock item for).
    pub fn declared(s: &DemandSettingsRecord) -> Self {
        Self { on_hand: s.on_hand, incoming: s.incoming, source: StockSource::Declared }
    }

    /// A stock item as it stands on `today`, with what its stock shards have free (`in_shards`).
    pub fn tracked(item: &StockItem, in_shards: u32, today: NaiveDate) -> Self {
        let on_hand = availability(item, today).available.saturating_add(in_shards);
        Self { on_hand, incoming: item.incoming, source: StockSource::Tracked }
    }
}

/// The stock of each of `settings`, in their order: the vendor's stock item of the SKU at the
/// location where there is one (`items`, as read for the run, each with what its shards have
/// free), else the declared figures.
pub fn stocks(settings: &[DemandSettingsRecord], items: &[(StockItem, u32)], today: NaiveDate) -> Vec<Stock> {
    let tracked: HashMap<(&str, LocationId), &(StockItem, u32)> =
        items.iter().map(|i| ((i.0.sku.as_str(), i.0.location_id), i)).collect();
    settings
        .iter()
        .map(|s| match tracked.get(&(s.sku.as_str(), s.location_id)) {
            Some((item, in_shards)) => Stock::tracked(item, *in_shards, today),
            None => Stock::declared(s),
        })
        .collect()
}

/// The stock position of a SKU-location holding `stock`; `largest_cycle_demand` as
/// [`largest_cycle_demand`] gives.
pub fn stock_position(s: &DemandSettingsRecord, stock: Stock, largest_cycle_demand: Option<f64>) -> StockPosition {
    StockPosition {
        lead_time_days: s.lead_time_days,
        review_period_days: s.review_period_days,
        service_level: s.service_level,
        on_hand: f64::from(stock.on_hand),
        incoming: f64::from(stock.incoming),
        min_order_qty: f64::from(s.min_order_qty),
        order_multiple: f64::from(s.pack_multiple.max(1)),
        largest_cycle_demand,
    }
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    if x.is_finite() { (x * f).round() / f } else { 0.0 }
}

/// What a run stores for one SKU-location.
pub struct RunContext {
    pub run_id: ForecastRunId,
    pub as_of: NaiveDate,
    pub generated_at: DateTime<Utc>,
}

pub fn forecast_record(
    s: &DemandSettingsRecord,
    stock: Stock,
    forecast: &SeriesForecast,
    suggestion: &Suggestion,
    run: &RunContext,
) -> ForecastRecord {
    let days = cover_days(s);
    let daily: Vec<f64> = forecast.point.iter().take(HORIZON_DAYS).map(|p| round(p.max(0.0), 3)).collect();
    ForecastRecord {
        vendor_id: s.vendor_id,
        location_id: s.location_id,
        sku: s.sku.clone(),
        supplier_id: s.supplier_id,
        category_id: s.category_id,
        model: forecast.model.name().to_string(),
        demand_28d: round(forecast.demand_over(HORIZON_DAYS).max(0.0), 2),
        daily,
        lead_time_days: s.lead_time_days,
        review_period_days: s.review_period_days,
        service_level: s.service_level,
        expected_demand: round(forecast.demand_over(days).max(0.0), 2),
        p90: round(forecast.quantile(days, 0.90).max(0.0), 2),
        p95: round(forecast.quantile(days, 0.95).max(0.0), 2),
        p98: round(forecast.quantile(days, 0.98).max(0.0), 2),
        on_hand: stock.on_hand,
        incoming: stock.incoming,
        stock_source: stock.source,
        safety_stock: round(suggestion.safety_stock, 2),
        reorder_point: round(suggestion.reorder_point, 2),
        order_up_to: round(suggestion.order_up_to, 2),
        order_qty: round(suggestion.order_qty.max(0.0), 2),
        days_of_cover: suggestion.days_of_cover.filter(|d| d.is_finite()).map(|d| round(d, 1)),
        risk: suggestion.risk,
        review: suggestion.review.as_ref().map(|r| r.to_string()),
        run_id: run.run_id,
        as_of: run.as_of,
        generated_at: run.generated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::ids::{CategoryId, SupplierId, VendorId};
    use stockyard_store::demand::encode_units;

    /// One id per category name, the same within a test run.
    fn category(name: &str) -> CategoryId {
        static IDS: std::sync::Mutex<Vec<(String, CategoryId)>> = std::sync::Mutex::new(Vec::new());
        let mut ids = IDS.lock().unwrap();
        if let Some((_, id)) = ids.iter().find(|(n, _)| n == name) {
            return *id;
        }
        let id = CategoryId::generate();
        ids.push((name.to_string(), id));
        id
    }

    fn settings(vendor: VendorId, location: LocationId, sku: &str, category_name: &str) -> DemandSettingsRecord {
        DemandSettingsRecord {
            vendor_id: vendor,
            location_id: location,
            sku: sku.into(),
            supplier_id: Some(SupplierId::generate()),
            category_id: Some(category(category_name)),
            unresolved_supplier_code: None,
            unresolved_category_code: None,
            lead_time_days: 5,
            review_period_days: 7,
            service_level: 0.97,
            min_order_qty: 0,
            pack_multiple: 1,
            on_hand: 10,
            incoming: 0,
            updated_at: Utc::now(),
        }
    }

    fn history(location: LocationId, sku: &str, year: i32, days: &[u32]) -> SalesHistoryRecord {
        SalesHistoryRecord {
            vendor_id: VendorId::generate(),
            location_id: location,
            sku: sku.into(),
            year,
            units: encode_units(days),
            channel_days: Vec::new(),
            version: 1,
            updated_at: Utc::now(),
        }
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn history_across_a_year_boundary_lands_on_the_right_days_and_rows() {
        let (vendor, a, b) = (VendorId::generate(), LocationId::generate(), LocationId::generate());
        let s = vec![settings(vendor, a, "MILK", "DAIRY"), settings(vendor, b, "MILK", "DAIRY")];
        let mut y2025 = vec![0; 365];
        y2025[364] = 7; // 31 Dec 2025
        let h = vec![
            history(a, "MILK", 2025, &y2025),
            history(a, "MILK", 2026, &[3, 4]), // 1 and 2 Jan 2026
            history(b, "MILK", 2026, &[0, 0, 9]),
            history(a, "UNKNOWN", 2026, &[100]),
        ];
        let vp = build_panel(&s, &h, date("2026-01-10")).unwrap();
        let col = |d: &str| (date(d) - vp.start).num_days() as usize;
        assert_eq!(vp.panel.n_series(), 2);
        assert_eq!(vp.panel.n_days(), MIN_HISTORY_DAYS, "leading days without sales are trimmed to the minimum");
        assert_eq!(vp.start + Duration::days(vp.panel.n_days() as i64 - 1), date("2026-01-10"));
        assert_eq!(vp.panel.demand[[0, col("2025-12-31")]], 7.0);
        assert_eq!(vp.panel.demand[[0, col("2026-01-01")]], 3.0);
        assert_eq!(vp.panel.demand[[0, col("2026-01-02")]], 4.0);
        assert_eq!(vp.panel.demand[[1, col("2026-01-03")]], 9.0);
        assert_eq!(vp.panel.demand.sum(), 23.0, "history of a SKU without settings is ignored");
        assert_eq!(vp.panel.weekday(col("2026-01-05")), 0, "5 January 2026 is a Monday");
    }

    #[test]
    fn history_older_than_two_years_is_left_out_and_groups_are_category_by_location() {
        let (vendor, a, b) = (VendorId::generate(), LocationId::generate(), LocationId::generate());
        let s = vec![
            settings(vendor, a, "MILK", "DAIRY"),
            settings(vendor, a, "BREAD", "BAKERY"),
            settings(vendor, a, "CHEESE", "DAIRY"),
            settings(vendor, b, "MILK", "DAIRY"),
        ];
        let h = vec![history(a, "MILK", 2023, &[1; 365]), history(a, "MILK", 2025, &[2; 365])];
        let vp = build_panel(&s, &h, date("2026-06-30")).unwrap();
        assert_eq!(vp.start, date("2025-01-01"), "the window starts at the first sale within two years");
        assert_eq!(vp.panel.n_days(), 365 + 181);
        assert_eq!(vp.panel.demand.sum(), 2.0 * 365.0, "2023 lies outside the last two years");
        assert_eq!(vp.panel.group, vec![0, 1, 0, 2]);
    }

    #[test]
    fn a_sku_without_a_category_keeps_its_own_pattern_and_an_unmatched_old_code_still_pools() {
        let (vendor, a) = (VendorId::generate(), LocationId::generate());
        let mut s = vec![
            settings(vendor, a, "MILK", "DAIRY"),
            settings(vendor, a, "SOAP", "DAIRY"),
            settings(vendor, a, "BREAD", "DAIRY"),
            settings(vendor, a, "ROLLS", "DAIRY"),
        ];
        (s[0].category_id, s[1].category_id) = (None, None);
        for bakery in &mut s[2..] {
            bakery.category_id = None;
            bakery.unresolved_category_code = Some("BAKERY".into());
        }
        let h = vec![history(a, "MILK", 2026, &[1; 90])];
        let vp = build_panel(&s, &h, date("2026-03-31")).unwrap();
        assert_eq!(vp.panel.group, vec![0, 1, 2, 2]);
        assert!(s[2].unresolved() && !s[0].unresolved());
    }

    #[test]
    fn a_refused_series_is_reported_by_sku_location_and_day_and_the_rest_forecast() {
        let (vendor, a) = (VendorId::generate(), LocationId::generate());
        let s = vec![settings(vendor, a, "MILK", "DAIRY"), settings(vendor, a, "BREAD", "BAKERY")];
        let start = date("2026-01-01");
        let mut demand = Array2::from_elem((2, 60), 2.0f32);
        demand[(1, 40)] = -3.0; // net sales after returns
        let panel = Panel::from_demand(demand, 3);
        let run = stockyard_analytics::forecast_usable(&panel, &EngineConfig::default());
        assert!(run.forecasts[0].is_some() && run.forecasts[1].is_none());
        let lines = rejected(&s, start, &run.invalid);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].starts_with(&format!("BREAD at {a}: demand on 2026-02-10 is -3")), "{}", lines[0]);
    }

    #[test]
    fn the_guard_reads_history_as_the_engine_counted_it() {
        let mut demand = Array2::from_elem((1, 30), 1.0f32);
        demand[(0, 10)] = 1_000_000.0;
        let absurd = [AbsurdDay { series: 0, day: 10, recorded: 1_000_000.0, counted: 10.0 }];
        // Five days around the clamped day: 4 × 1 + 10.
        assert_eq!(largest_cycle_demand(demand.row(0), &absurd, 5), 14.0);
        assert_eq!(largest_cycle_demand(demand.row(0), &[], 5), 1_000_004.0);
    }

    #[test]
    fn the_horizon_covers_the_longest_lead_time_plus_review_and_targets_are_reported_levels() {
        let (vendor, a) = (VendorId::generate(), LocationId::generate());
        let mut long = settings(vendor, a, "RICE", "DRY");
        long.lead_time_days = 40;
        long.review_period_days = 14;
        let config = engine_config(&[settings(vendor, a, "MILK", "DAIRY"), long]);
        assert_eq!(config.horizon, 54);
        assert_eq!(config.service_levels, vec![0.90, 0.95, 0.97, 0.98]);
        assert_eq!(engine_config(&[settings(vendor, a, "MILK", "DAIRY")]).horizon, HORIZON_DAYS);
    }

    #[test]
    fn a_tracked_sku_counts_what_is_available_and_on_its_way_and_an_untracked_one_what_its_settings_declare() {
        use stockyard_domain::ids::{ProductId, VariantId};
        use stockyard_domain::stock::Batch;
        let (vendor, here, there) = (VendorId::generate(), LocationId::generate(), LocationId::generate());
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut milk =
            StockItem::empty(vendor, VariantId::generate(), ProductId::generate(), "MILK", here, true, Utc::now());
        // 12 on hand, of which 3 reserved and 4 in a batch that expired yesterday; 20 on order.
        let batch =
            |lot: &str, expires_on, on_hand| Batch { lot: lot.into(), expires_on, on_hand, received_at: Utc::now() };
        milk.batches = vec![batch("OLD", today - Duration::days(1), 4), batch("NEW", today + Duration::days(5), 8)];
        (milk.on_hand, milk.reserved, milk.incoming) = (12, 3, 20);
        let settings = [
            settings(vendor, here, "MILK", "DAIRY"),
            settings(vendor, there, "MILK", "DAIRY"),
            settings(vendor, here, "BREAD", "BAKERY"),
        ];
        let got = stocks(&settings, &[(milk, 0)], today);
        assert_eq!(got[0], Stock { on_hand: 5, incoming: 20, source: StockSource::Tracked });
        // Elsewhere and another SKU: no stock item, so the declared 10 on hand.
        assert_eq!(got[1], Stock { on_hand: 10, incoming: 0, source: StockSource::Declared });
        assert_eq!(got[2], Stock { on_hand: 10, incoming: 0, source: StockSource::Declared });
        let position = stock_position(&settings[0], got[0], None);
        assert_eq!((position.on_hand, position.incoming), (5.0, 20.0));
    }
}
