//! The production path: forecasts, lead-time demand and calibrated quantiles for a whole panel.
//!
//! # Model choice
//! With [`EngineConfig::model`] unset, every candidate (the pooled profile model and the
//! baselines) forecasts each series from two validation origins, `n − 2h` and `n − h` (`n` days
//! of history, `h` the horizon; origins with less than `h` days of history before them are
//! dropped), and is scored on the days that followed, which are all inside the history.
//!
//! The score of a series is its squared error over the validation days divided by the mean
//! squared day-to-day change of its history before the first origin (the RMSSE scale of the M5
//! competition): squared error rewards forecasting the mean, which is what replenishment needs
//! (absolute error favours forecasting zero on intermittent series), and the scale makes slow
//! and fast movers comparable.
//!
//! One model is chosen per cell = pooling group × demand class (smooth, intermittent, erratic,
//! lumpy by the Syntetos–Boylan cut-offs: mean inter-demand interval 1.32, squared coefficient
//! of variation of sizes 0.49), as the lowest summed score over the cell's series. Per-series
//! choice on 2 × 28 days of mostly zeros mostly picks the luckiest model (the winner's curse);
//! one model per panel ignores that slow and fast movers need different models. Cells with
//! fewer than [`MIN_CELL_SERIES`] scored series use their demand class's choice over the whole
//! panel instead. Ties go to the earlier candidate; the pooled profile model comes first.

use std::borrow::Cow;
use std::ops::Range;

use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::models::{Model, Scratch, forecast_many, trim_leading_zeros};
use crate::outliers::{self, AbsurdDay};
use crate::panel::{InvalidDemand, Panel};
use crate::pooled;
use crate::quantiles::{self, Spread};

/// Cells with fewer scored series than this take their demand class's choice over the panel.
pub const MIN_CELL_SERIES: usize = 5;

/// How a panel is forecast.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Days to forecast.
    pub horizon: usize,
    /// `None`: choose one model per group × demand class on rolling validation windows (never
    /// on the future); `Some(m)`: use `m` for every series.
    ///
    /// The default is the pooled profile model for every series: the fixed best model, decided on
    /// M5 validation windows (`make eval EVAL_ARGS="--origin 1857"` and `--origin 1885`), where it
    /// scored WRMSSE 0.545 and 0.495 against 0.572 and 0.547 for the automatic choice, which picks
    /// baselines for some cells and so loses the pooled model's coherence at the aggregate levels.
    pub model: Option<Model>,
    /// Service levels (0..1) whose lead-time-demand quantiles are reported.
    pub service_levels: Vec<f64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { horizon: 28, model: Some(Model::PooledProfile), service_levels: vec![0.9, 0.95, 0.98] }
    }
}

/// The forecast of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesForecast {
    /// The model that produced `point`.
    pub model: Model,
    /// Expected units per day over the horizon.
    pub point: Vec<f64>,
    /// How actual demand spreads around `point` (for quantiles).
    pub spread: Spread,
    /// Days of this series' history the engine did not trust (see [`crate::outliers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absurd_days: Vec<AbsurdDay>,
}

impl SeriesForecast {
    /// Expected demand over the first `days` days. Past the horizon, each further day is
    /// expected to sell the mean of the horizon's last week (the last 7 days, or all of them
    /// if the horizon is shorter), so lead times longer than the horizon are still covered.
    pub fn demand_over(&self, days: usize) -> f64 {
        expected_over(&self.point, days)
    }

    /// The `level` quantile (0..1) of total demand over the first `days` days of the horizon,
    /// calibrated on validation windows so that demand stays below it in `level` of cycles.
    pub fn quantile(&self, days: usize, level: f64) -> f64 {
        self.spread.quantile(self.demand_over(days), days, level)
    }
}

/// Expected demand over `days` days from a daily point forecast, extended past its end at the
/// mean rate of its last week.
pub fn expected_over(point: &[f64], days: usize) -> f64 {
    let within: f64 = point.iter().take(days).sum();
    if days <= point.len() {
        return within;
    }
    let tail = &point[point.len().saturating_sub(7)..];
    if tail.is_empty() {
        return 0.0;
    }
    let rate = tail.iter().sum::<f64>() / tail.len() as f64;
    within + rate * (days - point.len()) as f64
}

