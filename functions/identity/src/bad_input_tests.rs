//! Handlers answer bad input with a 4xx naming the field before they touch the store.
//! The store client here points at a port where nothing listens: any store call would
//! turn the answer into a 500, so a 4xx proves nothing was read or written.

use crate::AuthDeps;
use crate::handlers::{addresses, api_keys, auth, profile, recovery, vendors};
use lambda_http::Request;
use serde_json::Value;
use stockyard_http::ApiDeps;
use stockyard_http::serve::handle;
use stockyard_testkit::{self as testing, error_of};

fn api() -> ApiDeps {
    testing::unreachable_api_deps()
}

fn auth_deps() -> AuthDeps {
    AuthDeps { api: api(), issuer: Some(testing::issuer()), admin: None, links: testing::link_verifier() }
}

fn token() -> String {
    testing::customer_token("ada@example.com")
}

fn request(method: &str, path: &str, body: &str, bearer: Option<&str>) -> Request {
    testing::request(method, path, Value::Null, Value::Null, Some(body), bearer)
}

#[tokio::test]
async fn registering_with_an_invalid_email_is_refused_naming_the_field() {
    let req = request(
        "POST",
        "/auth/register",
        r#"{"email":"not-an-email","password":"correct horse battery","name":"Ada"}"#,
        None,
    );
    let deps = auth_deps();
    let resp = handle(req, |r| auth::register(&deps, r)).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "email");
}

#[tokio::test]
async fn registering_with_a_weak_password_is_refused_naming_the_field() {
    let req = request("POST", "/auth/register", r#"{"email":"ada@example.com","password":"short","name":"Ada"}"#, None);
    let deps = auth_deps();
    let resp = handle(req, |r| auth::register(&deps, r)).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "password");
}

#[tokio::test]
async fn an_unknown_field_in_a_body_is_a_malformed_request_naming_it() {
    let body = r#"{"email":"ada@example.com","password":"correct horse battery","name":"Ada","roles":["admin"]}"#;
    let deps = auth_deps();
    let resp = handle(request("POST", "/auth/register", body, None), |r| auth::register(&deps, r)).await;
    assert_eq!(resp.status(), 400);
    let error = error_of(&resp);
    assert_eq!(error["code"], "malformed_request");
    assert_eq!(error["field"], "roles");
}

