//! Suppliers and purchase orders through the API: drafts from replenishment suggestions, sending
//! (incoming stock, an email with the order as a PDF), receipts into batches with the ledger,
//! concurrent and repeated receipts, cancelling, refusals that change nothing, other vendors.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use stockyard_tests::{TestApp, TestVendor, daily_history, pdf_text, today, unique_email, unique_tag};

/// The stock item of `sku` at `location`, from the SKU's stock view.
async fn stock_at(app: &TestApp, vendor: &TestVendor, sku: &str, location: &str) -> Value {
    let view = app.sku_stock(vendor.owner.token(), &vendor.id, sku).await;
    let view = view.expect(200);
    view["locations"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["location_id"] == location).cloned())
        .unwrap_or_else(|| json!({ "on_hand": 0, "incoming": 0 }))
}

fn units(item: &Value, field: &str) -> u64 {
    item[field].as_u64().unwrap_or(0)
}

/// A supplier of `vendor` selling in packs of `pack_size`: `(id, code, email)`.
async fn supplier(app: &TestApp, vendor: &TestVendor, pack_size: u32) -> (String, String, String) {
    app.new_supplier(vendor.owner.token(), &vendor.id, pack_size).await
}

/// A sent order of `quantity` units of `sku`: its id.
async fn sent_order(
    app: &TestApp,
    vendor: &TestVendor,
    supplier: &str,
    location: &str,
    sku: &str,
    quantity: u32,
) -> String {
    let t = vendor.owner.token();
    let body = json!({ "supplier_id": supplier, "location_id": location,
                       "lines": [{ "sku": sku, "quantity": quantity, "unit_cost": 120 }] });
    let id = app.create_purchase_order(t, &vendor.id, &body).await.id();
    app.purchase_order_action(t, &vendor.id, &id, "send").await.expect(200);
    id
}

