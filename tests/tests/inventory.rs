//! Inventory through the API: adjustments, the ledger, batches first-expiring-first, counts,
//! transfers, bins and reorder points, the views, the reconciler, and stock that never goes wrong
//! under concurrency.

use std::sync::Arc;

use chrono::Days;
use serde_json::{Value, json};
use stockyard_tests::{Method, TestApp, TestVendor, today};

fn adjustment(sku: &str, location: &str, quantity: i64, reason: &str) -> Value {
    json!({ "sku": sku, "location_id": location, "quantity": quantity, "reason": reason })
}

/// The stock of `sku` at `location` as the per-SKU view shows it.
async fn level(app: &TestApp, vendor: &TestVendor, sku: &str, location: &str) -> Value {
    app.stock_at(vendor, sku, location).await.unwrap_or_else(|| panic!("no stock of {sku} at {location}"))
}

/// The ledger adds up to on hand, one movement per version, each recording on hand after it.
async fn assert_ledger_matches(app: &TestApp, vendor: &TestVendor, sku: &str, location: &str) -> Vec<Value> {
    let stock = level(app, vendor, sku, location).await;
    let ledger = app.movements(vendor.owner.token(), &vendor.id, sku, location).await;
    let sum: i64 = ledger.iter().map(|m| m["quantity"].as_i64().unwrap()).sum();
    assert_eq!(sum, stock["on_hand"].as_i64().unwrap(), "the ledger sums to on hand: {ledger:?}");
    let versions: Vec<u64> = ledger.iter().map(|m| m["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, (1..=stock["version"].as_u64().unwrap()).collect::<Vec<_>>(), "one movement per version");
    let mut on_hand = 0;
    for m in &ledger {
        on_hand += m["quantity"].as_i64().unwrap();
        assert_eq!(m["on_hand_after"].as_i64().unwrap(), on_hand, "before and after follow from the ledger");
    }
    ledger
}

#[tokio::test]
async fn adjustments_move_stock_with_a_reason_and_every_change_is_in_the_ledger() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let manager = app.staff(&vendor, "inventory_manager").await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;

    let received = app.adjust_stock(manager.token(), &vendor.id, &adjustment(&sku, &location, 20, "received")).await;
    let received = received.expect(201);
    assert_eq!(received["movement"]["version"], 1);
    assert_eq!(received["movement"]["actor"]["id"], manager.id.as_str());
    assert_eq!(received["stock"]["available"], 20);
    let mut damaged = adjustment(&sku, &location, -3, "damaged");
    damaged["note"] = json!("dropped pallet");
    app.adjust_stock(manager.token(), &vendor.id, &damaged).await.expect(201);

    // refused changes change nothing
    let too_many = app.adjust_stock(manager.token(), &vendor.id, &adjustment(&sku, &location, -18, "lost")).await;
    too_many.expect_error(409, "insufficient_stock");
    assert_eq!(too_many.error_field(), Some("quantity"));
    app.adjust_stock(manager.token(), &vendor.id, &adjustment(&sku, &location, 5, "damaged"))
        .await
        .expect_invalid_field("quantity");
    app.adjust_stock(manager.token(), &vendor.id, &adjustment(&sku, &location, 0, "correction"))
        .await
        .expect_invalid_field("quantity");
    let count = adjustment(&sku, &location, 1, "count");
    let count = app.adjust_stock(manager.token(), &vendor.id, &count).await;
    count.expect_error(400, "malformed_request");
    assert_eq!(count.error_field(), Some("reason"), "only adjustment reasons are taken");
    let unknown =
        app.adjust_stock(manager.token(), &vendor.id, &adjustment("NO-SUCH-SKU", &location, 1, "found")).await;
    unknown.expect_error(422, "unknown_sku");
    let nowhere = adjustment(&sku, "01JBZ4W9Q6T3M8K2R5X7N1C0QC", 1, "found");
    app.adjust_stock(manager.token(), &vendor.id, &nowhere).await.expect_error(422, "unknown_location");
    let mut batch_for_plain = adjustment(&sku, &location, 1, "found");
    batch_for_plain["lot"] = json!("L1");
    app.adjust_stock(manager.token(), &vendor.id, &batch_for_plain).await.expect_invalid_field("lot");

    let stock = level(&app, &vendor, &sku, &location).await;
    assert_eq!((stock["on_hand"].as_i64(), stock["version"].as_i64()), (Some(17), Some(2)));
    let ledger = assert_ledger_matches(&app, &vendor, &sku, &location).await;
    assert_eq!(ledger[1]["reason"], "damaged");
    assert_eq!(ledger[1]["note"], "dropped pallet");

    // an idempotent retry applies once
    let key = [("idempotency-key", "adjust-once-1")];
    let body = adjustment(&sku, &location, 4, "found");
    let path = format!("/vendors/{}/stock/adjustments", vendor.id);
    let first = app.request(Method::POST, &path, Some(manager.token()), Some(&body), &key).await;
    let again = app.request(Method::POST, &path, Some(manager.token()), Some(&body), &key).await;
    assert_eq!(first.expect(201)["movement"], again.expect(201)["movement"]);
    assert_eq!(level(&app, &vendor, &sku, &location).await["on_hand"], 21);
}

#[tokio::test]
async fn perishable_stock_is_held_in_batches_and_leaves_first_expiring_first() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, Some(30)).await;
    let soon = today() + Days::new(3);
    let late = today() + Days::new(20);

    let mut no_lot = adjustment(&sku, &location, 5, "received");
    app.adjust_stock(owner, &vendor.id, &no_lot).await.expect_invalid_field("lot");
    no_lot["lot"] = json!("late-1");
    no_lot["expires_on"] = json!(late);
    app.adjust_stock(owner, &vendor.id, &no_lot).await.expect(201);
    let mut early = adjustment(&sku, &location, 4, "received");
    early["lot"] = json!("soon-1");
    early["expires_on"] = json!(soon);
    app.adjust_stock(owner, &vendor.id, &early).await.expect(201);
    let mut default_expiry = adjustment(&sku, &location, 1, "received");
    default_expiry["lot"] = json!("shelf-life");
    let stock = app.adjust_stock(owner, &vendor.id, &default_expiry).await.expect(201)["stock"].clone();
    let batches = stock["batches"].as_array().unwrap();
    assert_eq!(
        batches.iter().map(|b| b["lot"].as_str().unwrap()).collect::<Vec<_>>(),
        ["SOON-1", "LATE-1", "SHELF-LIFE"]
    );
    assert_eq!(batches[2]["expires_on"], json!(today() + Days::new(30)), "default expiry: today + shelf life");
    assert_eq!(stock["status"], "expiring", "a batch expires within 7 days");
    let mut past = adjustment(&sku, &location, 1, "received");
    past["lot"] = json!("old");
    past["expires_on"] = json!(today() - Days::new(1));
    app.adjust_stock(owner, &vendor.id, &past).await.expect_invalid_field("expires_on");

    // taking 6 without naming a lot: all 4 of the first-expiring batch, then 2 of the next
    let taken = app.adjust_stock(owner, &vendor.id, &adjustment(&sku, &location, -6, "lost")).await.expect(201).clone();
    let moved: Vec<(String, i64)> = taken["movement"]["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap().to_string(), b["quantity"].as_i64().unwrap()))
        .collect();
    assert_eq!(moved, [("SOON-1".to_string(), -4), ("LATE-1".to_string(), -2)]);
    let after = level(&app, &vendor, &sku, &location).await;
    assert_eq!(after["batches"].as_array().unwrap().len(), 2, "the emptied batch is gone");
    assert_eq!(after["on_hand"], 4);

    // a count of one batch posts its difference
    let count = json!({ "location_id": location, "lines": [{ "sku": sku, "lot": "late-1", "counted": 1 }] });
    let path = format!("/vendors/{}/stock/counts", vendor.id);
    let counted = app.request(Method::POST, &path, Some(owner), Some(&count), &[]).await;
    let line = counted.expect(201)["lines"][0].clone();
    assert_eq!((line["previous"].as_i64(), line["difference"].as_i64()), (Some(3), Some(-2)));
    let no_lot_count = json!({ "location_id": location, "lines": [{ "sku": sku, "counted": 1 }] });
    app.request(Method::POST, &path, Some(owner), Some(&no_lot_count), &[]).await.expect_invalid_field("lines[0].lot");
    assert_eq!(level(&app, &vendor, &sku, &location).await["on_hand"], 2);
    assert_ledger_matches(&app, &vendor, &sku, &location).await;
}

