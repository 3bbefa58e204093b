//! The catalog: the category tree and its attribute schemas, kept by admin and content managers,
//! read by anyone. Categories are global, so every test names its own with a fresh tag.

use serde_json::{Value, json};
use stockyard_tests::{ApiResponse, Method, TestApp, TestUser, unique_tag};

async fn create(app: &TestApp, who: &TestUser, body: &Value) -> ApiResponse {
    app.request(Method::POST, "/categories", Some(who.token()), Some(body), &[]).await
}

async fn update(app: &TestApp, who: &TestUser, id: &str, body: &Value) -> ApiResponse {
    app.request(Method::PATCH, &format!("/categories/{id}"), Some(who.token()), Some(body), &[]).await
}

async fn get(app: &TestApp, id: &str) -> ApiResponse {
    app.request(Method::GET, &format!("/categories/{id}"), None, None, &[]).await
}

fn text(code: &str) -> Value {
    json!({ "code": code, "labels": { "en": code }, "kind": { "type": "text", "max_len": 100 } })
}

fn sizes() -> Value {
    json!({
        "code": "size", "labels": { "en": "Size", "fr": "Taille" }, "required": true, "defines_variants": true,
        "kind": { "type": "enum", "values": [
            { "code": "s", "labels": { "en": "Small", "fr": "Petit" } },
            { "code": "m", "labels": { "en": "Medium", "fr": "Moyen" } }
        ] }
    })
}

