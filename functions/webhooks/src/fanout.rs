//! `queue-webhook-deliveries`: consumes the webhook events queue (events the table's stream
//! yields: stock availability changed, low stock, purchase order lines received) and, for each
//! event, records one pending delivery per enabled endpoint of the vendor subscribed to its type
//! and queues one delivery message per endpoint. A vendor without endpoints costs one Query.
//!
//! Idempotent: the delivery record's key is (endpoint, event id), written once; an event delivered
//! twice queues its messages again, and the sender skips what was delivered already.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{VendorId, WebhookEndpointId};
use stockyard_domain::webhook::{DeliveryStatus, WebhookDelivery, WebhookEvent};
use stockyard_messaging::Publisher;
use stockyard_store::{Table, webhooks};

/// One event for one endpoint, as it travels on the webhook deliveries queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub vendor_id: VendorId,
    pub endpoint_id: WebhookEndpointId,
    pub event: WebhookEvent,
}

impl DeliveryMessage {
    /// The delivery record this message is about, as first recorded.
    pub fn pending(&self, at: chrono::DateTime<Utc>) -> WebhookDelivery {
        WebhookDelivery {
            endpoint_id: self.endpoint_id,
            vendor_id: self.vendor_id,
            event_id: self.event.id,
            event_type: self.event.event_type(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            response_status: None,
            error: None,
            duration_ms: None,
            last_attempt_at: None,
            next_attempt_at: None,
            delivered_at: None,
            created_at: at,
        }
    }
}

pub struct FanOutDeps {
    pub table: Table,
    pub deliveries: Publisher,
}

impl FanOutDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, deliveries: Publisher::from_env(sdk, "WEBHOOK_DELIVERIES_QUEUE_URL")? })
    }
}

/// Records and queues the deliveries of one event.
pub async fn fan_out(deps: &FanOutDeps, event: WebhookEvent) -> anyhow::Result<()> {
    let endpoints = webhooks::subscribed(&deps.table, event.vendor_id, event.event_type()).await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let mut bodies = Vec::with_capacity(endpoints.len());
    for record in &endpoints {
        let message =
            DeliveryMessage { vendor_id: event.vendor_id, endpoint_id: record.endpoint.id, event: event.clone() };
        webhooks::open_delivery(&deps.table, &message.pending(now)).await?;
        bodies.push(serde_json::to_string(&message)?);
    }
    deps.deliveries.publish_all(&bodies).await?;
    tracing::info!(event_id = %event.id, event_type = %event.event_type(), endpoints = bodies.len(), "webhook deliveries queued");
    Ok(())
}

pub async fn handle(
    deps: &FanOutDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(stockyard_platform::runner::sqs_batch(event.payload, 4, |e: WebhookEvent| fan_out(deps, e)).await)
}
