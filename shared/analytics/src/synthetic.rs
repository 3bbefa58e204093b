//! Deterministic synthetic panels of a small online wholesaler, unlike a supermarket: closed on
//! one weekday, closed over the year-end holidays, and lumpy orders (a compound Poisson number
//! of orders a day with heavy-tailed sizes, so that most days sell nothing). Used by the unit
//! tests that reproduce what M5 never shows, and by `make eval` as its second panel.
//!
//! The same [`Wholesaler`] and seed always give the same panel, on every machine: the random
//! numbers come from SplitMix64, not from a library whose stream may change.

use ndarray::Array2;

use crate::panel::{Calendar, Panel};

/// How a synthetic wholesaler's panel is drawn.
#[derive(Debug, Clone)]
pub struct Wholesaler {
    pub seed: u64,
    pub series: usize,
    /// Pooling groups (categories at one location); series are dealt round-robin.
    pub groups: usize,
    /// Days of demand drawn (history and whatever the caller keeps for scoring).
    pub days: usize,
    /// Days past `days` the expected demand is reported for (the horizon).
    pub horizon: usize,
    /// Weekday of day 0 (0 = Monday).
    pub first_weekday: u8,
    /// Day of the year of day 0 (0 = 1 January), for the year-end closure.
    pub start_day_of_year: usize,
    /// Civil date of day 0 (year, month, day), for the calendar's days of the month.
    pub calendar_start: (i32, u32, u32),
    /// Weekday the shop never opens, if any.
    pub closed_weekday: Option<u8>,
    /// Close from 24 December to 1 January every year.
    pub year_end_closure: bool,
    /// Expected orders per open day: each series draws its rate log-uniformly in this range.
    pub orders_per_day: (f64, f64),
    /// Tail index of order sizes (Pareto); smaller is heavier. Sizes are whole units, at least 1.
    pub size_tail: f64,
    /// Typical order size: each series draws its scale log-uniformly in this range.
    pub size_scale: (f64, f64),
    /// Share of series launched during the first three quarters of the drawn days (on a
    /// uniformly drawn day) rather than selling from day 0.
    pub launched: f64,
}

impl Default for Wholesaler {
    /// 1,000 SKUs in 10 categories over two years and 28 days, closed on Sundays and over the
    /// year end; 0.15 to 2 orders a day of 1 to 4 units typically, heavy-tailed (index 2):
    /// about 60% of days sell nothing.
    fn default() -> Self {
        Self {
            seed: 10,
            series: 1000,
            groups: 10,
            days: 730 + 28,
            horizon: 28,
            first_weekday: 0,
            start_day_of_year: 0,
            calendar_start: (2024, 1, 1),
            closed_weekday: Some(6),
            year_end_closure: true,
            orders_per_day: (0.15, 2.0),
            size_tail: 2.0,
            size_scale: (1.0, 4.0),
            launched: 0.0,
        }
    }
}

/// A drawn panel and the truth behind it.
#[derive(Debug, Clone)]
pub struct SyntheticPanel {
    /// Demand over `days` days, with a plain calendar over `days + horizon` days.
    pub panel: Panel,
    /// Expected units per series and day over `days + horizon` days (0 on closed days).
    pub expected: Array2<f64>,
}

/// Weekly pattern of an open shop: busy early in the week, quiet on Saturdays.
const WEEKDAY_PATTERN: [f64; 7] = [1.3, 1.15, 1.05, 1.0, 0.85, 0.65, 1.0];

impl Wholesaler {
    /// Whether the shop is closed on day `t`.
    pub fn closed(&self, t: usize) -> bool {
        let weekday = (self.first_weekday as usize + t) % 7;
        if self.closed_weekday.is_some_and(|c| c as usize == weekday) {
            return true;
        }
        // A 365-day year is close enough for a synthetic shop.
        let day_of_year = (self.start_day_of_year + t) % 365;
        self.year_end_closure && (day_of_year >= 357 || day_of_year == 0)
    }

