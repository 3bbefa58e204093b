//! Demand forecasting and replenishment maths: no AWS, no I/O, linked only by the jobs that need it.
//!
//! The unit of work is a [`Panel`]: many daily demand series that end on the same day. Every model
//! forecasts one series from its own history, except the pooled profile model, which shares a
//! daily shape (weekday profile and calendar effects) among the series of one group (same category
//! and location).
//!
//! Entry points:
//! - [`models::Model::forecast`]: one model on one series (the baselines, for evaluation and parity);
//! - [`engine::forecast_panel`]: the production path: the pooled profile model (or a model chosen per
//!   group × demand class on validation windows), point forecasts, lead-time demand and calibrated
//!   quantiles for every series of a panel;
//! - [`replenish::suggest`]: safety stock, reorder point, order quantity and risk per SKU-location
//!   (the forecasting functions group suggestions per supplier).

pub mod engine;
pub mod models;
pub mod outliers;
pub mod panel;
pub mod pooled;
pub mod quantiles;
pub mod replenish;
pub mod synthetic;

pub use engine::{
    EngineConfig, PointForecasts, SeriesForecast, UsableForecasts, forecast_panel, forecast_usable, point_forecasts,
};
pub use models::Model;
pub use panel::{Calendar, InvalidDemand, Panel};
