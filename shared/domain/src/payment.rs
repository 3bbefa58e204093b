//! Payment providers' webhooks: their signatures and their events.
//!
//! Stockyard takes payments through two providers and keeps only their references (intent,
//! capture and dispute ids); card data never reaches it. Each provider tells Stockyard what
//! happened through signed webhooks:
//! - the card provider signs `"{t}.{raw body}"` with HMAC-SHA256 under the endpoint's secret and
//!   sends `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]` (several `v1` while a secret
//!   is being rolled);
//! - the wallet provider signs `"{transmission id}|{transmission time}|{webhook id}|{hex SHA-256
//!   of the raw body}"` with HMAC-SHA256 under the webhook's secret and sends the parts in the
//!   `Paypal-Transmission-*` headers.
//!
//! A receiver verifies the signature over the raw body bytes first, then parses the event into a
//! [`ProviderEvent`], then deduplicates on its `event_id`. Signatures are compared in constant
//! time, and a signature made further than the tolerance from the receiver's clock is refused
//! (a replay). Amounts are exact integer minor units; no floating point.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{OrderGroupId, RefundId};
use crate::money::{Currency, Money};
use crate::order::OrderEvent;
use crate::returns::ProviderRefundState;

/// The card provider's signature header.
pub const CARD_SIGNATURE_HEADER: &str = "Stripe-Signature";
/// The wallet provider's headers: the delivery's id, when it was sent (RFC 3339), and the signature.
pub const WALLET_TRANSMISSION_ID_HEADER: &str = "Paypal-Transmission-Id";
pub const WALLET_TRANSMISSION_TIME_HEADER: &str = "Paypal-Transmission-Time";
pub const WALLET_TRANSMISSION_SIG_HEADER: &str = "Paypal-Transmission-Sig";
/// How far a signature's time may be from the receiver's clock, either way.
pub const DEFAULT_TOLERANCE: TimeDelta = TimeDelta::seconds(300);

/// Which provider an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Card,
    Wallet,
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing a part or is not written as the provider writes it.
    #[error("the {header} header {reason}")]
    Malformed { header: &'static str, reason: &'static str },
    /// No signature matches the body under the secret.
    #[error("no signature matches the body")]
    Mismatch,
    /// The signature was made too long before (or after) the receiver's clock: a replay, or a
    /// clock far off. Positive: seconds in the past.
    #[error("the signature was made {skew_seconds} s from now, beyond the tolerance")]
    OutsideTolerance { skew_seconds: i64 },
}

fn mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length")
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of a hex SHA-256 HMAC (64 hex digits, either case); `None` for anything else.
fn hmac_from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

/// Whether `signed_at` (unix seconds) is within `tolerance` of `now`.
fn check_time(signed_at: i64, now: DateTime<Utc>, tolerance: TimeDelta) -> Result<(), SignatureError> {
    let skew = now.timestamp().saturating_sub(signed_at);
    if skew.unsigned_abs() > tolerance.num_seconds().unsigned_abs() {
        return Err(SignatureError::OutsideTolerance { skew_seconds: skew });
    }
    Ok(())
}

// ---- card provider ----------------------------------------------------------------------------

fn card_mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = mac(secret);
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The card provider's `Stripe-Signature` value for `body` sent at `t` (unix seconds): what the
/// local simulator sends.
pub fn sign_card(secret: &str, body: &[u8], t: i64) -> String {
    format!("t={t},v1={}", to_hex(&card_mac(secret, t, body).finalize().into_bytes()))
}

/// Verifies a card webhook: `header` is the `Stripe-Signature` value, `body` the raw bytes as
/// received (before any parsing). Any one `v1` matching is enough; other schemes (`v0`) are
/// ignored. The signature's time must be within `tolerance` of `now`.
pub fn verify_card(
    secret: &str,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: TimeDelta,
) -> Result<(), SignatureError> {
    verify_timestamped(CARD_SIGNATURE_HEADER, secret, header, body, now, tolerance)
}

/// Verifies a `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` signature sent in the header
/// `name` (the card provider's scheme, which the carrier webhooks share).
pub fn verify_timestamped(
    name: &'static str,
    secret: &str,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: TimeDelta,
) -> Result<(), SignatureError> {
    let malformed = |reason| SignatureError::Malformed { header: name, reason };
    if header.trim().is_empty() {
        return Err(malformed("is empty"));
    }
    let mut t = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or_else(|| malformed("has a part without '='"))?;
        match key {
            "t" => {
                if t.is_some() {
                    return Err(malformed("has more than one timestamp t="));
                }
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed("has a timestamp t= that is not unix seconds"));
                }
                t = Some(value.parse::<i64>().map_err(|_| malformed("has a timestamp t= that is not unix seconds"))?);
            }
            "v1" => signatures
                .push(hmac_from_hex(value).ok_or_else(|| malformed("has a v1 signature that is not 64 hex digits"))?),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| malformed("has no timestamp t="))?;
    if signatures.is_empty() {
        return Err(malformed("has no v1 signature"));
    }
    let expected = card_mac(secret, t, body);
    if !signatures.iter().any(|sig| expected.clone().verify_slice(sig).is_ok()) {
        return Err(SignatureError::Mismatch);
    }
    check_time(t, now, tolerance)
}

