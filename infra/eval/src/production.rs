//! The production forecasts under evaluation: the engine's, or a stand-in until the engine lands.

use anyhow::{Context, Result};
use ndarray::{Array2, ArrayView1};
use stockyard_analytics::replenish::{self, DemandOutlook, StockPosition, Suggestion};
use stockyard_analytics::{EngineConfig, Model, SeriesForecast, forecast_panel};

use crate::data::EvalData;
use crate::metrics::poisson_quantile;

/// Where production forecasts come from.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// `forecast_panel` with this model choice (`None`: the engine chooses per series).
    Engine(Option<Model>),
    /// A seasonal window average (7 × 4 weeks) with Poisson quantiles, computed here: it exercises
    /// the evaluation end to end before the engine exists.
    StandIn,
}

/// Production forecasts of every series from one forecast origin.
#[derive(Debug, Clone)]
pub enum Forecasts {
    Engine(Vec<SeriesForecast>),
    StandIn(Array2<f64>),
}

impl Source {
    /// Forecast every series from its first `end` days for `horizon` days.
    pub fn forecast(&self, data: &EvalData, end: usize, horizon: usize) -> Result<Forecasts> {
        Ok(match self {
            Source::Engine(model) => {
                let panel = data.panel(end, horizon)?;
                let config = EngineConfig { horizon, model: *model, service_levels: vec![0.9, 0.95, 0.98] };
                Forecasts::Engine(forecast_panel(&panel, &config))
            }
            Source::StandIn => {
                let mut point = Array2::zeros((data.manifest.n_series, horizon));
                for (i, mut row) in point.outer_iter_mut().enumerate() {
                    for (h, p) in row.iter_mut().enumerate() {
                        let days = (0..4).map(|w| end - 28 + 7 * w + h % 7);
                        *p = days.map(|d| f64::from(data.demand[[i, d]])).sum::<f64>() / 4.0;
                    }
                }
                Forecasts::StandIn(point)
            }
        })
    }
}

impl Forecasts {
    /// Point forecasts, series × horizon.
    pub fn point(&self) -> Array2<f64> {
        match self {
            Forecasts::Engine(f) => {
                let h = f.first().map_or(0, |s| s.point.len());
                Array2::from_shape_fn((f.len(), h), |(i, t)| f[i].point.get(t).copied().unwrap_or(f64::NAN))
            }
            Forecasts::StandIn(p) => p.clone(),
        }
    }

    /// The `level` quantile of series `i`'s demand over the first `days` days.
    pub fn quantile(&self, i: usize, days: usize, level: f64) -> f64 {
        match self {
            Forecasts::Engine(f) => f[i].quantile(days, level),
            Forecasts::StandIn(p) => PoissonOutlook(p.row(i)).quantile(days, level),
        }
    }

    /// Stockyard's replenishment suggestion for series `i` at `position`.
    pub fn suggest(&self, i: usize, position: &StockPosition) -> Result<Suggestion> {
        match self {
            Forecasts::Engine(f) => replenish::suggest(&f[i], position),
            Forecasts::StandIn(p) => replenish::suggest(&PoissonOutlook(p.row(i)), position),
        }
        .with_context(|| format!("suggesting for series {i}"))
    }
}

/// Daily point forecasts with Poisson quantiles of their sums: the stand-in's outlook.
struct PoissonOutlook<'a>(ArrayView1<'a, f64>);

impl DemandOutlook for PoissonOutlook<'_> {
    fn expected(&self, days: usize) -> f64 {
        self.0.iter().take(days).sum()
    }

    fn quantile(&self, days: usize, level: f64) -> f64 {
        poisson_quantile(self.expected(days), level)
    }
}
