//! Register, sign in, refresh and revoke.

use chrono::Utc;
use lambda_http::http::StatusCode;
use stockyard_domain::ids::{TokenFamilyId, UserId};
use stockyard_domain::password;
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::values::{Email, bounded_text, check_password};
use stockyard_http::auth::TokenSubject;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{commit, idempotent};
use stockyard_http::request::json_body;
use stockyard_http::{ApiError, Body, Request, Response, json, no_content};
use stockyard_store::identity::{
    RefreshTokenRecord, RefreshTokenStatus, TokenFamilyRecord, UserEmailRecord, UserRecord,
};
use stockyard_store::table::{Change, Expr};
use stockyard_store::{StoreError, Table, keys, sign_in};

use crate::dto::{LoginRequest, RefreshRequest, RegisterRequest, TokenResponse, UserView};
use crate::{AuthDeps, tokens};

/// The two writes that create an account: the email claim (index 0) and the user.
fn account_writes(
    table: &Table,
    user: &UserRecord,
) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
    Ok(vec![
        table.tx_put(
            &keys::user_email(&user.email),
            None,
            &UserEmailRecord { user_id: user.id },
            Some(Expr::not_exists()),
        )?,
        table.tx_put(&keys::user(user.id), Some(&keys::user_listing(user.id)), user, Some(Expr::not_exists()))?,
    ])
}

fn email_taken() -> ApiError {
    ApiError::conflict_on("email_taken", "email", "an account with this email already exists")
}

/// Create a customer account.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = UserView), (status = 409, description = "email_taken", body = ErrorBody),
              (status = 422, description = "invalid_field", body = ErrorBody)))]
pub async fn register(deps: &AuthDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: RegisterRequest = json_body(&req)?;
    let email = Email::parse("email", &body.email)?;
    let name = bounded_text("name", &body.name, 1, 100)?;
    check_password("password", &body.password, Some(&email))?;
    idempotent(&req, &format!("register:{email}"), &deps.api.table, async |key| {
        if deps.admin.as_ref().is_some_and(|a| a.email == email) {
            return Err(email_taken());
        }
        let now = Utc::now();
        let user = UserRecord {
            id: UserId::generate(),
            email,
            name,
            phone: None,
            password_hash: password::hash(&body.password).map_err(ApiError::internal)?,
            roles: vec![PlatformRole::Customer],
            vendor_id: None,
            vendor_role: None,
            created_at: now,
            updated_at: now,
        };
        let writes = account_writes(&deps.api.table, &user)?;
        commit(&deps.api.table, writes, key, StatusCode::CREATED, &UserView::from(user), |_| email_taken()).await
    })
    .await
}

/// Creates the administrator from configuration the first time it signs in.
async fn bootstrap_admin(deps: &AuthDeps, email: &Email, password: &str) -> Result<Option<UserRecord>, ApiError> {
    let Some(admin) = deps.admin.as_ref().filter(|a| &a.email == email) else { return Ok(None) };
    if !password::verify(password, &admin.password_hash) {
        return Ok(None);
    }
    let now = Utc::now();
    let user = UserRecord {
        id: UserId::generate(),
        email: email.clone(),
        name: "Administrator".into(),
        phone: None,
        password_hash: admin.password_hash.clone(),
        roles: vec![PlatformRole::Customer, PlatformRole::Admin],
        vendor_id: None,
        vendor_role: None,
        created_at: now,
        updated_at: now,
    };
    match deps.api.table.transact(account_writes(&deps.api.table, &user)?).await {
        Ok(()) => {
            tracing::info!(user_id = %user.id, "administrator account created from configuration");
            Ok(Some(user))
        }
        // Another sign-in created it at the same moment: use that one.
        Err(StoreError::TransactionConflict { .. }) => find_by_email(&deps.api.table, email).await,
        Err(e) => Err(e.into()),
    }
}

async fn find_by_email(table: &Table, email: &Email) -> Result<Option<UserRecord>, ApiError> {
    let Some(pointer) = table.get::<UserEmailRecord>(&keys::user_email(email)).await? else { return Ok(None) };
    Ok(table.get::<UserRecord>(&keys::user(pointer.user_id)).await?)
}

