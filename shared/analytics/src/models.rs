//! Forecasting models of one series. Each baseline follows the definition statsforecast uses,
//! so that both produce the same forecasts on the same history (checked by `make eval`).

use serde::{Deserialize, Serialize};

/// A forecasting model and its fixed parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Model {
    /// The value one season ago (season = 7 days).
    SeasonalNaive { season: usize },
    /// Mean of the last `window` days.
    WindowAverage { window: usize },
    /// Per position in the season, the mean of the last `windows` seasons.
    SeasonalWindowAverage { season: usize, windows: usize },
    /// Simple exponential smoothing with alpha chosen by least squares on the history.
    SesOptimized,
    /// Croston's method with alpha = 0.1 for sizes and intervals.
    CrostonClassic,
    /// Croston with the Syntetos–Boylan bias correction (× 0.95).
    CrostonSba,
    /// Croston with alphas for sizes and intervals optimised separately.
    CrostonOptimized,
    /// Teunter–Syntetos–Babai: smoothed demand probability × smoothed size.
    Tsb { alpha_d: f64, alpha_p: f64 },
    /// Aggregate–disaggregate: SES on non-overlapping buckets of the mean inter-demand interval.
    Adida,
    /// ADIDA over several aggregation levels, averaged.
    Imapa,
    /// Level × weekday profile pooled over the series' group (the production model); see
    /// [`crate::engine`].
    PooledProfile,
}

impl Model {
    /// The baselines compared with statsforecast, in report order.
    pub fn baselines() -> Vec<Model> {
        vec![
            Model::SeasonalNaive { season: 7 },
            Model::WindowAverage { window: 28 },
            Model::SeasonalWindowAverage { season: 7, windows: 4 },
            Model::SesOptimized,
            Model::CrostonClassic,
            Model::CrostonSba,
            Model::CrostonOptimized,
            Model::Tsb { alpha_d: 0.1, alpha_p: 0.1 },
            Model::Adida,
            Model::Imapa,
        ]
    }

    /// Every model: the pooled profile model first, then the baselines.
    pub fn all() -> Vec<Model> {
        let mut all = vec![Model::PooledProfile];
        all.extend(Model::baselines());
        all
    }

    /// A short stable name (`seasonal_naive`, `croston_sba`, …) for reports and the API.
    pub fn name(&self) -> &'static str {
        match self {
            Model::SeasonalNaive { .. } => "seasonal_naive",
            Model::WindowAverage { .. } => "window_average",
            Model::SeasonalWindowAverage { .. } => "seasonal_window_average",
            Model::SesOptimized => "ses_optimized",
            Model::CrostonClassic => "croston_classic",
            Model::CrostonSba => "croston_sba",
            Model::CrostonOptimized => "croston_optimized",
            Model::Tsb { .. } => "tsb",
            Model::Adida => "adida",
            Model::Imapa => "imapa",
            Model::PooledProfile => "pooled_profile",
        }
    }

    /// Forecast `horizon` days after `history` (oldest first; leading zeros are trimmed here).
    /// Writes into `out` (length `horizon`). Not for [`Model::PooledProfile`], which needs the
    /// panel: it falls back to the seasonal window average there.
    ///
    /// Uses a per-thread [`Scratch`]; call [`Model::forecast_with`] to manage buffers yourself.
    pub fn forecast(&self, history: &[f32], horizon: usize, out: &mut [f64]) {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.forecast_with(history, horizon, out, &mut scratch),
            // Only reachable if a forecast re-entered this thread's scratch: use a fresh one.
            Err(_) => self.forecast_with(history, horizon, out, &mut Scratch::default()),
        });
    }

    /// [`Model::forecast`] with caller-owned buffers: no allocation once `scratch` has grown to
    /// the longest history seen. Fills `out[..horizon]` (or all of `out` if it is shorter).
    ///
    /// Where statsforecast has no forecast (history shorter than the window or season, where it
    /// returns NaN), the window models use what history there is: the mean of the available days
    /// (window average), the available whole seasons (seasonal window average), and the mean of
    /// the history for season positions without an observation (seasonal naive).
    pub fn forecast_with(&self, history: &[f32], horizon: usize, out: &mut [f64], scratch: &mut Scratch) {
        let len = horizon.min(out.len());
        let out = &mut out[..len];
        let y = trim_leading_zeros(history);
        if y.is_empty() {
            out.fill(0.0);
            return;
        }
        match *self {
            Model::SeasonalNaive { season } => seasonal_naive(y, season.max(1), out),
            Model::WindowAverage { window } => out.fill(window_average(y, window.max(1))),
            Model::SeasonalWindowAverage { season, windows } => {
                seasonal_window_average(y, season.max(1), windows.max(1), out)
            }
            Model::PooledProfile => seasonal_window_average(y, 7, 4, out),
            Model::SesOptimized => {
                scratch.a.clear();
                scratch.a.extend(y.iter().map(|&v| f64::from(v)));
                out.fill(ses_optimized(&scratch.a, SES_BOUNDS, &mut scratch.diffs));
            }
            Model::CrostonClassic => out.fill(croston_fixed(y, CROSTON_ALPHA)),
            Model::CrostonSba => out.fill(SBA_FACTOR * croston_fixed(y, CROSTON_ALPHA)),
            Model::CrostonOptimized => out.fill(croston_optimized(y, scratch)),
            Model::Tsb { alpha_d, alpha_p } => out.fill(tsb(y, alpha_d, alpha_p)),
            Model::Adida => out.fill(aggregated_rate(y, aggregation_level(y), scratch)),
            Model::Imapa => out.fill(imapa(y, scratch)),
        }
    }
}

