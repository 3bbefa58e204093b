//! The signed-in user's profile and address book.

use futures_util::future::join_all;
use serde_json::{Value, json};
use stockyard_tests::{Method, TestApp};

#[tokio::test]
async fn my_profile_shows_who_i_am() {
    let app = TestApp::new();
    let user = app.customer().await;
    let resp = app.me(user.token()).await;
    let me = resp.expect(200);
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["email"], user.email.as_str());
    assert_eq!(me["roles"], json!(["customer"]));
    assert!(me.get("password_hash").is_none(), "{resp}");
}

#[tokio::test]
async fn changing_my_name_and_phone_is_kept_and_an_empty_phone_removes_it() {
    let app = TestApp::new();
    let user = app.customer().await;
    let resp = app.update_me(user.token(), &json!({ "name": "  Grace Hopper ", "phone": "+44 1632 960-961" })).await;
    let updated = resp.expect(200);
    assert_eq!(updated["name"], "Grace Hopper");
    assert_eq!(updated["phone"], "+441632960961");
    let me = app.me(user.token()).await;
    assert_eq!(me.expect(200)["phone"], "+441632960961");
    assert_eq!(me.json["name"], "Grace Hopper");

    // Absent fields stay as they are.
    let only_phone = app.update_me(user.token(), &json!({ "phone": "+15555550100" })).await;
    assert_eq!(only_phone.expect(200)["name"], "Grace Hopper");

    let removed = app.update_me(user.token(), &json!({ "phone": "" })).await;
    assert!(removed.expect(200).get("phone").is_none(), "{removed}");
    assert!(app.me(user.token()).await.json.get("phone").is_none());
}

#[tokio::test]
async fn an_invalid_profile_change_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::new();
    let user = app.customer().await;
    let cases = [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (json!({ "phone": "01632 960961" }), "phone"),
        (json!({ "phone": "+12" }), "phone"),
        (json!({ "name": "Fine", "phone": "call me" }), "phone"),
    ];
    for (body, field) in cases {
        let resp = app.update_me(user.token(), &body).await;
        resp.expect_error(422, "invalid_field");
        assert_eq!(resp.error_field(), Some(field), "{body} -> {resp}");
    }
    let unknown = app.update_me(user.token(), &json!({ "email": "new@example.com" })).await;
    unknown.expect_error(400, "malformed_request");
    assert_eq!(unknown.error_field(), Some("email"));
    let me = app.me(user.token()).await;
    assert_eq!(me.expect(200)["name"], user.name.as_str(), "nothing changed");
    assert_eq!(me.json["email"], user.email.as_str());
}

#[tokio::test]
async fn my_first_address_becomes_the_default_and_later_ones_do_not() {
    let app = TestApp::new();
    let user = app.customer().await;
    let first = app.create_address(user.token(), &TestApp::address_body("First")).await;
    let body = first.expect(201);
    assert_eq!(body["is_default"], true);
    assert_eq!(body["country"], "GB", "country upper-cased");
    assert_eq!(body["recipient"], "First");
    let second = app.create_address(user.token(), &TestApp::address_body("Second")).await;
    assert_eq!(second.expect(201)["is_default"], false);

    let list = app.list_addresses(user.token()).await;
    list.expect(200);
    let ids: Vec<&str> = list.items().iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, [first.id(), second.id()], "default first");
}

#[tokio::test]
async fn making_another_address_the_default_clears_the_old_default() {
    let app = TestApp::new();
    let user = app.customer().await;
    let a = app.create_address(user.token(), &TestApp::address_body("A")).await.id();
    let b = app.create_address(user.token(), &TestApp::address_body("B")).await.id();
    let mut c_body = TestApp::address_body("C");
    c_body["is_default"] = json!(true);
    let c = app.create_address(user.token(), &c_body).await;
    assert_eq!(c.expect(201)["is_default"], true);

    let defaults = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["is_default"] == true)
            .filter_map(|a| a["id"].as_str().map(String::from))
            .collect()
    };
    let list = app.list_addresses(user.token()).await;
    assert_eq!(defaults(list.expect(200)), [c.id()], "exactly one default: {list}");
    assert_eq!(list.items()[0]["id"], c.id().as_str(), "the default is listed first");

    // Switching back with an update.
    let mut a_body = TestApp::address_body("A again");
    a_body["is_default"] = json!(true);
    app.update_address(user.token(), &a, &a_body).await.expect(200);
    let list = app.list_addresses(user.token()).await;
    assert_eq!(defaults(list.expect(200)), std::slice::from_ref(&a), "{list}");
    assert_eq!(list.items().len(), 3);
    assert!(list.items().iter().any(|x| x["id"] == b.as_str()));
}

