//! Devices and integrations through the API: API keys a vendor's owner issues, sees once, lists and
//! revokes, used by tills, marketplaces and scanners only within their scope; scans from barcode
//! scanners and RFID readers receiving, counting, moving and selling stock by GTIN, SKU, GS1 batch
//! code and SGTIN-96 EPC, once per scan, once per tag.

use chrono::Days;
use serde_json::{Value, json};
use stockyard_tests::{Method, TestApp, TestVendor, sgtin96, today, unique_tag};

/// The GTIN of the shop's item (EAN-13; company prefix 4006381).
const GTIN: &str = "4006381333931";
/// A perishable item's GTIN (EAN-13 9506000134352, written as GTIN-14 in GS1 codes).
const FRESH_GTIN: &str = "9506000134352";
/// A valid GTIN no variant of the vendor has.
const STRANGER: &str = "5901234123457";

/// A vendor with an item (a variant with a GTIN), a location and a point-of-sale channel there.
struct Shop {
    app: TestApp,
    vendor: TestVendor,
    sku: String,
    location: String,
    channel: String,
}

impl Shop {
    async fn new() -> Self {
        let app = TestApp::new();
        let vendor = app.vendor_owner().await;
        let sku = item(&app, &vendor, GTIN, None).await;
        let location = app.create_location(vendor.owner.token(), &vendor.id, &TestApp::location_body()).await.id();
        let channel = app.create_channel(vendor.owner.token(), &vendor.id, "pos", &location).await;
        Self { app, vendor, sku, location, channel }
    }

    fn owner(&self) -> &str {
        self.vendor.owner.token()
    }

    async fn stock(&self, sku: &str, location: &str) -> Option<Value> {
        self.app.stock_at(&self.vendor, sku, location).await
    }

    async fn on_hand(&self, sku: &str) -> i64 {
        self.stock(sku, &self.location).await.map_or(0, |s| s["on_hand"].as_i64().unwrap())
    }

    async fn receive(&self, sku: &str, quantity: i64) {
        let body = json!({ "sku": sku, "location_id": self.location, "quantity": quantity, "reason": "received" });
        self.app.adjust_stock(self.owner(), &self.vendor.id, &body).await.expect(201);
    }

    async fn ledger(&self, sku: &str) -> Vec<Value> {
        self.app.movements(self.owner(), &self.vendor.id, sku, &self.location).await
    }

    async fn scan(&self, token: &str, body: Value) -> Value {
        let resp = self.app.scan(token, &self.vendor.id, &body).await;
        resp.expect(200).clone()
    }

    fn sale(&self, sku: &str, id: &str) -> Value {
        json!([{ "sale_id": id, "sku": sku, "quantity": 1 }])
    }
}

/// A fresh variant of `vendor` with `gtin` (perishable with `shelf_life_days`); its SKU.
async fn item(app: &TestApp, vendor: &TestVendor, gtin: &str, shelf_life_days: Option<u32>) -> String {
    let admin = app.admin().await;
    let category = app.plain_category(&admin).await;
    let product = app.draft_product(vendor.owner.token(), &vendor.id, &category).await;
    let mut body = TestApp::variant_body();
    body["gtin"] = json!(gtin);
    if let Some(days) = shelf_life_days {
        body["shelf_life_days"] = json!(days);
    }
    let created = app.create_variant(vendor.owner.token(), &vendor.id, &product, &body).await;
    created.expect(201)["sku"].as_str().unwrap().to_string()
}

fn statuses(scan: &Value) -> Vec<String> {
    scan["reads"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_string()).collect()
}

fn scan_body(action: &str, location: &str, reader: &str, codes: &[Value]) -> Value {
    json!({ "scan_id": format!("scan-{}", &unique_tag()[..20]), "reader_id": reader, "action": action,
            "location_id": location, "reads": codes })
}

fn code(code: &str) -> Value {
    json!({ "code": code })
}

fn codes(code: &str, quantity: i64) -> Value {
    json!({ "code": code, "quantity": quantity })
}

