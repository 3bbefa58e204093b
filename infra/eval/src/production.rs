//! The production forecasts under evaluation: the engine's, from one forecast origin.

use anyhow::{Context, Result};
use ndarray::Array2;
use stockyard_analytics::replenish::{self, StockPosition, Suggestion};
use stockyard_analytics::{EngineConfig, Model, SeriesForecast, forecast_panel};

use crate::data::EvalData;

/// Where production forecasts come from: `forecast_panel` with this model choice (`None`: the
/// engine chooses per group × demand class).
#[derive(Debug, Clone, Copy)]
pub struct Source(pub Option<Model>);

/// Production forecasts of every series from one forecast origin.
#[derive(Debug, Clone)]
pub struct Forecasts(Vec<SeriesForecast>);

impl Source {
    /// Forecast every series from its first `end` days for `horizon` days.
    pub fn forecast(&self, data: &EvalData, end: usize, horizon: usize) -> Result<Forecasts> {
        let panel = data.panel(end, horizon)?;
        let config = EngineConfig { horizon, model: self.0, ..EngineConfig::default() };
        Ok(Forecasts(forecast_panel(&panel, &config)?))
    }
}

impl Forecasts {
    /// Point forecasts, series × horizon.
    pub fn point(&self) -> Array2<f64> {
        let h = self.0.first().map_or(0, |s| s.point.len());
        Array2::from_shape_fn((self.0.len(), h), |(i, t)| self.0[i].point.get(t).copied().unwrap_or(f64::NAN))
    }

    /// The `level` quantile of series `i`'s demand over the first `days` days.
    pub fn quantile(&self, i: usize, days: usize, level: f64) -> f64 {
        self.0[i].quantile(days, level)
    }

    /// Stockyard's replenishment suggestion for series `i` at `position`.
    pub fn suggest(&self, i: usize, position: &StockPosition) -> Result<Suggestion> {
        replenish::suggest(&self.0[i], position).with_context(|| format!("suggesting for series {i}"))
    }
}
