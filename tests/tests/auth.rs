//! Accounts and sessions: registering, signing in, refreshing, revoking, and refusing bad tokens.

use serde_json::{Value, json};
use stockyard_tests::{PASSWORD, TestApp, tokens, unique_email};

fn registration(email: &str) -> Value {
    json!({ "email": email, "password": PASSWORD, "name": "Ada Lovelace" })
}

#[tokio::test]
async fn registering_answers_201_with_the_new_user_and_no_secrets() {
    let app = TestApp::new();
    let email = unique_email();
    let resp = app.register(&json!({ "email": format!("  {}  ", email.to_uppercase()), "password": PASSWORD, "name": "  Ada Lovelace " })).await;
    let user = resp.expect(201);
    assert!(user["id"].as_str().is_some_and(|id| id.len() == 26), "{resp}");
    assert_eq!(user["email"], email.as_str(), "the email is trimmed and lower-cased");
    assert_eq!(user["name"], "Ada Lovelace", "the name is trimmed");
    assert_eq!(user["roles"], json!(["customer"]));
    assert!(user["created_at"].is_string() && user["updated_at"].is_string(), "{resp}");
    for absent in ["password", "password_hash", "vendor_id", "vendor_role", "phone"] {
        assert!(user.get(absent).is_none(), "{absent} must not be in {resp}");
    }
    assert!(resp.header("content-type").is_some_and(|c| c.starts_with("application/json")), "{resp:?}");
}

#[tokio::test]
async fn a_registered_user_can_sign_in_and_gets_a_token_pair() {
    let app = TestApp::new();
    let email = unique_email();
    let id = app.register(&registration(&email)).await.id();
    let resp = app.login(&email.to_uppercase(), PASSWORD).await;
    let body = resp.expect(200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 30 * 24 * 3600);
    assert_eq!(body["user"]["id"], id.as_str());
    let claims = tokens::peek(body["access_token"].as_str().expect("an access token"));
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["email"], email.as_str());
    assert_eq!(claims["aud"], tokens::audience());
    assert_eq!(claims["iss"], tokens::ISSUER);
    let me = app.me(body["access_token"].as_str().unwrap_or_default()).await;
    assert_eq!(me.expect(200)["id"], id.as_str());
}

#[tokio::test]
async fn an_email_already_registered_in_any_case_is_refused_with_email_taken() {
    let app = TestApp::new();
    let email = unique_email();
    app.register(&registration(&email)).await.expect(201);
    for variant in [email.clone(), email.to_uppercase(), format!(" {email} ")] {
        let resp = app.register(&registration(&variant)).await;
        resp.expect_error(409, "email_taken");
        assert_eq!(resp.error_field(), Some("email"), "{resp}");
    }
}

#[tokio::test]
async fn each_invalid_registration_field_is_refused_with_422_naming_it() {
    let app = TestApp::new();
    let email = unique_email();
    let cases = [
        (json!({ "email": "not-an-email", "password": PASSWORD, "name": "Ada" }), "email"),
        (json!({ "email": "ada@nodot", "password": PASSWORD, "name": "Ada" }), "email"),
        (json!({ "email": "", "password": PASSWORD, "name": "Ada" }), "email"),
        (json!({ "email": email, "password": "short", "name": "Ada" }), "password"),
        (json!({ "email": email, "password": "aaaaaaaaaaaaaaa", "name": "Ada" }), "password"),
        (json!({ "email": email, "password": "x1".repeat(65), "name": "Ada" }), "password"),
        (json!({ "email": email, "password": email, "name": "Ada" }), "password"),
        (json!({ "email": email, "password": PASSWORD, "name": "   " }), "name"),
        (json!({ "email": email, "password": PASSWORD, "name": "n".repeat(101) }), "name"),
        (json!({ "email": email, "password": PASSWORD, "name": "bell\u{0007}" }), "name"),
    ];
    for (body, field) in cases {
        let resp = app.register(&body).await;
        resp.expect_error(422, "invalid_field");
        assert_eq!(resp.error_field(), Some(field), "{body} -> {resp}");
    }
    // None of them created the account: the email is still free.
    app.login(&email, PASSWORD).await.expect_error(401, "unauthorized");
    app.register(&registration(&email)).await.expect(201);
}

