//! Demand forecasting: sales history and replenishment settings per SKU-location, the nightly
//! forecast (`nightly-demand-forecast`) and the API that reads its forecasts and suggestions.
// The bad-input tests lay the handlers' futures out deeply enough to pass the default limit.
#![recursion_limit = "256"]

pub mod fanout;
pub mod handlers;
pub mod job;
pub mod migrate;
pub mod openapi;
pub mod panel;
pub mod sales;

pub use stockyard_http::ApiDeps;

#[cfg(test)]
mod bad_input_tests;
