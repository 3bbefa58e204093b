//! An endpoint's recent deliveries, for debugging an integration: each event's status, attempts,
//! the last answer's HTTP status and error.

use stockyard_domain::ids::{VendorId, WebhookEndpointId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::webhook::{DeliveryStatus, WebhookDelivery};
use stockyard_http::error::ErrorBody;
use stockyard_http::openapi::PageParams;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::webhooks;

use super::endpoints::endpoint_of;

/// The endpoint's deliveries, newest event first (`?order=oldest` for the other way), kept 30
/// days; `?status=pending|delivered|failed|cancelled`.
#[utoipa::path(get, path = "/vendors/{vendorId}/webhooks/{webhookId}/deliveries", tag = "webhooks", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), ("webhookId" = WebhookEndpointId, Path), ("status" = Option<DeliveryStatus>, Query), PageParams),
    responses((status = 200, body = ListResponse<WebhookDelivery>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_webhook_deliveries(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("webhookId", WebhookEndpointId::parse)?;
    let page = cx.page(true)?;
    let status = cx.query_as("status", DeliveryStatus::parse)?;
    let vendor = cx.vendor(VendorPermission::WebhooksRead).await?.id();
    let table = cx.store().await?;
    endpoint_of(table, vendor, id).await?;
    Ok(ok(&ListResponse::from(webhooks::list_deliveries(table, vendor, id, status, &page).await?)))
}
