//! Fulfilment (issue 14): a paid order on its location's pick list (walking order, batches
//! first-expiring-first), packed in parcels that take their units out of on hand through the
//! ledger, with the order following; bad input and strangers change nothing.

use chrono::{Days, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use stockyard_domain::ids::OrderGroupId;
use stockyard_domain::order::OrderStatus;
use stockyard_tests::{TestApp, TestUser, TestVendor, eventually, unique_tag};

use crate::checkout::{
    checkout, french_location, group, on_sale, paris, published_variant, ships_to_france, stock_of, taxed,
};

/// `units` of a perishable `sku` received at `location` into batch `lot`, expiring in `days`.
async fn batch(app: &TestApp, vendor: &TestVendor, (sku, location): (&str, &str), lot: &str, days: u64, units: u32) {
    let expires_on = Utc::now().date_naive() + Days::new(days);
    let body = json!({ "sku": sku, "location_id": location, "quantity": units, "reason": "received",
                       "lot": lot, "expires_on": expires_on });
    app.adjust_stock(vendor.owner.token(), &vendor.id, &body).await.expect(201);
}

/// A fresh customer's cart of `lines` placed: (the customer, the checkout's response).
pub(crate) async fn placed(app: &TestApp, lines: &[(&str, u32)]) -> (TestUser, Value) {
    let customer = app.customer().await;
    let eur = json!({ "currency": "EUR" });
    let cart = app.request(Method::POST, "/carts", Some(customer.token()), Some(&eur), &[]).await;
    let cart_id = cart.expect(201)["id"].as_str().unwrap().to_string();
    for (variant, quantity) in lines {
        let path = format!("/carts/{cart_id}/lines/{variant}");
        let body = json!({ "quantity": quantity });
        let resp = app.request(Method::PUT, &path, Some(customer.token()), Some(&body), &[]).await;
        assert!(resp.status < 300, "{resp}");
    }
    let body = json!({ "cart_id": cart_id, "shipping_address": paris() });
    let key = format!("ship-{}", unique_tag());
    let placed = checkout(app, Some(customer.token()), None, Some(&key), &body).await.expect(201).clone();
    (customer, placed)
}

/// Pays a placed group by card and waits until it is paid.
pub(crate) async fn pay(app: &TestApp, placed: &Value) {
    let group_id = placed["order_group"]["id"].as_str().unwrap();
    let intent = placed["payment"]["reference"].as_str().unwrap();
    let path = format!("/_local/payments/card/payment_intents/{intent}/approve");
    app.request(Method::POST, &path, None, None, &[]).await.expect(200);
    eventually("the group is paid", || async {
        (group(app, group_id).await.status == OrderStatus::Paid).then_some(())
    })
    .await;
}

/// A tracking number no other test uses (one number, one parcel, platform-wide).
pub(crate) fn tracking(suffix: &str) -> String {
    format!("T{}{suffix}", unique_tag()).to_uppercase()
}

/// Has the carrier's stand-in report `statuses` of the parcel `number` (all delivered: 200 each).
pub(crate) async fn carrier_reports(app: &TestApp, number: &str, body: Value) -> Value {
    let path = format!("/_local/carriers/parcels/{number}/events");
    let answer = app.request(Method::POST, &path, None, Some(&body), &[]).await.expect(200).clone();
    for delivery in answer["deliveries"].as_array().unwrap() {
        assert_eq!(delivery["response_status"], 200, "{answer}");
    }
    answer
}

pub(crate) fn parcel(location: &str, lines: &[(&str, u32)], tracking: &str) -> Value {
    let lines: Vec<Value> = lines.iter().map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity })).collect();
    json!({ "location_id": location, "lines": lines, "carrier": "La Poste", "service": "Colissimo",
            "tracking_number": tracking })
}

