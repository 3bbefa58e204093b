//! Deterministic, realistic daily sales for the demo vendors (`make run`) and the forecast
//! benchmark (`make bench`): a weekly pattern per category, a trend, yearly seasonality for
//! some SKUs, intermittent slow movers and a promotion spike, from a seeded generator.

use chrono::{Datelike, NaiveDate};

/// SplitMix64: tiny, fast and good enough for demo data; the same seed gives the same sales.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Poisson-like count with mean `mean` (exact for small means, normal approximation above 30).
    pub fn count(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            return (mean + mean.sqrt() * self.normal()).round().max(0.0) as u32;
        }
        let (limit, mut product, mut k) = ((-mean).exp(), self.unit(), 0u32);
        while product > limit {
            product *= self.unit();
            k += 1;
        }
        k
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
            0..=2 => (rng.range(20.0, 60.0), 1.0),                // fast movers
            3..=6 => (rng.range(3.0, 15.0), 1.0),                 // steady
            7 | 8 => (rng.range(1.0, 3.0), rng.range(0.1, 0.35)), // intermittent slow movers
            _ => (rng.range(0.5, 2.0), rng.range(0.03, 0.1)),     // very slow
        };
        Self {
            base,
            weekly: [FLAT, WEEKEND, WEEKDAY][i % 3],
            trend: rng.range(-0.2, 0.4),
            season: if i.is_multiple_of(4) { rng.range(0.1, 0.5) } else { 0.0 },
            sell_probability,
            promotion: (i.is_multiple_of(7) && days > 260).then(|| days - 30 - (rng.next_u64() % 200) as usize),
        }
    }

    /// Units sold on `date`, day `index` of a history of `days` days.
    pub fn units(&self, rng: &mut Rng, date: NaiveDate, index: usize, days: usize) -> u32 {
        if self.sell_probability < 1.0 && rng.unit() >= self.sell_probability {
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
            return 1 + rng.count((mean - 1.0).max(0.0));
        }
        rng.count(mean)
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
            let mut rng = Rng::new(7);
            let p = Profile::varied(&mut rng, 3, 730);
            p.history(&mut rng, last, 730)
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn counts_average_their_mean_and_slow_movers_mostly_sell_nothing() {
        let mut rng = Rng::new(1);
        let n = 20_000;
        let mean = (0..n).map(|_| rng.count(4.0) as f64).sum::<f64>() / n as f64;
        assert!((mean - 4.0).abs() < 0.1, "{mean}");
        let last = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let slow = Profile::varied(&mut rng, 9, 730);
        let zero_days = slow.history(&mut rng, last, 730).iter().filter(|(_, u)| *u == 0).count();
        assert!(zero_days > 600, "{zero_days}");
    }
}