#[tokio::test]
async fn an_owner_issues_a_key_shown_once_listed_without_its_secret_and_refused_at_once_when_revoked() {
    let shop = Shop::new().await;
    let (app, v) = (&shop.app, shop.vendor.id.as_str());
    shop.receive(&shop.sku, 10).await;
    let body = json!({ "name": "Soho till 2", "scope": { "kind": "channel", "channel_id": shop.channel },
                       "permissions": ["channel_returns", "channel_sales"] });
    let issued = app.create_api_key(shop.owner(), v, &body).await;
    assert_eq!(issued.header("cache-control"), Some("no-store"), "the key is never cached: {issued}");
    let issued = issued.expect(201).clone();
    let (id, key) = (issued["api_key"]["id"].as_str().unwrap(), issued["secret"].as_str().unwrap());
    assert!(key.starts_with(&format!("syk_{id}_")), "{key}");
    assert_eq!(issued["api_key"]["permissions"], json!(["channel_sales", "channel_returns"]));
    assert_eq!(issued["api_key"]["status"], "active");
    assert_eq!(issued["api_key"]["created_by"], shop.vendor.owner.id.as_str());

    let listed = app.api_keys(shop.owner(), v).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert!(listed[0]["hint"].as_str().unwrap().ends_with(&key[key.len() - 4..]));
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains(&key[31..]) && !text.contains("secret"), "the list never shows a secret: {text}");

    // the till posts a sale with it; the ledger says the key made the change
    let sold = app.channel_sales(key, v, &shop.channel, shop.sale(&shop.sku, "till-2/1")).await;
    assert_eq!(sold.expect(200)["applied"], 1, "{sold}");
    let ledger = shop.ledger(&shop.sku).await;
    assert_eq!(ledger.last().unwrap()["actor"], json!({ "kind": "api_key", "id": id }));

    // a wrong secret, a malformed key and another key's secret are all refused
    let tampered = format!("{}{}", &key[..key.len() - 2], if key.ends_with("AA") { "BA" } else { "AA" });
    app.channel_sales(&tampered, v, &shop.channel, shop.sale(&shop.sku, "x1")).await.expect_error(401, "unauthorized");
    app.channel_sales("syk_nonsense", v, &shop.channel, shop.sale(&shop.sku, "x2"))
        .await
        .expect_error(401, "unauthorized");

    let revoked = app.revoke_api_key(shop.owner(), v, id).await;
    let revoked = revoked.expect(200).clone();
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revoked_by"], shop.vendor.owner.id.as_str());
    // refused on its very next request, and nothing changed
    let after = app.channel_sales(key, v, &shop.channel, shop.sale(&shop.sku, "till-2/2")).await;
    let error = after.expect_error(401, "unauthorized");
    assert!(error["message"].as_str().unwrap().contains("revoked"), "{after}");
    assert_eq!(shop.on_hand(&shop.sku).await, 9);
    app.revoke_api_key(shop.owner(), v, id).await.expect_error(409, "api_key_revoked");
    app.revoke_api_key(shop.owner(), v, "01JBZ4W9Q6T3M8K2R5X7N1C0QC").await.expect_error(404, "not_found");
    assert_eq!(app.api_keys(shop.owner(), v).await[0]["status"], "revoked");

    // only the owner issues, lists and revokes keys
    let manager = app.staff(&shop.vendor, "inventory_manager").await;
    app.create_api_key(manager.token(), v, &body).await.expect_error(403, "forbidden");
    app.request(Method::GET, &format!("/vendors/{v}/api-keys"), Some(manager.token()), None, &[])
        .await
        .expect_error(403, "forbidden");
    app.revoke_api_key(manager.token(), v, id).await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_key_request_with_bad_input_is_refused_naming_the_field_and_issues_nothing() {
    let shop = Shop::new().await;
    let (app, v) = (&shop.app, shop.vendor.id.as_str());
    let other = app.vendor_owner().await;
    let foreign = app.create_location(other.owner.token(), &other.id, &TestApp::location_body()).await.id();
    let channel = json!({ "kind": "channel", "channel_id": shop.channel });
    let location = json!({ "kind": "location", "location_id": shop.location });
    let key = |scope: &Value, permissions: Value| json!({ "name": "Till", "scope": scope, "permissions": permissions });
    let cases = [
        (key(&channel, json!([])), "permissions"),
        (key(&channel, json!(["channel_sales", "scan_sell"])), "permissions[1]"),
        (key(&location, json!(["channel_sales"])), "permissions[0]"),
        (key(&location, json!(["scan_count", "scan_count"])), "permissions[1]"),
        (json!({ "name": " ", "scope": { "kind": "vendor" }, "permissions": ["scan_sell"] }), "name"),
    ];
    for (body, field) in cases {
        app.create_api_key(shop.owner(), v, &body).await.expect_invalid_field(field);
    }
    let elsewhere = key(&json!({ "kind": "location", "location_id": foreign }), json!(["scan_receive"]));
    let refused = app.create_api_key(shop.owner(), v, &elsewhere).await;
    refused.expect_error(422, "unknown_location");
    assert_eq!(refused.error_field(), Some("scope.location_id"));
    let nowhere =
        key(&json!({ "kind": "channel", "channel_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC" }), json!(["channel_sales"]));
    let refused = app.create_api_key(shop.owner(), v, &nowhere).await;
    refused.expect_error(422, "unknown_channel");
    assert_eq!(refused.error_field(), Some("scope.channel_id"));
    let stray = key(&json!({ "kind": "vendor", "channel_id": shop.channel }), json!(["channel_sales"]));
    app.create_api_key(shop.owner(), v, &stray).await.expect_error(400, "malformed_request");
    let unknown = key(&channel, json!(["manage_staff"]));
    app.create_api_key(shop.owner(), v, &unknown).await.expect_error(400, "malformed_request");
    assert!(app.api_keys(shop.owner(), v).await.is_empty(), "no key was issued");
}

