//! Vendor organisations, their members and the invitations to join them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{InvitationId, UserId, VendorId};
use stockyard_domain::roles::VendorRole;
use stockyard_domain::values::Email;
use stockyard_domain::vendor::{InvitationStatus, Member, Vendor, VendorStatus};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::users;
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for Vendor {
    type Id = VendorId;
    const NAME: &'static str = "vendor";
    fn key(id: &VendorId) -> keys::Key {
        keys::vendor(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::vendor(self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::vendor_listing(self.id))
    }
}

impl Entity for Member {
    type Id = (VendorId, UserId);
    const NAME: &'static str = "member";
    fn key((vendor, user): &(VendorId, UserId)) -> keys::Key {
        keys::member(*vendor, *user)
    }
    fn key_of(&self) -> keys::Key {
        keys::member(self.vendor_id, self.user_id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationRecord {
    pub id: InvitationId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub email: Email,
    pub role: VendorRole,
    pub status: InvitationStatus,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    /// After this a pending invitation can no longer be accepted.
    pub expires_on: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
}

impl InvitationRecord {
    /// What the invitation is at `now`: pending ones past their expiry are expired.
    pub fn state(&self, now: DateTime<Utc>) -> InvitationState {
        match self.status {
            InvitationStatus::Accepted => InvitationState::Accepted,
            InvitationStatus::Pending if self.expires_on <= now => InvitationState::Expired,
            InvitationStatus::Pending => InvitationState::Pending,
        }
    }
}

/// An invitation's state as people see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted,
    Expired,
}

impl InvitationState {
    pub fn parse(field: &str, raw: &str) -> Result<Self, stockyard_domain::FieldError> {
        match raw {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "expired" => Ok(Self::Expired),
            _ => Err(stockyard_domain::FieldError::new(field, "must be pending, accepted or expired")),
        }
    }
}

impl Entity for InvitationRecord {
    type Id = (VendorId, InvitationId);
    const NAME: &'static str = "invitation";
    fn key((vendor, id): &(VendorId, InvitationId)) -> keys::Key {
        keys::invitation(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::invitation(self.vendor_id, self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::invitation_for_invitee(&self.email, self.id))
    }
}

/// Holds the place of a pending invitation so one email gets one pending invitation per vendor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationGuardRecord {
    pub vendor_id: VendorId,
    pub email: Email,
    pub invitation_id: InvitationId,
    /// TTL: an expired invitation frees the place.
    pub expires_at: i64,
}

impl Entity for InvitationGuardRecord {
    type Id = (VendorId, Email);
    const NAME: &'static str = "invitation guard";
    fn key((vendor, email): &(VendorId, Email)) -> keys::Key {
        keys::pending_invitation_guard(*vendor, email)
    }
    fn key_of(&self) -> keys::Key {
        keys::pending_invitation_guard(self.vendor_id, &self.email)
    }
}

/// The step of [`invite`] that fails when the email already has a pending invitation.
pub const PENDING_INVITATION: &str = "pending_invitation";
/// The step of [`accept`] that fails when the invitation is no longer pending.
pub const INVITATION_PENDING: &str = "invitation_pending";
/// The step that fails when the member is gone or became the owner meanwhile.
pub const STAFF_MEMBER: &str = "staff_member";

// ---- vendors --------------------------------------------------------------------------------------

/// Creates a vendor with its owner as first member (step `users::JOIN_VENDOR` fails if the owner
/// already belongs to a vendor).
pub fn create(table: &Table, vendor: &Vendor, owner: &Member) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.put("vendor", vendor, Some(Expr::not_exists()))?;
    tx.put("owner_member", owner, Some(Expr::not_exists()))?;
    users::join_vendor(&mut tx, owner.user_id, vendor.id, VendorRole::Owner)?;
    Ok(tx)
}

pub async fn get(table: &Table, id: VendorId) -> Result<Option<Vendor>, StoreError> {
    table.get::<Vendor>(&id).await
}

/// A vendor and one user's membership of it, read at once (what every authorisation needs).
pub async fn with_member(
    table: &Table,
    id: VendorId,
    user: UserId,
) -> Result<(Option<Vendor>, Option<Member>), StoreError> {
    let member = (id, user);
    tokio::try_join!(table.get::<Vendor>(&id), table.get::<Member>(&member))
}

/// What an owner may change of the vendor: absent fields stay, `description: Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct VendorChange {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub base_currency: Option<stockyard_domain::money::Currency>,
    pub default_locale: Option<stockyard_domain::locale::Locale>,
    pub country: Option<Option<String>>,
    pub near_expiry_days: Option<u32>,
    /// The seller details its invoices print; `Some(None)` removes them.
    pub invoicing: Option<Option<stockyard_domain::vendor::InvoicingDetails>>,
}

pub async fn update_details(table: &Table, id: VendorId, change: &VendorChange) -> Result<Option<Vendor>, StoreError> {
    let mut update = Expr::default().val(":now", &Utc::now());
    let mut set = vec!["updated_at = :now"];
    let mut remove = vec![];
    if let Some(name) = &change.name {
        update = update.name("#name", "name").val(":name", name);
        set.push("#name = :name");
    }
    match &change.description {
        None => {}
        Some(None) => remove.push("description"),
        Some(Some(text)) => {
            update = update.val(":description", text);
            set.push("description = :description");
        }
    }
    if let Some(currency) = &change.base_currency {
        update = update.val(":currency", currency);
        set.push("base_currency = :currency");
    }
    if let Some(locale) = &change.default_locale {
        update = update.val(":locale", locale);
        set.push("default_locale = :locale");
    }
    match &change.country {
        None => {}
        Some(None) => remove.push("country"),
        Some(Some(country)) => {
            update = update.val(":country", country);
            set.push("country = :country");
        }
    }
    match &change.invoicing {
        None => {}
        Some(None) => remove.push("invoicing"),
        Some(Some(details)) => {
            update = update.val(":invoicing", details);
            set.push("invoicing = :invoicing");
        }
    }
    if let Some(days) = change.near_expiry_days {
        update = update.val(":near_expiry_days", &days);
        set.push("near_expiry_days = :near_expiry_days");
    }
    found(table.update::<Vendor>(&id, Change::new(update.set_remove(&set, &remove)).when(Expr::exists())).await)
}

/// Suspends (with a reason shown to the vendor) or reinstates a vendor.
pub async fn set_status(
    table: &Table,
    id: VendorId,
    status: VendorStatus,
    reason: Option<&str>,
) -> Result<Option<Vendor>, StoreError> {
    let update = Expr::default().name("#status", "status").val(":status", &status).val(":now", &Utc::now());
    let update = match (status, reason) {
        (VendorStatus::Suspended, Some(reason)) => update
            .val(":reason", reason)
            .set_remove(&["#status = :status", "status_reason = :reason", "updated_at = :now"], &[]),
        _ => update.set_remove(&["#status = :status", "updated_at = :now"], &["status_reason"]),
    };
    found(table.update::<Vendor>(&id, Change::new(update).when(Expr::exists())).await)
}

fn found<T>(result: Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    match result {
        Ok(t) => Ok(Some(t)),
        Err(StoreError::ConditionFailed) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One page of all vendors, optionally of one status, reading on until the page is full: every
/// shard of the listing at once, merged into one order.
pub async fn list(table: &Table, page: &PageRequest, status: Option<VendorStatus>) -> Result<Page<Vendor>, StoreError> {
    let filter = status.map(|s| Expr::new("#status = :status").name("#status", "status").val(":status", &s));
    table.query_sharded_filtered(&keys::all_vendors(), page, filter, |_| true).await
}

// ---- members --------------------------------------------------------------------------------------

pub async fn member(table: &Table, vendor: VendorId, user: UserId) -> Result<Option<Member>, StoreError> {
    table.get::<Member>(&(vendor, user)).await
}

pub async fn members(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<Member>, StoreError> {
    table.query(&keys::members_of(vendor), page).await
}

fn staff_only() -> Expr {
    Expr::new("attribute_exists(PK) AND #role <> :owner").name("#role", "role").val(":owner", &VendorRole::Owner)
}

/// Changes a staff member's role, on the membership and the account at once (step [`STAFF_MEMBER`]
/// or `users::VENDOR_MEMBERSHIP` fails if they left or became the owner meanwhile).
pub fn change_role(table: &Table, vendor: VendorId, user: UserId, role: VendorRole) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let update = Expr::default().name("#role", "role").val(":role", &role).set_remove(&["#role = :role"], &[]);
    tx.update::<Member>(STAFF_MEMBER, &(vendor, user), Change::new(update).when(staff_only()))?;
    users::change_vendor_role(&mut tx, user, vendor, role)?;
    Ok(tx)
}

/// Removes a staff member from the vendor and from their account at once.
pub fn remove_member(table: &Table, vendor: VendorId, user: UserId) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.delete::<Member>(STAFF_MEMBER, &(vendor, user), Some(staff_only()))?;
    users::leave_vendor(&mut tx, user, vendor)?;
    Ok(tx)
}

// ---- invitations ----------------------------------------------------------------------------------

/// Records an invitation and holds its place (step [`PENDING_INVITATION`] fails while the email
/// has another unexpired pending invitation to the vendor).
pub fn invite(table: &Table, invitation: &InvitationRecord) -> Result<Tx, StoreError> {
    let now = Utc::now().timestamp();
    let guard = InvitationGuardRecord {
        vendor_id: invitation.vendor_id,
        email: invitation.email.clone(),
        invitation_id: invitation.id,
        expires_at: invitation.expires_on.timestamp(),
    };
    let mut tx = table.tx();
    let free = Expr::new("attribute_not_exists(PK) OR expires_at < :now").val(":now", &now);
    tx.put(PENDING_INVITATION, &guard, Some(free))?;
    tx.put("invitation", invitation, Some(Expr::not_exists()))?;
    Ok(tx)
}

fn state_filter(
    state: Option<InvitationState>,
    now: DateTime<Utc>,
) -> (Option<Expr>, impl Fn(&InvitationRecord) -> bool) {
    let stored = state.map(|s| match s {
        InvitationState::Accepted => InvitationStatus::Accepted,
        InvitationState::Pending | InvitationState::Expired => InvitationStatus::Pending,
    });
    let filter = stored.map(|s| Expr::new("#status = :status").name("#status", "status").val(":status", &s));
    (filter, move |r: &InvitationRecord| state.is_none_or(|s| r.state(now) == s))
}

/// One page of a vendor's invitations, optionally in one state, reading on until the page is full.
pub async fn invitations_of(
    table: &Table,
    vendor: VendorId,
    state: Option<InvitationState>,
    page: &PageRequest,
) -> Result<Page<InvitationRecord>, StoreError> {
    let (filter, keep) = state_filter(state, Utc::now());
    table.query_filtered(&keys::invitations_of(vendor), page, filter, keep).await
}

/// One page of the invitations sent to an email address, optionally in one state.
pub async fn invitations_for(
    table: &Table,
    email: &Email,
    state: Option<InvitationState>,
    page: &PageRequest,
) -> Result<Page<InvitationRecord>, StoreError> {
    let (filter, keep) = state_filter(state, Utc::now());
    table.query_filtered(&keys::invitations_for(email), page, filter, keep).await
}

/// An invitation sent to `email`, by its id.
pub async fn invitation_for(
    table: &Table,
    email: &Email,
    id: InvitationId,
) -> Result<Option<InvitationRecord>, StoreError> {
    let collection = keys::invitations_for(email).narrowed(keys::invitation_for_invitee(email, id).sk);
    Ok(table.query(&collection, &PageRequest::first(1)).await?.items.into_iter().next())
}

/// Accepts an invitation: marks it accepted (step [`INVITATION_PENDING`]), adds the member, records
/// the vendor on the account (step `users::JOIN_VENDOR`) and frees the invitation's place.
pub fn accept(
    table: &Table,
    invitation: &InvitationRecord,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let update = Expr::default()
        .name("#status", "status")
        .val(":accepted", &InvitationStatus::Accepted)
        .val(":now", &now)
        .set_remove(&["#status = :accepted", "accepted_at = :now"], &[]);
    let pending = Expr::new("#status = :pending").name("#status", "status").val(":pending", &InvitationStatus::Pending);
    tx.update::<InvitationRecord>(
        INVITATION_PENDING,
        &(invitation.vendor_id, invitation.id),
        Change::new(update).when(pending),
    )?;
    tx.put("member", member, Some(Expr::not_exists()))?;
    users::join_vendor(&mut tx, member.user_id, member.vendor_id, member.role)?;
    tx.delete::<InvitationGuardRecord>("invitation_place", &(invitation.vendor_id, invitation.email.clone()), None)?;
    Ok(tx)
}
