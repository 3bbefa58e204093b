//! A vendor's staff: invitations by email, acceptance by the invitee, role changes and removal.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{Duration, Utc};
use lambda_http::http::StatusCode;
use stockyard_domain::ids::{EmailId, InvitationId, UserId, VendorId};
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_domain::values::Email;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{commit, idempotent};
use stockyard_http::request::{json_body, page_request, path, query};
use stockyard_http::response::ok;
use stockyard_http::vendor_access::authorize;
use stockyard_http::{ApiDeps, ApiError, Body, ListResponse, Request, Response, no_content};
use stockyard_messaging::EmailMessage;
use stockyard_store::identity::{
    InvitationGuardRecord, InvitationRecord, InvitationStatus, MemberRecord, UserEmailRecord,
};
use stockyard_store::outbox::{self, OutboxRecord};
use stockyard_store::table::{Change, Expr};
use stockyard_store::{PageRequest, StoreError, Table, keys};

use crate::InviteDeps;
use crate::dto::{InvitationView, InviteStaffRequest, MemberView, UpdateStaffRoleRequest};

/// How long an invitation can be accepted.
pub const INVITATION_VALIDITY: Duration = Duration::days(7);

/// A vendor's members, owner included.
#[utoipa::path(get, path = "/vendors/{vendorId}/staff", tag = "staff", security(("bearer" = [])),
    params(("vendorId" = String, Path), ("limit" = Option<i32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<MemberView>), (status = 403, body = ErrorBody)))]
pub async fn list_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let page = page_request(&req, false)?;
    authorize(&deps.table, &me, vendor_id, VendorPermission::Read).await?;
    let members = deps.table.query::<MemberRecord>(&keys::members_of(vendor_id), &page, None).await?;
    Ok(ok(&ListResponse::from(members.map(MemberView::from))))
}

fn invitation_email(invitation: &InvitationRecord) -> EmailMessage {
    let role = invitation.role.as_str().replace('_', " ");
    EmailMessage {
        email_id: EmailId::generate(),
        to: vec![invitation.email.to_string()],
        subject: format!("You're invited to join {} on Stockyard", invitation.vendor_name),
        text: format!(
            "Hello,\n\n{vendor} has invited you to join their team on Stockyard as {role}.\n\n\
             Sign in with this email address (or register with it), then accept the invitation:\n\
             POST /invitations/{id}/accept\n\nThe invitation expires on {expires}.\n",
            vendor = invitation.vendor_name,
            id = invitation.id,
            expires = invitation.expires_on.format("%Y-%m-%d %H:%M UTC"),
        ),
        html: None,
    }
}

/// Invite someone by email to join the vendor's staff with a role (owner only). They receive an email.
#[utoipa::path(post, path = "/vendors/{vendorId}/invitations", tag = "staff", security(("bearer" = [])),
    request_body = InviteStaffRequest,
    params(("vendorId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = InvitationView), (status = 403, body = ErrorBody),
              (status = 409, description = "already_member or already_invited", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invite_staff(deps: &InviteDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let table = &deps.api.table;
    let me = deps.api.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let body: InviteStaffRequest = json_body(&req)?;
    let email = Email::parse("email", &body.email)?;
    let role = VendorRole::parse_staff("role", &body.role)?;
    let access = authorize(table, &me, vendor_id, VendorPermission::Manage).await?;
    idempotent(&req, &me.user_id.to_string(), table, async |key| {
        let existing_user = table.get::<UserEmailRecord>(&keys::user_email(&email)).await?;
        if let Some(pointer) = existing_user
            && table.get::<MemberRecord>(&keys::member(vendor_id, pointer.user_id)).await?.is_some()
        {
            return Err(ApiError::conflict_on(
                "already_member",
                "email",
                "this person is already a member of the vendor",
            ));
        }
        let now = Utc::now();
        let invitation = InvitationRecord {
            id: InvitationId::generate(),
            vendor_id,
            vendor_name: access.vendor.name.clone(),
            email: email.clone(),
            role,
            status: InvitationStatus::Pending,
            invited_by: me.user_id,
            created_at: now,
            expires_on: now + INVITATION_VALIDITY,
            accepted_at: None,
        };
        let message = invitation_email(&invitation);
        let outbox_record = OutboxRecord {
            id: message.email_id,
            queue: "EMAILS_QUEUE_URL".into(),
            body: serde_json::to_string(&message).map_err(ApiError::internal)?,
            created_at: now,
        };
        let guard =
            InvitationGuardRecord { invitation_id: invitation.id, expires_at: invitation.expires_on.timestamp() };
        let writes = vec![
            table.tx_put(
                &keys::pending_invitation_guard(vendor_id, &email),
                None,
                &guard,
                Some(Expr::new("attribute_not_exists(PK) OR expires_at < :now").num(":now", now.timestamp())),
            )?,
            table.tx_put(
                &keys::invitation(vendor_id, invitation.id),
                Some(&keys::invitation_for_invitee(&email, invitation.id)),
                &invitation,
                Some(Expr::not_exists()),
            )?,
            outbox::put(table, &outbox_record)?,
        ];
        let response = commit(table, writes, key, StatusCode::CREATED, &InvitationView::new(invitation, now), |_| {
            ApiError::conflict_on(
                "already_invited",
                "email",
                "this email already has a pending invitation to the vendor",
            )
        })
        .await?;
        // Committed (a replay never gets here): publish now; if this fails the relay publishes it.
        match deps.emails.publish_raw(&outbox_record.body).await {
            Ok(()) => {
                if let Err(e) = outbox::remove(table, outbox_record.id).await {
                    tracing::warn!(error = %e, "published invitation email; outbox item left for the relay");
                }
            }
            Err(e) => tracing::warn!(error = %e, "invitation email left in the outbox for the relay"),
        }
        Ok(response)
    })
    .await
}

fn parse_status_filter(req: &Request) -> Result<Option<String>, ApiError> {
    match query(req, "status") {
        None => Ok(None),
        Some(s) if ["pending", "accepted", "expired"].contains(&s.as_str()) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid("status", "must be pending, accepted or expired")),
    }
}

fn views(records: Vec<InvitationRecord>, status: Option<&str>) -> Vec<InvitationView> {
    let now = Utc::now();
    records.into_iter().map(|r| InvitationView::new(r, now)).filter(|v| status.is_none_or(|s| v.status == s)).collect()
}

/// The vendor's invitations, newest first (owner only). `?status=pending|accepted|expired`.
#[utoipa::path(get, path = "/vendors/{vendorId}/invitations", tag = "staff", security(("bearer" = [])),
    params(("vendorId" = String, Path), ("status" = Option<String>, Query), ("limit" = Option<i32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<InvitationView>), (status = 403, body = ErrorBody)))]
