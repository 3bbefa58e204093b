//! Idempotency records: the response of a create-type request, stored in the same transaction
//! as the business write, so a retry with the same key replays the response and writes nothing.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::table::Expr;
use crate::{StoreError, Table};

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Hash of the request the key was first used with; another request under the same key is refused.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: i64,
}

impl IdempotencyRecord {
    pub fn new(request_hash: String, status: u16, body: String, now: DateTime<Utc>) -> Self {
        Self { request_hash, status, body, created_at: now, expires_at: (now + RETENTION).timestamp() }
    }
}

/// The write that records the response; fails its condition if the key was used already.
pub fn record(
    table: &Table,
    scope: &str,
    key: &str,
    record: &IdempotencyRecord,
) -> Result<TransactWriteItem, StoreError> {
    table.tx_put(&keys::idempotency(scope, key), None, record, Some(Expr::not_exists()))
}

/// The response stored under a key, unless it has expired.
pub async fn find(
    table: &Table,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    Ok(table.get::<IdempotencyRecord>(&keys::idempotency(scope, key)).await?.filter(|r| r.expires_at > now.timestamp()))
}