#[tokio::test]
async fn a_paid_order_is_picked_in_walking_order_first_expiring_first_and_leaves_in_two_parcels_through_the_ledger() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (jumper, jumper_sku, at) = on_sale(&app, &vendor, 1999, 5).await;
    let (milk, milk_sku) = published_variant(&app, &vendor, 250, json!({ "shelf_life_days": 30 })).await;
    batch(&app, &vendor, (&milk_sku, &at), "LATE", 20, 6).await;
    batch(&app, &vendor, (&milk_sku, &at), "SOON", 5, 3).await;
    ships_to_france(&app, &vendor).await;
    // The milk is kept in zone A, the jumpers in zone B: the walk takes the milk first.
    for (sku, zone) in [(&milk_sku, "a"), (&jumper_sku, "b")] {
        let path = format!("/vendors/{}/skus/{sku}/stock/{at}", vendor.id);
        let bin = json!({ "bin": { "zone": zone, "aisle": "01", "shelf": "1", "bin": "1" } });
        app.request(Method::PATCH, &path, Some(owner), Some(&bin), &[]).await.expect(200);
    }
    let (_, placed) = placed(&app, &[(&jumper, 3), (&milk, 4)]).await;
    pay(&app, &placed).await;
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    let order = placed["orders"][0]["id"].as_str().unwrap().to_string();

    // The pick list: the milk first (zone A), 3 of SOON then 1 of LATE; the order each goes to.
    let warehouse = app.user_with_platform_role("warehouse_staff").await;
    let pick_path = format!("/vendors/{}/locations/{at}/pick-list", vendor.id);
    let picks = app.request(Method::GET, &pick_path, Some(warehouse.token()), None, &[]).await.expect(200).clone();
    assert_eq!(picks["orders"], 1, "{picks}");
    let lines = picks["lines"].as_array().unwrap();
    let skus: Vec<&str> = lines.iter().map(|l| l["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, [milk_sku.as_str(), jumper_sku.as_str()], "{picks}");
    let batches: Vec<(&str, u64)> = lines[0]["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap(), b["quantity"].as_u64().unwrap()))
        .collect();
    assert_eq!(batches, [("SOON", 3), ("LATE", 1)]);
    assert_eq!((lines[1]["quantity"].as_u64(), lines[1]["bin"]["zone"].as_str()), (Some(3), Some("B")));
    assert_eq!(lines[1]["orders"][0]["order_id"], order.as_str());
    // Customers, catalog editors and other vendors' owners see no pick list.
    let (customer, editor, stranger) =
        tokio::join!(app.customer(), app.staff(&vendor, "catalog_editor"), app.vendor_owner());
    for token in [customer.token(), editor.token(), stranger.owner.token()] {
        app.request(Method::GET, &pick_path, Some(token), None, &[]).await.expect_error(403, "forbidden");
    }

    // Bad parcels change nothing.
    let ship_path = format!("/vendors/{}/orders/{order}/shipments", vendor.id);
    let ship = |token: &str, body: Value, key: Option<String>| {
        let (app, path, token) = (&app, ship_path.clone(), token.to_string());
        async move {
            let headers: Vec<(&str, &str)> = key.as_deref().map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
            app.request(Method::POST, &path, Some(&token), Some(&body), &headers).await
        }
    };
    let w = warehouse.token();
    let (t0, t1, t2) = (tracking("0"), tracking("1"), tracking("2"));
    let too_many = ship(w, parcel(&at, &[(&jumper_sku, 4)], &t0), None).await;
    too_many.expect_invalid_field("lines[0].quantity");
    ship(w, parcel(&at, &[("NOT-IN-ORDER", 1)], &t0), None).await.expect_invalid_field("lines[0].sku");
    ship(w, parcel(&at, &[(&jumper_sku, 1), (&jumper_sku, 1)], &t0), None).await.expect_invalid_field("lines[1].sku");
    let elsewhere = french_location(&app, &vendor).await;
    ship(w, parcel(&elsewhere, &[(&jumper_sku, 1)], &t0), None).await.expect_invalid_field("lines[0].sku");
    let mut no_carrier = parcel(&at, &[(&jumper_sku, 1)], &t0);
    no_carrier["carrier"] = json!("  ");
    ship(w, no_carrier, None).await.expect_invalid_field("carrier");
    let mut unknown_field = parcel(&at, &[(&jumper_sku, 1)], &t0);
    unknown_field["weight"] = json!(3);
    assert_eq!(ship(w, unknown_field, None).await.status, 400);
    ship(customer.token(), parcel(&at, &[(&jumper_sku, 1)], &t0), None).await.expect_error(403, "forbidden");
    assert_eq!(stock_of(&app, &vendor, &jumper_sku, &at).await, (2, 3), "nothing left");

    // The first parcel: two jumpers. They leave on hand and the reservation; available stays.
    let key = format!("parcel-{}", unique_tag());
    let first = ship(w, parcel(&at, &[(&jumper_sku, 2)], &t1), Some(key.clone())).await.expect(201).clone();
    assert_eq!(first["order_status"], "partially_shipped", "{first}");
    assert_eq!(first["ship_to"]["city"], "Paris");
    assert_eq!(first["shipment"]["lines"][0]["quantity"], 2);
    let again = ship(w, parcel(&at, &[(&jumper_sku, 2)], &t1), Some(key.clone())).await;
    assert_eq!(again.expect(201)["shipment"]["id"], first["shipment"]["id"], "a retry replays the parcel");
    let level = app.stock_at(&vendor, &jumper_sku, &at).await.unwrap();
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64(), level["available"].as_u64()),
        (Some(3), Some(1), Some(2))
    );
    let movements = app.movements(owner, &vendor.id, &jumper_sku, &at).await;
    let shipped: Vec<&Value> = movements.iter().filter(|m| m["reason"] == "shipped").collect();
    assert_eq!(shipped.len(), 1, "shipped once: {movements:?}");
    assert_eq!((shipped[0]["quantity"].as_i64(), shipped[0]["reserved_change"].as_i64()), (Some(-2), Some(-2)));
    assert_eq!(shipped[0]["reference"], format!("order:{group_id}").as_str());

    // The second parcel ships the rest: the milk from SOON first, then LATE.
    let second = ship(w, parcel(&at, &[(&jumper_sku, 1), (&milk_sku, 4)], &t2), None).await.expect(201).clone();
    assert_eq!(second["order_status"], "shipped", "{second}");
    let taken: Vec<(&str, u64)> = second["shipment"]["lines"][1]["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap(), b["quantity"].as_u64().unwrap()))
        .collect();
    assert_eq!(taken, [("SOON", 3), ("LATE", 1)]);
    let milk_level = app.stock_at(&vendor, &milk_sku, &at).await.unwrap();
    assert_eq!((milk_level["on_hand"].as_u64(), milk_level["reserved"].as_u64()), (Some(5), Some(0)));
    assert_eq!(stock_of(&app, &vendor, &jumper_sku, &at).await, (2, 0));
    ship(w, parcel(&at, &[(&jumper_sku, 1)], &t0), None).await.expect_error(409, "order_not_shippable");

    // Nothing waits at the location any more; the order's parcels and timeline tell it.
    let picks = app.request(Method::GET, &pick_path, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!((picks["orders"].as_u64(), picks["lines"].as_array().map(Vec::len)), (Some(0), Some(0)), "{picks}");
    let listed = app.request(Method::GET, &ship_path, Some(owner), None, &[]).await.expect(200).clone();
    let tracking: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|s| s["tracking_number"].as_str().unwrap()).collect();
    assert_eq!(tracking, [&t1, &t2]);
    let id = OrderGroupId::parse("id", &group_id).unwrap();
    let after = crate::checkout::table(&app).await;
    let held = stockyard_store::orders::group(&after, id).await.unwrap().unwrap().holds;
    assert!(held.is_empty(), "every held unit shipped: {held:?}");
    let order_path = format!("/vendors/{}/orders/{order}", vendor.id);
    let vendor_order = app.request(Method::GET, &order_path, Some(owner), None, &[]).await.expect(200).clone();
    let statuses: Vec<&str> =
        vendor_order["timeline"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["pending_payment", "paid", "partially_shipped", "shipped"], "{vendor_order}");

    // The second parcel arrives first: the order waits for the first. The first parcel's journey
    // then comes in shuffled, each event twice: it ends delivered all the same, and so does the
    // order (and its group, which has no other vendor).
    let second_home = carrier_reports(&app, &t2, json!({ "statuses": ["delivered"] })).await;
    assert_eq!(second_home["deliveries"][0]["response"]["outcome"], "recorded", "{second_home}");
    let vendor_order = app.request(Method::GET, &order_path, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!(vendor_order["status"], "shipped");
    let journey = json!({ "duplicates": 2, "shuffle": true, "seed": 3, "location": "Paris 01",
                          "estimated_delivery": "2026-12-24" });
    let first_home = carrier_reports(&app, &t1, journey).await;
    let outcomes: Vec<&str> = first_home["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["response"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "already_recorded").count(), 4, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "delivered").count(), 1, "the order arrives once: {outcomes:?}");
    let vendor_order = app.request(Method::GET, &order_path, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!(vendor_order["status"], "delivered", "{vendor_order}");
    let delivered_once = vendor_order["timeline"].as_array().unwrap().iter().filter(|t| t["status"] == "delivered");
    assert_eq!(delivered_once.count(), 1);
    let listed = app.request(Method::GET, &ship_path, Some(owner), None, &[]).await.expect(200).clone();
    let first_parcel = &listed["items"][0];
    let steps: Vec<&str> =
        first_parcel["tracking"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["label_created", "in_transit", "out_for_delivery", "delivered"], "in the order it happened");
    assert_eq!(
        (first_parcel["status"].as_str(), first_parcel["estimated_delivery"].as_str()),
        (Some("delivered"), Some("2026-12-24"))
    );
    assert_eq!(group(&app, &group_id).await.status, OrderStatus::Delivered);
    // A late in-transit scan of a delivered parcel takes its place in the past: still delivered.
    let an_hour_ago = Utc::now() - chrono::TimeDelta::hours(1);
    carrier_reports(&app, &t1, json!({ "statuses": ["in_transit"], "ends_at": an_hour_ago })).await;
    let listed = app.request(Method::GET, &ship_path, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!(listed["items"][0]["status"], "delivered", "{listed}");
}

#[tokio::test]
async fn an_unpaid_order_cannot_ship_and_a_customer_sees_the_parcels_of_their_order() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let (jumper, jumper_sku, at) = on_sale(&app, &vendor, 1999, 5).await;
    ships_to_france(&app, &vendor).await;
    let (customer, placed) = placed(&app, &[(&jumper, 1)]).await;
    let order = placed["orders"][0]["id"].as_str().unwrap();
    let group_id = placed["order_group"]["id"].as_str().unwrap();
    let path = format!("/vendors/{}/orders/{order}/shipments", vendor.id);
    let owner = vendor.owner.token();
    let refused = app
        .request(Method::POST, &path, Some(owner), Some(&parcel(&at, &[(&jumper_sku, 1)], &tracking("X"))), &[])
        .await;
    refused.expect_error(409, "order_not_shippable");
    // Not on the pick list until paid.
    let pick_path = format!("/vendors/{}/locations/{at}/pick-list", vendor.id);
    assert_eq!(app.request(Method::GET, &pick_path, Some(owner), None, &[]).await.expect(200)["orders"], 0);
    assert_eq!(stock_of(&app, &vendor, &jumper_sku, &at).await, (4, 1));

    pay(&app, &placed).await;
    assert_eq!(app.request(Method::GET, &pick_path, Some(owner), None, &[]).await.expect(200)["orders"], 1);
    let number = tracking("C");
    // Written as a person reads it off a label: spaces dropped, letters upper-cased.
    let spaced = format!(" {} {} ", &number[..5].to_lowercase(), &number[5..]);
    let one = parcel(&at, &[(&jumper_sku, 1)], &spaced);
    let shipped = app.request(Method::POST, &path, Some(owner), Some(&one), &[]).await;
    assert_eq!(shipped.expect(201)["order_status"], "shipped");
    let read = app.request(Method::GET, &format!("/orders/{group_id}"), Some(customer.token()), None, &[]).await;
    let read = read.expect(200).clone();
    assert_eq!(read["shipments"][0]["tracking_number"], number.as_str(), "{read}");
    assert_eq!(read["shipments"][0]["lines"][0]["quantity"], 1);
    assert!(read["shipments"][0].get("created_by").is_none(), "who packed it stays inside: {read}");
    assert_eq!(read["vendor_orders"][0]["status"], "shipped");
    assert_eq!(read["status"], "shipped", "the group follows its only order");

    // The packing slip: a PDF with the order's barcode and id, what is in the parcel and where it goes.
    let shipment_id = read["shipments"][0]["id"].as_str().unwrap().to_string();
    let slip_path = format!("{path}/{shipment_id}/packing-slip");
    let slip = eventually("the packing slip is written", || async {
        let resp = app.request(Method::GET, &slip_path, Some(owner), None, &[]).await;
        (resp.status == 200).then(|| resp.json.clone())
    })
    .await;
    let pdf = app.client.get(slip["download"]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.starts_with("%PDF-"));
    for wanted in [order, jumper_sku.as_str(), number.as_str(), "Paris", "Packing slip"] {
        assert!(text.contains(wanted), "{wanted} is not on the slip");
    }
    app.request(Method::GET, &slip_path, Some(customer.token()), None, &[]).await.expect_error(403, "forbidden");
    let missing = format!("{path}/{}/packing-slip", stockyard_domain::ids::ShipmentId::generate());
    app.request(Method::GET, &missing, Some(owner), None, &[]).await.expect_error(404, "not_found");

    // Another parcel cannot take the number: the carrier's events must name one parcel.
    let (_, other) = crate::fulfilment::placed(&app, &[(&jumper, 1)]).await;
    pay(&app, &other).await;
    let other_path = format!("/vendors/{}/orders/{}/shipments", vendor.id, other["orders"][0]["id"].as_str().unwrap());
    let taken = app.request(Method::POST, &other_path, Some(owner), Some(&one), &[]).await;
    taken.expect_error(409, "tracking_number_taken");
    assert_eq!(stock_of(&app, &vendor, &jumper_sku, &at).await, (3, 1), "the refused parcel took nothing");

    // Forged, unsigned or unknown deliveries change nothing.
    let secret = std::env::var("STOCKYARD_CARRIER_WEBHOOK_SECRET").expect("the stack gives the tests the secret");
    let event = |number: &str, status: &str| {
        json!({ "id": format!("evt-{}", unique_tag()), "type": "tracking.updated",
                "data": { "tracking_number": number, "status": status, "occurred_at": Utc::now() } })
        .to_string()
    };
    let deliver = |body: String, signature: Option<String>| {
        let app = &app;
        async move {
            let mut headers = vec![("content-type", "application/json")];
            if let Some(signature) = &signature {
                headers.push(("carrier-signature", signature.as_str()));
            }
            app.request_raw(Method::POST, "/webhooks/carriers", None, Some(body), &headers).await
        }
    };
    let now = Utc::now().timestamp();
    let body = event(&number, "delivered");
    let forged = stockyard_domain::carrier::sign("not-the-secret", body.as_bytes(), now);
    deliver(body.clone(), Some(forged)).await.expect_error(400, "malformed_request");
    deliver(body.clone(), None).await.expect_error(400, "malformed_request");
    let stale = stockyard_domain::carrier::sign(&secret, body.as_bytes(), now - 3600);
    deliver(body.clone(), Some(stale)).await.expect_error(400, "malformed_request");
    let unknown = event(&tracking("U"), "delivered");
    let signed = stockyard_domain::carrier::sign(&secret, unknown.as_bytes(), now);
    deliver(unknown, Some(signed)).await.expect_error(404, "not_found");
    let strange = event(&number, "teleported");
    let signed = stockyard_domain::carrier::sign(&secret, strange.as_bytes(), now);
    deliver(strange, Some(signed)).await.expect_invalid_field("data.status");
    let read = app.request(Method::GET, &format!("/orders/{group_id}"), Some(customer.token()), None, &[]).await;
    assert_eq!(read.expect(200)["shipments"][0]["status"], "packed");

    // The carrier reports the journey: the customer follows it to the door.
    let journey = json!({ "statuses": ["label_created", "in_transit", "failed_attempt", "out_for_delivery", "delivered"],
                          "estimated_delivery": "2026-12-24", "location": "Paris 01" });
    carrier_reports(&app, &number, journey).await;
    let read = app.request(Method::GET, &format!("/orders/{group_id}"), Some(customer.token()), None, &[]).await;
    let read = read.expect(200).clone();
    let parcel = &read["shipments"][0];
    let steps: Vec<&str> =
        parcel["tracking"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(steps, ["label_created", "in_transit", "failed_attempt", "out_for_delivery", "delivered"], "{read}");
    assert_eq!(parcel["tracking"][0]["location"], "Paris 01");
    assert!(parcel["tracking"][0].get("event_id").is_none(), "{parcel}");
    assert_eq!(
        (parcel["estimated_delivery"].as_str(), parcel["status"].as_str()),
        (Some("2026-12-24"), Some("delivered"))
    );
    assert!(parcel["delivered_at"].is_string());
    assert_eq!(
        (read["status"].as_str(), read["vendor_orders"][0]["status"].as_str()),
        (Some("delivered"), Some("delivered"))
    );

    // The customer was told when it left (its carrier and tracking number) and when it arrived.
    let about = |e: &stockyard_tests::SentEmail| e.text.as_deref().is_some_and(|t| t.contains(&number));
    let carried =
        |e: &stockyard_tests::SentEmail| e.text.as_deref().is_some_and(|t| t.contains("La Poste (Colissimo)"));
    app.eventually_email(&customer.email, |e| about(e) && carried(e)).await;
    app.eventually_email(&customer.email, |e| about(e) && !carried(e)).await;
    let told: Vec<String> =
        app.sent_emails_to(&customer.email).await.into_iter().filter(|e| about(e)).map(|e| e.subject).collect();
    assert_eq!(told.len(), 2, "one email each: {told:?}");
}
