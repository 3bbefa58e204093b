//! Accuracy and calibration measures: WRMSSE over a hierarchy, WAPE and bias of horizon totals,
//! parity between two forecasts, realised service levels, and the reference quantiles.

use anyhow::{Result, ensure};
use ndarray::{Array2, ArrayView2, Axis};

use crate::data::{SeriesMeta, dense_ids};

/// One aggregation level: which aggregate each bottom series adds into.
#[derive(Debug, Clone)]
pub struct Level {
    pub name: &'static str,
    /// Aggregate index (0..n) per bottom series.
    pub key: Vec<u32>,
    pub n: usize,
}

impl Level {
    /// A level whose aggregates are the distinct values of `key_of` over the series.
    pub fn by(name: &'static str, series: &[SeriesMeta], key_of: impl Fn(&SeriesMeta) -> String) -> Self {
        let keys: Vec<String> = series.iter().map(key_of).collect();
        let (key, n) = dense_ids(&keys);
        Self { name, key, n }
    }

    /// Sum the rows of `bottom` (series × days) into aggregates × days.
    fn aggregate<T: Copy + Into<f64>>(&self, bottom: ArrayView2<T>) -> Array2<f64> {
        let mut out = Array2::zeros((self.n, bottom.ncols()));
        for (row, &k) in bottom.outer_iter().zip(&self.key) {
            let mut target = out.row_mut(k as usize);
            for (t, &v) in target.iter_mut().zip(row.iter()) {
                *t += v.into();
            }
        }
        out
    }
}

/// The twelve M5 levels, from the total down to item × store.
pub fn m5_levels(series: &[SeriesMeta]) -> Vec<Level> {
    vec![
        Level::by("total", series, |_| String::new()),
        Level::by("state", series, |m| m.state.clone()),
        Level::by("store", series, |m| m.store.clone()),
        Level::by("cat", series, |m| m.cat.clone()),
        Level::by("dept", series, |m| m.dept.clone()),
        Level::by("state x cat", series, |m| format!("{}|{}", m.state, m.cat)),
        Level::by("state x dept", series, |m| format!("{}|{}", m.state, m.dept)),
        Level::by("store x cat", series, |m| format!("{}|{}", m.store, m.cat)),
        Level::by("store x dept", series, |m| format!("{}|{}", m.store, m.dept)),
        Level::by("item", series, |m| m.item.clone()),
        Level::by("item x state", series, |m| format!("{}|{}", m.item, m.state)),
        Level::by("item x store", series, |m| m.id.clone()),
    ]
}

/// A level prepared for scoring: aggregated actuals, RMSSE scales and weights.
#[derive(Debug, Clone)]
struct ScoredLevel {
    level: Level,
    actual: Array2<f64>,
    /// Mean squared day-to-day change of the aggregate's history after its leading zeros.
    scale: Vec<f64>,
    /// Revenue share of the aggregate within its level (sums to 1).
    weight: Vec<f64>,
}

/// Weighted root mean squared scaled error over several aggregation levels, each level weighing
/// 1 / (number of levels): the M5 accuracy measure.
#[derive(Debug, Clone)]
pub struct Wrmsse {
    levels: Vec<ScoredLevel>,
}

