//! Sales channels through the API: registering them, sales and returns from every channel taking
//! and putting back stock once per id, each line of a batch on its own, and the consolidated
//! sales record.

use chrono::Days;
use serde_json::{Value, json};
use stockyard_tests::{Method, TestApp, TestVendor, today, unique_tag};

async fn on_hand(app: &TestApp, vendor: &TestVendor, sku: &str, location: &str) -> i64 {
    app.stock_at(vendor, sku, location).await.map_or(0, |l| l["on_hand"].as_i64().unwrap())
}

fn statuses(resp: &Value) -> Vec<String> {
    resp["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_vendor_registers_channels_with_unique_codes_and_one_storefront() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let location = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
    app.create_channel(owner, &vendor.id, "storefront", &location).await;
    let path = format!("/vendors/{}/channels", vendor.id);
    let second = json!({ "code": format!("WEB-{}", unique_tag()), "name": "Another shop", "kind": "storefront", "location_id": location });
    app.request(Method::POST, &path, Some(owner), Some(&second), &[]).await.expect_error(409, "storefront_exists");
    let pos = json!({ "code": "till-1", "name": "Till", "kind": "pos", "location_id": location });
    app.request(Method::POST, &path, Some(owner), Some(&pos), &[]).await.expect(201);
    app.request(Method::POST, &path, Some(owner), Some(&pos), &[]).await.expect_error(409, "channel_code_taken");
    let nowhere =
        json!({ "code": "till-2", "name": "Till", "kind": "pos", "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC" });
    app.request(Method::POST, &path, Some(owner), Some(&nowhere), &[]).await.expect_error(422, "unknown_location");
    let listed = app.all_pages(owner, &format!("{path}?limit=1")).await;
    assert_eq!(listed.iter().map(|c| c["code"].as_str().unwrap()).filter(|c| *c == "TILL-1").count(), 1);
    assert_eq!(listed.len(), 2);
    let editor = app.staff(&vendor, "catalog_editor").await;
    app.request(Method::POST, &path, Some(editor.token()), Some(&pos), &[]).await.expect(403);
}

#[tokio::test]
async fn each_sale_of_a_batch_applies_on_its_own_once_per_sale_id_and_lands_in_the_sales_record() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let stock = json!({ "sku": sku, "location_id": location, "quantity": 5, "reason": "received" });
    app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
    let pos = app.create_channel(owner, &vendor.id, "pos", &location).await;

    let sales = json!([
        { "sale_id": "r1/1", "sku": sku, "quantity": 2, "unit_price": 1250, "currency": "EUR", "country": "fr" },
        { "sale_id": "r1/2", "sku": "NO-SUCH-SKU", "quantity": 1 },
        { "sale_id": "r1/3", "sku": sku, "quantity": 4 },
        { "sale_id": "r1/5", "sku": sku, "quantity": 3 }
    ]);
    // a malformed line refuses the whole request: nothing applies
    let mut malformed = sales.clone();
    malformed.as_array_mut().unwrap().push(json!({ "sale_id": "r1/4", "sku": sku, "quantity": 0 }));
    app.channel_sales(owner, &vendor.id, &pos, malformed).await.expect_invalid_field("sales[4].quantity");
    assert_eq!(on_hand(&app, &vendor, &sku, &location).await, 5);
    let first = app.channel_sales(owner, &vendor.id, &pos, sales.clone()).await;
    let first = first.expect(200).clone();
    assert_eq!(statuses(&first), ["applied", "refused", "refused", "applied"]);
    assert_eq!(first["results"][1]["error"]["code"], "unknown_sku");
    assert_eq!(first["results"][2]["error"]["code"], "insufficient_stock");
    assert_eq!(first["results"][2]["error"]["field"], "sales[2].quantity");
    assert_eq!((first["applied"].as_i64(), first["refused"].as_i64()), (Some(2), Some(2)));
    assert_eq!(on_hand(&app, &vendor, &sku, &location).await, 0);

    // the channel sends the batch again: nothing applies twice
    let again = app.channel_sales(owner, &vendor.id, &pos, sales).await;
    let again = again.expect(200).clone();
    assert_eq!(statuses(&again), ["duplicate", "refused", "refused", "duplicate"]);
    assert_eq!(again["results"][0]["record"], first["results"][0]["record"]);
    assert_eq!(on_hand(&app, &vendor, &sku, &location).await, 0);
    let ledger = app.movements(owner, &vendor.id, &sku, &location).await;
    assert_eq!(ledger.iter().filter(|m| m["reason"] == "sale").count(), 2);

    let day = app.all_pages(owner, &format!("/vendors/{}/sales?date={}&limit=1", vendor.id, today())).await;
    assert_eq!(day.len(), 2, "{day:?}");
    let sale = day.iter().find(|s| s["sale_id"] == "r1/1").expect("the first sale");
    assert_eq!(
        (
            sale["quantity"].as_i64(),
            sale["unit_price"].as_i64(),
            sale["country"].as_str(),
            sale["channel_kind"].as_str()
        ),
        (Some(2), Some(1250), Some("FR"), Some("pos"))
    );
    assert_eq!(sale["location_id"], location.as_str());
    let bad = json!([{ "sale_id": "x", "sku": sku, "quantity": 1 }, { "sale_id": "x", "sku": sku, "quantity": 1 }]);
    app.channel_sales(owner, &vendor.id, &pos, bad).await.expect_invalid_field("sales[1].sale_id");
    let order_handler = app.staff(&vendor, "order_handler").await;
    app.request(Method::GET, &format!("/vendors/{}/sales", vendor.id), Some(order_handler.token()), None, &[])
        .await
        .expect(403);
}