/// Reusable buffers for [`Model::forecast_with`].
#[derive(Debug, Default)]
pub struct Scratch {
    a: Vec<f64>,
    b: Vec<f64>,
    diffs: Vec<f64>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Alpha of Croston's classic and SBA variants, for sizes and intervals alike.
const CROSTON_ALPHA: f64 = 0.1;
/// The Syntetos–Boylan correction of Croston's ratio.
const SBA_FACTOR: f64 = 0.95;
/// Alpha search range of optimised simple exponential smoothing on the daily series.
const SES_BOUNDS: (f64, f64) = (0.01, 0.99);
/// Alpha search range inside Croston optimised, ADIDA and IMAPA (statsforecast's default range).
const INTERMITTENT_BOUNDS: (f64, f64) = (0.1, 0.3);

/// The history from its first non-zero day (M5 convention: before it, the item was not sold).
pub fn trim_leading_zeros(history: &[f32]) -> &[f32] {
    match history.iter().position(|&v| v != 0.0) {
        Some(start) => &history[start..],
        None => &[],
    }
}

fn seasonal_naive(y: &[f32], season: usize, out: &mut [f64]) {
    let n = y.len();
    if n >= season {
        let last = &y[n - season..];
        for (i, o) in out.iter_mut().enumerate() {
            *o = f64::from(last[i % season]);
        }
    } else {
        // Position p of the season holds y[p - (season - n)]; earlier positions have no value.
        let missing = season - n;
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        for (i, o) in out.iter_mut().enumerate() {
            let p = i % season;
            *o = if p >= missing { f64::from(y[p - missing]) } else { mean };
        }
    }
}

fn window_average(y: &[f32], window: usize) -> f64 {
    let tail = &y[y.len().saturating_sub(window)..];
    tail.iter().map(|&v| f64::from(v)).sum::<f64>() / tail.len() as f64
}

fn seasonal_window_average(y: &[f32], season: usize, windows: usize, out: &mut [f64]) {
    let whole = (y.len() / season).min(windows);
    if whole == 0 {
        seasonal_naive(y, season, out);
        return;
    }
    let tail = &y[y.len() - whole * season..];
    for (i, o) in out.iter_mut().enumerate() {
        let p = i % season;
        let sum: f64 = (0..whole).map(|w| f64::from(tail[w * season + p])).sum();
        *o = sum / whole as f64;
    }
}

/// Simple exponential smoothing's next-step forecast: the level starts at the first value and
/// each value `x` moves it to `alpha·x + (1 − alpha)·level`. `None` for an empty series.
fn ses_next(mut xs: impl Iterator<Item = f64>, alpha: f64) -> Option<f64> {
    let first = xs.next()?;
    let keep = 1.0 - alpha;
    // The first value is smoothed into its own start level, as statsforecast does (a no-op
    // up to rounding).
    let level = alpha * first + keep * first;
    Some(xs.fold(level, |level, x| alpha * x + keep * level))
}

/// Sum of squared one-step errors of SES with `alpha` on a series given by its day-to-day
/// changes `diffs` (`diffs[i] = x[i + 1] − x[i]`; 0 for an empty slice).
///
/// With `k = 1 − alpha` the one-step error obeys `e₁ = diffs[0]`, `eᵢ = k·eᵢ₋₁ + diffs[i − 1]`
/// (the level starts at `x[0]`), so no level is needed. That recursion is latency-bound, so
/// four steps are taken at once: the error four steps ahead is `k⁴·e + v₃`, where `v` collects
/// the new changes off the chain; the intermediate errors hang off the chain without
/// lengthening it.
fn ses_sse(diffs: &[f64], alpha: f64) -> f64 {
    let k = 1.0 - alpha;
    let (k2, k3) = (k * k, k * k * k);
    let k4 = k2 * k2;
    let mut e = 0.0;
    let mut acc = [0.0f64; 4];
    let mut blocks = diffs.chunks_exact(4);
    for d in &mut blocks {
        let v0 = d[0];
        let v1 = k * v0 + d[1];
        let v2 = k * v1 + d[2];
        let v3 = k * v2 + d[3];
        let es = [k * e + v0, k2 * e + v1, k3 * e + v2, k4 * e + v3];
        for (a, e) in acc.iter_mut().zip(es) {
            *a += e * e;
        }
        e = es[3];
    }
    let mut sse = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for &d in blocks.remainder() {
        e = k * e + d;
        sse += e * e;
    }
    sse
}

/// Day-to-day changes of `x`, written into `buf`.
fn fill_diffs(x: &[f64], buf: &mut Vec<f64>) {
    buf.clear();
    buf.extend(x.windows(2).map(|w| w[1] - w[0]));
}

/// The alpha in `bounds` minimising the SES squared one-step error on `x`, as statsforecast's
/// golden-section search finds it.
///
/// The error can have several local minima in alpha (a small rise just above the lower bound
/// before the real minimum is common on short intermittent series), so which one is found
/// depends on the search path. The search therefore starts exactly like a golden-section search
/// (same points, same comparisons) until the bracket is 4 % of the range, which settles
/// the basin; Brent's method (parabolic steps guarded by golden-section steps) then finishes
/// inside that bracket in a few evaluations where the section search would need dozens more.
/// When the bracket still touches a bound and the error rises from it, the bound is the answer.
///
/// When the error does not depend on alpha (every value but the last equal, or fewer than
/// three values) the golden-section search stops at once on a tie and returns the middle of
/// the range; so does this.
fn optimal_alpha(x: &[f64], (lo, hi): (f64, f64), diffs: &mut Vec<f64>) -> f64 {
    /// Inverse golden ratio, 1 / φ.
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    /// Step of the one-sided slope test at a bound.
    const NUDGE: f64 = 1e-6;
    fill_diffs(x, diffs);
    let diffs = &diffs[..];
    if diffs.len() < 2 || diffs[..diffs.len() - 1].iter().all(|&d| d == 0.0) {
        return 0.5 * (lo + hi);
    }
    let sse = |alpha: f64| ses_sse(diffs, alpha);
    let (mut a, mut b) = (lo, hi);
    let mut c = b - (b - a) * INV_PHI;
    let mut d = a + (b - a) * INV_PHI;
    let (mut fc, mut fd) = (sse(c), sse(d));
    while b - a > 0.04 * (hi - lo) {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - (b - a) * INV_PHI;
            fc = sse(c);
        } else if fd < fc {
            (a, c, fc) = (c, d, fd);
            d = a + (b - a) * INV_PHI;
            fd = sse(d);
        } else {
            return 0.5 * (a + b);
        }
    }
    let best_inner = fc.min(fd);
    if a == lo && fc < fd {
        let f_lo = sse(lo);
        if f_lo <= best_inner && sse(lo + NUDGE) >= f_lo {
            return lo;
        }
    }
    if b == hi && fd < fc {
        let f_hi = sse(hi);
        if f_hi <= best_inner && sse(hi - NUDGE) >= f_hi {
            return hi;
        }
    }
    brent_minimum(sse, a, b)
}

