//! Register, sign in, refresh and revoke.

use chrono::Utc;
use lambda_http::http::StatusCode;
use stockyard_domain::account::User;
use stockyard_domain::ids::{TokenFamilyId, UserId};
use stockyard_domain::password;
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::values::{Email, Name, check_password};
use stockyard_http::auth::TokenSubject;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{commit, idempotent};
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::request::json_body;
use stockyard_http::{ApiError, Body, Request, Response, json, no_content};
use stockyard_store::sessions::{self, RefreshTokenRecord, RefreshTokenStatus, TokenFamilyRecord};
use stockyard_store::users::{self, UserRecord};
use stockyard_store::{StoreError, Tx, account_mail, sign_in};

use crate::dto::{AccessTokenResponse, LoginRequest, RefreshRequest, RegisterRequest, TokenResponse};
use crate::{AuthDeps, tokens};

fn new_account(
    email: Email,
    email_verified: bool,
    name: String,
    password_hash: String,
    roles: Vec<PlatformRole>,
) -> UserRecord {
    let now = Utc::now();
    UserRecord::new(
        User {
            id: UserId::generate(),
            email,
            email_verified,
            name,
            phone: None,
            roles,
            vendor_id: None,
            vendor_role: None,
            created_at: now,
            updated_at: now,
        },
        password_hash,
    )
}

pub(crate) fn email_taken() -> ApiError {
    ApiError::conflict_on("email_taken", "email", "an account with this email already exists")
}

/// Create a customer account.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    params(IdempotencyParams),
    responses((status = 201, body = User), (status = 409, description = "email_taken", body = ErrorBody),
              (status = 422, description = "invalid_field", body = ErrorBody)))]
pub async fn register(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: RegisterRequest = json_body(&req)?;
    let email = Email::parse("email", &body.email)?;
    let name = Name::parse("name", &body.name)?;
    check_password("password", &body.password, Some(&email))?;
    idempotent(&req, &format!("register:{email}"), &deps.api.table, async |key| {
        if deps.admin.as_ref().is_some_and(|a| a.email == email) {
            return Err(email_taken());
        }
        let hash = password::hash(&body.password).map_err(ApiError::internal)?;
        let record = new_account(email, false, name, hash, vec![PlatformRole::Customer]);
        let mut tx = users::create(&deps.api.table, &record)?;
        account_mail::request_in(&mut tx, super::recovery::verification_mail(&record))?;
        commit(&deps.api.table, tx, key, StatusCode::CREATED, &record.user, |_| email_taken()).await
    })
    .await
}

/// Creates the administrator from configuration the first time it signs in.
async fn bootstrap_admin(deps: &AuthDeps, email: &Email, password: &str) -> Result<Option<UserRecord>, ApiError> {
    let Some(admin) = deps.admin.as_ref().filter(|a| &a.email == email) else { return Ok(None) };
    if !password::verify(password, &admin.password_hash) {
        return Ok(None);
    }
    let roles = vec![PlatformRole::Customer, PlatformRole::Admin];
    // The address is the operator's own configuration: nothing to prove.
    let record = new_account(email.clone(), true, "Administrator".into(), admin.password_hash.clone(), roles);
    match deps.api.table.commit(users::create(&deps.api.table, &record)?).await {
        Ok(()) => {
            tracing::info!(user_id = %record.user.id, "administrator account created from configuration");
            Ok(Some(record))
        }
        // Another sign-in created it at the same moment: use that one.
        Err(StoreError::Conflict { .. }) => Ok(users::find_by_email(&deps.api.table, email).await?),
        Err(e) => Err(e.into()),
    }
}

/// Issues an access token and a new refresh token in `family`, under the account's credentials
/// version `version`; the caller stores the token record.
pub(crate) fn issue(
    deps: &AuthDeps,
    user: User,
    family: TokenFamilyId,
    version: u64,
) -> Result<(TokenResponse, RefreshTokenRecord), ApiError> {
    let now = Utc::now();
    let access = access_token(deps, user, family, version)?;
    let (refresh_token, hash) = tokens::new_refresh_token().map_err(ApiError::internal)?;
    let record = RefreshTokenRecord {
        token_hash: hash,
        user_id: access.user.id,
        family_id: family,
        status: RefreshTokenStatus::Active,
        created_at: now,
        expires_at: (now + tokens::REFRESH_TTL).timestamp(),
    };
    let response = TokenResponse {
        access_token: access.access_token,
        token_type: access.token_type,
        expires_in: access.expires_in,
        refresh_token,
        refresh_expires_in: tokens::REFRESH_TTL.num_seconds(),
        user: access.user,
    };
    Ok((response, record))
}

/// A new access token for `family` under credentials version `version` (the session goes on with
/// its refresh token).
pub(crate) fn access_token(
    deps: &AuthDeps,
    user: User,
    family: TokenFamilyId,
    version: u64,
) -> Result<AccessTokenResponse, ApiError> {
    let issuer = deps
        .issuer
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("JWT_SIGNING_KEY is not configured for this function")))?;
    let access_token = issuer.issue(
        &TokenSubject {
            user_id: user.id,
            session: family,
            credentials_version: version,
            email: &user.email,
            roles: &user.roles,
            vendor_id: user.vendor_id,
            vendor_role: user.vendor_role,
        },
        Utc::now(),
    )?;
    Ok(AccessTokenResponse { access_token, token_type: "Bearer".into(), expires_in: issuer.ttl.num_seconds(), user })
}

fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized("email or password is incorrect".into())
}

/// Failed sign-ins allowed per email address within [`FAILURE_WINDOW`] before sign-in is refused
/// until the window ends.
pub const MAX_FAILED_SIGN_INS: i64 = 5;
pub const FAILURE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Sign in with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "unauthorized", body = ErrorBody),
              (status = 429, description = "too_many_attempts: 5 failed sign-ins within 15 minutes; see Retry-After", body = ErrorBody)))]
pub async fn login(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: LoginRequest = json_body(&req)?;
    let email = Email::parse("email", &body.email)?;
    if body.password.is_empty() {
        return Err(ApiError::invalid("password", "is required"));
    }
    let table = &deps.api.table;
    let (failures, found) = tokio::try_join!(sign_in::find(table, &email), users::find_by_email(table, &email))?;
    let now = Utc::now();
    if let Some(until) = failures.as_ref().and_then(|f| f.locked_until(now, MAX_FAILED_SIGN_INS, FAILURE_WINDOW)) {
        return Err(ApiError::TooManyRequests {
            code: "too_many_attempts",
            message: "too many failed sign-ins for this email; try again later".into(),
            retry_after: (until - now).num_seconds().max(1) as u64,
        });
    }
    let user = match found {
        Some(record) if password::verify(&body.password, &record.password_hash) => Some(record),
        Some(_) => None,
        None => bootstrap_admin(deps, &email, &body.password).await?.or_else(|| {
            password::verify_against_nothing(&body.password);
            None
        }),
    };
    let Some(user) = user else {
        sign_in::record_failure(table, &email, now, FAILURE_WINDOW).await?;
        return Err(invalid_credentials());
    };
    if failures.is_some() {
        sign_in::clear(table, &email).await?;
    }
    let family = TokenFamilyRecord {
        family_id: TokenFamilyId::generate(),
        user_id: user.user.id,
        revoked: false,
        credentials_version: user.credentials_version,
        created_at: now,
        expires_at: (now + tokens::REFRESH_TTL).timestamp(),
    };
    let (response, token) = issue(deps, user.user, family.family_id, user.credentials_version)?;
    table.commit(sessions::start(table, &family, &token)?).await?;
    Ok(json(StatusCode::OK, &response))
}

/// Sessions that began before this can have no valid token left: the session has expired, and so
/// has the last access token issued in it.
fn no_tokens_before(now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    now - tokens::REFRESH_TTL - stockyard_http::TokenIssuer::DEFAULT_TTL
}

fn revoked_session() -> ApiError {
    ApiError::Unauthorized("refresh token is invalid, expired or revoked; sign in again".into())
}

/// Exchange a refresh token for a new access token and refresh token. Each refresh token works
/// once; presenting a used one again revokes the whole session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "unauthorized", body = ErrorBody)))]
pub async fn refresh(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: RefreshRequest = json_body(&req)?;
    if body.refresh_token.trim().is_empty() {
        return Err(ApiError::invalid("refresh_token", "is required"));
    }
    let table = &deps.api.table;
    let hash = tokens::hash_refresh_token(&body.refresh_token);
    let now = Utc::now();
    let Some(token) = sessions::token(table, &hash).await? else {
        return Err(revoked_session());
    };
    if token.status == RefreshTokenStatus::Rotated {
        tracing::warn!(user_id = %token.user_id, "a used refresh token was presented again; revoking its session");
        sessions::revoke(table, token.user_id, token.family_id, no_tokens_before(now)).await?;
        return Err(revoked_session());
    }
    let family = sessions::family(table, token.family_id).await?;
    // A session ends when its family expires, however often it was refreshed.
    let alive = |f: &TokenFamilyRecord| !f.revoked && f.expires_at > now.timestamp();
    let Some(family) = family.filter(|f| alive(f) && token.expires_at > now.timestamp()) else {
        return Err(revoked_session());
    };
    let user = users::get(table, token.user_id).await?.ok_or_else(revoked_session)?;
    // A password change since the session began ended it (unless the change was made in it).
    if family.credentials_version != user.credentials_version {
        return Err(revoked_session());
    }
    let version = user.credentials_version;
    let (response, next) = issue(deps, user.user, token.family_id, version)?;
    let tx: Tx = sessions::rotate(table, &token, &next, version)?;
    match table.commit(tx).await {
        Ok(()) => Ok(json(StatusCode::OK, &response)),
        // Used by a concurrent refresh, or the session was revoked meanwhile.
        Err(StoreError::Conflict { .. }) => Err(revoked_session()),
        Err(e) => Err(e.into()),
    }
}

/// Sign out: revoke the session a refresh token belongs to. Always answers 204.
#[utoipa::path(post, path = "/auth/revoke", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "The session is revoked (or never existed)")))]
pub async fn revoke(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: RefreshRequest = json_body(&req)?;
    if body.refresh_token.trim().is_empty() {
        return Err(ApiError::invalid("refresh_token", "is required"));
    }
    let table = &deps.api.table;
    let hash = tokens::hash_refresh_token(&body.refresh_token);
    if let Some(token) = sessions::token(table, &hash).await? {
        sessions::revoke(table, token.user_id, token.family_id, no_tokens_before(Utc::now())).await?;
    }
    Ok(no_content())
}
