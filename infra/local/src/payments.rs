//! The payment providers' stand-in, as their own test modes behave: a card provider in Stripe's
//! style and a wallet provider in PayPal's style, under `/_local/payments/`, kept in the tool's
//! memory. It takes payments the way the real APIs do (a card payment intent with an
//! `Idempotency-Key`; a wallet order with an approval link and a capture), lets a test or a curl
//! user decide what the customer and the bank do (approve, decline, ask for 3-D Secure, dispute,
//! refund), and tells Stockyard what happened through signed webhooks, in exactly the shapes and
//! with exactly the signatures `stockyard_domain::payment` parses and verifies.
//!
//! Webhooks go out in the order things happened, each retried with a doubling backoff while the
//! receiver answers anything but 2xx (a 404 too: the receiver may not exist yet), and every
//! attempt is recorded (`GET /_local/payments/deliveries`). Like the real providers, the
//! simulator can deliver an event more than once and out of order: `duplicates` sends each event
//! that many times (same event id, each copy signed at its own send), `shuffle` mixes the copies
//! of a batch, and `hold` keeps deliveries back until `POST /_local/payments/deliveries/release`,
//! so a whole payment's events can be released at once, shuffled among their siblings.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use stockyard_domain::payment::{self, Provider};
use stockyard_domain::{Currency, Money};
use tokio::sync::mpsc;

const PREFIX: &str = "/_local/payments/";
const MAX_BODY: usize = 1024 * 1024;
/// How long one delivery attempt waits for the receiver's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many copies of one event.
const MAX_DUPLICATES: u32 = 20;
const CARD_API_VERSION: &str = "2024-06-20";

// ---- configuration ----------------------------------------------------------------------------

/// How deliveries are made; changed at run time with `POST /_local/payments/settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Copies sent of each event (1: once).
    pub duplicates: u32,
    /// Mix the copies of a batch (and of a release) before sending them.
    pub shuffle: bool,
    /// Keep deliveries back until `POST /_local/payments/deliveries/release`.
    pub hold: bool,
    pub card_webhook_url: String,
    pub wallet_webhook_url: String,
    /// Attempts of one delivery, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; each later retry waits twice the one before.
    pub backoff_ms: u64,
}

/// A change of [`Settings`]: only what is given changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    duplicates: Option<u32>,
    shuffle: Option<bool>,
    hold: Option<bool>,
    card_webhook_url: Option<String>,
    wallet_webhook_url: Option<String>,
    max_attempts: Option<u32>,
    backoff_ms: Option<u64>,
}

/// The simulator's secrets and where it sends, from the local parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// The card provider's endpoint secret (`CardWebhookSecret`).
    pub card_secret: String,
    /// The wallet provider's webhook secret (`WalletWebhookSecret`).
    pub wallet_secret: String,
    /// Stockyard's webhook registration at the wallet provider (`WalletWebhookId`).
    pub wallet_webhook_id: String,
    /// The base of the links the simulator hands out (the wallet's approval page): the local API.
    pub public_url: String,
    pub settings: Settings,
}

impl Config {
    /// From the stack's parameters (infra/local/parameters.json): `CardWebhookSecret`,
    /// `WalletWebhookSecret`, `WalletWebhookId`, and optionally `CardWebhookUrl`,
    /// `WalletWebhookUrl` (default: the local API's `/webhooks/payments/card` and `/wallet`),
    /// `PaymentWebhookMaxAttempts` and `PaymentWebhookBackoffMilliseconds`.
    pub fn from_parameters(params: &BTreeMap<String, String>, api_url: &str) -> Config {
        let text = |name: &str, default: String| params.get(name).cloned().unwrap_or(default);
        let max_attempts = params.get("PaymentWebhookMaxAttempts").and_then(|v| v.parse().ok()).unwrap_or(4);
        let backoff_ms = params.get("PaymentWebhookBackoffMilliseconds").and_then(|v| v.parse().ok()).unwrap_or(250);
        Config {
            card_secret: text("CardWebhookSecret", "whsec_local".into()),
            wallet_secret: text("WalletWebhookSecret", "wallet_local".into()),
            wallet_webhook_id: text("WalletWebhookId", "WH-LOCAL".into()),
            public_url: api_url.trim_end_matches('/').to_string(),
            settings: Settings {
                duplicates: 1,
                shuffle: false,
                hold: false,
                card_webhook_url: text("CardWebhookUrl", format!("{api_url}/webhooks/payments/card")),
                wallet_webhook_url: text("WalletWebhookUrl", format!("{api_url}/webhooks/payments/wallet")),
                max_attempts: max_attempts.max(1),
                backoff_ms,
            },
        }
    }
}

// ---- errors -----------------------------------------------------------------------------------

/// A refused request, in the shape of the provider (or of the local tool) it was made to.
#[derive(Debug, Clone, PartialEq)]
struct Refusal {
    status: StatusCode,
    body: Value,
}

impl Refusal {
    /// The card provider's error: `{error: {type, code, message, param}}`.
    fn card(status: StatusCode, code: &str, message: impl Into<String>, param: Option<&str>) -> Self {
        let kind = if status == StatusCode::BAD_REQUEST && code == "idempotency_error" {
            "idempotency_error"
        } else {
            "invalid_request_error"
        };
        let mut error = json!({"type": kind, "code": code, "message": message.into()});
        if let Some(param) = param {
            error["param"] = json!(param);
        }
        Refusal { status, body: json!({ "error": error }) }
    }

    fn card_state(intent: &Intent, message: impl Into<String>) -> Self {
        let mut r = Self::card(StatusCode::BAD_REQUEST, "payment_intent_unexpected_state", message, None);
        r.body["error"]["payment_intent"] = intent.json();
        r
    }

    /// The wallet provider's error: `{name, message, details: [{issue, description, field}]}`.
    fn wallet(status: StatusCode, issue: &str, description: impl Into<String>, field: Option<&str>) -> Self {
        let (name, message) = match status {
            StatusCode::NOT_FOUND => ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
            StatusCode::BAD_REQUEST => {
                ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema.")
            }
            _ => (
                "UNPROCESSABLE_ENTITY",
                "The requested action could not be performed, semantically incorrect, or failed business validation.",
            ),
        };
        let mut detail = json!({"issue": issue, "description": description.into()});
        if let Some(field) = field {
            detail["field"] = json!(field);
        }
        Refusal { status, body: json!({"name": name, "message": message, "details": [detail]}) }
    }

    /// The local tool's own error (settings, flags), in the project's shape.
    fn local(status: StatusCode, code: &str, message: impl Into<String>, field: Option<&str>) -> Self {
        Refusal { status, body: json!({"error": {"code": code, "message": message.into(), "field": field}}) }
    }
}

// ---- ids and amounts --------------------------------------------------------------------------

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPPER_ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn random_text(rng: &mut StdRng, alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// A card provider id: `pi_3PZ...` (prefix and 24 letters and digits).
fn card_id(rng: &mut StdRng, prefix: &str) -> String {
    format!("{prefix}_{}", random_text(rng, ALPHANUMERIC, 24))
}

/// A wallet provider id: 17 upper-case letters and digits, as its orders and captures have.
fn wallet_id(rng: &mut StdRng) -> String {
    random_text(rng, UPPER_ALPHANUMERIC, 17)
}

/// Minor units as the wallet provider writes them: decimal text in major units.
fn major_text(amount_minor: i64, currency: Currency) -> String {
    let exponent = currency.exponent();
    if exponent == 0 {
        return amount_minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    format!("{}.{:0width$}", amount_minor / scale, amount_minor % scale, width = exponent as usize)
}

fn wallet_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---- the card provider ------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntentStatus {
    RequiresPaymentMethod,
    RequiresAction,
    Succeeded,
    /// The shop withdrew the payment (its order was cancelled): it can no longer be paid.
    Canceled,
}

impl IntentStatus {
    fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Succeeded => "succeeded",
            IntentStatus::Canceled => "canceled",
        }
    }
}

/// What a card payment intent is created with; also what an `Idempotency-Key` is compared on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NewIntent {
    amount: i64,
    /// Lower case, as the card provider writes it.
    currency: String,
    metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Intent {
    id: String,
    client_secret: String,
    new: NewIntent,
    status: IntentStatus,
    created: i64,
    /// The charge of the successful payment.
    charge: Option<String>,
    last_payment_error: Option<Value>,
    dispute: Option<String>,
    /// Refunds of the charge: id and minor units.
    refunds: Vec<(String, i64)>,
}

impl Intent {
    fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.1).sum()
    }

    fn json(&self) -> Value {
        let next_action = (self.status == IntentStatus::RequiresAction)
            .then(|| json!({"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}));
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.new.amount,
            "amount_received": if self.status == IntentStatus::Succeeded { self.new.amount } else { 0 },
            "currency": self.new.currency,
            "status": self.status.as_str(),
            "client_secret": self.client_secret,
            "metadata": self.new.metadata,
            "created": self.created,
            "latest_charge": self.charge,
            "last_payment_error": self.last_payment_error,
            "next_action": next_action,
            "payment_method_types": ["card"],
            "livemode": false,
        })
    }

    fn charge_json(&self, charge: &str) -> Value {
        let refunds: Vec<Value> = self
            .refunds
            .iter()
            .map(|(id, amount)| json!({"id": id, "object": "refund", "amount": amount, "status": "succeeded"}))
            .collect();
        json!({
            "id": charge,
            "object": "charge",
            "amount": self.new.amount,
            "amount_captured": self.new.amount,
            "amount_refunded": self.refunded(),
            "currency": self.new.currency,
            "payment_intent": self.id,
            "metadata": self.new.metadata,
            "paid": true,
            "refunded": self.refunded() >= self.new.amount,
            "disputed": self.dispute.is_some(),
            "status": "succeeded",
            "refunds": {"object": "list", "data": refunds},
            "livemode": false,
        })
    }
}

/// What a test (or a curl user) makes the customer or the bank do to a card payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardControl {
    /// The customer pays (and completes 3-D Secure, when asked): `succeeded`.
    Approve,
    /// The bank declines: back to `requires_payment_method`, with `last_payment_error`.
    Decline,
    /// The bank asks for 3-D Secure: `requires_action` until approved or declined.
    RequireAction,
    /// The cardholder disputes the payment (a chargeback).
    Dispute,
    /// The merchant refunds the payment in full.
    Refund,
    /// The merchant withdraws a payment not yet made (`POST /v1/payment_intents/{id}/cancel`).
    Cancel,
}

impl CardControl {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "approve" => CardControl::Approve,
            "decline" => CardControl::Decline,
            "require_action" => CardControl::RequireAction,
            "dispute" => CardControl::Dispute,
            "refund" => CardControl::Refund,
            _ => return None,
        })
    }
}

/// Reads a card create body (form fields or JSON) into what an intent is made of.
fn new_intent(fields: &Map<String, Value>) -> Result<NewIntent, Refusal> {
    let missing = |param: &str| {
        Refusal::card(
            StatusCode::BAD_REQUEST,
            "parameter_missing",
            format!("Missing required param: {param}."),
            Some(param),
        )
    };
    let amount = match fields.get("amount") {
        None => return Err(missing("amount")),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        Some(_) => None,
    };
    let amount = amount.filter(|a| *a > 0).ok_or_else(|| {
        Refusal::card(
            StatusCode::BAD_REQUEST,
            "parameter_invalid_integer",
            "Invalid positive integer: amount must be a whole number of minor units above 0.",
            Some("amount"),
        )
    })?;
    let currency = match fields.get("currency") {
        None => return Err(missing("currency")),
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(_) => String::new(),
    };
    if Currency::parse("currency", &currency.to_ascii_uppercase()).is_err() {
        return Err(Refusal::card(
            StatusCode::BAD_REQUEST,
            "parameter_invalid_string",
            format!("Invalid currency: {currency}."),
            Some("currency"),
        ));
    }
    let mut metadata = BTreeMap::new();
    match fields.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(entries)) => {
            for (key, value) in entries {
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => {
                        return Err(Refusal::card(
                            StatusCode::BAD_REQUEST,
                            "parameter_invalid_string",
                            "Metadata values must be strings.",
                            Some(&format!("metadata[{key}]")),
                        ));
                    }
                };
                metadata.insert(key.clone(), value);
            }
        }
        Some(_) => {
            return Err(Refusal::card(
                StatusCode::BAD_REQUEST,
                "parameter_invalid_object",
                "Invalid object: metadata must be a set of key-value pairs.",
                Some("metadata"),
            ));
        }
    }
    Ok(NewIntent { amount, currency, metadata })
}

