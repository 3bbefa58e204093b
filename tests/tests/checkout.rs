//! Checkout (issue 13): a cart quoted and placed across vendors, paid through the local payment
//! providers' stand-in, with every refusal changing nothing, and concurrent checkouts of one hot
//! variant that never oversell.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use stockyard_domain::cart::{self, Cart, CartOwner};
use stockyard_domain::ids::{CartId, OrderGroupId};
use stockyard_domain::order::{OrderGroup, OrderStatus};
use stockyard_store::{Table, carts, orders};
use stockyard_tests::{ApiResponse, TaxTableLock, TestApp, TestVendor, eventually, unique_tag};

/// France: prices include VAT at 20%, shipping taxed as standard.
fn france() -> Value {
    json!({ "country": "FR", "pricing": "tax_inclusive", "shipping_tax_class": "standard",
            "rates": [{ "tax_class": "standard", "rate": "20", "name": "TVA 20%" }] })
}

/// The tax table holds France while the test runs.
pub(crate) async fn taxed(app: &TestApp) -> TaxTableLock {
    app.tax_table_with(&[france()]).await
}

/// A product on sale: published, one variant at `price` EUR cents with `units` at a fresh French
/// location of `vendor`. Returns (variant id, sku, location id).
pub(crate) async fn on_sale(app: &TestApp, vendor: &TestVendor, price: i64, units: u32) -> (String, String, String) {
    let token = vendor.owner.token();
    let (variant, sku) = published_variant(app, vendor, price, json!({})).await;
    let location = french_location(app, vendor).await;
    if units > 0 {
        let adjust = json!({ "sku": sku, "location_id": location, "quantity": units, "reason": "received" });
        app.adjust_stock(token, &vendor.id, &adjust).await.expect(201);
    }
    (variant, sku, location)
}

/// A published product of `vendor` with one variant at `price` EUR cents (with `extra` fields,
/// such as a shelf life): (variant id, sku).
pub(crate) async fn published_variant(
    app: &TestApp,
    vendor: &TestVendor,
    price: i64,
    extra: Value,
) -> (String, String) {
    let token = vendor.owner.token();
    let admin = app.admin().await;
    let category = app.plain_category(&admin).await;
    let product = app.draft_product(token, &vendor.id, &category).await;
    let mut body = json!({ "sku": format!("SKU-{}", unique_tag()), "prices": { "EUR": { "amount": price } },
                           "weight_g": 400, "dimensions": { "length_mm": 300, "width_mm": 200, "height_mm": 50 } });
    for (field, value) in extra.as_object().into_iter().flatten() {
        body[field] = value.clone();
    }
    let variant = app.create_variant(token, &vendor.id, &product, &body).await.expect(201).clone();
    let status = json!({ "status": "published" });
    let path = format!("/vendors/{}/products/{product}/status", vendor.id);
    app.request(Method::PUT, &path, Some(token), Some(&status), &[]).await.expect(200);
    (variant["id"].as_str().unwrap().to_string(), variant["sku"].as_str().unwrap().to_string())
}