#[tokio::test]
async fn an_address_with_an_unknown_country_is_refused_naming_the_field() {
    let body = r#"{"recipient":"Ada","line1":"1 Main St","city":"London","postal_code":"N1","country":"XX"}"#;
    let deps = api();
    let resp =
        handle(request("POST", "/me/addresses", body, Some(&token())), |r| addresses::create_address(&deps, r)).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "country");
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthorized_before_anything_is_read() {
    let deps = api();
    let resp =
        handle(request("POST", "/vendors", r#"{"name":"Green Valley"}"#, None), |r| vendors::create_vendor(&deps, r))
            .await;
    assert_eq!(resp.status(), 401);
    assert_eq!(error_of(&resp)["code"], "unauthorized");
}

#[tokio::test]
async fn a_vendor_name_that_is_too_short_is_refused_naming_the_field() {
    let deps = api();
    let resp =
        handle(request("POST", "/vendors", r#"{"name":" x "}"#, Some(&token())), |r| vendors::create_vendor(&deps, r))
            .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "name");
}

#[tokio::test]
async fn the_store_being_unreachable_is_a_500_that_hides_the_cause() {
    let body = r#"{"email":"ada@example.com","password":"correct horse battery"}"#;
    let deps = auth_deps();
    let resp = handle(request("POST", "/auth/login", body, None), |r| auth::login(&deps, r)).await;
    assert_eq!(resp.status(), 500);
    let error = error_of(&resp);
    assert_eq!(error["code"], "internal_error");
    assert!(!error["message"].as_str().unwrap().contains("127.0.0.1"));
}

#[tokio::test]
async fn account_links_that_are_not_links_are_refused_before_the_store_is_read() {
    let deps = auth_deps();
    let forged = r#"{"token":"eyJhbGciOiJFZERTQSJ9.e30.c2ln"}"#;
    let access_token = format!(r#"{{"token":"{}"}}"#, token());
    for body in [forged, r#"{"token":""}"#, access_token.as_str()] {
        let verify =
            handle(request("POST", "/auth/email/verify", body, None), |r| recovery::verify_email(&deps, r)).await;
        assert_eq!((verify.status().as_u16(), error_of(&verify)["code"].as_str()), (422, Some("invalid_link")));
        let confirm =
            handle(request("POST", "/auth/email/confirm", body, None), |r| recovery::confirm_email_change(&deps, r))
                .await;
        assert_eq!(confirm.status(), 422);
    }
    let reset = r#"{"token":"eyJhbGciOiJFZERTQSJ9.e30.c2ln","password":"a much better passphrase"}"#;
    let resp =
        handle(request("POST", "/auth/password/reset", reset, None), |r| recovery::reset_password(&deps, r)).await;
    assert_eq!((resp.status().as_u16(), error_of(&resp)["field"].as_str()), (422, Some("token")));
}

#[tokio::test]
async fn a_password_reset_for_an_invalid_address_is_refused_naming_the_field() {
    let deps = auth_deps();
    let resp = handle(request("POST", "/auth/password/forgot", r#"{"email":"nobody"}"#, None), |r| {
        recovery::forgot_password(&deps, r)
    })
    .await;
    assert_eq!((resp.status().as_u16(), error_of(&resp)["field"].as_str()), (422, Some("email")));
}

#[tokio::test]
async fn changing_the_password_or_address_needs_a_signed_in_caller_and_a_well_formed_body() {
    let deps = auth_deps();
    let body = r#"{"current_password":"x","password":"a much better passphrase"}"#;
    let anonymous = handle(request("POST", "/me/password", body, None), |r| recovery::change_password(&deps, r)).await;
    assert_eq!(anonymous.status(), 401);
    let missing = r#"{"current_password":"","password":"a much better passphrase"}"#;
    let resp =
        handle(request("POST", "/me/password", missing, Some(&token())), |r| recovery::change_password(&deps, r)).await;
    assert_eq!((resp.status().as_u16(), error_of(&resp)["field"].as_str()), (422, Some("current_password")));
    let bad_email = r#"{"email":"nope","password":"x"}"#;
    let resp =
        handle(request("POST", "/me/email", bad_email, Some(&token())), |r| recovery::request_email_change(&deps, r))
            .await;
    assert_eq!((resp.status().as_u16(), error_of(&resp)["field"].as_str()), (422, Some("email")));
}

#[tokio::test]
async fn an_api_key_request_with_permissions_its_scope_cannot_hold_is_refused_before_anything_is_read() {
    let deps = api();
    let params = serde_json::json!({ "vendorId": "01JBZ4W9Q6T3M8K2R5X7N1C0VD" });
    for (body, field) in [
        (
            r#"{"name":"Till","scope":{"kind":"location","location_id":"01JBZ4W9Q6T3M8K2R5X7N1C0QC"},"permissions":["channel_sales"]}"#,
            "permissions[0]",
        ),
        (r#"{"name":"Till","scope":{"kind":"vendor"},"permissions":[]}"#, "permissions"),
        (r#"{"name":"","scope":{"kind":"vendor"},"permissions":["scan_sell"]}"#, "name"),
    ] {
        let req = testing::request(
            "POST",
            "/vendors/{vendorId}/api-keys",
            params.clone(),
            Value::Null,
            Some(body),
            Some(&token()),
        );
        let resp = handle(req, |r| api_keys::create_api_key(&deps, r)).await;
        assert_eq!(resp.status(), 422, "{body}");
        assert_eq!(error_of(&resp)["field"], field);
    }
}

#[tokio::test]
async fn an_api_key_is_no_person_and_is_refused_on_a_persons_route_before_anything_is_read() {
    let key = stockyard_http::api_keys::ApiKeyToken::generate().unwrap().reveal();
    let deps = api();
    let resp = handle(request("GET", "/me", "", Some(&key)), |r| profile::get_profile(&deps, r)).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(error_of(&resp)["code"], "forbidden");
}
