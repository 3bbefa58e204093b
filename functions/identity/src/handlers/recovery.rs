//! Account recovery and changes: verify the email address, reset a forgotten password, change the
//! password, change the email address.
//!
//! Every email goes out through the table's stream: the handler stores the request (in the
//! transaction of the change it announces, if any) and `route-table-events` signs its link and
//! queues it. Links are signed and expire (`stockyard_http::links`); a reset link works once,
//! because the password change it makes moves the account's credentials version on, which also
//! ends every session and access token of the account. Requests that send email are throttled per
//! address or account, and checks of the current password count as failed sign-ins.

use chrono::Utc;
use lambda_http::http::StatusCode;
use stockyard_domain::account::User;
use stockyard_domain::password;
use stockyard_domain::values::{Email, check_password};
use stockyard_http::error::ErrorBody;
use stockyard_http::links::{LinkPurpose, invalid_link};
use stockyard_http::response::ok;
use stockyard_http::{ApiError, Body, Ctx, Request, Response, json, no_content};
use stockyard_store::account_mail::{self, AccountMail, AccountMailKind};
use stockyard_store::throttle::{self, Limit};
use stockyard_store::users::{self, UserRecord};
use stockyard_store::{StoreError, Table, sign_in};

use crate::AuthDeps;
use crate::dto::{
    AccessTokenResponse, ChangeEmailRequest, ChangePasswordRequest, ForgotPasswordRequest, LinkRequest, Notice,
    ResetPasswordRequest,
};
use crate::handlers::auth::{FAILURE_WINDOW, MAX_FAILED_SIGN_INS};

/// Verification emails one account may ask for within the window.
pub const VERIFY_EMAIL_LIMIT: Limit = Limit { purpose: "verify_email", limit: 5, window: FAILURE_WINDOW };
/// Password-reset emails one address may be sent within the window (counted whether or not an
/// account has the address).
pub const PASSWORD_RESET_LIMIT: Limit = Limit { purpose: "password_reset", limit: 5, window: FAILURE_WINDOW };
/// Address changes one account may ask for within the window.
pub const EMAIL_CHANGE_LIMIT: Limit = Limit { purpose: "email_change", limit: 5, window: FAILURE_WINDOW };

fn mail(kind: AccountMailKind, user: &User, version: u64, to: &Email) -> AccountMail {
    AccountMail {
        kind,
        user_id: user.id,
        to: to.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
        new_email: None,
        credentials_version: version,
    }
}

/// The verification email a new account is sent.
pub(crate) fn verification_mail(record: &UserRecord) -> AccountMail {
    mail(AccountMailKind::VerifyEmail, &record.user, record.credentials_version, &record.user.email)
}

/// Counts one request against `limit`; 429 with Retry-After when it is reached.
async fn throttled(table: &Table, limit: &Limit, subject: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    match throttle::hit(table, limit, subject, now).await? {
        Ok(()) => Ok(()),
        Err(until) => Err(ApiError::TooManyRequests {
            code: "too_many_requests",
            message: "too many requests of this kind for this account or address; try again later".into(),
            retry_after: (until - now).num_seconds().max(1) as u64,
        }),
    }
}

/// Checks the account's current password as sign-in does: refused while sign-in is locked, and a
/// wrong one counts as a failed sign-in (422 naming `field`).
async fn check_current_password(table: &Table, account: &UserRecord, field: &str, given: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    let email = &account.user.email;
    if let Some(until) =
        sign_in::find(table, email).await?.and_then(|f| f.locked_until(now, MAX_FAILED_SIGN_INS, FAILURE_WINDOW))
    {
        return Err(ApiError::TooManyRequests {
            code: "too_many_attempts",
            message: "too many failed password checks for this account; try again later".into(),
            retry_after: (until - now).num_seconds().max(1) as u64,
        });
    }
    if !password::verify(given, &account.password_hash) {
        sign_in::record_failure(table, email, now, FAILURE_WINDOW).await?;
        return Err(ApiError::invalid(field, "is not the account's current password"));
    }
    Ok(())
}

fn accepted(message: &str) -> Response<Body> {
    json(StatusCode::ACCEPTED, &Notice { message: message.into() })
}

/// Send me (again) the link that verifies my email address. Unverified accounts can browse and
/// buy but cannot create a vendor. Throttled: 5 per account per 15 minutes.
#[utoipa::path(post, path = "/me/email/verification", tag = "profile", security(("bearer" = [])),
    responses((status = 202, description = "The link is on its way", body = Notice),
              (status = 409, description = "already_verified", body = ErrorBody),
              (status = 429, description = "too_many_requests; see Retry-After", body = ErrorBody)))]