pub async fn list_vendor_invitations(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let page = page_request(&req, true)?;
    let status = parse_status_filter(&req)?;
    authorize(&deps.table, &me, vendor_id, VendorPermission::ReadInvitations).await?;
    let found = deps.table.query::<InvitationRecord>(&keys::invitations_of(vendor_id), &page, None).await?;
    Ok(ok(&ListResponse { items: views(found.items, status.as_deref()), next_cursor: found.next_cursor }))
}

/// Invitations sent to my email address, newest first. `?status=pending|accepted|expired`.
#[utoipa::path(get, path = "/me/invitations", tag = "staff", security(("bearer" = [])),
    params(("status" = Option<String>, Query), ("limit" = Option<i32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<InvitationView>), (status = 401, body = ErrorBody)))]
pub async fn list_my_invitations(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let me = deps.verifier.authenticate(&req)?;
    let page = page_request(&req, true)?;
    let status = parse_status_filter(&req)?;
    let found = deps.table.query::<InvitationRecord>(&keys::invitations_for(&me.email), &page, None).await?;
    Ok(ok(&ListResponse { items: views(found.items, status.as_deref()), next_cursor: found.next_cursor }))
}

async fn find_invitation_for(
    table: &Table,
    email: &Email,
    id: InvitationId,
) -> Result<Option<InvitationRecord>, ApiError> {
    let mut collection = keys::invitations_for(email);
    collection.prefix = keys::invitation_for_invitee(email, id).sk;
    let page = table.query::<InvitationRecord>(&collection, &PageRequest::first(1), None).await?;
    Ok(page.items.into_iter().next())
}

/// Accept an invitation sent to my email address: I join the vendor with the invited role.
#[utoipa::path(post, path = "/invitations/{invitationId}/accept", tag = "staff", security(("bearer" = [])),
    params(("invitationId" = String, Path)),
    responses((status = 200, body = MemberView), (status = 404, body = ErrorBody),
              (status = 409, description = "already_member or invitation_not_pending", body = ErrorBody)))]
