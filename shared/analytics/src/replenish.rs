//! Replenishment: safety stock, reorder point and order quantity per SKU-location from its forecast,
//! grouped per supplier, plus the SKUs at risk of running out or holding too much.
//!
//! Policy: periodic review with order-up-to level. Every `review_period_days` the position
//! (on hand + incoming) is compared with the order-up-to level S = the `service_level` quantile of
//! demand over lead time + review period; below it, order S − position, rounded up to the
//! supplier's minimum and pack multiple. The reorder point is the same quantile over the lead time
//! alone (for continuous review), and safety stock is S minus expected demand over L + R.
//!
//! Sanity guard: an order whose need (S − position, before supplier rounding) exceeds
//! [`REVIEW_FACTOR`] × the most the SKU-location ever sold over L + R consecutive days is not
//! suggested silently: the suggestion carries a [`Review`] with the reason, and the forecasting
//! API holds such lines for review instead of adding them to a supplier's order.

use serde::{Deserialize, Serialize};

use crate::engine::SeriesForecast;

/// What is known about one SKU-location besides its forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockPosition {
    pub lead_time_days: u32,
    pub review_period_days: u32,
    /// Target cycle service level (0..1), e.g. 0.95.
    pub service_level: f64,
    pub on_hand: f64,
    /// Ordered and not yet received.
    pub incoming: f64,
    /// Smallest quantity the supplier accepts (0 = none).
    pub min_order_qty: f64,
    /// Orders are whole multiples of this pack size (1 = any whole unit).
    pub order_multiple: f64,
    /// The most this SKU-location sold over any lead time + review period of its history
    /// (see [`largest_total`]); `None` when unknown, which turns the sanity guard off.
    #[serde(default)]
    pub largest_cycle_demand: Option<f64>,
}

/// Why a stock position cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ReplenishError {
    /// The service level is not strictly between 0 and 1.
    #[error("service level must lie strictly between 0 and 1, got {value}")]
    ServiceLevel { value: f64 },
    /// A quantity is negative, infinite or NaN.
    #[error("{field} must be a finite non-negative number, got {value}")]
    Quantity { field: &'static str, value: f64 },
    /// The pack size is not a positive finite number.
    #[error("order multiple must be a positive finite number, got {value}")]
    OrderMultiple { value: f64 },
}

pub use stockyard_domain::demand::Risk;

/// The suggestion for one SKU-location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Expected demand over lead time + review period.
    pub expected_demand: f64,
    pub safety_stock: f64,
    pub reorder_point: f64,
    pub order_up_to: f64,
    /// Units to order now (0 when the position suffices), after supplier rounding.
    pub order_qty: f64,
    /// Days the current position lasts at the forecast rate (`None` when no demand is expected).
    pub days_of_cover: Option<f64>,
    pub risk: Risk,
    /// Why a person should look at this order before it is placed, if they should.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

/// Why an order is held for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Review {
    /// The order needs far more than the SKU-location ever sold over the same number of days.
    FarBeyondHistory {
        /// Units the order-up-to level asks for, before supplier rounding.
        need: f64,
        /// The most ever sold over lead time + review period.
        largest_cycle_demand: f64,
        /// Lead time + review period, days.
        days: usize,
    },
}

impl std::fmt::Display for Review {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Review::FarBeyondHistory { need, largest_cycle_demand, days } => write!(
                f,
                "the order needs {need:.0} units, more than {REVIEW_FACTOR:.0} times the most ever sold over \
                 {days} days ({largest_cycle_demand:.0}); check the sales history and the forecast before ordering"
            ),
        }
    }
}

/// An order needing more than this many times the most ever sold over lead time + review period
/// is held for review.
pub const REVIEW_FACTOR: f64 = 3.0;

/// The largest total of `days` consecutive values of `history` (all of it when shorter).
pub fn largest_total(history: &[f64], days: usize) -> f64 {
    let days = days.max(1);
    if history.len() <= days {
        return history.iter().sum();
    }
    let mut window: f64 = history[..days].iter().sum();
    let mut largest = window;
    for t in days..history.len() {
        window += history[t] - history[t - days];
        largest = largest.max(window);
    }
    largest
}

