//! A shipping carrier's stand-in, under `/_local/carriers/`: it reports a parcel's journey to
//! Stockyard the way a carrier's (or a tracking aggregator's) webhooks do, in exactly the shape
//! and with exactly the signature `stockyard_domain::carrier` reads and verifies.
//!
//! `POST /_local/carriers/parcels/{tracking_number}/events` with
//! `{statuses?, duplicates?, shuffle?, seed?, location?, estimated_delivery?, ends_at?}` makes one
//! event per status (by default the whole journey: label created, in transit, out for delivery,
//! delivered), a minute apart and ending now (or at `ends_at`), and delivers them: each copy signed when it is sent, retried
//! with a doubling backoff while the receiver answers anything but 2xx (a 404 too: the parcel may
//! not be recorded yet). Like real carriers it can send an event more than once (`duplicates`)
//! and out of order (`shuffle`, reproducible with `seed`). The answer lists every attempt; so
//! does `GET /_local/carriers/deliveries?tracking_number=`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stockyard_domain::carrier::{self, CARRIER_SIGNATURE_HEADER};

const PREFIX: &str = "/_local/carriers/";
const MAX_BODY: usize = 64 * 1024;
const MAX_DUPLICATES: u32 = 20;
const MAX_STATUSES: usize = 20;
/// How long one delivery attempt waits for the receiver's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The journey reported when a request names no statuses.
const JOURNEY: [&str; 4] = ["label_created", "in_transit", "out_for_delivery", "delivered"];
const STATUSES: [&str; 6] =
    ["label_created", "in_transit", "out_for_delivery", "delivered", "failed_attempt", "returned_to_sender"];

/// Where the simulator sends and what it signs with, from the local parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// `CarrierWebhookSecret`.
    pub secret: String,
    /// `CarrierWebhookUrl`, by default the local API's `/webhooks/carriers`.
    pub webhook_url: String,
    /// Attempts of one delivery, the first included (`CarrierWebhookMaxAttempts`, 4).
    pub max_attempts: u32,
    /// The wait before the first retry (`CarrierWebhookBackoffMilliseconds`, 250); each later
    /// retry waits twice the one before.
    pub backoff_ms: u64,
}

impl Config {
    pub fn from_parameters(params: &BTreeMap<String, String>, api_url: &str) -> Config {
        let number = |name: &str, default: u64| params.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
        Config {
            secret: params.get("CarrierWebhookSecret").cloned().unwrap_or_else(|| "carrier_local".into()),
            webhook_url: params
                .get("CarrierWebhookUrl")
                .cloned()
                .unwrap_or_else(|| format!("{}/webhooks/carriers", api_url.trim_end_matches('/'))),
            max_attempts: (number("CarrierWebhookMaxAttempts", 4) as u32).max(1),
            backoff_ms: number("CarrierWebhookBackoffMilliseconds", 250),
        }
    }
}

/// What a test or a curl user asks the carrier to report.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    #[serde(default)]
    statuses: Option<Vec<String>>,
    #[serde(default)]
    duplicates: Option<u32>,
    #[serde(default)]
    shuffle: bool,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    estimated_delivery: Option<NaiveDate>,
    /// When the last event happened (default: now); a past time reports a scan that arrives late.
    #[serde(default)]
    ends_at: Option<DateTime<Utc>>,
}

/// One attempt at delivering one copy of an event.
#[derive(Debug, Clone, Serialize)]
struct Attempt {
    event_id: String,
    status: String,
    tracking_number: String,
    /// The receiver's HTTP status; absent when it could not be reached.
    response_status: Option<u16>,
    response: Value,
    sent_at: DateTime<Utc>,
}

/// The simulator: what it sent.
pub struct Carriers {
    config: Config,
    http: reqwest::Client,
    attempts: Mutex<Vec<Attempt>>,
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn refused(status: StatusCode, code: &str, message: impl Into<String>, field: Option<&str>) -> Response {
    answer(status, json!({"error": {"code": code, "message": message.into(), "field": field}}))
}

impl Carriers {
    pub fn new(config: Config) -> Carriers {
        Carriers { config, http: reqwest::Client::new(), attempts: Mutex::new(Vec::new()) }
    }

