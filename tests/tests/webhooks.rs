//! Outgoing webhooks end to end: a vendor registers endpoints; stock changes and purchase order
//! receipts reach them through the table's stream, signed; failures are retried with backoff and
//! dead-lettered. Every endpoint is a small HTTP receiver inside the test that records what it
//! got and answers as the test planned. The local stack allows loopback endpoints and retries
//! quickly (infra/local/parameters.json: 3 attempts, 1 s then 2 s, a 2 s timeout).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use stockyard_tests::{Method, TestApp, TestVendor, eventually, unique_email};

/// What a receiver does with one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Answers 200, but only after this long (past the delivery timeout).
    Hang(Duration),
}

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }
    fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Clone)]
struct Log {
    requests: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<Reply>>>,
    otherwise: u16,
}

/// An endpoint: an HTTP server on a loopback port, recording every request.
struct Receiver {
    url: String,
    log: Log,
}

async fn receive(State(log): State<Log>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let reply = log.plan.lock().unwrap().pop_front().unwrap_or(Reply::Status(log.otherwise));
    log.requests.lock().unwrap().push(Received { headers, body: body.to_vec(), at: Instant::now() });
    match reply {
        Reply::Status(status) => StatusCode::from_u16(status).expect("a valid status"),
        Reply::Hang(pause) => {
            tokio::time::sleep(pause).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// A receiver answering with `plan` in order, then `otherwise`.
    async fn start(plan: Vec<Reply>, otherwise: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free loopback port");
        let port = listener.local_addr().expect("a bound address").port();
        let log =
            Log { requests: Arc::new(Mutex::new(Vec::new())), plan: Arc::new(Mutex::new(plan.into())), otherwise };
        let router = axum::Router::new().fallback(receive).with_state(log.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url: format!("http://127.0.0.1:{port}/hooks/stockyard"), log }
    }

    async fn ok() -> Self {
        Self::start(Vec::new(), 200).await
    }

    fn requests(&self) -> Vec<Received> {
        self.log.requests.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests matched `wanted`; all of those.
    async fn wait_for(&self, what: &str, count: usize, wanted: impl Fn(&Received) -> bool) -> Vec<Received> {
        eventually(format!("{count} request(s): {what}"), || {
            let found: Vec<Received> = self.requests().into_iter().filter(|r| wanted(r)).collect();
            async move { (found.len() >= count).then_some(found) }
        })
        .await
    }
}

/// Checks a request's `Stockyard-Signature` as a receiver would: the HMAC-SHA256 of
/// `"<t>.<raw body>"` under the secret, and `t` within five minutes of now.
fn signed_with(secret: &str, request: &Received) -> bool {
    let header = request.header("stockyard-signature");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&request.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == v1
}

/// Registers an endpoint for `events` at `url`: its id and secret.
async fn endpoint(app: &TestApp, vendor: &TestVendor, url: &str, events: &[&str]) -> (String, String) {
    let created = app.create_webhook(vendor.owner.token(), &vendor.id, &json!({ "url": url, "events": events })).await;
    let body = created.expect(201);
    (body["id"].as_str().unwrap().to_string(), body["secret"].as_str().unwrap().to_string())
}

/// Waits until the endpoint's delivery of `event_id` is in `status`; the delivery.
async fn delivery(app: &TestApp, vendor: &TestVendor, endpoint: &str, event_id: &str, status: &str) -> Value {
    eventually(format!("delivery of {event_id} {status}"), || async {
        let page = app.webhook_deliveries(vendor.owner.token(), &vendor.id, endpoint, "limit=100").await;
        page.expect(200);
        page.items().iter().find(|d| d["event_id"] == event_id && d["status"] == status).cloned()
    })
    .await
}

async fn adjust(app: &TestApp, vendor: &TestVendor, sku: &str, location: &str, quantity: i64) {
    let reason = if quantity >= 0 { "received" } else { "lost" };
    let body = json!({ "sku": sku, "location_id": location, "quantity": quantity, "reason": reason });
    app.adjust_stock(vendor.owner.token(), &vendor.id, &body).await.expect(201);
}

#[tokio::test]
async fn a_subscribed_endpoint_receives_each_stock_change_signed_with_a_secret_shown_only_once() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let receiver = Receiver::ok().await;

    let body = json!({ "url": receiver.url, "events": ["stock.low", "stock.availability_changed"],
                       "description": "Storefront stock sync" });
    let created = app.create_webhook(owner, &vendor.id, &body).await;
    let created = created.expect(201).clone();
    let (id, secret) = (created["id"].as_str().unwrap(), created["secret"].as_str().unwrap().to_string());
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{created}");
    assert_eq!(created["events"], json!(["stock.availability_changed", "stock.low"]));
    assert_eq!((created["enabled"].clone(), created["vendor_id"].clone()), (json!(true), json!(vendor.id)));
    // The secret is never shown again; an inventory manager reads endpoints but may not add one.
    let manager = app.staff(&vendor, "inventory_manager").await;
    let path = format!("/vendors/{}/webhooks/{id}", vendor.id);
    let read = app.request(Method::GET, &path, Some(manager.token()), None, &[]).await;
    assert!(read.expect(200).get("secret").is_none() && read.json["url"] == receiver.url.as_str(), "{read}");
    let listed = app.request(Method::GET, &format!("/vendors/{}/webhooks", vendor.id), Some(owner), None, &[]).await;
    assert_eq!(listed.items().len(), 1);
    assert!(listed.items()[0].get("secret").is_none(), "{listed}");
    app.create_webhook(manager.token(), &vendor.id, &body).await.expect_error(403, "forbidden");

    adjust(&app, &vendor, &sku, &location, 10).await;
    let first = receiver.wait_for("the first stock change", 1, |_| true).await.remove(0);
    assert!(signed_with(&secret, &first), "signed with the endpoint's secret: {:?}", first.headers);
    assert_eq!(first.header("content-type"), "application/json");
    let event = first.json();
    assert_eq!(first.header("stockyard-event-id"), event["id"].as_str().unwrap(), "the id to deduplicate on");
    assert_eq!(first.header("stockyard-event-type"), "stock.availability_changed");
    assert_eq!(first.header("stockyard-webhook-id"), id);
    assert_eq!(first.header("stockyard-delivery-attempt"), "1");
    assert_eq!(
        (event["type"].clone(), event["vendor_id"].clone()),
        (json!("stock.availability_changed"), json!(vendor.id))
    );
    let data = &event["data"];
    assert_eq!((data["sku"].as_str(), data["location_id"].as_str()), (Some(sku.as_str()), Some(location.as_str())));
    assert_eq!((data["available_before"].as_u64(), data["available"].as_u64()), (Some(0), Some(10)));

    // A reorder point of 5, then 6 lost: available 10 → 4 crosses it, the same crossing an alert
    // is raised for.
    let settings = format!("/vendors/{}/skus/{sku}/stock/{location}", vendor.id);
    app.request(Method::PATCH, &settings, Some(owner), Some(&json!({ "reorder_point": 5 })), &[]).await.expect(200);
    adjust(&app, &vendor, &sku, &location, -6).await;
    let low = receiver.wait_for("low stock", 1, |r| r.event_type() == "stock.low").await.remove(0);
    assert!(signed_with(&secret, &low));
    let data = low.json()["data"].clone();
    assert_eq!(
        (data["kind"].as_str(), data["available"].as_u64(), data["reorder_point"].as_u64()),
        (Some("low"), Some(4), Some(5))
    );
    let moved = receiver.wait_for("10 → 4", 1, |r| r.json()["data"]["available_before"] == 10).await;
    assert_eq!(moved[0].json()["data"]["available"], 4);
    let alert_id = data["alert_id"].as_str().unwrap().to_string();
    eventually("the stock alert of the same crossing", || async {
        let alerts = app.request(Method::GET, &format!("/vendors/{}/alerts", vendor.id), Some(owner), None, &[]).await;
        alerts.items().iter().any(|a| a["id"] == alert_id.as_str()).then_some(())
    })
    .await;

    // Rotating the secret: later deliveries are signed with the new one only.
    let rotated = app.update_webhook(owner, &vendor.id, id, &json!({ "rotate_secret": true })).await;
    let new_secret = rotated.expect(200)["secret"].as_str().unwrap().to_string();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    adjust(&app, &vendor, &sku, &location, 1).await;
    let after = receiver.wait_for("4 → 5", 1, |r| r.json()["data"]["available"] == 5).await.remove(0);
    assert!(signed_with(&new_secret, &after) && !signed_with(&secret, &after));

    // Every delivery is listed, newest first, delivered at the first attempt.
    let last_id = after.json()["id"].as_str().unwrap().to_string();
    delivery(&app, &vendor, id, &last_id, "delivered").await;
    let list = app.webhook_deliveries(manager.token(), &vendor.id, id, "").await;
    let items = list.expect(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4, "{list}");
    assert_eq!(items[0]["event_id"], last_id.as_str(), "newest first");
    for d in &items {
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_u64(), d["response_status"].as_u64()),
            (Some("delivered"), Some(1), Some(200)),
            "{d}"
        );
    }
    let failed = app.webhook_deliveries(owner, &vendor.id, id, "status=failed").await;
    assert!(failed.expect(200)["items"].as_array().unwrap().is_empty());
    app.webhook_deliveries(owner, &vendor.id, id, "status=lost").await.expect_invalid_field("status");
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_with_backoff_and_the_same_event_until_it_answers_without_holding_up_others() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    // A 500, then no answer within the timeout, then 200.
    let flaky = Receiver::start(vec![Reply::Status(500), Reply::Hang(Duration::from_secs(4))], 200).await;
    let steady = Receiver::ok().await;
    let (flaky_id, secret) = endpoint(&app, &vendor, &flaky.url, &["stock.availability_changed"]).await;
    let (steady_id, _) = endpoint(&app, &vendor, &steady.url, &["stock.availability_changed"]).await;

    adjust(&app, &vendor, &sku, &location, 3).await;
    let tries = flaky.wait_for("three attempts", 3, |_| true).await;
    let event_id = tries[0].header("stockyard-event-id").to_string();
    for (n, attempt) in tries.iter().enumerate() {
        assert_eq!(attempt.header("stockyard-event-id"), event_id, "every attempt is the same event");
        assert_eq!(attempt.body, tries[0].body, "with the same body");
        assert_eq!(attempt.header("stockyard-delivery-attempt"), (n + 1).to_string());
        assert!(signed_with(&secret, attempt), "each attempt signed afresh");
    }
    let waited = |a: &Received, b: &Received| b.at.duration_since(a.at);
    assert!(waited(&tries[0], &tries[1]) >= Duration::from_millis(900), "backoff of 1 s after the first failure");
    assert!(waited(&tries[1], &tries[2]) >= Duration::from_millis(3500), "a 2 s timeout, then 2 s of backoff");
    let done = delivery(&app, &vendor, &flaky_id, &event_id, "delivered").await;
    assert_eq!((done["attempts"].as_u64(), done["response_status"].as_u64()), (Some(3), Some(200)), "{done}");
    assert!(done.get("error").is_none() && done.get("next_attempt_at").is_none(), "{done}");

    // The other endpoint got the event once, at once: its message was not redelivered with the
    // failing one's.
    let got = steady.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].header("stockyard-event-id"), event_id);
    assert!(got[0].at < tries[1].at, "delivered before the failing endpoint's retry");
    let other = delivery(&app, &vendor, &steady_id, &event_id, "delivered").await;
    assert_eq!(other["attempts"], 1);
}