#[tokio::test]
async fn a_key_acts_only_within_its_vendor_scope_and_permissions() {
    let shop = Shop::new().await;
    let (app, v) = (&shop.app, shop.vendor.id.as_str());
    shop.receive(&shop.sku, 20).await;
    let other_channel = app.create_channel(shop.owner(), v, "marketplace", &shop.location).await;
    let second = app.create_location(shop.owner(), v, &TestApp::location_body()).await.id();
    let (_, till) =
        app.api_key(&shop.vendor, json!({ "kind": "channel", "channel_id": shop.channel }), &["channel_sales"]).await;
    let (_, dock) =
        app.api_key(&shop.vendor, json!({ "kind": "location", "location_id": shop.location }), &["scan_receive"]).await;

    app.channel_sales(&till, v, &shop.channel, shop.sale(&shop.sku, "c-1")).await.expect(200);
    let elsewhere = app.channel_sales(&till, v, &other_channel, shop.sale(&shop.sku, "d-1")).await;
    let error = elsewhere.expect_error(403, "forbidden");
    assert!(error["message"].as_str().unwrap().contains("limited to channel"), "{elsewhere}");
    let back = json!([{ "return_id": "r-1", "sku": shop.sku, "quantity": 1, "restock": true }]);
    app.channel_returns(&till, v, &shop.channel, back).await.expect_error(403, "forbidden");

    let receive = scan_body("receive", &shop.location, "DOCK-1", &[code(&shop.sku)]);
    let received = shop.scan(&dock, receive).await;
    assert_eq!(received["applied"], 1);
    let at_second = scan_body("receive", &second, "DOCK-1", &[code(&shop.sku)]);
    app.scan(&dock, v, &at_second).await.expect_error(403, "forbidden");
    let count = scan_body("count", &shop.location, "DOCK-1", &[code(&shop.sku)]);
    app.scan(&dock, v, &count).await.expect_error(403, "forbidden");
    app.scan(&till, v, &scan_body("receive", &shop.location, "T", &[code(&shop.sku)]))
        .await
        .expect_error(403, "forbidden");

    // no key reads or manages anything a person does, even with the right vendor
    for key in [&till, &dock] {
        app.sku_stock(key, v, &shop.sku).await.expect_error(403, "forbidden");
        app.list_staff(key, v).await.expect_error(403, "forbidden");
        app.invite(key, v, &format!("{}@example.com", unique_tag()), "viewer").await.expect_error(403, "forbidden");
        app.create_api_key(
            key,
            v,
            &json!({ "name": "x", "scope": { "kind": "vendor" }, "permissions": ["scan_sell"] }),
        )
        .await
        .expect_error(403, "forbidden");
        app.me(key).await.expect_error(403, "forbidden");
    }
    // nor another vendor's data
    let other = app.vendor_owner().await;
    let (_, everything) = app
        .api_key(
            &other,
            json!({ "kind": "vendor" }),
            &["channel_sales", "channel_returns", "scan_receive", "scan_sell"],
        )
        .await;
    let foreign = app.channel_sales(&everything, v, &shop.channel, shop.sale(&shop.sku, "o-1")).await;
    let error = foreign.expect_error(403, "forbidden");
    assert!(error["message"].as_str().unwrap().contains("another vendor"), "{foreign}");
    app.scan(&everything, v, &scan_body("receive", &shop.location, "X", &[code(&shop.sku)])).await.expect(403);
    assert_eq!(shop.on_hand(&shop.sku).await, 20, "20 received, 1 sold, 1 scanned in");

    // a suspended vendor's keys change nothing
    let admin = app.admin().await;
    app.set_vendor_status(admin.token(), v, "suspended", Some("review")).await.expect(200);
    app.channel_sales(&till, v, &shop.channel, shop.sale(&shop.sku, "c-2")).await.expect_error(403, "vendor_suspended");
    app.set_vendor_status(admin.token(), v, "active", None).await.expect(200);
    app.channel_sales(&till, v, &shop.channel, shop.sale(&shop.sku, "c-2")).await.expect(200);
}

