//! A vendor's staff: invitations by email, acceptance by the invitee, role changes and removal.

use chrono::{Duration, Utc};
use lambda_http::http::StatusCode;
use stockyard_domain::ids::{InvitationId, UserId, VendorId};
use stockyard_domain::roles::{VendorPermission, VendorRole};
use stockyard_domain::values::Email;
use stockyard_domain::vendor::{InvitationStatus, Member};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response, no_content};
use stockyard_store::vendors::{self, InvitationRecord, InvitationState};
use stockyard_store::{StoreError, users};

use crate::dto::{InvitationView, InviteStaffRequest, UpdateStaffRoleRequest};

/// How long an invitation can be accepted.
pub const INVITATION_VALIDITY: Duration = Duration::days(7);

/// A vendor's members, owner included.
#[utoipa::path(get, path = "/vendors/{vendorId}/staff", tag = "staff", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = VendorId, Path), PageParams),
    responses((status = 200, body = ListResponse<Member>), (status = 403, body = ErrorBody)))]
pub async fn list_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let vendor = cx.vendor(VendorPermission::Read).await?;
    let members = vendors::members(cx.store().await?, vendor.id(), &page).await?;
    Ok(ok(&ListResponse::from(members)))
}

fn already_invited() -> ApiError {
    ApiError::conflict_on("already_invited", "email", "this email already has a pending invitation to the vendor")
}

/// Invite someone by email to join the vendor's staff with a role (owner only). They receive an
/// email: the committed invitation is the event (`route-table-events` reads it from the table's
/// stream), so the email can neither be lost nor sent for an invitation that did not commit.
#[utoipa::path(post, path = "/vendors/{vendorId}/invitations", tag = "staff", security(("bearer" = ["vendor_owner"])),
    request_body = InviteStaffRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = InvitationView), (status = 403, body = ErrorBody),
              (status = 409, description = "already_member or already_invited", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invite_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let vendor_id = cx.vendor_id()?;
    let body: InviteStaffRequest = cx.body()?;
    let email = Email::parse("email", &body.email)?;
    let role = VendorRole::parse_staff("role", &body.role)?;
    let access = cx.vendor(VendorPermission::Manage).await?;
    cx.idempotent(async |key| {
        if let Some(user) = users::find_by_email(cx.store().await?, &email).await?
            && vendors::member(cx.store().await?, vendor_id, user.user.id).await?.is_some()
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
            invited_by: cx.person()?.user_id,
            created_at: now,
            expires_on: now + INVITATION_VALIDITY,
            accepted_at: None,
        };
        let tx = vendors::invite(cx.store().await?, &invitation)?;
        let view = InvitationView::new(invitation, now);
        commit(cx.store().await?, tx, key, StatusCode::CREATED, &view, |_| already_invited()).await
    })
    .await
}

fn page_of_views(page: stockyard_store::Page<InvitationRecord>) -> ListResponse<InvitationView> {
    let now = Utc::now();
    ListResponse::from(page.map(|r| InvitationView::new(r, now)))
}

/// The vendor's invitations, newest first (owner only). `?status=pending|accepted|expired`; a
/// filtered page reads on until it is full, within a read budget (then `partial` is true).
#[utoipa::path(get, path = "/vendors/{vendorId}/invitations", tag = "staff", security(("bearer" = ["vendor_owner"])),
    params(("vendorId" = VendorId, Path), ("status" = Option<InvitationState>, Query), PageParams),
    responses((status = 200, body = ListResponse<InvitationView>), (status = 403, body = ErrorBody)))]
pub async fn list_vendor_invitations(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let state = cx.query_as("status", InvitationState::parse)?;
    let vendor = cx.vendor(VendorPermission::ReadInvitations).await?;
    let found = vendors::invitations_of(cx.store().await?, vendor.id(), state, &page).await?;
    Ok(ok(&page_of_views(found)))
}

/// Invitations sent to my email address, newest first. `?status=pending|accepted|expired`.
#[utoipa::path(get, path = "/me/invitations", tag = "staff", security(("bearer" = [])),
    params(("status" = Option<InvitationState>, Query), PageParams),
    responses((status = 200, body = ListResponse<InvitationView>), (status = 401, body = ErrorBody)))]
pub async fn list_my_invitations(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let state = cx.query_as("status", InvitationState::parse)?;
    // The account's address now (a token may predate an address change).
    let email = &cx.account().await?.email;
    let found = vendors::invitations_for(cx.store().await?, email, state, &page).await?;
    Ok(ok(&page_of_views(found)))
}

