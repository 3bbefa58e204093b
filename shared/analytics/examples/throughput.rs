//! Single-core throughput of every baseline on synthetic daily series of 1,913 days (the M5
//! length), a mix of dense and intermittent demand.
//!
//! Then the engine's default path (pooled profile model, point forecasts, then with calibrated
//! spreads; all threads) on a panel of 6,000 series × 730 days.
//!
//! `cargo run --release -p stockyard-analytics --example throughput`

use std::hint::black_box;
use std::time::Instant;

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stockyard_analytics::models::{Model, Scratch};
use stockyard_analytics::{EngineConfig, Panel, forecast_panel, point_forecasts};

const DAYS: usize = 1913;
const SERIES: usize = 2000;
const HORIZON: usize = 28;

/// Series with a sale probability from 3 % to 90 % and sizes of 1 to 8 units, some with a
/// late start (leading zeros) and a level shift.
fn panel(days: usize, n: usize) -> Vec<Vec<f32>> {
    // Seeded, so runs are comparable.
    let mut rng = StdRng::seed_from_u64(0x5eed_1234_abcd_ef01);
    (0..n)
        .map(|s| {
            let p = 0.03 + 0.87 * rng.random::<f64>();
            let size = 1.0 + 7.0 * rng.random::<f64>();
            let start = if s % 4 == 0 { (rng.random::<f64>() * days as f64 / 3.0) as usize } else { 0 };
            (0..days)
                .map(|d| {
                    let shift = if s % 5 == 0 && d > days / 2 { 2.0 } else { 1.0 };
                    if d >= start && rng.random::<f64>() < p {
                        (1.0 + (rng.random::<f64>() * size * shift).floor()) as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

fn main() {
    let series = panel(DAYS, SERIES);
    let mut out = vec![0.0; HORIZON];
    let mut scratch = Scratch::default();
    println!("{SERIES} series x {DAYS} days, horizon {HORIZON}, one core");
    for model in Model::baselines() {
        // One warm-up pass grows the scratch buffers; the timed passes allocate nothing.
        for y in &series {
            model.forecast_with(y, HORIZON, &mut out, &mut scratch);
        }
        let rounds = 3;
        let started = Instant::now();
        for _ in 0..rounds {
            for y in &series {
                model.forecast_with(black_box(y), HORIZON, &mut out, &mut scratch);
                black_box(&out);
            }
        }
        let per_second = (rounds * SERIES) as f64 / started.elapsed().as_secs_f64();
        println!("{:<26} {:>12.0} series/s", model.name(), per_second);
    }

    let (n, days) = (6000, 730);
    let rows = panel(days, n);
    let demand = Array2::from_shape_fn((n, days), |(s, d)| rows[s][d]);
    let mut panel = Panel::from_demand(demand, 0);
    panel.group = (0..n as u32).map(|s| s % 30).collect();
    let started = Instant::now();
    let run = point_forecasts(&panel, &EngineConfig::default()).expect("generated demand is valid");
    let elapsed = started.elapsed().as_secs_f64();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for m in &run.models {
        match counts.iter_mut().find(|(name, _)| *name == m.name()) {
            Some((_, c)) => *c += 1,
            None => counts.push((m.name(), 1)),
        }
    }
    println!("engine: {n} series x {days} days, horizon 28, point forecasts in {elapsed:.3} s; chosen {counts:?}");
    let started = Instant::now();
    let forecasts = forecast_panel(&panel, &EngineConfig::default()).expect("generated demand is valid");
    let elapsed = started.elapsed().as_secs_f64();
    let q = forecasts.first().map_or(0.0, |f| f.quantile(14, 0.95));
    println!("engine with calibrated spreads: {elapsed:.3} s (first series, 95 % of 14 days: {q:.1})");
}
