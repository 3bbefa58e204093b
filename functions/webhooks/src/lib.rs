//! Outgoing webhooks: the endpoints a vendor registers (and their recent deliveries), the job that
//! turns webhook events from the table's stream into one delivery per subscribed endpoint, and
//! the job that delivers them, signed, retried with backoff and dead-lettered.
// The bad-input tests lay the handlers' futures out deeply enough to pass the default limit.
#![recursion_limit = "256"]

pub mod config;
pub mod deliver;
pub mod fanout;
pub mod handlers;
pub mod openapi;

pub use stockyard_http::ApiDeps;

#[cfg(test)]
mod bad_input_tests;