#[tokio::test]
async fn a_receiving_scan_applies_gtins_skus_and_tags_reports_unknown_codes_and_applies_once_per_scan() {
    let shop = Shop::new().await;
    let manager = shop.app.staff(&shop.vendor, "inventory_manager").await;
    let tag = |serial: u64| sgtin96(GTIN, 7, serial);
    let reads = [
        codes(GTIN, 12),
        code(&shop.sku.to_lowercase()),
        code(&tag(1)),
        code(&tag(2)),
        code(STRANGER),
        code("https://example.com/not-a-product"),
        code(&sgtin96(STRANGER, 7, 9)),
    ];
    let body = scan_body("receive", &shop.location, "DOCK-DOOR-1", &reads);
    let first = shop.scan(manager.token(), body.clone()).await;
    assert_eq!(statuses(&first), ["applied", "applied", "applied", "applied", "unknown", "unknown", "unknown"]);
    assert_eq!((first["applied"].as_u64(), first["unknown"].as_u64()), (Some(4), Some(3)));
    assert_eq!(first["complete"], false);
    let message = first["message"].as_str().unwrap();
    assert!(message.contains("3 codes are unknown") && message.contains("the known codes applied"), "{message}");
    let reads = first["reads"].as_array().unwrap();
    assert_eq!(reads[2]["kind"], "epc");
    assert_eq!((reads[2]["gtin"].as_str(), reads[2]["serial"].as_str()), (Some("04006381333931"), Some("1")));
    assert_eq!(reads[4]["error"]["code"], "unknown_code");
    assert_eq!(reads[5]["error"]["code"], "unreadable_code");
    assert!(reads[6]["error"]["message"].as_str().unwrap().contains("tag's GTIN"), "{}", reads[6]);
    let changes = first["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "one item, one change: {changes:?}");
    assert_eq!((changes[0]["units"].as_u64(), changes[0]["status"].as_str()), (Some(15), Some("applied")));
    assert_eq!(shop.on_hand(&shop.sku).await, 15);
    let ledger = shop.ledger(&shop.sku).await;
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0]["reason"].as_str(), ledger[0]["quantity"].as_i64()), (Some("received"), Some(15)));
    assert_eq!(ledger[0]["reference"], format!("scan:{}", body["scan_id"].as_str().unwrap()));

    // the reader sends the scan again (its answer was lost): nothing applies twice
    let again = shop.scan(manager.token(), body).await;
    assert_eq!(statuses(&again), ["duplicate", "duplicate", "duplicate", "duplicate", "unknown", "unknown", "unknown"]);
    assert_eq!(again["changes"][0]["version"], first["changes"][0]["version"]);
    assert_eq!(shop.on_hand(&shop.sku).await, 15);
    assert_eq!(shop.ledger(&shop.sku).await.len(), 1);

    // a tag is one unit: received once, whichever reader sees it later
    let later = shop.scan(manager.token(), scan_body("receive", &shop.location, "DOCK-DOOR-2", &[code(&tag(1))])).await;
    assert_eq!(statuses(&later), ["refused"]);
    assert_eq!(later["reads"][0]["error"]["code"], "already_received");
    assert_eq!(shop.on_hand(&shop.sku).await, 15);

    // a tag read twice in one scan, then again by the same reader moments later, counts once
    let twice = shop
        .scan(manager.token(), scan_body("receive", &shop.location, "PORTAL-3", &[code(&tag(3)), code(&tag(3))]))
        .await;
    assert_eq!(statuses(&twice), ["applied", "repeat"]);
    let lingering =
        shop.scan(manager.token(), scan_body("receive", &shop.location, "PORTAL-3", &[code(&tag(3))])).await;
    assert_eq!(statuses(&lingering), ["repeat"], "{lingering}");
    assert_eq!(lingering["reads"][0]["error"]["code"], "repeat_read");
    assert_eq!(shop.on_hand(&shop.sku).await, 16);
    assert_eq!(shop.ledger(&shop.sku).await.len(), 2, "repeats and refusals write nothing");
}

