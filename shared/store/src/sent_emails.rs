//! Sending each email once: a claim per email id, held by one worker while it sends, then marked
//! sent. Consumers of the emails queue are idempotent on the email's id through it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::EmailId;

use crate::entity::Entity;
use crate::table::Expr;
use crate::{StoreError, Table, keys};

/// The sending of one email: claimed by one worker for a while, then sent. A claim keeps
/// concurrent copies of the message from sending it twice; a claim that lapses (its worker died
/// before sending) can be taken over by the next delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentEmailRecord {
    pub email_id: EmailId,
    pub state: SendState,
    /// Until when the claim holds (Unix seconds) while `sending`.
    pub claimed_until: i64,
    pub sent_at: Option<DateTime<Utc>>,
    /// Kept a week (TTL), far longer than a message stays in the queue.
    pub expires_at: i64,
}

impl Entity for SentEmailRecord {
    type Id = EmailId;
    const NAME: &'static str = "sent email";
    fn key(id: &EmailId) -> keys::Key {
        keys::sent_email(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::sent_email(self.email_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    Sending,
    Sent,
}

/// What [`claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This worker sends the email now, then calls [`mark_sent`] (or [`release`] if it failed).
    Granted,
    AlreadySent,
    /// Another worker holds an unexpired claim: try again later.
    Busy,
}

const KEPT_DAYS: i64 = 7;

/// Claims the sending of email `id` for `lease`.
pub async fn claim(
    table: &Table,
    id: EmailId,
    now: DateTime<Utc>,
    lease: chrono::Duration,
) -> Result<Claim, StoreError> {
    let record = SentEmailRecord {
        email_id: id,
        state: SendState::Sending,
        claimed_until: (now + lease).timestamp(),
        sent_at: None,
        expires_at: (now + chrono::Duration::days(KEPT_DAYS)).timestamp(),
    };
    let free = Expr::new("attribute_not_exists(PK) OR (#state = :sending AND claimed_until < :now)")
        .name("#state", "state")
        .val(":sending", &SendState::Sending)
        .val(":now", &now.timestamp());
    match table.put(&record, Some(free)).await {
        Ok(()) => Ok(Claim::Granted),
        Err(StoreError::ConditionFailed) => Ok(match table.get::<SentEmailRecord>(&id).await? {
            Some(r) if r.state == SendState::Sent => Claim::AlreadySent,
            _ => Claim::Busy,
        }),
        Err(e) => Err(e),
    }
}

/// Records that the email was handed to the mail service, so no later copy sends it again.
pub async fn mark_sent(table: &Table, id: EmailId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let record = SentEmailRecord {
        email_id: id,
        state: SendState::Sent,
        claimed_until: now.timestamp(),
        sent_at: Some(now),
        expires_at: (now + chrono::Duration::days(KEPT_DAYS)).timestamp(),
    };
    table.put(&record, None).await
}

/// Gives up a claim after a failed send, so the next delivery may try at once.
pub async fn release(table: &Table, id: EmailId) -> Result<(), StoreError> {
    let sending = Expr::new("#state = :sending").name("#state", "state").val(":sending", &SendState::Sending);
    match table.delete::<SentEmailRecord>(&id, Some(sending)).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether the email was sent.
pub async fn was_sent(table: &Table, id: EmailId) -> Result<bool, StoreError> {
    Ok(table.get::<SentEmailRecord>(&id).await?.is_some_and(|r| r.state == SendState::Sent))
}
