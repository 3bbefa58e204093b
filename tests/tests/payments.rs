//! Payments (issue 13, so far): the providers' webhooks move an order group through the local
//! payment providers' stand-in, and unpaid groups expire with their stock given back. Checkout
//! does not exist yet, so a group is placed through the store (`stockyard_store::orders::place`,
//! what checkout will call) on stock set up through the API.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use stockyard_domain::ids::{LocationId, OrderGroupId, ProductId, VariantId};
use stockyard_domain::order::{OrderGroup, OrderStatus};
use stockyard_store::{Table, orders};
use stockyard_tests::{TestApp, TestVendor, eventually};

/// A vendor with `units` of a fresh variant at a fresh location: (vendor, sku, variant, product, location).
async fn stocked(app: &TestApp, units: u32) -> (TestVendor, String, VariantId, ProductId, LocationId) {
    let vendor = app.vendor_owner().await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let body = json!({ "sku": sku, "location_id": location, "quantity": units, "reason": "received" });
    app.adjust_stock(vendor.owner.token(), &vendor.id, &body).await.expect(201);
    let view = app.sku_stock(vendor.owner.token(), &vendor.id, &sku).await.expect(200).clone();
    let variant = VariantId::parse("variant_id", view["variant_id"].as_str().unwrap()).unwrap();
    let product = ProductId::parse("product_id", view["product_id"].as_str().unwrap()).unwrap();
    let location = LocationId::parse("location_id", &location).unwrap();
    (vendor, sku, variant, product, location)
}