#[tokio::test]
async fn a_perishable_item_is_received_into_the_batch_its_gs1_code_names_and_counted_per_batch() {
    let shop = Shop::new().await;
    let sku = item(&shop.app, &shop.vendor, FRESH_GTIN, Some(10)).await;
    let day = |d: chrono::NaiveDate| d.format("%y%m%d").to_string();
    let in_20 = today() + Days::new(20);
    let reads = [
        codes(&format!("(01)0{FRESH_GTIN}(17){}(10)lot-a", day(in_20)), 5),
        // as a GS1-128 scanner sends it: symbology identifier, no brackets, a separator after the lot
        codes(&format!("]C1010{FRESH_GTIN}10LOT-B\u{1d}"), 3),
        code(FRESH_GTIN),
        code(&format!("(01)0{FRESH_GTIN}(17){}(10)LOT-OLD", day(today() - Days::new(1)))),
    ];
    let received = shop.scan(shop.owner(), scan_body("receive", &shop.location, "DOCK-1", &reads)).await;
    assert_eq!(statuses(&received), ["applied", "applied", "refused", "refused"]);
    assert_eq!(received["reads"][2]["error"]["code"], "lot_required");
    assert_eq!(received["reads"][3]["error"]["code"], "batch_expired");
    let stock = shop.stock(&sku, &shop.location).await.unwrap();
    let batches: Vec<(String, i64, String)> = stock["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["lot"].as_str().unwrap().into(),
                b["on_hand"].as_i64().unwrap(),
                b["expires_on"].as_str().unwrap().into(),
            )
        })
        .collect();
    let default = (today() + Days::new(10)).to_string();
    assert_eq!(batches, [("LOT-B".to_string(), 3, default), ("LOT-A".to_string(), 5, in_20.to_string())]);

    // a count of LOT-A: four units scanned one by one; LOT-B, not scanned, stays as it is
    let lot_a = format!("(01)0{FRESH_GTIN}(10)LOT-A");
    let counted = shop
        .scan(
            shop.owner(),
            scan_body("count", &shop.location, "HANDHELD-7", &[code(&lot_a), code(&lot_a), codes(&lot_a, 2)]),
        )
        .await;
    assert_eq!(statuses(&counted), ["applied", "applied", "applied"]);
    let change = &counted["changes"][0];
    assert_eq!((change["lot"].as_str(), change["units"].as_i64()), (Some("LOT-A"), Some(4)));
    assert_eq!((change["previous"].as_i64(), change["difference"].as_i64()), (Some(5), Some(-1)));
    let stock = shop.stock(&sku, &shop.location).await.unwrap();
    assert_eq!(stock["on_hand"], 7);
    let ledger = shop.ledger(&sku).await;
    assert_eq!(
        ledger.iter().map(|m| m["reason"].as_str().unwrap()).collect::<Vec<_>>(),
        ["received", "received", "count"]
    );
}

