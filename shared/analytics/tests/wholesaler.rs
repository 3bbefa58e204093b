//! The engine on shops unlike a supermarket: what a small online wholesaler's sales did to the
//! forecasts (issue 10), reproduced on deterministic synthetic panels.

use ndarray::{Array2, s};
use stockyard_analytics::synthetic::Wholesaler;
use stockyard_analytics::{EngineConfig, InvalidDemand, Panel, forecast_panel, forecast_usable};

const HORIZON: usize = 28;

fn config() -> EngineConfig {
    EngineConfig { horizon: HORIZON, ..EngineConfig::default() }
}

/// 28-day totals of every series.
fn totals(panel: &Panel) -> Vec<f64> {
    forecast_panel(panel, &config()).expect("valid demand").iter().map(|f| f.demand_over(HORIZON)).collect()
}

/// The panel with one more row, in the first group.
fn with_row(panel: &Panel, row: &[f32]) -> Panel {
    let mut demand = Array2::zeros((panel.n_series() + 1, panel.n_days()));
    demand.slice_mut(s![..panel.n_series(), ..]).assign(&panel.demand);
    demand.row_mut(panel.n_series()).iter_mut().zip(row).for_each(|(d, v)| *d = *v);
    let mut bigger = panel.clone();
    bigger.demand = demand;
    bigger.group.push(0);
    bigger.region.push(0);
    bigger
}

/// Largest relative change of any series' 28-day total.
fn largest_move(before: &[f64], after: &[f64]) -> f64 {
    before.iter().zip(after).map(|(b, a)| (a - b).abs() / b.max(1e-9)).fold(0.0, f64::max)
}

#[test]
fn a_closed_weekday_and_a_year_end_closure_do_not_bias_total_demand() {
    // Closed on Sundays and from 24 December to 1 January; the history ends two weeks after the
    // closure, so the level window holds both. The old average of y ÷ shape came out 14.5% low.
    let shop = Wholesaler { series: 400, days: 744, ..Wholesaler::default() };
    let drawn = shop.draw();
    let forecast: f64 = totals(&drawn.panel).iter().sum();
    let truth: f64 = drawn.expected.slice(s![.., 744..744 + HORIZON]).sum();
    assert!((forecast / truth - 1.0).abs() < 0.03, "forecast {forecast:.0} against expected {truth:.0}");
}

#[test]
fn closed_sundays_are_forecast_at_zero_and_open_days_carry_the_week() {
    let drawn = Wholesaler { series: 100, days: 730, ..Wholesaler::default() }.draw();
    let forecasts = forecast_panel(&drawn.panel, &config()).expect("valid demand");
    // Day 730 is a Wednesday (730 mod 7 = 2, day 0 a Monday): Sunday is step 4, 11, 18, 25.
    for f in &forecasts {
        for step in [4, 11, 18, 25] {
            assert_eq!(f.point[step], 0.0, "{:?}", f.point);
        }
    }
}

/// The last Sunday before day `end` (day 0 is a Monday).
fn last_sunday_before(end: usize) -> usize {
    end - 1 - ((end - 1) % 7 + 1) % 7
}

/// 20 SKUs selling exactly 1 on every open day; closed on Sundays. Day 0 is a Monday.
fn steady_shop(days: usize) -> Panel {
    let demand = Array2::from_shape_fn((20, days), |(_, t)| if t % 7 == 6 { 0.0 } else { 1.0 });
    Panel::from_demand(demand, 0)
}

#[test]
fn one_unit_sold_on_the_closed_weekday_does_not_explode_the_forecast() {
    // The reported case: 69,311 units for 28 days after one unit on a closed Sunday (3,036 when
    // that Sunday was eight weeks back). 24 open days at 1 a day is 24.
    let days = 364;
    for weeks_back in [1, 8] {
        let mut panel = steady_shop(days);
        let sunday = last_sunday_before(days) - 7 * (weeks_back - 1);
        panel.demand[(0, sunday)] = 1.0;
        let totals = totals(&panel);
        assert!((23.0..26.0).contains(&totals[0]), "{weeks_back} weeks back: {}", totals[0]);
        for other in &totals[1..] {
            assert!((other - 24.0).abs() < 0.5, "{other}");
        }
    }
}

#[test]
fn a_sku_that_sells_on_the_shops_closed_weekday_keeps_its_own_sunday() {
    // SKU 0 sells 3 every Sunday (a vending slot, say) while the rest of its group never does.
    let days = 364;
    let mut panel = steady_shop(days);
    for t in (6..days).step_by(7) {
        panel.demand[(0, t)] = 3.0;
    }
    let f = &forecast_panel(&panel, &config()).expect("valid demand")[0];
    // Day 364 is a Monday: step 6 is the next Sunday.
    assert!((f.point[6] - 3.0).abs() < 0.3, "{:?}", f.point);
    assert!((f.point[0] - 1.0).abs() < 0.1, "{:?}", f.point);
}

#[test]
fn a_pathological_row_moves_every_other_series_by_less_than_half_a_percent() {
    // 40 lumpy SKUs in one group with a calendar (day-of-month effects on), three draws.
    for seed in [10, 11, 12] {
        pathological_rows_move_others_by_less_than_half_a_percent(seed);
    }
}