// ---- wallet provider --------------------------------------------------------------------------

/// The wallet provider's signature headers of one delivery, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletHeaders<'a> {
    /// `Paypal-Transmission-Id`.
    pub transmission_id: &'a str,
    /// `Paypal-Transmission-Time`: RFC 3339, signed as written.
    pub transmission_time: &'a str,
    /// `Paypal-Transmission-Sig`: hex HMAC-SHA256.
    pub transmission_sig: &'a str,
}

fn wallet_mac(
    secret: &str,
    webhook_id: &str,
    transmission_id: &str,
    transmission_time: &str,
    body: &[u8],
) -> Hmac<Sha256> {
    let mut mac = mac(secret);
    let digest = to_hex(&Sha256::digest(body));
    mac.update(format!("{transmission_id}|{transmission_time}|{webhook_id}|{digest}").as_bytes());
    mac
}

/// The `Paypal-Transmission-Sig` value for `body` delivered as `transmission_id` at
/// `transmission_time` (RFC 3339, as it will be sent) to the webhook `webhook_id`.
pub fn sign_wallet(
    secret: &str,
    webhook_id: &str,
    transmission_id: &str,
    transmission_time: &str,
    body: &[u8],
) -> String {
    to_hex(&wallet_mac(secret, webhook_id, transmission_id, transmission_time, body).finalize().into_bytes())
}

/// Verifies a wallet webhook delivered to the webhook `webhook_id` (Stockyard's registration at the
/// provider): the signature over the raw `body` first, then the transmission time within
/// `tolerance` of `now`.
pub fn verify_wallet(
    secret: &str,
    webhook_id: &str,
    headers: &WalletHeaders<'_>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: TimeDelta,
) -> Result<(), SignatureError> {
    let malformed = |header, reason| SignatureError::Malformed { header, reason };
    if headers.transmission_id.trim().is_empty() {
        return Err(malformed(WALLET_TRANSMISSION_ID_HEADER, "is missing"));
    }
    let sent_at = DateTime::parse_from_rfc3339(headers.transmission_time)
        .map_err(|_| malformed(WALLET_TRANSMISSION_TIME_HEADER, "is not an RFC 3339 time"))?;
    let signature = hmac_from_hex(headers.transmission_sig)
        .ok_or_else(|| malformed(WALLET_TRANSMISSION_SIG_HEADER, "is not 64 hex digits"))?;
    let expected = wallet_mac(secret, webhook_id, headers.transmission_id, headers.transmission_time, body);
    expected.verify_slice(&signature).map_err(|_| SignatureError::Mismatch)?;
    check_time(sent_at.timestamp(), now, tolerance)
}

// ---- events -----------------------------------------------------------------------------------

/// What a provider's event says happened, whichever provider sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The payment succeeded (card intent succeeded, wallet capture completed).
    PaymentSucceeded,
    /// The payment failed (card intent failed, wallet capture denied).
    PaymentFailed,
    /// The card payment waits for the customer's authentication (3-D Secure).
    PaymentRequiresAction,
    /// The customer approved the wallet checkout: not yet paid, the capture follows.
    PaymentApproved,
    /// A dispute (chargeback) was opened against a payment.
    DisputeOpened,
    /// The payment was refunded in full.
    Refunded,
    /// A refund Stockyard asked for (a return's) changed state: [`PaymentDetails::refund`] says
    /// which and how.
    RefundUpdated,
    /// A type Stockyard does not handle: acknowledged and ignored.
    Other(String),
}

impl EventKind {
    fn card(event_type: &str) -> Self {
        match event_type {
            "payment_intent.succeeded" => EventKind::PaymentSucceeded,
            "payment_intent.payment_failed" => EventKind::PaymentFailed,
            "payment_intent.requires_action" => EventKind::PaymentRequiresAction,
            "charge.dispute.created" => EventKind::DisputeOpened,
            "charge.refunded" => EventKind::Refunded,
            "refund.created" | "refund.updated" | "refund.failed" => EventKind::RefundUpdated,
            other => EventKind::Other(other.to_string()),
        }
    }

    fn wallet(event_type: &str) -> Self {
        match event_type {
            "PAYMENT.CAPTURE.COMPLETED" => EventKind::PaymentSucceeded,
            "PAYMENT.CAPTURE.DENIED" => EventKind::PaymentFailed,
            "CHECKOUT.ORDER.APPROVED" => EventKind::PaymentApproved,
            "CUSTOMER.DISPUTE.CREATED" => EventKind::DisputeOpened,
            "PAYMENT.CAPTURE.REFUNDED" => EventKind::Refunded,
            other => EventKind::Other(other.to_string()),
        }
    }

    /// The order event this means, if any. An approval moves nothing (the capture's event will);
    /// a dispute is recorded with the order and holds its amount but does not change its status.
    pub fn order_event(&self) -> Option<OrderEvent> {
        match self {
            EventKind::PaymentSucceeded => Some(OrderEvent::PaymentSucceeded),
            EventKind::PaymentFailed => Some(OrderEvent::PaymentFailed),
            EventKind::PaymentRequiresAction => Some(OrderEvent::PaymentRequiresAction),
            EventKind::Refunded => Some(OrderEvent::Refunded),
            EventKind::PaymentApproved | EventKind::DisputeOpened | EventKind::RefundUpdated | EventKind::Other(_) => {
                None
            }
        }
    }
}

