//! The second panel of `make eval`: a synthetic small online wholesaler (closed on Sundays and
//! over the year end, lumpy orders, about 60% of days without a sale), drawn deterministically
//! by `stockyard_analytics::synthetic` and written in the format `prepare.py` writes for M5, so
//! that statsforecast and `stockyard-eval` read both panels the same way.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use ndarray::s;
use stockyard_analytics::synthetic::Wholesaler;

use crate::data::EvalData;

/// Days of history before the test window: two years, what the nightly job reads.
pub const TRAIN_DAYS: usize = 730;
pub const HORIZON: usize = 28;

/// The wholesaler of `make eval`: 3,000 SKUs in 30 categories, a fifth of them launched during
/// the two years (enough that a volume quintile
/// of 600 series measures a 90% coverage within about ±1.2 points) from 1 March 2024 (a Friday), so
/// that the test window (from 1 March 2026) lies outside the year-end closure and the level
/// windows of the test and validation origins hold one.
pub fn shop() -> Wholesaler {
    Wholesaler {
        seed: 2026,
        series: 3000,
        groups: 30,
        days: TRAIN_DAYS + HORIZON,
        // Prices and calendar reach a horizon past the test window, as for M5.
        horizon: HORIZON,
        first_weekday: 4,
        start_day_of_year: 60,
        calendar_start: (2024, 3, 1),
        // A fifth of the range was launched during the two years.
        launched: 0.2,
        ..Wholesaler::default()
    }
}

/// Write the panel into `dir` (manifest.json, series.csv, demand.f32, price.f32, calendar.csv).
/// statsforecast's outputs in `dir` are removed when the demand changed, so they are never stale.
pub fn write(dir: &Path) -> Result<()> {
    let shop = shop();
    let drawn = shop.draw();
    let panel = &drawn.panel;
    let (n, days) = (panel.n_series(), panel.n_days());
    let known = days + shop.horizon;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

    let demand: Vec<u8> = panel.demand.iter().flat_map(|v| v.to_le_bytes()).collect();
    let demand_path = dir.join("demand.f32");
    if fs::read(&demand_path).ok().as_deref() != Some(&demand[..]) {
        for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            if path.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with("sf_")) {
                fs::remove_file(&path).with_context(|| format!("removing stale {}", path.display()))?;
            }
        }
        fs::write(&demand_path, &demand).with_context(|| format!("writing {}", demand_path.display()))?;
    }
    let price: Vec<u8> = std::iter::repeat_n(1.0f32, n * known).flat_map(|v| v.to_le_bytes()).collect();
    fs::write(dir.join("price.f32"), price).context("writing price.f32")?;

    let mut series = String::from("id,item,dept,cat,store,state\n");
    for (s, g) in panel.group.iter().enumerate() {
        series.push_str(&format!("SKU{s:04}_W_1,SKU{s:04},CAT{g},CAT{g},W_1,CA\n"));
    }
    fs::write(dir.join("series.csv"), series).context("writing series.csv")?;

    let calendar = panel.calendar.as_ref().context("the synthetic panel has a calendar")?;
    let mut text = String::from("day,date,weekday,day_of_month,event,event_id,snap_CA,snap_TX\n");
    for t in 0..known {
        let weekday = (shop.first_weekday as usize + t) % 7;
        text.push_str(&format!("{},,{weekday},{},0,0,0,0\n", t + 1, calendar.day_of_month[t]));
    }
    fs::write(dir.join("calendar.csv"), text).context("writing calendar.csv")?;

    let manifest = serde_json::json!({
        "n_series": n,
        "n_days": days,
        "known_days": known,
        "train_days": TRAIN_DAYS,
        "horizon": HORIZON,
        "first_weekday": shop.first_weekday,
    });
    fs::write(dir.join("manifest.json"), format!("{manifest}\n")).context("writing manifest.json")?;
    Ok(())
}

/// The expected totals over the scored window of `data` (series × the window after its origin),
/// if `data` is this module's panel (the same demand over its days).
pub fn expected_totals(data: &EvalData) -> Option<Vec<f64>> {
    let drawn = shop().draw();
    let days = data.manifest.n_days;
    if drawn.panel.n_series() != data.manifest.n_series
        || drawn.panel.n_days() < days
        || drawn.panel.demand.slice(s![.., ..days]) != data.demand
    {
        return None;
    }
    let (origin, h) = (data.origin(), data.manifest.horizon);
    Some(drawn.expected.slice(s![.., origin..origin + h]).rows().into_iter().map(|r| r.sum()).collect())
}
