//! Carts (issue 13): a guest's cart reached with its token, a customer's one cart, the merge at
//! sign-in, every read priced again with what changed, the limits, and expiry.

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};
use stockyard_domain::ids::{CartId, VariantId};
use stockyard_store::{Table, carts};
use stockyard_tests::{ApiResponse, Method, TestApp, TestUser, TestVendor, unique_tag};

/// A vendor with a stock location and a category to sell in.
struct Shop {
    vendor: TestVendor,
    location: String,
    category: String,
}

/// A published product's one variant, priced in EUR.
struct Item {
    product: String,
    variant: String,
    sku: String,
}

/// Who calls: a signed-in person and/or a guest's cart token.
#[derive(Clone, Copy, Default)]
struct As<'a> {
    user: Option<&'a TestUser>,
    token: Option<&'a str>,
}

fn guest(token: &str) -> As<'_> {
    As { user: None, token: Some(token) }
}

fn signed_in(user: &TestUser) -> As<'_> {
    As { user: Some(user), token: None }
}

async fn shop(app: &TestApp) -> Shop {
    let (vendor, admin) = tokio::join!(app.vendor_owner(), app.admin());
    let category = app.plain_category(&admin).await;
    let location = app.create_location(vendor.owner.token(), &vendor.id, &TestApp::location_body()).await;
    Shop { location: location.expect(201)["id"].as_str().unwrap().to_string(), vendor, category }
}

/// A published product of the shop with one variant at `price` EUR cents, `stock` units received
/// and an optional limit per customer.
async fn item(app: &TestApp, shop: &Shop, price: i64, stock: i64, max_per_customer: Option<u32>) -> Item {
    let token = shop.vendor.owner.token();
    let product = app.draft_product(token, &shop.vendor.id, &shop.category).await;
    let sku = format!("CART-{}", unique_tag()).to_uppercase();
    let mut body = json!({ "sku": sku, "prices": { "EUR": { "amount": price } } });
    if let Some(max) = max_per_customer {
        body["max_per_customer"] = json!(max);
    }
    let variant = app.create_variant(token, &shop.vendor.id, &product, &body).await;
    let variant = variant.expect(201);
    assert_eq!(variant["max_per_customer"].as_u64(), max_per_customer.map(u64::from), "{variant}");
    let variant = variant["id"].as_str().unwrap().to_string();
    set_status(app, shop, &product, "published").await;
    if stock != 0 {
        adjust(app, shop, &sku, stock).await;
    }
    Item { product, variant, sku }
}

async fn set_status(app: &TestApp, shop: &Shop, product: &str, status: &str) {
    let path = format!("/vendors/{}/products/{product}/status", shop.vendor.id);
    let body = json!({ "status": status });
    app.request(Method::PUT, &path, Some(shop.vendor.owner.token()), Some(&body), &[]).await.expect(200);
}

async fn adjust(app: &TestApp, shop: &Shop, sku: &str, units: i64) {
    let reason = if units > 0 { "received" } else { "damaged" };
    let body = json!({ "sku": sku, "location_id": shop.location, "quantity": units, "reason": reason });
    app.adjust_stock(shop.vendor.owner.token(), &shop.vendor.id, &body).await.expect(201);
}

async fn call(app: &TestApp, method: Method, path: &str, who: As<'_>, body: Option<&Value>) -> ApiResponse {
    let headers: Vec<(&str, &str)> = who.token.map(|t| vec![("x-cart-token", t)]).unwrap_or_default();
    app.request(method, path, who.user.map(TestUser::token), body, &headers).await
}

async fn create(app: &TestApp, who: As<'_>, body: &Value) -> ApiResponse {
    call(app, Method::POST, "/carts", who, Some(body)).await
}

/// A new guest cart in EUR: (cart id, token).
async fn guest_cart(app: &TestApp) -> (String, String) {
    let made = create(app, As::default(), &json!({ "currency": "EUR" })).await;
    let made = made.expect(201);
    (made["id"].as_str().unwrap().to_string(), made["token"].as_str().unwrap().to_string())
}

async fn get(app: &TestApp, cart: &str, who: As<'_>) -> ApiResponse {
    call(app, Method::GET, &format!("/carts/{cart}"), who, None).await
}

async fn put_line(app: &TestApp, cart: &str, variant: &str, quantity: Value, who: As<'_>) -> ApiResponse {
    let body = json!({ "quantity": quantity });
    call(app, Method::PUT, &format!("/carts/{cart}/lines/{variant}"), who, Some(&body)).await
}