/// What replenishment needs from a forecast: expected demand and its quantiles over the next
/// `days` days. Implemented by [`SeriesForecast`]; tests and tools may plug in their own.
pub trait DemandOutlook {
    /// Expected total demand over the next `days` days.
    fn expected(&self, days: usize) -> f64;
    /// The `level` (0..1) quantile of total demand over the next `days` days.
    fn quantile(&self, days: usize, level: f64) -> f64;
}

impl DemandOutlook for SeriesForecast {
    fn expected(&self, days: usize) -> f64 {
        self.demand_over(days)
    }

    fn quantile(&self, days: usize, level: f64) -> f64 {
        SeriesForecast::quantile(self, days, level)
    }
}

/// Longest horizon (days) over which days of cover are counted.
const MAX_COVER_DAYS: usize = 3650;
/// Tolerance for float noise when counting packs (0.1 + 0.2 packs is 3 packs of 0.1, not 4).
const PACK_EPSILON: f64 = 1e-9;

/// Suggest for one SKU-location: see the module documentation for the policy.
///
/// Safety stock may be negative for very skewed (intermittent) demand, where the service-level
/// quantile lies below the mean; it is reported as computed.
pub fn suggest<D: DemandOutlook + ?Sized>(
    forecast: &D,
    position: &StockPosition,
) -> Result<Suggestion, ReplenishError> {
    validate(position)?;
    let lead = position.lead_time_days as usize;
    let cycle = lead + position.review_period_days as usize;
    let level = position.service_level;
    let expected_demand = forecast.expected(cycle).max(0.0);
    let order_up_to = forecast.quantile(cycle, level).max(0.0);
    let reorder_point = forecast.quantile(lead, level).max(0.0);
    let stock = position.on_hand + position.incoming;
    let order_qty = if stock < order_up_to {
        round_order(order_up_to - stock, position.min_order_qty, position.order_multiple)
    } else {
        0.0
    };
    let need = order_up_to - stock;
    let review = match position.largest_cycle_demand {
        Some(largest) if order_qty > 0.0 && need > REVIEW_FACTOR * largest => {
            Some(Review::FarBeyondHistory { need, largest_cycle_demand: largest, days: cycle })
        }
        _ => None,
    };
    let risk = if stock < forecast.expected(lead) {
        Risk::StockOut
    } else if stock > order_up_to + expected_demand {
        Risk::Overstock
    } else {
        Risk::None
    };
    Ok(Suggestion {
        expected_demand,
        safety_stock: order_up_to - expected_demand,
        reorder_point,
        order_up_to,
        order_qty,
        days_of_cover: days_of_cover(forecast, stock),
        risk,
        review,
    })
}

fn validate(p: &StockPosition) -> Result<(), ReplenishError> {
    if !(p.service_level > 0.0 && p.service_level < 1.0) {
        return Err(ReplenishError::ServiceLevel { value: p.service_level });
    }
    for (field, value) in [("on_hand", p.on_hand), ("incoming", p.incoming), ("min_order_qty", p.min_order_qty)] {
        if !(value.is_finite() && value >= 0.0) {
            return Err(ReplenishError::Quantity { field, value });
        }
    }
    if !(p.order_multiple.is_finite() && p.order_multiple > 0.0) {
        return Err(ReplenishError::OrderMultiple { value: p.order_multiple });
    }
    Ok(())
}

/// `need` rounded up to a whole number of packs, at least the supplier's minimum (itself
/// rounded up to whole packs, so every order is a whole number of packs).
fn round_order(need: f64, min_order_qty: f64, pack: f64) -> f64 {
    let packs = |q: f64| (q / pack - PACK_EPSILON).ceil().max(0.0) * pack;
    packs(need).max(packs(min_order_qty))
}