/// Forecast every series of `panel`, or name the first series and day whose demand is not a
/// finite number of units at least 0 (see [`forecast_usable`] to forecast the others anyway).
pub fn forecast_panel(panel: &Panel, config: &EngineConfig) -> Result<Vec<SeriesForecast>, InvalidDemand> {
    let (panel, absurd) = trusted(panel)?;
    let pooled_from = |p: &Panel, end, h| pooled::forecast(p, end, h, &absurd);
    let run = run_points(&panel, config, &Model::all(), pooled_from);
    // Spreads are calibrated on forecasts from the calibration origins (see
    // [`calibration_ends`]) with the chosen models, as they would have been had the closures
    // since been seen known: an unannounced closure is not forecast error to plan for (a closure
    // of the future is not known either way).
    let ends = calibration_ends(panel.n_days(), config.horizon);
    let uses_pooled = run.models.contains(&Model::PooledProfile);
    let mut validation: Vec<Array2<f64>> = ends
        .iter()
        .map(|&end| match run.ends.iter().position(|&e| e == end) {
            Some(w) => run.validation[w].clone(),
            None => {
                let pooled = uses_pooled.then(|| pooled_from(&panel, end, config.horizon));
                let mut out = Array2::zeros((panel.n_series(), config.horizon));
                fill_forecasts(&panel, end, &run.models, pooled.as_ref(), &mut out);
                out
            }
        })
        .collect();
    let closed = pooled::closed_days(&panel, panel.n_days());
    for (forecast, &end) in validation.iter_mut().zip(&ends) {
        for (mut row, &g) in forecast.outer_iter_mut().zip(&panel.group) {
            for (t, value) in row.iter_mut().enumerate() {
                if closed[g as usize].get(end + t).copied().unwrap_or(false) {
                    *value = 0.0;
                }
            }
        }
    }
    let spreads = quantiles::calibrate(&panel.demand, &panel.group, &ends, &validation, &run.point);
    let mut absurd_of = vec![Vec::new(); panel.n_series()];
    for day in absurd {
        absurd_of[day.series].push(day);
    }
    Ok(run
        .models
        .into_iter()
        .zip(run.point.rows())
        .zip(spreads)
        .zip(absurd_of)
        .map(|(((model, point), spread), absurd_days)| SeriesForecast {
            model,
            point: point.to_vec(),
            spread,
            absurd_days,
        })
        .collect())
}

/// The forecasts of a panel some of whose series may be unusable.
#[derive(Debug, Clone)]
pub struct UsableForecasts {
    /// Per series of the panel, its forecast, or `None` when its demand is unusable.
    pub forecasts: Vec<Option<SeriesForecast>>,
    /// The unusable series, each with its first bad day.
    pub invalid: Vec<InvalidDemand>,
}

/// Forecast every usable series of `panel` as if the unusable ones (NaN, infinite or negative
/// demand) were not in it, and name those.
pub fn forecast_usable(panel: &Panel, config: &EngineConfig) -> UsableForecasts {
    let invalid = panel.invalid_series();
    let mut forecasts = vec![None; panel.n_series()];
    let keep: Vec<usize> = (0..panel.n_series()).filter(|s| !invalid.iter().any(|bad| bad.series == *s)).collect();
    if keep.is_empty() {
        return UsableForecasts { forecasts, invalid };
    }
    let usable = if invalid.is_empty() { Cow::Borrowed(panel) } else { Cow::Owned(panel.select(&keep)) };
    // Every series left is valid, so this cannot fail.
    if let Ok(done) = forecast_panel(&usable, config) {
        for (s, mut forecast) in keep.iter().copied().zip(done) {
            forecast.absurd_days.iter_mut().for_each(|d| d.series = s);
            forecasts[s] = Some(forecast);
        }
    }
    UsableForecasts { forecasts, invalid }
}