#[tokio::test]
async fn an_endpoint_failing_every_attempt_is_dead_lettered_and_its_delivery_says_failed() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let broken = Receiver::start(Vec::new(), 500).await;
    // A port nothing listens on: the connection is refused.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://127.0.0.1:{}/gone", listener.local_addr().unwrap().port())
    };
    let (broken_id, _) = endpoint(&app, &vendor, &broken.url, &["stock.availability_changed"]).await;
    let (closed_id, _) = endpoint(&app, &vendor, &closed, &["stock.availability_changed"]).await;

    adjust(&app, &vendor, &sku, &location, 2).await;
    let tries = broken.wait_for("three attempts", 3, |_| true).await;
    let event_id = tries[0].header("stockyard-event-id").to_string();
    let failed = delivery(&app, &vendor, &broken_id, &event_id, "failed").await;
    assert_eq!(
        (failed["attempts"].as_u64(), failed["response_status"].as_u64(), failed["error"].as_str()),
        (Some(3), Some(500), Some("http_500")),
        "{failed}"
    );
    let refused = delivery(&app, &vendor, &closed_id, &event_id, "failed").await;
    assert_eq!(refused["attempts"], 3, "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.starts_with("connection_failed")), "{refused}");

    // Both messages are in the dead-letter queue.
    let dlq = std::env::var("STOCKYARD_WEBHOOK_DELIVERIES_DLQ_URL").expect("the stack names the dead-letter queue");
    let sqs = aws_sdk_sqs::Client::new(&stockyard_platform::aws_config().await);
    let parked = Arc::new(Mutex::new(Vec::<String>::new()));
    eventually("both deliveries in the dead-letter queue", || {
        let (sqs, dlq, parked, event_id) = (sqs.clone(), dlq.clone(), parked.clone(), event_id.clone());
        let wanted = [broken_id.clone(), closed_id.clone()];
        async move {
            let out = sqs
                .receive_message()
                .queue_url(&dlq)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
                .expect("reading the dead-letter queue");
            let mut parked = parked.lock().unwrap();
            for message in out.messages() {
                let body: Value = serde_json::from_str(message.body().unwrap_or("{}")).unwrap_or_default();
                let endpoint = body["endpoint_id"].as_str().unwrap_or_default().to_string();
                if body["event"]["id"] == event_id.as_str() && !parked.contains(&endpoint) {
                    parked.push(endpoint);
                }
            }
            wanted.iter().all(|w| parked.contains(w)).then_some(())
        }
    })
    .await;
    assert_eq!(broken.requests().len(), 3, "no attempt after the last");
}