#[tokio::test]
async fn a_counting_scan_sets_on_hand_to_the_units_scanned_and_counts_every_tag_it_sees() {
    let shop = Shop::new().await;
    shop.receive(&shop.sku, 10).await;
    let tags: Vec<Value> = (1..=3).map(|s| code(&sgtin96(GTIN, 7, s))).collect();
    let mut reads = tags.clone();
    reads.push(codes(GTIN, 2));
    let counted = shop.scan(shop.owner(), scan_body("count", &shop.location, "PORTAL-1", &reads)).await;
    assert_eq!(counted["applied"], 4);
    let change = &counted["changes"][0];
    assert_eq!(
        (change["units"].as_i64(), change["previous"].as_i64(), change["difference"].as_i64()),
        (Some(5), Some(10), Some(-5))
    );
    assert_eq!(shop.on_hand(&shop.sku).await, 5);
    // a second pass moments later sees three tags: a count says what is there, so they count
    let again = shop.scan(shop.owner(), scan_body("count", &shop.location, "PORTAL-1", &tags)).await;
    assert_eq!(statuses(&again), ["applied", "applied", "applied"]);
    assert_eq!(shop.on_hand(&shop.sku).await, 3);
    let ledger = shop.ledger(&shop.sku).await;
    assert_eq!(ledger.iter().map(|m| m["quantity"].as_i64().unwrap()).collect::<Vec<_>>(), [10, -5, -2]);
    assert!(ledger[1..].iter().all(|m| m["reason"] == "count"));
}

#[tokio::test]
async fn a_moving_scan_keeps_the_scanned_items_in_the_bin_it_names() {
    let shop = Shop::new().await;
    let other = item(&shop.app, &shop.vendor, "036000291452", None).await;
    shop.receive(&shop.sku, 4).await;
    let mut body = scan_body("move", &shop.location, "HANDHELD-2", &[code(GTIN), code(&other), code(STRANGER)]);
    body["bin"] = json!({ "zone": "b", "aisle": "07", "shelf": "3", "bin": "12" });
    let moved = shop.scan(shop.owner(), body).await;
    assert_eq!(statuses(&moved), ["applied", "applied", "unknown"]);
    let bin = json!({ "zone": "B", "aisle": "07", "shelf": "3", "bin": "12" });
    assert_eq!(moved["changes"][0]["bin"], bin);
    for sku in [&shop.sku, &other] {
        assert_eq!(shop.stock(sku, &shop.location).await.unwrap()["bin"], bin, "{sku}");
    }
    assert_eq!(shop.on_hand(&shop.sku).await, 4, "a move changes no stock");
    assert_eq!(shop.ledger(&shop.sku).await.len(), 1);
}

