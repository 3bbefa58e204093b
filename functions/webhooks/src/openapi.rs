//! The webhooks API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::{deliveries, endpoints};

#[derive(OpenApi)]
#[openapi(
    paths(
        endpoints::create_webhook_endpoint,
        endpoints::list_webhook_endpoints,
        endpoints::get_webhook_endpoint,
        endpoints::update_webhook_endpoint,
        endpoints::delete_webhook_endpoint,
        deliveries::list_webhook_deliveries,
    ),
    components(schemas(stockyard_domain::webhook::WebhookEvent, stockyard_domain::webhook::WebhookEventType))
)]
pub struct WebhooksApi;