/// What a known event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDetails {
    /// The provider's id of the event's object: the payment intent or capture (the dispute or the
    /// refund for those events).
    pub reference: String,
    /// Minor units of `currency`.
    pub amount_minor: i64,
    pub currency: Currency,
    /// The order group Stockyard put in the payment's metadata (card `metadata.order_group_id`,
    /// wallet `custom_id`).
    pub order_group: Option<OrderGroupId>,
    /// A dispute's reason as the provider gives it (`fraudulent`, `product_not_received`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For [`EventKind::RefundUpdated`]: Stockyard's refund and what the provider says of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundNotice>,
}

/// A provider's word on a refund Stockyard asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    /// Stockyard's id of the refund (card `metadata.refund_id`, wallet `invoice_id`).
    pub refund_id: RefundId,
    pub state: ProviderRefundState,
    /// Why it failed, as the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl PaymentDetails {
    pub fn amount(&self) -> Money {
        Money::new(self.amount_minor, self.currency)
    }
}

/// One provider event, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderEvent {
    pub provider: Provider,
    /// The provider's id of the event: deliveries of one event share it (deduplicate on it).
    pub event_id: String,
    pub kind: EventKind,
    /// Present for every kind but [`EventKind::Other`], whose object is not read (its shape is
    /// whatever that type has).
    pub payment: Option<PaymentDetails>,
    /// When the provider made the event.
    pub occurred_at: DateTime<Utc>,
}

impl ProviderEvent {
    pub fn order_event(&self) -> Option<OrderEvent> {
        self.kind.order_event()
    }
}

fn at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |value, key| value.get(key))
}

fn text<'a>(root: &'a Value, path: &str) -> Result<&'a str, FieldError> {
    at(root, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| FieldError::new(path, "must be a non-empty string"))
}

/// A string or nothing (absent, null or empty); anything else is an error.
fn optional_text<'a>(root: &'a Value, path: &str) -> Result<Option<&'a str>, FieldError> {
    match at(root, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(FieldError::new(path, "must be a string")),
    }
}

/// A whole number written without a fraction or an exponent.
fn integer(root: &Value, path: &str) -> Result<i64, FieldError> {
    at(root, path).and_then(Value::as_i64).ok_or_else(|| FieldError::new(path, "must be a whole number"))
}

fn order_group(root: &Value, path: &str) -> Result<Option<OrderGroupId>, FieldError> {
    optional_text(root, path)?.map(|raw| OrderGroupId::parse(path, raw)).transpose()
}

fn json(body: &[u8]) -> Result<Value, FieldError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| FieldError::new("body", "is not JSON"))?;
    if !value.is_object() {
        return Err(FieldError::new("body", "must be a JSON object"));
    }
    Ok(value)
}

/// Parses a card event (after [`verify_card`]): `{id, type, created, data: {object: {id, amount,
/// currency, metadata: {order_group_id}}}}`. Amounts are minor units; the currency is written in
/// lower case (upper case is accepted too). Errors name the field.
pub fn parse_card_event(body: &[u8]) -> Result<ProviderEvent, FieldError> {
    let root = json(body)?;
    let event_id = text(&root, "id")?.to_string();
    let kind = EventKind::card(text(&root, "type")?);
    let created = integer(&root, "created")?;
    let occurred_at =
        DateTime::from_timestamp(created, 0).ok_or_else(|| FieldError::new("created", "is not a time"))?;
    // A partial refund's `charge.refunded` says only that some of the charge went back: the
    // refund's own event (`refund.*`) is what records it.
    if kind == EventKind::Refunded && at(&root, "data.object.refunded").and_then(Value::as_bool) == Some(false) {
        return Ok(ProviderEvent {
            provider: Provider::Card,
            event_id,
            kind: EventKind::Other("charge.refunded (partial)".into()),
            payment: None,
            occurred_at,
        });
    }
    let payment = match kind {
        EventKind::Other(_) => None,
        _ => {
            let amount_minor = integer(&root, "data.object.amount")?;
            if amount_minor < 0 {
                return Err(FieldError::new("data.object.amount", "must not be negative"));
            }
            let currency_field = "data.object.currency";
            let currency = Currency::parse(currency_field, &text(&root, currency_field)?.to_ascii_uppercase())?;
            Some(PaymentDetails {
                reference: text(&root, "data.object.id")?.to_string(),
                amount_minor,
                currency,
                order_group: order_group(&root, "data.object.metadata.order_group_id")?,
                reason: optional_text(&root, "data.object.reason")?.map(str::to_string),
                refund: match kind {
                    EventKind::RefundUpdated => Some(card_refund(&root)?),
                    _ => None,
                },
            })
        }
    };
    Ok(ProviderEvent { provider: Provider::Card, event_id, kind, payment, occurred_at })
}

/// A card refund object's Stockyard id and state: `metadata.refund_id`, `status`
/// (`succeeded`; `failed` or `canceled`; anything else is pending) and `failure_reason`.
fn card_refund(root: &Value) -> Result<RefundNotice, FieldError> {
    let field = "data.object.metadata.refund_id";
    let refund_id = RefundId::parse(field, text(root, field)?)?;
    let state = match text(root, "data.object.status")? {
        "succeeded" => ProviderRefundState::Succeeded,
        "failed" | "canceled" => ProviderRefundState::Failed,
        _ => ProviderRefundState::Pending,
    };
    let failure = optional_text(root, "data.object.failure_reason")?.map(str::to_string);
    Ok(RefundNotice { refund_id, state, failure })
}

