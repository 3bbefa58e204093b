//! Purchasing: a vendor's suppliers and the purchase orders placed with them. Sending an order
//! makes its lines incoming stock at the destination and emails the supplier the order as a PDF;
//! receiving posts stock (into batches for perishable variants) and the ledger; cancelling takes
//! what had not arrived off incoming. Draft orders can be made from the latest replenishment
//! suggestions, one per supplier and destination.
// The bad-input tests lay the handlers' futures out deeply enough to pass the default limit.
#![recursion_limit = "256"]

pub mod handlers;
pub mod openapi;

pub use stockyard_http::ApiDeps;

#[cfg(test)]
mod bad_input_tests;
