//! Outgoing webhooks: the endpoints a vendor registers, the events they subscribe to, the events
//! themselves (derived from committed changes, so one change is one event however often it is
//! delivered), the signature every delivery carries, and the retry schedule.
//!
//! Pure rules only; the store keeps endpoints and deliveries, `stockyard-webhooks` sends.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{
    LocationId, ProductId, PurchaseOrderId, StockAlertId, UserId, VariantId, VendorId, WebhookEndpointId,
    WebhookEventId,
};
use crate::stock::StockAlertKind;

/// Endpoints one vendor may register.
pub const MAX_ENDPOINTS: u32 = 10;
/// The longest endpoint URL accepted.
pub const MAX_URL_LENGTH: usize = 2048;

/// What a vendor can subscribe an endpoint to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum WebhookEventType {
    /// A stock item's available units changed (`available_before` → `available`).
    #[serde(rename = "stock.availability_changed")]
    StockAvailabilityChanged,
    /// A stock item fell to or below its reorder point from above it, or ran out: the same
    /// crossing that raises a stock alert.
    #[serde(rename = "stock.low")]
    StockLow,
    /// A line of a purchase order was received into stock (one event per line of a receipt).
    #[serde(rename = "purchase_order.received")]
    PurchaseOrderReceived,
}

impl WebhookEventType {
    pub const ALL: [WebhookEventType; 3] = [
        WebhookEventType::StockAvailabilityChanged,
        WebhookEventType::StockLow,
        WebhookEventType::PurchaseOrderReceived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::StockAvailabilityChanged => "stock.availability_changed",
            WebhookEventType::StockLow => "stock.low",
            WebhookEventType::PurchaseOrderReceived => "purchase_order.received",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, format!("must be one of {}", Self::ALL.map(WebhookEventType::as_str).join(", ")))
        })
    }

    /// A subscription list as the client sent it: 1 to all event types, each once; kept in the
    /// documented order whatever order they were sent in.
    pub fn check_list(field: &str, events: &[WebhookEventType]) -> Result<Vec<Self>, FieldError> {
        if events.is_empty() {
            return Err(FieldError::new(field, "must name at least one event type"));
        }
        let mut seen = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            if seen.contains(event) {
                return Err(FieldError::new(format!("{field}[{i}]"), "names an event type a second time"));
            }
            seen.push(*event);
        }
        seen.sort();
        Ok(seen)
    }
}

impl std::fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An endpoint as the vendor sees it (its signing secret is shown once, when it is made or
/// rotated, and kept only by the store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub vendor_id: VendorId,
    /// Where events are POSTed: https (http only to loopback on the local stack).
    #[schema(example = "https://shop.example/hooks/stockyard")]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The event types sent to it.
    pub events: Vec<WebhookEventType>,
    /// A disabled endpoint receives nothing (events while it is disabled are not kept for it).
    pub enabled: bool,
    /// Moves with every change: writes are conditioned on it.
    pub version: u64,
    /// When its signing secret was made (at creation or the last rotation).
    pub secret_created_at: DateTime<Utc>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// Whether an event of this type goes to the endpoint now.
    pub fn wants(&self, event: WebhookEventType) -> bool {
        self.enabled && self.events.contains(&event)
    }
}

/// A new signing secret from 32 random bytes: `whsec_` and 64 hex digits. The whole string is
/// the HMAC key.
pub fn secret_from(bytes: [u8; 32]) -> String {
    let mut secret = String::with_capacity(70);
    secret.push_str("whsec_");
    for b in bytes {
        secret.push_str(&format!("{b:02x}"));
    }
    secret
}

/// The `Stockyard-Signature` header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" keyed with the endpoint's secret>`. A receiver recomputes it over the raw body
/// and refuses a timestamp too far from its clock (replays).
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

/// The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

// ---- endpoint URLs ----------------------------------------------------------------------------

/// Whether `ip` is a loopback address (127.0.0.0/8, ::1, or either mapped into the other).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Whether `ip` is an address of the public internet: not private, loopback, link-local
/// (cloud metadata services live there), shared (carrier-grade NAT), unspecified, broadcast,
/// multicast, documentation, benchmarking or reserved. Endpoints are refused on the others, and
/// a delivery never connects to one, whatever a name resolves to.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0])
}