async fn table(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

/// Places a group of `quantity` units at 19.99 EUR each, expiring at `expires_at`.
async fn place(
    app: &TestApp,
    (vendor, variant, product, location): (&TestVendor, VariantId, ProductId, LocationId),
    quantity: u32,
    expires_at: chrono::DateTime<Utc>,
) -> OrderGroup {
    app.place_through_store((vendor, variant, product, location), quantity, expires_at).await
}

async fn simulator(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Value {
    let resp = app.request(method, &format!("/_local/payments{path}"), None, body, &[]).await;
    assert!(resp.status < 300, "{path}: {} {}", resp.status, resp.json);
    resp.json
}

/// A card payment intent for a group, as checkout will create it.
async fn intent(app: &TestApp, group: OrderGroupId, amount: i64) -> String {
    let body = json!({ "amount": amount, "currency": "eur", "metadata": { "order_group_id": group.to_string() } });
    let intent = simulator(app, Method::POST, "/card/v1/payment_intents", Some(&body)).await;
    intent["id"].as_str().expect("an intent id").to_string()
}

/// Waits until every delivery of the intent's events has been answered.
async fn delivered(app: &TestApp, intent: &str, copies: usize) -> Vec<Value> {
    eventually(format!("the deliveries of {intent}"), || async {
        let list = simulator(app, Method::GET, &format!("/deliveries?payment={intent}"), None).await;
        let list = list.as_array().cloned().unwrap_or_default();
        let done = list.len() >= copies && list.iter().all(|d| d["state"] == "delivered" || d["state"] == "failed");
        done.then_some(list)
    })
    .await
}

async fn group(app: &TestApp, id: OrderGroupId) -> OrderGroup {
    orders::group(&table(app).await, id).await.unwrap().expect("the group exists")
}

#[tokio::test]
async fn a_card_payment_told_five_times_shuffled_with_its_3ds_step_pays_the_group_once_and_keeps_the_stock_held() {
    let app = TestApp::new();
    let (vendor, sku, variant, product, location) = stocked(&app, 5).await;
    let placed =
        place(&app, (&vendor, variant, product, location), 2, Utc::now() + chrono::Duration::minutes(15)).await;
    let held = app.stock_at(&vendor, &sku, &location.to_string()).await.unwrap();
    assert_eq!((held["on_hand"].as_u64(), held["reserved"].as_u64()), (Some(5), Some(2)));

    let pi = intent(&app, placed.id, placed.total.amount).await;
    // 3-D Secure first, then success, every event five times, held back and released shuffled.
    simulator(&app, Method::POST, &format!("/card/payment_intents/{pi}/require_action?duplicates=5&hold=true"), None)
        .await;
    simulator(&app, Method::POST, &format!("/card/payment_intents/{pi}/approve?duplicates=5&hold=true"), None).await;
    simulator(&app, Method::POST, "/deliveries/release?shuffle=true", None).await;
    let deliveries = delivered(&app, &pi, 10).await;
    assert!(deliveries.iter().all(|d| d["state"] == "delivered" && d["status"] == 200), "{deliveries:#?}");

    let paid = group(&app, placed.id).await;
    assert_eq!((paid.status, paid.payment_reference.as_deref()), (OrderStatus::Paid, Some(pi.as_str())));
    assert!(paid.refunds_due.is_empty());
    let orders = orders::orders_of(&table(&app).await, placed.id).await.unwrap();
    assert_eq!(orders[0].status, OrderStatus::Paid);
    assert_eq!(orders[0].timeline.iter().filter(|e| e.status == OrderStatus::Paid).count(), 1, "paid once");
    // Paid: the stock stays held, and the expiry job leaves the group alone.
    app.run_schedule("expire-reservations").await.expect(200);
    assert_eq!(group(&app, placed.id).await.status, OrderStatus::Paid);
    let still = app.stock_at(&vendor, &sku, &location.to_string()).await.unwrap();
    assert_eq!((still["on_hand"].as_u64(), still["reserved"].as_u64()), (Some(5), Some(2)));
}

#[tokio::test]
async fn an_unpaid_group_expires_with_its_stock_back_and_a_payment_after_that_or_of_the_wrong_amount_is_a_refund_due() {
    let app = TestApp::new();
    let (vendor, sku, variant, product, location) = stocked(&app, 3).await;
    let ids = (&vendor, variant, product, location);
    let late = place(&app, ids, 3, Utc::now() - chrono::Duration::seconds(1)).await;
    assert_eq!(app.stock_at(&vendor, &sku, &location.to_string()).await.unwrap()["available"].as_u64(), Some(0));

    let run = app.run_schedule("expire-reservations").await.expect(200).clone();
    assert!(run.to_string().contains(&late.id.to_string()), "{run}");
    assert_eq!(group(&app, late.id).await.status, OrderStatus::Expired);
    let back = app.stock_at(&vendor, &sku, &location.to_string()).await.unwrap();
    assert_eq!((back["reserved"].as_u64(), back["available"].as_u64()), (Some(0), Some(3)));
    let movements = app.movements(vendor.owner.token(), &vendor.id, &sku, &location.to_string()).await;
    let reasons: Vec<&str> = movements.iter().filter_map(|m| m["reason"].as_str()).collect();
    assert_eq!(reasons, ["received", "reserved", "reservation_released"]);

    // The customer pays after all: the payment is flagged for refund, the group stays expired.
    let pi = intent(&app, late.id, late.total.amount).await;
    simulator(&app, Method::POST, &format!("/card/payment_intents/{pi}/approve?duplicates=2"), None).await;
    delivered(&app, &pi, 2).await;
    let after = group(&app, late.id).await;
    assert_eq!((after.status, after.refunds_due.clone()), (OrderStatus::Expired, vec![pi.clone()]));

    // A payment of another amount never pays a group: a refund is due and the group waits.
    let open = place(&app, ids, 1, Utc::now() + chrono::Duration::minutes(15)).await;
    let short = intent(&app, open.id, open.total.amount - 1).await;
    simulator(&app, Method::POST, &format!("/card/payment_intents/{short}/approve"), None).await;
    delivered(&app, &short, 1).await;
    let waiting = group(&app, open.id).await;
    assert_eq!((waiting.status, waiting.refunds_due), (OrderStatus::PendingPayment, vec![short]));
}

#[tokio::test]
async fn a_webhook_without_a_valid_signature_is_refused_naming_the_header_and_changes_nothing() {
    let app = TestApp::new();
    let (vendor, _sku, variant, product, location) = stocked(&app, 2).await;
    let placed =
        place(&app, (&vendor, variant, product, location), 1, Utc::now() + chrono::Duration::minutes(15)).await;
    let event_id = format!("evt_{}", placed.id);
    let event = json!({ "id": event_id, "type": "payment_intent.succeeded", "created": Utc::now().timestamp(),
        "data": { "object": { "id": "pi_forged", "amount": placed.total.amount, "currency": "eur",
                              "metadata": { "order_group_id": placed.id.to_string() } } } })
    .to_string();
    let now = Utc::now().timestamp();
    let secret = std::env::var("STOCKYARD_CARD_WEBHOOK_SECRET").expect("the stack's card webhook secret");
    let signed_elsewhere = stockyard_domain::payment::sign_card("another secret", event.as_bytes(), now);
    let too_old = stockyard_domain::payment::sign_card(&secret, event.as_bytes(), now - 3_600);
    for signature in ["", "t=1,v1=zz", signed_elsewhere.as_str(), too_old.as_str()] {
        let resp = app
            .request_raw(
                Method::POST,
                "/webhooks/payments/card",
                None,
                Some(event.clone()),
                &[("Stripe-Signature", signature)],
            )
            .await;
        assert_eq!((resp.status, resp.json["error"]["field"].as_str()), (400, Some("Stripe-Signature")), "{signature}");
    }
    let untouched = group(&app, placed.id).await;
    assert_eq!((untouched.status, untouched.version), (OrderStatus::PendingPayment, placed.version));
    // The same body signed with the stack's secret is taken, once.
    let signature = stockyard_domain::payment::sign_card(&secret, event.as_bytes(), now);
    for duplicate in [false, true] {
        let resp = app
            .request_raw(
                Method::POST,
                "/webhooks/payments/card",
                None,
                Some(event.clone()),
                &[("Stripe-Signature", &signature)],
            )
            .await;
        assert_eq!((resp.status, resp.json["duplicate"].as_bool()), (200, Some(duplicate)), "{}", resp.json);
        assert_eq!(resp.json["outcome"], "moved");
    }
    assert_eq!(group(&app, placed.id).await.status, OrderStatus::Paid);
}