#[tokio::test]
async fn a_transfer_leaves_at_once_is_incoming_until_received_and_is_received_once() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, from) = app.variant_and_location(&vendor, None).await;
    let to = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
    app.adjust_stock(owner, &vendor.id, &adjustment(&sku, &from, 10, "received")).await.expect(201);

    let path = format!("/vendors/{}/transfers", vendor.id);
    let body = json!({ "sku": sku, "from_location_id": from, "to_location_id": to, "quantity": 4 });
    let too_many = json!({ "sku": sku, "from_location_id": from, "to_location_id": to, "quantity": 11 });
    app.request(Method::POST, &path, Some(owner), Some(&too_many), &[]).await.expect_error(409, "insufficient_stock");
    let same = json!({ "sku": sku, "from_location_id": from, "to_location_id": from, "quantity": 1 });
    app.request(Method::POST, &path, Some(owner), Some(&same), &[]).await.expect_invalid_field("to_location_id");
    let sent = app.request(Method::POST, &path, Some(owner), Some(&body), &[]).await;
    let transfer = sent.expect(201)["transfer"].clone();
    assert_eq!(transfer["status"], "in_transit");
    assert_eq!(level(&app, &vendor, &sku, &from).await["on_hand"], 6);
    let arriving = level(&app, &vendor, &sku, &to).await;
    assert_eq!((arriving["on_hand"].as_i64(), arriving["incoming"].as_i64()), (Some(0), Some(4)));
    assert_eq!(arriving["status"], "incoming");
    let listed = app.all_pages(owner, &format!("/vendors/{}/transfers?status=in_transit", vendor.id)).await;
    assert_eq!(listed.len(), 1);

    let receive = format!("/vendors/{}/transfers/{}/receive", vendor.id, transfer["id"].as_str().unwrap());
    let received = app.request(Method::POST, &receive, Some(owner), None, &[]).await;
    assert_eq!(received.expect(200)["transfer"]["status"], "received");
    app.request(Method::POST, &receive, Some(owner), None, &[]).await.expect_error(409, "transfer_not_in_transit");
    let arrived = level(&app, &vendor, &sku, &to).await;
    assert_eq!((arrived["on_hand"].as_i64(), arrived["incoming"].as_i64()), (Some(4), Some(0)));
    let out = assert_ledger_matches(&app, &vendor, &sku, &from).await;
    assert_eq!(out.last().unwrap()["reason"], "transfer_out");
    let into = assert_ledger_matches(&app, &vendor, &sku, &to).await;
    assert_eq!(into[0]["reason"], "transfer_in");
    assert_eq!(into[0]["reference"], format!("transfer:{}", transfer["id"].as_str().unwrap()));
}