/// A fresh location of `vendor` in France.
pub(crate) async fn french_location(app: &TestApp, vendor: &TestVendor) -> String {
    let mut location = TestApp::location_body();
    location["country"] = json!("FR");
    app.create_location(vendor.owner.token(), &vendor.id, &location).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Ships to France: STANDARD 4.90 (3–4 days), EXPRESS 9.90 (1–2 days).
pub(crate) async fn ships_to_france(app: &TestApp, vendor: &TestVendor) {
    let service = |code: &str, price: i64, days: u32| {
        json!({ "zone_code": "FR", "code": code, "carrier": "La Poste", "name": format!("Colissimo {code}"),
                "rates": [{ "up_to_g": 30000, "price": { "amount": price, "currency": "EUR" } }],
                "max_weight_g": 30000, "max_length_mm": 1500, "transit_days_min": days, "transit_days_max": days + 1 })
    };
    let body = json!({
        "zones": [{ "code": "FR", "name": "France", "countries": ["FR"] }],
        "services": [service("STANDARD", 490, 3), service("EXPRESS", 990, 1)],
        "calendar": { "utc_offset_minutes": 60, "cutoff": "14:00:00",
                      "working_days": { "monday": true, "tuesday": true, "wednesday": true, "thursday": true,
                                        "friday": true, "saturday": false, "sunday": false } }
    });
    let path = format!("/vendors/{}/shipping", vendor.id);
    app.request(Method::PUT, &path, Some(vendor.owner.token()), Some(&body), &[]).await.expect(200);
}

/// A guest's cart in EUR: (cart id, token).
async fn guest_cart(app: &TestApp) -> (String, String) {
    let cart = app.request(Method::POST, "/carts", None, Some(&json!({ "currency": "EUR" })), &[]).await;
    let cart = cart.expect(201).clone();
    (cart["id"].as_str().unwrap().to_string(), cart["token"].as_str().unwrap().to_string())
}

pub(crate) async fn add_line(app: &TestApp, (cart, token): (&str, &str), variant: &str, quantity: u32) {
    let path = format!("/carts/{cart}/lines/{variant}");
    let body = json!({ "quantity": quantity });
    let resp = app.request(Method::PUT, &path, None, Some(&body), &[("x-cart-token", token)]).await;
    assert!(resp.status < 300, "{resp}");
}

pub(crate) fn paris() -> Value {
    json!({ "recipient": "Ada Lovelace", "line1": "12 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR" })
}

pub(crate) async fn checkout(
    app: &TestApp,
    token: Option<&str>,
    cart_token: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> ApiResponse {
    let mut headers = Vec::new();
    if let Some(t) = cart_token {
        headers.push(("x-cart-token", t));
    }
    if let Some(k) = key {
        headers.push(("idempotency-key", k));
    }
    app.request(Method::POST, "/checkout", token, Some(body), &headers).await
}

async fn quote(app: &TestApp, cart_token: &str, body: &Value) -> ApiResponse {
    app.request(Method::POST, "/checkout/quote", None, Some(body), &[("x-cart-token", cart_token)]).await
}

pub(crate) async fn table(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

pub(crate) async fn group(app: &TestApp, id: &str) -> OrderGroup {
    let id = OrderGroupId::parse("id", id).unwrap();
    orders::group(&table(app).await, id).await.unwrap().expect("the group exists")
}

/// A free-shipping coupon of `vendor` that may be used once: (its code, its path).
async fn free_shipping_once(app: &TestApp, vendor: &TestVendor) -> (String, String) {
    let code = format!("ONCE-{}", unique_tag().to_uppercase());
    let coupon = json!({ "vendor_id": vendor.id, "code": code, "kind": { "type": "free_shipping" },
                         "starts_at": "2026-01-01T00:00:00Z", "usage_limit": 1 });
    let coupon = app.request(Method::POST, "/coupons", Some(vendor.owner.token()), Some(&coupon), &[]).await;
    let path = format!("/coupons/{}", coupon.expect(201)["id"].as_str().unwrap());
    (code, path)
}

/// (available, reserved) of `sku` at `location`.
pub(crate) async fn stock_of(app: &TestApp, vendor: &TestVendor, sku: &str, location: &str) -> (u64, u64) {
    let at = app.stock_at(vendor, sku, location).await.expect("stock on record");
    (at["available"].as_u64().unwrap(), at["reserved"].as_u64().unwrap())
}

#[tokio::test]
async fn a_guest_checks_out_two_vendors_once_and_pays_by_card_with_the_stock_held_until_then() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let (a, b) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let ((jumper, jumper_sku, a_at), (scarf, scarf_sku, b_at)) =
        tokio::join!(on_sale(&app, &a, 1999, 5), on_sale(&app, &b, 500, 10));
    tokio::join!(ships_to_france(&app, &a), ships_to_france(&app, &b));
    let (cart, cart_token) = guest_cart(&app).await;
    add_line(&app, (&cart, &cart_token), &jumper, 2).await;
    add_line(&app, (&cart, &cart_token), &scarf, 3).await;
    let email = stockyard_tests::unique_email();
    let body = json!({ "cart_id": cart, "email": email, "shipping_address": paris(),
                       "shipping_options": { b.id.clone(): "express" } });

    // The quote: each vendor's options, the chosen one, the tax explained, the total.
    let quoted = quote(&app, &cart_token, &body).await.expect(200).clone();
    let vendors = quoted["vendors"].as_array().unwrap();
    assert_eq!(vendors.len(), 2, "{quoted}");
    let of = |id: &str| vendors.iter().find(|v| v["vendor_id"] == id).unwrap().clone();
    let (qa, qb) = (of(&a.id), of(&b.id));
    assert_eq!((qa["shipping"]["code"].as_str(), qb["shipping"]["code"].as_str()), (Some("STANDARD"), Some("EXPRESS")));
    assert_eq!(qa["shipping_options"]["cheapest"], "STANDARD");
    assert_eq!(qa["shipping_options"]["fastest"], "EXPRESS");
    // 2 × 19.99 + 4.90 and 3 × 5.00 + 9.90, VAT included.
    assert_eq!(qa["totals"]["total"]["amount"], 3998 + 490);
    assert_eq!(qb["totals"]["total"]["amount"], 1500 + 990);
    assert_eq!(qa["tax"]["summary"][0]["name"], "TVA 20%");
    assert_eq!(quoted["total"]["amount"], 3998 + 490 + 1500 + 990);
    // A quote holds nothing.
    assert_eq!(stock_of(&app, &a, &jumper_sku, &a_at).await, (5, 0));

    // No Idempotency-Key: refused, nothing placed.
    checkout(&app, None, Some(&cart_token), None, &body).await.expect_error(400, "malformed_request");
    // The total the customer saw, or nothing.
    let mut stale = body.clone();
    stale["expected_total"] = json!(1);
    let key_stale = format!("stale-{}", unique_tag());
    let refused = checkout(&app, None, Some(&cart_token), Some(&key_stale), &stale).await;
    assert_eq!(refused.expect_error(409, "total_changed")["field"], "expected_total");
    assert_eq!(stock_of(&app, &a, &jumper_sku, &a_at).await, (5, 0));

    let key = format!("checkout-{}", unique_tag());
    let mut exact = body.clone();
    exact["expected_total"] = quoted["total"]["amount"].clone();
    let placed = checkout(&app, None, Some(&cart_token), Some(&key), &exact).await;
    let placed_json = placed.expect(201).clone();
    let group_id = placed_json["order_group"]["id"].as_str().unwrap().to_string();
    assert_eq!(placed_json["order_group"]["status"], "pending_payment");
    assert_eq!(placed_json["order_group"]["email"], email.as_str());
    assert_eq!(placed_json["order_group"]["total"]["amount"], quoted["total"]["amount"]);
    assert_eq!(placed_json["orders"].as_array().unwrap().len(), 2);
    assert_eq!(placed_json["payment"]["provider"], "card");
    let secret = placed_json["payment"]["client_secret"].as_str().expect("a client secret");
    let intent = placed_json["payment"]["reference"].as_str().unwrap().to_string();
    assert!(secret.starts_with(&format!("{intent}_secret_")), "{placed_json}");
    for order in placed_json["orders"].as_array().unwrap() {
        assert_eq!(order["commission_rate"], "0.10", "{order}");
        assert!(order["promised_ship_by"].is_string(), "{order}");
    }
    assert_eq!(stock_of(&app, &a, &jumper_sku, &a_at).await, (3, 2));
    assert_eq!(stock_of(&app, &b, &scarf_sku, &b_at).await, (7, 3));
    // The cart is empty now.
    let cart_now =
        app.request(Method::GET, &format!("/carts/{cart}"), None, None, &[("x-cart-token", &cart_token)]).await;
    assert_eq!(cart_now.expect(200)["lines"], json!([]));

    // A retry answers with the same group and payment; the key with another body is refused.
    let again = checkout(&app, None, Some(&cart_token), Some(&key), &exact).await;
    assert_eq!(again.expect(201)["order_group"]["id"], group_id.as_str());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json["payment"]["reference"], intent.as_str());
    let mut other = exact.clone();
    other["email"] = json!("someone.else@example.com");
    checkout(&app, None, Some(&cart_token), Some(&key), &other).await.expect_error(422, "idempotency_key_reused");
    assert_eq!(stock_of(&app, &a, &jumper_sku, &a_at).await, (3, 2));

    // The customer pays (3-D Secure first): the group is paid once, the stock stays reserved.
    let pay = |control: &'static str| {
        let path = format!("/_local/payments/card/payment_intents/{intent}/{control}");
        let app = &app;
        async move { app.request(Method::POST, &path, None, None, &[]).await.expect(200).clone() }
    };
    pay("require_action").await;
    eventually("the group waits for authentication", || async {
        (group(&app, &group_id).await.status == OrderStatus::RequiresAction).then_some(())
    })
    .await;
    pay("approve").await;
    let paid = eventually("the group is paid", || async {
        let g = group(&app, &group_id).await;
        (g.status == OrderStatus::Paid).then_some(g)
    })
    .await;
    assert_eq!(paid.payment_reference.as_deref(), Some(intent.as_str()));
    assert_eq!(stock_of(&app, &a, &jumper_sku, &a_at).await, (3, 2));
}

