//! A vendor's API keys, for what cannot sign in as a person: point-of-sale terminals, scanners and
//! external marketplaces. The owner issues a key for the whole vendor, one channel or one
//! location with a set of permissions, sees its secret once, lists the keys and revokes them; a
//! revoked key is refused on its next request (every request reads the key).

use chrono::Utc;
use serde::{Deserialize, Serialize};
use stockyard_domain::api_key::{self, ApiKey, ApiKeyScope, ApiKeyStatus, KeyPermission};
use stockyard_domain::ids::{ApiKeyId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::Name;
use stockyard_http::api_keys::ApiKeyToken;
use stockyard_http::error::ErrorBody;
use stockyard_http::openapi::PageParams;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response, created};
use stockyard_store::api_keys::{self, RevokeRefusal};
use stockyard_store::{channels, locations};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// What the key is for, such as "Soho till 2" or "Marketplace sync".
    #[schema(value_type = Name, example = "Soho till 2")]
    pub name: String,
    /// The whole vendor, one channel (sales and returns) or one location (scans).
    pub scope: ApiKeyScope,
    /// What the key may do (at least one; each usable within the scope).
    #[schema(min_items = 1, max_items = 6)]
    pub permissions: Vec<KeyPermission>,
}

/// A key just issued: its record, and the key itself, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedApiKey {
    pub api_key: ApiKey,
    /// The key to send as `Authorization: Bearer <secret>`. Stockyard keeps only a keyed hash of
    /// it: it cannot be shown again (revoke the key and issue another if it is lost).
    #[schema(example = "syk_01JD2Z8Q4Y6W3V5T7R9P1N3M5K_3q2-7wEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEXw7Q")]
    pub secret: String,
}

/// Issue an API key (owner only) for the whole vendor, one sales channel or one location, with a
/// set of permissions. The answer is the only time the key is shown. Not replayed for an
/// `Idempotency-Key` (that would keep the key in the table): a client that lost the answer revokes
/// the key it did not receive (the list shows it) and asks again.
#[utoipa::path(post, path = "/vendors/{vendorId}/api-keys", tag = "staff", security(("bearer" = ["vendor_owner"])),
    request_body = CreateApiKeyRequest,
    params(("vendorId" = VendorId, Path)),
    responses((status = 201, body = IssuedApiKey), (status = 403, body = ErrorBody),
              (status = 422, description = "invalid_field, unknown_channel or unknown_location", body = ErrorBody)))]
pub async fn create_api_key(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateApiKeyRequest = cx.body()?;
    let name = Name::parse("name", &body.name)?;
    let permissions = api_key::check_grant(&body.scope, &body.permissions)?;
    let hasher = deps
        .verifier
        .api_keys()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("create-api-key has no API_KEY_HASH_KEY")))?;
    let vendor = cx.vendor(VendorPermission::Manage).await?.id();
    let owner = cx.person()?.user_id;
    let table = cx.store().await?;
    match body.scope {
        ApiKeyScope::Vendor {} => {}
        ApiKeyScope::Channel { channel_id } => {
            channels::get(table, vendor, channel_id).await?.ok_or_else(|| {
                ApiError::unprocessable(
                    "unknown_channel",
                    Some("scope.channel_id"),
                    "this vendor has no channel with this id",
                )
            })?;
        }
        ApiKeyScope::Location { location_id } => {
            locations::get(table, vendor, location_id).await?.ok_or_else(|| {
                ApiError::unprocessable(
                    "unknown_location",
                    Some("scope.location_id"),
                    "this vendor has no location with this id",
                )
            })?;
        }
    }
    let token = ApiKeyToken::generate().map_err(ApiError::internal)?;
    let key = ApiKey {
        id: token.id,
        vendor_id: vendor,
        name,
        scope: body.scope,
        permissions,
        hint: token.hint(),
        status: ApiKeyStatus::Active,
        created_at: Utc::now(),
        created_by: owner,
        revoked_at: None,
        revoked_by: None,
    };
    api_keys::create(table, &key, &hasher.digest(&token)).await?;
    tracing::info!(api_key = %key.id, vendor = %vendor, "API key issued");
    let mut response = created(&IssuedApiKey { api_key: key, secret: token.reveal() });
    response.headers_mut().insert("cache-control", "no-store".parse().expect("a static header value"));
    Ok(response)
}

/// The vendor's API keys, active and revoked, newest first (owner only); never their secrets.
#[utoipa::path(get, path = "/vendors/{vendorId}/api-keys", tag = "staff", security(("bearer" = ["vendor_owner"])),
    params(("vendorId" = VendorId, Path), PageParams),
    responses((status = 200, body = ListResponse<ApiKey>), (status = 403, body = ErrorBody)))]
pub async fn list_api_keys(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let vendor = cx.vendor(VendorPermission::ReadApiKeys).await?.id();
    Ok(ok(&ListResponse::from(api_keys::list(cx.store().await?, vendor, &page).await?)))
}

/// Revoke an API key (owner only): it is refused from its next request on. Revoking it again
/// answers 409 `api_key_revoked` with nothing changed.
#[utoipa::path(post, path = "/vendors/{vendorId}/api-keys/{apiKeyId}/revoke", tag = "staff", security(("bearer" = ["vendor_owner"])),
    params(("vendorId" = VendorId, Path), ("apiKeyId" = ApiKeyId, Path)),
    responses((status = 200, body = ApiKey), (status = 403, body = ErrorBody),
              (status = 409, description = "api_key_revoked", body = ErrorBody)))]
pub async fn revoke_api_key(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("apiKeyId", ApiKeyId::parse)?;
    let vendor = cx.vendor(VendorPermission::Manage).await?.id();
    let owner = cx.person()?.user_id;
    match api_keys::revoke(cx.store().await?, vendor, id, owner, Utc::now()).await? {
        Ok(key) => {
            tracing::info!(api_key = %id, vendor = %vendor, "API key revoked");
            Ok(ok(&key))
        }
        Err(RevokeRefusal::NotFound) => Err(ApiError::NotFound("API key")),
        Err(RevokeRefusal::AlreadyRevoked(_)) => {
            Err(ApiError::conflict("api_key_revoked", "this API key was revoked already"))
        }
    }
}
