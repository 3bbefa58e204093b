//! Account recovery and changes, as a user meets them: verifying the address by the emailed link,
//! resetting a forgotten password, changing the password and the address.

use serde_json::{Value, json};
use stockyard_tests::{Method, PASSWORD, TestApp, TestUser, tokens, unique_email};

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> stockyard_tests::ApiResponse {
    app.request(Method::POST, path, token, Some(body), &[]).await
}

const NEW_PASSWORD: &str = "a much better passphrase";

#[tokio::test]
async fn a_new_account_verifies_its_address_by_the_emailed_link_before_it_may_create_a_vendor() {
    let app = TestApp::new();
    let user = app.customer().await;
    assert_eq!(app.me(user.token()).await.expect(200)["email_verified"], false);
    let refused = app.create_vendor(user.token(), &json!({ "name": "Too soon" })).await;
    refused.expect_error(403, "email_unverified");
    assert!(app.me(user.token()).await.json.get("vendor_id").is_none(), "no vendor was created");

    let token = app.nth_link_token(&user.email, "verify-email", 1).await;
    // A tampered link, or an access token presented as one, verifies nothing.
    let mut tampered = token.clone();
    tampered.insert(tampered.len() - 2, 'x');
    for bad in [tampered.as_str(), user.token(), ""] {
        post(&app, "/auth/email/verify", None, &json!({ "token": bad })).await.expect_error(422, "invalid_link");
    }
    assert_eq!(app.me(user.token()).await.json["email_verified"], false);

    let verified = post(&app, "/auth/email/verify", None, &json!({ "token": token })).await;
    assert_eq!(verified.expect(200)["email_verified"], true);
    assert_eq!(verified.json["id"], user.id.as_str());
    // Opening the link twice is harmless; asking for another link is not needed any more.
    post(&app, "/auth/email/verify", None, &json!({ "token": token })).await.expect(200);
    post(&app, "/me/email/verification", Some(user.token()), &json!({})).await.expect_error(409, "already_verified");
    assert_eq!(app.me(user.token()).await.json["email_verified"], true);
    app.create_vendor(user.token(), &json!({ "name": "Verified shop" })).await.expect(201);
}

#[tokio::test]
async fn a_verification_link_can_be_sent_again_and_is_throttled() {
    let app = TestApp::new();
    let user = app.customer().await;
    app.nth_link_token(&user.email, "verify-email", 1).await;
    let again = app.request(Method::POST, "/me/email/verification", Some(user.token()), None, &[]).await;
    assert!(again.expect(202)["message"].is_string());
    let second = app.nth_link_token(&user.email, "verify-email", 2).await;
    post(&app, "/auth/email/verify", None, &json!({ "token": second })).await.expect(200);

    let other = app.customer().await;
    let mut statuses = vec![];
    for _ in 0..6 {
        statuses.push(app.request(Method::POST, "/me/email/verification", Some(other.token()), None, &[]).await);
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status).collect();
    assert_eq!(codes, [202, 202, 202, 202, 202, 429], "5 per account per 15 minutes");
    assert!(statuses[5].header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)));
    statuses[5].expect_error(429, "too_many_requests");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_by_the_emailed_link_and_every_session_ends() {
    let app = TestApp::new();
    let user = app.customer().await;
    let laptop = app.relogin(&user).await;

    // The same answer whether or not an account has the address.
    let known = post(&app, "/auth/password/forgot", None, &json!({ "email": user.email })).await;
    let stranger = unique_email();
    let unknown = post(&app, "/auth/password/forgot", None, &json!({ "email": stranger })).await;
    assert_eq!((known.status, &known.json), (unknown.status, &unknown.json));
    known.expect(202);

    let token = app.nth_link_token(&user.email, "reset-password", 1).await;
    let weak = post(&app, "/auth/password/reset", None, &json!({ "token": token, "password": "short" })).await;
    weak.expect_invalid_field("password");
    let reset = json!({ "token": token, "password": NEW_PASSWORD });
    // Two tabs submit the link at once: it works exactly once.
    let (a, b) = tokio::join!(
        post(&app, "/auth/password/reset", None, &reset),
        post(&app, "/auth/password/reset", None, &reset)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [204, 422], "one reset, one refused:\n{a}\n{b}");
    post(&app, "/auth/password/reset", None, &reset).await.expect_error(422, "invalid_link");

    // Every session ended: access tokens and refresh tokens alike.
    for session in [&user, &laptop] {
        app.me(session.token()).await.expect_error(401, "unauthorized");
        app.refresh(&session.refresh_token).await.expect_error(401, "unauthorized");
    }
    app.login(&user.email, PASSWORD).await.expect_error(401, "unauthorized");
    let fresh = app.sign_in(&user.email, NEW_PASSWORD).await;
    let me = app.me(fresh.token()).await;
    assert_eq!(me.expect(200)["email_verified"], true, "the link proved the address");

    let notice = app.eventually_email(&user.email, |e| e.subject.contains("password was changed")).await;
    assert!(notice.text.unwrap_or_default().contains("signed out"));
    // The unknown address got nothing: its reset was answered the same and sent nowhere. The
    // notice above went through the same stream and queue after it, so this count is final.
    assert!(app.sent_emails_to(&stranger).await.is_empty());
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_whether_or_not_it_has_an_account() {
    let app = TestApp::new();
    let stranger = unique_email();
    let mut codes = vec![];
    for _ in 0..6 {
        codes.push(post(&app, "/auth/password/forgot", None, &json!({ "email": stranger })).await);
    }
    let statuses: Vec<u16> = codes.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429]);
    codes[5].expect_error(429, "too_many_requests");
    post(&app, "/auth/password/forgot", None, &json!({ "email": "not an address" }))
        .await
        .expect_invalid_field("email");
}