#[tokio::test]
async fn a_short_line_an_unknown_option_an_empty_cart_or_a_stranger_changes_nothing() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let (variant, sku, at) = on_sale(&app, &vendor, 1999, 2).await;
    ships_to_france(&app, &vendor).await;
    let (cart, cart_token) = guest_cart(&app).await;
    add_line(&app, (&cart, &cart_token), &variant, 2).await;
    let body = json!({ "cart_id": cart, "email": "guest@example.com", "shipping_address": paris() });
    let key = || Some(format!("k-{}", unique_tag()));

    // Someone else's stock sale leaves one unit: the line is named with what is available.
    let sold = json!({ "sku": sku, "location_id": at, "quantity": -1, "reason": "damaged" });
    app.adjust_stock(vendor.owner.token(), &vendor.id, &sold).await.expect(201);
    let short = checkout(&app, None, Some(&cart_token), key().as_deref(), &body).await;
    let error = short.expect_error(409, "insufficient_stock");
    assert_eq!(error["field"], "lines[0]", "{error}");
    assert_eq!(error["message"], format!("{sku}: 2 asked for, 1 available"), "{error}");

    // Back to two: an unknown shipping option, another vendor's option, no address, a bad email.
    let back = json!({ "sku": sku, "location_id": at, "quantity": 1, "reason": "found" });
    app.adjust_stock(vendor.owner.token(), &vendor.id, &back).await.expect(201);
    let mut pigeon = body.clone();
    pigeon["shipping_options"] = json!({ vendor.id.clone(): "PIGEON" });
    checkout(&app, None, Some(&cart_token), key().as_deref(), &pigeon)
        .await
        .expect_invalid_field(&format!("shipping_options.{}", vendor.id));
    let mut nowhere = body.clone();
    nowhere.as_object_mut().unwrap().remove("shipping_address");
    checkout(&app, None, Some(&cart_token), key().as_deref(), &nowhere).await.expect_invalid_field("shipping_address");
    let mut to_spain = body.clone();
    to_spain["shipping_address"]["country"] = json!("ES");
    let spain = checkout(&app, None, Some(&cart_token), key().as_deref(), &to_spain).await;
    assert_eq!(spain.status, 422, "{spain}");
    let mut bad_email = body.clone();
    bad_email["email"] = json!("not an email");
    checkout(&app, None, Some(&cart_token), key().as_deref(), &bad_email).await.expect_invalid_field("email");
    let mut unknown = body.clone();
    unknown["gift_wrap"] = json!(true);
    checkout(&app, None, Some(&cart_token), key().as_deref(), &unknown).await.expect_error(400, "malformed_request");

    // Without the cart's token, or with another customer's session, the cart does not exist.
    checkout(&app, None, None, key().as_deref(), &body).await.expect_error(404, "not_found");
    let stranger = app.customer().await;
    checkout(&app, Some(stranger.token()), None, key().as_deref(), &body).await.expect_error(404, "not_found");
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (2, 0));

    // Placed once; the emptied cart cannot be checked out again.
    checkout(&app, None, Some(&cart_token), key().as_deref(), &body).await.expect(201);
    checkout(&app, None, Some(&cart_token), key().as_deref(), &body).await.expect_error(422, "cart_empty");
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (0, 2));
}