#[tokio::test]
async fn stock_is_listed_filtered_sorted_and_summarised_with_bins_and_reorder_points() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (low_sku, location) = app.variant_and_location(&vendor, None).await;
    let (plenty_sku, _) = app.variant_and_location(&vendor, None).await;
    app.adjust_stock(owner, &vendor.id, &adjustment(&low_sku, &location, 3, "received")).await.expect(201);
    app.adjust_stock(owner, &vendor.id, &adjustment(&plenty_sku, &location, 50, "received")).await.expect(201);
    let settings = format!("/vendors/{}/skus/{low_sku}/stock/{location}", vendor.id);
    let body = json!({ "bin": { "zone": "a", "aisle": "03", "shelf": "2", "bin": "14" }, "reorder_point": 5 });
    let set = app.request(Method::PATCH, &settings, Some(owner), Some(&body), &[]).await;
    let set = set.expect(200);
    assert_eq!((set["bin"]["zone"].as_str(), set["status"].as_str()), (Some("A"), Some("low")));
    assert_eq!(set["on_hand"], 3, "settings leave stock alone");
    let bad = json!({ "reorder_point": -1 });
    app.request(Method::PATCH, &settings, Some(owner), Some(&bad), &[]).await.expect_invalid_field("reorder_point");

    let low = app.all_pages(owner, &format!("/vendors/{}/stock?status=low&limit=1", vendor.id)).await;
    assert_eq!(low.iter().map(|l| l["sku"].as_str().unwrap()).collect::<Vec<_>>(), [low_sku.as_str()]);
    let by_available = app.all_pages(owner, &format!("/vendors/{}/stock?sort=-available&limit=1", vendor.id)).await;
    assert_eq!(by_available.iter().map(|l| l["available"].as_i64().unwrap()).collect::<Vec<_>>(), [50, 3]);
    let list = format!("/vendors/{}/stock?status=nope", vendor.id);
    app.request(Method::GET, &list, Some(owner), None, &[]).await.expect_invalid_field("status");

    let summary =
        app.request(Method::GET, &format!("/vendors/{}/stock/summary", vendor.id), Some(owner), None, &[]).await;
    let summary = summary.expect(200);
    assert_eq!((summary["on_hand"].as_i64(), summary["stock_items"].as_i64()), (Some(53), Some(2)));
    assert_eq!(summary["by_status"]["low"], 1);
    assert_eq!(summary["locations"][0]["needing_attention"], 1);

    // another vendor's owner sees none of it; a catalog editor may not read stock
    let other = app.vendor_owner().await;
    let theirs = app.sku_stock(other.owner.token(), &vendor.id, &low_sku).await;
    theirs.expect(403);
    let editor = app.staff(&vendor, "catalog_editor").await;
    app.sku_stock(editor.token(), &vendor.id, &low_sku).await.expect(403);
    app.sku_stock(other.owner.token(), &other.id, &low_sku).await.expect(404);
}