/// Checks an endpoint URL: an absolute `https` URL of a public host name or address, without
/// credentials or a fragment, at most [`MAX_URL_LENGTH`] long. With `allow_loopback` (the local
/// stack) a loopback host (`127.0.0.1`, `[::1]`, `localhost`) is accepted too, over http or https.
pub fn endpoint_url(field: &str, raw: &str, allow_loopback: bool) -> Result<String, FieldError> {
    let invalid = |message: &str| FieldError::new(field, message);
    if raw.len() > MAX_URL_LENGTH {
        return Err(invalid("must be at most 2048 characters"));
    }
    if raw.trim() != raw || raw.chars().any(char::is_control) {
        return Err(invalid("must not contain white space or control characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| invalid("is not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(v4)) => check_ip(IpAddr::V4(v4), allow_loopback).map_err(invalid)?,
        Some(url::Host::Ipv6(v6)) => check_ip(IpAddr::V6(v6), allow_loopback).map_err(invalid)?,
        Some(url::Host::Domain(name)) => check_name(name, allow_loopback).map_err(invalid)?,
        None => return Err(invalid("must name a host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(invalid("must use https")),
        _ => return Err(invalid("must be an https URL")),
    }
    Ok(url.to_string())
}

/// Whether the address is an accepted loopback one; refused when it is not public.
fn check_ip(ip: IpAddr, allow_loopback: bool) -> Result<bool, &'static str> {
    if is_loopback(ip) {
        return if allow_loopback { Ok(true) } else { Err("must not be a loopback address") };
    }
    if !is_public(ip) {
        return Err("must not be a private, link-local or reserved address");
    }
    Ok(false)
}

/// Whether the name is an accepted loopback one; refused when it can only be a local name.
fn check_name(name: &str, allow_loopback: bool) -> Result<bool, &'static str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return if allow_loopback { Ok(true) } else { Err("must not be a loopback host") };
    }
    const LOCAL: [&str; 4] = [".local", ".internal", ".lan", ".home.arpa"];
    if !name.contains('.') || LOCAL.iter().any(|suffix| name.ends_with(suffix)) {
        return Err("must be a public host name");
    }
    Ok(false)
}

// ---- events -----------------------------------------------------------------------------------

/// The id of the event `kind` about the change identified by `parts`, made at `at`: time-ordered
/// by the change and the same wherever and however often it is derived.
pub fn event_id(kind: WebhookEventType, parts: &[&str], at: DateTime<Utc>) -> WebhookEventId {
    let mut hash = Sha256::new();
    hash.update(kind.as_str().as_bytes());
    for part in parts {
        hash.update(b"|");
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    WebhookEventId::from_parts(u64::try_from(at.timestamp_millis()).unwrap_or(0), random)
}

/// `stock.availability_changed`: a stock item's available units before and after one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockAvailabilityChanged {
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub location_id: LocationId,
    pub available_before: u32,
    pub available: u32,
    pub on_hand: u32,
    pub reserved: u32,
    /// The stock item's version the change made (ledger movements carry it).
    pub stock_version: u64,
}

/// `stock.low`: a stock item crossed to or below its reorder point, or ran out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StockLow {
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub location_id: LocationId,
    pub kind: StockAlertKind,
    pub available: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_point: Option<u32>,
    pub stock_version: u64,
    /// The stock alert the same crossing raised.
    pub alert_id: StockAlertId,
}

/// `purchase_order.received`: one line of a receipt, posted to stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PurchaseOrderReceived {
    pub purchase_order_id: PurchaseOrderId,
    /// Shared by the lines of one receipt.
    pub receipt_id: String,
    #[schema(example = "MILK-1L")]
    pub sku: String,
    pub quantity: u32,
    pub location_id: LocationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    /// The stock item's version the line made.
    pub stock_version: u64,
    pub received_at: DateTime<Utc>,
}

/// What an event says, by type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", content = "data")]
pub enum WebhookEventData {
    #[serde(rename = "stock.availability_changed")]
    StockAvailabilityChanged(StockAvailabilityChanged),
    #[serde(rename = "stock.low")]
    StockLow(StockLow),
    #[serde(rename = "purchase_order.received")]
    PurchaseOrderReceived(PurchaseOrderReceived),
}

impl WebhookEventData {
    pub fn event_type(&self) -> WebhookEventType {
        match self {
            WebhookEventData::StockAvailabilityChanged(_) => WebhookEventType::StockAvailabilityChanged,
            WebhookEventData::StockLow(_) => WebhookEventType::StockLow,
            WebhookEventData::PurchaseOrderReceived(_) => WebhookEventType::PurchaseOrderReceived,
        }
    }
}

/// One event, as every delivery of it POSTs it: `{id, type, created_at, vendor_id, data}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEvent {
    /// Derived from the change: a receiver deduplicates on it (also sent as `Stockyard-Event-Id`).
    pub id: WebhookEventId,
    /// When the change was made.
    pub created_at: DateTime<Utc>,
    pub vendor_id: VendorId,
    #[serde(flatten)]
    pub data: WebhookEventData,
}

impl WebhookEvent {
    pub fn event_type(&self) -> WebhookEventType {
        self.data.event_type()
    }
}

// ---- deliveries -------------------------------------------------------------------------------

/// Where one event stands with one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, or failed and waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed: the message went to the dead-letter queue.
    Failed,
    /// The endpoint was disabled or deleted before the event could be delivered.
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Failed, DeliveryStatus::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "must be one of pending, delivered, failed, cancelled"))
    }
}

/// One event's delivery to one endpoint: what happened at its last attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    pub endpoint_id: WebhookEndpointId,
    pub vendor_id: VendorId,
    pub event_id: WebhookEventId,
    pub event_type: WebhookEventType,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The HTTP status of the last answer, if the endpoint answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// Why the last attempt failed (`timeout`, `connection_failed`, `http_500`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the last attempt took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a failed attempt will be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// How long to wait after failed attempt number `attempt` (1-based): `base` doubled for every