    /// Answers a request under `/_local/carriers/`.
    pub async fn handle(&self, req: Request) -> Response {
        let (parts, body) = req.into_parts();
        let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|Query(q)| q).unwrap_or_default();
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
            return refused(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "body over 64 KB", None);
        };
        let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or_default().trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').collect();
        match (parts.method.as_str(), segments.as_slice()) {
            ("POST", ["parcels", number, "events"]) => self.report(number, &body).await,
            ("GET", ["deliveries"]) => {
                let attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
                let wanted = query.get("tracking_number").map(|n| n.to_ascii_uppercase());
                let items: Vec<&Attempt> =
                    attempts.iter().filter(|a| wanted.as_ref().is_none_or(|w| *w == a.tracking_number)).collect();
                answer(StatusCode::OK, json!({ "items": items }))
            }
            _ => refused(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no such carrier simulator route: {} {}", parts.method, parts.uri.path()),
                None,
            ),
        }
    }

    async fn report(&self, number: &str, body: &[u8]) -> Response {
        let report: Report = if body.iter().all(u8::is_ascii_whitespace) {
            Report::default()
        } else {
            match serde_json::from_slice(body) {
                Ok(r) => r,
                Err(e) => return refused(StatusCode::BAD_REQUEST, "malformed_request", e.to_string(), None),
            }
        };
        let number = match carrier::tracking_number("tracking_number", number) {
            Ok(n) => n,
            Err(e) => {
                return refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.message, Some("tracking_number"));
            }
        };
        let statuses: Vec<String> = report.statuses.unwrap_or_else(|| JOURNEY.iter().map(|s| s.to_string()).collect());
        if statuses.is_empty() || statuses.len() > MAX_STATUSES {
            let message = format!("must name 1 to {MAX_STATUSES} statuses");
            return refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message, Some("statuses"));
        }
        if let Some((i, _)) = statuses.iter().enumerate().find(|(_, s)| !STATUSES.contains(&s.as_str())) {
            let message = format!("must be one of {}", STATUSES.join(", "));
            return refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                message,
                Some(&format!("statuses[{i}]")),
            );
        }
        let duplicates = report.duplicates.unwrap_or(1);
        if !(1..=MAX_DUPLICATES).contains(&duplicates) {
            let message = format!("must be 1 to {MAX_DUPLICATES}");
            return refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message, Some("duplicates"));
        }
        // The journey, a minute apart, ending now (or at `ends_at`): the order things happened in.
        let now = Utc::now();
        let end = report.ends_at.unwrap_or(now);
        let last = statuses.len() as i64 - 1;
        let events: Vec<Value> = statuses
            .iter()
            .enumerate()
            .map(|(i, status)| {
                let occurred_at = end - TimeDelta::minutes(last - i as i64);
                let mut data = json!({
                    "tracking_number": number, "status": status,
                    "occurred_at": occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                });
                if let Some(location) = &report.location {
                    data["location"] = json!(location);
                }
                if let Some(day) = report.estimated_delivery {
                    data["estimated_delivery"] = json!(day);
                }
                json!({ "id": format!("trk_evt_{}", ulid::Ulid::new()), "type": "tracking.updated",
                        "created_at": now.to_rfc3339_opts(SecondsFormat::Millis, true), "data": data })
            })
            .collect();
        let mut copies: Vec<&Value> = events.iter().flat_map(|e| std::iter::repeat_n(e, duplicates as usize)).collect();
        if report.shuffle {
            // A ULID's low 64 bits are random.
            let mut rng = StdRng::seed_from_u64(report.seed.unwrap_or_else(|| ulid::Ulid::new().0 as u64));
            copies.shuffle(&mut rng);
        }
        let mut deliveries = Vec::new();
        for event in copies {
            deliveries.push(self.deliver(&number, event).await);
        }
        let events: Vec<Value> = events
            .iter()
            .map(|e| json!({ "id": e["id"], "status": e["data"]["status"], "occurred_at": e["data"]["occurred_at"] }))
            .collect();
        answer(StatusCode::OK, json!({ "tracking_number": number, "events": events, "deliveries": deliveries }))
    }

    /// Delivers one copy, retrying while the receiver answers other than 2xx; the last attempt.
    async fn deliver(&self, number: &str, event: &Value) -> Attempt {
        let body = event.to_string();
        let mut wait = Duration::from_millis(self.config.backoff_ms);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let signature = carrier::sign(&self.config.secret, body.as_bytes(), Utc::now().timestamp());
            let sent = self
                .http
                .post(&self.config.webhook_url)
                .header("content-type", "application/json")
                .header(CARRIER_SIGNATURE_HEADER, signature)
                .body(body.clone())
                .timeout(ATTEMPT_TIMEOUT)
                .send()
                .await;
            let (status, response) = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (Some(status), r.json::<Value>().await.unwrap_or(Value::Null))
                }
                Err(e) => (None, json!({ "error": e.to_string() })),
            };
            let record = Attempt {
                event_id: event["id"].as_str().unwrap_or_default().to_string(),
                status: event["data"]["status"].as_str().unwrap_or_default().to_string(),
                tracking_number: number.to_string(),
                response_status: status,
                response,
                sent_at: Utc::now(),
            };
            self.attempts.lock().unwrap_or_else(|p| p.into_inner()).push(record.clone());
            let delivered = status.is_some_and(|s| (200..300).contains(&s));
            if delivered || attempt >= self.config.max_attempts {
                return record;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A receiver that verifies each delivery as Stockyard does and answers 404 to the first
    /// attempt of every event, so each is retried once.
    async fn receiver(secret: &'static str) -> (String, Arc<Mutex<Vec<Value>>>) {
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let log = log.clone();
            async move {
                let signature = req.headers().get(CARRIER_SIGNATURE_HEADER).unwrap().to_str().unwrap().to_string();
                let body = axum::body::to_bytes(req.into_body(), MAX_BODY).await.unwrap();
                let verified = carrier::verify(secret, &signature, &body, Utc::now(), TimeDelta::minutes(5));
                assert_eq!(verified, Ok(()));
                let event = carrier::parse_event(&body).unwrap().unwrap();
                let mut log = log.lock().unwrap();
                let first = !log.iter().any(|e: &Value| e["id"] == event.event_id);
                log.push(json!({ "id": event.event_id, "status": format!("{:?}", event.status) }));
                if first { (StatusCode::NOT_FOUND, "later") } else { (StatusCode::OK, "ok") }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/carriers", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, seen)
    }

    #[tokio::test]
    async fn a_journey_is_delivered_signed_duplicated_shuffled_and_retried_until_accepted() {
        let (url, seen) = receiver("trk_test").await;
        let carriers =
            Carriers::new(Config { secret: "trk_test".into(), webhook_url: url, max_attempts: 3, backoff_ms: 1 });
        let body = json!({ "duplicates": 2, "shuffle": true, "seed": 7, "estimated_delivery": "2026-12-03" });
        let req = Request::post("/_local/carriers/parcels/6a123-x/events").body(Body::from(body.to_string())).unwrap();
        let resp = carriers.handle(req).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let answer: Value =
            serde_json::from_slice(&axum::body::to_bytes(resp.into_body(), MAX_BODY).await.unwrap()).unwrap();
        assert_eq!(answer["tracking_number"], "6A123-X");
        let events = answer["events"].as_array().unwrap();
        assert_eq!(events.iter().map(|e| e["status"].as_str().unwrap()).collect::<Vec<_>>(), JOURNEY);
        // 4 events × 2 copies, each delivered in the end; the first copy of each took two attempts.
        let deliveries = answer["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 8);
        assert!(deliveries.iter().all(|d| d["response_status"] == 200), "{deliveries:?}");
        assert_eq!(seen.lock().unwrap().len(), 12);
        let order: Vec<&str> = deliveries.iter().map(|d| d["status"].as_str().unwrap()).collect();
        assert_ne!(
            order,
            [
                "label_created",
                "label_created",
                "in_transit",
                "in_transit",
                "out_for_delivery",
                "out_for_delivery",
                "delivered",
                "delivered"
            ],
            "shuffled"
        );
        let bad = Request::post("/_local/carriers/parcels/AB12/events")
            .body(Body::from(json!({ "statuses": ["in_transit", "teleported"] }).to_string()))
            .unwrap();
        let resp = carriers.handle(bad).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(seen.lock().unwrap().len(), 12, "a refused report sends nothing");
    }
}