#[tokio::test]
async fn the_reconciler_finds_an_item_whose_on_hand_disagrees_with_its_ledger() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    app.adjust_stock(owner, &vendor.id, &adjustment(&sku, &location, 7, "received")).await.expect(201);
    let payload = json!({ "vendor_id": vendor.id });
    let clean = app.invoke("reconcile-stock", &payload).await;
    assert_eq!(clean.expect(200)["drifted"], json!([]), "{clean}");

    // corrupt on hand behind the API's back
    let variant = level(&app, &vendor, &sku, &location).await["variant_id"].as_str().unwrap().to_string();
    let key = [
        ("PK".to_string(), aws_sdk_dynamodb::types::AttributeValue::S(format!("STOCK#{}#{variant}", vendor.id))),
        ("SK".to_string(), aws_sdk_dynamodb::types::AttributeValue::S(format!("AT#{location}"))),
    ];
    app.dynamodb()
        .await
        .update_item()
        .table_name(app.table_name())
        .set_key(Some(key.into_iter().collect()))
        .update_expression("SET on_hand = :n")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N("9".into()))
        .send()
        .await
        .expect("the item is updated");
    let drift = app.invoke("reconcile-stock", &payload).await;
    let drifted = drift.expect(200)["drifted"].as_array().unwrap().clone();
    assert_eq!(drifted.len(), 1, "{drift}");
    assert_eq!((drifted[0]["on_hand"].as_i64(), drifted[0]["ledger_on_hand"].as_i64()), (Some(9), Some(7)));
}

/// 1,000 concurrent decrements of 1 unit on a stock item holding 500, through adjustments and two
/// sales channels at once: exactly 500 succeed, the rest are refused with `insufficient_stock`, on
/// hand ends at 0 and the ledger sums to it.
#[tokio::test]
async fn concurrent_decrements_never_oversell_and_never_lose_an_update() {
    let app = Arc::new(TestApp::new());
    let vendor = app.vendor_owner().await;
    let manager = app.staff(&vendor, "inventory_manager").await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    app.adjust_stock(manager.token(), &vendor.id, &adjustment(&sku, &location, 500, "received")).await.expect(201);
    let pos = app.create_channel(vendor.owner.token(), &vendor.id, "pos", &location).await;
    let market = app.create_channel(vendor.owner.token(), &vendor.id, "marketplace", &location).await;

    let mut tasks = Vec::new();
    for i in 0..1000 {
        let app = app.clone();
        let token = if i % 2 == 0 { manager.token() } else { vendor.owner.token() }.to_string();
        let (vendor_id, sku, location) = (vendor.id.clone(), sku.clone(), location.clone());
        let channel = [pos.clone(), market.clone()][i % 2].clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                let resp = app.adjust_stock(&token, &vendor_id, &adjustment(&sku, &location, -1, "lost")).await;
                match resp.status {
                    201 => true,
                    409 if resp.error_code() == Some("insufficient_stock") => false,
                    other => panic!("unexpected {other}: {resp}"),
                }
            } else {
                let sale = json!([{ "sale_id": format!("sale-{i}"), "sku": sku, "quantity": 1 }]);
                let resp = app.channel_sales(&token, &vendor_id, &channel, sale).await;
                let result = &resp.expect(200)["results"][0];
                match result["status"].as_str() {
                    Some("applied") => true,
                    Some("refused") if result["error"]["code"] == "insufficient_stock" => false,
                    _ => panic!("unexpected sale result: {resp}"),
                }
            }
        }));
    }
    let (mut succeeded, mut refused) = (0, 0);
    for task in tasks {
        if task.await.expect("the request task") {
            succeeded += 1;
        } else {
            refused += 1;
        }
    }
    assert_eq!((succeeded, refused), (500, 500));
    let stock = level(&app, &vendor, &sku, &location).await;
    assert_eq!((stock["on_hand"].as_i64(), stock["version"].as_i64()), (Some(0), Some(501)));
    assert_ledger_matches(&app, &vendor, &sku, &location).await;
}

