//! Replenishment replay: day by day over the test window, periodic review, orders arriving after
//! the lead time, demand above stock lost.

/// Timing of the replenishment cycle.
#[derive(Debug, Clone, Copy)]
pub struct Cycle {
    /// Days from placing an order to having it on the shelf (before that day's demand).
    pub lead_time: usize,
    /// Days between reviews; reviews fall on days 0, R, 2R, … of the window.
    pub review_period: usize,
}

impl Cycle {
    /// Whether `day` (0-based in the window) is a review day.
    pub fn is_review(&self, day: usize) -> bool {
        day.is_multiple_of(self.review_period)
    }

    /// Days one order has to cover: lead time + review period.
    pub fn cover_days(&self) -> usize {
        self.lead_time + self.review_period
    }
}

/// What a replay served and held, summed over series and days.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    pub demanded: f64,
    pub served: f64,
    /// Series-days with demand that could not be served.
    pub stockout_days: u64,
    /// Sum over series-days of the stock on hand at the end of the day.
    pub on_hand_sum: f64,
    pub series_days: u64,
    /// Review cycles (days from one review to the next) with demand, and those of them in which
    /// all demand was served: their ratio is the realised cycle service level.
    pub cycles: u64,
    pub cycles_served: u64,
}

impl Outcome {
    /// Units served / units demanded.
    pub fn fill_rate(&self) -> f64 {
        self.served / self.demanded
    }

    /// Mean end-of-day stock on hand per series-day.
    pub fn avg_on_hand(&self) -> f64 {
        self.on_hand_sum / self.series_days as f64
    }

    /// Share of review cycles with demand in which no demand was lost.
    pub fn cycle_service_level(&self) -> f64 {
        self.cycles_served as f64 / self.cycles as f64
    }

    /// Add another replay's figures to these.
    pub fn add(&mut self, other: &Outcome) {
        self.demanded += other.demanded;
        self.served += other.served;
        self.stockout_days += other.stockout_days;
        self.on_hand_sum += other.on_hand_sum;
        self.series_days += other.series_days;
        self.cycles += other.cycles;
        self.cycles_served += other.cycles_served;
    }
}

/// Replay one series over `demand` (one value per day) from `start` units on hand. On each review
/// day, `order(day, on_hand, incoming)` returns the units to order; they arrive `lead_time` days
/// later (orders arriving after the window stay incoming).
pub fn replay(demand: &[f64], start: f64, cycle: Cycle, mut order: impl FnMut(usize, f64, f64) -> f64) -> Outcome {
    let mut arrivals = vec![0.0; demand.len() + cycle.lead_time + 1];
    let mut on_hand = start;
    let mut incoming = 0.0;
    let mut out = Outcome::default();
    // (demand seen, a shortfall seen) in the current review cycle.
    let mut cycle_state = (false, false);
    let close_cycle = |out: &mut Outcome, state: &mut (bool, bool)| {
        if state.0 {
            out.cycles += 1;
            out.cycles_served += u64::from(!state.1);
        }
        *state = (false, false);
    };
    for (day, &d) in demand.iter().enumerate() {
        if day > 0 && cycle.is_review(day) {
            close_cycle(&mut out, &mut cycle_state);
        }
        on_hand += arrivals[day];
        incoming -= arrivals[day];
        if cycle.is_review(day) {
            let q = order(day, on_hand, incoming).max(0.0);
            if cycle.lead_time == 0 {
                on_hand += q;
            } else {
                arrivals[day + cycle.lead_time] += q;
                incoming += q;
            }
        }
        let served = d.min(on_hand);
        on_hand -= served;
        out.demanded += d;
        out.served += served;
        if served < d {
            out.stockout_days += 1;
            cycle_state.1 = true;
        }
        cycle_state.0 |= d > 0.0;
        out.on_hand_sum += on_hand;
        out.series_days += 1;
    }
    close_cycle(&mut out, &mut cycle_state);
    out
}