/// Brent's minimisation of `f` on `[lo, hi]` to an absolute tolerance of about 1e-7 in the
/// argument.
fn brent_minimum(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    const GOLDEN: f64 = 0.381_966_011_250_105_1; // (3 − √5) / 2
    const TOL: f64 = 1e-7;
    const MAX_STEPS: usize = 100;
    let (mut a, mut b) = (lo, hi);
    let mut x = a + GOLDEN * (b - a);
    let (mut w, mut v) = (x, x);
    let mut fx = f(x);
    let (mut fw, mut fv) = (fx, fx);
    // `step` is the last move, `prev_step` the one before (for the parabola acceptance test).
    let (mut step, mut prev_step) = (0.0f64, 0.0f64);
    for _ in 0..MAX_STEPS {
        let mid = 0.5 * (a + b);
        let tol1 = TOL;
        let tol2 = 2.0 * tol1;
        if (x - mid).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut parabolic = false;
        if prev_step.abs() > tol1 {
            // Vertex of the parabola through (x, fx), (w, fw), (v, fv), as x + p / q.
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            if p.abs() < (0.5 * q * prev_step).abs() && p > q * (a - x) && p < q * (b - x) {
                prev_step = step;
                step = p / q;
                let u = x + step;
                if u - a < tol2 || b - u < tol2 {
                    step = tol1.copysign(mid - x);
                }
                parabolic = true;
            }
        }
        if !parabolic {
            prev_step = if x >= mid { a - x } else { b - x };
            step = GOLDEN * prev_step;
        }
        let u = if step.abs() >= tol1 { x + step } else { x + tol1.copysign(step) };
        let fu = f(u);
        if fu <= fx {
            if u >= x {
                a = x;
            } else {
                b = x;
            }
            (v, fv) = (w, fw);
            (w, fw) = (x, fx);
            (x, fx) = (u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv) = (w, fw);
                (w, fw) = (u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    x
}

/// SES forecast of `x` with its optimal alpha in `bounds` (`x` not empty); `diffs` is scratch.
fn ses_optimized(x: &[f64], bounds: (f64, f64), diffs: &mut Vec<f64>) -> f64 {
    let alpha = optimal_alpha(x, bounds, diffs);
    ses_next(x.iter().copied(), alpha).unwrap_or(0.0)
}

/// Positive demands of `y`, oldest first.
fn sizes(y: &[f32]) -> impl Iterator<Item = f64> + '_ {
    y.iter().filter(|&&v| v > 0.0).map(|&v| f64::from(v))
}

/// Days between successive non-zero days of `y` (the first counts from just before day 0).
fn intervals(y: &[f32]) -> impl Iterator<Item = f64> + '_ {
    let mut previous = 0usize;
    y.iter().enumerate().filter(|(_, v)| **v != 0.0).map(move |(i, _)| {
        let gap = i + 1 - previous;
        previous = i + 1;
        gap as f64
    })
}

/// Croston's ratio of smoothed size to smoothed interval (the size alone if the interval
/// smooths to zero); 0 without positive demand.
fn croston_ratio(size: Option<f64>, interval: Option<f64>) -> f64 {
    match (size, interval) {
        (Some(size), Some(interval)) if interval != 0.0 => size / interval,
        (Some(size), _) => size,
        (None, _) => 0.0,
    }
}

fn croston_fixed(y: &[f32], alpha: f64) -> f64 {
    croston_ratio(ses_next(sizes(y), alpha), ses_next(intervals(y), alpha))
}

fn croston_optimized(y: &[f32], scratch: &mut Scratch) -> f64 {
    scratch.a.clear();
    scratch.a.extend(sizes(y));
    if scratch.a.is_empty() {
        return 0.0;
    }
    scratch.b.clear();
    scratch.b.extend(intervals(y));
    let size = ses_optimized(&scratch.a, INTERMITTENT_BOUNDS, &mut scratch.diffs);
    let interval = ses_optimized(&scratch.b, INTERMITTENT_BOUNDS, &mut scratch.diffs);
    croston_ratio(Some(size), Some(interval))
}

fn tsb(y: &[f32], alpha_d: f64, alpha_p: f64) -> f64 {
    let probability = ses_next(y.iter().map(|&v| if v != 0.0 { 1.0 } else { 0.0 }), alpha_p);
    let size = ses_next(sizes(y), alpha_d);
    match (probability, size) {
        (Some(p), Some(s)) => p * s,
        _ => 0.0,
    }
}

/// Mean interval between non-zero days, rounded half to even (as Python's `round`); ≥ 1.
/// `y` starts with a non-zero day, so the intervals sum to one past the last non-zero day.
fn aggregation_level(y: &[f32]) -> usize {
    let mut count = 0usize;
    let mut last = 0usize;
    for (i, &v) in y.iter().enumerate() {
        if v != 0.0 {
            count += 1;
            last = i;
        }
    }
    if count == 0 {
        return 1;
    }
    let mean = (last + 1) as f64 / count as f64;
    (mean.round_ties_even() as usize).max(1)
}

/// Sums of `y` over consecutive buckets of `level` days that end on the last day (the oldest
/// `len % level` days are dropped), written into `buf`.
fn bucket_sums(y: &[f32], level: usize, buf: &mut Vec<f64>) {
    buf.clear();
    let dropped = y.len() % level;
    buf.extend(y[dropped..].chunks_exact(level).map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>()));
}