/// Sales cross the reorder point: one alert and one email to the owner and the inventory manager,
/// however many sales follow below it; running out is a second alert. Alerts are listed and
/// acknowledged once.
#[tokio::test]
async fn crossing_the_reorder_point_raises_one_alert_and_one_email_per_crossing() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let manager = app.staff(&vendor, "inventory_manager").await;
    let viewer = app.staff(&vendor, "viewer").await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    app.adjust_stock(owner, &vendor.id, &adjustment(&sku, &location, 8, "received")).await.expect(201);
    let settings = format!("/vendors/{}/skus/{sku}/stock/{location}", vendor.id);
    app.request(Method::PATCH, &settings, Some(owner), Some(&json!({ "reorder_point": 5 })), &[]).await.expect(200);
    let pos = app.create_channel(owner, &vendor.id, "pos", &location).await;
    for (i, quantity) in [2, 2, 1, 1].into_iter().enumerate() {
        let sale = json!([{ "sale_id": format!("s{i}"), "sku": sku, "quantity": quantity }]);
        let sold = app.channel_sales(owner, &vendor.id, &pos, sale).await;
        assert_eq!(sold.expect(200)["applied"], 1);
    }
    // 8 → 6 → 4 (crossed: low) → 3 → 2; then out
    let low =
        app.eventually_email(&manager.email, |e| e.subject.starts_with("Low stock") && e.subject.contains(&sku)).await;
    assert!(low.to.contains(&vendor.owner.email), "the owner hears of it too: {:?}", low.to);
    assert!(!low.to.contains(&viewer.email), "viewers are not told");
    assert!(low.text.as_deref().unwrap_or_default().contains("down to 4 available"), "{low:?}");
    app.adjust_stock(owner, &vendor.id, &adjustment(&sku, &location, -2, "lost")).await.expect(201);
    let out = app
        .eventually_email(&manager.email, |e| e.subject.starts_with("Out of stock") && e.subject.contains(&sku))
        .await;
    assert!(out.to.contains(&vendor.owner.email));
    let emails = app.sent_emails_to(&manager.email).await;
    let lows = emails.iter().filter(|e| e.subject.starts_with("Low stock") && e.subject.contains(&sku)).count();
    assert_eq!(lows, 1, "one email per crossing, not one per sale");

    let listed = app.all_pages(viewer.token(), &format!("/vendors/{}/alerts?status=open", vendor.id)).await;
    let kinds: Vec<&str> = listed.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["out_of_stock", "low"], "newest first");
    let ack = format!("/vendors/{}/alerts/{}/acknowledge", vendor.id, listed[1]["id"].as_str().unwrap());
    let acknowledged = app.request(Method::POST, &ack, Some(manager.token()), None, &[]).await;
    assert_eq!(acknowledged.expect(200)["acknowledged_by"], manager.id.as_str());
    app.request(Method::POST, &ack, Some(manager.token()), None, &[]).await.expect_error(409, "alert_acknowledged");
    app.request(Method::POST, &ack, Some(viewer.token()), None, &[]).await.expect(403);
    let open = app.all_pages(owner, &format!("/vendors/{}/alerts?status=open", vendor.id)).await;
    assert_eq!(open.len(), 1);
}