#[tokio::test]
async fn an_order_from_suggestions_is_emailed_as_a_pdf_shows_as_incoming_and_is_received_into_two_batches() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let t = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, Some(30)).await;
    let (supplier_id, code, supplier_email) = supplier(&app, &vendor, 6).await;

    // Eight weeks of 5 a day and nothing on hand: the forecast suggests an order from the supplier.
    let settings = TestApp::demand_settings(Some(&supplier_id), 0);
    app.put_demand_settings(t, &vendor.id, &location, &sku, &settings).await.expect(200);
    app.record_history(t, &vendor.id, &location, &sku, &daily_history(today(), 56, |_| 5)).await;
    app.run_forecast(t, &vendor.id).await.expect(201);
    let plan = app.replenishment(t, &vendor.id, "").await;
    let plan = plan.expect(200);
    assert_eq!(
        (plan["suppliers"][0]["supplier_id"].as_str(), plan["suppliers"][0]["supplier_code"].as_str()),
        (Some(supplier_id.as_str()), Some(code.as_str())),
        "{plan}"
    );
    let suggested = plan["suppliers"][0]["lines"][0]["order_qty"].as_f64().expect("a suggestion");
    assert!(suggested > 0.0);

    // One draft for the supplier, in whole packs; the same key replays it.
    let key = format!("suggestions-{}", unique_tag());
    let made = app.purchase_orders_from_suggestions(t, &vendor.id, &json!({}), Some(&key)).await;
    let made = made.expect(201).clone();
    let orders = made["purchase_orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1, "{made}");
    let order = &orders[0];
    let (id, number) = (order["id"].as_str().unwrap().to_string(), order["number"].as_str().unwrap().to_string());
    assert_eq!((order["status"].as_str(), order["origin"].as_str()), (Some("draft"), Some("suggestions")));
    assert_eq!(order["supplier"]["supplier_id"], supplier_id.as_str());
    let quantity = order["lines"][0]["quantity"].as_u64().unwrap();
    assert_eq!(order["lines"][0]["sku"], sku.as_str());
    assert!(quantity % 6 == 0 && quantity as f64 >= suggested && (quantity as f64) < suggested + 6.0, "{quantity}");
    let again = app.purchase_orders_from_suggestions(t, &vendor.id, &json!({}), Some(&key)).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.expect(201)["purchase_orders"][0]["id"], id.as_str());
    let drafts = app.all_pages(t, &format!("/vendors/{}/purchase-orders?status=draft", vendor.id)).await;
    assert_eq!(drafts.len(), 1, "the replay made no second draft");

    // The manager sets the cost and sends it: incoming at once, and the supplier gets the PDF.
    let lines = json!({ "lines": [{ "sku": sku, "quantity": quantity, "unit_cost": 85 }] });
    let path = format!("/vendors/{}/purchase-orders/{id}", vendor.id);
    app.request(Method::PATCH, &path, Some(t), Some(&lines), &[]).await.expect(200);
    let sent = app.purchase_order_action(t, &vendor.id, &id, "send").await;
    assert_eq!(sent.expect(200)["status"], "sent");
    assert_eq!(units(&stock_at(&app, &vendor, &sku, &location).await, "incoming"), quantity);
    let email = app.eventually_email(&supplier_email, |e| e.subject.contains(&number)).await;
    let pdf = email.attachments.iter().find(|a| a.content_type == "application/pdf").expect("a PDF attached");
    assert_eq!(pdf.filename.as_deref(), Some(format!("{number}.pdf").as_str()));
    let text = pdf_text(&pdf.bytes());
    for expected in [number.as_str(), "Acme Dairy", code.as_str(), sku.as_str(), &quantity.to_string(), &vendor.name] {
        assert!(text.contains(expected), "{expected:?} is not in the PDF: {text}");
    }
    app.purchase_order_action(t, &vendor.id, &id, "send").await.expect_error(409, "purchase_order_not_draft");

    // First delivery: 6 units of lot A; retried with its key, it is replayed and posts nothing twice.
    let first = 6;
    let lot_a_expiry = today() + Duration::days(20);
    let receipt =
        json!({ "lines": [{ "sku": sku, "quantity": first, "lot": "LOT-A", "expires_on": lot_a_expiry.to_string() }] });
    let key = format!("receipt-{}", unique_tag());
    let got = app.receive_purchase_order(t, &vendor.id, &id, &receipt, Some(&key)).await;
    let got = got.expect(201).clone();
    assert_eq!(got["purchase_order"]["status"], "partially_received");
    let retried = app.receive_purchase_order(t, &vendor.id, &id, &receipt, Some(&key)).await;
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(retried.expect(201)["receipt_id"], got["receipt_id"]);
    let item = stock_at(&app, &vendor, &sku, &location).await;
    assert_eq!((units(&item, "on_hand"), units(&item, "incoming")), (first, quantity - first));

    // The rest, as lot B with its default expiry: received.
    let rest = json!({ "lines": [{ "sku": sku, "quantity": quantity - first, "lot": "LOT-B" }] });
    let done = app.receive_purchase_order(t, &vendor.id, &id, &rest, None).await;
    assert_eq!(done.expect(201)["purchase_order"]["status"], "received");
    let one_more = json!({ "lines": [{ "sku": sku, "quantity": 1, "lot": "LOT-C" }] });
    let refused = app.receive_purchase_order(t, &vendor.id, &id, &one_more, None).await;
    refused.expect_error(409, "purchase_order_not_open");

    let item = stock_at(&app, &vendor, &sku, &location).await;
    assert_eq!((units(&item, "on_hand"), units(&item, "incoming")), (quantity, 0));
    let batches: Vec<(String, u64)> = item["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap().to_string(), b["on_hand"].as_u64().unwrap()))
        .collect();
    assert_eq!(batches, vec![("LOT-A".to_string(), first), ("LOT-B".to_string(), quantity - first)], "{item}");

    // The ledger: two receipts, referencing the order, adding up to on hand.
    let movements = app.movements(t, &vendor.id, &sku, &location).await;
    assert_eq!(movements.len(), 2, "{movements:#?}");
    assert!(movements.iter().all(|m| m["reason"] == "received" && m["reference"] == format!("po:{id}").as_str()));
    let sum: i64 = movements.iter().map(|m| m["quantity"].as_i64().unwrap()).sum();
    assert_eq!(sum, quantity as i64);
    assert_eq!(movements.last().unwrap()["on_hand_after"].as_u64(), Some(quantity));

    // The order shows both receipts and is found by its status and supplier.
    let detail = app.purchase_order(t, &vendor.id, &id).await;
    let detail = detail.expect(200);
    let received: Vec<u64> =
        detail["receipts"].as_array().unwrap().iter().map(|r| r["quantity"].as_u64().unwrap()).collect();
    assert_eq!(received.iter().sum::<u64>(), quantity);
    assert_eq!(detail["lines"][0]["received"].as_u64(), Some(quantity));
    let listed = app
        .all_pages(t, &format!("/vendors/{}/purchase-orders?status=received&supplier_id={supplier_id}", vendor.id))
        .await;
    assert_eq!(listed.iter().map(|o| o["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![id.as_str()]);
    let other_supplier = supplier(&app, &vendor, 1).await.0;
    let none = app.all_pages(t, &format!("/vendors/{}/purchase-orders?supplier_id={other_supplier}", vendor.id)).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn settings_name_only_the_vendors_own_suppliers_and_suggestions_without_one_are_not_ordered() {
    let app = TestApp::new();
    let (vendor, stranger) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let t = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let (theirs, ..) = supplier(&app, &stranger, 1).await;
    for supplier_id in [theirs.as_str(), "01JB0000000000000000000000"] {
        let settings = TestApp::demand_settings(Some(supplier_id), 0);
        let refused = app.put_demand_settings(t, &vendor.id, &location, &sku, &settings).await;
        assert_eq!(refused.expect_error(422, "unknown_supplier")["field"], "supplier_id");
    }
    let mut settings = TestApp::demand_settings(None, 0);
    settings["category_id"] = json!("01JB0000000000000000000000");
    app.put_demand_settings(t, &vendor.id, &location, &sku, &settings).await.expect_invalid_field("category_id");
    // Without a category the SKU's catalog product lends its own.
    let settings = TestApp::demand_settings(None, 0);
    let stored = app.put_demand_settings(t, &vendor.id, &location, &sku, &settings).await;
    let stored = stored.expect(200);
    assert!(stored["category_id"].is_string() && stored.get("supplier_id").is_none(), "{stored}");
    app.record_history(t, &vendor.id, &location, &sku, &daily_history(today(), 56, |_| 3)).await;
    app.run_forecast(t, &vendor.id).await.expect(201);
    let made = app.purchase_orders_from_suggestions(t, &vendor.id, &json!({}), None).await;
    let made = made.expect(201);
    assert_eq!(made["purchase_orders"], json!([]));
    let skipped = &made["not_ordered"][0];
    assert_eq!((skipped["sku"].as_str(), skipped["reason"].as_str()), (Some(sku.as_str()), Some("no_supplier")));
    assert!(app.all_pages(t, &format!("/vendors/{}/purchase-orders", vendor.id)).await.is_empty());
}

#[tokio::test]
async fn two_receipts_at_once_never_both_apply_one_line() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let t = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let (supplier_id, ..) = supplier(&app, &vendor, 1).await;
    let id = sent_order(&app, &vendor, &supplier_id, &location, &sku, 10).await;
    let receipt = json!({ "lines": [{ "sku": sku, "quantity": 10 }] });
    let answers =
        futures_util::future::join_all((0..4).map(|_| app.receive_purchase_order(t, &vendor.id, &id, &receipt, None)))
            .await;
    let accepted = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(accepted, 1, "{answers:#?}");
    for refused in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(refused.status, 409, "{refused}");
        assert!(matches!(refused.error_code(), Some("purchase_order_not_open" | "more_than_ordered")), "{refused}");
    }
    let item = stock_at(&app, &vendor, &sku, &location).await;
    assert_eq!((units(&item, "on_hand"), units(&item, "incoming")), (10, 0));
    assert_eq!(app.movements(t, &vendor.id, &sku, &location).await.len(), 1);
}

#[tokio::test]
async fn cancelling_an_open_order_takes_what_did_not_arrive_off_incoming() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let t = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let (supplier_id, ..) = supplier(&app, &vendor, 4).await;
    let id = sent_order(&app, &vendor, &supplier_id, &location, &sku, 12).await;
    let receipt = json!({ "lines": [{ "sku": sku, "quantity": 5 }] });
    app.receive_purchase_order(t, &vendor.id, &id, &receipt, None).await.expect(201);
    let cancelled = app.purchase_order_action(t, &vendor.id, &id, "cancel").await;
    assert_eq!(cancelled.expect(200)["status"], "cancelled");
    let item = stock_at(&app, &vendor, &sku, &location).await;
    assert_eq!((units(&item, "on_hand"), units(&item, "incoming")), (5, 0));
    app.purchase_order_action(t, &vendor.id, &id, "cancel").await.expect_error(409, "purchase_order_closed");
    app.receive_purchase_order(t, &vendor.id, &id, &receipt, None).await.expect_error(409, "purchase_order_not_open");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let t = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, Some(10)).await;
    let (supplier_id, ..) = supplier(&app, &vendor, 6).await;
    let v = vendor.id.as_str();

    let supplier_errors = [
        (json!({ "code": "A#1", "name": "X", "email": "a@b.example", "currency": "EUR", "lead_time_days": 1 }), "code"),
        (json!({ "code": "A1", "name": "X", "email": "nope", "currency": "EUR", "lead_time_days": 1 }), "email"),
        (
            json!({ "code": "A1", "name": "X", "email": "a@b.example", "currency": "EURO", "lead_time_days": 1 }),
            "currency",
        ),
        (
            json!({ "code": "A1", "name": "X", "email": "a@b.example", "currency": "EUR", "lead_time_days": 400 }),
            "lead_time_days",
        ),
        (
            json!({ "code": "A1", "name": "X", "email": "a@b.example", "currency": "EUR", "lead_time_days": 1, "pack_size": 0 }),
            "pack_size",
        ),
    ];
    for (body, field) in supplier_errors {
        app.create_supplier(t, v, &body).await.expect_invalid_field(field);
    }
    let unknown_field = json!({ "code": "A1", "name": "X", "email": "a@b.example", "currency": "EUR", "lead_time_days": 1, "colour": "red" });
    assert_eq!(app.create_supplier(t, v, &unknown_field).await.status, 400);
    let order = |quantity: i64| json!({ "supplier_id": supplier_id, "location_id": location, "lines": [{ "sku": sku, "quantity": quantity, "unit_cost": 10 }] });
    app.create_purchase_order(t, v, &order(7)).await.expect_invalid_field("lines[0].quantity");
    app.create_purchase_order(t, v, &order(0)).await.expect_invalid_field("lines[0].quantity");
    let twice = json!({ "supplier_id": supplier_id, "location_id": location,
                        "lines": [{ "sku": sku, "quantity": 6, "unit_cost": 1 }, { "sku": sku, "quantity": 6, "unit_cost": 1 }] });
    app.create_purchase_order(t, v, &twice).await.expect_invalid_field("lines[1].sku");
    let unknown_sku = json!({ "supplier_id": supplier_id, "location_id": location, "lines": [{ "sku": "NO-SUCH-SKU", "quantity": 6, "unit_cost": 1 }] });
    app.create_purchase_order(t, v, &unknown_sku).await.expect_error(422, "unknown_sku");
    assert!(app.all_pages(t, &format!("/vendors/{v}/purchase-orders")).await.is_empty(), "no order was made");

    // A code is taken once per vendor; an order under the supplier's minimum is not sent.
    let mut taken = TestApp::supplier_body(&unique_email(), 6);
    app.create_supplier(t, v, &taken).await.expect(201);
    taken["email"] = json!(unique_email());
    app.create_supplier(t, v, &taken).await.expect_error(409, "supplier_code_taken");
    let mut demanding = TestApp::supplier_body(&unique_email(), 6);
    demanding["minimum_order"] = json!(10_000);
    let demanding = app.create_supplier(t, v, &demanding).await.id();
    let small = json!({ "supplier_id": demanding, "location_id": location,
                        "lines": [{ "sku": sku, "quantity": 6, "unit_cost": 100 }] });
    let small = app.create_purchase_order(t, v, &small).await.id();
    app.purchase_order_action(t, v, &small, "send").await.expect_error(409, "below_minimum_order");
    assert_eq!(app.purchase_order(t, v, &small).await.expect(200)["status"], "draft");
    assert_eq!(units(&stock_at(&app, &vendor, &sku, &location).await, "incoming"), 0);

    let id = sent_order(&app, &vendor, &supplier_id, &location, &sku, 12).await;
    let receipts = [
        (json!({ "lines": [{ "sku": sku, "quantity": 13, "lot": "L1" }] }), 409, "more_than_ordered"),
        (json!({ "lines": [{ "sku": sku, "quantity": 6 }] }), 422, "invalid_field"),
        (
            json!({ "lines": [{ "sku": sku, "quantity": 6, "lot": "L1", "expires_on": "2020-01-01" }] }),
            422,
            "invalid_field",
        ),
        (json!({ "lines": [{ "sku": "OTHER", "quantity": 1 }] }), 422, "unknown_line"),
        (json!({ "lines": [] }), 422, "invalid_field"),
        (
            json!({ "lines": [{ "sku": sku, "quantity": 6, "lot": "L1" }, { "sku": sku, "quantity": 1, "lot": "L2" }] }),
            422,
            "invalid_field",
        ),
    ];
    for (body, status, code) in receipts {
        app.receive_purchase_order(t, v, &id, &body, None).await.expect_error(status, code);
    }
    let item = stock_at(&app, &vendor, &sku, &location).await;
    assert_eq!((units(&item, "on_hand"), units(&item, "incoming")), (0, 12));
    assert!(app.movements(t, v, &sku, &location).await.is_empty());
    let detail = app.purchase_order(t, v, &id).await;
    assert_eq!(detail.expect(200)["status"], "sent");
    let lines = json!({ "lines": [{ "sku": sku, "quantity": 6, "unit_cost": 1 }] });
    let path = format!("/vendors/{v}/purchase-orders/{id}");
    app.request(Method::PATCH, &path, Some(t), Some(&lines), &[]).await.expect_error(409, "purchase_order_not_draft");
}