async fn delete_line(app: &TestApp, cart: &str, variant: &str, who: As<'_>) -> ApiResponse {
    call(app, Method::DELETE, &format!("/carts/{cart}/lines/{variant}"), who, None).await
}

async fn merge(app: &TestApp, user: &TestUser, cart: &str, token: &str) -> ApiResponse {
    let body = json!({ "cart_id": cart, "token": token });
    call(app, Method::POST, "/carts/merge", signed_in(user), Some(&body)).await
}

/// The lines of a cart read as `(variant, quantity)`.
fn quantities(cart: &Value) -> Vec<(String, u64)> {
    let lines = cart["lines"].as_array().expect("a cart has lines");
    lines.iter().map(|l| (l["variant_id"].as_str().unwrap().to_string(), l["quantity"].as_u64().unwrap())).collect()
}

fn line_of<'a>(cart: &'a Value, variant: &str) -> &'a Value {
    let lines = cart["lines"].as_array().expect("a cart has lines");
    lines.iter().find(|l| l["variant_id"] == variant).unwrap_or_else(|| panic!("no line of {variant}: {cart}"))
}

async fn table(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

#[tokio::test]
async fn a_guest_cart_is_reached_with_its_token_and_by_nobody_else() {
    let app = TestApp::new();
    let (shop, stranger, admin) = tokio::join!(shop(&app), app.customer(), app.admin());
    let jumper = item(&app, &shop, 4999, 10, None).await;
    let made = create(&app, As::default(), &json!({ "currency": "EUR", "locale": "fr" })).await;
    let made = made.expect(201).clone();
    let (cart, token) = (made["id"].as_str().unwrap(), made["token"].as_str().unwrap());
    assert_eq!(token.len(), 43, "{made}");
    assert_eq!((made["guest"].as_bool(), made["locale"].as_str()), (Some(true), Some("fr")));
    assert!(made.get("customer_id").is_none(), "{made}");
    let expires = chrono::DateTime::parse_from_rfc3339(made["expires_at"].as_str().unwrap()).unwrap();
    let in_days = (expires.with_timezone(&Utc) - Utc::now()).num_hours();
    assert!((167..=168).contains(&in_days), "a guest cart lasts 7 days: {made}");

    let added = put_line(&app, cart, &jumper.variant, json!(2), guest(token)).await;
    let added = added.expect(200).clone();
    assert_eq!(added["subtotal"], json!({ "amount": 9998, "currency": "EUR" }));
    let line = line_of(&added, &jumper.variant);
    assert_eq!((line["sku"].as_str(), line["unit_price"]["amount"].as_i64()), (Some(jumper.sku.as_str()), Some(4999)));
    assert_eq!(line["changes"], json!([]));
    assert_eq!(added["ready_for_checkout"], true);
    // The token comes back on no later answer.
    assert!(added.get("token").is_none());
    assert_eq!(get(&app, cart, guest(token)).await.expect(200), &added);

    // No token, another guest's token, a signed-in stranger, the vendor and an administrator: 404.
    let (_, other_token) = guest_cart(&app).await;
    for who in
        [As::default(), guest(&other_token), signed_in(&stranger), signed_in(&shop.vendor.owner), signed_in(&admin)]
    {
        get(&app, cart, who).await.expect_error(404, "not_found");
        put_line(&app, cart, &jumper.variant, json!(5), who).await.expect_error(404, "not_found");
        delete_line(&app, cart, &jumper.variant, who).await.expect_error(404, "not_found");
    }
    // A malformed token is refused as such; an unknown cart is 404 even with a token.
    get(&app, cart, guest("not-a-token")).await.expect_invalid_field("X-Cart-Token");
    get(&app, &CartId::generate().to_string(), guest(token)).await.expect_error(404, "not_found");
    // A signed-in shopper holding the token may use it.
    let both = As { user: Some(&stranger), token: Some(token) };
    assert_eq!(get(&app, cart, both).await.expect(200), &added);
    assert_eq!(get(&app, cart, guest(token)).await.expect(200)["version"], added["version"], "nothing changed");

    // Taking the line out; a second time there is no line.
    let emptied = delete_line(&app, cart, &jumper.variant, guest(token)).await;
    let emptied = emptied.expect(200);
    assert_eq!((emptied["lines"].as_array().map(Vec::len), emptied["subtotal"]["amount"].as_i64()), (Some(0), Some(0)));
    assert_eq!(emptied["ready_for_checkout"], false);
    delete_line(&app, cart, &jumper.variant, guest(token)).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn a_customer_has_one_cart_which_follows_their_currency_and_nobody_else_reaches() {
    let app = TestApp::new();
    let (ada, grace, admin) = tokio::join!(app.customer(), app.customer(), app.admin());
    let made = create(&app, signed_in(&ada), &json!({ "currency": "EUR" })).await;
    let made = made.expect(201).clone();
    let cart = made["id"].as_str().unwrap();
    assert_eq!((made["guest"].as_bool(), made["customer_id"].as_str()), (Some(false), Some(ada.id.as_str())));
    assert!(made.get("token").is_none(), "{made}");
    assert_eq!(made["locale"], "en");
    let expires = chrono::DateTime::parse_from_rfc3339(made["expires_at"].as_str().unwrap()).unwrap();
    assert!((expires.with_timezone(&Utc) - Utc::now()).num_days() >= 59, "a customer's cart lasts 60 days: {made}");

    // Asked again: the same cart (200), at once or several at a time.
    let again = create(&app, signed_in(&ada), &json!({ "currency": "EUR" })).await;
    assert_eq!(again.expect(200)["id"], cart);
    let eur = json!({ "currency": "EUR" });
    let at_once = join_all((0..4).map(|_| create(&app, signed_in(&grace), &eur))).await;
    let ids: std::collections::BTreeSet<String> = at_once.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 1, "one cart for grace however many asked at once: {ids:?}");
    assert_eq!(at_once.iter().filter(|r| r.status == 201).count(), 1);

    // Another currency and locale move the cart there.
    let moved = create(&app, signed_in(&ada), &json!({ "currency": "GBP", "locale": "en-GB" })).await;
    let moved = moved.expect(200);
    assert_eq!((moved["id"].as_str(), moved["currency"].as_str()), (Some(cart), Some("GBP")));
    assert_eq!((moved["locale"].as_str(), moved["version"].as_u64()), (Some("en-GB"), Some(2)));

    // Nobody else: another customer, an administrator, nobody signed in.
    for who in [signed_in(&grace), signed_in(&admin), As::default()] {
        get(&app, cart, who).await.expect_error(404, "not_found");
    }
    assert_eq!(get(&app, cart, signed_in(&ada)).await.expect(200)["currency"], "GBP");
}

#[tokio::test]
async fn a_guest_cart_merges_into_the_customers_at_sign_in_and_the_same_merge_again_changes_nothing() {
    let app = TestApp::new();
    let (shop, ada) = tokio::join!(shop(&app), app.customer());
    let (jumper, socks, hat) = tokio::join!(
        item(&app, &shop, 4999, 50, None),
        item(&app, &shop, 999, 50, Some(4)),
        item(&app, &shop, 1500, 50, None)
    );
    let mine = create(&app, signed_in(&ada), &json!({ "currency": "EUR" })).await;
    let mine = mine.expect(201)["id"].as_str().unwrap().to_string();
    put_line(&app, &mine, &jumper.variant, json!(2), signed_in(&ada)).await.expect(200);
    put_line(&app, &mine, &socks.variant, json!(3), signed_in(&ada)).await.expect(200);

    let (guest_id, token) = guest_cart(&app).await;
    put_line(&app, &guest_id, &jumper.variant, json!(3), guest(&token)).await.expect(200);
    put_line(&app, &guest_id, &socks.variant, json!(2), guest(&token)).await.expect(200);
    put_line(&app, &guest_id, &hat.variant, json!(1), guest(&token)).await.expect(200);

    // A wrong token, another customer's cart id, or no sign-in: nothing is merged.
    let (_, other_token) = guest_cart(&app).await;
    merge(&app, &ada, &guest_id, &other_token).await.expect_error(404, "not_found");
    merge(&app, &ada, &mine, &token).await.expect_error(404, "not_found");
    let anonymous = json!({ "cart_id": guest_id, "token": token });
    call(&app, Method::POST, "/carts/merge", guest(&token), Some(&anonymous)).await.expect_error(401, "unauthorized");
    assert_eq!(get(&app, &guest_id, guest(&token)).await.expect(200)["lines"].as_array().map(Vec::len), Some(3));

    let merged = merge(&app, &ada, &guest_id, &token).await;
    let merged = merged.expect(200).clone();
    assert_eq!(merged["cart"]["id"], mine);
    let expected = vec![(jumper.variant.clone(), 5), (socks.variant.clone(), 4), (hat.variant.clone(), 1)];
    assert_eq!(quantities(&merged["cart"]), expected, "2 + 3 jumpers; socks capped at 4 per customer; the hat");
    assert_eq!((merged["capped"].clone(), merged["dropped"].clone()), (json!([socks.variant]), json!([])));
    assert_eq!(merged["cart"]["subtotal"]["amount"], 5 * 4999 + 4 * 999 + 1500);
    // The guest cart is gone.
    get(&app, &guest_id, guest(&token)).await.expect_error(404, "not_found");
    // The same merge again (a retry): the customer's cart as it is, nothing added twice.
    let again = merge(&app, &ada, &guest_id, &token).await;
    let again = again.expect(200);
    assert_eq!(quantities(&again["cart"]), expected);
    assert_eq!(again["cart"]["version"], merged["cart"]["version"]);
    // Another customer cannot replay it.
    let grace = app.customer().await;
    merge(&app, &grace, &guest_id, &token).await.expect_error(404, "not_found");

    // A customer without a cart gets one made from the guest's.
    let (second, second_token) = guest_cart(&app).await;
    put_line(&app, &second, &hat.variant, json!(2), guest(&second_token)).await.expect(200);
    let made = merge(&app, &grace, &second, &second_token).await;
    let made = made.expect(200);
    assert_eq!(quantities(&made["cart"]), vec![(hat.variant.clone(), 2)]);
    assert_eq!(made["cart"]["customer_id"], grace.id.as_str());
    let hers = create(&app, signed_in(&grace), &json!({ "currency": "EUR" })).await;
    assert_eq!(hers.expect(200)["id"], made["cart"]["id"]);
}

#[tokio::test]
async fn a_price_change_a_stock_drop_and_an_unpublished_product_show_on_the_next_read() {
    let app = TestApp::new();
    let shop = shop(&app).await;
    let (jumper, socks, hat) = tokio::join!(
        item(&app, &shop, 4999, 10, None),
        item(&app, &shop, 999, 10, None),
        item(&app, &shop, 1500, 10, None)
    );
    let (cart, token) = guest_cart(&app).await;
    for (variant, quantity) in [(&jumper.variant, 1), (&socks.variant, 5), (&hat.variant, 2)] {
        put_line(&app, &cart, variant, json!(quantity), guest(&token)).await.expect(200);
    }
    let before = get(&app, &cart, guest(&token)).await.expect(200).clone();
    assert_eq!((before["has_changes"].as_bool(), before["subtotal"]["amount"].as_i64()), (Some(false), Some(12_994)));

    // The vendor lowers the jumper's price, loses socks, and takes the hat off sale.
    let owner = shop.vendor.owner.token();
    let path = format!("/vendors/{}/products/{}/variants/{}", shop.vendor.id, jumper.product, jumper.variant);
    let cheaper = json!({ "prices": { "EUR": { "amount": 3999 } } });
    app.request(Method::PATCH, &path, Some(owner), Some(&cheaper), &[]).await.expect(200);
    adjust(&app, &shop, &socks.sku, -7).await;
    set_status(&app, &shop, &hat.product, "draft").await;

    let after = get(&app, &cart, guest(&token)).await.expect(200).clone();
    let change = |variant: &str| line_of(&after, variant)["changes"].clone();
    let eur = |amount: i64| json!({ "amount": amount, "currency": "EUR" });
    assert_eq!(change(&jumper.variant), json!([{ "kind": "price_changed", "was": eur(4999), "now": eur(3999) }]));
    assert_eq!(change(&socks.variant), json!([{ "kind": "quantity_reduced", "to": 3, "reason": "stock" }]));
    assert_eq!(change(&hat.variant), json!([{ "kind": "unavailable", "reason": "product_unpublished" }]));
    let hat_line = line_of(&after, &hat.variant);
    assert_eq!((hat_line["available"].as_bool(), hat_line["line_total"]["amount"].as_i64()), (Some(false), Some(0)));
    assert_eq!(line_of(&after, &socks.variant)["purchasable_quantity"], 3);
    assert_eq!(after["subtotal"], eur(3999 + 3 * 999), "the totals are what can be bought now");
    assert_eq!((after["has_changes"].as_bool(), after["ready_for_checkout"].as_bool()), (Some(true), Some(false)));
    assert_eq!(after["version"], before["version"], "a read changes nothing");

    // Setting the lines again takes the prices and quantities as they are now.
    put_line(&app, &cart, &jumper.variant, json!(1), guest(&token)).await.expect(200);
    put_line(&app, &cart, &socks.variant, json!(4), guest(&token)).await.expect_error(422, "insufficient_stock");
    put_line(&app, &cart, &socks.variant, json!(3), guest(&token)).await.expect(200);
    let refused = put_line(&app, &cart, &hat.variant, json!(1), guest(&token)).await;
    assert_eq!(refused.expect_error(422, "variant_unavailable")["field"], "variantId");
    delete_line(&app, &cart, &hat.variant, guest(&token)).await.expect(200);
    let settled = get(&app, &cart, guest(&token)).await.expect(200).clone();
    assert_eq!((settled["has_changes"].as_bool(), settled["ready_for_checkout"].as_bool()), (Some(false), Some(true)));
    assert_eq!(line_of(&settled, &jumper.variant)["added_unit_price"], eur(3999));
    // A product that is not on sale cannot be added at all.
    let (other, other_token) = guest_cart(&app).await;
    put_line(&app, &other, &hat.variant, json!(1), guest(&other_token)).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn quantities_over_a_line_the_limit_per_customer_or_the_stock_and_a_26th_line_are_refused_naming_the_field() {
    let app = TestApp::new();
    let shop = shop(&app).await;
    let (plenty, limited) = tokio::join!(item(&app, &shop, 100, 500, None), item(&app, &shop, 100, 500, Some(2)));
    let (cart, token) = guest_cart(&app).await;
    let refused = put_line(&app, &cart, &plenty.variant, json!(100), guest(&token)).await;
    refused.expect_invalid_field("quantity");
    put_line(&app, &cart, &plenty.variant, json!(99), guest(&token)).await.expect(200);
    let refused = put_line(&app, &cart, &limited.variant, json!(3), guest(&token)).await;
    let message = refused.expect_invalid_field("quantity")["message"].as_str().unwrap().to_string();
    assert!(message.contains("at most 2") && message.contains("per customer"), "{message}");
    put_line(&app, &cart, &limited.variant, json!(2), guest(&token)).await.expect(200);

    // 23 more lines make 25; the 26th is refused, naming the variant.
    let more = join_all((0..24).map(|_| item(&app, &shop, 100, 1, None))).await;
    for extra in &more[..23] {
        put_line(&app, &cart, &extra.variant, json!(1), guest(&token)).await.expect(200);
    }
    let full = get(&app, &cart, guest(&token)).await.expect(200).clone();
    assert_eq!(full["lines"].as_array().map(Vec::len), Some(25));
    let refused = put_line(&app, &cart, &more[23].variant, json!(1), guest(&token)).await;
    assert_eq!(refused.expect_error(422, "too_many_lines")["field"], "variantId");
    // Over the stock: 1 available.
    let refused = put_line(&app, &cart, &more[0].variant, json!(2), guest(&token)).await;
    let refused = refused.expect_error(422, "insufficient_stock");
    assert_eq!(refused["field"], "quantity");
    assert!(refused["message"].as_str().unwrap().contains("at most 1"), "{refused}");
    assert_eq!(get(&app, &cart, guest(&token)).await.expect(200), &full, "nothing refused changed the cart");

    // The vendor lowers the limit below what a line holds: the line reads as reduced by the limit.
    let path = format!("/vendors/{}/products/{}/variants/{}", shop.vendor.id, plenty.product, plenty.variant);
    let owner = shop.vendor.owner.token();
    app.request(Method::PATCH, &path, Some(owner), Some(&json!({ "max_per_customer": 10 })), &[]).await.expect(200);
    let read = get(&app, &cart, guest(&token)).await.expect(200).clone();
    let line = line_of(&read, &plenty.variant);
    assert_eq!(line["changes"], json!([{ "kind": "quantity_reduced", "to": 10, "reason": "limit" }]));
    assert_eq!((line["max_quantity"].as_u64(), line["purchasable_quantity"].as_u64()), (Some(10), Some(10)));
    // The limit is validated where the vendor sets it.
    let refused = app.request(Method::PATCH, &path, Some(owner), Some(&json!({ "max_per_customer": 0 })), &[]).await;
    refused.expect_invalid_field("max_per_customer");
    let removed = app.request(Method::PATCH, &path, Some(owner), Some(&json!({ "max_per_customer": null })), &[]).await;
    assert!(removed.expect(200).get("max_per_customer").is_none());
}

#[tokio::test]
async fn bad_bodies_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::new();
    let shop = shop(&app).await;
    let jumper = item(&app, &shop, 4999, 10, None).await;
    let (cart, token) = guest_cart(&app).await;
    put_line(&app, &cart, &jumper.variant, json!(2), guest(&token)).await.expect(200);
    let before = get(&app, &cart, guest(&token)).await.expect(200).clone();
    let path = format!("/carts/{cart}/lines/{}", jumper.variant);
    let cases = [
        (json!({ "quantity": 0 }), 422, "quantity"),
        (json!({ "quantity": -3 }), 422, "quantity"),
        (json!({ "quantity": "3" }), 400, "quantity"),
        (json!({ "quantity": 3, "unit_price": 1 }), 400, "unit_price"),
        (json!({}), 400, "quantity"),
    ];
    for (body, status, field) in cases {
        let refused = call(&app, Method::PUT, &path, guest(&token), Some(&body)).await;
        assert_eq!((refused.status, refused.error_field()), (status, Some(field)), "{body}: {refused}");
    }
    let text = app.request_raw(Method::PUT, &path, None, Some("quantity=3".into()), &[("x-cart-token", &token)]).await;
    assert_eq!(text.status, 400, "{text}");
    for (body, status, field) in [
        (json!({ "currency": "EURO" }), 422, "currency"),
        (json!({ "currency": "EUR", "locale": "" }), 422, "locale"),
        (json!({ "currency": "EUR", "owner": "me" }), 400, "owner"),
    ] {
        let refused = create(&app, As::default(), &body).await;
        assert_eq!((refused.status, refused.error_field()), (status, Some(field)), "{body}: {refused}");
    }
    let bad_id = put_line(&app, &cart, "not-a-variant", json!(1), guest(&token)).await;
    bad_id.expect_invalid_field("variantId");
    put_line(&app, &cart, &VariantId::generate().to_string(), json!(1), guest(&token))
        .await
        .expect_error(404, "not_found");
    assert_eq!(get(&app, &cart, guest(&token)).await.expect(200), &before, "nothing changed");
}

#[tokio::test]
async fn a_cart_expires_seven_days_after_a_guests_last_change_and_then_reads_as_gone() {
    let app = TestApp::new();
    let ada = app.customer().await;
    let (cart, token) = guest_cart(&app).await;
    let id = CartId::parse("cart", &cart).unwrap();
    let table = table(&app).await;
    let stored = carts::get(&table, id).await.unwrap().expect("the cart is stored");

    // The item carries DynamoDB's TTL attribute: epoch seconds, 7 days after the last change.
    let key = |v: String| aws_sdk_dynamodb::types::AttributeValue::S(v);
    let item = app
        .dynamodb()
        .await
        .get_item()
        .table_name(app.table_name())
        .key("PK", key(format!("CART#{cart}")))
        .key("SK", key("CART".into()))
        .send()
        .await
        .expect("the cart's item is where data-model.md says")
        .item
        .expect("the cart exists");
    let ttl: i64 = item["expires_at"].as_n().expect("TTL is a number").parse().unwrap();
    assert_eq!(ttl, (stored.updated_at + Duration::days(7)).timestamp());
    assert!(!item.contains_key("token"), "the token is never stored");

    // Past its expiry (DynamoDB deletes it within days): it reads as gone at once.
    let mut expired = stored.clone();
    expired.expires_at = Utc::now() - Duration::seconds(1);
    expired.version += 1;
    carts::save(&table, &expired, stored.version).await.unwrap();
    get(&app, &cart, guest(&token)).await.expect_error(404, "not_found");
    put_line(&app, &cart, &VariantId::generate().to_string(), json!(1), guest(&token))
        .await
        .expect_error(404, "not_found");
    merge(&app, &ada, &cart, &token).await.expect_error(404, "not_found");

    // A customer whose cart expired gets a new one.
    let first = create(&app, signed_in(&ada), &json!({ "currency": "EUR" })).await.expect(201)["id"].clone();
    let first_id = CartId::parse("cart", first.as_str().unwrap()).unwrap();
    let theirs = carts::get(&table, first_id).await.unwrap().unwrap();
    let mut expired = theirs.clone();
    expired.expires_at = Utc::now() - Duration::seconds(1);
    expired.version += 1;
    carts::save(&table, &expired, theirs.version).await.unwrap();
    let second = create(&app, signed_in(&ada), &json!({ "currency": "EUR" })).await;
    assert_ne!(second.expect(201)["id"], first);
    get(&app, first.as_str().unwrap(), signed_in(&ada)).await.expect_error(404, "not_found");
}