/// Parses a wallet event (after [`verify_wallet`]): `{id, event_type, create_time, resource: {id,
/// amount: {value, currency_code}, custom_id}}`. The amount is decimal text in major units,
/// converted exactly with the currency's decimal places ("12.345" EUR is refused, not rounded).
/// Errors name the field.
pub fn parse_wallet_event(body: &[u8]) -> Result<ProviderEvent, FieldError> {
    let root = json(body)?;
    let event_id = text(&root, "id")?.to_string();
    let mut kind = EventKind::wallet(text(&root, "event_type")?);
    // A refund naming Stockyard's refund in `invoice_id` is one Stockyard asked for (a return's).
    let ours =
        optional_text(&root, "resource.invoice_id")?.and_then(|id| RefundId::parse("resource.invoice_id", id).ok());
    if kind == EventKind::Refunded && ours.is_some() {
        kind = EventKind::RefundUpdated;
    }
    let occurred_at = DateTime::parse_from_rfc3339(text(&root, "create_time")?)
        .map_err(|_| FieldError::new("create_time", "must be an RFC 3339 time"))?
        .with_timezone(&Utc);
    let payment = match kind {
        EventKind::Other(_) => None,
        _ => {
            let currency_field = "resource.amount.currency_code";
            let currency = Currency::parse(currency_field, text(&root, currency_field)?)?;
            let value_field = "resource.amount.value";
            let amount = Money::parse_major(value_field, text(&root, value_field)?, currency)?;
            Some(PaymentDetails {
                reference: text(&root, "resource.id")?.to_string(),
                amount_minor: amount.amount,
                currency,
                order_group: order_group(&root, "resource.custom_id")?,
                reason: optional_text(&root, "resource.reason")?.map(str::to_string),
                refund: match ours {
                    Some(refund_id) => Some(RefundNotice {
                        refund_id,
                        state: match text(&root, "resource.status")? {
                            "COMPLETED" => ProviderRefundState::Succeeded,
                            "FAILED" | "CANCELLED" => ProviderRefundState::Failed,
                            _ => ProviderRefundState::Pending,
                        },
                        failure: optional_text(&root, "resource.status_details.reason")?.map(str::to_string),
                    }),
                    None => None,
                },
            })
        }
    };
    Ok(ProviderEvent { provider: Provider::Wallet, event_id, kind, payment, occurred_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    fn time(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
    }

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn verify_card_now(header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
        verify_card(SECRET, header, body, DateTime::from_timestamp(now, 0).unwrap(), DEFAULT_TOLERANCE)
    }

    #[test]
    fn a_card_signature_is_hmac_sha256_of_time_dot_body() {
        // Computed independently: HMAC-SHA256 of `1700000000.{"id":"evt_1"}` under "whsec_test".
        assert_eq!(
            sign_card(SECRET, br#"{"id":"evt_1"}"#, 1_700_000_000),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }

    #[test]
    fn a_valid_card_signature_is_accepted_within_the_tolerance_either_way() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let t = 1_700_000_000;
        let header = sign_card(SECRET, body, t);
        assert_eq!(verify_card_now(&header, body, t), Ok(()));
        assert_eq!(verify_card_now(&header, body, t + 300), Ok(()));
        assert_eq!(verify_card_now(&header, body, t - 300), Ok(()));
        assert_eq!(verify_card_now(&header.to_uppercase().replace("T=", "t=").replace("V1=", "v1="), body, t), Ok(()));
    }

    #[test]
    fn a_tampered_body_or_another_secret_is_refused() {
        let body = br#"{"amount":1999}"#;
        let t = 1_700_000_000;
        let header = sign_card(SECRET, body, t);
        assert_eq!(verify_card_now(&header, br#"{"amount":1}"#, t), Err(SignatureError::Mismatch));
        assert_eq!(verify_card_now(&header, br#"{"amount":1999} "#, t), Err(SignatureError::Mismatch));
        let other = sign_card("whsec_other", body, t);
        assert_eq!(verify_card_now(&other, body, t), Err(SignatureError::Mismatch));
        // The time is signed too: moving t breaks the signature.
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(verify_card_now(&moved, body, t), Err(SignatureError::Mismatch));
    }

    #[test]
    fn an_old_or_future_card_signature_is_refused_as_a_replay() {
        let body = b"{}";
        let t = 1_700_000_000;
        let header = sign_card(SECRET, body, t);
        assert_eq!(
            verify_card_now(&header, body, t + 301),
            Err(SignatureError::OutsideTolerance { skew_seconds: 301 })
        );
        assert_eq!(
            verify_card_now(&header, body, t - 301),
            Err(SignatureError::OutsideTolerance { skew_seconds: -301 })
        );
        let narrow = TimeDelta::seconds(10);
        let now = DateTime::from_timestamp(t + 11, 0).unwrap();
        assert!(matches!(
            verify_card(SECRET, &header, body, now, narrow),
            Err(SignatureError::OutsideTolerance { .. })
        ));
    }

    #[test]
    fn any_one_matching_v1_is_enough_and_other_schemes_are_ignored() {
        let body = b"{}";
        let t = 1_700_000_000;
        let good = sign_card(SECRET, body, t);
        let good_sig = good.split_once("v1=").unwrap().1;
        let old_sig = sign_card("whsec_old", body, t).split_once("v1=").unwrap().1.to_string();
        let rolled = format!("t={t},v1={old_sig},v1={good_sig},v0=abc");
        assert_eq!(verify_card_now(&rolled, body, t), Ok(()));
        let spaced = format!("t={t}, v1={good_sig}");
        assert_eq!(verify_card_now(&spaced, body, t), Ok(()));
        let none_match = format!("t={t},v1={old_sig},v1={old_sig}");
        assert_eq!(verify_card_now(&none_match, body, t), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_malformed_card_header_is_refused_with_a_reason() {
        let sig = "a".repeat(64);
        let cases = [
            ("".to_string(), "is empty"),
            (format!("v1={sig}"), "has no timestamp t="),
            ("t=1700000000".to_string(), "has no v1 signature"),
            ("t=1700000000,v0=abc".to_string(), "has no v1 signature"),
            (format!("t=1700000000,t=1700000000,v1={sig}"), "has more than one timestamp t="),
            (format!("t=-5,v1={sig}"), "has a timestamp t= that is not unix seconds"),
            (format!("t=17e8,v1={sig}"), "has a timestamp t= that is not unix seconds"),
            (format!("t=99999999999999999999,v1={sig}"), "has a timestamp t= that is not unix seconds"),
            ("t=1700000000,v1=zz".to_string(), "has a v1 signature that is not 64 hex digits"),
            (format!("t=1700000000,v1={}", "g".repeat(64)), "has a v1 signature that is not 64 hex digits"),
            (format!("t=1700000000,v1={sig}0"), "has a v1 signature that is not 64 hex digits"),
            (format!("t=1700000000;v1={sig}"), "has a timestamp t= that is not unix seconds"),
            (format!("t=1700000000,{sig}"), "has a part without '='"),
        ];
        for (header, reason) in cases {
            assert_eq!(
                verify_card_now(&header, b"{}", 1_700_000_000),
                Err(SignatureError::Malformed { header: CARD_SIGNATURE_HEADER, reason }),
                "{header}"
            );
        }
        let err = verify_card_now("", b"{}", 0).unwrap_err();
        assert_eq!(err.to_string(), "the Stripe-Signature header is empty");
    }

    fn wallet_headers<'a>(id: &'a str, time: &'a str, sig: &'a str) -> WalletHeaders<'a> {
        WalletHeaders { transmission_id: id, transmission_time: time, transmission_sig: sig }
    }

    #[test]
    fn a_wallet_signature_covers_id_time_webhook_and_body_digest() {
        // Computed independently: HMAC-SHA256 under "wallet_secret" of
        // "tx-1|2026-03-01T10:00:00Z|WH-ENDPOINT|" + hex SHA-256 of the body.
        let sig = sign_wallet("wallet_secret", "WH-ENDPOINT", "tx-1", "2026-03-01T10:00:00Z", br#"{"id":"WH-1"}"#);
        assert_eq!(sig, "71c5e8c6c6ce65a4e83ff20b5da132b28625251079e6f09618fac400a6de97c2");
    }

    #[test]
    fn a_wallet_signature_is_verified_over_the_raw_body_and_within_the_tolerance() {
        let (secret, webhook, sent) = ("wallet_secret", "WH-ENDPOINT", "2026-03-01T10:00:00Z");
        let body = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}"#;
        let sig = sign_wallet(secret, webhook, "tx-1", sent, body);
        let headers = wallet_headers("tx-1", sent, &sig);
        let verify = |secret, webhook, headers: &WalletHeaders<'_>, body: &[u8], now: &str| {
            verify_wallet(secret, webhook, headers, body, time(now), DEFAULT_TOLERANCE)
        };
        assert_eq!(verify(secret, webhook, &headers, body, sent), Ok(()));
        assert_eq!(verify(secret, webhook, &headers, body, "2026-03-01T10:05:00Z"), Ok(()));
        assert_eq!(verify(secret, webhook, &headers, b"{}", sent), Err(SignatureError::Mismatch));
        assert_eq!(verify("other", webhook, &headers, body, sent), Err(SignatureError::Mismatch));
        assert_eq!(verify(secret, "WH-OTHER", &headers, body, sent), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(secret, webhook, &wallet_headers("tx-2", sent, &sig), body, sent),
            Err(SignatureError::Mismatch)
        );
        let later = wallet_headers("tx-1", "2026-03-01T10:00:01Z", &sig);
        assert_eq!(verify(secret, webhook, &later, body, sent), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(secret, webhook, &headers, body, "2026-03-01T10:05:01Z"),
            Err(SignatureError::OutsideTolerance { skew_seconds: 301 })
        );
        assert_eq!(
            verify(secret, webhook, &headers, body, "2026-03-01T09:54:59Z"),
            Err(SignatureError::OutsideTolerance { skew_seconds: -301 })
        );
        // The time is signed as written: another spelling of the same instant is another text.
        let offset = "2026-03-01T11:00:00+01:00";
        let sig = sign_wallet(secret, webhook, "tx-1", offset, body);
        assert_eq!(verify(secret, webhook, &wallet_headers("tx-1", offset, &sig), body, sent), Ok(()));
    }

    #[test]
    fn malformed_wallet_headers_are_refused_naming_the_header() {
        let sig = "a".repeat(64);
        let now = time("2026-03-01T10:00:00Z");
        let cases = [
            (wallet_headers("", "2026-03-01T10:00:00Z", &sig), WALLET_TRANSMISSION_ID_HEADER),
            (wallet_headers("tx", "2026-03-01 10:00", &sig), WALLET_TRANSMISSION_TIME_HEADER),
            (wallet_headers("tx", "", &sig), WALLET_TRANSMISSION_TIME_HEADER),
            (wallet_headers("tx", "2026-03-01T10:00:00Z", "abc"), WALLET_TRANSMISSION_SIG_HEADER),
            (wallet_headers("tx", "2026-03-01T10:00:00Z", ""), WALLET_TRANSMISSION_SIG_HEADER),
        ];
        for (headers, name) in cases {
            let err = verify_wallet("s", "wh", &headers, b"{}", now, DEFAULT_TOLERANCE).unwrap_err();
            assert!(matches!(err, SignatureError::Malformed { header, .. } if header == name), "{headers:?}: {err}");
        }
    }

    fn card_event(kind: &str, object: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "id": "evt_1", "type": kind, "created": 1_700_000_000, "data": {"object": object}
        }))
        .unwrap()
    }

    #[test]
    fn a_card_event_is_normalised_with_minor_units_and_its_order_group() {
        let group = OrderGroupId::generate();
        let body = card_event(
            "payment_intent.succeeded",
            serde_json::json!({"id": "pi_1", "amount": 1999, "currency": "eur",
                "metadata": {"order_group_id": group.to_string()}, "status": "succeeded"}),
        );
        let event = parse_card_event(&body).unwrap();
        assert_eq!(
            event,
            ProviderEvent {
                provider: Provider::Card,
                event_id: "evt_1".into(),
                kind: EventKind::PaymentSucceeded,
                payment: Some(PaymentDetails {
                    reference: "pi_1".into(),
                    amount_minor: 1999,
                    currency: cur("EUR"),
                    order_group: Some(group),
                    reason: None,
                    refund: None,
                }),
                occurred_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            }
        );
        assert_eq!(event.order_event(), Some(OrderEvent::PaymentSucceeded));
        assert_eq!(event.payment.unwrap().amount(), Money::new(1999, cur("EUR")));
    }

    #[test]
    fn card_amounts_are_already_minor_units_in_every_currency() {
        for (amount, currency) in [(1500, "jpy"), (12345, "kwd"), (0, "usd")] {
            let body = card_event(
                "charge.refunded",
                serde_json::json!({"id": "ch_1", "amount": amount, "currency": currency}),
            );
            let payment = parse_card_event(&body).unwrap().payment.unwrap();
            assert_eq!(payment.amount(), Money::new(amount, cur(&currency.to_uppercase())));
            assert_eq!(payment.order_group, None);
        }
        let yen =
            card_event("payment_intent.succeeded", serde_json::json!({"id": "pi", "amount": 1500, "currency": "jpy"}));
        assert_eq!(parse_card_event(&yen).unwrap().payment.unwrap().amount().to_string(), "1500 JPY");
        let fils =
            card_event("payment_intent.succeeded", serde_json::json!({"id": "pi", "amount": 12345, "currency": "kwd"}));
        assert_eq!(parse_card_event(&fils).unwrap().payment.unwrap().amount().to_string(), "12.345 KWD");
    }

    #[test]
    fn each_card_type_maps_to_its_kind_and_order_event() {
        let cases = [
            ("payment_intent.succeeded", EventKind::PaymentSucceeded, Some(OrderEvent::PaymentSucceeded)),
            ("payment_intent.payment_failed", EventKind::PaymentFailed, Some(OrderEvent::PaymentFailed)),
            (
                "payment_intent.requires_action",
                EventKind::PaymentRequiresAction,
                Some(OrderEvent::PaymentRequiresAction),
            ),
            ("charge.dispute.created", EventKind::DisputeOpened, None),
            ("charge.refunded", EventKind::Refunded, Some(OrderEvent::Refunded)),
        ];
        for (kind, expected, order_event) in cases {
            let body = card_event(kind, serde_json::json!({"id": "x_1", "amount": 100, "currency": "eur"}));
            let event = parse_card_event(&body).unwrap();
            assert_eq!((event.kind.clone(), event.order_event()), (expected, order_event), "{kind}");
        }
    }

    #[test]
    fn an_unknown_card_type_parses_as_other_whatever_its_object() {
        let body = card_event("customer.created", serde_json::json!({"id": "cus_1", "email": "a@b.example"}));
        let event = parse_card_event(&body).unwrap();
        assert_eq!(event.kind, EventKind::Other("customer.created".into()));
        assert_eq!((event.order_event(), event.payment), (None, None));
        let bare = br#"{"id":"evt_2","type":"balance.available","created":1700000000}"#;
        assert_eq!(parse_card_event(bare).unwrap().kind, EventKind::Other("balance.available".into()));
    }

    #[test]
    fn bad_card_events_are_refused_naming_the_field() {
        let ok = serde_json::json!({"id": "pi_1", "amount": 1999, "currency": "eur"});
        let with = |key: &str, value: serde_json::Value| {
            let mut object = ok.clone();
            object[key] = value;
            card_event("payment_intent.succeeded", object)
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "body"),
            (b"[1,2]".to_vec(), "body"),
            (br#"{"type":"charge.refunded","created":1}"#.to_vec(), "id"),
            (br#"{"id":"evt","created":1}"#.to_vec(), "type"),
            (br#"{"id":"evt","type":"x.y","created":"1700000000"}"#.to_vec(), "created"),
            (br#"{"id":"evt","type":"x.y","created":1.5}"#.to_vec(), "created"),
            (br#"{"id":"evt","type":"x.y","created":99999999999999999}"#.to_vec(), "created"),
            (
                card_event("payment_intent.succeeded", serde_json::json!({"id": "pi", "currency": "eur"})),
                "data.object.amount",
            ),
            (with("amount", serde_json::json!(19.99)), "data.object.amount"),
            (with("amount", serde_json::json!("1999")), "data.object.amount"),
            (with("amount", serde_json::json!(-1)), "data.object.amount"),
            (with("currency", serde_json::json!("xyz")), "data.object.currency"),
            (with("currency", serde_json::json!(978)), "data.object.currency"),
            (with("id", serde_json::json!("")), "data.object.id"),
            (with("metadata", serde_json::json!({"order_group_id": "nope"})), "data.object.metadata.order_group_id"),
            (with("metadata", serde_json::json!({"order_group_id": 5})), "data.object.metadata.order_group_id"),
        ];
        for (body, field) in cases {
            let err = parse_card_event(&body).unwrap_err();
            assert_eq!(err.field, field, "{}: {err}", String::from_utf8_lossy(&body));
        }
    }

    fn wallet_event(kind: &str, value: &str, currency: &str, custom_id: Option<&str>) -> Vec<u8> {
        let mut resource = serde_json::json!({"id": "CAP-1", "amount": {"value": value, "currency_code": currency}});
        if let Some(custom_id) = custom_id {
            resource["custom_id"] = serde_json::json!(custom_id);
        }
        serde_json::to_vec(&serde_json::json!({
            "id": "WH-1", "event_type": kind, "create_time": "2026-03-01T10:00:00Z", "resource": resource
        }))
        .unwrap()
    }

    #[test]
    fn refunds_stockyard_asked_for_are_told_apart_from_full_refunds_and_partial_charge_notices() {
        let group = OrderGroupId::generate();
        let refund = RefundId::generate();
        let object = |status: &str| {
            serde_json::json!({"id": "re_1", "object": "refund", "amount": 700, "currency": "eur", "status": status,
                "payment_intent": "pi_1", "metadata": {"order_group_id": group.to_string(), "refund_id": refund.to_string()}})
        };
        let event = parse_card_event(&card_event("refund.created", object("succeeded"))).unwrap();
        assert_eq!(event.kind, EventKind::RefundUpdated);
        assert_eq!(event.order_event(), None);
        let payment = event.payment.unwrap();
        assert_eq!((payment.reference.as_str(), payment.amount_minor, payment.order_group), ("re_1", 700, Some(group)));
        assert_eq!(
            payment.refund,
            Some(RefundNotice { refund_id: refund, state: ProviderRefundState::Succeeded, failure: None })
        );
        let failed = parse_card_event(&card_event("refund.failed", object("failed"))).unwrap();
        assert_eq!(failed.payment.unwrap().refund.unwrap().state, ProviderRefundState::Failed);
        let pending = parse_card_event(&card_event("refund.updated", object("pending"))).unwrap();
        assert_eq!(pending.payment.unwrap().refund.unwrap().state, ProviderRefundState::Pending);
        let mut unnamed = object("succeeded");
        unnamed["metadata"]["refund_id"] = serde_json::json!("not-an-id");
        assert_eq!(
            parse_card_event(&card_event("refund.created", unnamed)).unwrap_err().field,
            "data.object.metadata.refund_id"
        );
        // A charge partly refunded is not a full refund; one refunded in full is.
        let charge = |refunded: bool| {
            serde_json::json!({"id": "ch_1", "amount": 2000, "currency": "eur", "refunded": refunded,
                "metadata": {"order_group_id": group.to_string()}})
        };
        let partial = parse_card_event(&card_event("charge.refunded", charge(false))).unwrap();
        assert!(matches!(partial.kind, EventKind::Other(_)) && partial.payment.is_none());
        let full = parse_card_event(&card_event("charge.refunded", charge(true))).unwrap();
        assert_eq!(full.order_event(), Some(OrderEvent::Refunded));
        // The wallet names Stockyard's refund in `invoice_id`; without it a refund is a full one.
        let mut body: serde_json::Value =
            serde_json::from_slice(&wallet_event("PAYMENT.CAPTURE.REFUNDED", "7.00", "EUR", Some(&group.to_string())))
                .unwrap();
        assert_eq!(parse_wallet_event(&serde_json::to_vec(&body).unwrap()).unwrap().kind, EventKind::Refunded);
        body["resource"]["invoice_id"] = serde_json::json!(refund.to_string());
        body["resource"]["status"] = serde_json::json!("COMPLETED");
        let ours = parse_wallet_event(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(ours.kind, EventKind::RefundUpdated);
        let payment = ours.payment.unwrap();
        assert_eq!((payment.amount_minor, payment.refund.unwrap().state), (700, ProviderRefundState::Succeeded));
    }

    #[test]
    fn a_wallet_event_is_normalised_with_its_decimal_amount_made_exact_minor_units() {
        let group = OrderGroupId::generate();
        let event =
            parse_wallet_event(&wallet_event("PAYMENT.CAPTURE.COMPLETED", "12.34", "EUR", Some(&group.to_string())))
                .unwrap();
        assert_eq!(
            event,
            ProviderEvent {
                provider: Provider::Wallet,
                event_id: "WH-1".into(),
                kind: EventKind::PaymentSucceeded,
                payment: Some(PaymentDetails {
                    reference: "CAP-1".into(),
                    amount_minor: 1234,
                    currency: cur("EUR"),
                    order_group: Some(group),
                    reason: None,
                    refund: None,
                }),
                occurred_at: time("2026-03-01T10:00:00Z"),
            }
        );
        let minor = |value: &str, currency: &str| {
            parse_wallet_event(&wallet_event("PAYMENT.CAPTURE.COMPLETED", value, currency, None))
                .map(|e| e.payment.unwrap().amount_minor)
        };
        assert_eq!(minor("1500", "JPY"), Ok(1500));
        assert_eq!(minor("12.345", "KWD"), Ok(12345));
        assert_eq!(minor("12.3", "KWD"), Ok(12300));
        assert_eq!(minor("0.10", "EUR"), Ok(10));
        assert_eq!(minor("12", "EUR"), Ok(1200));
        for (value, currency) in
            [("12.345", "EUR"), ("1500.5", "JPY"), ("12.3456", "KWD"), ("-1.00", "EUR"), ("1e3", "EUR")]
        {
            let err = minor(value, currency).unwrap_err();
            assert_eq!(err.field, "resource.amount.value", "{value} {currency}");
        }
    }

    #[test]
    fn each_wallet_type_maps_to_its_kind_and_order_event() {
        let cases = [
            ("PAYMENT.CAPTURE.COMPLETED", EventKind::PaymentSucceeded, Some(OrderEvent::PaymentSucceeded)),
            ("PAYMENT.CAPTURE.DENIED", EventKind::PaymentFailed, Some(OrderEvent::PaymentFailed)),
            ("CHECKOUT.ORDER.APPROVED", EventKind::PaymentApproved, None),
            ("CUSTOMER.DISPUTE.CREATED", EventKind::DisputeOpened, None),
            ("PAYMENT.CAPTURE.REFUNDED", EventKind::Refunded, Some(OrderEvent::Refunded)),
        ];
        for (kind, expected, order_event) in cases {
            let event = parse_wallet_event(&wallet_event(kind, "5.00", "USD", None)).unwrap();
            assert_eq!((event.kind.clone(), event.order_event()), (expected, order_event), "{kind}");
            assert!(event.payment.is_some());
        }
        let body = br#"{"id":"WH-9","event_type":"BILLING.PLAN.CREATED","create_time":"2026-03-01T10:00:00Z","resource":{"name":"x"}}"#;
        let other = parse_wallet_event(body).unwrap();
        assert_eq!((other.kind, other.payment), (EventKind::Other("BILLING.PLAN.CREATED".into()), None));
    }

    #[test]
    fn bad_wallet_events_are_refused_naming_the_field() {
        let completed = "PAYMENT.CAPTURE.COMPLETED";
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{".to_vec(), "body"),
            (br#"{"event_type":"X","create_time":"2026-03-01T10:00:00Z"}"#.to_vec(), "id"),
            (br#"{"id":"WH","event_type":"X","create_time":"yesterday"}"#.to_vec(), "create_time"),
            (br#"{"id":"WH","event_type":"X","create_time":1700000000}"#.to_vec(), "create_time"),
            (br#"{"id":"WH","create_time":"2026-03-01T10:00:00Z"}"#.to_vec(), "event_type"),
            (wallet_event(completed, "12.34", "eur", None), "resource.amount.currency_code"),
            (wallet_event(completed, "12.34", "ABC", None), "resource.amount.currency_code"),
            (wallet_event(completed, "", "EUR", None), "resource.amount.value"),
            (wallet_event(completed, "12.34", "EUR", Some("not-an-id")), "resource.custom_id"),
            (
                br#"{"id":"WH","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2026-03-01T10:00:00Z","resource":{"id":"C","amount":{"value":12.34,"currency_code":"EUR"}}}"#.to_vec(),
                "resource.amount.value",
            ),
            (
                br#"{"id":"WH","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2026-03-01T10:00:00Z","resource":{"amount":{"value":"1.00","currency_code":"EUR"}}}"#.to_vec(),
                "resource.id",
            ),
        ];
        for (body, field) in cases {
            let err = parse_wallet_event(&body).unwrap_err();
            assert_eq!(err.field, field, "{}: {err}", String::from_utf8_lossy(&body));
        }
    }
}