/// What a pathological row is, the row, and the same SKU without its pathology.
type Case = (&'static str, Vec<f32>, Option<Vec<f32>>);

fn pathological_rows_move_others_by_less_than_half_a_percent(seed: u64) {
    let shop = Wholesaler { seed, series: 40, groups: 1, days: 730, ..Wholesaler::default() };
    let drawn = shop.draw();
    let base = totals(&drawn.panel);
    let days = drawn.panel.n_days();
    let typical: Vec<f32> = drawn.panel.demand.row(7).to_vec();
    // Each case: the row, and the same SKU without its pathology (None: a SKU that would not
    // exist without it). Adding an ordinary SKU moves the shared shape a little, as it should;
    // what is measured is what the pathology adds.
    let mut cases: Vec<Case> = Vec::new();
    let mut typo = typical.clone();
    typo[days - 30] = 1_000_000.0;
    cases.push(("a typical SKU with one day of 1,000,000", typo, Some(typical.clone())));
    let mut new_sku = vec![0.0f32; days];
    new_sku[days - 5] = 2.0;
    new_sku[days - 3] = 1_000_000.0;
    cases.push(("a new SKU whose import went wrong", new_sku, None));
    let mut closed = typical.clone();
    closed[last_sunday_before(days) - 7] = 1.0;
    cases.push(("a sale on a closed Sunday", closed, Some(typical.clone())));
    let mut closed_typo = vec![0.0f32; days];
    closed_typo[last_sunday_before(days) - 14] = 1_000_000.0;
    cases.push(("a million on a closed Sunday", closed_typo, None));
    for (what, row, clean) in cases {
        let before = match clean {
            Some(clean) => totals(&with_row(&drawn.panel, &clean))[..base.len()].to_vec(),
            None => base.clone(),
        };
        let after = totals(&with_row(&drawn.panel, &row));
        let moved = largest_move(&before, &after[..base.len()]);
        assert!(moved < 0.005, "seed {seed}, {what}: another series moved by {:.2}%", moved * 100.0);
        assert!(after[base.len()].is_finite(), "{what}");
    }
    // A NaN day is refused; the other series are forecast as if the row were not there.
    let mut nan = typical;
    nan[days - 10] = f32::NAN;
    let panel = with_row(&drawn.panel, &nan);
    let run = forecast_usable(&panel, &config());
    assert_eq!(run.invalid.len(), 1);
    assert_eq!((run.invalid[0].series, run.invalid[0].day), (40, days - 10));
    assert!(run.forecasts[40].is_none());
    let others: Vec<f64> = run.forecasts[..40].iter().flatten().map(|f| f.demand_over(HORIZON)).collect();
    assert_eq!(others, base);
}

#[test]
fn a_single_absurd_day_is_recognised_in_its_own_series() {
    // The reported case through the API: A sells 10 a day, B 10 a day plus one day of 1,000,000,
    // alone in their category. A's 10-day demand went from 100 to 43,742.
    let days = 120;
    let mut demand = Array2::from_elem((2, days), 10.0f32);
    demand[(1, days - 20)] = 1_000_000.0;
    let forecasts = forecast_panel(&Panel::from_demand(demand, 0), &config()).expect("valid demand");
    let a = forecasts[0].demand_over(10);
    assert!((a - 100.0).abs() < 5.0, "A: {a}");
    assert!(forecasts[0].point.iter().all(|&v| (v - 10.0).abs() < 1.5), "A daily: {:?}", forecasts[0].point);
    let b = forecasts[1].demand_over(10);
    assert!(b < 200.0, "B: {b}");
    assert_eq!(forecasts[1].absurd_days.len(), 1);
    assert_eq!(forecasts[1].absurd_days[0].day, days - 20);
}

#[test]
fn non_finite_or_negative_demand_is_a_typed_error_naming_series_and_day() {
    let mut demand = Array2::from_elem((3, 60), 1.0f32);
    demand[(1, 17)] = -2.0;
    demand[(2, 5)] = f32::INFINITY;
    let panel = Panel::from_demand(demand, 0);
    let err = forecast_panel(&panel, &config()).expect_err("negative demand");
    assert_eq!(err, InvalidDemand { series: 1, day: 17, value: -2.0 });
    assert!(err.to_string().contains("series 1") && err.to_string().contains("day 17"), "{err}");
    let run = forecast_usable(&panel, &config());
    assert_eq!(run.invalid.iter().map(|i| (i.series, i.day)).collect::<Vec<_>>(), vec![(1, 17), (2, 5)]);
    assert!(run.forecasts[0].as_ref().is_some_and(|f| (f.demand_over(28) - 28.0).abs() < 1e-6));
}

#[test]
fn lumpy_demand_with_mostly_zero_days_is_forecast_without_bias() {
    // Compound Poisson orders with heavy-tailed sizes; 50–70% of days sell nothing.
    let shop =
        Wholesaler { series: 600, days: 700, closed_weekday: None, year_end_closure: false, ..Wholesaler::default() };
    let drawn = shop.draw();
    let zero = drawn.panel.demand.iter().filter(|&&v| v == 0.0).count() as f64 / drawn.panel.demand.len() as f64;
    assert!((0.5..0.7).contains(&zero), "{zero}");
    let forecast: f64 = totals(&drawn.panel).iter().sum();
    let truth: f64 = drawn.expected.slice(s![.., 700..700 + HORIZON]).sum();
    assert!((forecast / truth - 1.0).abs() < 0.05, "forecast {forecast:.0} against expected {truth:.0}");
}
