//! Carrier tracking webhooks: what a carrier (or a tracking aggregator in front of several) sends
//! when a parcel moves, how it is signed, and how it is read.
//!
//! A delivery is a JSON event signed like the card provider's webhooks: the header
//! `Carrier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` under the carrier
//! webhook secret, within five minutes of the receiver's clock.
//!
//! ```json
//! { "id": "trk_evt_01", "type": "tracking.updated", "created_at": "2026-12-01T09:30:00Z",
//!   "data": { "tracking_number": "6A123456789FR", "carrier": "La Poste",
//!             "status": "in_transit", "occurred_at": "2026-12-01T09:12:00Z",
//!             "location": "Paris hub", "description": "Parcel sorted",
//!             "estimated_delivery": "2026-12-03" } }
//! ```
//!
//! Carriers deliver an event more than once and out of order: the event id makes a repeat a
//! no-op, and a parcel's status is that of its latest event by the time it happened, not by when
//! it arrived ([`crate::fulfilment::track`]).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Deserialize;

use crate::FieldError;
use crate::fulfilment::ShipmentStatus;
use crate::payment::{self, SignatureError};

/// The header a carrier's delivery is signed in.
pub const CARRIER_SIGNATURE_HEADER: &str = "Carrier-Signature";
/// The longest event id, tracking number, place or description kept.
const MAX_TEXT: usize = 255;
/// The longest tracking number (carriers' run to about 35 characters).
pub const MAX_TRACKING_NUMBER: usize = 64;

/// The `Carrier-Signature` value of `body` sent at `t` (unix seconds): what the local carrier
/// simulator sends.
pub fn sign(secret: &str, body: &[u8], t: i64) -> String {
    payment::sign_card(secret, body, t)
}

/// Verifies a carrier delivery's signature over the raw body, made within `tolerance` of `now`.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: TimeDelta,
) -> Result<(), SignatureError> {
    payment::verify_timestamped(CARRIER_SIGNATURE_HEADER, secret, header, body, now, tolerance)
}

/// A tracking number as Stockyard keeps and looks it up: trimmed, without inner spaces,
/// upper-case ASCII letters and digits (and `-`), 4 to 64 characters.
pub fn tracking_number(field: &str, raw: &str) -> Result<String, FieldError> {
    let number: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if !(4..=MAX_TRACKING_NUMBER).contains(&number.len())
        || !number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(FieldError::new(
            field,
            format!("must be 4 to {MAX_TRACKING_NUMBER} letters, digits or '-' (spaces are ignored)"),
        ));
    }
    Ok(number)
}

/// One tracking event of a parcel, as the carrier reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierEvent {
    pub event_id: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    pub occurred_at: DateTime<Utc>,
    pub location: Option<String>,
    pub description: Option<String>,
    pub estimated_delivery: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    tracking_number: String,
    status: String,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    estimated_delivery: Option<NaiveDate>,
}

/// The statuses a carrier reports (`packed` is Stockyard's own, before the carrier has the parcel).
fn status(raw: &str) -> Option<ShipmentStatus> {
    Some(match raw {
        "label_created" => ShipmentStatus::LabelCreated,
        "in_transit" => ShipmentStatus::InTransit,
        "out_for_delivery" => ShipmentStatus::OutForDelivery,
        "delivered" => ShipmentStatus::Delivered,
        "failed_attempt" => ShipmentStatus::FailedAttempt,
        "returned_to_sender" => ShipmentStatus::ReturnedToSender,
        _ => return None,
    })
}