#[tokio::test]
async fn sales_from_two_channels_take_perishable_stock_first_expiring_first_and_never_expired() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, Some(10)).await;
    for (lot, days, quantity) in [("LATE", 9, 5), ("SOON", 2, 3)] {
        let body = json!({ "sku": sku, "location_id": location, "quantity": quantity, "reason": "received",
                           "lot": lot, "expires_on": today() + Days::new(days) });
        app.adjust_stock(owner, &vendor.id, &body).await.expect(201);
    }
    let pos = app.create_channel(owner, &vendor.id, "pos", &location).await;
    let market = app.create_channel(owner, &vendor.id, "marketplace", &location).await;
    let till =
        app.channel_sales(owner, &vendor.id, &pos, json!([{ "sale_id": "t1", "sku": sku, "quantity": 2 }])).await;
    assert_eq!(statuses(till.expect(200)), ["applied"]);
    let online =
        app.channel_sales(owner, &vendor.id, &market, json!([{ "sale_id": "t1", "sku": sku, "quantity": 2 }])).await;
    assert_eq!(statuses(online.expect(200)), ["applied"], "sale ids are per channel");
    let ledger = app.movements(owner, &vendor.id, &sku, &location).await;
    let lots: Vec<Vec<(String, i64)>> = ledger
        .iter()
        .filter(|m| m["reason"] == "sale")
        .map(|m| {
            m["batches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| (b["lot"].as_str().unwrap().into(), b["quantity"].as_i64().unwrap()))
                .collect()
        })
        .collect();
    assert_eq!(lots, [vec![("SOON".to_string(), -2)], vec![("SOON".to_string(), -1), ("LATE".to_string(), -1)]]);
}