/// Days until expected cumulative demand reaches `stock` (interpolated within the day);
/// `None` when no demand is expected, or if stock outlasts [`MAX_COVER_DAYS`].
fn days_of_cover<D: DemandOutlook + ?Sized>(forecast: &D, stock: f64) -> Option<f64> {
    let horizon_demand = forecast.expected(MAX_COVER_DAYS);
    if horizon_demand.is_nan() || horizon_demand <= 0.0 {
        return None;
    }
    if stock <= 0.0 {
        return Some(0.0);
    }
    if horizon_demand < stock {
        return None;
    }
    // Smallest whole day count whose expected demand reaches the stock (demand only accumulates).
    let (mut lo, mut hi) = (0usize, MAX_COVER_DAYS);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if forecast.expected(mid) >= stock {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let (before, after) = (forecast.expected(lo), forecast.expected(hi));
    let part = if after > before { (stock - before) / (after - before) } else { 1.0 };
    Some(lo as f64 + part.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady `rate` per day whose quantile (any level) is 1.5 × the mean.
    struct Steady {
        rate: f64,
    }

    impl DemandOutlook for Steady {
        fn expected(&self, days: usize) -> f64 {
            self.rate * days as f64
        }
        fn quantile(&self, days: usize, _level: f64) -> f64 {
            1.5 * self.expected(days)
        }
    }

    fn position(on_hand: f64, min_order_qty: f64, order_multiple: f64) -> StockPosition {
        StockPosition {
            lead_time_days: 5,
            review_period_days: 7,
            service_level: 0.95,
            on_hand,
            incoming: 3.0,
            min_order_qty,
            order_multiple,
            largest_cycle_demand: None,
        }
    }

    #[test]
    fn order_up_to_safety_stock_and_reorder_point_follow_the_quantiles() {
        // 2 a day over L + R = 12 days: expected 24, S = 36, safety 12; over L = 5: ROP 15.
        let s = suggest(&Steady { rate: 2.0 }, &position(10.0, 0.0, 1.0)).expect("valid");
        assert_eq!((s.expected_demand, s.order_up_to, s.safety_stock, s.reorder_point), (24.0, 36.0, 12.0, 15.0));
        // Position 13 < 36: order 23 whole units; 13 units last 6.5 days.
        assert_eq!(s.order_qty, 23.0);
        assert_eq!(s.days_of_cover, Some(6.5));
        assert_eq!(s.risk, Risk::None);
    }

    #[test]
    fn orders_round_up_to_whole_packs_and_at_least_the_minimum() {
        // Need 23: packs of 5 → 25; minimum 30 in packs of 12 → 36 (the minimum itself
        // rounds up to whole packs).
        assert_eq!(suggest(&Steady { rate: 2.0 }, &position(10.0, 0.0, 5.0)).map(|s| s.order_qty), Ok(25.0));
        assert_eq!(suggest(&Steady { rate: 2.0 }, &position(10.0, 30.0, 12.0)).map(|s| s.order_qty), Ok(36.0));
        // 0.1 + 0.2 units in packs of 0.1 is 3 packs despite float noise.
        assert!((round_order(0.1 + 0.2, 0.0, 0.1) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn nothing_is_ordered_when_the_position_reaches_the_order_up_to_level() {
        let s = suggest(&Steady { rate: 2.0 }, &position(33.0, 10.0, 1.0)).expect("valid");
        assert_eq!(s.order_qty, 0.0);
    }

    #[test]
    fn risk_is_a_stock_out_below_lead_time_demand_and_overstock_above_s_plus_a_cycle() {
        // Lead time demand 10; position 4 + 3 = 7 < 10.
        assert_eq!(suggest(&Steady { rate: 2.0 }, &position(4.0, 0.0, 1.0)).map(|s| s.risk), Ok(Risk::StockOut));
        // S + expected = 36 + 24 = 60; position 58 + 3 = 61 > 60.
        assert_eq!(suggest(&Steady { rate: 2.0 }, &position(58.0, 0.0, 1.0)).map(|s| s.risk), Ok(Risk::Overstock));
        assert_eq!(suggest(&Steady { rate: 2.0 }, &position(56.0, 0.0, 1.0)).map(|s| s.risk), Ok(Risk::None));
    }

    #[test]
    fn days_of_cover_is_unknown_and_any_stock_is_excess_without_expected_demand() {
        let s = suggest(&Steady { rate: 0.0 }, &position(10.0, 0.0, 1.0)).expect("valid");
        assert_eq!((s.days_of_cover, s.order_qty, s.risk), (None, 0.0, Risk::Overstock));
    }

    #[test]
    fn without_expected_demand_days_of_cover_is_unknown_even_without_stock() {
        // The API documents null here; 0.0 was returned when nothing was on hand.
        let s =
            suggest(&Steady { rate: 0.0 }, &StockPosition { incoming: 0.0, ..position(0.0, 0.0, 1.0) }).expect("valid");
        assert_eq!(s.days_of_cover, None);
        let s =
            suggest(&Steady { rate: 1.0 }, &StockPosition { incoming: 0.0, ..position(0.0, 0.0, 1.0) }).expect("valid");
        assert_eq!(s.days_of_cover, Some(0.0));
    }

    #[test]
    fn an_order_far_beyond_anything_ever_sold_over_the_same_days_is_held_for_review() {
        // Need 36 − 13 = 23 units over 12 days; the most ever sold over 12 days was 7: 23 > 21.
        let mut p = position(10.0, 0.0, 1.0);
        p.largest_cycle_demand = Some(7.0);
        let s = suggest(&Steady { rate: 2.0 }, &p).expect("valid");
        assert_eq!(s.order_qty, 23.0, "the order is still computed, to be reviewed");
        assert_eq!(s.review, Some(Review::FarBeyondHistory { need: 23.0, largest_cycle_demand: 7.0, days: 12 }));
        let reason = s.review.map(|r| r.to_string()).unwrap_or_default();
        assert!(reason.contains("23 units") && reason.contains("12 days (7)"), "{reason}");
        // 8 units over 12 days once: 23 ≤ 24, an ordinary order.
        p.largest_cycle_demand = Some(8.0);
        assert_eq!(suggest(&Steady { rate: 2.0 }, &p).map(|s| s.review), Ok(None));
        // Unknown history: no guard. Nothing to order: nothing to review.
        p.largest_cycle_demand = None;
        assert_eq!(suggest(&Steady { rate: 2.0 }, &p).map(|s| s.review), Ok(None));
        p.largest_cycle_demand = Some(0.0);
        p.on_hand = 100.0;
        assert_eq!(suggest(&Steady { rate: 2.0 }, &p).map(|s| s.review), Ok(None));
    }

    #[test]
    fn the_largest_total_slides_over_every_window() {
        let h = [1.0, 0.0, 5.0, 2.0, 0.0, 0.0, 4.0];
        assert_eq!(largest_total(&h, 2), 7.0);
        assert_eq!(largest_total(&h, 3), 7.0);
        assert_eq!(largest_total(&h, 1), 5.0);
        assert_eq!(largest_total(&h, 10), 12.0);
        assert_eq!(largest_total(&[], 3), 0.0);
    }

    #[test]
    fn invalid_positions_are_rejected_with_a_typed_error() {
        let steady = Steady { rate: 1.0 };
        let mut p = position(1.0, 0.0, 1.0);
        p.service_level = 1.0;
        assert_eq!(suggest(&steady, &p), Err(ReplenishError::ServiceLevel { value: 1.0 }));
        let p = position(-1.0, 0.0, 1.0);
        assert_eq!(suggest(&steady, &p), Err(ReplenishError::Quantity { field: "on_hand", value: -1.0 }));
        let p = position(1.0, 0.0, 0.0);
        assert_eq!(suggest(&steady, &p), Err(ReplenishError::OrderMultiple { value: 0.0 }));
    }
}
