//! Everything Stockyard keeps in DynamoDB: key builders (the only place keys are made),
//! records, conditional writes and transactions, pagination cursors and idempotency records.
//! Access patterns are listed in infra/data-model.md.

pub mod demand;
pub mod error;
pub mod idempotency;
pub mod identity;
pub mod keys;
pub mod locations;
pub mod outbox;
pub mod page;
pub mod sign_in;
pub mod table;

pub use error::StoreError;
pub use page::{Page, PageRequest};
pub use table::Table;

/// Seconds since the Unix epoch, as DynamoDB's TTL expects.
pub fn epoch_seconds(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp()
}