/// A flash sale: 500 guests check out one unit each of a variant with 100 units, all at once. A
/// checkout told the service is busy (503) is sent again with its key, as a client does. Exactly
/// 100 are placed and the rest refused as short; every location ends with 0 available and all of
/// its units reserved, never below, and its ledger holds one reservation per order at each
/// version, none lost.
/// 500 guests check out one unit each at once, against `units_per_location` units held at one or
/// more locations, each split into `shards` stock shards first (0: none).
async fn flash_sale(units_per_location: &[u32], shards: u8) {
    use futures_util::StreamExt;
    const BUYERS: usize = 500;
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (variant, sku, first) = on_sale(&app, &vendor, 999, units_per_location[0]).await;
    let token = vendor.owner.token();
    let mut locations = vec![(first, units_per_location[0])];
    for &units in &units_per_location[1..] {
        let mut location = TestApp::location_body();
        location["country"] = json!("FR");
        let at =
            app.create_location(token, &vendor.id, &location).await.expect(201)["id"].as_str().unwrap().to_string();
        let adjust = json!({ "sku": sku, "location_id": at, "quantity": units, "reason": "received" });
        app.adjust_stock(token, &vendor.id, &adjust).await.expect(201);
        locations.push((at, units));
    }
    ships_to_france(&app, &vendor).await;
    if shards > 0 {
        for (at, units) in &locations {
            let path = format!("/vendors/{}/skus/{sku}/stock/{at}", vendor.id);
            let split = app.request(Method::PATCH, &path, Some(token), Some(&json!({ "shards": shards })), &[]).await;
            let split = split.expect(200);
            assert_eq!(
                (split["allotted"].as_u64(), split["available"].as_u64()),
                (Some(u64::from(*units)), Some(u64::from(*units)))
            );
            let allotted: Vec<u64> =
                split["shards"].as_array().unwrap().iter().map(|s| s["allotted"].as_u64().unwrap()).collect();
            assert_eq!(
                (allotted.len(), allotted.iter().sum::<u64>()),
                (usize::from(shards), u64::from(*units)),
                "{split}"
            );
        }
    }

    // One guest's cart is made through the API; the others are copies of it written straight to
    // the table, each with its own id and token, so that the test's time goes to the checkouts.
    let made = guest_cart(&app).await;
    add_line(&app, (&made.0, &made.1), &variant, 1).await;
    let table = table(&app).await;
    let stored = carts::get(&table, CartId::parse("id", &made.0).unwrap()).await.unwrap().expect("the cart");
    let copies: Vec<(String, String)> = futures_util::stream::iter(1..BUYERS)
        .map(|_| {
            let (table, stored) = (&table, &stored);
            async move {
                let bytes = [ulid::Ulid::new().to_bytes(), ulid::Ulid::new().to_bytes()].concat();
                let token = URL_SAFE_NO_PAD.encode(bytes);
                let copy = Cart {
                    id: CartId::generate(),
                    owner: CartOwner::Guest { token_hash: cart::token_hash(&token) },
                    ..stored.clone()
                };
                carts::create(table, &copy).await.unwrap();
                (copy.id.to_string(), token)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let carts: Vec<(String, String)> = std::iter::once(made).chain(copies).collect();
    // The tax table is needed from here on only: a test rewriting it waits for the checkouts alone.
    let _tax = taxed(&app).await;
    let attempts = carts.iter().enumerate().map(|(n, (cart, token))| {
        let app = &app;
        async move {
            let body =
                json!({ "cart_id": cart, "email": format!("flash-{n}@example.com"), "shipping_address": paris() });
            let key = format!("flash-{}", unique_tag());
            loop {
                let answer = checkout(app, None, Some(token), Some(&key), &body).await;
                if answer.status != 503 {
                    return answer;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 + (n as u64 * 37) % 200)).await;
            }
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let placed: std::collections::BTreeSet<&str> =
        results.iter().filter(|r| r.status == 201).map(|r| r.json["order_group"]["id"].as_str().unwrap()).collect();
    let refused: Vec<&ApiResponse> = results.iter().filter(|r| r.status != 201).collect();
    let units: u32 = units_per_location.iter().sum();
    assert_eq!((placed.len(), refused.len()), (units as usize, BUYERS - units as usize));
    for r in refused {
        assert_eq!(r.error_code(), Some("insufficient_stock"), "{r}");
    }
    for (at, units) in &locations {
        assert_eq!(stock_of(&app, &vendor, &sku, at).await, (0, u64::from(*units)), "at {at}");
        if shards > 0 {
            sold_out_shards(&app, (&vendor, &sku, at), *units, shards).await;
            continue;
        }
        let movements = app.movements(token, &vendor.id, &sku, at).await;
        let reserved: Vec<&Value> = movements.iter().filter(|m| m["reason"] == "reserved").collect();
        assert_eq!(reserved.len(), *units as usize, "one reservation movement per order held here");
        assert!(reserved.iter().all(|m| m["reserved_change"] == 1 && m["quantity"] == 0), "{reserved:?}");
        let mut versions: Vec<u64> = movements.iter().map(|m| m["version"].as_u64().unwrap()).collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=u64::from(*units) + 1).collect::<Vec<u64>>(), "one movement per version");
    }
}

/// After a sharded flash sale: every shard sold out exactly, its own ledger one movement per
/// version with one `reserved` movement per order it served, and the item's ledger untouched by
/// the checkouts (its units went to the shards in one `allotted` movement).
async fn sold_out_shards(app: &TestApp, (vendor, sku, at): (&TestVendor, &str, &str), units: u32, shards: u8) {
    let token = vendor.owner.token();
    let level = app.stock_at(vendor, sku, at).await.expect("stock on record");
    let listed = level["shards"].as_array().expect("the shards").clone();
    assert_eq!(listed.len(), usize::from(shards));
    let mut orders = 0;
    for shard in &listed {
        assert_eq!(shard["available"], 0, "{shard}");
        assert_eq!(shard["reserved"], shard["allotted"], "{shard}");
        let n = shard["shard"].as_u64().unwrap();
        let path = format!("/vendors/{}/skus/{sku}/movements?location_id={at}&shard={n}", vendor.id);
        let ledger = app.all_pages(token, &path).await;
        let versions: Vec<u64> = ledger.iter().map(|m| m["version"].as_u64().unwrap()).collect();
        assert_eq!(versions, (1..=shard["version"].as_u64().unwrap()).collect::<Vec<_>>(), "shard {n}");
        let reserved: Vec<&Value> = ledger.iter().filter(|m| m["reason"] == "reserved").collect();
        assert!(reserved.iter().all(|m| m["reserved_change"] == 1 && m["shard"] == n), "{reserved:?}");
        assert_eq!(ledger[0]["reason"], "allotted");
        orders += reserved.len();
    }
    assert_eq!(orders, units as usize, "one reservation movement per order, over the shards");
    let own: Vec<String> = app
        .movements(token, &vendor.id, sku, at)
        .await
        .iter()
        .map(|m| m["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(own, vec!["received", "allotted"], "no checkout wrote the item itself");
}

#[tokio::test]
async fn five_hundred_concurrent_checkouts_of_a_hundred_units_place_exactly_a_hundred() {
    flash_sale(&[100], 0).await;
}

#[tokio::test]
async fn five_hundred_concurrent_checkouts_of_a_hundred_units_over_two_locations_place_exactly_a_hundred() {
    flash_sale(&[50, 50], 0).await;
}

#[tokio::test]
async fn five_hundred_concurrent_checkouts_of_a_hundred_units_in_four_stock_shards_place_exactly_a_hundred() {
    flash_sale(&[100], 4).await;
}

/// The `token` of the guest link to `group` in a text.
fn link_token(text: &str, group: &str) -> Option<String> {
    let at = text.find(&format!("/orders/{group}?token="))?;
    let rest = &text[at + format!("/orders/{group}?token=").len()..];
    Some(rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.').collect())
}

#[tokio::test]
async fn customers_vendors_and_guests_each_read_only_their_own_orders() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let (a, b) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let ((jumper, _, _), (scarf, _, _)) = tokio::join!(on_sale(&app, &a, 1999, 5), on_sale(&app, &b, 500, 5));
    tokio::join!(ships_to_france(&app, &a), ships_to_france(&app, &b));

    // A signed-in customer: their own cart, an address from their book.
    let customer = app.customer().await;
    let cart =
        app.request(Method::POST, "/carts", Some(customer.token()), Some(&json!({ "currency": "EUR" })), &[]).await;
    let cart_id = cart.expect(201)["id"].as_str().unwrap().to_string();
    for variant in [&jumper, &scarf] {
        let path = format!("/carts/{cart_id}/lines/{variant}");
        let resp = app.request(Method::PUT, &path, Some(customer.token()), Some(&json!({ "quantity": 1 })), &[]).await;
        assert!(resp.status < 300, "{resp}");
    }
    let mut home = paris();
    home["is_default"] = json!(true);
    let address = app.create_address(customer.token(), &home).await.expect(201)["id"].as_str().unwrap().to_string();
    let body = json!({ "cart_id": cart_id, "shipping_address_id": address });
    let key = format!("mine-{}", unique_tag());
    let placed = checkout(&app, Some(customer.token()), None, Some(&key), &body).await.expect(201).clone();
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    assert_eq!(placed["order_group"]["email"], customer.email.as_str());
    assert_eq!(placed["order_group"]["shipping_address"]["city"], "Paris");

    let mine = app.request(Method::GET, "/orders", Some(customer.token()), None, &[]).await;
    assert_eq!(mine.expect(200)["items"][0]["id"], group_id.as_str());
    let read = app.request(Method::GET, &format!("/orders/{group_id}"), Some(customer.token()), None, &[]).await;
    let read = read.expect(200).clone();
    assert_eq!(read["vendor_orders"].as_array().unwrap().len(), 2, "{read}");
    assert!(read["vendor_orders"][0]["timeline"][0]["status"] == "pending_payment", "{read}");

    // Another customer, or nobody signed in, does not see it.
    let stranger = app.customer().await;
    app.request(Method::GET, &format!("/orders/{group_id}"), Some(stranger.token()), None, &[])
        .await
        .expect_error(404, "not_found");
    let others = app.request(Method::GET, "/orders", Some(stranger.token()), None, &[]).await;
    assert_eq!(others.expect(200)["items"], json!([]));
    app.request(Method::GET, &format!("/orders/{group_id}"), None, None, &[]).await.expect_error(401, "unauthorized");
    app.request(Method::GET, &format!("/orders/{group_id}?token=forged"), None, None, &[])
        .await
        .expect_error(404, "not_found");

    // Each vendor sees its own order, with where it ships, and never the other's.
    let a_order = read["vendor_orders"].as_array().unwrap().iter().find(|o| o["vendor_id"] == a.id.as_str()).unwrap();
    let a_order_id = a_order["id"].as_str().unwrap();
    let listed = app.request(Method::GET, &format!("/vendors/{}/orders", a.id), Some(a.owner.token()), None, &[]).await;
    assert_eq!(listed.expect(200)["items"][0]["id"], a_order_id);
    let detail = format!("/vendors/{}/orders/{a_order_id}", a.id);
    let detail = app.request(Method::GET, &detail, Some(a.owner.token()), None, &[]).await.expect(200).clone();
    assert_eq!(detail["shipping_address"]["postal_code"], "75001");
    assert_eq!(detail["lines"].as_array().unwrap().len(), 1);
    let across = format!("/vendors/{}/orders/{a_order_id}", b.id);
    app.request(Method::GET, &across, Some(b.owner.token()), None, &[]).await.expect_error(404, "not_found");
    let foreign = format!("/vendors/{}/orders/{a_order_id}", a.id);
    app.request(Method::GET, &foreign, Some(b.owner.token()), None, &[]).await.expect_error(403, "forbidden");
    app.request(Method::GET, &foreign, Some(customer.token()), None, &[]).await.expect_error(403, "forbidden");

    // A guest reads theirs through the link in the confirmation email, sent once it is paid.
    let (guest_cart_id, guest_token) = guest_cart(&app).await;
    add_line(&app, (&guest_cart_id, &guest_token), &jumper, 1).await;
    let email = stockyard_tests::unique_email();
    let body = json!({ "cart_id": guest_cart_id, "email": email, "shipping_address": paris() });
    let key = format!("guest-{}", unique_tag());
    let placed = checkout(&app, None, Some(&guest_token), Some(&key), &body).await.expect(201).clone();
    let guest_group = placed["order_group"]["id"].as_str().unwrap().to_string();
    let intent = placed["payment"]["reference"].as_str().unwrap();
    let approve = format!("/_local/payments/card/payment_intents/{intent}/approve");
    app.request(Method::POST, &approve, None, None, &[]).await.expect(200);
    let mail = app
        .eventually_email(&email, |m| m.text.as_deref().is_some_and(|t| link_token(t, &guest_group).is_some()))
        .await;
    let token = link_token(mail.text.as_deref().unwrap(), &guest_group).unwrap();
    let linked = app.request(Method::GET, &format!("/orders/{guest_group}?token={token}"), None, None, &[]).await;
    assert_eq!(linked.expect(200)["status"], "paid");
    // The link opens that order only.
    app.request(Method::GET, &format!("/orders/{group_id}?token={token}"), None, None, &[])
        .await
        .expect_error(404, "not_found");
    // Its invoice (one vendor) and receipt, downloadable for a while.
    let documents = format!("/orders/{guest_group}/documents?token={token}");
    let listed = eventually("the invoice and the receipt", || async {
        let docs = app.request(Method::GET, &documents, None, None, &[]).await.expect(200).clone();
        (docs["items"].as_array().map(Vec::len) == Some(2)).then_some(docs)
    })
    .await;
    let invoice = listed["items"].as_array().unwrap().iter().find(|d| d["kind"] == "invoice").unwrap().clone();
    let pdf = reqwest::get(invoice["download"]["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    let text = stockyard_tests::pdf_text(&pdf);
    assert!(text.contains(invoice["number"].as_str().unwrap()), "{text}");
    app.request(Method::GET, &format!("/orders/{guest_group}/documents"), Some(stranger.token()), None, &[])
        .await
        .expect_error(404, "not_found");
}

/// The story: a guest fills a cart, signs in and the cart merges into theirs, a platform
/// coupon takes 10% off, the checkout spans two vendors and is paid by card, and the confirmation
/// email carries one invoice per vendor and the receipt as PDFs, each read back.
#[tokio::test]
async fn guest_cart_sign_in_merge_coupon_two_vendors_card_payment_and_invoices_by_email() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let (a, b) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let ((jumper, jumper_sku, a_at), (scarf, _, _)) =
        tokio::join!(on_sale(&app, &a, 2000, 5), on_sale(&app, &b, 1000, 5));
    tokio::join!(ships_to_france(&app, &a), ships_to_france(&app, &b));
    let admin = app.admin().await;
    let code = format!("TEN-{}", unique_tag().to_uppercase());
    let coupon = json!({ "code": code, "kind": { "type": "percentage", "percent": "10" },
                         "starts_at": "2026-01-01T00:00:00Z", "usage_limit": 1 });
    let coupon = app.request(Method::POST, "/coupons", Some(admin.token()), Some(&coupon), &[]).await;
    let coupon_id = coupon.expect(201)["id"].as_str().unwrap().to_string();

    // A guest puts the jumper in a cart, then signs in: the cart merges into the customer's.
    let (guest, guest_token) = guest_cart(&app).await;
    add_line(&app, (&guest, &guest_token), &jumper, 1).await;
    let customer = app.customer().await;
    let merge = json!({ "cart_id": guest, "token": guest_token });
    let merged = app.request(Method::POST, "/carts/merge", Some(customer.token()), Some(&merge), &[]).await;
    let merged = merged.expect(200).clone();
    let cart_id = merged["cart"]["id"].as_str().unwrap().to_string();
    let path = format!("/carts/{cart_id}/lines/{scarf}");
    app.request(Method::PUT, &path, Some(customer.token()), Some(&json!({ "quantity": 2 })), &[]).await;
    let cart = app.request(Method::GET, &format!("/carts/{cart_id}"), Some(customer.token()), None, &[]).await;
    assert_eq!(cart.expect(200)["lines"].as_array().unwrap().len(), 2, "{cart}");

    let body = json!({ "cart_id": cart_id, "shipping_address": paris(), "coupon": code.to_lowercase() });
    let key = format!("story-{}", unique_tag());
    let placed = checkout(&app, Some(customer.token()), None, Some(&key), &body).await.expect(201).clone();
    // 10% of 20.00 and of 2 × 10.00, before tax; shipping as charged.
    assert_eq!(placed["order_group"]["coupon"]["amount"]["amount"], 400, "{placed}");
    assert_eq!(placed["order_group"]["total"]["amount"], 1800 + 490 + 1800 + 490);
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    // The coupon's one use is taken: another customer's checkout with it is refused.
    let read = app.request(Method::GET, &format!("/coupons/{coupon_id}"), Some(admin.token()), None, &[]).await;
    assert_eq!(read.expect(200)["used"], 1);

    let intent = placed["payment"]["reference"].as_str().unwrap();
    let approve = format!("/_local/payments/card/payment_intents/{intent}/approve");
    app.request(Method::POST, &approve, None, None, &[]).await.expect(200);
    let mail =
        app.eventually_email(&customer.email, |m| m.subject.contains(&group_id) || m.attachments.len() >= 3).await;
    let pdfs: Vec<String> =
        mail.attachments.iter().map(|f| stockyard_tests::pdf_text(&f.bytes()).replace('\u{a0}', " ")).collect();
    assert_eq!(
        pdfs.len(),
        3,
        "two invoices and the receipt: {:?}",
        mail.attachments.iter().map(|f| &f.filename).collect::<Vec<_>>()
    );
    assert!(pdfs.iter().any(|t| t.contains(&a.name)), "an invoice from {}: {pdfs:?}", a.name);
    assert!(pdfs.iter().any(|t| t.contains(&b.name)), "an invoice from {}: {pdfs:?}", b.name);
    let paid = group(&app, &group_id).await;
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(stock_of(&app, &a, &jumper_sku, &a_at).await, (4, 1));
}

#[tokio::test]
async fn an_unpaid_order_expires_and_gives_back_its_stock_and_its_coupon_use() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let (variant, sku, at) = on_sale(&app, &vendor, 1500, 3).await;
    ships_to_france(&app, &vendor).await;
    let (code, coupon_path) = free_shipping_once(&app, &vendor).await;
    let (cart, token) = guest_cart(&app).await;
    add_line(&app, (&cart, &token), &variant, 2).await;
    let body = json!({ "cart_id": cart, "email": "late@example.com", "shipping_address": paris(), "coupon": code });
    let placed = checkout(&app, None, Some(&token), Some(&format!("late-{}", unique_tag())), &body).await;
    let placed = placed.expect(201).clone();
    assert_eq!(placed["orders"][0]["totals"]["shipping"]["amount"], 0, "free shipping: {placed}");
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (1, 2));
    let used = app.request(Method::GET, &coupon_path, Some(vendor.owner.token()), None, &[]).await;
    assert_eq!(used.expect(200)["used"], 1);

    // Its reservation runs out: what expire-reservations does to a group whose timer is due
    // (only this group: other tests' groups stay pending).
    let table = table(&app).await;
    let id = OrderGroupId::parse("id", &group_id).unwrap();
    let job = stockyard_domain::stock::Actor::System { name: "expire-reservations".into() };
    let expired = orders::apply_event(&table, id, stockyard_domain::order::OrderEvent::Expired, None, None, &job).await;
    assert!(matches!(expired, Ok(Some(stockyard_domain::order::Outcome::Moved { .. }))), "{expired:?}");
    assert_eq!(orders::group(&table, id).await.unwrap().unwrap().status, OrderStatus::Expired);
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (3, 0));
    let given_back = app.request(Method::GET, &coupon_path, Some(vendor.owner.token()), None, &[]).await;
    assert_eq!(given_back.expect(200)["used"], 0);
    // Paid after it expired: a refund is due, the stock stays free.
    let intent = placed["payment"]["reference"].as_str().unwrap();
    app.request(Method::POST, &format!("/_local/payments/card/payment_intents/{intent}/approve"), None, None, &[])
        .await
        .expect(200);
    let flagged = eventually("the late payment is flagged for refund", || async {
        let g = orders::group(&table, id).await.unwrap().unwrap();
        (!g.refunds_due.is_empty()).then_some(g)
    })
    .await;
    assert_eq!(flagged.status, OrderStatus::Expired);
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (3, 0));
}

#[tokio::test]
async fn a_wallet_payment_is_approved_by_the_customer_captured_by_stockyard_and_pays_the_order() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let (variant, sku, at) = on_sale(&app, &vendor, 2500, 2).await;
    ships_to_france(&app, &vendor).await;
    let (cart, token) = guest_cart(&app).await;
    add_line(&app, (&cart, &token), &variant, 1).await;
    let body = json!({ "cart_id": cart, "email": "wallet@example.com", "shipping_address": paris(),
                       "payment_provider": "wallet" });
    let placed = checkout(&app, None, Some(&token), Some(&format!("wallet-{}", unique_tag())), &body).await;
    let placed = placed.expect(201).clone();
    assert_eq!(placed["payment"]["provider"], "wallet");
    assert!(placed["payment"].get("client_secret").is_none(), "{placed}");
    let approval = placed["payment"]["approval_url"].as_str().expect("an approval link").to_string();
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    assert_eq!(group(&app, &group_id).await.status, OrderStatus::PendingPayment);

    // The customer approves at the provider; Stockyard captures on the approval's webhook.
    let path = approval.split_once("/_local/").map(|(_, p)| format!("/_local/{p}")).expect("a local link");
    app.request(Method::GET, &path, None, None, &[]).await.expect(200);
    let paid = eventually("the wallet payment is captured and pays the group", || async {
        let g = group(&app, &group_id).await;
        (g.status == OrderStatus::Paid).then_some(g)
    })
    .await;
    assert_eq!(paid.total.amount, 2500 + 490);
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (1, 1));
}

