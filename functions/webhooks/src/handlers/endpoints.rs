//! A vendor's webhook endpoints: the owner registers, changes and removes them; inventory
//! managers read them. The signing secret is shown when the endpoint is made and when it is
//! rotated, never again.

use chrono::Utc;
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{VendorId, WebhookEndpointId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values;
use stockyard_domain::webhook::{self, MAX_ENDPOINTS, WebhookEndpoint, WebhookEventType};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::commit;
use stockyard_http::openapi::{IdempotencyParams, PageParams};
use stockyard_http::request::present;
use stockyard_http::response::{no_content, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::webhooks::{self, WebhookEndpointRecord};
use stockyard_store::{StoreError, Table};
use utoipa::ToSchema;

use crate::config::allow_loopback;

/// The longest description.
const MAX_DESCRIPTION: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// An https URL of a public host (no credentials, no fragment; at most 2048 characters).
    #[schema(example = "https://shop.example/hooks/stockyard", max_length = 2048)]
    pub url: String,
    /// The event types to send: at least one, each once.
    #[schema(min_items = 1, max_items = 3)]
    pub events: Vec<WebhookEventType>,
    /// What the endpoint is for (up to 500 characters).
    #[serde(default)]
    #[schema(max_length = 500, example = "Storefront stock sync")]
    pub description: Option<String>,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret: answered when it is made and when its secret is rotated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The HMAC-SHA256 key of the `Stockyard-Signature` header (`whsec_` and 64 hex digits).
    /// Shown only now: store it.
    #[schema(example = "whsec_6f1d0c0e3a5b4f7e9d2c1b0a98765432f0e1d2c3b4a5968778695a4b3c2d1e0f")]
    pub secret: String,
}

/// An endpoint as a change answers it: with the new `secret` when it was rotated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpdatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// The new signing secret, when the change rotated it (shown only now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(webhook::secret_from(bytes))
}

fn events_of(field: &str, events: &[WebhookEventType]) -> Result<Vec<WebhookEventType>, ApiError> {
    Ok(WebhookEventType::check_list(field, events)?)
}

fn description_of(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(raw.map(|d| values::optional_text("description", d, MAX_DESCRIPTION)).transpose()?.flatten())
}

fn conflict(step: &str) -> ApiError {
    match step {
        webhooks::TOO_MANY => ApiError::conflict(
            "too_many_webhook_endpoints",
            format!("a vendor has at most {MAX_ENDPOINTS} webhook endpoints; delete one first"),
        ),
        _ => ApiError::conflict("changed_meanwhile", "the endpoint changed meanwhile; read it again"),
    }
}