#[tokio::test]
async fn updating_an_address_replaces_its_fields_and_keeps_it_the_default() {
    let app = TestApp::new();
    let user = app.customer().await;
    let created = app.create_address(user.token(), &TestApp::address_body("Ada")).await;
    created.expect(201);
    let id = created.id();
    let body = json!({
        "label": "Work", "recipient": "Ada L.", "line1": "1 Infinite Loop", "line2": "Floor 2",
        "city": "Cupertino", "region": "CA", "postal_code": "95014", "country": "us", "phone": "+1 408 996 1010"
    });
    let resp = app.update_address(user.token(), &id, &body).await;
    let updated = resp.expect(200);
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["label"], "Work");
    assert_eq!(updated["city"], "Cupertino");
    assert_eq!(updated["country"], "US");
    assert_eq!(updated["phone"], "+14089961010");
    assert_eq!(updated["is_default"], true, "the default stays the default");
    assert_eq!(updated["created_at"], created.json["created_at"]);
    let list = app.list_addresses(user.token()).await;
    assert_eq!(list.expect(200)["items"][0]["line1"], "1 Infinite Loop");
    assert_eq!(list.items().len(), 1);
}

#[tokio::test]
async fn deleting_the_default_address_makes_the_oldest_remaining_one_the_default() {
    let app = TestApp::new();
    let user = app.customer().await;
    let first = app.create_address(user.token(), &TestApp::address_body("1")).await.id();
    let second = app.create_address(user.token(), &TestApp::address_body("2")).await.id();
    let third = app.create_address(user.token(), &TestApp::address_body("3")).await.id();
    app.delete_address(user.token(), &first).await.expect(204);
    let list = app.list_addresses(user.token()).await;
    list.expect(200);
    let remaining: Vec<(&str, bool)> =
        list.items().iter().map(|a| (a["id"].as_str().unwrap_or(""), a["is_default"] == true)).collect();
    assert_eq!(remaining, [(second.as_str(), true), (third.as_str(), false)], "{list}");

    // Deleting a non-default address leaves the default alone.
    app.delete_address(user.token(), &third).await.expect(204);
    let list = app.list_addresses(user.token()).await;
    list.expect(200);
    assert_eq!(list.items().len(), 1, "{list}");
    assert_eq!(list.items()[0]["id"], second.as_str());
    assert_eq!(list.items()[0]["is_default"], true);

    app.delete_address(user.token(), &second).await.expect(204);
    assert!(app.list_addresses(user.token()).await.items().is_empty());
    app.delete_address(user.token(), &second).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn another_users_address_is_not_found_for_me_and_stays_unchanged() {
    let app = TestApp::new();
    let owner = app.customer().await;
    let intruder = app.customer().await;
    let id = app.create_address(owner.token(), &TestApp::address_body("Owner")).await.id();

    app.update_address(intruder.token(), &id, &TestApp::address_body("Intruder")).await.expect_error(404, "not_found");
    app.delete_address(intruder.token(), &id).await.expect_error(404, "not_found");
    assert!(app.list_addresses(intruder.token()).await.items().is_empty());

    let list = app.list_addresses(owner.token()).await;
    assert_eq!(list.expect(200)["items"][0]["recipient"], "Owner");
    assert_eq!(list.items().len(), 1);
}

#[tokio::test]
async fn an_address_id_that_is_not_an_id_is_an_invalid_field() {
    let app = TestApp::new();
    let user = app.customer().await;
    let resp = app.delete_address(user.token(), "not-an-id").await;
    resp.expect_invalid_field("addressId");
}

#[tokio::test]
async fn each_invalid_address_field_is_refused_naming_it() {
    let app = TestApp::new();
    let user = app.customer().await;
    let with = |field: &str, value: Value| {
        let mut body = TestApp::address_body("Ada");
        body[field] = value;
        body
    };
    let cases = [
        (with("recipient", json!(" ")), "recipient"),
        (with("line1", json!("")), "line1"),
        (with("city", json!("c".repeat(101))), "city"),
        (with("postal_code", json!("p".repeat(21))), "postal_code"),
        (with("country", json!("XX")), "country"),
        (with("country", json!("GBR")), "country"),
        (with("phone", json!("12345")), "phone"),
        (with("label", json!("l".repeat(41))), "label"),
    ];
    for (body, field) in cases {
        let resp = app.create_address(user.token(), &body).await;
        resp.expect_error(422, "invalid_field");
        assert_eq!(resp.error_field(), Some(field), "{body} -> {resp}");
    }
    let unknown = app.create_address(user.token(), &with("street", json!("x"))).await;
    unknown.expect_error(400, "malformed_request");
    assert_eq!(unknown.error_field(), Some("street"));
    let mut missing = TestApp::address_body("Ada");
    let fields = missing.as_object_mut().expect("an address body is a JSON object");
    assert!(fields.remove("city").is_some(), "the valid body has a city to leave out");
    let missing = app.create_address(user.token(), &missing).await;
    missing.expect_error(400, "malformed_request");
    assert_eq!(missing.error_field(), Some("city"));
    assert!(app.list_addresses(user.token()).await.items().is_empty(), "nothing was created");
}

#[tokio::test]
async fn an_address_book_holds_at_most_twenty_addresses() {
    let app = TestApp::new();
    let user = app.customer().await;
    for i in 0..20 {
        app.create_address(user.token(), &TestApp::address_body(&format!("Recipient {i}"))).await.expect(201);
    }
    let resp = app.create_address(user.token(), &TestApp::address_body("One too many")).await;
    resp.expect_error(422, "too_many_addresses");
    assert_eq!(app.list_addresses(user.token()).await.items().len(), 20);
}

#[tokio::test]
async fn a_retried_address_creation_with_the_same_idempotency_key_creates_one_address() {
    let app = TestApp::new();
    let user = app.customer().await;
    let key = stockyard_tests::unique_tag();
    let body = TestApp::address_body("Once");
    let headers = [("idempotency-key", key.as_str())];
    let first = app.request(Method::POST, "/me/addresses", Some(user.token()), Some(&body), &headers).await;
    first.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app.request(Method::POST, "/me/addresses", Some(user.token()), Some(&body), &headers).await;
    assert_eq!(again.expect(201), &first.json, "the first response is replayed");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.list_addresses(user.token()).await.items().len(), 1);

    let other = TestApp::address_body("Something else");
    let reused = app.request(Method::POST, "/me/addresses", Some(user.token()), Some(&other), &headers).await;
    reused.expect_error(422, "idempotency_key_reused");
    assert_eq!(app.list_addresses(user.token()).await.items().len(), 1);

    // Keys are scoped to the caller: another user's same key is a new request.
    let stranger = app.customer().await;
    let theirs = app.request(Method::POST, "/me/addresses", Some(stranger.token()), Some(&body), &headers).await;
    theirs.expect(201);
    assert_ne!(theirs.id(), first.id());
    assert_eq!(theirs.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn five_concurrent_address_creations_with_one_idempotency_key_create_one_address() {
    let app = TestApp::new();
    let user = app.customer().await;
    let key = stockyard_tests::unique_tag();
    let body = TestApp::address_body("Concurrent");
    let headers = [("idempotency-key", key.as_str())];
    let call = || app.request(Method::POST, "/me/addresses", Some(user.token()), Some(&body), &headers);
    let (a, b, c, d, e) = tokio::join!(call(), call(), call(), call(), call());
    let all = [a, b, c, d, e];
    let described = all.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n");
    assert!(all.iter().all(|r| r.status == 201), "every caller gets the one response:\n{described}");
    assert!(all.iter().all(|r| r.json == all[0].json), "the same address for all:\n{described}");
    let list = app.list_addresses(user.token()).await;
    assert_eq!(list.items().len(), 1, "{list}");
}

#[tokio::test]
async fn concurrent_new_default_addresses_leave_exactly_one_default() {
    let app = TestApp::new();
    let user = app.customer().await;
    app.create_address(user.token(), &TestApp::address_body("Existing")).await.expect(201);
    let creates = (0..4).map(|i| {
        let mut body = TestApp::address_body(&format!("Concurrent default {i}"));
        body["is_default"] = json!(true);
        let (app, token) = (&app, user.token().to_string());
        async move { app.create_address(&token, &body).await }
    });
    let answers = join_all(creates).await;
    for answer in &answers {
        answer.expect(201);
    }
    let list = app.list_addresses(user.token()).await;
    let defaults: Vec<&Value> =
        list.expect(200)["items"].as_array().unwrap().iter().filter(|a| a["is_default"] == true).collect();
    assert_eq!(defaults.len(), 1, "exactly one default after concurrent creates: {list}");
    assert_eq!(list.items().len(), 5);
    assert_eq!(list.items()[0]["is_default"], true, "the default is listed first");
}

#[tokio::test]
async fn concurrent_additions_never_take_an_address_book_past_twenty() {
    let app = TestApp::new();
    let user = app.customer().await;
    for i in 0..18 {
        app.create_address(user.token(), &TestApp::address_body(&format!("Recipient {i}"))).await.expect(201);
    }
    let creates = (0..4).map(|i| {
        let body = TestApp::address_body(&format!("Racing {i}"));
        let (app, token) = (&app, user.token().to_string());
        async move { app.create_address(&token, &body).await }
    });
    let answers = join_all(creates).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers.iter().filter(|a| a.status == 422 && a.error_code() == Some("too_many_addresses")).count();
    assert_eq!((created, refused), (2, 2), "two fit, two are refused: {answers:?}");
    assert_eq!(app.list_addresses(user.token()).await.items().len(), 20);
}
