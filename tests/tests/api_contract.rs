//! The contract every endpoint shares: the error shape, unknown routes, lists and their
//! parameters, idempotency keys, and the OpenAPI document served by the API.

use serde_json::json;
use stockyard_tests::{Method, PASSWORD, TestApp, unique_email, unique_tag};

#[tokio::test]
async fn every_error_names_its_code_message_and_request_id() {
    let app = TestApp::new();
    let user = app.customer().await;
    let errors = [
        app.request_raw(Method::POST, "/auth/register", None, Some("{".into()), &[]).await,
        app.register(&json!({ "email": "nope", "password": PASSWORD, "name": "A" })).await,
        app.login(&unique_email(), PASSWORD).await,
        app.request(Method::GET, "/me", None, None, &[]).await,
        app.list_users(user.token(), "").await,
        app.delete_address(user.token(), &ulid::Ulid::new().to_string()).await,
        app.register(&json!({ "email": user.email, "password": PASSWORD, "name": "A" })).await,
        app.request(Method::GET, "/definitely/not/a/route", None, None, &[]).await,
    ];
    let mut request_ids = std::collections::HashSet::new();
    for resp in &errors {
        assert!(resp.status >= 400, "{resp}");
        resp.assert_error_shape();
        assert!(resp.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{resp:?}");
        let id = resp.json["error"]["request_id"].as_str().unwrap_or_default().to_string();
        let header = resp.header("apigw-requestid").unwrap_or_else(|| panic!("no apigw-requestid header: {resp:?}"));
        assert_eq!(header, id, "the body's request id is the gateway's: {resp}");
        request_ids.insert(id);
    }
    assert_eq!(request_ids.len(), errors.len(), "each request has its own id");
    assert_eq!(errors[1].error_field(), Some("email"));
    assert_eq!(errors[3].error_field(), None, "no field when no field is at fault");
}

#[tokio::test]
async fn an_unknown_route_is_404_route_not_found() {
    let app = TestApp::new();
    let user = app.customer().await;
    for (method, path) in [
        (Method::GET, "/nowhere"),
        (Method::POST, "/vendors/01JD2Z8Q4Y6W3V5T7R9P1N3M5K/nothing"),
        (Method::GET, "/me/addresses/01JD2Z8Q4Y6W3V5T7R9P1N3M5K/extra"),
    ] {
        let resp = app.request(method, path, Some(user.token()), None, &[]).await;
        resp.expect_error(404, "route_not_found");
    }
}

#[tokio::test]
async fn a_method_a_served_path_does_not_take_is_405_with_the_methods_it_takes() {
    let app = TestApp::new();
    let user = app.customer().await;
    for (method, path, allowed) in [
        (Method::GET, "/auth/register", "POST"),
        (Method::DELETE, "/me", "GET, PATCH"),
        (Method::PUT, "/vendors/01JD2Z8Q4Y6W3V5T7R9P1N3M5K", "GET, PATCH"),
        (Method::TRACE, "/me/addresses", "GET, POST"),
    ] {
        let resp = app.request(method.clone(), path, Some(user.token()), None, &[]).await;
        resp.expect_error(405, "method_not_allowed");
        assert_eq!(resp.header("allow"), Some(allowed), "{method} {path}: {resp}");
    }
}

#[tokio::test]
async fn lists_answer_items_and_a_next_cursor_and_refuse_bad_paging_parameters() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let token = vendor.owner.token();
    let staff = app.list_staff(token, &vendor.id).await;
    assert!(staff.expect(200)["items"].is_array() && staff.json.get("next_cursor").is_some(), "{staff}");
    assert!(staff.json["next_cursor"].is_null(), "one page only: {staff}");

    let base = format!("/vendors/{}/locations", vendor.id);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("order=sideways", "order"),
        ("cursor=not-a-cursor", "cursor"),
    ] {
        let resp = app.request(Method::GET, &format!("{base}?{query}"), Some(token), None, &[]).await;
        resp.expect_error(422, "invalid_field");
        assert_eq!(resp.error_field(), Some(field), "{resp}");
    }

    // A cursor is only good for the list that issued it.
    for _ in 0..2 {
        app.create_location(token, &vendor.id, &TestApp::location_body()).await.expect(201);
    }
    let first = app.request(Method::GET, &format!("{base}?limit=1"), Some(token), None, &[]).await;
    first.expect(200);
    let cursor = first.next_cursor().unwrap_or_else(|| panic!("a next cursor: {first}"));
    let second = app.request(Method::GET, &format!("{base}?limit=1&cursor={cursor}"), Some(token), None, &[]).await;
    assert_ne!(second.expect(200)["items"][0]["id"], first.json["items"][0]["id"]);
    let other = app.vendor_owner().await;
    let foreign = app
        .request(
            Method::GET,
            &format!("/vendors/{}/locations?cursor={cursor}", other.id),
            Some(other.owner.token()),
            None,
            &[],
        )
        .await;
    foreign.expect_invalid_field("cursor");
}