fn not_pending() -> ApiError {
    ApiError::conflict("invitation_not_pending", "this invitation was already accepted or has expired")
}

/// Accept an invitation sent to my email address: I join the vendor with the invited role.
#[utoipa::path(post, path = "/invitations/{invitationId}/accept", tag = "staff", security(("bearer" = [])),
    params(("invitationId" = InvitationId, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody),
              (status = 409, description = "already_member or invitation_not_pending", body = ErrorBody)))]
pub async fn accept_invitation(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("invitationId", InvitationId::parse)?;
    let user = cx.account().await?.clone();
    let invitation = vendors::invitation_for(cx.store().await?, &user.email, id).await?;
    let invitation = invitation.ok_or(ApiError::NotFound("invitation"))?;
    let now = Utc::now();
    if invitation.state(now) != InvitationState::Pending {
        return Err(not_pending());
    }
    if user.vendor_id.is_some() {
        return Err(super::vendors::already_member());
    }
    let member = Member {
        vendor_id: invitation.vendor_id,
        user_id: user.id,
        email: user.email,
        name: user.name,
        role: invitation.role,
        joined_at: now,
    };
    match cx.store().await?.commit(vendors::accept(cx.store().await?, &invitation, &member, now)?).await {
        Ok(()) => Ok(ok(&member)),
        Err(e) if e.failed_at(vendors::INVITATION_PENDING) => Err(not_pending()),
        Err(StoreError::Conflict { .. }) => Err(super::vendors::already_member()),
        Err(e) => Err(e.into()),
    }
}

/// The staff member named in the path; the owner cannot be changed or removed this way.
async fn staff_member(cx: &Ctx<'_>, user_id: UserId) -> Result<Member, ApiError> {
    let member = vendors::member(cx.store().await?, cx.vendor_id()?, user_id).await?;
    let member = member.ok_or(ApiError::NotFound("staff member"))?;
    if member.role == VendorRole::Owner {
        return Err(ApiError::unprocessable(
            "owner_is_permanent",
            Some("userId"),
            "the owner's role cannot be changed or removed",
        ));
    }
    Ok(member)
}

fn member_changed(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { .. } => {
            ApiError::conflict("staff_changed", "this staff member changed meanwhile; reload and try again")
        }
        other => other.into(),
    }
}

/// Change a staff member's role (owner only).
#[utoipa::path(put, path = "/vendors/{vendorId}/staff/{userId}", tag = "staff", security(("bearer" = ["vendor_owner"])),
    request_body = UpdateStaffRoleRequest,
    params(("vendorId" = VendorId, Path), ("userId" = UserId, Path)),
    responses((status = 200, body = Member), (status = 409, description = "staff_changed: changed meanwhile", body = ErrorBody),
              (status = 422, description = "owner_is_permanent", body = ErrorBody)))]
pub async fn update_staff_role(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let user_id = cx.path("userId", UserId::parse)?;
    let body: UpdateStaffRoleRequest = cx.body()?;
    let role = VendorRole::parse_staff("role", &body.role)?;
    let vendor = cx.vendor(VendorPermission::Manage).await?;
    let mut member = staff_member(&cx, user_id).await?;
    let tx = vendors::change_role(cx.store().await?, vendor.id(), user_id, role)?;
    cx.store().await?.commit(tx).await.map_err(member_changed)?;
    member.role = role;
    Ok(ok(&member))
}

/// Remove a staff member (owner only). Their access ends immediately.
#[utoipa::path(delete, path = "/vendors/{vendorId}/staff/{userId}", tag = "staff", security(("bearer" = ["vendor_owner"])),
    params(("vendorId" = VendorId, Path), ("userId" = UserId, Path)),
    responses((status = 204, description = "Removed"), (status = 409, description = "staff_changed: changed meanwhile", body = ErrorBody),
              (status = 422, description = "owner_is_permanent", body = ErrorBody)))]
pub async fn remove_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let user_id = cx.path("userId", UserId::parse)?;
    let vendor = cx.vendor(VendorPermission::Manage).await?;
    staff_member(&cx, user_id).await?;
    cx.store()
        .await?
        .commit(vendors::remove_member(cx.store().await?, vendor.id(), user_id)?)
        .await
        .map_err(member_changed)?;
    Ok(no_content())
}
