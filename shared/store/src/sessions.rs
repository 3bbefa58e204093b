//! Sessions: the family of refresh tokens rotated from one sign-in, and each token, stored only as
//! a hash of its value. Revoking the family ends the session.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{TokenFamilyId, UserId};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{StoreError, Table, keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokenStatus {
    /// May be exchanged once for a new pair.
    Active,
    /// Already exchanged; presenting it again means it was stolen, and the family is revoked.
    Rotated,
}

/// A refresh token, stored only as a hash of its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    pub user_id: UserId,
    pub family_id: TokenFamilyId,
    pub status: RefreshTokenStatus,
    pub created_at: DateTime<Utc>,
    /// TTL: the token is refused after this and deleted soon after.
    pub expires_at: i64,
}

impl Entity for RefreshTokenRecord {
    type Id = String;
    const NAME: &'static str = "refresh token";
    fn key(hash: &String) -> keys::Key {
        keys::refresh_token(hash)
    }
    fn key_of(&self) -> keys::Key {
        keys::refresh_token(&self.token_hash)
    }
}

/// All refresh tokens rotated from one sign-in; revoking it signs that session out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenFamilyRecord {
    pub family_id: TokenFamilyId,
    pub user_id: UserId,
    pub revoked: bool,
    /// The account's credentials version the session lives under: when the password changes,
    /// the session ends unless the change kept it (and moved it on).
    #[serde(default)]
    pub credentials_version: u64,
    pub created_at: DateTime<Utc>,
    pub expires_at: i64,
}

impl Entity for TokenFamilyRecord {
    type Id = TokenFamilyId;
    const NAME: &'static str = "token family";
    fn key(id: &TokenFamilyId) -> keys::Key {
        keys::token_family(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::token_family(self.family_id)
    }
}

/// Starts a session: its family and its first refresh token.
pub fn start(table: &Table, family: &TokenFamilyRecord, token: &RefreshTokenRecord) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.put("family", family, Some(Expr::not_exists()))?;
    tx.put("token", token, Some(Expr::not_exists()))?;
    Ok(tx)
}

pub async fn token(table: &Table, hash: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
    table.get::<RefreshTokenRecord>(&hash.to_string()).await
}

pub async fn family(table: &Table, id: TokenFamilyId) -> Result<Option<TokenFamilyRecord>, StoreError> {
    table.get::<TokenFamilyRecord>(&id).await
}

/// Exchanges the active token `used` for `next` in the same family, while the family is alive and
/// the account's password is still at `credentials_version` (the session's). Fails with a conflict
/// if the token was exchanged meanwhile, the session revoked or the password changed.
pub fn rotate(
    table: &Table,
    used: &RefreshTokenRecord,
    next: &RefreshTokenRecord,
    credentials_version: u64,
) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let status = Expr::default().name("#status", "status").val(":rotated", &RefreshTokenStatus::Rotated);
    let active = Expr::new("#status = :active").name("#status", "status").val(":active", &RefreshTokenStatus::Active);
    tx.update::<RefreshTokenRecord>(
        "used_token",
        &used.token_hash,
        Change::new(status.set_remove(&["#status = :rotated"], &[])).when(active),
    )?;
    tx.check::<TokenFamilyRecord>("family_alive", &used.family_id, Expr::new("revoked = :f").val(":f", &false))?;
    // The password did not change meanwhile (which would end this session).
    tx.check::<crate::users::UserRecord>(
        "credentials",
        &used.user_id,
        crate::users::credentials_at(credentials_version),
    )?;
    tx.put("token", next, Some(Expr::not_exists()))?;
    Ok(tx)
}

/// Moves a live session on to the credentials version `version` (step `step`), in the transaction
/// that changes the password, so it outlives the change.
pub(crate) fn move_on(tx: &mut Tx, step: &'static str, session: TokenFamilyId, version: u64) -> Result<(), StoreError> {
    let update = Expr::default().val(":version", &version).set_remove(&["credentials_version = :version"], &[]);
    let alive = Expr::new("revoked = :f").val(":f", &false);
    tx.update::<TokenFamilyRecord>(step, &session, Change::new(update).when(alive))?;
    Ok(())
}

/// Revokes a session of `user`: its refresh tokens stop working, and so do its access tokens,
/// at once (the session joins the user's revoked sessions, which every request checks). A session
/// or user that no longer exists is already gone.
///
/// The user's revoked sessions that began before `no_tokens_before` are dropped afterwards (best
/// effort): a session lives until its family expires and its last access token a little after,
/// so the caller passes now − (session lifetime + access-token lifetime), and no token of a
/// dropped session can still be valid. The set thus holds only recent sign-outs.
pub async fn revoke(
    table: &Table,
    user: UserId,
    family: TokenFamilyId,
    no_tokens_before: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut tx = table.tx();
    let revoked = Expr::default().val(":t", &true).set_remove(&["revoked = :t"], &[]);
    tx.update::<TokenFamilyRecord>("session", &family, Change::new(revoked).when(Expr::exists()))?;
    crate::users::revoke_session(&mut tx, user, family)?;
    match table.commit(tx).await {
        Ok(()) | Err(StoreError::Conflict { .. }) => {}
        Err(e) => return Err(e),
    }
    if let Err(e) = crate::users::prune_revoked_sessions(table, user, no_tokens_before).await {
        tracing::warn!(user_id = %user, error = %e, "old revoked sessions not pruned; the next sign-out tries again");
    }
    Ok(())
}