#[tokio::test]
async fn malformed_registration_bodies_are_refused_with_400_naming_the_field() {
    let app = TestApp::new();
    let email = unique_email();
    let cases = [
        (json!({ "email": email, "password": PASSWORD, "name": "Ada", "admin": true }).to_string(), Some("admin")),
        (json!({ "email": email, "password": PASSWORD }).to_string(), Some("name")),
        (json!({ "email": email, "password": PASSWORD, "name": 42 }).to_string(), Some("name")),
        (json!({ "email": email, "password": ["x"], "name": "Ada" }).to_string(), Some("password")),
        ("{\"email\": ".to_string(), None),
        ("not json at all".to_string(), None),
        ("[]".to_string(), None),
    ];
    for (body, field) in cases {
        let resp =
            app.request_raw(stockyard_tests::Method::POST, "/auth/register", None, Some(body.clone()), &[]).await;
        resp.expect_error(400, "malformed_request");
        if let Some(field) = field {
            assert_eq!(resp.error_field(), Some(field), "{body} -> {resp}");
        }
    }
    let empty = app.request(stockyard_tests::Method::POST, "/auth/register", None, None, &[]).await;
    empty.expect_error(400, "malformed_request");
    // Nothing was created by any of them.
    app.login(&email, PASSWORD).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_wrong_password_or_an_unknown_email_is_refused_with_401() {
    let app = TestApp::new();
    let user = app.customer().await;
    let wrong = app.login(&user.email, "not the right password").await;
    wrong.expect_error(401, "unauthorized");
    let unknown = app.login(&unique_email(), PASSWORD).await;
    unknown.expect_error(401, "unauthorized");
    assert_eq!(wrong.json["error"]["message"], unknown.json["error"]["message"], "no hint which part was wrong");
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_and_issues_a_working_access_token() {
    let app = TestApp::new();
    let user = app.customer().await;
    let resp = app.refresh(&user.refresh_token).await;
    let pair = resp.expect(200);
    let (access, refresh) = (resp.str("/access_token"), resp.str("/refresh_token"));
    assert_ne!(refresh, user.refresh_token, "a new refresh token every time");
    assert_ne!(access, user.access_token);
    assert_eq!(pair["user"]["id"], user.id.as_str());
    app.me(&access).await.expect(200);
    // The new refresh token works in turn.
    app.refresh(&refresh).await.expect(200);
}

#[tokio::test]
async fn a_used_refresh_token_presented_again_revokes_the_session() {
    let app = TestApp::new();
    let user = app.customer().await;
    let newer = app.refresh(&user.refresh_token).await;
    newer.expect(200);
    let newer = newer.str("/refresh_token");

    app.refresh(&user.refresh_token).await.expect_error(401, "unauthorized");
    // The thief's reuse signed the whole session out: the legitimate newer token is dead too.
    app.refresh(&newer).await.expect_error(401, "unauthorized");

    // Another session of the same user is untouched.
    let other_session = app.relogin(&user).await;
    app.refresh(&other_session.refresh_token).await.expect(200);
}

#[tokio::test]
async fn a_revoked_session_can_no_longer_be_refreshed() {
    let app = TestApp::new();
    let user = app.customer().await;
    let resp = app.revoke(&user.refresh_token).await;
    resp.expect(204);
    app.refresh(&user.refresh_token).await.expect_error(401, "unauthorized");
    // Revoking something unknown also answers 204 (nothing to learn from it).
    app.revoke("not-a-refresh-token").await.expect(204);
    app.refresh("not-a-refresh-token").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_blank_refresh_token_is_an_invalid_field() {
    let app = TestApp::new();
    let resp = app.refresh("  ").await;
    resp.expect_invalid_field("refresh_token");
}

#[tokio::test]
async fn five_parallel_refreshes_of_one_token_succeed_exactly_once() {
    let app = TestApp::new();
    let user = app.customer().await;
    let t = user.refresh_token.as_str();
    let (a, b, c, d, e) = tokio::join!(app.refresh(t), app.refresh(t), app.refresh(t), app.refresh(t), app.refresh(t));
    let all = [a, b, c, d, e];
    let ok = all.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "exactly one refresh wins: {}", all.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n"));
    for resp in all.iter().filter(|r| r.status != 200) {
        resp.expect_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn a_request_without_authorization_is_refused_with_401() {
    let app = TestApp::new();
    for path in ["/me", "/me/addresses", "/me/invitations", "/admin/users"] {
        let resp = app.request(stockyard_tests::Method::GET, path, None, None, &[]).await;
        resp.expect_error(401, "unauthorized");
    }
    let basic = app.request(stockyard_tests::Method::GET, "/me", None, None, &[("authorization", "Basic YTpi")]).await;
    basic.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_token_made_by_hand_with_the_right_key_audience_and_issuer_is_accepted() {
    // The control for the refusals below: hand-made tokens are otherwise exactly right.
    let app = TestApp::new();
    let user = app.customer().await;
    let token = tokens::sign(&tokens::claims_for(&user), &tokens::local_signing_key());
    assert_eq!(app.me(&token).await.expect(200)["id"], user.id.as_str());
}

#[tokio::test]
async fn expired_tampered_foreign_and_unsigned_access_tokens_are_refused_with_401() {
    let app = TestApp::new();
    let user = app.customer().await;
    let key = tokens::local_signing_key();
    let now = chrono::Utc::now().timestamp();

    let mut expired = tokens::claims_for(&user);
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 60);
    let mut wrong_audience = tokens::claims_for(&user);
    wrong_audience["aud"] = json!("stockyard-prod");
    let mut wrong_issuer = tokens::claims_for(&user);
    wrong_issuer["iss"] = json!("someone-else");
    let mut no_expiry = tokens::claims_for(&user);
    let claims = no_expiry.as_object_mut().expect("claims are a JSON object");
    assert!(claims.remove("exp").is_some(), "the valid claims have an expiry to leave out");
    let mut elevated = tokens::peek(&user.access_token);
    elevated["roles"] = json!(["customer", "admin"]);

    let cases = [
        ("expired", tokens::sign(&expired, &key)),
        ("wrong audience", tokens::sign(&wrong_audience, &key)),
        ("wrong issuer", tokens::sign(&wrong_issuer, &key)),
        ("no expiry", tokens::sign(&no_expiry, &key)),
        ("signed by another key", tokens::sign(&tokens::claims_for(&user), tokens::FOREIGN_SIGNING_KEY)),
        ("payload changed after signing", tokens::with_payload(&user.access_token, &elevated)),
        ("unsigned", tokens::unsigned(&tokens::claims_for(&user))),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (what, token) in cases {
        let resp = app.me(&token).await;
        assert_eq!(resp.status, 401, "{what}: {resp}");
        resp.expect_error(401, "unauthorized");
        let admin = app.list_users(&token, "").await;
        assert_eq!(admin.status, 401, "{what} on an admin route: {admin}");
    }
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_email_for_a_while_and_a_success_starts_the_count_again() {
    let app = TestApp::new();
    let user = app.customer().await;
    let fail = |email: String| {
        let app = &app;
        async move { app.login(&email, "not the right password").await.expect_error(401, "unauthorized").clone() }
    };
    for _ in 0..4 {
        fail(user.email.clone()).await;
    }
    app.login(&user.email, PASSWORD).await.expect(200);
    for _ in 0..5 {
        fail(user.email.clone()).await;
    }
    let locked = app.login(&user.email, PASSWORD).await;
    locked.expect_error(429, "too_many_attempts");
    let retry_after: u64 = locked.header("retry-after").and_then(|v| v.parse().ok()).expect("a Retry-After in seconds");
    assert!((1..=900).contains(&retry_after), "within the 15-minute window: {retry_after}");

    // Only that address is locked; an unknown address is counted the same way, so a lock says
    // nothing about whether an account exists.
    app.login(&app.customer().await.email, PASSWORD).await.expect(200);
    let nobody = unique_email();
    for _ in 0..5 {
        fail(nobody.clone()).await;
    }
    app.login(&nobody, PASSWORD).await.expect_error(429, "too_many_attempts");
}

#[tokio::test]
async fn an_access_token_stops_working_as_soon_as_its_session_is_signed_out_and_only_that_one() {
    let app = TestApp::new();
    let user = app.customer().await;
    let other_session = app.login(&user.email, PASSWORD).await;
    let other_token = other_session.str("/access_token");
    app.me(user.token()).await.expect(200);
    app.revoke(&user.refresh_token).await.expect(204);
    app.me(user.token()).await.expect_error(401, "unauthorized");
    app.me(&other_token).await.expect(200);
}

#[tokio::test]
async fn a_stolen_refresh_token_presented_again_ends_the_sessions_access_tokens_at_once() {
    let app = TestApp::new();
    let user = app.customer().await;
    let rotated = app.refresh(&user.refresh_token).await;
    rotated.expect(200);
    let current_access = rotated.str("/access_token");
    app.me(&current_access).await.expect(200);
    // The first refresh token, used once already, comes back: the session is revoked.
    app.refresh(&user.refresh_token).await.expect_error(401, "unauthorized");
    app.me(&current_access).await.expect_error(401, "unauthorized");
    app.me(user.token()).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_platform_role_taken_away_counts_at_once_for_the_token_already_issued() {
    let app = TestApp::new();
    let support = app.user_with_platform_role("support").await;
    app.list_users(support.token(), "").await.expect(200);
    let admin = app.admin().await;
    app.set_user_roles(admin.token(), &support.id, &[]).await.expect(200);
    app.list_users(support.token(), "").await.expect_error(403, "forbidden");
    // Reading a vendor as support stops too (support reads every vendor, customers do not).
    let vendor = app.vendor_owner().await;
    app.get_vendor(support.token(), &vendor.id).await.expect_error(403, "forbidden");
}