/// Issues an access token and a new refresh token in `family`.
async fn issue(
    deps: &AuthDeps,
    user: UserRecord,
    family: TokenFamilyId,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<(TokenResponse, Vec<aws_sdk_dynamodb::types::TransactWriteItem>), ApiError> {
    let issuer = deps
        .issuer
        .as_ref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("JWT_SIGNING_KEY is not configured for this function")))?;
    let now = Utc::now();
    let access_token = issuer.issue(
        &TokenSubject {
            user_id: user.id,
            email: &user.email,
            roles: &user.roles,
            vendor_id: user.vendor_id,
            vendor_role: user.vendor_role,
        },
        now,
    )?;
    let (refresh_token, hash) = tokens::new_refresh_token().map_err(ApiError::internal)?;
    let expires_at = (now + tokens::REFRESH_TTL).timestamp();
    let record = RefreshTokenRecord {
        user_id: user.id,
        family_id: family,
        status: RefreshTokenStatus::Active,
        created_at: now,
        expires_at,
    };
    let mut writes = extra;
    writes.push(deps.api.table.tx_put(&keys::refresh_token(&hash), None, &record, Some(Expr::not_exists()))?);
    let response = TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: issuer.ttl.num_seconds(),
        refresh_token,
        refresh_expires_in: tokens::REFRESH_TTL.num_seconds(),
        user: user.into(),
    };
    Ok((response, writes))
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
    let (failures, found) = tokio::try_join!(
        async { Ok::<_, ApiError>(sign_in::find(table, &email).await?) },
        find_by_email(table, &email)
    )?;
    let now = Utc::now();
    if let Some(until) = failures.as_ref().and_then(|f| f.locked_until(now, MAX_FAILED_SIGN_INS, FAILURE_WINDOW)) {
        return Err(ApiError::TooManyRequests {
            code: "too_many_attempts",
            message: "too many failed sign-ins for this email; try again later".into(),
            retry_after: (until - now).num_seconds().max(1) as u64,
        });
    }
    let user = match found {
        Some(user) if password::verify(&body.password, &user.password_hash) => Some(user),
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
    let family = TokenFamilyId::generate();
    let family_record = TokenFamilyRecord {
        user_id: user.id,
        revoked: false,
        created_at: now,
        expires_at: (now + tokens::REFRESH_TTL).timestamp(),
    };
    let family_write =
        deps.api.table.tx_put(&keys::token_family(family), None, &family_record, Some(Expr::not_exists()))?;
    let (response, writes) = issue(deps, user, family, vec![family_write]).await?;
    deps.api.table.transact(writes).await?;
    Ok(json(StatusCode::OK, &response))
}

fn revoked_session() -> ApiError {
    ApiError::Unauthorized("refresh token is invalid, expired or revoked; sign in again".into())
}

async fn revoke_family(table: &Table, family: TokenFamilyId) -> Result<(), ApiError> {
    let change =
        Change::new(Expr::new("SET revoked = :t").value(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true)))
            .when(Expr::exists());
    match table.update::<TokenFamilyRecord>(&keys::token_family(family), change).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
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
    let Some(token) = table.get::<RefreshTokenRecord>(&keys::refresh_token(&hash)).await? else {
        return Err(revoked_session());
    };
    if token.status == RefreshTokenStatus::Rotated {
        tracing::warn!(user_id = %token.user_id, "a used refresh token was presented again; revoking its session");
        revoke_family(table, token.family_id).await?;
        return Err(revoked_session());
    }
    let family = table.get::<TokenFamilyRecord>(&keys::token_family(token.family_id)).await?;
    if token.expires_at <= now.timestamp() || family.is_none_or(|f| f.revoked) {
        return Err(revoked_session());
    }
    let user = super::load_user(table, token.user_id).await.map_err(|_| revoked_session())?;
    let rotate = table.tx_update(
        &keys::refresh_token(&hash),
        Change::new(Expr::new("SET #status = :rotated").name("#status", "status").str(":rotated", "rotated"))
            .when(Expr::new("#status = :active").name("#status", "status").str(":active", "active")),
    )?;
    let family_alive = table.tx_check(
        &keys::token_family(token.family_id),
        Expr::new("revoked = :f").value(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false)),
    )?;
    let (response, writes) = issue(deps, user, token.family_id, vec![rotate, family_alive]).await?;
    match table.transact(writes).await {
        Ok(()) => Ok(json(StatusCode::OK, &response)),
        // Used by a concurrent refresh, or the session was revoked meanwhile.
        Err(StoreError::TransactionConflict { .. }) => Err(revoked_session()),
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
    if let Some(token) = table.get::<RefreshTokenRecord>(&keys::refresh_token(&hash)).await? {
        revoke_family(table, token.family_id).await?;
    }
    Ok(no_content())
}