pub async fn request_email_verification(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let account = cx.account_record().await?;
    if account.user.email_verified {
        return Err(ApiError::conflict("already_verified", "this email address is already verified"));
    }
    let table = cx.store().await?;
    throttled(table, &VERIFY_EMAIL_LIMIT, &account.user.id.to_string()).await?;
    account_mail::request(table, verification_mail(account)).await?;
    Ok(accepted("a link to verify your email address is on its way to it"))
}

/// Verify an email address with the token of the link sent to it. Needs no sign-in (the link may
/// be opened on another device). Verifying twice is harmless.
#[utoipa::path(post, path = "/auth/email/verify", tag = "auth", request_body = LinkRequest,
    responses((status = 200, description = "The account, verified", body = User),
              (status = 422, description = "invalid_link: invalid, expired, or for an address the account no longer has", body = ErrorBody)))]
pub async fn verify_email(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: LinkRequest = stockyard_http::request::json_body(&req)?;
    let claims = deps.links.verify(LinkPurpose::VerifyEmail, &body.token)?;
    let user = users::verify_email(&deps.api.table, claims.sub, &claims.email).await?;
    Ok(ok(&user.ok_or_else(invalid_link)?))
}

/// Forgot my password: if an account has this address, a single-use link to choose a new password
/// (valid for an hour) is sent to it. The answer is the same whether or not one has. Throttled: 5
/// per address per 15 minutes.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "auth", request_body = ForgotPasswordRequest,
    responses((status = 202, description = "Sent if an account has the address", body = Notice),
              (status = 429, description = "too_many_requests; see Retry-After", body = ErrorBody)))]
pub async fn forgot_password(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: ForgotPasswordRequest = stockyard_http::request::json_body(&req)?;
    let email = Email::parse("email", &body.email)?;
    let table = &deps.api.table;
    throttled(table, &PASSWORD_RESET_LIMIT, email.as_str()).await?;
    if let Some(account) = users::find_by_email(table, &email).await? {
        let reset = mail(AccountMailKind::PasswordReset, &account.user, account.credentials_version, &email);
        account_mail::request(table, reset).await?;
    }
    Ok(accepted("if an account has this address, a link to choose a new password is on its way to it"))
}

/// Choose a new password with the token of a reset link. Every session of the account ends, the
/// link stops working, and the address counts as verified (the link proved it).
#[utoipa::path(post, path = "/auth/password/reset", tag = "auth", request_body = ResetPasswordRequest,
    responses((status = 204, description = "The password is changed; sign in with it"),
              (status = 422, description = "invalid_link (invalid, expired or used), or a password that breaks the rules", body = ErrorBody)))]
pub async fn reset_password(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: ResetPasswordRequest = stockyard_http::request::json_body(&req)?;
    let claims = deps.links.verify(LinkPurpose::ResetPassword, &body.token)?;
    check_password("password", &body.password, Some(&claims.email))?;
    let table = &deps.api.table;
    let account = users::get(table, claims.sub).await?.ok_or_else(invalid_link)?;
    // Used already (the password changed since), or sent to an address the account no longer has.
    if account.credentials_version != claims.ver || account.user.email != claims.email {
        return Err(invalid_link());
    }
    let hash = password::hash(&body.password).map_err(ApiError::internal)?;
    let notice = mail(AccountMailKind::PasswordChanged, &account.user, claims.ver, &claims.email);
    match users::set_password(table, &account, &hash, None, true, notice).await {
        Ok(_) => {}
        Err(e) if e.failed_at(users::CREDENTIALS) => return Err(invalid_link()),
        Err(e) => return Err(e.into()),
    }
    // The owner proved the address: failed sign-ins before the reset no longer lock it.
    sign_in::clear(table, &account.user.email).await?;
    Ok(no_content())
}

/// Change my password (the current one is required; a wrong one counts as a failed sign-in). Every
/// other session of the account ends; this one goes on with the access token in the answer (its
/// refresh token keeps working).
#[utoipa::path(post, path = "/me/password", tag = "profile", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 200, description = "A new access token for this session", body = AccessTokenResponse),
              (status = 409, description = "credentials_changed: the password changed meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field: current_password is wrong, or password breaks the rules", body = ErrorBody),
              (status = 429, description = "too_many_attempts; see Retry-After", body = ErrorBody)))]
