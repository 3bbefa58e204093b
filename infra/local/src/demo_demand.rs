//! Deterministic, realistic daily sales for the demo vendors (`make run`) and the forecast
//! benchmark (`make bench`): a weekly pattern per category, a trend, yearly seasonality for
//! some SKUs, intermittent slow movers and a promotion spike, from a seeded generator.

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, Poisson};

/// The demo's generator: seeded, so the same seed gives the same sales.
pub type Rng = StdRng;

/// A generator for `seed`.
pub fn rng(seed: u64) -> Rng {
    StdRng::seed_from_u64(seed)
}

/// A Poisson count with mean `mean` (0 for no demand).
pub fn count(rng: &mut Rng, mean: f64) -> u32 {
    match Poisson::new(mean) {
        Ok(poisson) if mean > 0.0 => poisson.sample(rng) as u32,
        _ => 0,
    }
}

/// How one SKU sells.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Mean units a day at the start of the history (before weekday and season effects).
    pub base: f64,
    /// Multiplier per weekday, Monday first.
    pub weekly: [f64; 7],
    /// Total growth over the history (0.3 = +30%).
    pub trend: f64,
    /// Amplitude of a yearly cycle peaking mid-July (0 = none).
    pub season: f64,
    /// Probability of any sale on a day (1 = sells daily; below 1 = intermittent).
    pub sell_probability: f64,
    /// First day index of a 7-day promotion that triples demand, if any.
    pub promotion: Option<usize>,
}

pub const FLAT: [f64; 7] = [1.0; 7];
pub const WEEKEND: [f64; 7] = [0.8, 0.8, 0.85, 0.9, 1.1, 1.5, 1.3];
pub const WEEKDAY: [f64; 7] = [1.2, 1.15, 1.1, 1.1, 1.0, 0.6, 0.5];

impl Profile {
    /// A varied profile for SKU number `i` (deterministic in `seed`).
    pub fn varied(rng: &mut Rng, i: usize, days: usize) -> Self {
        let kind = i % 10;
        let (base, sell_probability) = match kind {
            0..=2 => (rng.random_range(20.0..60.0), 1.0), // fast movers
            3..=6 => (rng.random_range(3.0..15.0), 1.0),  // steady
            7 | 8 => (rng.random_range(1.0..3.0), rng.random_range(0.1..0.35)), // intermittent slow movers
            _ => (rng.random_range(0.5..2.0), rng.random_range(0.03..0.1)), // very slow
        };
        Self {
            base,
            weekly: [FLAT, WEEKEND, WEEKDAY][i % 3],
            trend: rng.random_range(-0.2..0.4),
            season: if i.is_multiple_of(4) { rng.random_range(0.1..0.5) } else { 0.0 },
            sell_probability,
            promotion: (i.is_multiple_of(7) && days > 260).then(|| days - 30 - rng.random_range(0..200usize)),
        }
    }

    /// Units sold on `date`, day `index` of a history of `days` days.
    pub fn units(&self, rng: &mut Rng, date: NaiveDate, index: usize, days: usize) -> u32 {
        if self.sell_probability < 1.0 && rng.random::<f64>() >= self.sell_probability {
            return 0;
        }
        let progress = index as f64 / days.max(1) as f64;
        let yearly = 1.0 + self.season * ((date.ordinal() as f64 - 196.0) / 365.25 * std::f64::consts::TAU).cos();
        let promo = match self.promotion {
            Some(start) if (start..start + 7).contains(&index) => 3.0,
            _ => 1.0,
        };
        let weekday = self.weekly[date.weekday().num_days_from_monday() as usize];
        let mean = self.base * (1.0 + self.trend * progress) * yearly * weekday * promo;
        if self.sell_probability < 1.0 {
            // When an intermittent SKU sells, it sells a small batch.
            return 1 + count(rng, (mean - 1.0).max(0.0));
        }
        count(rng, mean)
    }

    /// Daily units for the `days` days ending on `last`.
    pub fn history(&self, rng: &mut Rng, last: NaiveDate, days: usize) -> Vec<(NaiveDate, u32)> {
        (0..days)
            .map(|i| {
                let date = last - chrono::Duration::days((days - 1 - i) as i64);
                (date, self.units(rng, date, i, days))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let last = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let make = || {
            let mut rng = rng(7);
            let p = Profile::varied(&mut rng, 3, 730);
            p.history(&mut rng, last, 730)
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn counts_average_their_mean_and_slow_movers_mostly_sell_nothing() {
        let mut rng = rng(1);
        let n = 20_000;
        let mean = (0..n).map(|_| count(&mut rng, 4.0) as f64).sum::<f64>() / n as f64;
        assert!((mean - 4.0).abs() < 0.1, "{mean}");
        let last = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let slow = Profile::varied(&mut rng, 9, 730);
        let zero_days = slow.history(&mut rng, last, 730).iter().filter(|(_, u)| *u == 0).count();
        assert!(zero_days > 600, "{zero_days}");
    }
}