async fn change_password(app: &TestApp, user: &TestUser, current: &str, new: &str) -> stockyard_tests::ApiResponse {
    post(app, "/me/password", Some(user.token()), &json!({ "current_password": current, "password": new })).await
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = TestApp::new();
    let phone = app.customer().await;
    let laptop = app.relogin(&phone).await;

    change_password(&app, &phone, "not my password", NEW_PASSWORD).await.expect_invalid_field("current_password");
    change_password(&app, &phone, PASSWORD, PASSWORD).await.expect_invalid_field("password");
    change_password(&app, &phone, PASSWORD, &phone.email).await.expect_invalid_field("password");
    app.me(laptop.token()).await.expect(200);

    let changed = change_password(&app, &phone, PASSWORD, NEW_PASSWORD).await;
    let new_access = changed.expect(200)["access_token"].as_str().expect("a new access token").to_string();
    assert_eq!(changed.json["user"]["id"], phone.id.as_str());
    assert_eq!(tokens::peek(&new_access)["sid"], tokens::peek(phone.token())["sid"], "the same session goes on");

    // This session goes on with the new access token and its refresh token; the other ends.
    app.me(&new_access).await.expect(200);
    app.me(phone.token()).await.expect_error(401, "unauthorized");
    app.me(laptop.token()).await.expect_error(401, "unauthorized");
    app.refresh(&laptop.refresh_token).await.expect_error(401, "unauthorized");
    let refreshed = app.refresh(&phone.refresh_token).await;
    app.me(refreshed.expect(200)["access_token"].as_str().unwrap()).await.expect(200);

    app.login(&phone.email, PASSWORD).await.expect_error(401, "unauthorized");
    app.sign_in(&phone.email, NEW_PASSWORD).await;
    app.eventually_email(&phone.email, |e| e.subject.contains("password was changed")).await;
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_sign_ins() {
    let app = TestApp::new();
    let user = app.customer().await;
    for _ in 0..5 {
        change_password(&app, &user, "not my password", NEW_PASSWORD).await.expect_invalid_field("current_password");
    }
    change_password(&app, &user, PASSWORD, NEW_PASSWORD).await.expect_error(429, "too_many_attempts");
    app.login(&user.email, PASSWORD).await.expect_error(429, "too_many_attempts");
}

#[tokio::test]
async fn an_address_change_is_confirmed_at_the_new_address_and_announced_to_the_old_one() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = &vendor.owner;
    let other = app.customer().await;
    let new_email = unique_email();
    let ask = async |email: &str, password: &str| {
        post(&app, "/me/email", Some(owner.token()), &json!({ "email": email, "password": password })).await
    };

    ask(&new_email, "not my password").await.expect_invalid_field("password");
    ask(&other.email, PASSWORD).await.expect_error(409, "email_taken");
    ask(&owner.email, PASSWORD).await.expect_invalid_field("email");
    ask("not an address", PASSWORD).await.expect_invalid_field("email");
    ask(&new_email, PASSWORD).await.expect(202);
    // Nothing changes until the new address confirms.
    assert_eq!(app.me(owner.token()).await.json["email"], owner.email.as_str());

    let token = app.nth_link_token(&new_email, "confirm-email", 1).await;
    post(&app, "/auth/email/verify", None, &json!({ "token": token })).await.expect_error(422, "invalid_link");
    let confirmed = post(&app, "/auth/email/confirm", None, &json!({ "token": token })).await;
    assert_eq!(confirmed.expect(200)["email"], new_email.as_str());
    assert_eq!(confirmed.json["email_verified"], true);
    post(&app, "/auth/email/confirm", None, &json!({ "token": token })).await.expect(200);

    // The session goes on and sees the new address; the vendor's staff list shows it too.
    assert_eq!(app.me(owner.token()).await.expect(200)["email"], new_email.as_str());
    let staff = app.list_staff(owner.token(), &vendor.id).await;
    let listed = staff.expect(200)["items"].as_array().unwrap().iter().find(|m| m["user_id"] == owner.id.as_str());
    assert_eq!(listed.map(|m| m["email"].clone()), Some(json!(new_email)));

    // Sign-in moves to the new address; the old one is free for someone else.
    app.login(&owner.email, PASSWORD).await.expect_error(401, "unauthorized");
    app.sign_in(&new_email, PASSWORD).await;
    let notice = app.eventually_email(&owner.email, |e| e.subject.contains("email address was changed")).await;
    assert!(notice.text.unwrap_or_default().contains(&new_email));
    app.customer_with_email(&owner.email).await;
}

#[tokio::test]
async fn a_confirmation_link_dies_when_the_address_changed_another_way_meanwhile() {
    let app = TestApp::new();
    let user = app.customer().await;
    let (first, second) = (unique_email(), unique_email());
    for email in [&first, &second] {
        post(&app, "/me/email", Some(user.token()), &json!({ "email": email, "password": PASSWORD })).await.expect(202);
    }
    let to_first = app.nth_link_token(&first, "confirm-email", 1).await;
    let to_second = app.nth_link_token(&second, "confirm-email", 1).await;
    post(&app, "/auth/email/confirm", None, &json!({ "token": to_second })).await.expect(200);
    post(&app, "/auth/email/confirm", None, &json!({ "token": to_first })).await.expect_error(422, "invalid_link");
    assert_eq!(app.me(user.token()).await.json["email"], second.as_str());
}
