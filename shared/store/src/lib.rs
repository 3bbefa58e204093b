//! Everything Stockyard keeps in DynamoDB, behind one repository module per aggregate. Handlers
//! call named operations (`vendors::change_role(..)`, `sessions::rotate(..)`) and never see keys,
//! expressions or SDK types: those are private to this crate. Each record type is bound to its key
//! shape (`Entity`); transactions are built from named steps, and a failed condition names its
//! step. Access patterns are listed in infra/data-model.md.

pub mod account_mail;
pub mod addresses;
pub mod alerts;
pub mod api_keys;
pub mod billing;
pub mod carts;
pub mod catalog_files;
pub mod categories;
pub mod channels;
pub mod coupons;
pub mod demand;
mod entity;
pub mod error;
pub mod events;
pub mod exchange_rates;
pub mod fulfilment;
pub mod idempotency;
mod keys;
pub mod locations;
pub mod objects;
pub mod order_events;
pub mod orders;
pub mod page;
pub mod products;
pub mod purchase_orders;
pub mod reservations;
mod retry;
pub mod returns;
pub mod scans;
pub mod search_index;
pub mod sent_emails;
pub mod sessions;
pub mod shipping;
pub mod sign_in;
pub mod stock;
pub mod suppliers;
mod table;
pub mod tax_rates;
pub mod throttle;
pub mod tx;
pub mod users;
pub mod vendors;
pub mod webhooks;

pub use entity::Entity;
pub use error::StoreError;
pub use keys::{IndexKey, Key};
pub use page::{Page, PageRequest};
pub use table::Table;
pub use tx::Tx;

/// Seconds since the Unix epoch, as DynamoDB's TTL expects.
pub fn epoch_seconds(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp()
}

#[cfg(test)]
mod emulator_tests;
#[cfg(test)]
mod emulator_tests_billing;
#[cfg(test)]
mod emulator_tests_bulk;
#[cfg(test)]
mod emulator_tests_carts;
#[cfg(test)]
mod emulator_tests_coupons;
#[cfg(test)]
mod emulator_tests_demand;
#[cfg(test)]
mod emulator_tests_devices;
#[cfg(test)]
mod emulator_tests_orders;
#[cfg(test)]
mod emulator_tests_purchasing;
#[cfg(test)]
mod emulator_tests_reservations;
#[cfg(test)]
mod emulator_tests_returns;
#[cfg(test)]
mod fault_tests;