/// SES forecast of one bucket's total at aggregation `level`, as a daily rate.
fn aggregated_rate(y: &[f32], level: usize, scratch: &mut Scratch) -> f64 {
    let buf = &mut scratch.a;
    bucket_sums(y, level, buf);
    match buf.len() {
        0 => y.last().map_or(0.0, |&v| f64::from(v)) / level as f64,
        1 => buf[0] / level as f64,
        _ => ses_optimized(buf, INTERMITTENT_BOUNDS, &mut scratch.diffs) / level as f64,
    }
}

fn imapa(y: &[f32], scratch: &mut Scratch) -> f64 {
    imapa_and_adida(y, scratch).0
}

/// IMAPA and ADIDA together: ADIDA is IMAPA's top aggregation level.
fn imapa_and_adida(y: &[f32], scratch: &mut Scratch) -> (f64, f64) {
    let top = aggregation_level(y);
    let (mut sum, mut last) = (0.0, 0.0);
    for level in 1..=top {
        last = aggregated_rate(y, level, scratch);
        sum += last;
    }
    (sum / top as f64, last)
}

/// Forecasts of several models from one history into consecutive `horizon`-long rows of `out`
/// (row `i` for `models[i]`), sharing work between models that share it: Croston SBA is 0.95 ×
/// Croston classic, and ADIDA is IMAPA's top aggregation level. Rows of
/// [`Model::PooledProfile`] are left as they are (the pooled model needs the panel).
pub(crate) fn forecast_many(models: &[Model], history: &[f32], horizon: usize, out: &mut [f64], scratch: &mut Scratch) {
    let y = trim_leading_zeros(history);
    let mut croston = None;
    let mut imapa_adida = None;
    for (model, row) in models.iter().zip(out.chunks_mut(horizon.max(1))) {
        let len = horizon.min(row.len());
        let row = &mut row[..len];
        match model {
            Model::PooledProfile => {}
            _ if y.is_empty() => row.fill(0.0),
            Model::CrostonClassic | Model::CrostonSba => {
                let classic = *croston.get_or_insert_with(|| croston_fixed(y, CROSTON_ALPHA));
                let factor = if *model == Model::CrostonSba { SBA_FACTOR } else { 1.0 };
                row.fill(factor * classic);
            }
            Model::Imapa | Model::Adida => {
                let (imapa, adida) = match imapa_adida {
                    Some(both) => both,
                    None => *imapa_adida.insert(imapa_and_adida(y, scratch)),
                };
                row.fill(if *model == Model::Imapa { imapa } else { adida });
            }
            _ => model.forecast_with(y, horizon, row, scratch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(model: Model, history: &[f32], horizon: usize) -> Vec<f64> {
        let mut out = vec![f64::NAN; horizon];
        model.forecast(history, horizon, &mut out);
        out
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn seasonal_naive_repeats_the_last_week() {
        // Of 1..=14 the last week is 8..=14, repeated over the horizon.
        let y: Vec<f32> = (1..=14).map(|v| v as f32).collect();
        let out = run(Model::SeasonalNaive { season: 7 }, &y, 10);
        assert_eq!(out, vec![8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 8.0, 9.0, 10.0]);
    }

    #[test]
    fn window_average_is_the_mean_of_the_last_window() {
        // Of 1..=30 the last 28 days are 3..=30, whose mean is 16.5.
        let y: Vec<f32> = (1..=30).map(|v| v as f32).collect();
        assert_eq!(run(Model::WindowAverage { window: 28 }, &y, 3), vec![16.5; 3]);
    }

    #[test]
    fn leading_zeros_are_not_history() {
        // [0, 0, 0, 2, 4] is [2, 4] once trimmed: shorter than the window, so the mean of the
        // two days, 3 (not 6 / 5 = 1.2).
        let out = run(Model::WindowAverage { window: 28 }, &[0.0, 0.0, 0.0, 2.0, 4.0], 2);
        assert_eq!(out, vec![3.0, 3.0]);
    }

    #[test]
    fn seasonal_window_average_averages_each_weekday_over_the_last_four_weeks() {
        // Day d sells (d mod 7) + 1 + 10·week: per weekday p the four weeks average p + 16.
        let y: Vec<f32> = (0..28).map(|d| (d % 7 + 1 + 10 * (d / 7)) as f32).collect();
        let out = run(Model::SeasonalWindowAverage { season: 7, windows: 4 }, &y, 9);
        let expected: Vec<f64> = (0..9).map(|i| (i % 7) as f64 + 16.0).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn an_empty_or_all_zero_history_forecasts_zero_with_every_model() {
        for model in Model::baselines().into_iter().chain([Model::PooledProfile]) {
            assert_eq!(run(model, &[], 4), vec![0.0; 4], "{}", model.name());
            assert_eq!(run(model, &[0.0; 40], 4), vec![0.0; 4], "{}", model.name());
        }
    }

    #[test]
    fn ses_smooths_each_value_into_the_level() {
        // alpha 0.5 on [1, 2, 3]: level 1, then 0.5·2 + 0.5·1 = 1.5, then 0.5·3 + 0.5·1.5 = 2.25.
        assert_eq!(ses_next([1.0, 2.0, 3.0].into_iter(), 0.5), Some(2.25));
        assert_eq!(ses_next(std::iter::empty(), 0.5), None);
    }

    #[test]
    fn ses_optimized_takes_the_middle_alpha_when_the_error_does_not_depend_on_it() {
        // On [5, 5, 5, 9] every alpha has the same one-step errors (0, 0, 4), so the search
        // ties at once and takes alpha = 0.5: forecast 0.5·9 + 0.5·5 = 7.
        assert_eq!(run(Model::SesOptimized, &[5.0, 5.0, 5.0, 9.0], 2), vec![7.0, 7.0]);
    }

    #[test]
    fn the_alpha_search_finds_the_least_squares_alpha() {
        // A noisy level: compare with a fine grid over the whole range.
        let x: Vec<f64> = (0..200).map(|i| 10.0 + ((i * 37 % 11) as f64 - 5.0) + (i / 50) as f64 * 3.0).collect();
        let mut diffs = Vec::new();
        let alpha = optimal_alpha(&x, SES_BOUNDS, &mut diffs);
        let grid = (0..=9800).map(|k| 0.01 + k as f64 * 1e-4);
        let best = grid.min_by(|a, b| ses_sse(&diffs, *a).total_cmp(&ses_sse(&diffs, *b))).unwrap_or(0.0);
        assert!((alpha - best).abs() < 2e-4, "search {alpha} grid {best}");
        // A random walk wants as much smoothing weight on the last value as allowed.
        let walk: Vec<f64> = (0..100).map(|i| (i * i) as f64).collect();
        assert!((optimal_alpha(&walk, SES_BOUNDS, &mut diffs) - 0.99).abs() < 1e-6);
    }

    #[test]
    fn the_blocked_error_recursion_on_changes_equals_the_level_recursion() {
        let x: Vec<f64> = (0..23).map(|i| ((i * 7 % 5) as f64).powi(2)).collect();
        let alpha = 0.37;
        let (mut level, mut plain) = (x[0], 0.0);
        for i in 1..x.len() {
            level = alpha * x[i - 1] + (1.0 - alpha) * level;
            plain += (x[i] - level).powi(2);
        }
        let mut diffs = Vec::new();
        fill_diffs(&x, &mut diffs);
        assert!((ses_sse(&diffs, alpha) - plain).abs() < 1e-9 * plain);
    }

    #[test]
    fn croston_divides_smoothed_sizes_by_smoothed_intervals() {
        // [0, 0, 3, 0, 2] trims to [3, 0, 2]. Sizes [3, 2] smooth (alpha 0.1) to
        // 0.1·2 + 0.9·3 = 2.9; intervals [1, 2] to 0.1·2 + 0.9·1 = 1.1. Forecast 2.9 / 1.1.
        let y = [0.0, 0.0, 3.0, 0.0, 2.0];
        assert!(close(run(Model::CrostonClassic, &y, 1)[0], 2.9 / 1.1));
        // SBA scales it by 0.95.
        assert!(close(run(Model::CrostonSba, &y, 1)[0], 0.95 * 2.9 / 1.1));
    }

    #[test]
    fn croston_optimized_searches_alpha_between_0_1_and_0_3() {
        // [4, 0, 4]: sizes [4, 4] smooth to 4 whatever alpha. Intervals [1, 2] are two values,
        // so the error is flat and alpha is the middle of 0.1..0.3: 0.2·2 + 0.8·1 = 1.2.
        assert!(close(run(Model::CrostonOptimized, &[4.0, 0.0, 4.0], 1)[0], 4.0 / 1.2));
    }

    #[test]
    fn tsb_multiplies_smoothed_probability_by_smoothed_size() {
        // [3, 0, 2]: occurrence [1, 0, 1] smooths to 0.1·1 + 0.9·(0.9·1) = 0.91; sizes to 2.9.
        let out = run(Model::Tsb { alpha_d: 0.1, alpha_p: 0.1 }, &[3.0, 0.0, 2.0], 1);
        assert!(close(out[0], 0.91 * 2.9));
    }

    #[test]
    fn adida_sums_buckets_of_the_mean_interval_ending_on_the_last_day() {
        // [2, 0] × 4: mean interval 7 / 4 = 1.75 rounds to 2; bucket sums [2, 2, 2, 2] are
        // constant, so the forecast is 2 per bucket, 1 per day.
        assert!(close(run(Model::Adida, &[2.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0, 0.0], 1)[0], 1.0));
    }

    #[test]
    fn adida_rounds_a_half_interval_to_even() {
        // [1, 0, 0, 0, 1]: mean interval 5 / 2 = 2.5 rounds to 2 (half to even, as Python).
        // The oldest day is dropped; buckets [0, 0], [0, 1] sum to [0, 1]; two values leave
        // the error flat in alpha, so alpha = 0.2: 0.2·1 + 0.8·0 = 0.2 per bucket, 0.1 per day.
        // (Rounding up to 3 would give one bucket [0, 0, 1]: 1/3 per day.)
        assert!(close(run(Model::Adida, &[1.0, 0.0, 0.0, 0.0, 1.0], 1)[0], 0.1));
    }

    #[test]
    fn forecasting_many_models_at_once_equals_forecasting_each() {
        let y: Vec<f32> = (0..300).map(|d| if d % 3 == 0 || d % 7 == 0 { (d % 5 + 1) as f32 } else { 0.0 }).collect();
        let models = Model::baselines();
        let mut many = vec![0.0; models.len() * 5];
        forecast_many(&models, &y, 5, &mut many, &mut Scratch::default());
        for (model, row) in models.iter().zip(many.chunks(5)) {
            assert_eq!(row, run(*model, &y, 5).as_slice(), "{}", model.name());
        }
    }

    #[test]
    fn imapa_averages_the_daily_rates_of_every_level_up_to_the_mean_interval() {
        // Mean interval 1.75 → levels 1 and 2; IMAPA is the mean of both levels' daily rates.
        let y = [2.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0, 0.0];
        let mut scratch = Scratch::default();
        let expected = 0.5 * (aggregated_rate(&y, 1, &mut scratch) + aggregated_rate(&y, 2, &mut scratch));
        assert!(close(run(Model::Imapa, &y, 1)[0], expected));
        // Level 2 alone is exactly 1 per day (see ADIDA); level 1 is not.
        assert!(close(aggregated_rate(&y, 2, &mut scratch), 1.0));
        assert!(!close(expected, 1.0));
    }
}