/// The vendor's near-expiry window: the report lists the batches inside it first-expiring first,
/// and the daily check alerts once per batch with units left (an emptied batch never), however
/// often it runs.
#[tokio::test]
async fn batches_nearing_the_vendors_expiry_window_are_reported_and_alerted_once_each() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let manager = app.staff(&vendor, "inventory_manager").await;
    let (sku, location) = app.variant_and_location(&vendor, Some(60)).await;
    for bad in [91, -1] {
        let refused = app.update_vendor(owner, &vendor.id, &json!({ "near_expiry_days": bad })).await;
        refused.expect_invalid_field("near_expiry_days");
    }
    let text = app.update_vendor(owner, &vendor.id, &json!({ "near_expiry_days": "5" })).await;
    assert_eq!(text.expect_error(400, "malformed_request")["field"], "near_expiry_days");
    assert_eq!(app.get_vendor(owner, &vendor.id).await.expect(200)["near_expiry_days"], 7, "the default");
    app.update_vendor(owner, &vendor.id, &json!({ "near_expiry_days": 5 })).await.expect(200);

    let day = |d: i64| (today() + chrono::Duration::days(d)).to_string();
    for (lot, days, units) in [("SOON", 3, 5), ("EDGE", 5, 2), ("LATER", 30, 9), ("GONE", 2, 1)] {
        let received = json!({ "sku": sku, "location_id": location, "quantity": units, "reason": "received",
                               "lot": lot, "expires_on": day(days) });
        app.adjust_stock(owner, &vendor.id, &received).await.expect(201);
    }
    let written_off =
        json!({ "sku": sku, "location_id": location, "quantity": -1, "reason": "damaged", "lot": "GONE" });
    app.adjust_stock(owner, &vendor.id, &written_off).await.expect(201);

    // The report: the vendor's 5 days by default, any window on request.
    let report = |query: &str| {
        let (app, path, token) = (&app, format!("/vendors/{}/stock/expiring{query}", vendor.id), manager.token());
        async move { app.request(Method::GET, &path, Some(token), None, &[]).await }
    };
    let listed = report("").await;
    let listed = listed.expect(200);
    assert_eq!((listed["within_days"].as_u64(), listed["expiring_units"].as_u64()), (Some(5), Some(7)), "{listed}");
    let lots: Vec<(&str, i64)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap(), b["days_left"].as_i64().unwrap()))
        .collect();
    assert_eq!(lots, [("SOON", 3), ("EDGE", 5)], "{listed}");
    let wider = report("?within_days=30&limit=2").await;
    assert_eq!(wider.items().len(), 2);
    let rest = report(&format!("?within_days=30&limit=2&cursor={}", wider.next_cursor().expect("a second page"))).await;
    assert_eq!(rest.expect(200)["items"][0]["lot"], "LATER");
    report("?within_days=366").await.expect_invalid_field("within_days");
    assert_eq!(report("?cursor=nonsense").await.expect_error(422, "invalid_cursor")["field"], "cursor");
    let stranger = app.vendor_owner().await;
    let theirs = format!("/vendors/{}/stock/expiring", vendor.id);
    app.request(Method::GET, &theirs, Some(stranger.owner.token()), None, &[]).await.expect(403);
    let expiring = app.all_pages(owner, &format!("/vendors/{}/stock?status=expiring", vendor.id)).await;
    assert!(expiring.iter().any(|i| i["sku"] == sku.as_str()), "the stock view uses the same window: {expiring:?}");

    // The daily check, twice: one alert and one email per batch inside the window.
    for _ in 0..2 {
        app.run_schedule("check-expiring-stock").await.expect(200);
    }
    for lot in ["SOON", "EDGE"] {
        let subject = format!("Expiring soon: {sku} lot {lot}");
        let email = app.eventually_email(&manager.email, |e| e.subject.starts_with(&subject)).await;
        assert!(email.to.contains(&vendor.owner.email), "{email:?}");
    }
    let alerts = stockyard_tests::eventually("both near-expiry alerts recorded", || async {
        let alerts = app.all_pages(owner, &format!("/vendors/{}/alerts", vendor.id)).await;
        (alerts.len() >= 2).then_some(alerts)
    })
    .await;
    app.run_schedule("check-expiring-stock").await.expect(200);
    let mut lots: Vec<(&str, &str, u64)> = alerts
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["lot"].as_str().unwrap(), a["batch_units"].as_u64().unwrap()))
        .collect();
    lots.sort();
    assert_eq!(lots, [("near_expiry", "EDGE", 2), ("near_expiry", "SOON", 5)], "none for LATER or the emptied GONE");
    let again = app.all_pages(owner, &format!("/vendors/{}/alerts", vendor.id)).await;
    assert_eq!(again.len(), 2, "a third run raises nothing new: {again:?}");
    let emails = app.sent_emails_to(&manager.email).await;
    let expiry_emails =
        emails.iter().filter(|e| e.subject.starts_with("Expiring soon") && e.subject.contains(&sku)).count();
    assert_eq!(expiry_emails, 2, "one email per batch");
}