#[tokio::test]
async fn another_vendor_can_neither_read_nor_change_suppliers_or_orders() {
    let app = TestApp::new();
    let (a, b) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let (sku, location) = app.variant_and_location(&a, None).await;
    let (supplier_id, ..) = supplier(&app, &a, 1).await;
    let id = sent_order(&app, &a, &supplier_id, &location, &sku, 3).await;
    let intruder = b.owner.token();
    let receipt = json!({ "lines": [{ "sku": sku, "quantity": 3 }] });
    let on_a = [
        app.purchase_order(intruder, &a.id, &id).await,
        app.request(Method::GET, &format!("/vendors/{}/suppliers/{supplier_id}", a.id), Some(intruder), None, &[])
            .await,
        app.request(Method::GET, &format!("/vendors/{}/purchase-orders", a.id), Some(intruder), None, &[]).await,
        app.receive_purchase_order(intruder, &a.id, &id, &receipt, None).await,
        app.purchase_order_action(intruder, &a.id, &id, "cancel").await,
    ];
    for resp in on_a {
        resp.expect_error(403, "forbidden");
    }
    // Through its own vendor, A's ids name nothing.
    app.purchase_order(intruder, &b.id, &id).await.expect_error(404, "not_found");
    app.receive_purchase_order(intruder, &b.id, &id, &receipt, None).await.expect_error(404, "not_found");
    let path = format!("/vendors/{}/suppliers/{supplier_id}", b.id);
    app.request(Method::GET, &path, Some(intruder), None, &[]).await.expect_error(404, "not_found");
    let detail = app.purchase_order(a.owner.token(), &a.id, &id).await;
    assert_eq!(detail.expect(200)["status"], "sent");
}

