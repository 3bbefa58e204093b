//! Failed sign-ins per email address, counted in a fixed window, so password guessing can be
//! slowed down. Unknown addresses are counted too: the answer never tells whether one exists.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::values::Email;

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::{StoreError, Table, keys};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedSignInsRecord {
    pub email: Email,
    pub failures: i64,
    /// When the window of these failures began (Unix seconds).
    pub window_started: i64,
    /// TTL: the record goes when its window is over.
    pub expires_at: i64,
}

impl Entity for FailedSignInsRecord {
    type Id = Email;
    const NAME: &'static str = "failed sign-ins";
    fn key(email: &Email) -> keys::Key {
        keys::failed_sign_ins(email)
    }
    fn key_of(&self) -> keys::Key {
        keys::failed_sign_ins(&self.email)
    }
}

impl FailedSignInsRecord {
    /// Until when sign-in stays refused, if `limit` failures were reached within `window`.
    pub fn locked_until(&self, now: DateTime<Utc>, limit: i64, window: Duration) -> Option<DateTime<Utc>> {
        let ends = DateTime::from_timestamp(self.window_started, 0)? + window;
        (self.failures >= limit && ends > now).then_some(ends)
    }
}

pub async fn find(table: &Table, email: &Email) -> Result<Option<FailedSignInsRecord>, StoreError> {
    table.get::<FailedSignInsRecord>(email).await
}

/// Counts one more failure: in the current window if it is still open, else in a new one.
pub async fn record_failure(
    table: &Table,
    email: &Email,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<FailedSignInsRecord, StoreError> {
    let expires_at = (now + window).timestamp();
    let add = Change::new(
        Expr::new("SET email = :email, failures = if_not_exists(failures, :zero) + :one, window_started = if_not_exists(window_started, :now), expires_at = if_not_exists(expires_at, :expires)")
            .val(":email", email)
            .val(":zero", &0)
            .val(":one", &1)
            .val(":now", &now.timestamp())
            .val(":expires", &expires_at),
    )
    .when(Expr::new("attribute_not_exists(PK) OR window_started > :floor").val(":floor", &(now - window).timestamp()));
    match table.update::<FailedSignInsRecord>(email, add).await {
        Err(StoreError::ConditionFailed) => {
            let fresh =
                FailedSignInsRecord { email: email.clone(), failures: 1, window_started: now.timestamp(), expires_at };
            table.put(&fresh, None).await?;
            Ok(fresh)
        }
        other => other,
    }
}

/// Forgets the failures (after a successful sign-in).
pub async fn clear(table: &Table, email: &Email) -> Result<(), StoreError> {
    table.delete::<FailedSignInsRecord>(email, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_is_refused_only_from_the_limit_until_the_window_ends() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let window = Duration::minutes(15);
        let email = Email::parse("email", "a@b.co").unwrap();
        let record = |failures| FailedSignInsRecord {
            email: email.clone(),
            failures,
            window_started: start.timestamp(),
            expires_at: 0,
        };
        assert_eq!(record(4).locked_until(start, 5, window), None);
        assert_eq!(record(5).locked_until(start + Duration::minutes(3), 5, window), Some(start + window));
        assert_eq!(record(9).locked_until(start + window - Duration::seconds(1), 5, window), Some(start + window));
        assert_eq!(record(5).locked_until(start + window, 5, window), None);
    }
}