/// The point forecasts of every series, without spreads: the model choice, the validation
/// forecasts it was made on, and the forecasts from the end of the history (for evaluation
/// tools; [`forecast_panel`] adds the calibrated spreads). Sees the same trusted demand as
/// [`forecast_panel`].
pub fn point_forecasts(panel: &Panel, config: &EngineConfig) -> Result<PointForecasts, InvalidDemand> {
    let (panel, absurd) = trusted(panel)?;
    Ok(run_points(&panel, config, &Model::all(), |p: &Panel, end, h| pooled::forecast(p, end, h, &absurd)))
}

/// The panel as the engine uses it: validated, with absurd days clamped (a copy only if any is).
fn trusted(panel: &Panel) -> Result<(Cow<'_, Panel>, Vec<AbsurdDay>), InvalidDemand> {
    panel.validate()?;
    let absurd = outliers::absurd_days(panel.demand.view(), &panel.group);
    if absurd.is_empty() {
        return Ok((Cow::Borrowed(panel), absurd));
    }
    // The engine never reads prices: the copy leaves them out.
    let mut clean = Panel {
        demand: panel.demand.clone(),
        first_weekday: panel.first_weekday,
        group: panel.group.clone(),
        region: panel.region.clone(),
        price: None,
        calendar: panel.calendar.clone(),
    };
    for day in &absurd {
        clean.demand[(day.series, day.day)] = day.counted as f32;
    }
    Ok((Cow::Owned(clean), absurd))
}

/// Point forecasts of a panel and what calibration needs.
#[derive(Debug, Clone)]
pub struct PointForecasts {
    /// The model of each series.
    pub models: Vec<Model>,
    /// Validation origins (days of history each validation forecast saw).
    pub ends: Vec<usize>,
    /// Per origin, the chosen models' forecasts (series × horizon).
    pub validation: Vec<Array2<f64>>,
    /// Forecasts from the end of the history (series × horizon).
    pub point: Array2<f64>,
}

/// Validation origins `n − 2h` and `n − h`, keeping those with at least `h` days before them.
pub(crate) fn validation_ends(n_days: usize, horizon: usize) -> Vec<usize> {
    if horizon == 0 {
        return Vec::new();
    }
    [2, 1].into_iter().filter_map(|k| n_days.checked_sub(k * horizon)).filter(|&end| end >= horizon).collect()
}

/// Origins the quantiles are calibrated from: every quarter of the horizon (at least a day)
/// from two horizons back to a quarter before the end, keeping those with at least a horizon of
/// history before them. A duration `d` is scored from every origin at least `d` days before the
/// end, so the shortest durations get the most windows (eight of a quarter horizon each), not
/// only the two the model choice uses.
pub(crate) fn calibration_ends(n_days: usize, horizon: usize) -> Vec<usize> {
    if horizon == 0 {
        return Vec::new();
    }
    let step = (horizon / 4).max(1);
    let Some(first) = n_days.checked_sub(2 * horizon) else { return Vec::new() };
    (first..=n_days - step).step_by(step).filter(|&end| end >= horizon).collect()
}

/// Choose models (or take the configured one), then forecast from the validation origins and
/// from the end of the history. `pooled` forecasts the whole panel with the pooled profile
/// model from a given origin (see [`pooled::forecast`]).
pub(crate) fn run_points<P>(panel: &Panel, config: &EngineConfig, candidates: &[Model], pooled: P) -> PointForecasts
where
    P: Fn(&Panel, usize, usize) -> Array2<f64>,
{
    let (n_series, n_days, horizon) = (panel.n_series(), panel.n_days(), config.horizon);
    let ends = validation_ends(n_days, horizon);
    let uses_pooled = |models: &[Model]| models.contains(&Model::PooledProfile);

    let pooled_validation: Vec<Array2<f64>> = match config.model {
        Some(m) if m != Model::PooledProfile => Vec::new(),
        Some(_) => ends.iter().map(|&end| pooled(panel, end, horizon)).collect(),
        None if uses_pooled(candidates) => ends.iter().map(|&end| pooled(panel, end, horizon)).collect(),
        None => Vec::new(),
    };

    let models = match config.model {
        Some(m) => vec![m; n_series],
        None if ends.is_empty() || candidates.is_empty() => {
            vec![candidates.first().copied().unwrap_or(Model::PooledProfile); n_series]
        }
        None => choose(panel, &ends, horizon, candidates, &pooled_validation),
    };

    let mut validation = Vec::with_capacity(ends.len());
    for (w, &end) in ends.iter().enumerate() {
        let mut out = Array2::zeros((n_series, horizon));
        fill_forecasts(panel, end, &models, pooled_validation.get(w), &mut out);
        validation.push(out);
    }
    let pooled_point = uses_pooled(&models).then(|| pooled(panel, n_days, horizon));
    let mut point = Array2::zeros((n_series, horizon));
    fill_forecasts(panel, n_days, &models, pooled_point.as_ref(), &mut point);
    PointForecasts { models, ends, validation, point }
}