// ---- the wallet provider ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderStatus {
    Created,
    Approved,
    Completed,
    Voided,
}

impl OrderStatus {
    fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "CREATED",
            OrderStatus::Approved => "APPROVED",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Voided => "VOIDED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NewOrder {
    amount: Money,
    custom_id: Option<String>,
}

#[derive(Debug, Clone)]
struct Capture {
    id: String,
    /// `COMPLETED`, `DECLINED` or `REFUNDED`.
    status: &'static str,
    created: DateTime<Utc>,
    dispute: Option<String>,
    /// Refunds of the capture: id and minor units.
    refunds: Vec<(String, i64)>,
}

impl Capture {
    fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.1).sum()
    }
}

#[derive(Debug, Clone)]
struct Order {
    id: String,
    new: NewOrder,
    status: OrderStatus,
    created: DateTime<Utc>,
    capture: Option<Capture>,
}

impl Order {
    fn amount_json(&self) -> Value {
        json!({"currency_code": self.new.amount.currency.code(), "value": major_text(self.new.amount.amount, self.new.amount.currency)})
    }

    fn capture_json(&self, capture: &Capture) -> Value {
        json!({
            "id": capture.id,
            "status": capture.status,
            "amount": self.amount_json(),
            "custom_id": self.new.custom_id,
            "final_capture": true,
            "create_time": wallet_time(capture.created),
            "supplementary_data": {"related_ids": {"order_id": self.id}},
        })
    }

    fn json(&self, base: &str) -> Value {
        let mut unit =
            json!({"reference_id": "default", "amount": self.amount_json(), "custom_id": self.new.custom_id});
        if let Some(capture) = &self.capture {
            unit["payments"] = json!({"captures": [self.capture_json(capture)]});
        }
        let api = format!("{base}{PREFIX}wallet/v2/checkout/orders/{}", self.id);
        json!({
            "id": self.id,
            "intent": "CAPTURE",
            "status": self.status.as_str(),
            "create_time": wallet_time(self.created),
            "purchase_units": [unit],
            "links": [
                {"href": api, "rel": "self", "method": "GET"},
                {"href": format!("{base}{PREFIX}wallet/approve/{}", self.id), "rel": "approve", "method": "GET"},
                {"href": format!("{api}/capture"), "rel": "capture", "method": "POST"},
            ],
        })
    }

    /// The order as an event's resource: its purchase unit's amount and `custom_id` also at the
    /// top, where the event readers look.
    fn resource(&self, base: &str) -> Value {
        let mut resource = self.json(base);
        resource["amount"] = self.amount_json();
        resource["custom_id"] = json!(self.new.custom_id);
        resource
    }
}

/// What a test makes the payer, the bank or the merchant do to a wallet order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletControl {
    /// The payer approves the order on the approval page: `APPROVED`.
    Approve,
    /// The merchant captures the approved order: `COMPLETED`, with a completed capture.
    Capture,
    /// The capture of the approved order is denied: a `DECLINED` capture, the order `VOIDED`.
    Deny,
    /// The payer opens a dispute on the captured payment.
    Dispute,
    /// The merchant refunds the capture in full.
    Refund,
}

impl WalletControl {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "approve" => WalletControl::Approve,
            "capture" => WalletControl::Capture,
            "deny" => WalletControl::Deny,
            "dispute" => WalletControl::Dispute,
            "refund" => WalletControl::Refund,
            _ => return None,
        })
    }
}

/// Reads a wallet create body: `{intent: "CAPTURE", purchase_units: [{amount: {currency_code,
/// value}, custom_id}]}`.
fn new_order(body: &Value) -> Result<NewOrder, Refusal> {
    let invalid = |field: &str, issue: &str, description: &str| {
        Refusal::wallet(StatusCode::BAD_REQUEST, issue, description, Some(field))
    };
    match body.get("intent").and_then(Value::as_str) {
        Some("CAPTURE") => {}
        Some(_) => return Err(invalid("/intent", "INVALID_PARAMETER_VALUE", "Only CAPTURE is supported.")),
        None => return Err(invalid("/intent", "MISSING_REQUIRED_PARAMETER", "A required field is missing.")),
    }
    let unit = body
        .get("purchase_units")
        .and_then(Value::as_array)
        .and_then(|units| units.first())
        .ok_or_else(|| invalid("/purchase_units", "MISSING_REQUIRED_PARAMETER", "A purchase unit is required."))?;
    let code = unit.pointer("/amount/currency_code").and_then(Value::as_str).ok_or_else(|| {
        invalid("/purchase_units/0/amount/currency_code", "MISSING_REQUIRED_PARAMETER", "A required field is missing.")
    })?;
    let currency = Currency::parse("currency_code", code).map_err(|_| {
        invalid("/purchase_units/0/amount/currency_code", "CURRENCY_NOT_SUPPORTED", "Currency code is not supported.")
    })?;
    let value = unit.pointer("/amount/value").and_then(Value::as_str).ok_or_else(|| {
        invalid("/purchase_units/0/amount/value", "MISSING_REQUIRED_PARAMETER", "The amount is decimal text.")
    })?;
    let amount = Money::parse_major("value", value, currency).ok().filter(|m| m.amount > 0).ok_or_else(|| {
        invalid(
            "/purchase_units/0/amount/value",
            "DECIMAL_PRECISION",
            "The amount must be above 0 with at most the currency's decimal places.",
        )
    })?;
    let custom_id = match unit.get("custom_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 127 => Some(s.clone()).filter(|s| !s.is_empty()),
        Some(_) => {
            return Err(invalid(
                "/purchase_units/0/custom_id",
                "INVALID_PARAMETER_VALUE",
                "custom_id is text of at most 127 characters.",
            ));
        }
    };
    Ok(NewOrder { amount, custom_id })
}

// ---- events and deliveries --------------------------------------------------------------------

/// One provider event: its body is made once, so every copy of it carries the same bytes.
#[derive(Debug)]
struct Event {
    provider: Provider,
    id: String,
    kind: &'static str,
    /// The card intent or wallet order it is about.
    payment: String,
    body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum DeliveryState {
    /// Kept back until a release.
    Held,
    /// Waiting for its first attempt.
    Pending,
    Delivered,
    /// Answered with other than 2xx (or not at all); another attempt follows.
    Retrying,
    /// Every attempt failed.
    Failed,
}

#[derive(Debug, Clone, Serialize)]
struct Attempt {
    at: DateTime<Utc>,
    /// The receiver's answer, if there was one.
    status: Option<u16>,
    error: Option<String>,
    ms: u64,
}

#[derive(Debug)]
struct Delivery {
    id: String,
    event: Arc<Event>,
    /// Which copy of the event this is (1-based) of how many.
    copy: u32,
    copies: u32,
    url: String,
    state: DeliveryState,
    attempts: Vec<Attempt>,
    max_attempts: u32,
    backoff: Duration,
}

impl Delivery {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "provider": self.event.provider,
            "event_id": self.event.id,
            "type": self.event.kind,
            "payment": self.event.payment,
            "copy": self.copy,
            "copies": self.copies,
            "url": self.url,
            "state": self.state,
            "status": self.attempts.last().and_then(|a| a.status),
            "attempts": self.attempts.len(),
            "history": self.attempts,
            "event": serde_json::from_slice::<Value>(&self.event.body).unwrap_or(Value::Null),
        })
    }
}

/// How the events of one change are delivered: the settings, overridden by a call's query flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fanout {
    duplicates: u32,
    shuffle: bool,
    hold: bool,
}

