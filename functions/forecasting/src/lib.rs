//! Demand forecasting: sales history and replenishment settings per SKU-location, the nightly
//! forecast (`nightly-demand-forecast`) and the API that reads its forecasts and suggestions.

pub mod fanout;
pub mod handlers;
pub mod job;
pub mod openapi;
pub mod panel;
pub mod sales;

pub use stockyard_http::ApiDeps;