/// The classic order-up-to level: moving-average demand over the cover days plus `k` daily
/// standard deviations scaled by √(cover days), from the recent daily demand in `window`.
pub fn classic_level(window: &[f64], cover_days: usize, k: f64) -> f64 {
    let n = window.len() as f64;
    let mean = window.iter().sum::<f64>() / n;
    let var = if window.len() > 1 { window.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    let c = cover_days as f64;
    (mean * c + k * var.sqrt() * c.sqrt()).ceil()
}

/// Find the smallest `k` in `[lo, hi]` at which `fill(k)` reaches `target` (fill rising with k),
/// by bisection to a width of 1e-4; `None` when even `hi` falls short.
pub fn match_fill<T>(target: f64, lo: f64, hi: f64, mut run: impl FnMut(f64) -> (f64, T)) -> Option<(f64, T)> {
    let top = run(hi);
    if top.0 < target {
        return None;
    }
    let (mut lo, mut hi, mut best) = (lo, hi, top);
    while hi - lo > 1e-4 {
        let mid = 0.5 * (lo + hi);
        let r = run(mid);
        if r.0 >= target {
            hi = mid;
            best = r;
        } else {
            lo = mid;
        }
    }
    Some((hi, best.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// L = 1, R = 2, start 5, order up to 6, demand [3, 4, 0, 2, 6]:
    /// day 0 review: 5 on hand → order 1; serve 3 → 2 left.
    /// day 1: +1 → 3; demand 4 → serve 3, lose 1 → 0 left.
    /// day 2 review: 0 on hand → order 6; demand 0 → 0 left.
    /// day 3: +6 → 6; serve 2 → 4 left.
    /// day 4 review: 4 on hand → order 2 (arrives after the window); demand 6 → serve 4, lose 2.
    #[test]
    fn five_day_replay_bookkeeping() {
        let cycle = Cycle { lead_time: 1, review_period: 2 };
        let mut orders = vec![];
        let out = replay(&[3.0, 4.0, 0.0, 2.0, 6.0], 5.0, cycle, |day, on_hand, incoming| {
            let q = 6.0 - on_hand - incoming;
            orders.push((day, q));
            q
        });
        assert_eq!(orders, vec![(0, 1.0), (2, 6.0), (4, 2.0)]);
        // Cycles: days 0–1 (short on day 1), days 2–3 (no demand on day 2, 2 served on day 3),
        // day 4 (short): one of three cycles with demand fully served.
        assert_eq!(
            out,
            Outcome {
                demanded: 15.0,
                served: 12.0,
                stockout_days: 2,
                on_hand_sum: 6.0,
                series_days: 5,
                cycles: 3,
                cycles_served: 1
            }
        );
        assert!((out.fill_rate() - 0.8).abs() < 1e-12);
        assert!((out.avg_on_hand() - 1.2).abs() < 1e-12);
    }

    #[test]
    fn orders_with_no_lead_time_arrive_before_the_days_demand() {
        let cycle = Cycle { lead_time: 0, review_period: 1 };
        let out = replay(&[2.0, 2.0], 0.0, cycle, |_, on_hand, _| 2.0 - on_hand);
        assert_eq!(out.served, 4.0);
        assert_eq!(out.stockout_days, 0);
    }

    #[test]
    fn classic_level_adds_k_daily_deviations() {
        // Mean 2, sample std 2 (window [0, 4, 2, 2] has variance 8/3): L + R = 4.
        let w = [0.0, 4.0, 2.0, 2.0];
        assert_eq!(classic_level(&w, 4, 0.0), 8.0);
        assert_eq!(classic_level(&w, 4, 1.0), (8.0 + (8.0f64 / 3.0).sqrt() * 2.0).ceil());
    }

    #[test]
    fn bisection_finds_the_smallest_k_reaching_the_fill() {
        let (k, at) = match_fill(0.9, 0.0, 10.0, |k| ((k / 5.0).min(1.0), k)).expect("reachable");
        assert!((k - 4.5).abs() < 1e-3 && (at - k).abs() < 1e-12);
        assert!(match_fill(0.9, 0.0, 1.0, |k| (k / 5.0, ())).is_none());
    }
}
