//! Platform administration: users and their platform roles, vendors and their status.

use std::collections::HashSet;

use serde_json::{Value, json};
use stockyard_tests::{PASSWORD, TestApp, TestUser, unique_tag};

/// Registers and signs in `count` users whose emails start with `tag-`, oldest first.
async fn users_tagged(app: &TestApp, tag: &str, count: usize) -> Vec<TestUser> {
    let mut users = Vec::new();
    for i in 1..=count {
        users.push(app.customer_with_email(&format!("{tag}-{i}@test.stockyard.example")).await);
    }
    users
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().filter_map(|u| u["id"].as_str().map(String::from)).collect()
}

#[tokio::test]
async fn the_administrator_signs_in_with_the_configured_credentials() {
    let app = TestApp::new();
    let admin = app.admin().await;
    let me = app.me(admin.token()).await;
    let roles = me.expect(200)["roles"].as_array().cloned().unwrap_or_default();
    assert!(roles.contains(&json!("admin")) && roles.contains(&json!("customer")), "{me}");
    assert_eq!(me.json["email"], app.admin_email.to_lowercase());
    // Nobody can register the administrator's email for themselves.
    let taken = app.register(&json!({ "email": app.admin_email, "password": PASSWORD, "name": "Mallory" })).await;
    taken.expect_error(409, "email_taken");
    app.login(&app.admin_email, "not-the-admin-password").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn admin_lists_users_by_email_prefix_newest_first() {
    let app = TestApp::new();
    let tag = unique_tag();
    let users = users_tagged(&app, &tag, 3).await;
    let admin = app.admin().await;
    let found = app.all_pages(admin.token(), &format!("/admin/users?limit=100&email={tag}-")).await;
    let expected: Vec<String> = users.iter().rev().map(|u| u.id.clone()).collect();
    assert_eq!(ids(&found), expected, "the three, newest first: {found:?}");
    for user in &found {
        assert!(user.get("password_hash").is_none(), "{user}");
        assert!(user["email"].as_str().is_some_and(|e| e.starts_with(&tag)), "{user}");
    }
    // The prefix is matched case-insensitively (emails are stored lower-cased).
    let upper = app.all_pages(admin.token(), &format!("/admin/users?limit=100&email={}-", tag.to_uppercase())).await;
    assert_eq!(ids(&upper), expected);
}

#[tokio::test]
async fn paging_through_users_one_at_a_time_visits_each_once() {
    let app = TestApp::new();
    let tag = unique_tag();
    let users = users_tagged(&app, &tag, 3).await;
    let admin = app.admin().await;
    let mine: HashSet<String> = users.iter().map(|u| u.id.clone()).collect();

    // Newest first, so users others create meanwhile come before ours and never after the cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    while !mine.iter().all(|id| seen.contains(id)) {
        let query = match &cursor {
            Some(c) => format!("limit=1&cursor={c}"),
            None => "limit=1".to_string(),
        };
        let page = app.list_users(admin.token(), &query).await;
        page.expect(200);
        assert!(page.items().len() <= 1, "limit=1 gives at most one: {page}");
        seen.extend(ids(page.items()));
        cursor = page.next_cursor();
        assert!(cursor.is_some() || mine.iter().all(|id| seen.contains(id)), "the walk ended before our users: {page}");
        assert!(seen.len() < 5_000, "the cursor does not advance");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user is listed twice");
    let ours: Vec<&String> = seen.iter().filter(|id| mine.contains(*id)).collect();
    let newest_first: Vec<&String> = users.iter().rev().map(|u| &u.id).collect();
    assert_eq!(ours, newest_first);

    // The same walk restricted to our prefix, one per page, finds exactly ours, once each.
    let filtered = app.all_pages(admin.token(), &format!("/admin/users?limit=1&email={tag}-")).await;
    assert_eq!(ids(&filtered), newest_first.into_iter().cloned().collect::<Vec<_>>());
}

#[tokio::test]
async fn admin_filters_users_by_platform_role() {
    let app = TestApp::new();
    let tag = unique_tag();
    let users = users_tagged(&app, &tag, 3).await;
    let admin = app.admin().await;
    app.set_user_roles(admin.token(), &users[1].id, &["support"]).await.expect(200);
    let support = app.all_pages(admin.token(), &format!("/admin/users?limit=100&email={tag}-&role=support")).await;
    assert_eq!(ids(&support), [users[1].id.clone()]);
    let customers = app.all_pages(admin.token(), &format!("/admin/users?limit=100&email={tag}-&role=customer")).await;
    assert_eq!(customers.len(), 3, "everyone is a customer");
    let admins = app.all_pages(admin.token(), "/admin/users?limit=100&role=admin").await;
    assert!(ids(&admins).contains(&admin.id), "the administrator is an admin");
    assert!(admins.iter().all(|u| u["roles"].as_array().is_some_and(|r| r.contains(&json!("admin")))));

    let bad = app.list_users(admin.token(), "role=root").await;
    bad.expect_invalid_field("role");
}

#[tokio::test]
async fn setting_platform_roles_always_keeps_customer_and_applies_at_the_next_sign_in() {
    let app = TestApp::new();
    let user = app.customer().await;
    let admin = app.admin().await;
    let resp = app.set_user_roles(admin.token(), &user.id, &["support", "support", "warehouse_staff"]).await;
    assert_eq!(resp.expect(200)["roles"], json!(["customer", "warehouse_staff", "support"]));
    assert_eq!(app.me(user.token()).await.expect(200)["roles"], json!(["customer", "warehouse_staff", "support"]));

    // Platform roles travel in the access token: the old one still says customer only.
    app.list_users(user.token(), "limit=1").await.expect_error(403, "forbidden");
    let again = app.relogin(&user).await;
    app.list_users(again.token(), "limit=1").await.expect(200);

    let cleared = app.set_user_roles(admin.token(), &user.id, &[]).await;
    assert_eq!(cleared.expect(200)["roles"], json!(["customer"]));
    let after = app.relogin(&user).await;
    app.list_users(after.token(), "limit=1").await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn setting_an_unknown_role_or_a_missing_user_is_refused() {
    let app = TestApp::new();
    let user = app.customer().await;
    let admin = app.admin().await;
    let bad = app.set_user_roles(admin.token(), &user.id, &["support", "root"]).await;
    bad.expect_invalid_field("roles[1]");
    let padded = app.set_user_roles(admin.token(), &user.id, &["support", " warehouse_staff "]).await;
    padded.expect_invalid_field("roles[1]");
    assert_eq!(app.me(user.token()).await.json["roles"], json!(["customer"]), "nothing changed");
    let missing = app.set_user_roles(admin.token(), &ulid::Ulid::new().to_string(), &["support"]).await;
    missing.expect_error(404, "not_found");
    let malformed = app.set_user_roles(admin.token(), "someone", &["support"]).await;
    malformed.expect_invalid_field("userId");
}

#[tokio::test]
async fn an_administrator_cannot_remove_their_own_admin_role() {
    let app = TestApp::new();
    let admin = app.admin().await;
    let resp = app.set_user_roles(admin.token(), &admin.id, &["support"]).await;
    resp.expect_error(422, "cannot_demote_self");
    assert_eq!(resp.error_field(), Some("roles"));
    let me = app.me(admin.token()).await;
    assert!(me.expect(200)["roles"].as_array().is_some_and(|r| r.contains(&json!("admin"))), "{me}");
}

#[tokio::test]
async fn admin_lists_vendors_newest_first_and_by_status() {
    let app = TestApp::new();
    let older = app.vendor_owner().await;
    let newer = app.vendor_owner().await;
    let admin = app.admin().await;
    app.set_vendor_status(admin.token(), &older.id, "suspended", Some("testing the filter")).await.expect(200);

    let all = ids(&app.all_pages(admin.token(), "/admin/vendors?limit=100").await);
    let position = |id: &str| all.iter().position(|x| x == id);
    match (position(&newer.id), position(&older.id)) {
        (Some(n), Some(o)) => assert!(n < o, "newest first"),
        other => panic!("both vendors are listed: {other:?}"),
    }

    let suspended = app.all_pages(admin.token(), "/admin/vendors?limit=100&status=suspended").await;
    assert!(suspended.iter().all(|v| v["status"] == "suspended"), "{suspended:?}");
    let suspended = ids(&suspended);
    assert!(suspended.contains(&older.id) && !suspended.contains(&newer.id));

    let active = ids(&app.all_pages(admin.token(), "/admin/vendors?limit=100&status=active").await);
    assert!(active.contains(&newer.id) && !active.contains(&older.id));

    let bad = app.list_vendors(admin.token(), "status=closed").await;
    bad.expect_invalid_field("status");
}

#[tokio::test]
async fn setting_a_vendor_status_validates_it_and_a_missing_vendor_is_not_found() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let admin = app.admin().await;
    let bad = app.set_vendor_status(admin.token(), &vendor.id, "closed", None).await;
    bad.expect_invalid_field("status");
    let long = "r".repeat(501);
    let reason = app.set_vendor_status(admin.token(), &vendor.id, "suspended", Some(&long)).await;
    reason.expect_invalid_field("reason");
    assert_eq!(app.get_vendor(vendor.owner.token(), &vendor.id).await.expect(200)["status"], "active");
    let missing = app.set_vendor_status(admin.token(), &ulid::Ulid::new().to_string(), "suspended", None).await;
    missing.expect_error(404, "not_found");
}