/// attempt before it, at most `max`.
pub fn backoff_seconds(attempt: u32, base: u32, max: u32) -> u32 {
    base.saturating_mul(1u32 << attempt.saturating_sub(1).min(31)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_must_be_https_on_a_public_host() {
        assert_eq!(
            endpoint_url("url", "https://shop.example/hooks?x=1", false).unwrap(),
            "https://shop.example/hooks?x=1"
        );
        assert!(endpoint_url("url", "https://93.184.216.34:8443/in", false).is_ok());
        for bad in [
            "http://shop.example/hooks",
            "ftp://shop.example/",
            "shop.example/hooks",
            "https://user:pw@shop.example/",
            "https://shop.example/#frag",
            "https://intranet/hooks",
            "https://printer.local/",
            "https://metadata.google.internal/",
            "https://10.0.0.8/",
            "https://172.20.1.1/",
            "https://192.168.1.10/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            " https://shop.example/",
        ] {
            let err = endpoint_url("url", bad, false).expect_err(bad);
            assert_eq!(err.field, "url");
        }
    }

    #[test]
    fn loopback_is_accepted_only_where_the_stack_allows_it_and_http_only_there() {
        for local in ["http://127.0.0.1:8080/hook", "http://[::1]:9/x", "http://localhost:3000/", "https://127.0.0.1/"]
        {
            assert!(endpoint_url("url", local, true).is_ok(), "{local}");
            assert!(endpoint_url("url", local, false).is_err(), "{local} without loopback allowed");
        }
        assert!(endpoint_url("url", "http://10.1.2.3/", true).is_err(), "private stays refused");
        assert!(endpoint_url("url", "http://shop.example/", true).is_err(), "http stays loopback-only");
    }

    #[test]
    fn resolved_addresses_are_public_only_outside_the_reserved_ranges() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        assert!(is_public(public));
        assert!(is_public("2606:4700::1111".parse().unwrap()));
        for private in ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fe80::1", "::ffff:192.168.0.1", "fc00::1"] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently (RFC 2104 HMAC-SHA256 of "1700000000.{}" under "whsec_test").
        let header = signature_header("whsec_test", 1_700_000_000, b"{}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(signature("whsec_test", 1_700_000_000, b"{}"), signature("whsec_test", 1_700_000_000, b"{}"));
        assert_ne!(signature("whsec_test", 1_700_000_000, b"{}"), signature("whsec_other", 1_700_000_000, b"{}"));
        assert_ne!(signature("whsec_test", 1_700_000_001, b"{}"), signature("whsec_test", 1_700_000_000, b"{}"));
    }

    #[test]
    fn an_event_id_is_the_same_for_the_same_change_and_ordered_by_its_time() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").unwrap().with_timezone(&Utc);
        let kind = WebhookEventType::StockLow;
        assert_eq!(event_id(kind, &["a", "b", "7"], at), event_id(kind, &["a", "b", "7"], at));
        assert_ne!(event_id(kind, &["a", "b", "7"], at), event_id(kind, &["a", "b", "8"], at));
        assert_ne!(
            event_id(kind, &["a", "b", "7"], at),
            event_id(WebhookEventType::StockAvailabilityChanged, &["a", "b", "7"], at)
        );
        let later = at + chrono::Duration::milliseconds(1);
        assert!(event_id(kind, &["z"], at) < event_id(kind, &["a"], later));
    }

    #[test]
    fn event_lists_are_checked_deduplicated_and_ordered() {
        use WebhookEventType::*;
        let list = |events: &[WebhookEventType]| WebhookEventType::check_list("events", events);
        assert_eq!(list(&[StockLow, StockAvailabilityChanged]).unwrap(), [StockAvailabilityChanged, StockLow]);
        assert_eq!(list(&[]).unwrap_err().field, "events");
        assert_eq!(list(&[StockLow, StockLow]).unwrap_err().field, "events[1]");
        assert_eq!(WebhookEventType::parse("type", "stock.lower").unwrap_err().field, "type");
        assert_eq!(WebhookEventType::parse("type", "stock.low").unwrap(), StockLow);
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let waits: Vec<u32> = (1..=8).map(|n| backoff_seconds(n, 60, 3600)).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff_seconds(40, 60, 43_200), 43_200, "no overflow on a long run");
        assert_eq!(backoff_seconds(1, 1, 2), 1);
    }

    #[test]
    fn an_event_is_posted_as_id_type_created_at_vendor_and_data() {
        let event = WebhookEvent {
            id: WebhookEventId::from_parts(1, [0; 10]),
            created_at: Utc::now(),
            vendor_id: VendorId::generate(),
            data: WebhookEventData::PurchaseOrderReceived(PurchaseOrderReceived {
                purchase_order_id: PurchaseOrderId::generate(),
                receipt_id: "r1".into(),
                sku: "MILK".into(),
                quantity: 4,
                location_id: LocationId::generate(),
                lot: None,
                expires_on: None,
                stock_version: 3,
                received_at: Utc::now(),
            }),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "purchase_order.received");
        assert_eq!(json["data"]["quantity"], 4);
        let back: WebhookEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