fn flag(query: &HashMap<String, String>, name: &str) -> Result<Option<bool>, Refusal> {
    match query.get(name).map(String::as_str) {
        None => Ok(None),
        Some("" | "true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(Refusal::local(StatusCode::BAD_REQUEST, "invalid_field", "must be true or false", Some(name))),
    }
}

fn duplicates_in_range(n: u32, field: &str) -> Result<u32, Refusal> {
    if (1..=MAX_DUPLICATES).contains(&n) {
        Ok(n)
    } else {
        Err(Refusal::local(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("must be from 1 to {MAX_DUPLICATES}"),
            Some(field),
        ))
    }
}

impl Fanout {
    fn from_query(settings: &Settings, query: &HashMap<String, String>) -> Result<Fanout, Refusal> {
        let duplicates = match query.get("duplicates") {
            None => settings.duplicates,
            Some(raw) => duplicates_in_range(raw.parse().unwrap_or(0), "duplicates")?,
        };
        Ok(Fanout {
            duplicates,
            shuffle: flag(query, "shuffle")?.unwrap_or(settings.shuffle),
            hold: flag(query, "hold")?.unwrap_or(settings.hold),
        })
    }
}

// ---- the simulator's state --------------------------------------------------------------------

/// Everything the simulator knows, changed under one lock. Pure: no I/O, so the state machines
/// and the fan-out are tested without a network.
struct State {
    settings: Settings,
    /// Links handed out start here (the local API).
    public_url: String,
    rng: StdRng,
    intents: HashMap<String, Intent>,
    /// `Idempotency-Key` → what was asked and the intent it made.
    intent_keys: HashMap<String, (NewIntent, String)>,
    orders: HashMap<String, Order>,
    /// `PayPal-Request-Id` → the order it made.
    order_keys: HashMap<String, String>,
    /// A refund's idempotency key (card `Idempotency-Key`, wallet `PayPal-Request-Id`) → what was
    /// asked and the refund answered.
    refund_keys: HashMap<String, (String, Value)>,
    deliveries: Vec<Delivery>,
    /// Deliveries kept back, in the order they would have gone.
    held: Vec<usize>,
}

impl State {
    fn new(settings: Settings, public_url: String, rng: StdRng) -> Self {
        State {
            settings,
            public_url,
            rng,
            intents: HashMap::new(),
            intent_keys: HashMap::new(),
            orders: HashMap::new(),
            order_keys: HashMap::new(),
            refund_keys: HashMap::new(),
            deliveries: Vec::new(),
            held: Vec::new(),
        }
    }

    fn card_event(&mut self, kind: &'static str, payment: &str, object: Value, created: i64) -> Event {
        let id = card_id(&mut self.rng, "evt");
        let body = json!({
            "id": id,
            "object": "event",
            "api_version": CARD_API_VERSION,
            "type": kind,
            "created": created,
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": object},
        });
        Event { provider: Provider::Card, id, kind, payment: payment.to_string(), body: body.to_string().into_bytes() }
    }

    fn wallet_event(
        &mut self,
        kind: &'static str,
        resource_type: &str,
        summary: &str,
        payment: &str,
        resource: Value,
        at: DateTime<Utc>,
    ) -> Event {
        let id = format!("WH-{}-{}", wallet_id(&mut self.rng), wallet_id(&mut self.rng));
        let body = json!({
            "id": id,
            "event_version": "1.0",
            "create_time": wallet_time(at),
            "resource_type": resource_type,
            "event_type": kind,
            "summary": summary,
            "resource": resource,
        });
        Event {
            provider: Provider::Wallet,
            id,
            kind,
            payment: payment.to_string(),
            body: body.to_string().into_bytes(),
        }
    }

    /// Creates a payment intent; with a key already used, answers the intent that key made
    /// (`false`: not created now), or refuses a key reused for something else.
    fn create_intent(
        &mut self,
        new: NewIntent,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Value, bool), Refusal> {
        if let Some(key) = key
            && let Some((asked, id)) = self.intent_keys.get(key)
        {
            if *asked != new {
                return Err(Refusal::card(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                    ),
                    None,
                ));
            }
            return Ok((self.intents[id].json(), false));
        }
        let id = card_id(&mut self.rng, "pi");
        let client_secret = format!("{id}_secret_{}", random_text(&mut self.rng, ALPHANUMERIC, 25));
        let intent = Intent {
            id: id.clone(),
            client_secret,
            new: new.clone(),
            status: IntentStatus::RequiresPaymentMethod,
            created: now.timestamp(),
            charge: None,
            last_payment_error: None,
            dispute: None,
            refunds: Vec::new(),
        };
        let answer = intent.json();
        self.intents.insert(id.clone(), intent);
        if let Some(key) = key {
            self.intent_keys.insert(key.to_string(), (new, id));
        }
        Ok((answer, true))
    }

    fn intent(&self, id: &str) -> Result<&Intent, Refusal> {
        self.intents.get(id).ok_or_else(|| {
            Refusal::card(
                StatusCode::NOT_FOUND,
                "resource_missing",
                format!("No such payment_intent: '{id}'"),
                Some("intent"),
            )
        })
    }

    /// Moves a card payment on; answers the intent and the events the change makes.
    fn card_control(
        &mut self,
        id: &str,
        control: CardControl,
        now: DateTime<Utc>,
    ) -> Result<(Value, Vec<Event>), Refusal> {
        let mut intent = self.intent(id)?.clone();
        let t = now.timestamp();
        let status = intent.status;
        let event = match control {
            CardControl::Approve | CardControl::Decline | CardControl::RequireAction
                if status == IntentStatus::Canceled =>
            {
                return Err(Refusal::card_state(
                    &intent,
                    "You cannot confirm this PaymentIntent because it has a status of canceled.",
                ));
            }
            CardControl::Cancel => {
                if status == IntentStatus::Succeeded || status == IntentStatus::Canceled {
                    return Err(Refusal::card_state(
                        &intent,
                        format!("You cannot cancel this PaymentIntent because it has a status of {}.", status.as_str()),
                    ));
                }
                intent.status = IntentStatus::Canceled;
                intent.last_payment_error = None;
                self.card_event("payment_intent.canceled", id, intent.json(), t)
            }
            CardControl::Approve => {
                if status == IntentStatus::Succeeded {
                    return Err(Refusal::card_state(&intent, "This PaymentIntent has already succeeded."));
                }
                intent.status = IntentStatus::Succeeded;
                intent.last_payment_error = None;
                intent.charge = Some(card_id(&mut self.rng, "ch"));
                self.card_event("payment_intent.succeeded", id, intent.json(), t)
            }
            CardControl::Decline => {
                if status == IntentStatus::Succeeded {
                    return Err(Refusal::card_state(&intent, "This PaymentIntent has already succeeded."));
                }
                intent.status = IntentStatus::RequiresPaymentMethod;
                intent.last_payment_error = Some(json!({
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                }));
                self.card_event("payment_intent.payment_failed", id, intent.json(), t)
            }
            CardControl::RequireAction => {
                if status != IntentStatus::RequiresPaymentMethod {
                    return Err(Refusal::card_state(
                        &intent,
                        format!(
                            "This PaymentIntent's status is {}; only one awaiting payment can require action.",
                            status.as_str()
                        ),
                    ));
                }
                intent.status = IntentStatus::RequiresAction;
                intent.last_payment_error = None;
                self.card_event("payment_intent.requires_action", id, intent.json(), t)
            }
            CardControl::Dispute => {
                let Some(charge) = intent.charge.clone().filter(|_| status == IntentStatus::Succeeded) else {
                    return Err(Refusal::card_state(&intent, "Only a succeeded payment can be disputed."));
                };
                if intent.dispute.is_some() {
                    return Err(Refusal::card(
                        StatusCode::BAD_REQUEST,
                        "charge_already_disputed",
                        format!("Charge {charge} is already disputed."),
                        None,
                    ));
                }
                let dispute = card_id(&mut self.rng, "dp");
                intent.dispute = Some(dispute.clone());
                let object = json!({
                    "id": dispute,
                    "object": "dispute",
                    "amount": intent.new.amount,
                    "currency": intent.new.currency,
                    "charge": charge,
                    "payment_intent": id,
                    "metadata": intent.new.metadata,
                    "reason": "fraudulent",
                    "status": "needs_response",
                    "created": t,
                    "livemode": false,
                });
                self.card_event("charge.dispute.created", id, object, t)
            }
            CardControl::Refund => {
                let Some(charge) = intent.charge.clone().filter(|_| status == IntentStatus::Succeeded) else {
                    return Err(Refusal::card_state(&intent, "Only a succeeded payment can be refunded."));
                };
                if intent.refunded() >= intent.new.amount {
                    return Err(Refusal::card(
                        StatusCode::BAD_REQUEST,
                        "charge_already_refunded",
                        format!("Charge {charge} has already been refunded."),
                        None,
                    ));
                }
                if intent.dispute.is_some() {
                    return Err(Refusal::card(
                        StatusCode::BAD_REQUEST,
                        "charge_disputed",
                        format!("Charge {charge} has been charged back; it cannot be refunded."),
                        None,
                    ));
                }
                let rest = intent.new.amount - intent.refunded();
                intent.refunds.push((card_id(&mut self.rng, "re"), rest));
                let object = intent.charge_json(&charge);
                self.card_event("charge.refunded", id, object, t)
            }
        };
        let answer = intent.json();
        self.intents.insert(id.to_string(), intent);
        Ok((answer, vec![event]))
    }

    /// The refund a key answered before (`Some` with no events), or a refusal when the key was
    /// used for another request.
    fn replayed_refund(&self, key: Option<&str>, asked: &str, provider: Provider) -> Result<Option<Value>, Refusal> {
        let Some((first, answer)) = key.and_then(|k| self.refund_keys.get(k)) else { return Ok(None) };
        if first != asked {
            return Err(match provider {
                Provider::Card => Refusal::card(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    None,
                ),
                Provider::Wallet => Refusal::wallet(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "DUPLICATE_REQUEST_ID",
                    "The PayPal-Request-Id was used for another request.",
                    None,
                ),
            });
        }
        Ok(Some(answer.clone()))
    }

    /// A card refund asked through the API (`POST /v1/refunds`): `amount` minor units (the rest of
    /// the charge when absent) of a succeeded, undisputed payment intent, once per
    /// `Idempotency-Key`. It succeeds at once and tells `refund.created` and `charge.refunded`.
    fn create_card_refund(
        &mut self,
        fields: &Map<String, Value>,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Value, Vec<Event>), Refusal> {
        let asked = Value::Object(fields.clone()).to_string();
        if let Some(answer) = self.replayed_refund(key, &asked, Provider::Card)? {
            return Ok((answer, Vec::new()));
        }
        let text = |name: &str| fields.get(name).and_then(Value::as_str).filter(|v| !v.is_empty());
        let param = |name: &str, message: &str| {
            Refusal::card(StatusCode::BAD_REQUEST, "parameter_invalid", message.to_string(), Some(name))
        };
        let pi =
            text("payment_intent").ok_or_else(|| param("payment_intent", "Missing required param: payment_intent."))?;
        let mut intent = self.intent(pi)?.clone();
        let Some(charge) = intent.charge.clone().filter(|_| intent.status == IntentStatus::Succeeded) else {
            return Err(Refusal::card_state(&intent, "Only a succeeded payment can be refunded."));
        };
        if intent.dispute.is_some() {
            let message = format!("Charge {charge} has been charged back; it cannot be refunded.");
            return Err(Refusal::card(StatusCode::BAD_REQUEST, "charge_disputed", message, None));
        }
        let rest = intent.new.amount - intent.refunded();
        if rest <= 0 {
            let message = format!("Charge {charge} has already been refunded.");
            return Err(Refusal::card(StatusCode::BAD_REQUEST, "charge_already_refunded", message, None));
        }
        let amount = match fields.get("amount") {
            None => rest,
            Some(raw) => raw
                .as_i64()
                .or_else(|| raw.as_str().and_then(|t| t.parse().ok()))
                .filter(|a| *a > 0)
                .ok_or_else(|| param("amount", "Invalid positive integer"))?,
        };
        if amount > rest {
            let message = format!("Refund amount ({amount}) is greater than unrefunded amount on charge ({rest}).");
            return Err(Refusal::card(StatusCode::BAD_REQUEST, "amount_too_large", message, Some("amount")));
        }
        let id = card_id(&mut self.rng, "re");
        intent.refunds.push((id.clone(), amount));
        let t = now.timestamp();
        let refund = json!({
            "id": id,
            "object": "refund",
            "amount": amount,
            "currency": intent.new.currency,
            "charge": charge,
            "payment_intent": pi,
            "metadata": fields.get("metadata").cloned().unwrap_or_else(|| json!({})),
            "reason": text("reason"),
            "status": "succeeded",
            "created": t,
        });
        let events = vec![
            self.card_event("refund.created", pi, refund.clone(), t),
            self.card_event("charge.refunded", pi, intent.charge_json(&charge), t),
        ];
        self.intents.insert(pi.to_string(), intent);
        if let Some(key) = key {
            self.refund_keys.insert(key.to_string(), (asked, refund.clone()));
        }
        Ok((refund, events))
    }

    /// A wallet refund asked through the API (`POST /v2/payments/captures/{id}/refund`): `amount`
    /// (the rest of the capture when absent) of a completed, undisputed capture, once per
    /// `PayPal-Request-Id`. It completes at once and tells `PAYMENT.CAPTURE.REFUNDED` with the
    /// request's `invoice_id` and `custom_id`.
    fn create_wallet_refund(
        &mut self,
        capture_id: &str,
        body: &Value,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(Value, Vec<Event>), Refusal> {
        let asked = format!("{capture_id} {body}");
        if let Some(answer) = self.replayed_refund(key, &asked, Provider::Wallet)? {
            return Ok((answer, Vec::new()));
        }
        let refuse = |issue: &str, description: String, field: Option<&str>| {
            Err(Refusal::wallet(StatusCode::UNPROCESSABLE_ENTITY, issue, description, field))
        };
        let Some(order_id) =
            self.orders.values().find(|o| o.capture.as_ref().is_some_and(|c| c.id == capture_id)).map(|o| o.id.clone())
        else {
            let description = "The specified resource does not exist.";
            return Err(Refusal::wallet(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", description, None));
        };
        let mut order = self.orders[&order_id].clone();
        let currency = order.new.amount.currency;
        let total = order.new.amount.amount;
        let custom_id =
            body.get("custom_id").and_then(Value::as_str).map(str::to_string).or(order.new.custom_id.clone());
        let capture = order.capture.as_mut().expect("found by its capture");
        if capture.status == "DECLINED" {
            return refuse("CAPTURE_NOT_FOUND", "The capture was declined.".into(), None);
        }
        if capture.dispute.is_some() {
            return refuse("REFUND_NOT_ALLOWED", format!("Capture {capture_id} is disputed."), None);
        }
        let rest = total - capture.refunded();
        if rest <= 0 {
            return refuse("CAPTURE_FULLY_REFUNDED", format!("Capture {capture_id} is already refunded."), None);
        }
        let amount = match body.get("amount") {
            None | Some(Value::Null) => rest,
            Some(given) => {
                let code = given.get("currency_code").and_then(Value::as_str).unwrap_or_default();
                if code != currency.code() {
                    return refuse(
                        "CURRENCY_MISMATCH",
                        format!("The capture is in {currency}."),
                        Some("/amount/currency_code"),
                    );
                }
                let value = given.get("value").and_then(Value::as_str).unwrap_or_default();
                match Money::parse_major("amount.value", value, currency) {
                    Ok(m) if m.amount > 0 => m.amount,
                    _ => {
                        return refuse(
                            "INVALID_PARAMETER_VALUE",
                            "The amount is not valid.".into(),
                            Some("/amount/value"),
                        );
                    }
                }
            }
        };
        if amount > rest {
            return refuse(
                "REFUND_AMOUNT_EXCEEDED",
                format!("At most {} can be refunded.", major_text(rest, currency)),
                None,
            );
        }
        let id = wallet_id(&mut self.rng);
        capture.refunds.push((id.clone(), amount));
        capture.status = if capture.refunded() >= total { "REFUNDED" } else { "PARTIALLY_REFUNDED" };
        let capture_url = format!("{}{PREFIX}wallet/v2/payments/captures/{capture_id}", self.public_url);
        let refund = json!({
            "id": id,
            "status": "COMPLETED",
            "amount": {"currency_code": currency.code(), "value": major_text(amount, currency)},
            "invoice_id": body.get("invoice_id"),
            "custom_id": custom_id,
            "note_to_payer": body.get("note_to_payer"),
            "create_time": wallet_time(now),
            "links": [{"href": capture_url, "rel": "up", "method": "GET"}],
        });
        let event = self.wallet_event(
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            "A capture was refunded",
            &order_id,
            refund.clone(),
            now,
        );
        self.orders.insert(order_id, order);
        if let Some(key) = key {
            self.refund_keys.insert(key.to_string(), (asked, refund.clone()));
        }
        Ok((refund, vec![event]))
    }

    /// Creates a wallet order; a `PayPal-Request-Id` already used answers the order it made.
    fn create_order(&mut self, new: NewOrder, key: Option<&str>, now: DateTime<Utc>) -> (Value, bool) {
        if let Some(order) = key.and_then(|k| self.order_keys.get(k)).and_then(|id| self.orders.get(id)) {
            return (order.json(&self.public_url), false);
        }
        let id = wallet_id(&mut self.rng);
        let order = Order { id: id.clone(), new, status: OrderStatus::Created, created: now, capture: None };
        let answer = order.json(&self.public_url);
        self.orders.insert(id.clone(), order);
        if let Some(key) = key {
            self.order_keys.insert(key.to_string(), id);
        }
        (answer, true)
    }

    fn order(&self, id: &str) -> Result<&Order, Refusal> {
        self.orders.get(id).ok_or_else(|| {
            Refusal::wallet(
                StatusCode::NOT_FOUND,
                "INVALID_RESOURCE_ID",
                format!("Specified resource ID {id} does not exist."),
                None,
            )
        })
    }

    /// Moves a wallet order on; answers the order and the events the change makes.
    fn wallet_control(
        &mut self,
        id: &str,
        control: WalletControl,
        now: DateTime<Utc>,
    ) -> Result<(Value, Vec<Event>), Refusal> {
        let mut order = self.order(id)?.clone();
        let refuse = |issue: &str, description: String| {
            Err(Refusal::wallet(StatusCode::UNPROCESSABLE_ENTITY, issue, description, None))
        };
        let status = order.status.as_str();
        let base = self.public_url.clone();
        let mut events = Vec::new();
        match control {
            WalletControl::Approve => match order.status {
                OrderStatus::Created => {
                    order.status = OrderStatus::Approved;
                    let resource = order.resource(&base);
                    events.push(self.wallet_event(
                        "CHECKOUT.ORDER.APPROVED",
                        "checkout-order",
                        "An order has been approved by buyer",
                        id,
                        resource,
                        now,
                    ));
                }
                // Approving again (a reloaded approval page) changes nothing.
                OrderStatus::Approved => {}
                _ => return refuse("ORDER_CANNOT_BE_APPROVED", format!("The order is {status}.")),
            },
            WalletControl::Capture | WalletControl::Deny => {
                match order.status {
                    OrderStatus::Approved => {}
                    OrderStatus::Created => {
                        return refuse("ORDER_NOT_APPROVED", "The payer has not yet approved the order.".into());
                    }
                    _ => return refuse("ORDER_ALREADY_CAPTURED", format!("The order is {status}.")),
                }
                let denied = control == WalletControl::Deny;
                let capture = Capture {
                    id: wallet_id(&mut self.rng),
                    status: if denied { "DECLINED" } else { "COMPLETED" },
                    created: now,
                    dispute: None,
                    refunds: Vec::new(),
                };
                let resource = order.capture_json(&capture);
                order.capture = Some(capture);
                order.status = if denied { OrderStatus::Voided } else { OrderStatus::Completed };
                let (kind, summary) = if denied {
                    ("PAYMENT.CAPTURE.DENIED", "A payment capture was denied")
                } else {
                    ("PAYMENT.CAPTURE.COMPLETED", "Payment completed")
                };
                events.push(self.wallet_event(kind, "capture", summary, id, resource, now));
            }
            WalletControl::Dispute | WalletControl::Refund => {
                let amount = order.amount_json();
                let total = order.new.amount.amount;
                let custom_id = order.new.custom_id.clone();
                let Some(capture) = order.capture.as_mut().filter(|c| c.status != "DECLINED") else {
                    return refuse("CAPTURE_NOT_FOUND", "The order has no completed capture.".into());
                };
                if control == WalletControl::Dispute {
                    if capture.dispute.is_some() {
                        return refuse("DISPUTE_ALREADY_OPEN", format!("Capture {} is already disputed.", capture.id));
                    }
                    let dispute = format!("PP-D-{}", self.rng.random_range(10_000..100_000));
                    capture.dispute = Some(dispute.clone());
                    let resource = json!({
                        "id": dispute,
                        "dispute_id": dispute,
                        "create_time": wallet_time(now),
                        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
                        "status": "OPEN",
                        "amount": amount,
                        "dispute_amount": amount,
                        "custom_id": custom_id,
                        "disputed_transactions": [{"seller_transaction_id": capture.id, "custom": custom_id}],
                    });
                    events.push(self.wallet_event(
                        "CUSTOMER.DISPUTE.CREATED",
                        "dispute",
                        "A new dispute opened",
                        id,
                        resource,
                        now,
                    ));
                } else {
                    if capture.refunded() >= total {
                        return refuse(
                            "CAPTURE_FULLY_REFUNDED",
                            format!("Capture {} is already refunded.", capture.id),
                        );
                    }
                    if capture.dispute.is_some() {
                        return refuse("REFUND_NOT_ALLOWED", format!("Capture {} is disputed.", capture.id));
                    }
                    let refund = wallet_id(&mut self.rng);
                    capture.refunds.push((refund.clone(), total - capture.refunded()));
                    capture.status = "REFUNDED";
                    let capture_url = format!("{base}{PREFIX}wallet/v2/payments/captures/{}", capture.id);
                    let resource = json!({
                        "id": refund,
                        "status": "COMPLETED",
                        "amount": amount,
                        "custom_id": custom_id,
                        "create_time": wallet_time(now),
                        "links": [{"href": capture_url, "rel": "up", "method": "GET"}],
                    });
                    events.push(self.wallet_event(
                        "PAYMENT.CAPTURE.REFUNDED",
                        "refund",
                        "A capture was refunded",
                        id,
                        resource,
                        now,
                    ));
                }
            }
        }
        let answer = order.json(&base);
        self.orders.insert(id.to_string(), order);
        Ok((answer, events))
    }

    /// Makes the deliveries of `events` (each `fanout.duplicates` times, shuffled if asked) and
    /// answers those to send now: none when they are held.
    fn enqueue(&mut self, events: Vec<Event>, fanout: Fanout) -> Vec<usize> {
        let mut batch = Vec::new();
        for event in events {
            let event = Arc::new(event);
            let url = match event.provider {
                Provider::Card => self.settings.card_webhook_url.clone(),
                Provider::Wallet => self.settings.wallet_webhook_url.clone(),
            };
            for copy in 1..=fanout.duplicates {
                batch.push(self.deliveries.len());
                self.deliveries.push(Delivery {
                    id: format!("dlv_{}", random_text(&mut self.rng, ALPHANUMERIC, 16)),
                    event: event.clone(),
                    copy,
                    copies: fanout.duplicates,
                    url: url.clone(),
                    state: if fanout.hold { DeliveryState::Held } else { DeliveryState::Pending },
                    attempts: Vec::new(),
                    max_attempts: self.settings.max_attempts,
                    backoff: Duration::from_millis(self.settings.backoff_ms),
                });
            }
        }
        if fanout.shuffle {
            batch.shuffle(&mut self.rng);
        }
        if fanout.hold {
            self.held.extend(batch);
            return Vec::new();
        }
        batch
    }

    /// Every held delivery, in the order to send it.
    fn release(&mut self, shuffle: bool) -> Vec<usize> {
        let mut batch = std::mem::take(&mut self.held);
        if shuffle {
            batch.shuffle(&mut self.rng);
        }
        for &i in &batch {
            self.deliveries[i].state = DeliveryState::Pending;
        }
        batch
    }

    fn change_settings(&mut self, change: SettingsChange) -> Result<(), Refusal> {
        let mut settings = self.settings.clone();
        if let Some(n) = change.duplicates {
            settings.duplicates = duplicates_in_range(n, "duplicates")?;
        }
        if let Some(n) = change.max_attempts {
            if !(1..=20).contains(&n) {
                let message = "must be from 1 to 20";
                return Err(Refusal::local(StatusCode::BAD_REQUEST, "invalid_field", message, Some("max_attempts")));
            }
            settings.max_attempts = n;
        }
        for (field, url, target) in [
            ("card_webhook_url", change.card_webhook_url, &mut settings.card_webhook_url),
            ("wallet_webhook_url", change.wallet_webhook_url, &mut settings.wallet_webhook_url),
        ] {
            if let Some(url) = url {
                if reqwest::Url::parse(&url).is_err() {
                    let message = "must be an absolute URL";
                    return Err(Refusal::local(StatusCode::BAD_REQUEST, "invalid_field", message, Some(field)));
                }
                *target = url;
            }
        }
        settings.shuffle = change.shuffle.unwrap_or(settings.shuffle);
        settings.hold = change.hold.unwrap_or(settings.hold);
        settings.backoff_ms = change.backoff_ms.unwrap_or(settings.backoff_ms);
        self.settings = settings;
        Ok(())
    }
}

// ---- request bodies ---------------------------------------------------------------------------

/// A form body (`a=1&metadata[k]=v`) as a JSON object (`{"a": "1", "metadata": {"k": "v"}}`).
fn form_fields(body: &[u8]) -> Map<String, Value> {
    let decode = |s: &str| crate::apigw::percent_decode(&s.replace('+', " "));
    let mut fields = Map::new();
    for pair in String::from_utf8_lossy(body).split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (decode(name), Value::String(decode(value)));
        match name.split_once('[').and_then(|(outer, rest)| Some((outer, rest.strip_suffix(']')?))) {
            Some((outer, inner)) => {
                let entry = fields.entry(outer.to_string()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(nested) = entry {
                    nested.insert(inner.to_string(), value);
                }
            }
            None => {
                fields.insert(name, value);
            }
        }
    }
    fields
}

/// A card request body: form fields (how the provider's clients send them) or a JSON object.
fn card_fields(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Ok(form_fields(body));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(Refusal::card(StatusCode::BAD_REQUEST, "parameter_invalid", "The body is not a JSON object.", None)),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

// ---- the simulator ----------------------------------------------------------------------------

/// The simulator: its state, and a task sending webhooks in order.
pub struct Payments {
    card_secret: String,
    wallet_secret: String,
    wallet_webhook_id: String,
    state: Mutex<State>,
    outbox: mpsc::UnboundedSender<Vec<usize>>,
    http: reqwest::Client,
}

/// What one delivery attempt left to do.
enum AfterAttempt {
    Done,
    RetryAfter(Duration),
}

impl Payments {
    /// Starts the simulator (its sending task runs on the current Tokio runtime until the
    /// simulator is dropped).
    pub fn start(config: Config) -> Arc<Payments> {
        let mut seed = [0u8; 32];
        if getrandom::fill(&mut seed).is_err() {
            seed[..16].copy_from_slice(&ulid::Ulid::new().0.to_be_bytes());
        }
        Self::start_with(config, StdRng::from_seed(seed))
    }

    fn start_with(config: Config, rng: StdRng) -> Arc<Payments> {
        let (outbox, inbox) = mpsc::unbounded_channel();
        let payments = Arc::new(Payments {
            card_secret: config.card_secret,
            wallet_secret: config.wallet_secret,
            wallet_webhook_id: config.wallet_webhook_id,
            state: Mutex::new(State::new(config.settings, config.public_url, rng)),
            outbox,
            http: reqwest::Client::new(),
        });
        tokio::spawn(send_in_order(Arc::downgrade(&payments), inbox));
        payments
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The simulator on its own, for a server of its own (the tests'); the stack's gateway calls
    /// [`Payments::handle`] for `/_local/payments/*` instead.
    #[cfg(test)]
    fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new().fallback(move |req: Request| {
            let payments = self.clone();
            async move { payments.handle(req).await }
        })
    }

    /// Answers a request under `/_local/payments/`.
    pub async fn handle(&self, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|Query(q)| q).unwrap_or_default();
        let answer = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(body) => {
                let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or_default().trim_end_matches('/');
                let segments: Vec<&str> = path.split('/').collect();
                self.route(parts.method.as_str(), &segments, &query, &parts.headers, &body)
            }
            Err(_) => Err(Refusal::local(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "body over 1 MB", None)),
        };
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(refusal) => (refusal.status, refusal.body),
        };
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        response
    }

    fn route(
        &self,
        method: &str,
        segments: &[&str],
        query: &HashMap<String, String>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(StatusCode, Value), Refusal> {
        let now = Utc::now();
        match (method, segments) {
            ("POST", ["card", "v1", "payment_intents"]) => {
                let new = new_intent(&card_fields(headers, body)?)?;
                let (intent, _) = self.state().create_intent(new, header(headers, "idempotency-key"), now)?;
                Ok((StatusCode::OK, intent))
            }
            ("GET", ["card", "v1", "payment_intents", id]) => Ok((StatusCode::OK, self.state().intent(id)?.json())),
            ("POST", ["card", "v1", "refunds"]) => {
                let fields = card_fields(headers, body)?;
                let mut state = self.state();
                let fanout = Fanout::from_query(&state.settings, query)?;
                let (refund, events) = state.create_card_refund(&fields, header(headers, "idempotency-key"), now)?;
                self.send(state.enqueue(events, fanout));
                Ok((StatusCode::OK, refund))
            }
            ("POST", ["wallet", "v2", "payments", "captures", id, "refund"]) => {
                let body = match body {
                    [] => json!({}),
                    _ => serde_json::from_slice::<Value>(body).map_err(|_| {
                        Refusal::wallet(
                            StatusCode::BAD_REQUEST,
                            "MALFORMED_REQUEST_JSON",
                            "The body is not JSON.",
                            None,
                        )
                    })?,
                };
                let mut state = self.state();
                let fanout = Fanout::from_query(&state.settings, query)?;
                let (refund, events) =
                    state.create_wallet_refund(id, &body, header(headers, "paypal-request-id"), now)?;
                self.send(state.enqueue(events, fanout));
                Ok((StatusCode::CREATED, refund))
            }
            ("POST", ["card", "v1", "payment_intents", id, "cancel"]) => {
                card_fields(headers, body)?;
                let mut state = self.state();
                let fanout = Fanout::from_query(&state.settings, query)?;
                let (intent, events) = state.card_control(id, CardControl::Cancel, now)?;
                self.send(state.enqueue(events, fanout));
                Ok((StatusCode::OK, intent))
            }
            ("POST", ["card", "payment_intents", id, control]) => {
                let Some(control) = CardControl::parse(control) else {
                    return Err(not_found(method, segments));
                };
                let mut state = self.state();
                let fanout = Fanout::from_query(&state.settings, query)?;
                let (intent, events) = state.card_control(id, control, now)?;
                self.send(state.enqueue(events, fanout));
                Ok((StatusCode::OK, intent))
            }
            ("POST", ["wallet", "v2", "checkout", "orders"]) => {
                let Ok(body) = serde_json::from_slice::<Value>(body) else {
                    let description = "The body is not JSON.";
                    return Err(Refusal::wallet(StatusCode::BAD_REQUEST, "MALFORMED_REQUEST_JSON", description, None));
                };
                let new = new_order(&body)?;
                let (order, created) = self.state().create_order(new, header(headers, "paypal-request-id"), now);
                Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, order))
            }
            ("GET", ["wallet", "v2", "checkout", "orders", id]) => {
                let state = self.state();
                Ok((StatusCode::OK, state.order(id)?.json(&state.public_url)))
            }
            ("POST", ["wallet", "v2", "checkout", "orders", id, "capture"]) => {
                self.wallet_control(id, WalletControl::Capture, query, now).map(|order| (StatusCode::CREATED, order))
            }
            ("GET" | "POST", ["wallet", "approve", id]) => {
                self.wallet_control(id, WalletControl::Approve, query, now).map(|order| (StatusCode::OK, order))
            }
            ("POST", ["wallet", "orders", id, control]) => {
                let Some(control) = WalletControl::parse(control) else {
                    return Err(not_found(method, segments));
                };
                self.wallet_control(id, control, query, now).map(|order| (StatusCode::OK, order))
            }
            ("GET", ["settings"]) => Ok((StatusCode::OK, json!(self.state().settings))),
            ("POST", ["settings"]) => {
                let change: SettingsChange = serde_json::from_slice(body)
                    .map_err(|e| Refusal::local(StatusCode::BAD_REQUEST, "malformed_request", e.to_string(), None))?;
                let mut state = self.state();
                state.change_settings(change)?;
                Ok((StatusCode::OK, json!(state.settings)))
            }
            ("GET", ["deliveries"]) => {
                let state = self.state();
                let wanted = |d: &&Delivery| {
                    let is = |name: &str, value: &str| query.get(name).is_none_or(|v| v == value);
                    let provider = match d.event.provider {
                        Provider::Card => "card",
                        Provider::Wallet => "wallet",
                    };
                    is("provider", provider)
                        && is("payment", &d.event.payment)
                        && is("event_id", &d.event.id)
                        && is("type", d.event.kind)
                };
                let list: Vec<Value> = state.deliveries.iter().filter(wanted).map(Delivery::json).collect();
                Ok((StatusCode::OK, Value::from(list)))
            }
            ("POST", ["deliveries", "release"]) => {
                let mut state = self.state();
                let shuffle = flag(query, "shuffle")?.unwrap_or(state.settings.shuffle);
                let batch = state.release(shuffle);
                let released = batch.len();
                self.send(batch);
                Ok((StatusCode::OK, json!({ "released": released })))
            }
            _ => Err(not_found(method, segments)),
        }
    }

    fn wallet_control(
        &self,
        id: &str,
        control: WalletControl,
        query: &HashMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Value, Refusal> {
        let mut state = self.state();
        let fanout = Fanout::from_query(&state.settings, query)?;
        let (order, events) = state.wallet_control(id, control, now)?;
        self.send(state.enqueue(events, fanout));
        Ok(order)
    }

    /// Hands deliveries to the sending task (while the state's lock is held, so batches go out
    /// in the order their changes were made).
    fn send(&self, batch: Vec<usize>) {
        if !batch.is_empty() {
            // The task ends only with the simulator, so the channel is open while `self` lives.
            let _ = self.outbox.send(batch);
        }
    }

    /// The signature headers of one delivery of `body` sent at `now`, as each provider signs.
    fn signature_headers(&self, provider: Provider, body: &[u8], now: DateTime<Utc>) -> Vec<(&'static str, String)> {
        match provider {
            Provider::Card => {
                vec![(payment::CARD_SIGNATURE_HEADER, payment::sign_card(&self.card_secret, body, now.timestamp()))]
            }
            Provider::Wallet => {
                let transmission_id = crate::util::uuid().to_string();
                let time = wallet_time(now);
                let signature =
                    payment::sign_wallet(&self.wallet_secret, &self.wallet_webhook_id, &transmission_id, &time, body);
                vec![
                    (payment::WALLET_TRANSMISSION_ID_HEADER, transmission_id),
                    (payment::WALLET_TRANSMISSION_TIME_HEADER, time),
                    (payment::WALLET_TRANSMISSION_SIG_HEADER, signature),
                    ("Paypal-Auth-Algo", "HmacSHA256".to_string()),
                ]
            }
        }
    }

    /// One attempt of delivery `index`, recorded.
    async fn attempt(&self, index: usize) -> AfterAttempt {
        let (event, url) = {
            let state = self.state();
            let delivery = &state.deliveries[index];
            (delivery.event.clone(), delivery.url.clone())
        };
        let at = Utc::now();
        let mut request = self
            .http
            .post(&url)
            .timeout(ATTEMPT_TIMEOUT)
            .header("content-type", "application/json; charset=utf-8")
            .body(event.body.clone());
        for (name, value) in self.signature_headers(event.provider, &event.body, at) {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let (status, error) = match request.send().await {
            Ok(answer) => (Some(answer.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ms = started.elapsed().as_millis() as u64;
        let mut state = self.state();
        let delivery = &mut state.deliveries[index];
        delivery.attempts.push(Attempt { at, status, error: error.clone(), ms });
        let tried = delivery.attempts.len() as u32;
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        delivery.state = if delivered {
            DeliveryState::Delivered
        } else if tried >= delivery.max_attempts {
            DeliveryState::Failed
        } else {
            DeliveryState::Retrying
        };
        let answer = status.map_or_else(|| error.unwrap_or_default(), |s| s.to_string());
        eprintln!(
            "PAY  {:<32} {} copy {}/{} attempt {tried}/{} -> {url}: {answer}",
            event.kind, event.id, delivery.copy, delivery.copies, delivery.max_attempts
        );
        match delivery.state {
            DeliveryState::Retrying => {
                AfterAttempt::RetryAfter(delivery.backoff.saturating_mul(1 << (tried - 1).min(16)))
            }
            _ => AfterAttempt::Done,
        }
    }
}

/// Sends each batch's first attempts in order; a failed delivery retries on its own, so it
/// holds up nothing behind it.
async fn send_in_order(payments: Weak<Payments>, mut inbox: mpsc::UnboundedReceiver<Vec<usize>>) {
    while let Some(batch) = inbox.recv().await {
        let Some(payments) = payments.upgrade() else { return };
        for index in batch {
            if let AfterAttempt::RetryAfter(wait) = payments.attempt(index).await {
                let payments = payments.clone();
                tokio::spawn(async move {
                    let mut wait = wait;
                    loop {
                        tokio::time::sleep(wait).await;
                        match payments.attempt(index).await {
                            AfterAttempt::RetryAfter(next) => wait = next,
                            AfterAttempt::Done => return,
                        }
                    }
                });
            }
        }
    }
}

fn not_found(method: &str, segments: &[&str]) -> Refusal {
    Refusal::local(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no local endpoint {method} {PREFIX}{}", segments.join("/")),
        None,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::body::Bytes;
    use stockyard_domain::ids::OrderGroupId;
    use stockyard_domain::payment::{
        DEFAULT_TOLERANCE, EventKind, ProviderEvent, WalletHeaders, parse_card_event, parse_wallet_event, verify_card,
        verify_wallet,
    };

    use super::*;

    const CARD_SECRET: &str = "whsec_test_card";
    const WALLET_SECRET: &str = "wallet_test_secret";
    const WEBHOOK_ID: &str = "WH-TEST";

    fn settings(base: &str) -> Settings {
        Settings {
            duplicates: 1,
            shuffle: false,
            hold: false,
            card_webhook_url: format!("{base}/card"),
            wallet_webhook_url: format!("{base}/wallet"),
            max_attempts: 3,
            backoff_ms: 20,
        }
    }

    fn config(base: &str) -> Config {
        Config {
            card_secret: CARD_SECRET.into(),
            wallet_secret: WALLET_SECRET.into(),
            wallet_webhook_id: WEBHOOK_ID.into(),
            public_url: base.into(),
            settings: settings(base),
        }
    }

    fn state() -> State {
        State::new(settings("http://127.0.0.1:9"), "http://127.0.0.1:3000".into(), StdRng::seed_from_u64(7))
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn eur(amount: i64, group: &OrderGroupId) -> NewIntent {
        NewIntent {
            amount,
            currency: "eur".into(),
            metadata: BTreeMap::from([("order_group_id".to_string(), group.to_string())]),
        }
    }

    fn parse_card(event: &Event) -> ProviderEvent {
        parse_card_event(&event.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&event.body)))
    }

    fn parse_wallet(event: &Event) -> ProviderEvent {
        parse_wallet_event(&event.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&event.body)))
    }

    fn code(refusal: &Refusal) -> &str {
        refusal.body["error"]["code"].as_str().or_else(|| refusal.body["details"][0]["issue"].as_str()).unwrap()
    }

    #[test]
    fn a_card_payment_walks_through_3d_secure_to_success_and_each_step_sends_its_event() {
        let mut s = state();
        let group = OrderGroupId::generate();
        let (intent, created) = s.create_intent(eur(1999, &group), None, now()).unwrap();
        let id = intent["id"].as_str().unwrap().to_string();
        assert!(created);
        assert!(id.starts_with("pi_"), "{id}");
        assert!(intent["client_secret"].as_str().unwrap().starts_with(&format!("{id}_secret_")));
        assert_eq!(
            (&intent["status"], &intent["amount"], &intent["currency"]),
            (&json!("requires_payment_method"), &json!(1999), &json!("eur"))
        );

        let (intent, events) = s.card_control(&id, CardControl::RequireAction, now()).unwrap();
        assert_eq!(intent["status"], "requires_action");
        assert_eq!(intent["next_action"]["type"], "use_stripe_sdk");
        let action = parse_card(&events[0]);
        assert_eq!(action.kind, EventKind::PaymentRequiresAction);

        let (intent, events) = s.card_control(&id, CardControl::Approve, now()).unwrap();
        assert_eq!((&intent["status"], &intent["amount_received"]), (&json!("succeeded"), &json!(1999)));
        assert!(intent["latest_charge"].as_str().unwrap().starts_with("ch_"));
        let paid = parse_card(&events[0]);
        assert_eq!(paid.kind, EventKind::PaymentSucceeded);
        let payment = paid.payment.unwrap();
        assert_eq!(
            (payment.reference.as_str(), payment.amount().to_string(), payment.order_group),
            (id.as_str(), "19.99 EUR".to_string(), Some(group))
        );
        assert_eq!(paid.occurred_at, now());
        assert_ne!(action.event_id, paid.event_id);

        for control in [CardControl::Approve, CardControl::Decline, CardControl::RequireAction] {
            let refused = s.card_control(&id, control, now()).unwrap_err();
            assert_eq!((refused.status, code(&refused)), (StatusCode::BAD_REQUEST, "payment_intent_unexpected_state"));
            assert_eq!(refused.body["error"]["payment_intent"]["status"], "succeeded");
        }
        let missing = s.card_control("pi_nope", CardControl::Approve, now()).unwrap_err();
        assert_eq!((missing.status, code(&missing)), (StatusCode::NOT_FOUND, "resource_missing"));
    }

    #[test]
    fn a_declined_card_can_be_paid_again_then_refunded_once_and_a_disputed_one_not_refunded() {
        let mut s = state();
        let group = OrderGroupId::generate();
        let (intent, _) = s.create_intent(eur(500, &group), None, now()).unwrap();
        let id = intent["id"].as_str().unwrap().to_string();
        let early = s.card_control(&id, CardControl::Refund, now()).unwrap_err();
        assert_eq!(code(&early), "payment_intent_unexpected_state");

        let (intent, events) = s.card_control(&id, CardControl::Decline, now()).unwrap();
        assert_eq!(intent["status"], "requires_payment_method");
        assert_eq!(intent["last_payment_error"]["code"], "card_declined");
        assert_eq!(parse_card(&events[0]).kind, EventKind::PaymentFailed);
        s.card_control(&id, CardControl::Approve, now()).unwrap();

        let (intent, events) = s.card_control(&id, CardControl::Refund, now()).unwrap();
        let refunded = parse_card(&events[0]);
        assert_eq!(refunded.kind, EventKind::Refunded);
        let payment = refunded.payment.unwrap();
        assert_eq!(Some(payment.reference.as_str()), intent["latest_charge"].as_str());
        assert_eq!((payment.amount_minor, payment.order_group), (500, Some(group)));
        assert_eq!(code(&s.card_control(&id, CardControl::Refund, now()).unwrap_err()), "charge_already_refunded");

        let (intent, _) = s.create_intent(eur(700, &group), None, now()).unwrap();
        let id = intent["id"].as_str().unwrap().to_string();
        assert_eq!(
            code(&s.card_control(&id, CardControl::Dispute, now()).unwrap_err()),
            "payment_intent_unexpected_state"
        );
        s.card_control(&id, CardControl::Approve, now()).unwrap();
        let (_, events) = s.card_control(&id, CardControl::Dispute, now()).unwrap();
        let disputed = parse_card(&events[0]);
        assert_eq!(disputed.kind, EventKind::DisputeOpened);
        let payment = disputed.payment.unwrap();
        assert!(payment.reference.starts_with("dp_"), "{}", payment.reference);
        assert_eq!((payment.amount_minor, payment.order_group), (700, Some(group)));
        assert_eq!(code(&s.card_control(&id, CardControl::Dispute, now()).unwrap_err()), "charge_already_disputed");
        assert_eq!(code(&s.card_control(&id, CardControl::Refund, now()).unwrap_err()), "charge_disputed");
    }

    #[test]
    fn the_refund_apis_refund_part_of_a_payment_once_per_key_never_more_than_was_paid() {
        let group = OrderGroupId::generate();
        let refund_id = stockyard_domain::ids::RefundId::generate();
        let mut s = state();
        let (intent, _) = s.create_intent(eur(1000, &group), None, now()).unwrap();
        let pi = intent["id"].as_str().unwrap().to_string();
        let fields = |amount: &str| {
            form_fields(
                format!("payment_intent={pi}&amount={amount}&metadata[refund_id]={refund_id}&metadata[order_group_id]={group}")
                    .as_bytes(),
            )
        };
        let unpaid = s.create_card_refund(&fields("300"), Some("k1"), now()).unwrap_err();
        assert_eq!(code(&unpaid), "payment_intent_unexpected_state");
        s.card_control(&pi, CardControl::Approve, now()).unwrap();
        let (refund, events) = s.create_card_refund(&fields("300"), Some("k1"), now()).unwrap();
        assert_eq!((refund["status"].as_str(), refund["amount"].as_i64()), (Some("succeeded"), Some(300)));
        let told = parse_card(&events[0]);
        assert_eq!(told.kind, EventKind::RefundUpdated);
        let notice = told.payment.unwrap().refund.unwrap();
        assert_eq!(
            (notice.refund_id, notice.state),
            (refund_id, stockyard_domain::returns::ProviderRefundState::Succeeded)
        );
        // The charge was refunded in part: its own event is no full refund.
        assert!(matches!(parse_card(&events[1]).kind, EventKind::Other(_)));
        // The same key answers the same refund and tells nothing more; another request under it is refused.
        let (again, none) = s.create_card_refund(&fields("300"), Some("k1"), now()).unwrap();
        assert_eq!((again["id"].clone(), none.len()), (refund["id"].clone(), 0));
        assert_eq!(code(&s.create_card_refund(&fields("200"), Some("k1"), now()).unwrap_err()), "idempotency_error");
        assert_eq!(code(&s.create_card_refund(&fields("701"), Some("k2"), now()).unwrap_err()), "amount_too_large");
        assert_eq!(code(&s.create_card_refund(&fields("0"), Some("k2"), now()).unwrap_err()), "parameter_invalid");
        // The rest refunds the charge in full: now its event is a full refund, and nothing is left.
        let (_, events) = s.create_card_refund(&fields("700"), Some("k3"), now()).unwrap();
        assert_eq!(parse_card(&events[1]).kind, EventKind::Refunded);
        assert_eq!(
            code(&s.create_card_refund(&fields("1"), Some("k4"), now()).unwrap_err()),
            "charge_already_refunded"
        );

        // The wallet: part of a capture, named by Stockyard's refund in invoice_id.
        let body = json!({"intent": "CAPTURE", "purchase_units": [
            {"amount": {"currency_code": "EUR", "value": "10.00"}, "custom_id": group.to_string()}]});
        let (order, _) = s.create_order(new_order(&body).unwrap(), None, now());
        let id = order["id"].as_str().unwrap().to_string();
        s.wallet_control(&id, WalletControl::Approve, now()).unwrap();
        let (order, _) = s.wallet_control(&id, WalletControl::Capture, now()).unwrap();
        let capture = order["purchase_units"][0]["payments"]["captures"][0]["id"].as_str().unwrap().to_string();
        let ask = |value: &str| json!({"amount": {"currency_code": "EUR", "value": value}, "invoice_id": refund_id.to_string()});
        let (refund, events) = s.create_wallet_refund(&capture, &ask("2.50"), Some("w1"), now()).unwrap();
        assert_eq!(refund["status"], "COMPLETED");
        let told = parse_wallet(&events[0]);
        assert_eq!(told.kind, EventKind::RefundUpdated);
        let payment = told.payment.unwrap();
        assert_eq!(
            (payment.amount_minor, payment.order_group, payment.refund.unwrap().refund_id),
            (250, Some(group), refund_id)
        );
        let (_, none) = s.create_wallet_refund(&capture, &ask("2.50"), Some("w1"), now()).unwrap();
        assert!(none.is_empty(), "a replayed request id refunds nothing more");
        let over = s.create_wallet_refund(&capture, &ask("7.51"), Some("w2"), now()).unwrap_err();
        assert_eq!(code_of(&over), "REFUND_AMOUNT_EXCEEDED");
        let wrong = json!({"amount": {"currency_code": "USD", "value": "1.00"}});
        assert_eq!(
            code_of(&s.create_wallet_refund(&capture, &wrong, Some("w3"), now()).unwrap_err()),
            "CURRENCY_MISMATCH"
        );
        let missing = s.create_wallet_refund("NOPE", &ask("1.00"), Some("w4"), now()).unwrap_err();
        assert_eq!((missing.status, code_of(&missing)), (StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND"));
        s.create_wallet_refund(&capture, &json!({}), Some("w5"), now()).unwrap();
        let full = s.create_wallet_refund(&capture, &json!({}), Some("w6"), now()).unwrap_err();
        assert_eq!(code_of(&full), "CAPTURE_FULLY_REFUNDED");
    }

    #[test]
    fn a_cancelled_intent_can_no_longer_be_paid_and_a_paid_one_cannot_be_cancelled() {
        let mut s = state();
        let group = OrderGroupId::generate();
        let (intent, _) = s.create_intent(eur(900, &group), None, now()).unwrap();
        let id = intent["id"].as_str().unwrap().to_string();
        s.card_control(&id, CardControl::RequireAction, now()).unwrap();
        let (intent, events) = s.card_control(&id, CardControl::Cancel, now()).unwrap();
        assert_eq!(intent["status"], "canceled");
        let cancelled = parse_card(&events[0]);
        assert_eq!(cancelled.kind, EventKind::Other("payment_intent.canceled".into()));
        for control in [CardControl::Approve, CardControl::Decline, CardControl::RequireAction, CardControl::Cancel] {
            let refused = s.card_control(&id, control, now()).unwrap_err();
            assert_eq!(code(&refused), "payment_intent_unexpected_state", "{control:?}");
            assert_eq!(refused.body["error"]["payment_intent"]["status"], "canceled");
        }

        let (intent, _) = s.create_intent(eur(300, &group), None, now()).unwrap();
        let paid = intent["id"].as_str().unwrap().to_string();
        s.card_control(&paid, CardControl::Approve, now()).unwrap();
        let refused = s.card_control(&paid, CardControl::Cancel, now()).unwrap_err();
        assert_eq!(refused.body["error"]["payment_intent"]["status"], "succeeded");
    }

    #[test]
    fn an_idempotency_key_answers_the_same_intent_and_refuses_other_parameters() {
        let mut s = state();
        let group = OrderGroupId::generate();
        let (first, created) = s.create_intent(eur(1999, &group), Some("key-1"), now()).unwrap();
        let (again, created_again) = s.create_intent(eur(1999, &group), Some("key-1"), now()).unwrap();
        assert!(created && !created_again);
        assert_eq!(first, again);
        let (other, _) = s.create_intent(eur(1999, &group), Some("key-2"), now()).unwrap();
        assert_ne!(first["id"], other["id"]);
        let (unkeyed, _) = s.create_intent(eur(1999, &group), None, now()).unwrap();
        assert_ne!(first["id"], unkeyed["id"]);
        let reused = s.create_intent(eur(2000, &group), Some("key-1"), now()).unwrap_err();
        assert_eq!((reused.status, code(&reused)), (StatusCode::BAD_REQUEST, "idempotency_error"));
        assert_eq!(reused.body["error"]["type"], "idempotency_error");
        assert_eq!(s.intents.len(), 3);
    }

    #[test]
    fn a_card_create_body_is_read_from_form_fields_or_json_and_refused_naming_the_param() {
        let group = OrderGroupId::generate();
        let form = format!("amount=1999&currency=EUR&metadata%5Border_group_id%5D={group}&description=Two+mugs");
        let fields = form_fields(form.as_bytes());
        assert_eq!(fields["description"], "Two mugs");
        assert_eq!(new_intent(&fields).unwrap(), eur(1999, &group));
        let body = json!({"amount": 1999, "currency": "eur", "metadata": {"order_group_id": group.to_string()}});
        assert_eq!(new_intent(body.as_object().unwrap()).unwrap(), eur(1999, &group));
        let mut json_headers = HeaderMap::new();
        json_headers.insert("content-type", HeaderValue::from_static("application/json"));
        assert_eq!(card_fields(&json_headers, body.to_string().as_bytes()).unwrap(), *body.as_object().unwrap());
        assert!(card_fields(&json_headers, b"[1]").is_err());

        let cases = [
            ("currency=eur", "amount"),
            ("amount=1999", "currency"),
            ("amount=0&currency=eur", "amount"),
            ("amount=19.99&currency=eur", "amount"),
            ("amount=-5&currency=eur", "amount"),
            ("amount=1999&currency=euro", "currency"),
            ("amount=1999&currency=eur&metadata=x", "metadata"),
        ];
        for (form, param) in cases {
            let refused = new_intent(&form_fields(form.as_bytes())).unwrap_err();
            assert_eq!(
                (refused.status, refused.body["error"]["param"].as_str()),
                (StatusCode::BAD_REQUEST, Some(param)),
                "{form}"
            );
        }
    }

    #[test]
    fn a_wallet_order_is_approved_captured_and_refunded_with_exact_decimal_amounts() {
        let group = OrderGroupId::generate();
        for (value, code, minor) in [("19.99", "EUR", 1999), ("1500", "JPY", 1500), ("12.345", "KWD", 12345)] {
            let mut s = state();
            let body = json!({"intent": "CAPTURE", "purchase_units": [
                {"amount": {"currency_code": code, "value": value}, "custom_id": group.to_string()}]});
            let (order, created) = s.create_order(new_order(&body).unwrap(), None, now());
            let id = order["id"].as_str().unwrap().to_string();
            assert!(created);
            assert_eq!((id.len(), &order["status"]), (17, &json!("CREATED")));
            assert_eq!(order["purchase_units"][0]["amount"]["value"], value);
            let approve = order["links"].as_array().unwrap().iter().find(|l| l["rel"] == "approve").unwrap();
            assert_eq!(approve["href"], format!("http://127.0.0.1:3000/_local/payments/wallet/approve/{id}"));
            let early = s.wallet_control(&id, WalletControl::Capture, now()).unwrap_err();
            assert_eq!((early.status, code_of(&early)), (StatusCode::UNPROCESSABLE_ENTITY, "ORDER_NOT_APPROVED"));

            let (order, events) = s.wallet_control(&id, WalletControl::Approve, now()).unwrap();
            assert_eq!(order["status"], "APPROVED");
            let approved = parse_wallet(&events[0]);
            assert_eq!(approved.kind, EventKind::PaymentApproved);
            assert_eq!(approved.payment.as_ref().unwrap().reference, id);
            let (_, again) = s.wallet_control(&id, WalletControl::Approve, now()).unwrap();
            assert!(again.is_empty(), "approving again changes nothing");

            let (order, events) = s.wallet_control(&id, WalletControl::Capture, now()).unwrap();
            assert_eq!(order["status"], "COMPLETED");
            let capture = &order["purchase_units"][0]["payments"]["captures"][0];
            let paid = parse_wallet(&events[0]);
            assert_eq!(paid.kind, EventKind::PaymentSucceeded);
            let payment = paid.payment.unwrap();
            assert_eq!(Some(payment.reference.as_str()), capture["id"].as_str());
            assert_eq!(
                (payment.amount_minor, payment.currency.code(), payment.order_group),
                (minor, code, Some(group))
            );
            assert_eq!(paid.occurred_at, now());

            let (_, events) = s.wallet_control(&id, WalletControl::Refund, now()).unwrap();
            let refunded = parse_wallet(&events[0]);
            assert_eq!((refunded.kind, refunded.payment.unwrap().amount_minor), (EventKind::Refunded, minor));
            let twice = s.wallet_control(&id, WalletControl::Refund, now()).unwrap_err();
            assert_eq!(code_of(&twice), "CAPTURE_FULLY_REFUNDED");
            let ids: BTreeSet<String> = [approved.event_id, paid.event_id, refunded.event_id].into();
            assert_eq!(ids.len(), 3);
        }
    }

    fn code_of(refusal: &Refusal) -> &str {
        code(refusal)
    }

    #[test]
    fn a_denied_wallet_capture_voids_the_order_and_a_dispute_blocks_its_refund() {
        let mut s = state();
        let new = NewOrder { amount: Money::new(2500, Currency::parse("c", "USD").unwrap()), custom_id: None };
        let (order, _) = s.create_order(new.clone(), Some("req-1"), now());
        let id = order["id"].as_str().unwrap().to_string();
        let (same, created) = s.create_order(new.clone(), Some("req-1"), now());
        assert_eq!((same["id"].as_str(), created), (Some(id.as_str()), false));
        s.wallet_control(&id, WalletControl::Approve, now()).unwrap();
        let (order, events) = s.wallet_control(&id, WalletControl::Deny, now()).unwrap();
        assert_eq!(order["status"], "VOIDED");
        assert_eq!(order["purchase_units"][0]["payments"]["captures"][0]["status"], "DECLINED");
        let denied = parse_wallet(&events[0]);
        assert_eq!((denied.kind, denied.payment.unwrap().order_group), (EventKind::PaymentFailed, None));
        assert_eq!(
            code_of(&s.wallet_control(&id, WalletControl::Capture, now()).unwrap_err()),
            "ORDER_ALREADY_CAPTURED"
        );
        assert_eq!(code_of(&s.wallet_control(&id, WalletControl::Refund, now()).unwrap_err()), "CAPTURE_NOT_FOUND");

        let (order, _) = s.create_order(new, None, now());
        let id = order["id"].as_str().unwrap().to_string();
        s.wallet_control(&id, WalletControl::Approve, now()).unwrap();
        s.wallet_control(&id, WalletControl::Capture, now()).unwrap();
        let (_, events) = s.wallet_control(&id, WalletControl::Dispute, now()).unwrap();
        let disputed = parse_wallet(&events[0]);
        assert_eq!(disputed.kind, EventKind::DisputeOpened);
        assert!(disputed.payment.unwrap().reference.starts_with("PP-D-"));
        assert_eq!(code_of(&s.wallet_control(&id, WalletControl::Dispute, now()).unwrap_err()), "DISPUTE_ALREADY_OPEN");
        assert_eq!(code_of(&s.wallet_control(&id, WalletControl::Refund, now()).unwrap_err()), "REFUND_NOT_ALLOWED");
        let missing = s.wallet_control("NOPE", WalletControl::Approve, now()).unwrap_err();
        assert_eq!((missing.status, code_of(&missing)), (StatusCode::NOT_FOUND, "INVALID_RESOURCE_ID"));
    }

    #[test]
    fn wallet_create_bodies_are_checked_naming_the_field() {
        let unit = |amount: Value| json!({"intent": "CAPTURE", "purchase_units": [{"amount": amount}]});
        let cases = [
            (json!({"purchase_units": []}), "/intent"),
            (json!({"intent": "AUTHORIZE", "purchase_units": []}), "/intent"),
            (json!({"intent": "CAPTURE", "purchase_units": []}), "/purchase_units"),
            (unit(json!({"value": "1.00"})), "/purchase_units/0/amount/currency_code"),
            (unit(json!({"currency_code": "eur", "value": "1.00"})), "/purchase_units/0/amount/currency_code"),
            (unit(json!({"currency_code": "EUR", "value": 1.0})), "/purchase_units/0/amount/value"),
            (unit(json!({"currency_code": "EUR", "value": "1.005"})), "/purchase_units/0/amount/value"),
            (unit(json!({"currency_code": "JPY", "value": "1.5"})), "/purchase_units/0/amount/value"),
            (unit(json!({"currency_code": "EUR", "value": "0.00"})), "/purchase_units/0/amount/value"),
        ];
        for (body, field) in cases {
            let refused = new_order(&body).unwrap_err();
            assert_eq!(
                (refused.status, refused.body["details"][0]["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some(field)),
                "{body}"
            );
        }
    }

    #[test]
    fn duplicates_and_shuffling_make_every_copy_and_mix_them_with_their_siblings() {
        let mut s = state();
        let group = OrderGroupId::generate();
        let (intent, _) = s.create_intent(eur(100, &group), None, now()).unwrap();
        let id = intent["id"].as_str().unwrap().to_string();
        let mut events = Vec::new();
        for control in [CardControl::RequireAction, CardControl::Approve, CardControl::Refund] {
            events.extend(s.card_control(&id, control, now()).unwrap().1);
        }
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();

        // In order, unshuffled: each event's copies together, as they were made.
        let plain = s.enqueue(
            events
                .iter()
                .map(|e| Event {
                    provider: e.provider,
                    id: e.id.clone(),
                    kind: e.kind,
                    payment: e.payment.clone(),
                    body: e.body.clone(),
                })
                .collect(),
            Fanout { duplicates: 2, shuffle: false, hold: false },
        );
        let order: Vec<&str> = plain.iter().map(|&i| s.deliveries[i].event.id.as_str()).collect();
        assert_eq!(order, [&ids[0], &ids[0], &ids[1], &ids[1], &ids[2], &ids[2]].map(String::as_str));
        assert!(s.held.is_empty());

        // Held, five copies each, shuffled: nothing goes until released, then all fifteen.
        let sent = s.enqueue(events, Fanout { duplicates: 5, shuffle: true, hold: true });
        assert!(sent.is_empty());
        assert_eq!(s.held.len(), 15);
        let released = s.release(true);
        assert!(s.held.is_empty());
        let mut copies: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
        for &i in &released {
            let d = &s.deliveries[i];
            assert_eq!((d.state, d.copies, d.url.as_str()), (DeliveryState::Pending, 5, "http://127.0.0.1:9/card"));
            copies.entry(d.event.id.as_str()).or_default().insert(d.copy);
        }
        assert_eq!(copies.len(), 3);
        assert!(copies.values().all(|c| *c == BTreeSet::from([1, 2, 3, 4, 5])), "{copies:?}");
        let kinds: Vec<&str> = released.iter().map(|&i| s.deliveries[i].event.kind).collect();
        let grouped: Vec<&str> = kinds.chunk_by(|a, b| a == b).map(|run| run[0]).collect();
        assert!(grouped.len() > 3, "the copies are mixed with their siblings: {kinds:?}");
        // Every copy carries the same bytes, so a receiver sees one event five times.
        let bodies: BTreeSet<&[u8]> = released.iter().map(|&i| s.deliveries[i].event.body.as_slice()).collect();
        assert_eq!(bodies.len(), 3);
    }

    #[test]
    fn fanout_flags_override_the_settings_and_are_checked() {
        let base = settings("http://x");
        let query = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(
            Fanout::from_query(&base, &query(&[])).unwrap(),
            Fanout { duplicates: 1, shuffle: false, hold: false }
        );
        assert_eq!(
            Fanout::from_query(&base, &query(&[("duplicates", "5"), ("shuffle", "true"), ("hold", "1")])).unwrap(),
            Fanout { duplicates: 5, shuffle: true, hold: true }
        );
        for bad in [("duplicates", "0"), ("duplicates", "99"), ("duplicates", "two"), ("shuffle", "yes")] {
            let refused = Fanout::from_query(&base, &query(&[bad])).unwrap_err();
            assert_eq!(refused.body["error"]["field"], bad.0);
        }
        let mut s = state();
        let change: SettingsChange = serde_json::from_value(json!({"duplicates": 2, "shuffle": true})).unwrap();
        s.change_settings(change).unwrap();
        assert_eq!((s.settings.duplicates, s.settings.shuffle, s.settings.hold), (2, true, false));
        let bad: SettingsChange = serde_json::from_value(json!({"card_webhook_url": "not a url"})).unwrap();
        assert!(s.change_settings(bad).is_err());
        assert!(serde_json::from_value::<SettingsChange>(json!({"duplicate": 2})).is_err());
    }

    #[tokio::test]
    async fn deliveries_are_signed_as_the_receivers_verify() {
        let payments = Payments::start(config("http://127.0.0.1:9"));
        let body = br#"{"id":"evt_1"}"#;
        let card = payments.signature_headers(Provider::Card, body, now());
        assert_eq!(card[0].0, "Stripe-Signature");
        assert_eq!(verify_card(CARD_SECRET, &card[0].1, body, now(), DEFAULT_TOLERANCE), Ok(()));
        assert!(verify_card("another", &card[0].1, body, now(), DEFAULT_TOLERANCE).is_err());

        let wallet = payments.signature_headers(Provider::Wallet, body, now());
        let get = |name: &str| wallet.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap();
        let headers = WalletHeaders {
            transmission_id: get("Paypal-Transmission-Id"),
            transmission_time: get("Paypal-Transmission-Time"),
            transmission_sig: get("Paypal-Transmission-Sig"),
        };
        assert_eq!(headers.transmission_time, "2026-03-01T10:00:00Z");
        assert_eq!(verify_wallet(WALLET_SECRET, WEBHOOK_ID, &headers, body, now(), DEFAULT_TOLERANCE), Ok(()));
        assert!(verify_wallet(WALLET_SECRET, "WH-OTHER", &headers, body, now(), DEFAULT_TOLERANCE).is_err());
    }

    #[test]
    fn the_configuration_comes_from_the_stacks_parameters() {
        let params = BTreeMap::from([
            ("CardWebhookSecret".to_string(), "whsec_x".to_string()),
            ("PaymentWebhookMaxAttempts".to_string(), "6".to_string()),
        ]);
        let config = Config::from_parameters(&params, "http://127.0.0.1:3000");
        assert_eq!(config.card_secret, "whsec_x");
        assert_eq!(config.settings.card_webhook_url, "http://127.0.0.1:3000/webhooks/payments/card");
        assert_eq!(config.settings.wallet_webhook_url, "http://127.0.0.1:3000/webhooks/payments/wallet");
        assert_eq!((config.settings.max_attempts, config.settings.backoff_ms), (6, 250));
    }

    // ---- over HTTP ----------------------------------------------------------------------------

    /// What a test receiver was sent: the path, headers and raw body of every request.
    type Received = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

    /// A webhook receiver on a free port: `/card` and `/wallet` answer 200 (the very first
    /// request 503, so one retry is always seen), anything else 404. Answers its base URL.
    async fn receiver() -> (String, Received) {
        let received: Received = Arc::default();
        let log = received.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let log = log.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
                let path = parts.uri.path().to_string();
                let mut log = log.lock().unwrap();
                log.push((path.clone(), parts.headers, body));
                match path.as_str() {
                    _ if log.len() == 1 => StatusCode::SERVICE_UNAVAILABLE,
                    "/card" | "/wallet" => StatusCode::OK,
                    _ => StatusCode::NOT_FOUND,
                }
            }
        });
        (serve(app).await, received)
    }

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    /// The simulator on a server of its own, sending webhooks to `webhooks` (its shuffles seeded,
    /// so a test's order is the same on every run).
    async fn simulator(webhooks: &str) -> (String, reqwest::Client) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = config(&base);
        config.settings = settings(webhooks);
        let app = Payments::start_with(config, StdRng::seed_from_u64(11)).router();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, reqwest::Client::new())
    }

    async fn call(http: &reqwest::Client, request: reqwest::RequestBuilder) -> (u16, Value) {
        let answer = http.execute(request.build().unwrap()).await.unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }

    /// The deliveries matching `query`, once `done` accepts them (or panics after 10 s).
    async fn deliveries_when(
        http: &reqwest::Client,
        base: &str,
        query: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, list) = call(http, http.get(format!("{base}/_local/payments/deliveries?{query}"))).await;
            let list = list.as_array().cloned().unwrap_or_default();
            if done(&list) {
                return list;
            }
            assert!(Instant::now() < deadline, "deliveries never settled: {list:#?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn settled(list: &[Value]) -> bool {
        list.iter().all(|d| d["state"] == "delivered" || d["state"] == "failed")
    }

    #[tokio::test]
    async fn over_http_a_card_payment_through_3d_secure_sends_webhooks_that_verify_and_retries_a_failed_one() {
        let (webhooks, received) = receiver().await;
        let (base, http) = simulator(&webhooks).await;
        let group = OrderGroupId::generate();
        let create = || {
            http.post(format!("{base}/_local/payments/card/v1/payment_intents"))
                .header("idempotency-key", "order-1")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("amount=4200&currency=eur&metadata[order_group_id]={group}"))
        };
        let (status, intent) = call(&http, create()).await;
        assert_eq!((status, &intent["status"]), (200, &json!("requires_payment_method")), "{intent}");
        let id = intent["id"].as_str().unwrap().to_string();
        let (_, again) = call(&http, create()).await;
        assert_eq!(again["id"], intent["id"]);

        let control = |name: &str| http.post(format!("{base}/_local/payments/card/payment_intents/{id}/{name}"));
        let (status, intent) = call(&http, control("require_action")).await;
        assert_eq!((status, &intent["status"]), (200, &json!("requires_action")));
        let (status, intent) = call(&http, control("approve")).await;
        assert_eq!((status, &intent["status"]), (200, &json!("succeeded")));
        let (status, refused) = call(&http, control("require_action")).await;
        assert_eq!((status, &refused["error"]["code"]), (400, &json!("payment_intent_unexpected_state")));
        let (status, fetched) =
            call(&http, http.get(format!("{base}/_local/payments/card/v1/payment_intents/{id}"))).await;
        assert_eq!((status, &fetched["status"]), (200, &json!("succeeded")));

        let list = deliveries_when(&http, &base, &format!("payment={id}"), |l| l.len() == 2 && settled(l)).await;
        let first = &list[0];
        assert_eq!((&first["type"], &first["state"]), (&json!("payment_intent.requires_action"), &json!("delivered")));
        let statuses: Vec<&Value> = first["history"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
        assert_eq!(statuses, [&json!(503), &json!(200)], "the first answer failed, the retry got through");
        assert_eq!((&list[1]["type"], &list[1]["attempts"]), (&json!("payment_intent.succeeded"), &json!(1)));

        let received = received.lock().unwrap().clone();
        assert_eq!(received.len(), 3);
        let mut kinds = BTreeSet::new();
        for (path, headers, body) in &received {
            assert_eq!(path, "/card");
            let signature = headers.get("stripe-signature").unwrap().to_str().unwrap();
            verify_card(CARD_SECRET, signature, body, Utc::now(), DEFAULT_TOLERANCE).unwrap();
            let event = parse_card_event(body).unwrap();
            let payment = event.payment.unwrap();
            assert_eq!(
                (payment.reference.as_str(), payment.amount_minor, payment.order_group),
                (id.as_str(), 4200, Some(group))
            );
            kinds.insert(format!("{:?}", event.kind));
        }
        assert_eq!(kinds, BTreeSet::from(["PaymentRequiresAction".to_string(), "PaymentSucceeded".to_string()]));
    }

    #[tokio::test]
    async fn over_http_held_wallet_events_are_released_five_times_each_shuffled_and_a_missing_receiver_is_recorded() {
        let (webhooks, received) = receiver().await;
        let (base, http) = simulator(&webhooks).await;
        let settings = json!({"hold": true, "duplicates": 5, "shuffle": true});
        let (status, now_set) =
            call(&http, http.post(format!("{base}/_local/payments/settings")).json(&settings)).await;
        assert_eq!((status, &now_set["duplicates"], &now_set["hold"]), (200, &json!(5), &json!(true)));
        let (status, refused) =
            call(&http, http.post(format!("{base}/_local/payments/settings")).json(&json!({"duplicates": 0}))).await;
        assert_eq!((status, &refused["error"]["field"]), (400, &json!("duplicates")));

        let group = OrderGroupId::generate();
        let order = json!({"intent": "CAPTURE", "purchase_units": [
            {"amount": {"currency_code": "EUR", "value": "12.34"}, "custom_id": group.to_string()}]});
        let orders = format!("{base}/_local/payments/wallet/v2/checkout/orders");
        let (status, created) = call(&http, http.post(&orders).json(&order)).await;
        assert_eq!((status, &created["status"]), (201, &json!("CREATED")), "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        let approve = created["links"].as_array().unwrap().iter().find(|l| l["rel"] == "approve").unwrap();
        let (status, approved) = call(&http, http.get(approve["href"].as_str().unwrap())).await;
        assert_eq!((status, &approved["status"]), (200, &json!("APPROVED")));
        let (status, captured) = call(&http, http.post(format!("{orders}/{id}/capture"))).await;
        assert_eq!((status, &captured["status"]), (201, &json!("COMPLETED")));
        assert!(received.lock().unwrap().is_empty(), "held deliveries wait for the release");

        let (_, released) = call(&http, http.post(format!("{base}/_local/payments/deliveries/release"))).await;
        assert_eq!(released["released"], 10);
        let list = deliveries_when(&http, &base, &format!("payment={id}"), |l| l.len() == 10 && settled(l)).await;
        assert!(list.iter().all(|d| d["state"] == "delivered"), "{list:#?}");

        let mut copies: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
        for d in &list {
            copies.entry(d["event_id"].as_str().unwrap().to_string()).or_default().insert(d["copy"].as_u64().unwrap());
        }
        assert_eq!(copies.len(), 2);
        assert!(copies.values().all(|c| *c == BTreeSet::from([1, 2, 3, 4, 5])), "{copies:?}");

        // Eleven requests arrived: the ten copies, and the retry of the one the receiver refused.
        let received = received.lock().unwrap().clone();
        assert_eq!(received.len(), 11);
        let mut arrivals = Vec::new();
        for (path, headers, body) in &received {
            assert_eq!(path, "/wallet");
            let header = |name: &str| headers.get(name).unwrap().to_str().unwrap();
            let wallet = WalletHeaders {
                transmission_id: header("paypal-transmission-id"),
                transmission_time: header("paypal-transmission-time"),
                transmission_sig: header("paypal-transmission-sig"),
            };
            verify_wallet(WALLET_SECRET, WEBHOOK_ID, &wallet, body, Utc::now(), DEFAULT_TOLERANCE).unwrap();
            let event = parse_wallet_event(body).unwrap();
            assert_eq!(event.payment.as_ref().map(|p| (p.amount_minor, p.order_group)), Some((1234, Some(group))));
            arrivals.push(event.kind);
        }
        let transmissions: BTreeSet<&str> =
            received.iter().map(|(_, h, _)| h["paypal-transmission-id"].to_str().unwrap()).collect();
        assert_eq!(transmissions.len(), 11, "every transmission has its own id");
        let runs = arrivals.chunk_by(|a, b| a == b).count();
        assert!(runs > 3, "the approval's and the capture's copies arrive mixed: {arrivals:?}");

        // A receiver that is not there (404) is retried up to the limit and recorded, not fatal.
        let nowhere = json!({"hold": false, "duplicates": 1, "card_webhook_url": format!("{webhooks}/nowhere")});
        call(&http, http.post(format!("{base}/_local/payments/settings")).json(&nowhere)).await;
        let (_, intent) = call(
            &http,
            http.post(format!("{base}/_local/payments/card/v1/payment_intents"))
                .json(&json!({"amount": 100, "currency": "usd"})),
        )
        .await;
        let pi = intent["id"].as_str().unwrap();
        call(&http, http.post(format!("{base}/_local/payments/card/payment_intents/{pi}/approve?duplicates=2"))).await;
        let list = deliveries_when(&http, &base, &format!("payment={pi}"), |l| l.len() == 2 && settled(l)).await;
        for d in &list {
            assert_eq!(
                (&d["state"], &d["status"], &d["attempts"]),
                (&json!("failed"), &json!(404), &json!(3)),
                "{d:#}"
            );
            assert_eq!(d["event_id"], list[0]["event_id"]);
        }
    }
}