#[tokio::test]
async fn an_unpaid_order_cancelled_by_its_customer_or_guest_gives_everything_back_and_can_no_longer_be_paid() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let (variant, sku, at) = on_sale(&app, &vendor, 1500, 4).await;
    ships_to_france(&app, &vendor).await;
    let (code, coupon_path) = free_shipping_once(&app, &vendor).await;

    // A signed-in customer places an order with the coupon, then changes their mind.
    let customer = app.customer().await;
    let eur = json!({ "currency": "EUR" });
    let cart = app.request(Method::POST, "/carts", Some(customer.token()), Some(&eur), &[]).await;
    let cart_id = cart.expect(201)["id"].as_str().unwrap().to_string();
    let line = format!("/carts/{cart_id}/lines/{variant}");
    app.request(Method::PUT, &line, Some(customer.token()), Some(&json!({ "quantity": 3 })), &[]).await.expect(200);
    let body = json!({ "cart_id": cart_id, "shipping_address": paris(), "coupon": code });
    let placed = checkout(&app, Some(customer.token()), None, Some(&format!("mind-{}", unique_tag())), &body).await;
    let placed = placed.expect(201).clone();
    assert!(placed.get("order_token").is_none(), "a customer reads with their sign-in: {placed}");
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    let intent = placed["payment"]["reference"].as_str().unwrap().to_string();
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (1, 3));
    let cancel = format!("/orders/{group_id}/cancel");

    // Nobody else may cancel it, and trying changes nothing.
    let stranger = app.customer().await;
    app.request(Method::POST, &cancel, Some(stranger.token()), None, &[]).await.expect_error(404, "not_found");
    app.request(Method::POST, &cancel, None, None, &[]).await.expect_error(401, "unauthorized");
    app.request(Method::POST, &format!("{cancel}?token=forged"), None, None, &[]).await.expect_error(404, "not_found");
    assert_eq!(group(&app, &group_id).await.status, OrderStatus::PendingPayment);

    let cancelled = app.request(Method::POST, &cancel, Some(customer.token()), None, &[]).await.expect(200).clone();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let timeline = &cancelled["vendor_orders"][0]["timeline"];
    let last = &timeline[timeline.as_array().unwrap().len() - 1];
    assert_eq!((&last["status"], &last["note"]), (&json!("cancelled"), &json!("cancelled by the customer")));
    // Stock, coupon use: all back at once.
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (4, 0));
    let coupon = app.request(Method::GET, &coupon_path, Some(vendor.owner.token()), None, &[]).await;
    assert_eq!(coupon.expect(200)["used"], 0);
    // The payment is withdrawn: the page can no longer pay it.
    let provider = format!("/_local/payments/card/v1/payment_intents/{intent}");
    assert_eq!(app.request(Method::GET, &provider, None, None, &[]).await.expect(200)["status"], "canceled");
    let approve = format!("/_local/payments/card/payment_intents/{intent}/approve");
    let refused = app.request(Method::POST, &approve, None, None, &[]).await;
    assert_eq!((refused.status, &refused.json["error"]["code"]), (400, &json!("payment_intent_unexpected_state")));
    // Cancelling again answers the group as it is.
    let again = app.request(Method::POST, &cancel, Some(customer.token()), None, &[]).await;
    assert_eq!(again.expect(200)["status"], "cancelled");
    // The customer is told the items were released.
    let told = format!("Your order {group_id} was cancelled.");
    app.eventually_email(&customer.email, |m| m.text.as_deref().is_some_and(|t| t.contains(&told))).await;

    // A guest follows and cancels their order with the checkout's token; paid, it stays paid.
    let (cart, token) = guest_cart(&app).await;
    add_line(&app, (&cart, &token), &variant, 1).await;
    let body = json!({ "cart_id": cart, "email": "guest-cancel@example.com", "shipping_address": paris() });
    let placed = checkout(&app, None, Some(&token), Some(&format!("guest-{}", unique_tag())), &body).await;
    let placed = placed.expect(201).clone();
    let guest_group = placed["order_group"]["id"].as_str().unwrap().to_string();
    let order_token = placed["order_token"].as_str().expect("a guest's order token").to_string();
    let read = format!("/orders/{guest_group}?token={order_token}");
    assert_eq!(app.request(Method::GET, &read, None, None, &[]).await.expect(200)["status"], "pending_payment");
    let intent = placed["payment"]["reference"].as_str().unwrap();
    app.request(Method::POST, &format!("/_local/payments/card/payment_intents/{intent}/approve"), None, None, &[])
        .await
        .expect(200);
    eventually("the guest's payment arrives", || async {
        (group(&app, &guest_group).await.status == OrderStatus::Paid).then_some(())
    })
    .await;
    let late = format!("/orders/{guest_group}/cancel?token={order_token}");
    app.request(Method::POST, &late, None, None, &[]).await.expect_error(409, "not_cancellable");
    assert_eq!(group(&app, &guest_group).await.status, OrderStatus::Paid);
    assert_eq!(stock_of(&app, &vendor, &sku, &at).await, (3, 1));
}