/// Forecast series `s` with `models[s]` from its first `end` days into row `s` of `out`; the
/// pooled profile model's rows come from `pooled`.
fn fill_forecasts(panel: &Panel, end: usize, models: &[Model], pooled: Option<&Array2<f64>>, out: &mut Array2<f64>) {
    let horizon = out.ncols();
    let Some(buf) = out.as_slice_mut() else { return };
    for_each_series_parallel(buf, horizon, |first, rows| {
        let mut scratch = Scratch::default();
        let mut history = Vec::new();
        for (k, row) in rows.chunks_mut(horizon.max(1)).enumerate() {
            let s = first + k;
            match (models[s], pooled) {
                (Model::PooledProfile, Some(p)) => row.iter_mut().zip(p.row(s)).for_each(|(o, &v)| *o = v),
                (model, _) => {
                    let y = history_of(panel.demand.row(s), end, &mut history);
                    model.forecast_with(y, horizon, row, &mut scratch);
                }
            }
        }
    });
}

/// The first `end` days of a series as a slice (copied into `buf` only if the row is strided).
fn history_of<'s, 'a: 's, 'b: 's>(row: ArrayView1<'a, f32>, end: usize, buf: &'b mut Vec<f32>) -> &'s [f32] {
    let end = end.min(row.len());
    match row.to_slice() {
        Some(all) => &all[..end],
        None => {
            buf.clear();
            buf.extend(row.iter().take(end));
            buf
        }
    }
}

/// Demand classes of Syntetos and Boylan (plus one for series without demand).
const N_CLASSES: usize = 5;

/// Demand class of a history: 0 smooth, 1 erratic, 2 intermittent, 3 lumpy, 4 no demand.
fn demand_class(history: &[f32]) -> usize {
    let y = trim_leading_zeros(history);
    let (mut count, mut sum, mut sum_sq) = (0usize, 0.0f64, 0.0f64);
    for &v in y.iter().filter(|&&v| v > 0.0) {
        count += 1;
        sum += f64::from(v);
        sum_sq += f64::from(v) * f64::from(v);
    }
    if count == 0 {
        return 4;
    }
    let mean_interval = y.len() as f64 / count as f64;
    let mean = sum / count as f64;
    let cv2 = (sum_sq / count as f64 - mean * mean).max(0.0) / (mean * mean);
    usize::from(cv2 >= 0.49) + 2 * usize::from(mean_interval >= 1.32)
}

/// RMSSE scale: mean squared day-to-day change of the trimmed history (0 if constant or short).
fn scale(history: &[f32]) -> f64 {
    let y = trim_leading_zeros(history);
    if y.len() < 2 {
        return 0.0;
    }
    let sum: f64 = y.windows(2).map(|w| (f64::from(w[1]) - f64::from(w[0])).powi(2)).sum();
    sum / (y.len() - 1) as f64
}

