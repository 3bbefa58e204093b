//! Promotions: coupons, the platform's (admin) and each vendor's (its owner and catalog editors).
//! Checkout applies them and counts their uses (`stockyard_store::coupons`); these routes create,
//! list, read and change them.
// The bad-input tests lay the handlers' futures out deeply enough to pass the default limit.
#![recursion_limit = "256"]

pub mod coupons;
pub mod openapi;

pub use stockyard_http::ApiDeps;

#[cfg(test)]
mod bad_input_tests;