fn codes(attributes: &Value) -> Vec<&str> {
    attributes.as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_content_manager_builds_a_tree_whose_children_inherit_their_parents_attributes() {
    let app = TestApp::new();
    let editor = app.user_with_platform_role("content_manager").await;
    let tag = unique_tag();
    let clothing = create(
        &app,
        &editor,
        &json!({ "names": { "en": format!("Clothing {tag}"), "fr": format!("Vêtements {tag}") }, "attributes": [text("material")] }),
    )
    .await;
    let clothing_id = clothing.expect(201)["id"].as_str().unwrap().to_string();
    assert_eq!(clothing.json["slugs"]["fr"], format!("vetements-{}", tag.to_lowercase()), "a slug made from the name");
    let shirts = create(
        &app,
        &editor,
        &json!({ "parent_id": clothing_id, "names": { "en": format!("Shirts {tag}") }, "attributes": [sizes()] }),
    )
    .await;
    let shirts_id = shirts.expect(201)["id"].as_str().unwrap().to_string();

    // Anyone reads it: the child with its ancestors and everything a product in it is described by.
    let read = get(&app, &shirts_id).await;
    assert_eq!(read.expect(200)["ancestors"], json!([clothing_id]));
    assert_eq!(codes(&read.json["effective_attributes"]), ["material", "size"]);
    assert_eq!(codes(&read.json["attributes"]), ["size"], "its own");
    let children = app.request(Method::GET, &format!("/categories?parent={clothing_id}"), None, None, &[]).await;
    let ids: Vec<&str> =
        children.expect(200)["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [shirts_id.as_str()]);

    // A child may not declare what it inherits; a parent may not take a code a child has.
    let twin = create(
        &app,
        &editor,
        &json!({ "parent_id": shirts_id, "names": { "en": format!("Polo {tag}") }, "attributes": [text("material")] }),
    )
    .await;
    twin.expect_invalid_field("attributes[0].code");
    let clash = update(&app, &editor, &clothing_id, &json!({ "attributes": [text("material"), sizes()] })).await;
    clash.expect_invalid_field("attributes");
    assert_eq!(codes(&get(&app, &clothing_id).await.json["attributes"]), ["material"], "nothing changed");
}

#[tokio::test]
async fn only_admin_and_content_managers_change_the_tree_and_bad_input_names_the_field() {
    let app = TestApp::new();
    let customer = app.customer().await;
    let tag = unique_tag();
    let body = json!({ "names": { "en": format!("Garden {tag}") } });
    create(&app, &customer, &body).await.expect_error(403, "forbidden");
    let anonymous = app.request(Method::POST, "/categories", None, Some(&body), &[]).await;
    anonymous.expect_error(401, "unauthorized");

    let admin = app.admin().await;
    create(&app, &admin, &json!({ "names": {} })).await.expect_invalid_field("names");
    create(&app, &admin, &json!({ "names": { "english": "Garden" } })).await.expect_invalid_field("names.english");
    create(&app, &admin, &json!({ "names": { "en": " " } })).await.expect_invalid_field("names.en");
    create(&app, &admin, &json!({ "names": { "en": "Garden" }, "slugs": { "fr": "jardin" } }))
        .await
        .expect_invalid_field("slugs.fr");
    create(&app, &admin, &json!({ "names": { "en": "Garden" }, "slugs": { "en": "Not A Slug!" } }))
        .await
        .expect_invalid_field("slugs.en");
    let unknown_parent =
        json!({ "names": { "en": format!("Orphan {tag}") }, "parent_id": "01JD2Z8Q4Y6W3V5T7R9P1N3M5K" });
    create(&app, &admin, &unknown_parent).await.expect_invalid_field("parent_id");
    let bad_kind = json!({ "names": { "en": "Garden" }, "attributes": [{ "code": "x", "labels": { "en": "X" }, "kind": { "type": "colour" } }] });
    create(&app, &admin, &bad_kind).await.expect_error(400, "malformed_request");
    get(&app, "01JD2Z8Q4Y6W3V5T7R9P1N3M5K").await.expect_error(404, "not_found");
    get(&app, "not-an-id").await.expect_invalid_field("categoryId");

    let garden = create(&app, &admin, &body).await;
    garden.expect(201);
    // Slugs are unique per locale across the tree.
    create(&app, &admin, &body).await.expect_invalid_field("slugs.en");
}

#[tokio::test]
async fn a_category_never_moves_under_itself_or_below_and_two_crossing_moves_cannot_both_win() {
    let app = TestApp::new();
    let admin = app.admin().await;
    let tag = unique_tag();
    let named = |name: &str| json!({ "names": { "en": format!("{name} {tag}") } });
    let a = create(&app, &admin, &named("Alpha")).await.expect(201)["id"].as_str().unwrap().to_string();
    let b = create(&app, &admin, &named("Beta")).await.expect(201)["id"].as_str().unwrap().to_string();
    let child = create(&app, &admin, &json!({ "parent_id": a, "names": { "en": format!("Alpha child {tag}") } })).await;
    let child = child.expect(201)["id"].as_str().unwrap().to_string();

    update(&app, &admin, &a, &json!({ "parent_id": child })).await.expect_invalid_field("parent_id");
    update(&app, &admin, &a, &json!({ "parent_id": a })).await.expect_invalid_field("parent_id");

    // Alpha under Beta and Beta under Alpha at the same moment: one wins, the other sees the cycle.
    let (under_b, under_a) = (json!({ "parent_id": b }), json!({ "parent_id": a }));
    let (ab, ba) = tokio::join!(update(&app, &admin, &a, &under_b), update(&app, &admin, &b, &under_a));
    let mut statuses = [ab.status, ba.status];
    statuses.sort();
    assert_eq!(statuses, [200, 422], "exactly one move:\n{ab}\n{ba}");
    let (pa, pb) = (get(&app, &a).await.json["parent_id"].clone(), get(&app, &b).await.json["parent_id"].clone());
    assert!(!(pa == json!(b) && pb == json!(a)), "no cycle: {pa} {pb}");

    // The subtree moves with its root; `null` makes a category a root again.
    let moved = if ab.status == 200 { &a } else { &b };
    let read = get(&app, &child).await;
    assert_eq!(read.json["ancestors"].as_array().unwrap().len(), if moved == &a { 2 } else { 1 });
    update(&app, &admin, moved, &json!({ "parent_id": null })).await.expect(200);
    assert!(get(&app, moved).await.json.get("parent_id").is_none());
}

async fn size_category(app: &TestApp, admin: &TestUser) -> String {
    app.sized_category(admin).await
}

#[tokio::test]
async fn a_vendor_lists_a_product_with_two_variants_and_a_shopper_reads_it_published_in_french() {
    let app = TestApp::new();
    let (vendor, admin, rival) = tokio::join!(app.vendor_owner(), app.admin(), app.vendor_owner());
    let category = size_category(&app, &admin).await;
    let token = vendor.owner.token();
    let product = app
        .create_product(
            token,
            &vendor.id,
            &json!({
                "category_id": category, "title": "Merino crew jumper", "brand": "Northwind",
                "description": "Soft **merino**. <script>alert(1)</script>", "tags": ["Wool", "winter"],
                "attributes": { "material": "merino wool" }
            }),
        )
        .await;
    let product_id = product.expect(201)["id"].as_str().unwrap().to_string();
    assert_eq!(
        (product.json["status"].as_str(), product.json["slug"].as_str()),
        (Some("draft"), Some("merino-crew-jumper"))
    );
    assert_eq!(product.json["tags"], json!(["wool", "winter"]));

    // A draft is invisible to shoppers and to a rival vendor: 404 and 403, never its content.
    let public = format!("/products/{product_id}");
    app.request(Method::GET, &public, None, None, &[]).await.expect_error(404, "not_found");
    let theirs = format!("/vendors/{}/products/{product_id}", vendor.id);
    app.request(Method::GET, &theirs, Some(rival.owner.token()), None, &[]).await.expect_error(403, "forbidden");
    let via_rival = format!("/vendors/{}/products/{product_id}", rival.id);
    app.request(Method::GET, &via_rival, Some(rival.owner.token()), None, &[]).await.expect_error(404, "not_found");

    // Publishing needs a priced variant.
    let publish = json!({ "status": "published" });
    let status_path = format!("/vendors/{}/products/{product_id}/status", vendor.id);
    let early = app.request(Method::PUT, &status_path, Some(token), Some(&publish), &[]).await;
    early.expect_error(422, "not_ready");

    let sku = format!("JMP-{}", unique_tag());
    let medium = json!({ "sku": format!("{sku}-M"), "options": { "size": "m" }, "gtin": "4006381333931",
                         "prices": { "EUR": { "amount": 7900, "compare_at": 9900 }, "JPY": { "amount": 12000 } } });
    let m = app.create_variant(token, &vendor.id, &product_id, &medium).await;
    assert_eq!(m.expect(201)["sku"], format!("{sku}-M").to_uppercase());
    let small =
        json!({ "sku": format!("{sku}-S"), "options": { "size": "S" }, "prices": { "EUR": { "amount": 7500 } } });
    app.create_variant(token, &vendor.id, &product_id, &small).await.expect(201);
    app.request(
        Method::PUT,
        &format!("/vendors/{}/products/{product_id}/translations/fr", vendor.id),
        Some(token),
        Some(&json!({ "title": "Pull ras du cou en mérinos", "description": "Laine **mérinos** douce." })),
        &[],
    )
    .await
    .expect(200);
    let published = app.request(Method::PUT, &status_path, Some(token), Some(&publish), &[]).await;
    assert_eq!(published.expect(200)["status"], "published");
    assert!(published.json["published_at"].is_string());

    // A shopper asking for Canadian French gets French, says so, and sees EUR prices now.
    let headers = [("accept-language", "fr-CA,fr;q=0.9,en;q=0.5")];
    let seen = app.request(Method::GET, &format!("{public}?currency=EUR"), None, None, &headers).await;
    assert_eq!(seen.expect(200)["title"], "Pull ras du cou en mérinos");
    assert_eq!(seen.header("content-language"), Some("fr"));
    assert_eq!(seen.json["slug"], "pull-ras-du-cou-en-merinos");
    let prices: Vec<(String, i64)> = seen.json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["options"]["size"].as_str().unwrap().to_string(), v["price"].as_i64().unwrap()))
        .collect();
    assert_eq!(prices, [("m".to_string(), 7900), ("s".to_string(), 7500)], "enum codes stored canonically");
    // By slug: the French one in French, the product's own in its locale; a slug needs the vendor.
    let by_slug = format!("/products/pull-ras-du-cou-en-merinos?vendor={}", vendor.id);
    let seen = app.request(Method::GET, &by_slug, None, None, &[("accept-language", "fr")]).await;
    assert_eq!(seen.expect(200)["id"], product_id.as_str());
    let own = format!("/products/merino-crew-jumper?vendor={}", vendor.id);
    assert_eq!(app.request(Method::GET, &own, None, None, &[]).await.expect(200)["title"], "Merino crew jumper");
    let rivals = format!("/products/merino-crew-jumper?vendor={}", rival.id);
    app.request(Method::GET, &rivals, None, None, &[]).await.expect_error(404, "not_found");
    app.request(Method::GET, "/products/merino-crew-jumper", None, None, &[]).await.expect_invalid_field("vendor");
    let by_id_bad_vendor = format!("/products/{product_id}?vendor=not-a-vendor");
    app.request(Method::GET, &by_id_bad_vendor, None, None, &[]).await.expect_invalid_field("vendor");
    let by_id_other_vendor = format!("/products/{product_id}?vendor={}", rival.id);
    app.request(Method::GET, &by_id_other_vendor, None, None, &[]).await.expect_error(404, "not_found");
    // In English the description is rendered safely: emphasis kept, the script escaped.
    let english = app.request(Method::GET, &public, None, None, &[("accept-language", "en-GB")]).await;
    assert_eq!(english.expect(200)["title"], "Merino crew jumper");
    let html = english.json["description_html"].as_str().unwrap();
    assert!(html.contains("<strong>merino</strong>") && !html.contains("<script>"), "{html}");

    // Archived: gone from shoppers; it comes back only as a draft.
    let archive = json!({ "status": "archived" });
    app.request(Method::PUT, &status_path, Some(token), Some(&archive), &[]).await.expect(200);
    app.request(Method::GET, &public, None, None, &[]).await.expect_error(404, "not_found");
    app.request(Method::PUT, &status_path, Some(token), Some(&publish), &[])
        .await
        .expect_error(422, "invalid_transition");
}