#[tokio::test]
async fn unsubscribed_events_and_disabled_endpoints_get_nothing_and_receipts_reach_their_subscribers() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let (orders, paused, marker) = (Receiver::ok().await, Receiver::ok().await, Receiver::ok().await);
    endpoint(&app, &vendor, &orders.url, &["purchase_order.received"]).await;
    let body = json!({ "url": paused.url, "events": ["stock.availability_changed"], "enabled": false });
    let paused_id = app.create_webhook(owner, &vendor.id, &body).await.expect(201)["id"].as_str().unwrap().to_string();
    endpoint(&app, &vendor, &marker.url, &["stock.availability_changed"]).await;

    adjust(&app, &vendor, &sku, &location, 5).await;
    let supplier = app.create_supplier(owner, &vendor.id, &TestApp::supplier_body(&unique_email(), 1)).await.id();
    let order = json!({ "supplier_id": supplier, "location_id": location,
                        "lines": [{ "sku": sku, "quantity": 2, "unit_cost": 150 }] });
    let order = app.create_purchase_order(owner, &vendor.id, &order).await.id();
    app.purchase_order_action(owner, &vendor.id, &order, "send").await.expect(200);
    let receipt = json!({ "lines": [{ "sku": sku, "quantity": 2 }] });
    let receipt = app.receive_purchase_order(owner, &vendor.id, &order, &receipt, None).await;
    let receipt_id = receipt.expect(201)["receipt_id"].as_str().unwrap().to_string();

    let received = orders.wait_for("the receipt", 1, |_| true).await.remove(0);
    let event = received.json();
    assert_eq!(event["type"], "purchase_order.received");
    let data = &event["data"];
    assert_eq!(
        (data["purchase_order_id"].as_str(), data["receipt_id"].as_str()),
        (Some(order.as_str()), Some(receipt_id.as_str()))
    );
    assert_eq!(
        (data["sku"].as_str(), data["quantity"].as_u64(), data["location_id"].as_str()),
        (Some(sku.as_str()), Some(2), Some(location.as_str()))
    );
    // The marker saw both stock changes (5, then 7 with the receipt): everything before it was
    // routed, so what the others did not get, they will not get.
    marker.wait_for("5 → 7", 1, |r| r.json()["data"]["available"] == 7).await;
    assert!(paused.requests().is_empty(), "a disabled endpoint gets nothing");
    assert_eq!(orders.requests().len(), 1, "only the event type subscribed to");
    let none = app.webhook_deliveries(owner, &vendor.id, &paused_id, "").await;
    assert!(none.expect(200)["items"].as_array().unwrap().is_empty(), "nothing kept for it meanwhile");

    app.update_webhook(owner, &vendor.id, &paused_id, &json!({ "enabled": true })).await.expect(200);
    adjust(&app, &vendor, &sku, &location, 1).await;
    let resumed = paused.wait_for("7 → 8", 1, |_| true).await;
    assert_eq!(resumed[0].json()["data"]["available"], 8, "enabled again, it gets the next change");
}