/// Register an endpoint (the vendor's owner). The answer carries the signing secret, shown only
/// now. At most 10 endpoints per vendor (409 `too_many_webhook_endpoints`).
#[utoipa::path(post, path = "/vendors/{vendorId}/webhooks", tag = "webhooks", security(("bearer" = ["vendor_owner"])),
    request_body = CreateWebhookEndpointRequest,
    params(("vendorId" = VendorId, Path), IdempotencyParams),
    responses((status = 201, body = WebhookEndpointWithSecret), (status = 403, body = ErrorBody),
              (status = 409, description = "too_many_webhook_endpoints", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_webhook_endpoint(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateWebhookEndpointRequest = cx.body()?;
    let url = webhook::endpoint_url("url", &body.url, allow_loopback())?;
    let events = events_of("events", &body.events)?;
    let description = description_of(body.description.as_deref())?;
    let vendor = cx.vendor(VendorPermission::Manage).await?.id();
    let table = cx.store().await?;
    cx.idempotent(async |key| {
        let now = Utc::now();
        let endpoint = WebhookEndpoint {
            id: WebhookEndpointId::generate(),
            vendor_id: vendor,
            url,
            description,
            events,
            enabled: body.enabled.unwrap_or(true),
            version: 1,
            secret_created_at: now,
            created_by: cx.person()?.user_id,
            created_at: now,
            updated_at: now,
        };
        let record = WebhookEndpointRecord { endpoint: endpoint.clone(), secret: new_secret()? };
        let tx = webhooks::create(table, &record)?;
        let response = WebhookEndpointWithSecret { endpoint, secret: record.secret.clone() };
        commit(table, tx, key, StatusCode::CREATED, &response, conflict).await
    })
    .await
}

/// The vendor's endpoints, oldest first (`?order=newest` for the latest first), without secrets.
#[utoipa::path(get, path = "/vendors/{vendorId}/webhooks", tag = "webhooks", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), PageParams),
    responses((status = 200, body = ListResponse<WebhookEndpoint>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_webhook_endpoints(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(false)?;
    let vendor = cx.vendor(VendorPermission::WebhooksRead).await?.id();
    Ok(ok(&ListResponse::from(webhooks::list(cx.store().await?, vendor, &page).await?)))
}

/// The endpoint of the path, if it is the vendor's.
pub(crate) async fn endpoint_of(
    table: &Table,
    vendor: VendorId,
    id: WebhookEndpointId,
) -> Result<WebhookEndpointRecord, ApiError> {
    webhooks::get(table, vendor, id).await?.ok_or(ApiError::NotFound("webhook endpoint"))
}

/// One endpoint (without its secret).
#[utoipa::path(get, path = "/vendors/{vendorId}/webhooks/{webhookId}", tag = "webhooks", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), ("webhookId" = WebhookEndpointId, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 403, body = ErrorBody)))]
pub async fn get_webhook_endpoint(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("webhookId", WebhookEndpointId::parse)?;
    let vendor = cx.vendor(VendorPermission::WebhooksRead).await?.id();
    Ok(ok(&endpoint_of(cx.store().await?, vendor, id).await?.endpoint))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpointRequest {
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// Replaces the subscribed event types.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 3)]
    pub events: Option<Vec<WebhookEventType>>,
    /// null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    /// false stops deliveries at once (events meanwhile are not kept for the endpoint; pending
    /// retries are cancelled); true resumes with the next event.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// true replaces the signing secret at once; the answer carries the new one (shown only then).
    #[serde(default)]
    pub rotate_secret: Option<bool>,
}

/// Change an endpoint (the vendor's owner): fields left out stay as they are. With
/// `rotate_secret: true` the answer also carries the new `secret`, and deliveries from then on
/// are signed with it.
#[utoipa::path(patch, path = "/vendors/{vendorId}/webhooks/{webhookId}", tag = "webhooks", security(("bearer" = ["vendor_owner"])),
    request_body = UpdateWebhookEndpointRequest,
    params(("vendorId" = VendorId, Path), ("webhookId" = WebhookEndpointId, Path)),
    responses((status = 200, body = UpdatedWebhookEndpoint),
              (status = 403, body = ErrorBody), (status = 409, description = "changed_meanwhile", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_webhook_endpoint(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("webhookId", WebhookEndpointId::parse)?;
    let body: UpdateWebhookEndpointRequest = cx.body()?;
    let url = body.url.as_deref().map(|u| webhook::endpoint_url("url", u, allow_loopback())).transpose()?;
    let events = body.events.as_deref().map(|e| events_of("events", e)).transpose()?;
    let description = match body.description {
        Some(Some(d)) => Some(description_of(Some(&d))?),
        Some(None) => Some(None),
        None => None,
    };
    let rotate = body.rotate_secret.unwrap_or(false);
    let vendor = cx.vendor(VendorPermission::Manage).await?.id();
    let table = cx.store().await?;
    let before = endpoint_of(table, vendor, id).await?;
    let mut after = before.clone();
    let e = &mut after.endpoint;
    e.url = url.unwrap_or(e.url.clone());
    e.events = events.unwrap_or(e.events.clone());
    e.description = description.unwrap_or(e.description.clone());
    e.enabled = body.enabled.unwrap_or(e.enabled);
    let now = Utc::now();
    if rotate {
        after.secret = new_secret()?;
        after.endpoint.secret_created_at = now;
    }
    if after == before {
        return Ok(ok(&UpdatedWebhookEndpoint { endpoint: before.endpoint, secret: None }));
    }
    after.endpoint.version += 1;
    after.endpoint.updated_at = now;
    match table.commit(webhooks::replace(table, before.endpoint.version, &after)?).await {
        Ok(()) => Ok(ok(&UpdatedWebhookEndpoint { endpoint: after.endpoint, secret: rotate.then_some(after.secret) })),
        Err(StoreError::Conflict { step }) => Err(conflict(&step)),
        Err(e) => Err(e.into()),
    }
}

/// Remove an endpoint (the vendor's owner): nothing more is sent to it; pending retries are
/// cancelled. Its delivery history is kept until it expires (30 days).
#[utoipa::path(delete, path = "/vendors/{vendorId}/webhooks/{webhookId}", tag = "webhooks", security(("bearer" = ["vendor_owner"])),
    params(("vendorId" = VendorId, Path), ("webhookId" = WebhookEndpointId, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody)))]
pub async fn delete_webhook_endpoint(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("webhookId", WebhookEndpointId::parse)?;
    let vendor = cx.vendor(VendorPermission::Manage).await?.id();
    let table = cx.store().await?;
    let endpoint = endpoint_of(table, vendor, id).await?.endpoint;
    match table.commit(webhooks::delete(table, &endpoint)?).await {
        Ok(()) => Ok(no_content()),
        Err(StoreError::Conflict { step }) if step == webhooks::ENDPOINT_CHANGED => {
            // Deleted meanwhile (answer as the winner did) or changed (read again).
            match webhooks::get(table, vendor, id).await? {
                None => Ok(no_content()),
                Some(_) => Err(conflict(&step)),
            }
        }
        Err(StoreError::Conflict { step }) => Err(conflict(&step)),
        Err(e) => Err(e.into()),
    }
}
