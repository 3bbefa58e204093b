//! The carriers' tracking webhook: `POST /webhooks/carriers` (see `stockyard_domain::carrier` for
//! the event and its signature).
//!
//! A delivery is checked before anything is read from it: sent as JSON (415 otherwise), signed
//! over the raw body within 5 minutes of now (400 naming `Carrier-Signature` otherwise). The event
//! is parsed (422 naming the field) and recorded on the parcel its tracking number names: a repeat
//! changes nothing, an event arriving after a later one takes its place in the timeline without
//! moving the parcel back, and the parcel that delivers an order's last units moves the order (and
//! its group) to `delivered`. An event for a tracking number no parcel has (yet) is answered 404,
//! so the carrier delivers it again later rather than Stockyard dropping it.

use chrono::Utc;
use serde::Serialize;
use stockyard_domain::carrier::{self, CARRIER_SIGNATURE_HEADER};
use stockyard_domain::fulfilment::ShipmentStatus;
use stockyard_domain::order::OrderStatus;
use stockyard_domain::payment::DEFAULT_TOLERANCE;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{header, require_json_media_type};
use stockyard_http::response::ok;
use stockyard_http::{ApiError, Body, Request, Response};
use stockyard_store::Table;
use stockyard_store::fulfilment::{self as store, Tracked};
use utoipa::ToSchema;

/// The table and the carrier webhook secret.
pub struct CarrierDeps {
    pub table: Table,
    pub secret: Option<String>,
}

impl CarrierDeps {
    /// `STOCKYARD_CARRIER_WEBHOOK_SECRET`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self {
            table: Table::from_env(sdk)?,
            secret: stockyard_platform::env_opt("STOCKYARD_CARRIER_WEBHOOK_SECRET").filter(|v| !v.is_empty()),
        })
    }
}

/// What a delivery came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingAck {
    pub received: bool,
    /// The parcel holds this event already: nothing changed.
    pub duplicate: bool,
    /// `recorded`, `delivered` (the parcel delivered its order's last units), `already_recorded`
    /// or `ignored` (an event type Stockyard does not act on).
    #[schema(example = "recorded")]
    pub outcome: String,
    /// The parcel's status after the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_status: Option<ShipmentStatus>,
}

/// A carrier's tracking event (label created, in transit, out for delivery, delivered, failed
/// attempt, returned to sender), signed with `Carrier-Signature`.
#[utoipa::path(post, path = "/webhooks/carriers", tag = "fulfilment",
    params(("Carrier-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    request_body(content = serde_json::Value, description = "The carrier's event, verified over the raw bytes: {id, type: tracking.updated, data: {tracking_number, status, occurred_at, location?, description?, estimated_delivery?}}"),
    responses((status = 200, body = TrackingAck),
              (status = 400, description = "malformed_request: the signature is missing, wrong or too old (names the header), or the body is not JSON", body = ErrorBody),
              (status = 404, description = "not_found: no parcel has this tracking number (yet); deliver it again later", body = ErrorBody),
              (status = 415, description = "unsupported_media_type: not sent as JSON", body = ErrorBody),
              (status = 422, description = "invalid_field: a signed event without a field it needs, or with a status or tracking number Stockyard does not know (names it)", body = ErrorBody)))]
pub async fn receive(deps: &CarrierDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let secret = deps.secret.as_deref().ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "STOCKYARD_CARRIER_WEBHOOK_SECRET is not set: this function cannot verify the carriers' webhooks"
        ))
    })?;
    require_json_media_type(&req)?;
    let body: &[u8] = req.body().as_ref();
    let signature = header(&req, CARRIER_SIGNATURE_HEADER).unwrap_or_default();
    carrier::verify(secret, signature, body, Utc::now(), DEFAULT_TOLERANCE).map_err(|e| ApiError::Malformed {
        message: format!("{CARRIER_SIGNATURE_HEADER}: {e}"),
        field: Some(CARRIER_SIGNATURE_HEADER.to_string()),
    })?;
    let Some(event) = carrier::parse_event(body).map_err(ApiError::Invalid)? else {
        return Ok(ok(&TrackingAck {
            received: true,
            duplicate: false,
            outcome: "ignored".into(),
            shipment_status: None,
        }));
    };
    let ack = match store::track(&deps.table, &event).await? {
        Tracked::UnknownParcel => return Err(ApiError::NotFound("parcel")),
        Tracked::AlreadyRecorded => {
            TrackingAck { received: true, duplicate: true, outcome: "already_recorded".into(), shipment_status: None }
        }
        Tracked::Recorded { shipment, order } => {
            let outcome = if order == Some(OrderStatus::Delivered) { "delivered" } else { "recorded" };
            tracing::info!(shipment = %shipment.id, event = event.event_id, status = ?shipment.status, outcome, "tracking event");
            TrackingAck {
                received: true,
                duplicate: false,
                outcome: outcome.into(),
                shipment_status: Some(shipment.status),
            }
        }
    };
    Ok(ok(&ack))
}
