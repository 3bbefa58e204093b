//! Emails about the account itself (verify the address, reset the password, confirm a new
//! address, notices of a change). A handler writes the request as an item, in the transaction of
//! the change it announces where there is one; the table's stream carries it to
//! `route-table-events`, which signs the link it needs and queues the email. So an accepted request
//! is never lost between the write and the queue, and the link's secret never rests in the table.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{EmailId, UserId};
use stockyard_domain::values::Email;

use crate::entity::Entity;
use crate::table::Expr;
use crate::{StoreError, Table, keys};

/// What an account email asks or tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountMailKind {
    /// A link proving the owner reads `to` (the account's address).
    VerifyEmail,
    /// A single-use link to choose a new password, valid while the password is unchanged.
    PasswordReset,
    /// A link, sent to the new address, that makes it the account's address.
    ConfirmEmailChange,
    /// A notice to the old address that the account's address changed.
    EmailChanged,
    /// A notice that the account's password changed.
    PasswordChanged,
}

/// One account email to send, as requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountMailRecord {
    /// The email's id: every delivery of this request sends the email once.
    pub id: EmailId,
    pub kind: AccountMailKind,
    pub user_id: UserId,
    /// Whom it is sent to.
    pub to: Email,
    /// The account's name, to greet its owner.
    pub name: String,
    /// The account's address when requested (for a change: the old one).
    pub email: Email,
    /// The new address of an email change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_email: Option<Email>,
    /// The account's credentials version when requested: a reset link works only while it holds.
    pub credentials_version: u64,
    pub created_at: DateTime<Utc>,
    /// TTL: the request item goes after the email is long sent.
    pub expires_at: i64,
}

impl Entity for AccountMailRecord {
    type Id = EmailId;
    const NAME: &'static str = "account_mail";
    fn key(id: &EmailId) -> keys::Key {
        keys::account_mail(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::account_mail(self.id)
    }
}

/// How long a request item is kept (far longer than any link it carries is valid).
const KEPT: Duration = Duration::days(7);

/// The details of an account email to request.
pub struct AccountMail {
    pub kind: AccountMailKind,
    pub user_id: UserId,
    pub to: Email,
    pub name: String,
    pub email: Email,
    pub new_email: Option<Email>,
    pub credentials_version: u64,
}

impl AccountMail {
    /// The request as stored, made now.
    pub fn record(self) -> AccountMailRecord {
        let now = Utc::now();
        AccountMailRecord {
            id: EmailId::generate(),
            kind: self.kind,
            user_id: self.user_id,
            to: self.to,
            name: self.name,
            email: self.email,
            new_email: self.new_email,
            credentials_version: self.credentials_version,
            created_at: now,
            expires_at: (now + KEPT).timestamp(),
        }
    }
}

/// Requests one account email on its own (the change it follows, if any, is already stored).
pub async fn request(table: &Table, mail: AccountMail) -> Result<AccountMailRecord, StoreError> {
    let record = mail.record();
    table.put(&record, Some(Expr::not_exists())).await?;
    Ok(record)
}

/// Adds the request of an account email to a transaction (step `account_mail`).
pub fn request_in(tx: &mut crate::Tx, mail: AccountMail) -> Result<AccountMailRecord, StoreError> {
    let record = mail.record();
    tx.put("account_mail", &record, Some(Expr::not_exists()))?;
    Ok(record)
}
