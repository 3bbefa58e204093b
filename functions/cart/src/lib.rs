//! Carts: a customer's one cart, or a guest's reached with its cart token; lines set and taken
//! out; a guest cart merged into the customer's at sign-in; every answer the cart priced again
//! now, with what changed since each line was added (see `stockyard_domain::cart`).

pub mod access;
pub mod handlers;
pub mod openapi;

pub use stockyard_http::ApiDeps;