/// One model per series by the rule in the module documentation.
fn choose(panel: &Panel, ends: &[usize], horizon: usize, candidates: &[Model], pooled: &[Array2<f64>]) -> Vec<Model> {
    let (n_series, n_cand) = (panel.n_series(), candidates.len());
    // Per series: scaled squared error of each candidate (NaN if the series cannot be scored).
    let mut scores = vec![0.0f64; n_series * n_cand];
    for_each_series_parallel(&mut scores, n_cand, |first, rows| {
        let mut scratch = Scratch::default();
        let mut history = Vec::new();
        let mut fcs = vec![0.0; n_cand * horizon];
        for (k, row) in rows.chunks_mut(n_cand.max(1)).enumerate() {
            let s = first + k;
            let series = panel.demand.row(s);
            let sc = scale(history_of(series, ends[0], &mut history));
            if sc <= 0.0 || !sc.is_finite() {
                row.fill(f64::NAN);
                continue;
            }
            row.fill(0.0);
            for (w, &end) in ends.iter().enumerate() {
                forecast_many(candidates, history_of(series, end, &mut history), horizon, &mut fcs, &mut scratch);
                let actual = series.slice(ndarray::s![end..end + horizon]);
                for ((c, model), fc) in candidates.iter().enumerate().zip(fcs.chunks_mut(horizon.max(1))) {
                    if let (Model::PooledProfile, Some(p)) = (model, pooled.get(w)) {
                        fc.iter_mut().zip(p.row(s)).for_each(|(o, &v)| *o = v);
                    }
                    let se: f64 = fc.iter().zip(actual.iter()).map(|(f, &a)| (f - f64::from(a)).powi(2)).sum();
                    row[c] += se / (sc * (horizon * ends.len()) as f64);
                }
            }
        }
    });

    let n_groups = panel.group.iter().map(|&g| g as usize + 1).max().unwrap_or(1);
    let mut cell_sum = vec![0.0f64; n_groups * N_CLASSES * n_cand];
    let mut cell_count = vec![0usize; n_groups * N_CLASSES];
    let mut class_sum = vec![0.0f64; N_CLASSES * n_cand];
    let mut class_count = [0usize; N_CLASSES];
    let mut cells = Vec::with_capacity(n_series);
    let mut history = Vec::new();
    for s in 0..n_series {
        let class = demand_class(history_of(panel.demand.row(s), ends[0], &mut history));
        let cell = panel.group.get(s).map_or(0, |&g| g as usize) * N_CLASSES + class;
        cells.push((cell, class));
        let row = &scores[s * n_cand..(s + 1) * n_cand];
        if row.iter().all(|v| v.is_finite()) {
            cell_count[cell] += 1;
            class_count[class] += 1;
            for (c, v) in row.iter().enumerate() {
                cell_sum[cell * n_cand + c] += v;
                class_sum[class * n_cand + c] += v;
            }
        }
    }
    let best = |sums: &[f64]| -> usize {
        let mut best = 0;
        for (c, &v) in sums.iter().enumerate() {
            if v < sums[best] {
                best = c;
            }
        }
        best
    };
    cells
        .into_iter()
        .map(|(cell, class)| {
            let c = if cell_count[cell] >= MIN_CELL_SERIES {
                best(&cell_sum[cell * n_cand..(cell + 1) * n_cand])
            } else {
                best(&class_sum[class * n_cand..(class + 1) * n_cand])
            };
            candidates[c]
        })
        .collect()
}