#[tokio::test]
async fn a_flash_sale_item_split_into_shards_sells_from_them_gives_back_to_them_and_merges_back_whole() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let (variant, sku, at) = on_sale(&app, &vendor, 1500, 10).await;
    ships_to_france(&app, &vendor).await;
    let token = vendor.owner.token();
    let path = format!("/vendors/{}/skus/{sku}/stock/{at}", vendor.id);
    let split = |body: Value| {
        let (app, path) = (&app, &path);
        async move { app.request(Method::PATCH, path, Some(token), Some(&body), &[]).await }
    };

    // Bad splits name the field and change nothing.
    // Out of range: 422; not a whole number: 400 (malformed), both naming the field.
    for (bad, status) in [(json!(17), 422), (json!(-1), 422), (json!("four"), 400), (json!(2.5), 400)] {
        let refused = split(json!({ "shards": bad })).await;
        assert_eq!((refused.status, &refused.json["error"]["field"]), (status, &json!("shards")), "{refused}");
    }
    let movements = format!("/vendors/{}/skus/{sku}/movements", vendor.id);
    for (query, field) in [("?shard=1", "location_id"), (&*format!("?location_id={at}&shard=16"), "shard")] {
        let refused = app.request(Method::GET, &format!("{movements}{query}"), Some(token), None, &[]).await;
        assert_eq!((refused.status, &refused.json["error"]["field"]), (422, &json!(field)), "{refused}");
    }
    let level = app.stock_at(&vendor, &sku, &at).await.unwrap();
    assert_eq!((&level["available"], level.get("shards"), level.get("allotted")), (&json!(10), None, None), "{level}");

    // Merging an item never split changes nothing (no movement: the ledger is checked below).
    split(json!({ "shards": 0 })).await.expect(200);

    // Split in two: 5 and 5, all still available, the item's own units all in its shards.
    let level = split(json!({ "shards": 2 })).await.expect(200).clone();
    let counts = (&level["available"], &level["allotted"], &level["reserved"], &level["shard_count"]);
    assert_eq!(counts, (&json!(10), &json!(10), &json!(10), &json!(2)), "{level}");
    let shards: Vec<(u64, u64)> = level["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["allotted"].as_u64().unwrap(), s["available"].as_u64().unwrap()))
        .collect();
    assert_eq!(shards, vec![(5, 5), (5, 5)]);

    // A guest buys 3: they come from one shard; the cart and the stock view count the shards.
    let (cart, cart_token) = guest_cart(&app).await;
    add_line(&app, (&cart, &cart_token), &variant, 3).await;
    let body = json!({ "cart_id": cart, "email": "shard@example.com", "shipping_address": paris() });
    let placed = checkout(&app, None, Some(&cart_token), Some(&format!("shard-{}", unique_tag())), &body).await;
    let placed = placed.expect(201).clone();
    let level = app.stock_at(&vendor, &sku, &at).await.unwrap();
    assert_eq!(level["available"], 7, "{level}");
    let held: Vec<u64> = level["shards"].as_array().unwrap().iter().map(|s| s["reserved"].as_u64().unwrap()).collect();
    assert_eq!((held.iter().sum::<u64>(), held.contains(&3)), (3, true), "one shard served the line: {level}");
    let stored = group(&app, placed["order_group"]["id"].as_str().unwrap()).await;
    assert!(
        stored.holds.len() == 1 && stored.holds[0].shard.is_some(),
        "the order knows its shard: {:?}",
        stored.holds
    );
    let reconcile = json!({ "vendor_id": vendor.id });
    let clean = app.invoke("reconcile-stock", &reconcile).await;
    assert_eq!(clean.expect(200)["drifted"], json!([]), "every ledger agrees: {clean}");

    // A shard changed behind the API's back is found by the reconciler, named; put right, it agrees.
    let held_at_1 = held[1];
    let set_reserved = |units: u64| {
        let key = [
            ("PK".to_string(), AttributeValue::S(format!("STOCKSHARD#{}#{variant}#{at}#1", vendor.id))),
            ("SK".to_string(), AttributeValue::S("SHARD".into())),
        ];
        let app = &app;
        async move {
            let update = app
                .dynamodb()
                .await
                .update_item()
                .table_name(app.table_name())
                .set_key(Some(key.into_iter().collect()));
            let update = update.update_expression("SET reserved = :n");
            update
                .expression_attribute_values(":n", AttributeValue::N(units.to_string()))
                .send()
                .await
                .expect("the shard is updated");
        }
    };
    set_reserved(held_at_1 + 2).await;
    let drift = app.invoke("reconcile-stock", &reconcile).await;
    let drifted = drift.expect(200)["drifted"].as_array().unwrap().clone();
    assert_eq!(drifted.len(), 1, "{drift}");
    let found = (&drifted[0]["shard"], drifted[0]["reserved"].as_u64(), drifted[0]["ledger_reserved"].as_u64());
    assert_eq!(found, (&json!(1), Some(held_at_1 + 2), Some(held_at_1)), "{drift}");
    set_reserved(held_at_1).await;
    assert_eq!(app.invoke("reconcile-stock", &reconcile).await.expect(200)["drifted"], json!([]));

    // Cancelled, the units go back to that shard; merged back, every free unit returns to the item.
    let group_id = placed["order_group"]["id"].as_str().unwrap();
    let cancel = format!("/orders/{group_id}/cancel?token={}", placed["order_token"].as_str().unwrap());
    app.request(Method::POST, &cancel, None, None, &[]).await.expect(200);
    let level = app.stock_at(&vendor, &sku, &at).await.unwrap();
    assert_eq!((&level["available"], &level["reserved"]), (&json!(10), &json!(10)), "{level}");
    let level = split(json!({ "shards": 0 })).await.expect(200).clone();
    assert_eq!((&level["available"], &level["reserved"]), (&json!(10), &json!(0)), "{level}");
    assert!(["shards", "shard_count", "allotted"].iter().all(|f| level.get(*f).is_none()), "{level}");
    split(json!({ "shards": 0 })).await.expect(200);
    let ledger = app.movements(token, &vendor.id, &sku, &at).await;
    let reasons: Vec<&str> = ledger.iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, vec!["received", "allotted", "allotment_returned"], "checkouts wrote the shards only");
    assert_eq!(ledger.iter().map(|m| m["reserved_change"].as_i64().unwrap()).sum::<i64>(), 0);
    for n in 0..2 {
        let path = format!("/vendors/{}/skus/{sku}/movements?location_id={at}&shard={n}", vendor.id);
        let shard = app.all_pages(token, &path).await;
        assert_eq!(shard.iter().map(|m| m["quantity"].as_i64().unwrap()).sum::<i64>(), 0, "shard {n} gave all back");
        assert_eq!(shard.iter().map(|m| m["reserved_change"].as_i64().unwrap()).sum::<i64>(), 0);
    }
}