/// The whole story of one perishable SKU: the forecast suggests an order, the draft made from the
/// suggestion is sent (an email with the PDF) and shows as incoming in the next forecast; it is
/// received into two batches; two channels sell first-expiring first; crossing the reorder point
/// sends exactly one alert email; and the nightly forecast sees the day's sales and the real stock.
#[tokio::test]
async fn from_a_suggestion_to_two_batches_sold_through_two_channels_and_back_into_the_nightly_forecast() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let t = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, Some(30)).await;
    let (supplier_id, _, supplier_email) = supplier(&app, &vendor, 6).await;
    let yesterday = today() - Duration::days(1);
    // Settings that declare 500 on hand: once Stockyard holds the SKU here, its real stock counts.
    let settings = TestApp::demand_settings(Some(&supplier_id), 500);
    app.put_demand_settings(t, &vendor.id, &location, &sku, &settings).await.expect(200);
    app.record_history(t, &vendor.id, &location, &sku, &daily_history(yesterday, 56, |_| 5)).await;
    let forecast_of = || async { app.sku_forecast(t, &vendor.id, &sku).await.expect(200)["locations"][0].clone() };
    app.run_forecast(t, &vendor.id).await.expect(201);
    let declared = forecast_of().await;
    assert_eq!((declared["stock_source"].as_str(), declared["on_hand"].as_u64()), (Some("declared"), Some(500)));
    assert_eq!(declared["suggestion"]["order_qty"], 0.0, "500 declared on hand cover it: {declared}");

    // Stockyard now tracks the SKU here (a reorder point of 0 for now): nothing on hand, so an order.
    let stock_settings = format!("/vendors/{}/skus/{sku}/stock/{location}", vendor.id);
    app.request(Method::PATCH, &stock_settings, Some(t), Some(&json!({ "reorder_point": 0 })), &[]).await.expect(200);
    app.run_forecast(t, &vendor.id).await.expect(201);
    let tracked = forecast_of().await;
    assert_eq!((tracked["stock_source"].as_str(), tracked["on_hand"].as_u64()), (Some("tracked"), Some(0)));
    let suggested = tracked["suggestion"]["order_qty"].as_f64().unwrap();
    assert!(suggested > 0.0, "{tracked}");

    // The draft from the suggestion, sent: an email with the PDF, and incoming in the next run.
    let made = app.purchase_orders_from_suggestions(t, &vendor.id, &json!({}), None).await;
    let order = made.expect(201)["purchase_orders"][0].clone();
    let (id, number) = (order["id"].as_str().unwrap().to_string(), order["number"].as_str().unwrap().to_string());
    let quantity = order["lines"][0]["quantity"].as_u64().unwrap();
    let lines = json!({ "lines": [{ "sku": sku, "quantity": quantity, "unit_cost": 85 }] });
    let path = format!("/vendors/{}/purchase-orders/{id}", vendor.id);
    app.request(Method::PATCH, &path, Some(t), Some(&lines), &[]).await.expect(200);
    app.purchase_order_action(t, &vendor.id, &id, "send").await.expect(200);
    let email = app.eventually_email(&supplier_email, |e| e.subject.contains(&number)).await;
    assert!(email.attachments.iter().any(|a| a.content_type == "application/pdf"), "{email:?}");
    app.run_forecast(t, &vendor.id).await.expect(201);
    let ordered = forecast_of().await;
    assert_eq!((ordered["on_hand"].as_u64(), ordered["incoming"].as_u64()), (Some(0), Some(quantity)), "{ordered}");
    assert_eq!(ordered["suggestion"]["order_qty"], 0.0, "what is on its way is not ordered again: {ordered}");

    // Received in two deliveries: lot A expires in 10 days, lot B at the shelf life's default.
    let lot_a = json!({ "lines": [{ "sku": sku, "quantity": 6, "lot": "LOT-A",
                                    "expires_on": (today() + Duration::days(10)).to_string() }] });
    app.receive_purchase_order(t, &vendor.id, &id, &lot_a, None).await.expect(201);
    let lot_b = json!({ "lines": [{ "sku": sku, "quantity": quantity - 6, "lot": "LOT-B" }] });
    let done = app.receive_purchase_order(t, &vendor.id, &id, &lot_b, None).await;
    assert_eq!(done.expect(201)["purchase_order"]["status"], "received");

    // A reorder point 10 below what arrived: two channels sell 8 (no crossing), then 3 (low), then 2.
    let point = quantity - 10;
    app.request(Method::PATCH, &stock_settings, Some(t), Some(&json!({ "reorder_point": point })), &[])
        .await
        .expect(200);
    let pos = app.create_channel(t, &vendor.id, "pos", &location).await;
    let market = app.create_channel(t, &vendor.id, "marketplace", &location).await;
    for (channel, sale, units) in [(&pos, "p1", 4), (&market, "m1", 4), (&pos, "p2", 3), (&market, "m2", 2)] {
        let sold =
            app.channel_sales(t, &vendor.id, channel, json!([{ "sale_id": sale, "sku": sku, "quantity": units }]));
        assert_eq!(sold.await.expect(200)["applied"], 1);
    }
    let item = stock_at(&app, &vendor, &sku, &location).await;
    let batches: Vec<(String, u64)> = item["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap().to_string(), b["on_hand"].as_u64().unwrap()))
        .collect();
    assert_eq!(batches, vec![("LOT-B".to_string(), quantity - 13)], "lot A, first to expire, went first: {item}");

    // The day's 13 units reach the sales history; by then the stream has raised what it raises.
    let history = format!("/vendors/{}/demand/{location}/{sku}/sales?from={}&to={}", vendor.id, today(), today());
    stockyard_tests::eventually("the day's channel sales in the history", || async {
        let resp = app.request(Method::GET, &history, Some(t), None, &[]).await;
        (resp.expect(200)["days"][0]["units"] == 13).then_some(())
    })
    .await;
    let low =
        app.eventually_email(&vendor.owner.email, |e| e.subject.starts_with("Low stock") && e.subject.contains(&sku));
    assert!(low.await.text.as_deref().unwrap_or_default().contains(&format!("down to {} available", quantity - 11)));
    let alerts = app.all_pages(t, &format!("/vendors/{}/alerts", vendor.id)).await;
    assert_eq!(alerts.iter().filter(|a| a["sku"] == sku.as_str()).count(), 1, "one crossing, one alert: {alerts:?}");
    let emails = app.sent_emails_to(&vendor.owner.email).await;
    let lows = emails.iter().filter(|e| e.subject.starts_with("Low stock") && e.subject.contains(&sku)).count();
    assert_eq!(lows, 1, "one email for the crossing, none for the sale after it");

    // The nightly forecast of today: today's sales are in its history and the real stock in its position.
    let nightly = app.invoke("nightly-demand-forecast", &json!({ "vendor_id": vendor.id, "as_of": today() })).await;
    assert_eq!(nightly.expect(200)["runs"][0]["status"], "finished", "{nightly}");
    let tonight = forecast_of().await;
    assert_eq!(tonight["as_of"], today().to_string());
    assert_eq!((tonight["stock_source"].as_str(), tonight["on_hand"].as_u64()), (Some("tracked"), Some(quantity - 13)));
    assert_eq!(tonight["incoming"], 0, "{tonight}");
}