#[tokio::test]
async fn a_selling_scan_lands_in_the_sales_record_once_per_scan_and_item() {
    let shop = Shop::new().await;
    let (app, v) = (&shop.app, shop.vendor.id.as_str());
    shop.receive(&shop.sku, 3).await;
    let (key_id, key) =
        app.api_key(&shop.vendor, json!({ "kind": "location", "location_id": shop.location }), &["scan_sell"]).await;
    let mut body = scan_body("sell", &shop.location, "TILL-SCANNER", &[codes(GTIN, 2), code(&sgtin96(GTIN, 7, 77))]);
    body["channel_id"] = json!(shop.channel);
    let sold = shop.scan(&key, body.clone()).await;
    assert_eq!(statuses(&sold), ["applied", "applied"]);
    let sale = &sold["changes"][0]["sale"];
    let variant = sale["variant_id"].as_str().unwrap();
    assert_eq!(sale["sale_id"], format!("{}/{variant}", body["scan_id"].as_str().unwrap()));
    assert_eq!((sale["quantity"].as_i64(), sale["channel_id"].as_str()), (Some(3), Some(shop.channel.as_str())));
    let again = shop.scan(&key, body.clone()).await;
    assert_eq!(statuses(&again), ["duplicate", "duplicate"]);
    assert_eq!(again["changes"][0]["sale"], *sale);
    assert_eq!(shop.on_hand(&shop.sku).await, 0);
    let day = app.all_pages(shop.owner(), &format!("/vendors/{v}/sales?date={}", today())).await;
    assert_eq!(day.len(), 1, "one sale, once: {day:?}");
    let ledger = shop.ledger(&shop.sku).await;
    assert_eq!(ledger.last().unwrap()["actor"], json!({ "kind": "api_key", "id": key_id }));

    // nothing left to sell: refused, and the tag's read given back so the next read counts
    let mut short = scan_body("sell", &shop.location, "TILL-SCANNER", &[code(&sgtin96(GTIN, 7, 78))]);
    short["channel_id"] = json!(shop.channel);
    let refused = shop.scan(&key, short).await;
    assert_eq!(statuses(&refused), ["refused"]);
    assert_eq!(refused["reads"][0]["error"]["code"], "insufficient_stock");
    shop.receive(&shop.sku, 1).await;
    let mut retry = scan_body("sell", &shop.location, "TILL-SCANNER", &[code(&sgtin96(GTIN, 7, 78))]);
    retry["channel_id"] = json!(shop.channel);
    let sold = shop.scan(&key, retry).await;
    assert_eq!(statuses(&sold), ["applied"], "a refused read does not hold the reader's window: {sold}");
}

#[tokio::test]
async fn a_selling_scan_of_a_batch_code_takes_that_batch_and_a_plain_code_the_first_expiring() {
    let shop = Shop::new().await;
    let sku = item(&shop.app, &shop.vendor, FRESH_GTIN, Some(10)).await;
    let later = (today() + Days::new(20)).format("%y%m%d").to_string();
    let lots =
        [codes(&format!("(01)0{FRESH_GTIN}(17){later}(10)LATE"), 4), codes(&format!("(01)0{FRESH_GTIN}(10)SOON"), 4)];
    let received = shop.scan(shop.owner(), scan_body("receive", &shop.location, "DOCK-1", &lots)).await;
    assert_eq!(statuses(&received), ["applied", "applied"]);

    // LATE expires after SOON: first-expiring-first would take SOON, but the till scanned LATE
    let reads = [codes(&format!("(01)0{FRESH_GTIN}(10)LATE"), 3), code(FRESH_GTIN)];
    let mut body = scan_body("sell", &shop.location, "TILL-SCANNER", &reads);
    body["channel_id"] = json!(shop.channel);
    let sold = shop.scan(shop.owner(), body.clone()).await;
    assert_eq!(statuses(&sold), ["applied", "applied"], "{sold}");
    let by_lot: Vec<(Option<&str>, i64)> =
        sold["changes"].as_array().unwrap().iter().map(|c| (c["lot"].as_str(), c["units"].as_i64().unwrap())).collect();
    assert_eq!(by_lot, [(Some("LATE"), 3), (None, 1)]);
    let sale_ids: Vec<&str> =
        sold["changes"].as_array().unwrap().iter().map(|c| c["sale"]["sale_id"].as_str().unwrap()).collect();
    assert!(sale_ids[0].ends_with("/LATE") && sale_ids[0] != sale_ids[1], "one sale per batch: {sale_ids:?}");
    let stock = shop.stock(&sku, &shop.location).await.unwrap();
    let left: Vec<(&str, i64)> = stock["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["lot"].as_str().unwrap(), b["on_hand"].as_i64().unwrap()))
        .collect();
    assert_eq!(left, [("SOON", 3), ("LATE", 1)], "the plain code took the first-expiring batch");
    let again = shop.scan(shop.owner(), body).await;
    assert_eq!(statuses(&again), ["duplicate", "duplicate"]);

    // a batch the location does not hold is refused by name, and nothing is sold
    let mut none = scan_body("sell", &shop.location, "TILL-SCANNER", &[code(&format!("(01)0{FRESH_GTIN}(10)GHOST"))]);
    none["channel_id"] = json!(shop.channel);
    let refused = shop.scan(shop.owner(), none).await;
    assert_eq!(refused["reads"][0]["error"]["code"], "unknown_batch", "{refused}");
    assert_eq!(shop.stock(&sku, &shop.location).await.unwrap()["on_hand"], 4);
}

#[tokio::test]
async fn a_scan_with_bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let shop = Shop::new().await;
    let (app, v) = (&shop.app, shop.vendor.id.as_str());
    let valid = || scan_body("receive", &shop.location, "DOCK-1", &[code(GTIN)]);
    let with = |field: &str, value: Value| {
        let mut body = valid();
        body[field] = value;
        body
    };
    let mut sell = valid();
    sell["action"] = json!("sell");
    let mut moving = valid();
    moving["action"] = json!("move");
    let cases = [
        (with("scan_id", json!("x".repeat(37))), "scan_id"),
        (with("reader_id", json!("dock 1")), "reader_id"),
        (with("reads", json!([])), "reads"),
        (with("reads", json!([{ "code": GTIN, "quantity": 0 }])), "reads[0].quantity"),
        (with("reads", json!([{ "code": GTIN }, { "code": sgtin96(GTIN, 7, 1), "quantity": 2 }])), "reads[1].quantity"),
        (with("reads", json!([{ "code": "caf\u{e9}" }])), "reads[0].code"),
        (with("channel_id", json!(shop.channel)), "channel_id"),
        (with("bin", json!({ "zone": "A", "aisle": "1", "shelf": "1", "bin": "1" })), "bin"),
        (sell, "channel_id"),
        (moving, "bin"),
    ];
    for (body, field) in cases {
        app.scan(shop.owner(), v, &body).await.expect_invalid_field(field);
    }
    let other = app.vendor_owner().await;
    let foreign = app.create_location(other.owner.token(), &other.id, &TestApp::location_body()).await.id();
    app.scan(shop.owner(), v, &with("location_id", json!(foreign))).await.expect_error(422, "unknown_location");
    let mut unknown_channel = with("action", json!("sell"));
    unknown_channel["channel_id"] = json!("01JBZ4W9Q6T3M8K2R5X7N1C0QC");
    let refused = app.scan(shop.owner(), v, &unknown_channel).await;
    refused.expect_error(422, "unknown_channel");
    assert_eq!(refused.error_field(), Some("channel_id"));
    app.scan(shop.owner(), v, &with("action", json!("teleport"))).await.expect_error(400, "malformed_request");
    let editor = app.staff(&shop.vendor, "catalog_editor").await;
    app.scan(editor.token(), v, &valid()).await.expect_error(403, "forbidden");
    app.scan(other.owner.token(), v, &valid()).await.expect_error(403, "forbidden");
    assert!(shop.stock(&shop.sku, &shop.location).await.is_none(), "nothing was received");
}