/// Split `buf` (`per_series` values per series, series in order) into contiguous runs of
/// series and call `work(first_series, run)` on each, on as many threads as the machine offers.
fn for_each_series_parallel<T, F>(buf: &mut [T], per_series: usize, work: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let n_series = buf.len().checked_div(per_series).unwrap_or(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(n_series.max(1));
    // Small panels are not worth a thread.
    if threads <= 1 || n_series < 64 {
        work(0, buf);
        return;
    }
    let per_thread = n_series.div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        for (t, chunk) in buf.chunks_mut(per_thread * per_series).enumerate() {
            let range: Range<usize> = t * per_thread..t * per_thread + chunk.len() / per_series;
            scope.spawn(move || work(range.start, chunk));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_pooled(_: &Panel, _: usize, _: usize) -> Array2<f64> {
        panic!("the pooled model was not asked for")
    }

    #[test]
    fn validation_origins_are_one_and_two_horizons_back_with_enough_history() {
        assert_eq!(validation_ends(730, 28), vec![674, 702]);
        // 60 − 56 = 4 days of history is too little; 60 − 28 = 32 is enough.
        assert_eq!(validation_ends(60, 28), vec![32]);
        assert_eq!(validation_ends(40, 28), Vec::<usize>::new());
        assert_eq!(validation_ends(40, 0), Vec::<usize>::new());
    }

    #[test]
    fn quantiles_are_calibrated_from_every_quarter_horizon_of_the_last_two_horizons() {
        // 730 days, horizon 28: weekly origins from 674 to 723, so a week is scored eight times.
        assert_eq!(calibration_ends(730, 28), vec![674, 681, 688, 695, 702, 709, 716, 723]);
        // Origins need a horizon of history before them; the model choice's are among them.
        assert_eq!(calibration_ends(60, 28), vec![32, 39, 46, 53]);
        assert!(validation_ends(730, 28).iter().all(|e| calibration_ends(730, 28).contains(e)));
        assert_eq!(calibration_ends(40, 28), Vec::<usize>::new());
        assert_eq!(calibration_ends(10, 1), vec![8, 9]);
        assert_eq!(calibration_ends(40, 0), Vec::<usize>::new());
    }

    #[test]
    fn demand_past_the_horizon_continues_at_the_last_weeks_rate() {
        // 7 days at 1 and 7 at 2, then 7 more days at 2: 7 + 14 + 14 = 35.
        let point: Vec<f64> = [1.0; 7].into_iter().chain([2.0; 7]).collect();
        assert_eq!(expected_over(&point, 21), 35.0);
        assert_eq!(expected_over(&point, 3), 3.0);
        assert_eq!(expected_over(&[], 5), 0.0);
    }

    #[test]
    fn a_weekly_pattern_repeated_exactly_is_given_to_seasonal_naive() {
        // Every series repeats its own week; seasonal naive and the seasonal window average are
        // both exact, and the tie goes to the earlier candidate.
        let week = [5.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 9.0];
        let demand = Array2::from_shape_fn((6, 140), |(s, d)| week[d % 7] * (s + 1) as f32);
        let panel = Panel::from_demand(demand, 0);
        let config = EngineConfig { horizon: 14, model: None, service_levels: vec![0.95] };
        let run = run_points(&panel, &config, &Model::baselines(), no_pooled);
        assert!(run.models.iter().all(|m| *m == Model::SeasonalNaive { season: 7 }), "{:?}", run.models);
        // 140 days end on weekday 140 mod 7 = 0: the forecast continues with the week's start.
        assert_eq!(run.point.row(1).to_vec()[..7], week.map(|v| f64::from(v) * 2.0));
    }

    #[test]
    fn a_configured_model_is_used_for_every_series_and_validation_sees_only_its_past() {
        // Series s sells its day index + s; the window average of 7 days before origin e is
        // the mean of e−7..e plus s, i.e. e − 4 + s.
        let demand = Array2::from_shape_fn((3, 100), |(s, d)| (d + s) as f32);
        let panel = Panel::from_demand(demand, 0);
        let model = Model::WindowAverage { window: 7 };
        let config = EngineConfig { horizon: 10, model: Some(model), service_levels: vec![0.9] };
        let run = run_points(&panel, &config, &Model::baselines(), no_pooled);
        assert_eq!(run.models, vec![model; 3]);
        assert_eq!(run.ends, vec![80, 90]);
        for (w, &end) in run.ends.iter().enumerate() {
            for s in 0..3 {
                assert!(run.validation[w].row(s).iter().all(|&v| v == (end + s) as f64 - 4.0));
            }
        }
        assert!(run.point.row(2).iter().all(|&v| v == 98.0));
    }

    #[test]
    fn the_pooled_model_wins_a_group_where_it_is_best() {
        // A stub pooled model that knows the truth beats every baseline on noisy series.
        let demand = Array2::from_shape_fn((8, 84), |(s, d)| ((d * 7 + s * 3) % 5) as f32);
        let panel = Panel::from_demand(demand.clone(), 0);
        let oracle = |_: &Panel, end: usize, h: usize| {
            Array2::from_shape_fn((8, h), |(s, t)| f64::from(demand[[s, (end + t).min(83)]]))
        };
        let mut candidates = vec![Model::PooledProfile];
        candidates.extend(Model::baselines());
        let config = EngineConfig { horizon: 7, ..EngineConfig::default() };
        let run = run_points(&panel, &config, &candidates, oracle);
        assert!(run.models.iter().all(|m| *m == Model::PooledProfile), "{:?}", run.models);
    }
}