#[tokio::test]
async fn variants_are_checked_against_the_category_and_their_claims_are_unique() {
    let app = TestApp::new();
    let (vendor, admin) = tokio::join!(app.vendor_owner(), app.admin());
    let category = size_category(&app, &admin).await;
    let token = vendor.owner.token();
    let product = app
        .create_product(
            token,
            &vendor.id,
            &json!({ "category_id": category, "title": "Jumper", "attributes": { "size": "m" } }),
        )
        .await;
    product.expect_invalid_field("attributes.size");
    let product = app
        .create_product(
            token,
            &vendor.id,
            &json!({ "category_id": category, "title": "Jumper", "attributes": { "colour": "red" } }),
        )
        .await;
    product.expect_invalid_field("attributes.colour");
    let product_id = app.draft_product(token, &vendor.id, &category).await;
    let sku = format!("V-{}", unique_tag());
    let variant = |size: &str, sku: &str, extra: Value| {
        let mut body = json!({ "sku": sku, "options": { "size": size }, "prices": { "EUR": { "amount": 1000 } } });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let add = async |body: Value| app.create_variant(token, &vendor.id, &product_id, &body).await;
    add(variant("xl", &sku, json!({}))).await.expect_invalid_field("options.size");
    add(json!({ "sku": sku, "prices": {} })).await.expect_invalid_field("options.size");
    add(variant("m", &sku, json!({ "gtin": "4006381333932" }))).await.expect_invalid_field("gtin");
    add(variant("m", &sku, json!({ "prices": { "EUR": { "amount": 0 } } })))
        .await
        .expect_invalid_field("prices.EUR.amount");
    add(variant("m", &sku, json!({ "prices": { "XYZ": { "amount": 10 } } }))).await.expect_invalid_field("prices.XYZ");
    add(variant("m", "bad sku!", json!({}))).await.expect_invalid_field("sku");
    let seen = app
        .request(Method::GET, &format!("/vendors/{}/products/{product_id}", vendor.id), Some(token), None, &[])
        .await;
    assert_eq!(seen.expect(200)["variants"], json!([]), "nothing was written");

    add(variant("m", &sku, json!({}))).await.expect(201);
    add(variant("s", &sku, json!({}))).await.expect_error(409, "sku_taken");
    add(variant("m", &format!("{sku}-2"), json!({}))).await.expect_error(409, "variant_exists");
    // The same SKU on two concurrent variants: exactly one is created.
    let (a, b) = tokio::join!(
        add(variant("s", &format!("{sku}-3"), json!({}))),
        add(variant("s", &format!("{sku}-3"), json!({})))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{a}\n{b}");
}

#[tokio::test]
async fn a_price_the_variant_lacks_is_converted_from_the_vendors_base_currency_and_says_so() {
    let app = TestApp::new();
    let (vendor, admin) = tokio::join!(app.vendor_owner(), app.admin());
    let token = vendor.owner.token();
    let profile = json!({ "base_currency": "EUR", "default_locale": "fr", "country": "fr" });
    let updated = app.update_vendor(token, &vendor.id, &profile).await;
    assert_eq!(updated.expect(200)["base_currency"], "EUR");
    assert_eq!((updated.json["default_locale"].as_str(), updated.json["country"].as_str()), (Some("fr"), Some("FR")));
    app.update_vendor(token, &vendor.id, &json!({ "base_currency": "EURO" }))
        .await
        .expect_invalid_field("base_currency");
    app.update_vendor(token, &vendor.id, &json!({ "default_locale": "french" }))
        .await
        .expect_invalid_field("default_locale");

    let category = app.plain_category(&admin).await;
    let product =
        app.create_product(token, &vendor.id, &json!({ "category_id": category, "title": "Tarte aux pommes" })).await;
    assert_eq!(product.expect(201)["locale"], "fr", "written in the vendor's default locale");
    let product_id = product.id();
    let variant = json!({ "sku": format!("TARTE-{}", unique_tag()), "prices": { "EUR": { "amount": 1999, "compare_at": 2499 }, "USD": { "amount": 2199 } } });
    app.create_variant(token, &vendor.id, &product_id, &variant).await.expect(201);
    let status = format!("/vendors/{}/products/{product_id}/status", vendor.id);
    app.request(Method::PUT, &status, Some(token), Some(&json!({ "status": "published" })), &[]).await.expect(200);

    let bad_rate = json!({ "base": "EUR", "rates": { "GBP": "-1" } });
    let refused = app.request(Method::PUT, "/admin/exchange-rates", Some(admin.token()), Some(&bad_rate), &[]).await;
    refused.expect_invalid_field("rates.GBP");
    let rates = json!({ "base": "EUR", "rates": { "GBP": "0.85", "USD": "1.08" } });
    let set = app.request(Method::PUT, "/admin/exchange-rates", Some(vendor.owner.token()), Some(&rates), &[]).await;
    set.expect_error(403, "forbidden");
    app.request(Method::PUT, "/admin/exchange-rates", Some(admin.token()), Some(&rates), &[]).await.expect(200);

    let public = format!("/products/{product_id}");
    let in_gbp = app.request(Method::GET, &format!("{public}?currency=GBP"), None, None, &[]).await;
    let v = &in_gbp.expect(200)["variants"][0];
    // 19.99 EUR × 0.85 = 16.9915 GBP → 1699 pence; 24.99 × 0.85 = 21.2415 → 2124.
    assert_eq!(
        (v["price"].as_i64(), v["compare_at"].as_i64(), v["currency"].as_str()),
        (Some(1699), Some(2124), Some("GBP"))
    );
    assert_eq!(v["converted_from"]["currency"], "EUR");
    assert_eq!(v["converted_from"]["price"], 1999);
    // A currency the variant has is its own price, not a conversion.
    let in_usd = app.request(Method::GET, &format!("{public}?currency=USD"), None, None, &[]).await;
    let v = &in_usd.expect(200)["variants"][0];
    assert_eq!(v["price"], 2199);
    assert!(v.get("converted_from").is_none(), "{v}");
    app.request(Method::GET, &format!("{public}?currency=euro"), None, None, &[])
        .await
        .expect_invalid_field("currency");
}
