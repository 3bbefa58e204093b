//! Outgoing webhooks: a vendor's endpoints (at most `MAX_ENDPOINTS`, counted on a guard item in
//! the transaction that adds or removes one, so two creates at once cannot pass the limit), and
//! one delivery record per event and endpoint, written once (its key is the event's id, which
//! derives from the change) and updated by every attempt. Deliveries expire after
//! [`DELIVERY_RETENTION_DAYS`] (TTL).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{VendorId, WebhookEndpointId, WebhookEventId};
use stockyard_domain::webhook::{DeliveryStatus, MAX_ENDPOINTS, WebhookDelivery, WebhookEndpoint, WebhookEventType};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

/// How long a delivery record is kept.
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

/// An endpoint with its signing secret (which only the store and the sender see).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEndpointRecord {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

impl Entity for WebhookEndpointRecord {
    type Id = (VendorId, WebhookEndpointId);
    const NAME: &'static str = "webhook endpoint";
    fn key((vendor, id): &Self::Id) -> keys::Key {
        keys::webhook_endpoint(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::webhook_endpoint(self.endpoint.vendor_id, self.endpoint.id)
    }
}

/// How many endpoints a vendor has: the guard of [`MAX_ENDPOINTS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookCountRecord {
    pub vendor_id: VendorId,
    pub count: u32,
}

impl Entity for WebhookCountRecord {
    type Id = VendorId;
    const NAME: &'static str = "webhook endpoint count";
    fn key(vendor: &VendorId) -> keys::Key {
        keys::webhook_count(*vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::webhook_count(self.vendor_id)
    }
}

/// A delivery with the time it expires (TTL, epoch seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDeliveryRecord {
    #[serde(flatten)]
    pub delivery: WebhookDelivery,
    pub expires_at: i64,
}

impl Entity for WebhookDeliveryRecord {
    type Id = (VendorId, WebhookEndpointId, WebhookEventId);
    const NAME: &'static str = "webhook delivery";
    fn key((vendor, endpoint, event): &Self::Id) -> keys::Key {
        keys::webhook_delivery(*vendor, *endpoint, *event)
    }
    fn key_of(&self) -> keys::Key {
        keys::webhook_delivery(self.delivery.vendor_id, self.delivery.endpoint_id, self.delivery.event_id)
    }
}

/// The step of [`create`] that fails when the vendor has [`MAX_ENDPOINTS`] endpoints already.
pub const TOO_MANY: &str = "webhook_count";
/// The step that fails when the endpoint changed (or went) since it was read.
pub const ENDPOINT_CHANGED: &str = "webhook_endpoint";

/// Adds an endpoint, counted against the vendor's limit (step [`TOO_MANY`]).
pub fn create(table: &Table, record: &WebhookEndpointRecord) -> Result<Tx, StoreError> {
    let vendor = record.endpoint.vendor_id;
    let mut tx = table.tx();
    let count = Change::new(
        Expr::new("SET vendor_id = :vendor, #entity = :entity ADD #count :one")
            .name("#count", "count")
            .name("#entity", keys::ENTITY)
            .val(":vendor", &vendor)
            .val(":entity", WebhookCountRecord::NAME)
            .val(":one", &1u32),
    )
    .when(
        Expr::new("attribute_not_exists(#count) OR #count < :max").name("#count", "count").val(":max", &MAX_ENDPOINTS),
    );
    tx.update::<WebhookCountRecord>(TOO_MANY, &vendor, count)?;
    tx.put("webhook_endpoint_new", record, Some(Expr::not_exists()))?;
    Ok(tx)
}

/// Writes `after` over the endpoint as it was at `read_version` (step [`ENDPOINT_CHANGED`]).
pub fn replace(table: &Table, read_version: u64, after: &WebhookEndpointRecord) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.put(ENDPOINT_CHANGED, after, Some(Expr::new("version = :read").val(":read", &read_version)))?;
    Ok(tx)
}

/// Removes the endpoint as it was at `read_version` (step [`ENDPOINT_CHANGED`]) and gives its
/// place back. Its deliveries stay until they expire.
pub fn delete(table: &Table, endpoint: &WebhookEndpoint) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.delete::<WebhookEndpointRecord>(
        ENDPOINT_CHANGED,
        &(endpoint.vendor_id, endpoint.id),
        Some(Expr::new("version = :read").val(":read", &endpoint.version)),
    )?;
    let count = Change::new(Expr::new("ADD #count :minus").name("#count", "count").val(":minus", &-1i64))
        .when(Expr::new("#count > :zero").name("#count", "count").val(":zero", &0u32));
    tx.update::<WebhookCountRecord>("webhook_count_release", &endpoint.vendor_id, count)?;
    Ok(tx)
}

pub async fn get(
    table: &Table,
    vendor: VendorId,
    id: WebhookEndpointId,
) -> Result<Option<WebhookEndpointRecord>, StoreError> {
    table.get::<WebhookEndpointRecord>(&(vendor, id)).await
}

/// The vendor's endpoints, oldest first unless the page asks for newest first (without secrets).
pub async fn list(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<WebhookEndpoint>, StoreError> {
    let page = table.query(&keys::webhook_endpoints_of(vendor), page).await?;
    Ok(Page {
        items: page.items.into_iter().map(|r| r.endpoint).collect(),
        next_cursor: page.next_cursor,
        partial: page.partial,
    })
}

/// The vendor's enabled endpoints subscribed to `event` (a vendor has at most [`MAX_ENDPOINTS`]).
pub async fn subscribed(
    table: &Table,
    vendor: VendorId,
    event: WebhookEventType,
) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
    let all = table.query_all(&keys::webhook_endpoints_of(vendor)).await?;
    Ok(all.into_iter().filter(|r| r.endpoint.wants(event)).collect())
}

