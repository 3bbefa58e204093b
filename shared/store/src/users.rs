//! Accounts: the user record, the email pointer that makes an address unique, profile and role
//! changes, the admin listing, and a user's vendor membership as the account records it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::account::User;
use stockyard_domain::ids::{TokenFamilyId, UserId, VendorId};
use stockyard_domain::roles::{PlatformRole, VendorRole};
use stockyard_domain::values::Email;
use stockyard_domain::vendor::Member;

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

/// The account and its password hash (which only sign-in reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    pub password_hash: String,
    /// Sessions ended before their access tokens expire (sign-out, a stolen refresh token): every
    /// request reads this record once, so a revoked session's access token stops working at once.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub revoked_sessions: std::collections::BTreeSet<TokenFamilyId>,
    /// Counts password changes. Access tokens and sessions carry the version they were issued
    /// under and stop working when it moves on, and a password-reset link works only while the
    /// version it was made for holds (so it works once).
    #[serde(default)]
    pub credentials_version: u64,
}

impl UserRecord {
    pub fn new(user: User, password_hash: String) -> Self {
        Self { user, password_hash, revoked_sessions: Default::default(), credentials_version: 0 }
    }
}

/// The condition that an account's credentials version is still `version` (accounts made before
/// versions were recorded are at version 0).
pub(crate) fn credentials_at(version: u64) -> Expr {
    let expression = if version == 0 {
        "attribute_exists(PK) AND (attribute_not_exists(credentials_version) OR credentials_version = :version)"
    } else {
        "credentials_version = :version"
    };
    Expr::new(expression).val(":version", &version)
}

impl Entity for UserRecord {
    type Id = UserId;
    const NAME: &'static str = "user";
    fn key(id: &UserId) -> keys::Key {
        keys::user(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::user(self.user.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::user_listing(self.user.id))
    }
}

/// Points an email address at its account; its existence makes the address taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEmailRecord {
    pub email: Email,
    pub user_id: UserId,
}

impl Entity for UserEmailRecord {
    type Id = Email;
    const NAME: &'static str = "email pointer";
    fn key(email: &Email) -> keys::Key {
        keys::user_email(email)
    }
    fn key_of(&self) -> keys::Key {
        keys::user_email(&self.email)
    }
}

/// The step of [`create`] that fails when the email address is taken.
pub const EMAIL_CLAIM: &str = "email_claim";
/// The step that records a user's vendor; fails when the user already has one.
pub const JOIN_VENDOR: &str = "join_vendor";
/// The step that changes or ends a user's membership; fails when they left that vendor meanwhile.
pub const VENDOR_MEMBERSHIP: &str = "vendor_membership";

/// Creates an account: the email claim (step [`EMAIL_CLAIM`]) and the user.
pub fn create(table: &Table, record: &UserRecord) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let pointer = UserEmailRecord { email: record.user.email.clone(), user_id: record.user.id };
    tx.put(EMAIL_CLAIM, &pointer, Some(Expr::not_exists()))?;
    tx.put("user", record, Some(Expr::not_exists()))?;
    Ok(tx)
}

pub async fn get(table: &Table, id: UserId) -> Result<Option<UserRecord>, StoreError> {
    table.get::<UserRecord>(&id).await
}

/// The account an email address belongs to.
pub async fn find_by_email(table: &Table, email: &Email) -> Result<Option<UserRecord>, StoreError> {
    let Some(pointer) = table.get::<UserEmailRecord>(email).await? else { return Ok(None) };
    table.get::<UserRecord>(&pointer.user_id).await
}

/// What a user may change of their profile: absent fields stay, `phone: Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub phone: Option<Option<String>>,
}

fn now_text(now: DateTime<Utc>) -> Expr {
    Expr::default().val(":now", &now)
}