impl Wrmsse {
    /// Prepare the measure from the in-sample `history` (series × days), each series' `revenue`
    /// over the weighting window, and the `actuals` (series × horizon).
    pub fn new(
        levels: Vec<Level>,
        history: ArrayView2<f32>,
        revenue: &[f64],
        actuals: ArrayView2<f64>,
    ) -> Result<Self> {
        ensure!(history.nrows() == revenue.len() && history.nrows() == actuals.nrows(), "row counts differ");
        let revenue = ndarray::Array2::from_shape_vec((revenue.len(), 1), revenue.to_vec())?;
        let levels = levels
            .into_iter()
            .map(|level| {
                ensure!(level.key.len() == history.nrows(), "level {} keys {} series", level.name, level.key.len());
                let hist = level.aggregate(history);
                let scale: Vec<f64> = hist.outer_iter().map(|row| scale(&row.to_vec())).collect();
                let rev = level.aggregate(revenue.view()).column(0).to_vec();
                let total: f64 = rev.iter().sum();
                ensure!(total > 0.0, "level {}: no revenue in the weighting window", level.name);
                let weight: Vec<f64> = rev.iter().map(|r| r / total).collect();
                // An aggregate that has not sold yet (possible at early validation origins) weighs
                // nothing; any other needs a defined scale.
                if let Some(k) = (0..scale.len()).find(|&k| weight[k] > 0.0 && (scale[k].is_nan() || scale[k] <= 0.0)) {
                    anyhow::bail!("level {}: aggregate {k} has a constant history, its RMSSE is undefined", level.name);
                }
                let actual = level.aggregate(actuals);
                Ok(ScoredLevel { level, actual, scale, weight })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { levels })
    }

    /// The score of `forecast` (series × horizon): the total and each level's weighted RMSSE.
    pub fn score(&self, forecast: ArrayView2<f64>) -> (f64, Vec<(&'static str, f64)>) {
        let per_level: Vec<(&'static str, f64)> = self
            .levels
            .iter()
            .map(|l| {
                let f = l.level.aggregate(forecast);
                let s: f64 = f
                    .outer_iter()
                    .zip(l.actual.outer_iter())
                    .zip(l.scale.iter().zip(&l.weight))
                    .filter(|(_, (_, w))| **w > 0.0)
                    .map(|((f, a), (scale, w))| {
                        let mse = f.iter().zip(a.iter()).map(|(f, a)| (f - a).powi(2)).sum::<f64>() / f.len() as f64;
                        w * (mse / scale).sqrt()
                    })
                    .sum();
                (l.level.name, s)
            })
            .collect();
        let total = per_level.iter().map(|(_, s)| s).sum::<f64>() / per_level.len() as f64;
        (total, per_level)
    }
}

/// Mean squared lag-1 difference of `y` after its leading zeros (0 when fewer than two days remain).
fn scale(y: &[f64]) -> f64 {
    let start = y.iter().position(|&v| v != 0.0).unwrap_or(y.len());
    let y = &y[start..];
    if y.len() < 2 {
        return 0.0;
    }
    y.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (y.len() - 1) as f64
}

/// Totals over the horizon per series (row sums).
pub fn totals(m: ArrayView2<f64>) -> Vec<f64> {
    m.sum_axis(Axis(1)).to_vec()
}

/// Weighted absolute percentage error of per-series totals: Σ|F − A| / ΣA.
pub fn wape(forecast: &[f64], actual: &[f64]) -> f64 {
    let err: f64 = forecast.iter().zip(actual).map(|(f, a)| (f - a).abs()).sum();
    err / actual.iter().sum::<f64>()
}

/// Relative bias of totals: ΣF / ΣA − 1 (positive: over-forecast).
pub fn bias(forecast: &[f64], actual: &[f64]) -> f64 {
    forecast.iter().sum::<f64>() / actual.iter().sum::<f64>() - 1.0
}

/// Largest relative difference `|ours − reference| / max(1, |reference|)`; NaN anywhere counts as
/// infinitely far.
pub fn parity(ours: ArrayView2<f64>, reference: ArrayView2<f64>) -> f64 {
    ours.iter()
        .zip(reference.iter())
        .map(|(o, r)| {
            let d = (o - r).abs() / r.abs().max(1.0);
            if d.is_nan() { f64::INFINITY } else { d }
        })
        .fold(0.0, f64::max)
}

/// Realised cycle service level (share of series whose actual total is at most its quantile) and
/// stock held relative to demand (Σ quantile / Σ actual).
pub fn service_level(quantile: &[f64], actual: &[f64]) -> (f64, f64) {
    let covered = quantile.iter().zip(actual).filter(|(q, a)| a <= q).count();
    (covered as f64 / actual.len() as f64, quantile.iter().sum::<f64>() / actual.iter().sum::<f64>())
}

/// The smallest k with P(Poisson(mean) ≤ k) ≥ level (normal approximation above mean 500).
pub fn poisson_quantile(mean: f64, level: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    if mean > 500.0 {
        return (mean + normal_quantile(level) * mean.sqrt() - 0.5).ceil().max(0.0);
    }
    let mut pmf = (-mean).exp();
    let mut cdf = pmf;
    let mut k = 0.0;
    while cdf < level {
        k += 1.0;
        pmf *= mean / k;
        cdf += pmf;
    }
    k
}

/// The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680_131_188_771_972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Sample standard deviation of the totals of the last `blocks` non-overlapping `days`-day blocks
/// of `history` (ending at its last day).
pub fn block_total_std(history: &[f32], days: usize, blocks: usize) -> f64 {
    let totals: Vec<f64> =
        history.rchunks_exact(days).take(blocks).map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>()).collect();
    let n = totals.len() as f64;
    if totals.len() < 2 {
        return 0.0;
    }
    let mean = totals.iter().sum::<f64>() / n;
    (totals.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Two series under one total. Histories s1 = [0, 1, 3], s2 = [2, 2, 4]:
    /// scales: s1 (leading zero trimmed) [1, 3] → 2² = 4; s2 → (0 + 4) / 2 = 2;
    /// total [2, 3, 7] → (1 + 16) / 2 = 8.5.
    /// Actuals s1 [2, 2], s2 [1, 3]; forecasts s1 [1, 2], s2 [1, 1]:
    /// RMSSE s1 = √(0.5 / 4), s2 = √(2 / 2) = 1, total (errors 1, 2) = √(2.5 / 8.5).
    /// Revenue 3 and 1 → weights 0.75, 0.25. WRMSSE = (total + 0.75·s1 + 0.25·s2) / 2.
    #[test]
    fn wrmsse_of_a_two_series_hierarchy_matches_the_hand_computation() -> Result<()> {
        let levels =
            vec![Level { name: "total", key: vec![0, 0], n: 1 }, Level { name: "series", key: vec![0, 1], n: 2 }];
        let history = array![[0.0f32, 1.0, 3.0], [2.0, 2.0, 4.0]];
        let actuals = array![[2.0, 2.0], [1.0, 3.0]];
        let forecast = array![[1.0, 2.0], [1.0, 1.0]];
        let w = Wrmsse::new(levels, history.view(), &[3.0, 1.0], actuals.view())?;
        let (total, per_level) = w.score(forecast.view());
        let top = (2.5f64 / 8.5).sqrt();
        let bottom = 0.75 * (0.5f64 / 4.0).sqrt() + 0.25;
        assert!(close(per_level[0].1, top), "{per_level:?}");
        assert!(close(per_level[1].1, bottom), "{per_level:?}");
        assert!(close(total, (top + bottom) / 2.0));
        assert!(close(w.score(actuals.view()).0, 0.0));
        Ok(())
    }

    #[test]
    fn an_aggregate_with_a_constant_history_is_reported() {
        let levels = vec![Level { name: "series", key: vec![0], n: 1 }];
        let r = Wrmsse::new(levels, array![[0.0f32, 2.0, 2.0]].view(), &[1.0], array![[1.0]].view());
        assert!(r.is_err());
    }

    #[test]
    fn an_item_not_yet_sold_at_an_early_origin_weighs_nothing() -> Result<()> {
        // Series 1 has sold nothing (no scale, no revenue): it is left out, so the score is
        // series 0's alone: RMSSE √(1 / 1) = 1 with weight 1.
        let levels = vec![Level { name: "series", key: vec![0, 1], n: 2 }];
        let history = array![[1.0f32, 2.0, 3.0], [0.0, 0.0, 0.0]];
        let actuals = array![[4.0], [5.0]];
        let w = Wrmsse::new(levels, history.view(), &[2.0, 0.0], actuals.view())?;
        assert!(close(w.score(array![[3.0], [0.0]].view()).0, 1.0));
        Ok(())
    }

    #[test]
    fn wape_and_bias_of_totals() {
        let (f, a) = ([12.0, 0.0, 5.0], [10.0, 4.0, 6.0]);
        assert!(close(wape(&f, &a), (2.0 + 4.0 + 1.0) / 20.0));
        assert!(close(bias(&f, &a), 17.0 / 20.0 - 1.0));
    }

    #[test]
    fn parity_is_relative_above_one_and_absolute_below() {
        let ours = array![[100.1, 0.5], [0.0, 2.0]];
        let reference = array![[100.0, 0.4], [0.0, 2.0]];
        assert!(close(parity(ours.view(), reference.view()), 0.1));
        let nan = array![[f64::NAN, 0.5], [0.0, 2.0]];
        assert_eq!(parity(nan.view(), reference.view()), f64::INFINITY);
    }

    #[test]
    fn service_level_counts_covered_series_and_stock_ratio() {
        let (csl, stock) = service_level(&[5.0, 3.0, 10.0, 0.0], &[5.0, 4.0, 2.0, 0.0]);
        assert!(close(csl, 0.75));
        assert!(close(stock, 18.0 / 11.0));
    }

    #[test]
    fn quantiles_match_tabulated_values() {
        assert!((normal_quantile(0.975) - 1.959963985).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326347874).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        // Poisson(2): P(X ≤ 3) = 0.857, P(X ≤ 4) = 0.947, P(X ≤ 5) = 0.983.
        assert_eq!(poisson_quantile(2.0, 0.9), 4.0);
        assert_eq!(poisson_quantile(2.0, 0.95), 5.0);
        assert_eq!(poisson_quantile(0.0, 0.95), 0.0);
    }

    #[test]
    fn block_std_uses_the_last_whole_blocks() {
        // Blocks of 2 from the end: [3, 5] → 8, [1, 1] → 2; the leading 9 is not a whole block.
        let s = block_total_std(&[9.0, 1.0, 1.0, 3.0, 5.0], 2, 13);
        assert!(close(s, (18.0f64).sqrt()));
    }
}
