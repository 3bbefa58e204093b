//! `deliver-webhook`: consumes the webhook deliveries queue (one message per event and endpoint)
//! and POSTs each event to its endpoint, signed (`Stockyard-Signature: t=..,v1=..`, HMAC-SHA256
//! of `"<t>.<body>"` with the endpoint's secret), within a timeout, following no redirects and
//! connecting only to public addresses (whatever the host name resolves to).
//!
//! A 2xx answer delivers it. Anything else (another status, a timeout, a refused connection) is
//! a failed attempt: the delivery record says so and the message is made visible again only after
//! the backoff for its attempt number (the message's receive count), `base × 2^(n-1)` up to a
//! maximum, and reported failed (partial batch response: the other messages of the batch are not
//! redelivered). The last allowed attempt's failure sends the message to the dead-letter queue and
//! records the delivery `failed`. A disabled or deleted endpoint gets nothing: its pending
//! deliveries are `cancelled`. A message for a delivery already delivered is dropped (the queue
//! delivers at least once; so does this function: a receiver deduplicates on `Stockyard-Event-Id`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use futures_util::StreamExt;
use lambda_runtime::LambdaEvent;
use stockyard_domain::webhook::{self, DeliveryStatus};
use stockyard_messaging::Publisher;
use stockyard_store::webhooks::{self, Attempt, WebhookEndpointRecord};
use stockyard_store::{StoreError, Table};
use tracing::Instrument;

use crate::config::DeliveryConfig;
use crate::fanout::DeliveryMessage;

/// What the client says it is.
pub const USER_AGENT: &str = "Stockyard-Webhooks/1.0";

pub struct DeliverDeps {
    pub table: Table,
    /// The deliveries queue itself: a failed attempt's message waits here for its next one.
    pub queue: Publisher,
    pub dead_letters: Publisher,
    pub client: reqwest::Client,
    pub config: DeliveryConfig,
}

impl DeliverDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let config = DeliveryConfig::from_env()?;
        Ok(Self {
            table: Table::from_env(sdk)?,
            queue: Publisher::from_env(sdk, "WEBHOOK_DELIVERIES_QUEUE_URL")?,
            dead_letters: Publisher::from_env(sdk, "WEBHOOK_DELIVERIES_DLQ_URL")?,
            client: client(&config)?,
            config,
        })
    }
}

/// The HTTP client of deliveries: the configured timeout, no redirects, no proxy, public
/// addresses only (loopback too where the stack allows it).
pub fn client(config: &DeliveryConfig) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(USER_AGENT)
        .dns_resolver(Arc::new(PublicResolver { allow_loopback: config.allow_loopback }))
        .build()?)
}

/// Resolves host names and keeps only the addresses a delivery may connect to, so a name that
/// points at a private or metadata address (or is made to later) reaches nothing.
struct PublicResolver {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|a| webhook::is_public(a.ip()) || (allow_loopback && webhook::is_loopback(a.ip())))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What one POST came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: Option<u16>,
    /// Why it failed; none when it was delivered (2xx).
    pub error: Option<String>,
    pub duration: Duration,
}

/// POSTs `body` to the endpoint, signed now.
pub async fn post(
    client: &reqwest::Client,
    endpoint: &WebhookEndpointRecord,
    message: &DeliveryMessage,
    attempt: u32,
    body: Vec<u8>,
    allow_loopback: bool,
) -> Answer {
    let started = Instant::now();
    // The URL was checked when it was registered; the rules may have tightened since.
    if let Err(e) = webhook::endpoint_url("url", &endpoint.endpoint.url, allow_loopback) {
        return Answer {
            status: None,
            error: Some(format!("url_refused: {}", e.message)),
            duration: started.elapsed(),
        };
    }
    let timestamp = Utc::now().timestamp();
    let signature = webhook::signature_header(&endpoint.secret, timestamp, &body);
    let sent = client
        .post(&endpoint.endpoint.url)
        .header("content-type", "application/json")
        .header("stockyard-event-id", message.event.id.to_string())
        .header("stockyard-event-type", message.event.event_type().as_str())
        .header("stockyard-webhook-id", message.endpoint_id.to_string())
        .header("stockyard-delivery-attempt", attempt.to_string())
        .header("stockyard-signature", signature)
        .body(body)
        .send()
        .await;
    let duration = started.elapsed();
    match sent {
        Ok(response) if response.status().is_success() => {
            Answer { status: Some(response.status().as_u16()), error: None, duration }
        }
        Ok(response) => {
            let code = response.status().as_u16();
            Answer { status: Some(code), error: Some(format!("http_{code}")), duration }
        }
        Err(e) if e.is_timeout() => Answer { status: None, error: Some("timeout".into()), duration },
        Err(e) if e.is_connect() => {
            let cause = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_default();
            Answer { status: None, error: Some(format!("connection_failed: {cause}")), duration }
        }
        Err(e) => Answer { status: None, error: Some(format!("request_failed: {e}")), duration },
    }
}