// ---- deliveries -------------------------------------------------------------------------------

/// Records a pending delivery unless it is recorded already; whether this call recorded it.
pub async fn open_delivery(table: &Table, delivery: &WebhookDelivery) -> Result<bool, StoreError> {
    let expires_at = crate::epoch_seconds(delivery.created_at + Duration::days(DELIVERY_RETENTION_DAYS));
    let record = WebhookDeliveryRecord { delivery: delivery.clone(), expires_at };
    match table.put(&record, Some(Expr::not_exists())).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn delivery(
    table: &Table,
    vendor: VendorId,
    endpoint: WebhookEndpointId,
    event: WebhookEventId,
) -> Result<Option<WebhookDelivery>, StoreError> {
    Ok(table.get::<WebhookDeliveryRecord>(&(vendor, endpoint, event)).await?.map(|r| r.delivery))
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub status: DeliveryStatus,
    pub response_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    pub at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Records an attempt on the delivery (created if its record is missing, say expired), unless
/// the delivery has been recorded delivered already (a late duplicate's failure never hides a
/// success). Whether it was recorded.
pub async fn record_attempt(table: &Table, delivery: &WebhookDelivery, attempt: &Attempt) -> Result<bool, StoreError> {
    let mut set = vec![
        "#status = :status",
        "attempts = if_not_exists(attempts, :zero) + :one",
        "last_attempt_at = :at",
        "endpoint_id = :endpoint",
        "vendor_id = :vendor",
        "event_id = :event",
        "event_type = :type",
        "created_at = if_not_exists(created_at, :at)",
        "expires_at = if_not_exists(expires_at, :expires)",
        "#entity = :entity",
    ];
    let mut remove = Vec::new();
    let mut expr = Expr::default()
        .name("#status", "status")
        .name("#entity", keys::ENTITY)
        .val(":status", &attempt.status)
        .val(":zero", &0u32)
        .val(":one", &1u32)
        .val(":at", &attempt.at)
        .val(":endpoint", &delivery.endpoint_id)
        .val(":vendor", &delivery.vendor_id)
        .val(":event", &delivery.event_id)
        .val(":type", &delivery.event_type)
        .val(":expires", &crate::epoch_seconds(attempt.at + Duration::days(DELIVERY_RETENTION_DAYS)))
        .val(":entity", WebhookDeliveryRecord::NAME);
    let mut optional = |name: &'static str, placeholder: &'static str, present: bool| {
        if present {
            set.push(placeholder);
        } else {
            remove.push(name);
        }
    };
    optional("response_status", "response_status = :code", attempt.response_status.is_some());
    optional("#error", "#error = :error", attempt.error.is_some());
    optional("duration_ms", "duration_ms = :duration", attempt.duration_ms.is_some());
    optional("next_attempt_at", "next_attempt_at = :next", attempt.next_attempt_at.is_some());
    let delivered = attempt.status == DeliveryStatus::Delivered;
    optional("delivered_at", "delivered_at = :at", delivered);
    expr = expr.name("#error", "error").set_remove(&set, &remove);
    if let Some(code) = attempt.response_status {
        expr = expr.val(":code", &code);
    }
    if let Some(error) = &attempt.error {
        expr = expr.val(":error", error);
    }
    if let Some(duration) = attempt.duration_ms {
        expr = expr.val(":duration", &duration);
    }
    if let Some(next) = attempt.next_attempt_at {
        expr = expr.val(":next", &next);
    }
    let change = Change::new(expr).when(
        Expr::new("attribute_not_exists(#status) OR #status <> :delivered")
            .name("#status", "status")
            .val(":delivered", &DeliveryStatus::Delivered),
    );
    match table
        .update::<WebhookDeliveryRecord>(&(delivery.vendor_id, delivery.endpoint_id, delivery.event_id), change)
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Marks a delivery that is still pending `cancelled` (its endpoint was disabled or deleted, or
/// no longer subscribes to its event type). Whether it was.
pub async fn cancel_delivery(table: &Table, delivery: &WebhookDelivery, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let change = Change::new(
        Expr::new("SET #status = :cancelled, last_attempt_at = :at REMOVE next_attempt_at")
            .name("#status", "status")
            .val(":cancelled", &DeliveryStatus::Cancelled)
            .val(":at", &at),
    )
    .when(Expr::new("#status = :pending").name("#status", "status").val(":pending", &DeliveryStatus::Pending));
    match table
        .update::<WebhookDeliveryRecord>(&(delivery.vendor_id, delivery.endpoint_id, delivery.event_id), change)
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// An endpoint's deliveries, newest first by default; only those in `status` if given.
pub async fn list_deliveries(
    table: &Table,
    vendor: VendorId,
    endpoint: WebhookEndpointId,
    status: Option<DeliveryStatus>,
    page: &PageRequest,
) -> Result<Page<WebhookDelivery>, StoreError> {
    let filter = status.map(|s| Expr::new("#status = :status").name("#status", "status").val(":status", &s));
    let page = table.query_filtered(&keys::webhook_deliveries_of(vendor, endpoint), page, filter, |_| true).await?;
    Ok(Page {
        items: page.items.into_iter().map(|r| r.delivery).collect(),
        next_cursor: page.next_cursor,
        partial: page.partial,
    })
}