#[tokio::test]
async fn one_tag_read_by_many_scans_at_once_is_received_once() {
    let shop = Shop::new().await;
    let tag = sgtin96(GTIN, 7, 4242);
    // the same reader in five scans at once: one counts, the others are repeats
    let same_reader =
        (0..5).map(|_| shop.scan(shop.owner(), scan_body("receive", &shop.location, "PORTAL-9", &[code(&tag)])));
    let answers = futures_util::future::join_all(same_reader).await;
    let mut seen: Vec<String> = answers.iter().map(|a| statuses(a)[0].clone()).collect();
    seen.sort();
    assert_eq!(seen, ["applied", "repeat", "repeat", "repeat", "repeat"]);
    // five readers at once with another tag: one receives it, the others are refused
    let other = sgtin96(GTIN, 7, 4343);
    let readers = (0..5)
        .map(|r| shop.scan(shop.owner(), scan_body("receive", &shop.location, &format!("DOOR-{r}"), &[code(&other)])));
    let answers = futures_util::future::join_all(readers).await;
    let mut seen: Vec<String> = answers.iter().map(|a| statuses(a)[0].clone()).collect();
    seen.sort();
    assert_eq!(seen, ["applied", "refused", "refused", "refused", "refused"]);
    assert_eq!(shop.on_hand(&shop.sku).await, 2);
    let ledger = shop.ledger(&shop.sku).await;
    assert_eq!(ledger.iter().map(|m| m["quantity"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 1]);
}
