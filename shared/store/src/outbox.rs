//! The outbox: a message written in the same transaction as the change it announces, published
//! right after commit and, should that fail, by the relay job. Consumers are idempotent on its id.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::EmailId;

use crate::keys;
use crate::table::Expr;
use crate::{Page, PageRequest, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub id: EmailId,
    /// Which queue the message goes to (the name of its environment variable).
    pub queue: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub fn put(table: &Table, record: &OutboxRecord) -> Result<TransactWriteItem, StoreError> {
    table.tx_put(&keys::outbox(record.id), Some(&keys::outbox_listing(record.id)), record, Some(Expr::not_exists()))
}

/// Marks the message published.
pub async fn remove(table: &Table, id: EmailId) -> Result<(), StoreError> {
    table.delete(&keys::outbox(id), None).await
}

/// Messages still waiting, oldest first.
pub async fn pending(table: &Table, page: &PageRequest) -> Result<Page<OutboxRecord>, StoreError> {
    table.query(&keys::pending_outbox(), page, None).await
}

/// Records that an email was handed to the mail service, so a redelivered message is not sent twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentEmailRecord {
    pub sent_at: DateTime<Utc>,
    pub expires_at: i64,
}

pub async fn was_sent(table: &Table, id: EmailId) -> Result<bool, StoreError> {
    Ok(table.get::<SentEmailRecord>(&keys::sent_email(id)).await?.is_some())
}

pub async fn mark_sent(table: &Table, id: EmailId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let record = SentEmailRecord { sent_at: now, expires_at: (now + chrono::Duration::days(7)).timestamp() };
    table.put(&keys::sent_email(id), None, &record, None).await
}