    /// Draw the panel.
    pub fn draw(&self) -> SyntheticPanel {
        let mut rng = SplitMix64(self.seed);
        let total_days = self.days + self.horizon;
        let mut demand = Array2::<f32>::zeros((self.series, self.days));
        let mut expected = Array2::<f64>::zeros((self.series, total_days));
        // Mean of a Pareto(tail, scale) size rounded up to whole units, by simulation once.
        for s in 0..self.series {
            let rate = log_uniform(&mut rng, self.orders_per_day);
            let scale = log_uniform(&mut rng, self.size_scale);
            let mean_size = self.mean_size(scale);
            // A slow drift over the two years (±30%) and a mild yearly swing (±15%).
            let drift = 0.7 + 0.6 * rng.next_f64();
            let phase = rng.next_f64() * std::f64::consts::TAU;
            let launch =
                if rng.next_f64() < self.launched { (rng.next_f64() * self.days as f64 * 0.75) as usize } else { 0 };
            for t in 0..total_days {
                if t < launch || self.closed(t) {
                    continue;
                }
                let weekday = (self.first_weekday as usize + t) % 7;
                let trend = 1.0 + (drift - 1.0) * t as f64 / total_days as f64;
                let season = 1.0 + 0.15 * (std::f64::consts::TAU * t as f64 / 365.0 + phase).sin();
                let lambda = rate * WEEKDAY_PATTERN[weekday] * trend * season;
                expected[(s, t)] = lambda * mean_size;
                if t < self.days {
                    let orders = poisson(&mut rng, lambda);
                    let units: f64 = (0..orders).map(|_| pareto_units(&mut rng, self.size_tail, scale)).sum();
                    // An empty sum is −0.0; demand is counted from +0.
                    demand[(s, t)] = (units + 0.0) as f32;
                }
            }
        }
        let mut panel = Panel::from_demand(demand, self.first_weekday);
        panel.group = (0..self.series).map(|s| (s % self.groups.max(1)) as u32).collect();
        panel.calendar = Some(Calendar::plain(self.calendar_start, total_days, 1));
        SyntheticPanel { panel, expected }
    }

    /// Expected whole units of one order of scale `scale`: E⌈X⌉ for X Pareto, summed exactly
    /// over whole units (P(⌈X⌉ ≥ k) = P(X > k − 1)).
    fn mean_size(&self, scale: f64) -> f64 {
        let survival = |x: f64| if x < scale { 1.0 } else { (scale / x).powf(self.size_tail) };
        // Σ_{k ≥ 1} P(X > k − 1), to where the terms no longer matter.
        (1..100_000).map(|k| survival((k - 1) as f64)).take_while(|&p| p > 1e-12).sum()
    }
}

/// SplitMix64 (Steele, Lea and Flood): small, fast and fully specified.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn log_uniform(rng: &mut SplitMix64, (lo, hi): (f64, f64)) -> f64 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.next_f64()).exp()
}

/// A Poisson count by multiplying uniforms (fine for the small means used here).
fn poisson(rng: &mut SplitMix64, lambda: f64) -> u32 {
    let limit = (-lambda).exp();
    let (mut product, mut count) = (rng.next_f64(), 0u32);
    while product > limit {
        product *= rng.next_f64();
        count += 1;
    }
    count
}

/// A Pareto(tail, scale) size rounded up to whole units.
fn pareto_units(rng: &mut SplitMix64, tail: f64, scale: f64) -> f64 {
    let u = 1.0 - rng.next_f64(); // (0, 1]
    (scale * u.powf(-1.0 / tail)).ceil()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_panel_and_the_default_is_mostly_zero_days() {
        let config = Wholesaler { series: 200, ..Wholesaler::default() };
        let (a, b) = (config.draw(), config.draw());
        assert_eq!(a.panel.demand, b.panel.demand);
        let zero = a.panel.demand.iter().filter(|&&v| v == 0.0).count() as f64 / a.panel.demand.len() as f64;
        assert!((0.5..0.7).contains(&zero), "{zero}");
        // Sundays (day 6, 13, …) and the year end never sell.
        assert!(a.panel.demand.column(6).iter().all(|&v| v == 0.0));
        assert!(a.panel.demand.column(360).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn drawn_demand_averages_to_the_expected_demand() {
        let drawn = Wholesaler { series: 300, ..Wholesaler::default() }.draw();
        let days = drawn.panel.n_days();
        let sold: f64 = drawn.panel.demand.iter().map(|&v| f64::from(v)).sum();
        let expected: f64 = drawn.expected.slice(ndarray::s![.., ..days]).sum();
        assert!((sold / expected - 1.0).abs() < 0.03, "sold {sold} expected {expected}");
    }
}
