//! Catalog: the category tree and its attribute schemas; products, variants, prices and
//! translations build on it; bulk CSV import and export of a vendor's catalog.

pub mod bulk;
pub mod handlers;
pub mod openapi;

pub use stockyard_http::ApiDeps;