/// A stock item's image as the table's stream carries it (DynamoDB JSON).
fn stock_image(vendor: &str, variant: &str, location: &str, on_hand: u32, version: u64) -> Value {
    json!({
        "PK": {"S": format!("STOCK#{vendor}#{variant}")}, "SK": {"S": format!("AT#{location}")},
        "entity": {"S": "stock item"}, "vendor_id": {"S": vendor}, "variant_id": {"S": variant},
        "product_id": {"S": "01JDB0000000000000000000P1"}, "sku": {"S": "REPLAYED-1"}, "location_id": {"S": location},
        "on_hand": {"N": on_hand.to_string()}, "reserved": {"N": "0"}, "incoming": {"N": "0"},
        "version": {"N": version.to_string()}, "perishable": {"BOOL": false}, "reorder_point": {"N": "5"},
        "updated_at": {"S": format!("2026-11-30T10:00:0{version}Z")},
    })
}

/// A stream batch of one MODIFY of that stock item, as Lambda hands it to `route-table-events`.
fn stream_batch(vendor: &str, variant: &str, location: &str, before: u32, after: u32, version: u64) -> Value {
    json!({ "Records": [{
        "eventID": format!("replay-{version}"), "eventName": "MODIFY", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {}, "SequenceNumber": version.to_string(), "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES",
            "OldImage": stock_image(vendor, variant, location, before, version - 1),
            "NewImage": stock_image(vendor, variant, location, after, version),
        },
    }]})
}