/// The attempt number of a received message: its receive count (1 the first time).
fn attempt_of(record: &SqsMessage) -> u32 {
    record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1).max(1)
}

/// What became of one message: handled (delete it), or to be tried again later.
#[derive(Debug, PartialEq)]
enum Fate {
    Done,
    Retry,
}

async fn deliver_one(deps: &DeliverDeps, record: &SqsMessage) -> anyhow::Result<Fate> {
    let message: DeliveryMessage = serde_json::from_str(record.body.as_deref().unwrap_or_default())?;
    let attempt = attempt_of(record);
    let now = Utc::now();
    let delivery = message.pending(now);
    let endpoint = webhooks::get(&deps.table, message.vendor_id, message.endpoint_id).await?;
    let Some(endpoint) = endpoint.filter(|e| e.endpoint.wants(message.event.event_type())) else {
        webhooks::cancel_delivery(&deps.table, &delivery, now).await?;
        tracing::info!("endpoint deleted, disabled or unsubscribed: delivery cancelled");
        return Ok(Fate::Done);
    };
    let recorded = webhooks::delivery(&deps.table, message.vendor_id, message.endpoint_id, message.event.id).await?;
    if recorded.as_ref().is_some_and(|d| matches!(d.status, DeliveryStatus::Delivered | DeliveryStatus::Cancelled)) {
        tracing::info!("delivered or cancelled already: message dropped");
        return Ok(Fate::Done);
    }
    let body = serde_json::to_vec(&message.event)?;
    let answer = post(&deps.client, &endpoint, &message, attempt, body, deps.config.allow_loopback).await;
    let at = Utc::now();
    let duration_ms = Some(u64::try_from(answer.duration.as_millis()).unwrap_or(u64::MAX));
    let Some(error) = answer.error.clone() else {
        let done = Attempt {
            status: DeliveryStatus::Delivered,
            response_status: answer.status,
            error: None,
            duration_ms,
            at,
            next_attempt_at: None,
        };
        webhooks::record_attempt(&deps.table, &delivery, &done).await?;
        tracing::info!(attempt, status = answer.status, ms = duration_ms, "webhook delivered");
        return Ok(Fate::Done);
    };
    if attempt >= deps.config.max_attempts {
        let raw = record.body.clone().unwrap_or_default();
        deps.dead_letters.publish_raw(&raw).await?;
        let failed = Attempt {
            status: DeliveryStatus::Failed,
            response_status: answer.status,
            error: Some(error.clone()),
            duration_ms,
            at,
            next_attempt_at: None,
        };
        webhooks::record_attempt(&deps.table, &delivery, &failed).await?;
        tracing::warn!(attempt, error = %error, "webhook delivery failed for the last time: dead-lettered");
        return Ok(Fate::Done);
    }
    let wait = webhook::backoff_seconds(attempt, deps.config.backoff_base_seconds, deps.config.backoff_max_seconds);
    let retry = Attempt {
        status: DeliveryStatus::Pending,
        response_status: answer.status,
        error: Some(error.clone()),
        duration_ms,
        at,
        next_attempt_at: Some(at + chrono::Duration::seconds(i64::from(wait))),
    };
    webhooks::record_attempt(&deps.table, &delivery, &retry).await?;
    if let Some(handle) = record.receipt_handle.as_deref() {
        deps.queue.retry_after(handle, wait).await?;
    }
    tracing::warn!(attempt, error = %error, retry_in_s = wait, "webhook delivery failed; retried later");
    Ok(Fate::Retry)
}

/// Delivers every message of the batch at once (a batch holds at most 10) and reports those to
/// try again; a message that cannot be handled at all (unreadable, the store down) is reported
/// too and comes back after the queue's visibility timeout.
pub async fn handle(
    deps: &DeliverDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let failures: Vec<BatchItemFailure> = futures_util::stream::iter(event.payload.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let span = tracing::info_span!("delivery", message_id = %id);
            let fate = deliver_one(deps, &record).instrument(span).await;
            let retry = match fate {
                Ok(Fate::Done) => false,
                Ok(Fate::Retry) => true,
                Err(e) => {
                    let unreadable = e.downcast_ref::<serde_json::Error>().is_some();
                    let store = e.downcast_ref::<StoreError>().is_some();
                    tracing::error!(message_id = %id, unreadable, store, error = format!("{e:#}"), "delivery not handled; retried");
                    true
                }
            };
            retry.then(|| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
        })
        .buffer_unordered(10)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    Ok(response)
}