/// Changes a user's profile; their membership record (which shows the name to the vendor) changes
/// in the same transaction. `None` when there is no such user.
pub async fn update_profile(table: &Table, id: UserId, change: &ProfileChange) -> Result<Option<User>, StoreError> {
    for _ in 0..crate::retry::ATTEMPTS {
        let Some(current) = get(table, id).await? else { return Ok(None) };
        let mut set = vec!["updated_at = :now"];
        let mut remove = vec![];
        let mut update = now_text(Utc::now());
        if let Some(name) = &change.name {
            update = update.name("#name", "name").val(":name", name);
            set.push("#name = :name");
        }
        match &change.phone {
            None => {}
            Some(None) => remove.push("phone"),
            Some(Some(phone)) => {
                update = update.val(":phone", phone);
                set.push("phone = :phone");
            }
        }
        // The membership read is only valid while the user stays in the same vendor.
        let same_vendor = match current.user.vendor_id {
            Some(vendor) => Expr::new("attribute_exists(PK) AND vendor_id = :v").val(":v", &vendor),
            None => Expr::new("attribute_exists(PK) AND attribute_not_exists(vendor_id)"),
        };
        let mut tx = table.tx();
        tx.update::<UserRecord>("user", &id, Change::new(update.set_remove(&set, &remove)).when(same_vendor))?;
        if let (Some(vendor), Some(name)) = (current.user.vendor_id, &change.name) {
            let rename = Expr::default().name("#name", "name").val(":name", name).set_remove(&["#name = :name"], &[]);
            tx.update::<Member>("member_name", &(vendor, id), Change::new(rename).when(Expr::exists()))?;
        }
        match table.commit(tx).await {
            Ok(()) => return Ok(get(table, id).await?.map(|r| r.user)),
            // The user joined or left a vendor meanwhile: read again.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the profile kept changing meanwhile".into()))
}

/// Replaces a user's platform roles. `None` when there is no such user.
pub async fn set_roles(table: &Table, id: UserId, roles: &[PlatformRole]) -> Result<Option<User>, StoreError> {
    let update = now_text(Utc::now()).name("#roles", "roles").val(":roles", roles);
    let change = Change::new(update.set_remove(&["#roles = :roles", "updated_at = :now"], &[])).when(Expr::exists());
    match table.update::<UserRecord>(&id, change).await {
        Ok(record) => Ok(Some(record.user)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Marks the account's address as verified, if `email` is still its address. `None` when there is
/// no such account or its address changed since the link was sent.
pub async fn verify_email(table: &Table, id: UserId, email: &Email) -> Result<Option<User>, StoreError> {
    let update = now_text(Utc::now()).val(":t", &true).set_remove(&["email_verified = :t", "updated_at = :now"], &[]);
    let same_address = Expr::new("attribute_exists(PK) AND email = :email").val(":email", email);
    match table.update::<UserRecord>(&id, Change::new(update).when(same_address)).await {
        Ok(record) => Ok(Some(record.user)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The step of [`set_password`] that fails when the password changed since `account` was read.
pub const CREDENTIALS: &str = "credentials";
/// The step of [`set_password`] that fails when the session to keep was signed out meanwhile.
pub const KEPT_SESSION: &str = "kept_session";

/// Sets a new password hash and moves the credentials version on (step [`CREDENTIALS`], which
/// fails if it moved since `account` was read): every session and access token of the account
/// stops working, except the session `keep` (step [`KEPT_SESSION`]), which moves on with it. A
/// change made through a link sent to the account's address (`proves_email`) also verifies it.
/// The notice is requested in the same transaction. Returns the new version.
pub async fn set_password(
    table: &Table,
    account: &UserRecord,
    password_hash: &str,
    keep: Option<TokenFamilyId>,
    proves_email: bool,
    notice: crate::account_mail::AccountMail,
) -> Result<u64, StoreError> {
    let next = account.credentials_version + 1;
    let mut tx = table.tx();
    let mut set = vec!["password_hash = :hash", "credentials_version = :next", "updated_at = :now"];
    if proves_email {
        set.push("email_verified = :t");
    }
    let update = now_text(Utc::now()).val(":hash", password_hash).val(":next", &next);
    let update = if proves_email { update.val(":t", &true) } else { update }.set_remove(&set, &[]);
    let current = credentials_at(account.credentials_version);
    tx.update::<UserRecord>(CREDENTIALS, &account.user.id, Change::new(update).when(current))?;
    if let Some(session) = keep {
        crate::sessions::move_on(&mut tx, KEPT_SESSION, session, next)?;
    }
    crate::account_mail::request_in(&mut tx, notice)?;
    table.commit(tx).await?;
    Ok(next)
}

/// Makes `new_email` the account's address (step [`EMAIL_CLAIM`] fails when another account has
/// it; step `user` when the account's address or vendor changed since `account` was read): the old
/// address is released, the new one counts as verified (the link proved it), the membership
/// record shows it to the vendor, and the notice to the old address is requested, all at once.
pub async fn change_email(
    table: &Table,
    account: &UserRecord,
    new_email: &Email,
    notice: crate::account_mail::AccountMail,
) -> Result<User, StoreError> {
    let user = &account.user;
    let mut tx = table.tx();
    let update = now_text(Utc::now())
        .val(":new", new_email)
        .val(":t", &true)
        .set_remove(&["email = :new", "email_verified = :t", "updated_at = :now"], &[]);
    let unchanged = match user.vendor_id {
        Some(vendor) => Expr::new("email = :old AND vendor_id = :v").val(":v", &vendor),
        None => Expr::new("email = :old AND attribute_not_exists(vendor_id)"),
    }
    .val(":old", &user.email);
    tx.update::<UserRecord>("user", &user.id, Change::new(update).when(unchanged))?;
    tx.delete::<UserEmailRecord>("old_email", &user.email, Some(Expr::new("user_id = :me").val(":me", &user.id)))?;
    let pointer = UserEmailRecord { email: new_email.clone(), user_id: user.id };
    tx.put(EMAIL_CLAIM, &pointer, Some(Expr::not_exists()))?;
    if let Some(vendor) = user.vendor_id {
        let shown = Expr::default().val(":new", new_email).set_remove(&["email = :new"], &[]);
        tx.update::<Member>("member_email", &(vendor, user.id), Change::new(shown).when(Expr::exists()))?;
    }
    crate::account_mail::request_in(&mut tx, notice)?;
    table.commit(tx).await?;
    let mut changed = user.clone();
    changed.email = new_email.clone();
    changed.email_verified = true;
    Ok(changed)
}

/// Filters of the admin listing of users.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Lower-case prefix of the email address.
    pub email_prefix: Option<String>,
    pub role: Option<PlatformRole>,
}

/// One page of all users, filtered, reading on until the page is full (see `Page::partial`): every
/// shard of the listing at once, merged into one order.
pub async fn list(table: &Table, page: &PageRequest, filter: &UserFilter) -> Result<Page<User>, StoreError> {
    let mut clauses = vec![];
    let mut expr = Expr::default();
    if let Some(prefix) = &filter.email_prefix {
        clauses.push("begins_with(email, :email)");
        expr = expr.val(":email", prefix);
    }
    if let Some(role) = &filter.role {
        clauses.push("contains(#roles, :role)");
        expr = expr.name("#roles", "roles").val(":role", role);
    }
    expr.expression = clauses.join(" AND ");
    let expr = (!clauses.is_empty()).then_some(expr);
    Ok(table.query_sharded_filtered(&keys::all_users(), page, expr, |_| true).await?.map(|r| r.user))
}

/// Adds `session` to the user's revoked sessions (step `revoked_session`), in the transaction that
/// revokes the session itself.
pub(crate) fn revoke_session(tx: &mut Tx, user: UserId, session: TokenFamilyId) -> Result<(), StoreError> {
    let mut add = Expr::new("ADD revoked_sessions :session");
    add.values.insert(":session".into(), aws_sdk_dynamodb::types::AttributeValue::Ss(vec![session.to_string()]));
    tx.update::<UserRecord>("revoked_session", &user, Change::new(add).when(Expr::exists()))?;
    Ok(())
}

/// Drops from the user's revoked sessions those that began before `started_before` (a session id
/// is a ULID: its time is when the session began). Removing set elements is idempotent, so this
/// needs no condition on what was read.
pub(crate) async fn prune_revoked_sessions(
    table: &Table,
    user: UserId,
    started_before: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(record) = get(table, user).await? else { return Ok(0) };
    let stale: Vec<String> = record
        .revoked_sessions
        .iter()
        .filter(|sid| {
            ulid::Ulid::from_string(&sid.to_string())
                .is_ok_and(|id| DateTime::<Utc>::from(id.datetime()) < started_before)
        })
        .map(|sid| sid.to_string())
        .collect();
    if stale.is_empty() {
        return Ok(0);
    }
    let mut delete = Expr::new("DELETE revoked_sessions :stale");
    delete.values.insert(":stale".into(), aws_sdk_dynamodb::types::AttributeValue::Ss(stale.clone()));
    table.update::<UserRecord>(&user, Change::new(delete).when(Expr::exists())).await?;
    Ok(stale.len())
}

/// Records that `user` joined `vendor` with `role` (step [`JOIN_VENDOR`]; fails if they belong to one).
pub(crate) fn join_vendor(tx: &mut Tx, user: UserId, vendor: VendorId, role: VendorRole) -> Result<(), StoreError> {
    let update =
        Expr::default().val(":v", &vendor).val(":r", &role).set_remove(&["vendor_id = :v", "vendor_role = :r"], &[]);
    let free = Expr::new("attribute_exists(PK) AND attribute_not_exists(vendor_id)");
    tx.update::<UserRecord>(JOIN_VENDOR, &user, Change::new(update).when(free))?;
    Ok(())
}

/// Changes the role the account records (step [`VENDOR_MEMBERSHIP`]).
pub(crate) fn change_vendor_role(
    tx: &mut Tx,
    user: UserId,
    vendor: VendorId,
    role: VendorRole,
) -> Result<(), StoreError> {
    let update = Expr::default().val(":r", &role).set_remove(&["vendor_role = :r"], &[]);
    let member_of = Expr::new("vendor_id = :v").val(":v", &vendor);
    tx.update::<UserRecord>(VENDOR_MEMBERSHIP, &user, Change::new(update).when(member_of))?;
    Ok(())
}

/// Ends the membership the account records (step [`VENDOR_MEMBERSHIP`]).
pub(crate) fn leave_vendor(tx: &mut Tx, user: UserId, vendor: VendorId) -> Result<(), StoreError> {
    let member_of = Expr::new("vendor_id = :v").val(":v", &vendor);
    tx.update::<UserRecord>(
        VENDOR_MEMBERSHIP,
        &user,
        Change::new(Expr::new("REMOVE vendor_id, vendor_role")).when(member_of),
    )?;
    Ok(())
}
