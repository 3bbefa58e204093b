//! Inventory: stock locations now; stock levels, batches and purchase orders build on them.

pub mod handlers;
pub mod openapi;

pub use stockyard_http::ApiDeps;