fn optional_text(field: &str, raw: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.trim();
    if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(FieldError::new(field, format!("must be at most {MAX_TEXT} printable characters")));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// Parses a verified delivery. `Ok(None)` for an event type other than `tracking.updated` (the
/// receiver acknowledges and ignores it); errors name the field.
pub fn parse_event(body: &[u8]) -> Result<Option<CarrierEvent>, FieldError> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    let envelope: Envelope = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // A missing field is reported at its parent: name the field itself.
        let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_string(),
            (_, Some(name)) => format!("{path}.{name}"),
            (".", None) => "body".to_string(),
            (_, None) => path,
        };
        FieldError::new(field, message)
    })?;
    if envelope.kind != "tracking.updated" {
        return Ok(None);
    }
    let event_id = envelope.id.trim().to_string();
    if event_id.is_empty() || event_id.len() > MAX_TEXT || event_id.chars().any(char::is_control) {
        return Err(FieldError::new("id", format!("must be 1 to {MAX_TEXT} printable characters")));
    }
    let data = envelope.data;
    let status = status(data.status.trim()).ok_or_else(|| {
        FieldError::new(
            "data.status",
            "must be label_created, in_transit, out_for_delivery, delivered, failed_attempt or returned_to_sender",
        )
    })?;
    Ok(Some(CarrierEvent {
        event_id,
        tracking_number: tracking_number("data.tracking_number", &data.tracking_number)?,
        status,
        occurred_at: data.occurred_at,
        location: optional_text("data.location", data.location)?,
        description: optional_text("data.description", data.description)?,
        estimated_delivery: data.estimated_delivery,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(status: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": "trk_evt_1", "type": "tracking.updated", "created_at": "2026-12-01T09:30:00Z",
            "data": { "tracking_number": " 6a 1234 5678 9fr ", "carrier": "La Poste", "status": status,
                      "occurred_at": "2026-12-01T09:12:00Z", "location": "Paris hub",
                      "estimated_delivery": "2026-12-03" }
        }))
        .unwrap()
    }

    #[test]
    fn a_signed_event_is_verified_and_read_with_its_tracking_number_normalised() {
        let now = Utc::now();
        let raw = body("in_transit");
        let signature = sign("trk_secret", &raw, now.timestamp());
        assert_eq!(verify("trk_secret", &signature, &raw, now, TimeDelta::minutes(5)), Ok(()));
        assert_eq!(verify("other", &signature, &raw, now, TimeDelta::minutes(5)), Err(SignatureError::Mismatch));
        let mut tampered = raw.clone();
        tampered[10] ^= 1;
        assert!(verify("trk_secret", &signature, &tampered, now, TimeDelta::minutes(5)).is_err());
        let event = parse_event(&raw).unwrap().unwrap();
        assert_eq!(event.tracking_number, "6A123456789FR");
        assert_eq!(event.status, ShipmentStatus::InTransit);
        assert_eq!(event.location.as_deref(), Some("Paris hub"));
        assert_eq!(event.estimated_delivery, NaiveDate::from_ymd_opt(2026, 12, 3));
        match verify("trk_secret", "", &raw, now, TimeDelta::minutes(5)) {
            Err(SignatureError::Malformed { header, .. }) => assert_eq!(header, CARRIER_SIGNATURE_HEADER),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_event_names_its_field_and_other_types_are_ignored() {
        assert_eq!(parse_event(&body("lost_in_space")).unwrap_err().field, "data.status");
        assert_eq!(parse_event(&body("packed")).unwrap_err().field, "data.status", "packed is not a carrier's");
        let missing = br#"{"id":"e","type":"tracking.updated","data":{"status":"delivered","occurred_at":"2026-12-01T09:12:00Z"}}"#;
        assert_eq!(parse_event(missing).unwrap_err().field, "data.tracking_number");
        let bad_time = br#"{"id":"e","type":"tracking.updated","data":{"tracking_number":"AB12","status":"delivered","occurred_at":"yesterday"}}"#;
        assert_eq!(parse_event(bad_time).unwrap_err().field, "data.occurred_at");
        let other = br#"{"id":"e","type":"tracker.created","data":{"tracking_number":"AB12","status":"delivered","occurred_at":"2026-12-01T09:12:00Z"}}"#;
        assert_eq!(parse_event(other), Ok(None));
        assert_eq!(tracking_number("t", "ab").unwrap_err().field, "t");
        assert_eq!(tracking_number("t", "1Z 999 AA1").unwrap(), "1Z999AA1");
        assert!(tracking_number("t", "1Z/999").is_err());
    }
}
