//! Catalog: the category tree and its attribute schemas; products, variants, prices and
//! translations build on it.

pub mod handlers;
pub mod openapi;

pub use stockyard_http::ApiDeps;
