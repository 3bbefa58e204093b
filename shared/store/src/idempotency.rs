//! Idempotency records: the response of a create-type request, stored in the same transaction
//! as the business write, so a retry with the same key replays the response and writes nothing.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::Entity;
use crate::table::Expr;
use crate::tx::Tx;
use crate::{StoreError, Table, keys};

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);

/// The step a transaction fails at when its idempotency key was used meanwhile.
pub const STEP: &str = "idempotency";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The caller and route the key belongs to.
    pub scope: String,
    pub key: String,
    /// Hash of the request the key was first used with; another request under the same key is refused.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: i64,
}

impl Entity for IdempotencyRecord {
    type Id = (String, String);
    const NAME: &'static str = "idempotency record";
    fn key((scope, key): &(String, String)) -> keys::Key {
        keys::idempotency(scope, key)
    }
    fn key_of(&self) -> keys::Key {
        keys::idempotency(&self.scope, &self.key)
    }
}

impl IdempotencyRecord {
    pub fn new(
        scope: String,
        key: String,
        request_hash: String,
        status: u16,
        body: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self { scope, key, request_hash, status, body, created_at: now, expires_at: (now + RETENTION).timestamp() }
    }
}

/// Adds the write that records the response (step [`STEP`]; fails if the key was used already).
pub fn record(tx: &mut Tx, record: &IdempotencyRecord) -> Result<(), StoreError> {
    tx.put(STEP, record, Some(Expr::not_exists()))?;
    Ok(())
}

/// The response stored under a key, unless it has expired.
pub async fn find(
    table: &Table,
    scope: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let id = (scope.to_string(), key.to_string());
    Ok(table.get::<IdempotencyRecord>(&id).await?.filter(|r| r.expires_at > now.timestamp()))
}