pub async fn change_password(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let body: ChangePasswordRequest = cx.body()?;
    if body.current_password.is_empty() {
        return Err(ApiError::invalid("current_password", "is required"));
    }
    let account = cx.account_record().await?;
    check_password("password", &body.password, Some(&account.user.email))?;
    if body.password == body.current_password {
        return Err(ApiError::invalid("password", "must differ from the current password"));
    }
    let table = cx.store().await?;
    check_current_password(table, account, "current_password", &body.current_password).await?;
    let hash = password::hash(&body.password).map_err(ApiError::internal)?;
    let notice =
        mail(AccountMailKind::PasswordChanged, &account.user, account.credentials_version, &account.user.email);
    let version = match users::set_password(table, account, &hash, Some(cx.person()?.session), false, notice).await {
        Ok(version) => version,
        Err(e) if e.failed_at(users::CREDENTIALS) => {
            return Err(ApiError::conflict("credentials_changed", "the password was changed meanwhile; sign in again"));
        }
        Err(e) if e.failed_at(users::KEPT_SESSION) => {
            return Err(ApiError::Unauthorized("this session was signed out; sign in again".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let response = super::auth::access_token(deps, account.user.clone(), cx.person()?.session, version)?;
    Ok(ok(&response))
}

/// Change my email address: a link is sent to the new address, and the change happens when it is
/// opened (`POST /auth/email/confirm`); the old address is then told. The current password is
/// required. Throttled: 5 per account per 15 minutes.
#[utoipa::path(post, path = "/me/email", tag = "profile", security(("bearer" = [])), request_body = ChangeEmailRequest,
    responses((status = 202, description = "The link is on its way to the new address", body = Notice),
              (status = 409, description = "email_taken", body = ErrorBody),
              (status = 422, description = "invalid_field: the address, or a wrong password", body = ErrorBody),
              (status = 429, description = "too_many_requests or too_many_attempts; see Retry-After", body = ErrorBody)))]
pub async fn request_email_change(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let body: ChangeEmailRequest = cx.body()?;
    let new_email = Email::parse("email", &body.email)?;
    if body.password.is_empty() {
        return Err(ApiError::invalid("password", "is required"));
    }
    let account = cx.account_record().await?;
    if account.user.email == new_email {
        return Err(ApiError::invalid("email", "is already this account's address"));
    }
    let table = cx.store().await?;
    check_current_password(table, account, "password", &body.password).await?;
    throttled(table, &EMAIL_CHANGE_LIMIT, &account.user.id.to_string()).await?;
    let taken = users::find_by_email(table, &new_email).await?.is_some()
        || deps.admin.as_ref().is_some_and(|a| a.email == new_email);
    if taken {
        return Err(super::auth::email_taken());
    }
    let mut confirm = mail(AccountMailKind::ConfirmEmailChange, &account.user, account.credentials_version, &new_email);
    confirm.new_email = Some(new_email);
    account_mail::request(table, confirm).await?;
    Ok(accepted("a link to confirm the change is on its way to the new address"))
}

/// Confirm an email change with the token of the link sent to the new address. Needs no sign-in.
/// The account's address becomes the new one (verified), and a notice goes to the old one.
#[utoipa::path(post, path = "/auth/email/confirm", tag = "auth", request_body = LinkRequest,
    responses((status = 200, description = "The account with its new address", body = User),
              (status = 409, description = "email_taken: another account took the address meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_link: invalid, expired, or the account's address changed since", body = ErrorBody)))]
pub async fn confirm_email_change(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: LinkRequest = stockyard_http::request::json_body(&req)?;
    let claims = deps.links.verify(LinkPurpose::ChangeEmail, &body.token)?;
    let table = &deps.api.table;
    let account = users::get(table, claims.sub).await?.ok_or_else(invalid_link)?;
    if account.user.email == claims.email {
        // Confirmed already (a retry, or the link opened twice).
        return Ok(ok(&account.user));
    }
    if claims.previous.as_ref() != Some(&account.user.email) {
        return Err(invalid_link());
    }
    let mut notice =
        mail(AccountMailKind::EmailChanged, &account.user, account.credentials_version, &account.user.email);
    notice.new_email = Some(claims.email.clone());
    match users::change_email(table, &account, &claims.email, notice).await {
        Ok(user) => Ok(ok(&user)),
        Err(e) if e.failed_at(users::EMAIL_CLAIM) => Err(super::auth::email_taken()),
        // The account's address or vendor changed meanwhile.
        Err(StoreError::Conflict { .. }) => Err(invalid_link()),
        Err(e) => Err(e.into()),
    }
}