#[tokio::test]
async fn returns_restock_or_write_off_once_and_never_more_than_was_sold() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let stock = json!({ "sku": sku, "location_id": location, "quantity": 10, "reason": "received" });
    app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
    let market = app.create_channel(owner, &vendor.id, "marketplace", &location).await;
    let sold =
        app.channel_sales(owner, &vendor.id, &market, json!([{ "sale_id": "o-1", "sku": sku, "quantity": 3 }])).await;
    assert_eq!(statuses(sold.expect(200)), ["applied"]);
    assert_eq!(on_hand(&app, &vendor, &sku, &location).await, 7);

    let returns = json!([
        { "return_id": "rma-1", "sale_id": "o-1", "sku": sku, "quantity": 1, "restock": true },
        { "return_id": "rma-2", "sale_id": "o-1", "sku": sku, "quantity": 1, "restock": false },
        { "return_id": "rma-3", "sale_id": "o-1", "sku": sku, "quantity": 2, "restock": true },
        { "return_id": "rma-4", "sale_id": "nope", "sku": sku, "quantity": 1, "restock": true }
    ]);
    let back = app.channel_returns(owner, &vendor.id, &market, returns.clone()).await;
    let back = back.expect(200).clone();
    assert_eq!(statuses(&back), ["applied", "applied", "refused", "refused"], "{back}");
    assert_eq!(back["results"][2]["error"]["code"], "return_exceeds_sale");
    assert_eq!(back["results"][3]["error"]["code"], "unknown_sale");
    assert_eq!(on_hand(&app, &vendor, &sku, &location).await, 8, "one restocked, one written off");
    let again = app.channel_returns(owner, &vendor.id, &market, returns).await;
    assert_eq!(statuses(again.expect(200)), ["duplicate", "duplicate", "refused", "refused"]);
    assert_eq!(on_hand(&app, &vendor, &sku, &location).await, 8);

    let day = app.all_pages(owner, &format!("/vendors/{}/sales?date={}", vendor.id, today())).await;
    let net: i64 = day.iter().map(|s| s["quantity"].as_i64().unwrap()).sum();
    assert_eq!(net, 1, "3 sold, 2 returned: {day:?}");
    let ledger = app.movements(owner, &vendor.id, &sku, &location).await;
    assert_eq!(ledger.last().unwrap()["reason"], "channel_return");
}

/// Channel sales reach the daily sales history the forecasts read (aggregated from the stream), a
/// return takes its units back, and imported history never overwrites a day channels wrote.
#[tokio::test]
async fn channel_sales_feed_the_daily_sales_history_and_imports_keep_off_their_days() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let stock = json!({ "sku": sku, "location_id": location, "quantity": 50, "reason": "received" });
    app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
    let pos = app.create_channel(owner, &vendor.id, "pos", &location).await;
    let market = app.create_channel(owner, &vendor.id, "marketplace", &location).await;
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    let sales = json!([
        { "sale_id": "a", "sku": sku, "quantity": 3 },
        { "sale_id": "b", "sku": sku, "quantity": 4 },
        { "sale_id": "c", "sku": sku, "quantity": 2, "sold_at": yesterday }
    ]);
    assert_eq!(app.channel_sales(owner, &vendor.id, &pos, sales).await.expect(200)["applied"], 3);
    let online = json!([{ "sale_id": "a", "sku": sku, "quantity": 5 }]);
    assert_eq!(app.channel_sales(owner, &vendor.id, &market, online).await.expect(200)["applied"], 1);
    let back = json!([{ "return_id": "r", "sku": sku, "quantity": 1, "restock": true }]);
    assert_eq!(app.channel_returns(owner, &vendor.id, &market, back).await.expect(200)["applied"], 1);

    let path =
        format!("/vendors/{}/demand/{location}/{sku}/sales?from={}&to={}", vendor.id, today() - Days::new(1), today());
    let history = stockyard_tests::eventually("the channel sales in the sales history", || async {
        let resp = app.request(Method::GET, &path, Some(owner), None, &[]).await;
        let days = resp.expect(200)["days"].as_array().unwrap().clone();
        let units: Vec<i64> = days.iter().map(|d| d["units"].as_i64().unwrap()).collect();
        (units == [2, 11]).then_some(days)
    })
    .await;
    assert!(history.iter().all(|d| d["source"] == "channels"), "{history:?}");

    // importing older history leaves the channels' days alone
    let import = json!({ "days": [{ "date": today().to_string(), "units": 99 },
                                  { "date": (today() - Days::new(5)).to_string(), "units": 7 }] });
    let imported = app
        .request(
            Method::POST,
            &format!("/vendors/{}/demand/{location}/{sku}/sales", vendor.id),
            Some(owner),
            Some(&import),
            &[],
        )
        .await;
    let imported = imported.expect(200);
    assert_eq!((imported["days_written"].as_i64(), imported["days_kept"].as_i64()), (Some(1), Some(1)));
    let resp = app.request(Method::GET, &path, Some(owner), None, &[]).await;
    assert_eq!(resp.expect(200)["days"][1]["units"], 11);
    let editor = app.staff(&vendor, "catalog_editor").await;
    app.request(Method::GET, &path, Some(editor.token()), None, &[]).await.expect(403);
}