pub async fn accept_invitation(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let table = &deps.table;
    let me = deps.verifier.authenticate(&req)?;
    let id = path(&req, "invitationId", InvitationId::parse)?;
    let invitation = find_invitation_for(table, &me.email, id).await?.ok_or(ApiError::NotFound("invitation"))?;
    let now = Utc::now();
    if invitation.status != InvitationStatus::Pending || invitation.expires_on <= now {
        return Err(ApiError::conflict(
            "invitation_not_pending",
            "this invitation was already accepted or has expired",
        ));
    }
    let user = super::load_user(table, me.user_id).await?;
    if user.vendor_id.is_some() {
        return Err(super::vendors::already_member());
    }
    let member = MemberRecord {
        vendor_id: invitation.vendor_id,
        user_id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        role: invitation.role,
        joined_at: now,
    };
    let writes = vec![
        table.tx_update(
            &keys::invitation(invitation.vendor_id, invitation.id),
            Change::new(
                Expr::new("SET #status = :accepted, accepted_at = :now")
                    .name("#status", "status")
                    .str(":accepted", "accepted")
                    .str(":now", now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            )
            .when(Expr::new("#status = :pending").str(":pending", "pending")),
        )?,
        table.tx_put(&keys::member(invitation.vendor_id, user.id), None, &member, Some(Expr::not_exists()))?,
        super::vendors::join_vendor(table, user.id, invitation.vendor_id, invitation.role)?,
        table.tx_delete(&keys::pending_invitation_guard(invitation.vendor_id, &invitation.email), None)?,
    ];
    match table.transact(writes).await {
        Ok(()) => Ok(ok(&MemberView::from(member))),
        Err(StoreError::TransactionConflict { index: 0 }) => {
            Err(ApiError::conflict("invitation_not_pending", "this invitation was already accepted or has expired"))
        }
        Err(StoreError::TransactionConflict { .. }) => Err(super::vendors::already_member()),
        Err(e) => Err(e.into()),
    }
}

/// The staff member named in the path; the owner cannot be changed or removed this way.
async fn staff_member(table: &Table, vendor_id: VendorId, user_id: UserId) -> Result<MemberRecord, ApiError> {
    let member = table
        .get::<MemberRecord>(&keys::member(vendor_id, user_id))
        .await?
        .ok_or(ApiError::NotFound("staff member"))?;
    if member.role == VendorRole::Owner {
        return Err(ApiError::unprocessable(
            "owner_is_permanent",
            Some("userId"),
            "the owner's role cannot be changed or removed",
        ));
    }
    Ok(member)
}

fn not_owner() -> Expr {
    Expr::new("attribute_exists(PK) AND #role <> :owner").name("#role", "role").str(":owner", "owner")
}

fn member_changed() -> ApiError {
    ApiError::conflict("staff_changed", "this staff member changed meanwhile; reload and try again")
}

/// Change a staff member's role (owner only).
#[utoipa::path(put, path = "/vendors/{vendorId}/staff/{userId}", tag = "staff", security(("bearer" = [])),
    request_body = UpdateStaffRoleRequest,
    params(("vendorId" = String, Path), ("userId" = String, Path)),
    responses((status = 200, body = MemberView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_staff_role(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let table = &deps.table;
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let user_id = path(&req, "userId", UserId::parse)?;
    let body: UpdateStaffRoleRequest = json_body(&req)?;
    let role = VendorRole::parse_staff("role", &body.role)?;
    authorize(table, &me, vendor_id, VendorPermission::Manage).await?;
    let mut member = staff_member(table, vendor_id, user_id).await?;
    let writes: Vec<TransactWriteItem> = vec![
        table.tx_update(
            &keys::member(vendor_id, user_id),
            Change::new(Expr::new("SET #role = :role").name("#role", "role").str(":role", role.as_str()))
                .when(not_owner()),
        )?,
        table.tx_update(
            &keys::user(user_id),
            Change::new(Expr::new("SET vendor_role = :role").str(":role", role.as_str()))
                .when(Expr::new("vendor_id = :v").str(":v", vendor_id.to_string())),
        )?,
    ];
    match table.transact(writes).await {
        Ok(()) => {
            member.role = role;
            Ok(ok(&MemberView::from(member)))
        }
        Err(StoreError::TransactionConflict { .. }) => Err(member_changed()),
        Err(e) => Err(e.into()),
    }
}

/// Remove a staff member (owner only). Their access ends immediately.
#[utoipa::path(delete, path = "/vendors/{vendorId}/staff/{userId}", tag = "staff", security(("bearer" = [])),
    params(("vendorId" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let table = &deps.table;
    let me = deps.verifier.authenticate(&req)?;
    let vendor_id = path(&req, "vendorId", VendorId::parse)?;
    let user_id = path(&req, "userId", UserId::parse)?;
    authorize(table, &me, vendor_id, VendorPermission::Manage).await?;
    staff_member(table, vendor_id, user_id).await?;
    let writes = vec![
        table.tx_delete(&keys::member(vendor_id, user_id), Some(not_owner()))?,
        table.tx_update(
            &keys::user(user_id),
            Change::new(Expr::new("REMOVE vendor_id, vendor_role"))
                .when(Expr::new("vendor_id = :v").str(":v", vendor_id.to_string())),
        )?,
    ];
    match table.transact(writes).await {
        Ok(()) => Ok(no_content()),
        Err(StoreError::TransactionConflict { .. }) => Err(member_changed()),
        Err(e) => Err(e.into()),
    }
}