#[tokio::test]
async fn a_retried_registration_with_the_same_idempotency_key_replays_the_first_response() {
    let app = TestApp::new();
    let email = unique_email();
    let key = unique_tag();
    let headers = [("idempotency-key", key.as_str())];
    let body = json!({ "email": email, "password": PASSWORD, "name": "Ada" });
    let first = app.request(Method::POST, "/auth/register", None, Some(&body), &headers).await;
    first.expect(201);
    let again = app.request(Method::POST, "/auth/register", None, Some(&body), &headers).await;
    assert_eq!(again.expect(201), &first.json);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let changed = json!({ "email": email, "password": PASSWORD, "name": "Someone else" });
    let reused = app.request(Method::POST, "/auth/register", None, Some(&changed), &headers).await;
    reused.expect_error(422, "idempotency_key_reused");
    assert_eq!(reused.error_field(), Some("Idempotency-Key"));
    let user = app.sign_in(&email, PASSWORD).await;
    assert_eq!(user.id, first.id());
    assert_eq!(user.name, "Ada");
}

#[tokio::test]
async fn five_concurrent_registrations_with_one_idempotency_key_create_one_account() {
    let app = TestApp::new();
    let email = unique_email();
    let key = unique_tag();
    let headers = [("idempotency-key", key.as_str())];
    let body = json!({ "email": email, "password": PASSWORD, "name": "Ada" });
    let call = || app.request(Method::POST, "/auth/register", None, Some(&body), &headers);
    let (a, b, c, d, e) = tokio::join!(call(), call(), call(), call(), call());
    let all = [a, b, c, d, e];
    let described = all.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n");
    let created: Vec<&str> = all.iter().filter(|r| r.status == 201).filter_map(|r| r.json["id"].as_str()).collect();
    assert!(!created.is_empty() && created.iter().all(|id| *id == created[0]), "one account:\n{described}");
    let admin = app.admin().await;
    let users = app.all_pages(admin.token(), &format!("/admin/users?limit=100&email={email}")).await;
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(app.sign_in(&email, PASSWORD).await.id, created[0]);
    // The contract: a request repeated with the same key and body gets the first response.
    assert!(
        all.iter().all(|r| r.status == 201 && r.json == all[0].json),
        "every caller gets the one response:\n{described}"
    );
}

#[tokio::test]
async fn an_idempotency_key_must_be_short_visible_ascii() {
    let app = TestApp::new();
    let user = app.customer().await;
    let long = "k".repeat(129);
    let resp = app
        .request(
            Method::POST,
            "/me/addresses",
            Some(user.token()),
            Some(&TestApp::address_body("A")),
            &[("idempotency-key", &long)],
        )
        .await;
    resp.expect_invalid_field("Idempotency-Key");
    assert!(app.list_addresses(user.token()).await.items().is_empty());
}

#[tokio::test]
async fn the_api_serves_its_openapi_document() {
    let app = TestApp::new();
    let resp = app.request(Method::GET, "/openapi.json", None, None, &[]).await;
    let doc = resp.expect(200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    let built = serde_json::to_value(stockyard_apidocs::document()).expect("the document serialises");
    assert_eq!(doc["paths"], built["paths"], "the served document is the one in the code");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn a_body_that_is_not_exactly_one_json_object_is_refused_and_changes_nothing() {
    let app = TestApp::new();
    let user = app.customer().await;
    for body in [r#"["Renamed", null]"#, r#"{"name":"Renamed"} garbage"#, r#"{"name":"Renamed"}{"name":"Other"}"#, "42"]
    {
        let resp = app.request_raw(Method::PATCH, "/me", Some(user.token()), Some(body.into()), &[]).await;
        resp.expect_error(400, "malformed_request");
    }
    let vendor = app.vendor_owner().await;
    let resp = app
        .request_raw(
            Method::PATCH,
            &format!("/vendors/{}", vendor.id),
            Some(vendor.owner.token()),
            Some(r#"["Renamed", null]"#.into()),
            &[],
        )
        .await;
    resp.expect_error(400, "malformed_request");
    assert_eq!(app.me(user.token()).await.expect(200)["name"], "Casey Customer", "nothing was renamed");
    assert_eq!(app.get_vendor(vendor.owner.token(), &vendor.id).await.expect(200)["name"], vendor.name.as_str());
}

#[tokio::test]
async fn a_json_body_sent_as_another_media_type_is_415_and_changes_nothing() {
    let app = TestApp::new();
    let user = app.customer().await;
    let body = r#"{"name":"Renamed"}"#;
    for content_type in
        ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x", ""]
    {
        let resp = app
            .request_raw(Method::PATCH, "/me", Some(user.token()), Some(body.into()), &[("content-type", content_type)])
            .await;
        resp.expect_error(415, "unsupported_media_type");
    }
    assert_eq!(app.me(user.token()).await.expect(200)["name"], "Casey Customer");
    let ok = app
        .request_raw(
            Method::PATCH,
            "/me",
            Some(user.token()),
            Some(body.into()),
            &[("content-type", "application/json; charset=utf-8")],
        )
        .await;
    assert_eq!(ok.expect(200)["name"], "Renamed");
}

#[tokio::test]
async fn names_with_invisible_formatting_characters_are_refused() {
    let app = TestApp::new();
    let user = app.customer().await;
    for name in ["Ada\u{202E}gnp.exe", "A\u{200B}da", "\u{FEFF}Ada"] {
        let resp = app.update_me(user.token(), &json!({ "name": name })).await;
        resp.expect_invalid_field("name");
    }
    let resp = app.register(&json!({ "email": unique_email(), "password": PASSWORD, "name": "Mallory\u{202E}" })).await;
    resp.expect_invalid_field("name");
}

#[tokio::test]
async fn an_empty_limit_is_refused_like_any_other_invalid_limit() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let resp = app
        .request(Method::GET, &format!("/vendors/{}/staff?limit=", vendor.id), Some(vendor.owner.token()), None, &[])
        .await;
    resp.expect_invalid_field("limit");
}
