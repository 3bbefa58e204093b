//! Inventory: stock locations, stock levels per variant and location with their ledger, batches
//! and expiry, counts, transfers between locations, sales channels, stock alerts, scans from
//! barcode scanners and RFID readers, and the reconciler.

pub mod alerts;
pub mod handlers;
pub mod near_expiry;
pub mod openapi;
pub mod reconcile;

pub use stockyard_http::ApiDeps;
