//! Requests counted per subject in a fixed window, so that what sends email or checks a password
//! (a password reset, a verification email, an address change) cannot be repeated without limit.
//! Unknown subjects are counted like known ones: a refusal never tells whether an account exists.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::{StoreError, Table, keys};

/// A limit: at most `limit` requests per subject within `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Names the counter (`password_reset`, `verify_email`, ..).
    pub purpose: &'static str,
    pub limit: i64,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleRecord {
    pub purpose: String,
    pub subject: String,
    pub hits: i64,
    /// When the window began (Unix seconds).
    pub window_started: i64,
    /// TTL: the counter goes when its window is over.
    pub expires_at: i64,
}

impl Entity for ThrottleRecord {
    type Id = (String, String);
    const NAME: &'static str = "throttle";
    fn key((purpose, subject): &(String, String)) -> keys::Key {
        keys::throttle(purpose, subject)
    }
    fn key_of(&self) -> keys::Key {
        keys::throttle(&self.purpose, &self.subject)
    }
}

/// Counts one request of `subject` against `limit`. `Err(until)` when the limit is reached: the
/// request is refused (and not counted) until the window ends.
pub async fn hit(
    table: &Table,
    limit: &Limit,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), DateTime<Utc>>, StoreError> {
    let id = (limit.purpose.to_string(), subject.to_string());
    let floor = (now - limit.window).timestamp();
    for _ in 0..crate::retry::ATTEMPTS {
        // Within an open window with room left: one more.
        let more = Change::new(Expr::new("SET hits = hits + :one").val(":one", &1)).when(
            Expr::new("attribute_exists(PK) AND window_started > :floor AND hits < :limit")
                .val(":floor", &floor)
                .val(":limit", &limit.limit),
        );
        match table.update::<ThrottleRecord>(&id, more).await {
            Ok(_) => return Ok(Ok(())),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
        if let Some(current) = table.get::<ThrottleRecord>(&id).await?
            && current.window_started > floor
            && current.hits >= limit.limit
        {
            let ends = DateTime::from_timestamp(current.window_started, 0).unwrap_or(now) + limit.window;
            return Ok(Err(ends));
        }
        // No window, or an ended one: open a new window, unless a concurrent request just did.
        let fresh = ThrottleRecord {
            purpose: id.0.clone(),
            subject: id.1.clone(),
            hits: 1,
            window_started: now.timestamp(),
            expires_at: (now + limit.window).timestamp(),
        };
        let ended = Expr::new("attribute_not_exists(PK) OR window_started <= :floor").val(":floor", &floor);
        match table.put(&fresh, Some(ended)).await {
            Ok(()) => return Ok(Ok(())),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled(format!("the {} counter kept changing meanwhile", limit.purpose)))
}