#[tokio::test]
async fn a_stream_record_delivered_twice_is_the_same_event_and_is_posted_once() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let receiver = Receiver::ok().await;
    let (id, secret) = endpoint(&app, &vendor, &receiver.url, &["stock.availability_changed", "stock.low"]).await;
    let (variant, location) = (ulid::Ulid::new().to_string(), ulid::Ulid::new().to_string());
    let route = |batch: Value| {
        let app = &app;
        async move {
            let out = app.invoke("route-table-events", &batch).await;
            assert!(out.expect(200)["batchItemFailures"].as_array().is_none_or(Vec::is_empty), "{out}");
        }
    };

    // 6 → 4 with a reorder point of 5: availability and low stock.
    let crossing = stream_batch(&vendor.id, &variant, &location, 6, 4, 7);
    route(crossing.clone()).await;
    let first = receiver.wait_for("both events", 2, |_| true).await;
    let ids: Vec<String> = first.iter().map(|r| r.header("stockyard-event-id").to_string()).collect();
    for (request, event_id) in first.iter().zip(&ids) {
        assert!(signed_with(&secret, request));
        delivery(&app, &vendor, &id, event_id, "delivered").await;
    }
    // The stream delivers the same record again (as after a failure later in its batch).
    route(crossing).await;
    // A later change, whose event comes after whatever the replay would have sent.
    route(stream_batch(&vendor.id, &variant, &location, 4, 3, 8)).await;
    receiver.wait_for("4 → 3", 1, |r| r.json()["data"]["available"] == 3).await;
    let all = receiver.requests();
    assert_eq!(all.len(), 3, "the replayed record's events were not posted again: {all:?}");
    let deliveries = app.webhook_deliveries(vendor.owner.token(), &vendor.id, &id, "").await;
    let listed: Vec<&str> = deliveries.items().iter().map(|d| d["event_id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 3, "one delivery per event: {deliveries}");
    assert!(ids.iter().all(|i| listed.contains(&i.as_str())));
}

#[tokio::test]
async fn endpoints_are_validated_limited_to_ten_and_kept_to_their_vendor() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let events = json!(["stock.low"]);
    for (url, why) in [
        ("http://shop.example/hooks", "http to a public host"),
        ("https://10.0.0.7/hooks", "a private address"),
        ("https://169.254.169.254/latest/meta-data", "the metadata address"),
        ("https://[fd00::1]/hooks", "a unique local address"),
        ("https://user:secret@shop.example/hooks", "credentials"),
        ("https://intranet/hooks", "a local name"),
        ("shop.example/hooks", "not absolute"),
    ] {
        let resp = app.create_webhook(owner, &vendor.id, &json!({ "url": url, "events": events })).await;
        assert_eq!(resp.status, 422, "{why}: {resp}");
        resp.expect_invalid_field("url");
    }
    let url = "https://shop.example/hooks";
    app.create_webhook(owner, &vendor.id, &json!({ "url": url, "events": [] })).await.expect_invalid_field("events");
    let twice = json!({ "url": url, "events": ["stock.low", "stock.low"] });
    app.create_webhook(owner, &vendor.id, &twice).await.expect_invalid_field("events[1]");
    let unknown = app.create_webhook(owner, &vendor.id, &json!({ "url": url, "events": ["stock.lower"] })).await;
    unknown.expect_error(400, "malformed_request");
    let extra = json!({ "url": url, "events": events, "secret": "mine" });
    app.create_webhook(owner, &vendor.id, &extra).await.expect_error(400, "malformed_request");
    let list = format!("/vendors/{}/webhooks", vendor.id);
    assert!(app.request(Method::GET, &list, Some(owner), None, &[]).await.items().is_empty(), "nothing was made");

    // Twelve at once: exactly ten are made.
    let body = json!({ "url": url, "events": events });
    let answers = futures_util::future::join_all((0..12).map(|_| app.create_webhook(owner, &vendor.id, &body))).await;
    let made: Vec<String> = answers.iter().filter(|a| a.status == 201).map(|a| a.id()).collect();
    assert_eq!(made.len(), 10, "{answers:?}");
    for refused in answers.iter().filter(|a| a.status != 201) {
        refused.expect_error(409, "too_many_webhook_endpoints");
    }
    let path = format!("/vendors/{}/webhooks/{}", vendor.id, made[0]);
    app.request(Method::DELETE, &path, Some(owner), None, &[]).await.expect(204);
    app.request(Method::GET, &path, Some(owner), None, &[]).await.expect_error(404, "not_found");
    app.create_webhook(owner, &vendor.id, &body).await.expect(201);
    app.create_webhook(owner, &vendor.id, &body).await.expect_error(409, "too_many_webhook_endpoints");

    // Changes are checked the same way, and change nothing when refused.
    let target = &made[1];
    let bad_url = json!({ "url": "https://192.168.1.1/x" });
    app.update_webhook(owner, &vendor.id, target, &bad_url).await.expect_invalid_field("url");
    app.update_webhook(owner, &vendor.id, target, &json!({ "events": [] })).await.expect_invalid_field("events");
    let changed =
        app.update_webhook(owner, &vendor.id, target, &json!({ "description": "Sync", "enabled": false })).await;
    let changed = changed.expect(200).clone();
    assert_eq!(
        (changed["description"].as_str(), changed["enabled"].as_bool(), changed["version"].as_u64()),
        (Some("Sync"), Some(false), Some(2))
    );
    assert!(changed.get("secret").is_none(), "no new secret unless asked for");

    // Another vendor's owner and staff: 403 on this vendor's paths, 404 for its ids on their own.
    let other = app.vendor_owner().await;
    let other_manager = app.staff(&other, "inventory_manager").await;
    let own = format!("/vendors/{}/webhooks/{target}", vendor.id);
    for token in [other.owner.token(), other_manager.token()] {
        for (method, path, body) in [
            (Method::GET, own.clone(), None),
            (Method::PATCH, own.clone(), Some(json!({ "enabled": true }))),
            (Method::DELETE, own.clone(), None),
            (Method::GET, format!("{own}/deliveries"), None),
            (Method::GET, list.clone(), None),
            (Method::POST, list.clone(), Some(body.clone())),
        ] {
            let resp = app.request(method, &path, Some(token), body.as_ref(), &[]).await;
            resp.expect_error(403, "forbidden");
        }
    }
    let theirs = format!("/vendors/{}/webhooks/{target}", other.id);
    let o = other.owner.token();
    app.request(Method::GET, &theirs, Some(o), None, &[]).await.expect_error(404, "not_found");
    let patch = json!({ "enabled": true });
    app.request(Method::PATCH, &theirs, Some(o), Some(&patch), &[]).await.expect_error(404, "not_found");
    app.request(Method::DELETE, &theirs, Some(o), None, &[]).await.expect_error(404, "not_found");
    app.request(Method::GET, &format!("{theirs}/deliveries"), Some(o), None, &[]).await.expect_error(404, "not_found");
    let still = app.request(Method::GET, &own, Some(owner), None, &[]).await;
    assert_eq!(still.expect(200)["enabled"], false, "unchanged by the other vendor");
}
