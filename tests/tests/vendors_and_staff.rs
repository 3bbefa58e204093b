//! Vendors, their staff (invitation by email, acceptance, role changes, removal) and locations.

use serde_json::{Value, json};
use stockyard_tests::{Method, TestApp, TestVendor, tokens, unique_email, unique_tag};

fn member<'a>(staff: &'a Value, user_id: &str) -> Option<&'a Value> {
    staff["items"].as_array().and_then(|items| items.iter().find(|m| m["user_id"] == user_id))
}

#[tokio::test]
async fn creating_a_vendor_makes_me_its_owner() {
    let app = TestApp::new();
    let user = app.verified_customer().await;
    let name = format!("Green Valley {}", unique_tag());
    let resp = app.create_vendor(user.token(), &json!({ "name": name, "description": "Organic veg" })).await;
    let vendor = resp.expect(201);
    assert_eq!(vendor["name"], name.as_str());
    assert_eq!(vendor["description"], "Organic veg");
    assert_eq!(vendor["status"], "active");
    assert_eq!(vendor["owner_id"], user.id.as_str());
    let vendor_id = resp.id();

    // The profile shows the membership at once; a new session's token carries it.
    let me = app.me(user.token()).await;
    assert_eq!(me.expect(200)["vendor_id"], vendor_id.as_str());
    assert_eq!(me.json["vendor_role"], "owner");
    let again = app.relogin(&user).await;
    let claims = tokens::peek(again.token());
    assert_eq!(claims["vendor_id"], vendor_id.as_str());
    assert_eq!(claims["vendor_role"], "owner");
    let me = app.me(again.token()).await;
    assert_eq!(me.expect(200)["vendor_id"], vendor_id.as_str());

    let staff = app.list_staff(again.token(), &vendor_id).await;
    let owner = member(staff.expect(200), &user.id).unwrap_or_else(|| panic!("owner listed: {staff}"));
    assert_eq!(owner["role"], "owner");
    assert_eq!(owner["email"], user.email.as_str());
    assert_eq!(staff.items().len(), 1);
    assert_eq!(app.get_vendor(again.token(), &vendor_id).await.expect(200)["name"], name.as_str());
}

#[tokio::test]
async fn a_user_belongs_to_one_vendor_at_most() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let second = app.create_vendor(vendor.owner.token(), &json!({ "name": "Second shop" })).await;
    second.expect_error(409, "already_member");
    let staff = app.staff(&vendor, "viewer").await;
    let theirs = app.create_vendor(staff.token(), &json!({ "name": "Side business" })).await;
    theirs.expect_error(409, "already_member");
    let me = app.me(vendor.owner.token()).await;
    assert_eq!(me.expect(200)["vendor_id"], vendor.id.as_str());
}

#[tokio::test]
async fn an_invalid_vendor_is_refused_naming_the_field_and_not_created() {
    let app = TestApp::new();
    let user = app.verified_customer().await;
    for (body, field) in [
        (json!({ "name": "X" }), "name"),
        (json!({ "name": "n".repeat(101) }), "name"),
        (json!({ "name": "Fine name", "description": "d".repeat(2001) }), "description"),
    ] {
        let resp = app.create_vendor(user.token(), &body).await;
        resp.expect_error(422, "invalid_field");
        assert_eq!(resp.error_field(), Some(field), "{resp}");
    }
    let unknown = app.create_vendor(user.token(), &json!({ "name": "Fine name", "status": "active" })).await;
    unknown.expect_error(400, "malformed_request");
    assert_eq!(unknown.error_field(), Some("status"));
    assert!(app.me(user.token()).await.json.get("vendor_id").is_none(), "no vendor was created");
    app.create_vendor(user.token(), &json!({ "name": "Fine name" })).await.expect(201);
}

#[tokio::test]
async fn the_owner_changes_the_vendor_profile_and_an_empty_description_removes_it() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let token = vendor.owner.token();
    let resp = app
        .update_vendor(token, &vendor.id, &json!({ "name": "  Renamed Goods ", "description": "Now with more" }))
        .await;
    let updated = resp.expect(200);
    assert_eq!(updated["name"], "Renamed Goods");
    assert_eq!(updated["description"], "Now with more");
    let cleared = app.update_vendor(token, &vendor.id, &json!({ "description": "" })).await;
    assert!(cleared.expect(200).get("description").is_none(), "{cleared}");
    assert_eq!(cleared.json["name"], "Renamed Goods");
    let bad = app.update_vendor(token, &vendor.id, &json!({ "name": "" })).await;
    bad.expect_invalid_field("name");
    assert_eq!(app.get_vendor(token, &vendor.id).await.expect(200)["name"], "Renamed Goods");
}

#[tokio::test]
async fn an_invitation_emails_the_invitee_with_the_vendor_name_in_the_subject() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let email = unique_email();
    let before = chrono::Utc::now();
    let resp = app.invite(vendor.owner.token(), &vendor.id, &email.to_uppercase(), "inventory_manager").await;
    let after = chrono::Utc::now();
    let invitation = resp.expect(201);
    assert_eq!(invitation["vendor_id"], vendor.id.as_str());
    assert_eq!(invitation["vendor_name"], vendor.name.as_str());
    assert_eq!(invitation["email"], email.as_str());
    assert_eq!(invitation["role"], "inventory_manager");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["invited_by"], vendor.owner.id.as_str());
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(invitation["expires_at"].clone()).unwrap_or_else(|e| panic!("expires_at: {e}: {resp}"));
    let week = chrono::Duration::days(7);
    let (earliest, latest) = ((before + week).timestamp(), (after + week).timestamp());
    assert!(
        (earliest..=latest).contains(&expires.timestamp()),
        "valid for 7 days from when it was made: {expires} is not within {} ..= {}",
        before + week,
        after + week
    );

    app.emails_to(&email).await;
    // A later invitation from the same vendor goes the same way; once it has arrived, so has any
    // second email about the first.
    let marker = unique_email();
    app.invite(vendor.owner.token(), &vendor.id, &marker, "viewer").await.expect(201);
    let emails = app.emails_to_after_marker(&email, &marker).await;
    assert_eq!(emails.len(), 1, "one email: {emails:?}");
    assert!(emails[0].subject.contains(&vendor.name), "subject names the vendor: {:?}", emails[0].subject);
    let text = emails[0].text.clone().unwrap_or_default();
    assert!(text.contains(&resp.id()), "the text names the invitation to accept: {text}");
    assert!(text.contains("inventory manager"), "{text}");
}

#[tokio::test]
async fn the_invitee_sees_the_invitation_and_joins_the_vendor_by_accepting_it() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let email = unique_email();
    let invitation_id = app.invite(vendor.owner.token(), &vendor.id, &email, "order_handler").await.id();
    let invitee = app.customer_with_email(&email).await;

    let mine = app.my_invitations(invitee.token()).await;
    mine.expect(200);
    assert_eq!(mine.items().len(), 1, "{mine}");
    assert_eq!(mine.items()[0]["id"], invitation_id.as_str());
    assert_eq!(mine.items()[0]["status"], "pending");
    assert_eq!(mine.items()[0]["vendor_name"], vendor.name.as_str());

    let resp = app.accept(invitee.token(), &invitation_id).await;
    let joined = resp.expect(200);
    assert_eq!(joined["vendor_id"], vendor.id.as_str());
    assert_eq!(joined["user_id"], invitee.id.as_str());
    assert_eq!(joined["email"], email.as_str());
    assert_eq!(joined["role"], "order_handler");
    assert!(joined["joined_at"].is_string(), "{resp}");

    let me = app.me(invitee.token()).await;
    assert_eq!(me.expect(200)["vendor_id"], vendor.id.as_str());
    assert_eq!(me.json["vendor_role"], "order_handler");
    let staff = app.list_staff(vendor.owner.token(), &vendor.id).await;
    assert_eq!(member(staff.expect(200), &invitee.id).map(|m| m["role"].clone()), Some(json!("order_handler")));
    app.get_vendor(invitee.token(), &vendor.id).await.expect(200);

    let accepted = app.request(Method::GET, "/me/invitations?status=accepted", Some(invitee.token()), None, &[]).await;
    assert_eq!(accepted.expect(200)["items"][0]["status"], "accepted");
    let pending = app.request(Method::GET, "/me/invitations?status=pending", Some(invitee.token()), None, &[]).await;
    assert!(pending.expect(200)["items"].as_array().is_some_and(Vec::is_empty), "{pending}");
    let vendors_view = app.list_invitations(vendor.owner.token(), &vendor.id).await;
    assert_eq!(vendors_view.expect(200)["items"][0]["status"], "accepted");
    assert!(vendors_view.items()[0]["accepted_at"].is_string());
}

#[tokio::test]
async fn an_invitation_can_be_accepted_once_and_only_by_the_invitee() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let email = unique_email();
    let invitation_id = app.invite(vendor.owner.token(), &vendor.id, &email, "viewer").await.id();

    let stranger = app.customer().await;
    app.accept(stranger.token(), &invitation_id).await.expect_error(404, "not_found");
    assert!(app.me(stranger.token()).await.json.get("vendor_id").is_none());

    let invitee = app.customer_with_email(&email).await;
    app.accept(invitee.token(), &invitation_id).await.expect(200);
    app.accept(invitee.token(), &invitation_id).await.expect_error(409, "invitation_not_pending");
    let staff = app.list_staff(vendor.owner.token(), &vendor.id).await;
    assert_eq!(staff.expect(200)["items"].as_array().map(Vec::len), Some(2), "{staff}");

    let unknown = app.accept(invitee.token(), &ulid::Ulid::new().to_string()).await;
    unknown.expect_error(404, "not_found");
    let malformed = app.accept(invitee.token(), "nope").await;
    malformed.expect_invalid_field("invitationId");
}

#[tokio::test]
async fn someone_who_already_belongs_to_a_vendor_cannot_accept_another_vendors_invitation() {
    let app = TestApp::new();
    let mine = app.vendor_owner().await;
    let theirs = app.vendor_owner().await;
    let invitation_id = app.invite(theirs.owner.token(), &theirs.id, &mine.owner.email, "viewer").await.id();
    app.accept(mine.owner.token(), &invitation_id).await.expect_error(409, "already_member");
    let me = app.me(mine.owner.token()).await;
    assert_eq!(me.expect(200)["vendor_id"], mine.id.as_str());
    assert_eq!(me.json["vendor_role"], "owner");
    let invitations = app.list_invitations(theirs.owner.token(), &theirs.id).await;
    assert_eq!(invitations.expect(200)["items"][0]["status"], "pending", "the invitation is still open");
    app.get_vendor(mine.owner.token(), &theirs.id).await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_role_change_takes_effect_immediately_without_a_new_token() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let staff = app.staff(&vendor, "viewer").await;
    app.create_location(staff.token(), &vendor.id, &TestApp::location_body()).await.expect_error(403, "forbidden");

    let resp = app.update_staff_role(vendor.owner.token(), &vendor.id, &staff.id, "inventory_manager").await;
    let changed = resp.expect(200);
    assert_eq!(changed["role"], "inventory_manager");
    assert_eq!(changed["user_id"], staff.id.as_str());
    // The same (old) token now may add a location.
    app.create_location(staff.token(), &vendor.id, &TestApp::location_body()).await.expect(201);
    assert_eq!(app.me(staff.token()).await.expect(200)["vendor_role"], "inventory_manager");

    app.update_staff_role(vendor.owner.token(), &vendor.id, &staff.id, "viewer").await.expect(200);
    app.create_location(staff.token(), &vendor.id, &TestApp::location_body()).await.expect_error(403, "forbidden");
    let listed = app.list_staff(vendor.owner.token(), &vendor.id).await;
    assert_eq!(member(listed.expect(200), &staff.id).map(|m| m["role"].clone()), Some(json!("viewer")));
}

#[tokio::test]
async fn removing_a_staff_member_ends_their_access_immediately() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let staff = app.staff(&vendor, "inventory_manager").await;
    app.get_vendor(staff.token(), &vendor.id).await.expect(200);

    app.remove_staff(vendor.owner.token(), &vendor.id, &staff.id).await.expect(204);
    // Their token still names the vendor, but access is checked against the membership.
    assert_eq!(tokens::peek(staff.token())["vendor_id"], vendor.id.as_str());
    app.get_vendor(staff.token(), &vendor.id).await.expect_error(403, "forbidden");
    app.list_locations(staff.token(), &vendor.id).await.expect_error(403, "forbidden");
    app.create_location(staff.token(), &vendor.id, &TestApp::location_body()).await.expect_error(403, "forbidden");
    let me = app.me(staff.token()).await;
    assert!(me.expect(200).get("vendor_id").is_none() && me.json.get("vendor_role").is_none(), "{me}");
    let listed = app.list_staff(vendor.owner.token(), &vendor.id).await;
    assert!(member(listed.expect(200), &staff.id).is_none(), "{listed}");

    app.remove_staff(vendor.owner.token(), &vendor.id, &staff.id).await.expect_error(404, "not_found");
    // Free again: they may start their own vendor (once their address is verified).
    app.verify_email(&staff).await;
    app.create_vendor(staff.token(), &json!({ "name": "My own shop" })).await.expect(201);
}

#[tokio::test]
async fn the_owner_can_be_neither_changed_nor_removed() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (token, owner_id) = (vendor.owner.token(), vendor.owner.id.as_str());
    let change = app.update_staff_role(token, &vendor.id, owner_id, "viewer").await;
    change.expect_error(422, "owner_is_permanent");
    assert_eq!(change.error_field(), Some("userId"));
    app.remove_staff(token, &vendor.id, owner_id).await.expect_error(422, "owner_is_permanent");
    let listed = app.list_staff(token, &vendor.id).await;
    assert_eq!(member(listed.expect(200), owner_id).map(|m| m["role"].clone()), Some(json!("owner")));
    // Nor can anyone be made owner.
    let staff = app.staff(&vendor, "viewer").await;
    let promote = app.update_staff_role(token, &vendor.id, &staff.id, "owner").await;
    promote.expect_invalid_field("role");
}

#[tokio::test]
async fn changing_or_removing_someone_who_is_not_staff_of_this_vendor_is_not_found() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let other = app.vendor_owner().await;
    let their_staff = app.staff(&other, "viewer").await;
    let outsider = app.customer().await;
    for user_id in [their_staff.id.as_str(), outsider.id.as_str(), other.owner.id.as_str()] {
        app.update_staff_role(vendor.owner.token(), &vendor.id, user_id, "viewer").await.expect_error(404, "not_found");
        app.remove_staff(vendor.owner.token(), &vendor.id, user_id).await.expect_error(404, "not_found");
    }
    let theirs = app.list_staff(other.owner.token(), &other.id).await;
    assert_eq!(theirs.expect(200)["items"].as_array().map(Vec::len), Some(2), "other vendor untouched: {theirs}");
    assert_eq!(app.me(their_staff.token()).await.json["vendor_id"], other.id.as_str());
}

#[tokio::test]
async fn a_second_pending_invitation_to_the_same_email_is_refused() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let email = unique_email();
    app.invite(vendor.owner.token(), &vendor.id, &email, "viewer").await.expect(201);
    for again in [email.clone(), email.to_uppercase()] {
        let resp = app.invite(vendor.owner.token(), &vendor.id, &again, "catalog_editor").await;
        resp.expect_error(409, "already_invited");
        assert_eq!(resp.error_field(), Some("email"));
    }
    let listed = app.list_invitations(vendor.owner.token(), &vendor.id).await;
    assert_eq!(listed.expect(200)["items"].as_array().map(Vec::len), Some(1), "{listed}");
    // Another vendor may invite the same person.
    let other = app.vendor_owner().await;
    app.invite(other.owner.token(), &other.id, &email, "viewer").await.expect(201);
}

#[tokio::test]
async fn inviting_someone_who_is_already_a_member_is_refused() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let staff = app.staff(&vendor, "viewer").await;
    for email in [vendor.owner.email.as_str(), staff.email.as_str()] {
        let resp = app.invite(vendor.owner.token(), &vendor.id, email, "catalog_editor").await;
        resp.expect_error(409, "already_member");
        assert_eq!(resp.error_field(), Some("email"));
    }
}

#[tokio::test]
async fn an_invitation_with_an_invalid_email_or_role_is_refused_naming_the_field() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    for (email, role, field) in [
        ("not-an-email".to_string(), "viewer", "email"),
        (unique_email(), "owner", "role"),
        (unique_email(), "superuser", "role"),
        (unique_email(), "", "role"),
    ] {
        let resp = app.invite(vendor.owner.token(), &vendor.id, &email, role).await;
        resp.expect_error(422, "invalid_field");
        assert_eq!(resp.error_field(), Some(field), "{resp}");
    }
    let listed = app.list_invitations(vendor.owner.token(), &vendor.id).await;
    assert!(listed.expect(200)["items"].as_array().is_some_and(Vec::is_empty), "{listed}");
}

#[tokio::test]
async fn a_retried_invitation_with_the_same_idempotency_key_creates_one_invitation() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let key = unique_tag();
    let path = format!("/vendors/{}/invitations", vendor.id);
    let body = json!({ "email": unique_email(), "role": "viewer" });
    let headers = [("idempotency-key", key.as_str())];
    let first = app.request(Method::POST, &path, Some(vendor.owner.token()), Some(&body), &headers).await;
    first.expect(201);
    let again = app.request(Method::POST, &path, Some(vendor.owner.token()), Some(&body), &headers).await;
    assert_eq!(again.expect(201)["id"], first.id().as_str());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = json!({ "email": unique_email(), "role": "viewer" });
    let reused = app.request(Method::POST, &path, Some(vendor.owner.token()), Some(&other), &headers).await;
    reused.expect_error(422, "idempotency_key_reused");
    let listed = app.list_invitations(vendor.owner.token(), &vendor.id).await;
    assert_eq!(listed.expect(200)["items"].as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn a_retried_vendor_creation_with_the_same_idempotency_key_replays_the_first_response() {
    let app = TestApp::new();
    let user = app.verified_customer().await;
    let key = unique_tag();
    let body = json!({ "name": format!("Once {key}") });
    let headers = [("idempotency-key", key.as_str())];
    let first = app.request(Method::POST, "/vendors", Some(user.token()), Some(&body), &headers).await;
    first.expect(201);
    let again = app.request(Method::POST, "/vendors", Some(user.token()), Some(&body), &headers).await;
    assert_eq!(again.expect(201), &first.json);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = json!({ "name": "Something else" });
    let reused = app.request(Method::POST, "/vendors", Some(user.token()), Some(&other), &headers).await;
    reused.expect_error(422, "idempotency_key_reused");
    assert_eq!(app.me(user.token()).await.json["vendor_id"], first.id().as_str());
}

#[tokio::test]
async fn five_concurrent_vendor_creations_with_one_idempotency_key_create_one_vendor() {
    let app = TestApp::new();
    let user = app.verified_customer().await;
    let key = unique_tag();
    let body = json!({ "name": format!("Concurrent {key}") });
    let headers = [("idempotency-key", key.as_str())];
    let call = || app.request(Method::POST, "/vendors", Some(user.token()), Some(&body), &headers);
    let (a, b, c, d, e) = tokio::join!(call(), call(), call(), call(), call());
    let all = [a, b, c, d, e];
    let described = all.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("\n");
    let created: Vec<&str> = all.iter().filter(|r| r.status == 201).filter_map(|r| r.json["id"].as_str()).collect();
    assert!(!created.is_empty(), "one of them creates the vendor:\n{described}");
    assert!(created.iter().all(|id| *id == created[0]), "one vendor only:\n{described}");
    let admin = app.admin().await;
    let vendors = app.all_pages(admin.token(), "/admin/vendors?limit=100").await;
    let named: Vec<&Value> = vendors.iter().filter(|v| v["name"] == body["name"]).collect();
    assert_eq!(named.len(), 1, "exactly one vendor exists: {named:?}");
    // The contract: a request repeated with the same key and body gets the first response.
    assert!(
        all.iter().all(|r| r.status == 201 && r.json == all[0].json),
        "every caller gets the one response:\n{described}"
    );
}

#[tokio::test]
async fn a_location_is_created_with_its_code_upper_cased_and_codes_are_unique_within_a_vendor() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let token = vendor.owner.token();
    let body = json!({ "code": " wh-london ", "name": "London warehouse", "kind": "warehouse", "country": "gb" });
    let resp = app.create_location(token, &vendor.id, &body).await;
    let location = resp.expect(201);
    assert_eq!(location["code"], "WH-LONDON");
    assert_eq!(location["vendor_id"], vendor.id.as_str());
    assert_eq!(location["kind"], "warehouse");
    assert_eq!(location["country"], "GB");
    let dup =
        app.create_location(token, &vendor.id, &json!({ "code": "WH-London", "name": "Again", "kind": "store" })).await;
    dup.expect_error(409, "location_code_taken");
    assert_eq!(dup.error_field(), Some("code"));
    let shop =
        app.create_location(token, &vendor.id, &json!({ "code": "SHOP-1", "name": "Shop", "kind": "store" })).await;
    shop.expect(201);

    let listed = app.list_locations(token, &vendor.id).await;
    let ids: Vec<&str> =
        listed.expect(200)["items"].as_array().into_iter().flatten().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, [resp.id(), shop.id()], "oldest first");

    // Another vendor may use the same code.
    let other = app.vendor_owner().await;
    app.create_location(other.owner.token(), &other.id, &body).await.expect(201);
}

#[tokio::test]
async fn an_invalid_location_is_refused_naming_the_field() {
    let app = TestApp::new();
    let vendor: TestVendor = app.vendor_owner().await;
    let token = vendor.owner.token();
    for (body, status, field) in [
        (json!({ "code": "wh 1", "name": "A", "kind": "warehouse" }), 422, "code"),
        (json!({ "code": "", "name": "A", "kind": "warehouse" }), 422, "code"),
        (json!({ "code": "C".repeat(33), "name": "A", "kind": "warehouse" }), 422, "code"),
        (json!({ "code": "WH-1", "name": " ", "kind": "warehouse" }), 422, "name"),
        (json!({ "code": "WH-1", "name": "A", "kind": "warehouse", "country": "ZZ" }), 422, "country"),
        (json!({ "code": "WH-1", "name": "A", "kind": "spaceport" }), 400, "kind"),
        (json!({ "code": "WH-1", "name": "A" }), 400, "kind"),
    ] {
        let resp = app.create_location(token, &vendor.id, &body).await;
        let code = if status == 400 { "malformed_request" } else { "invalid_field" };
        resp.expect_error(status, code);
        assert_eq!(resp.error_field(), Some(field), "{body} -> {resp}");
    }
    let listed = app.list_locations(token, &vendor.id).await;
    assert!(listed.expect(200)["items"].as_array().is_some_and(Vec::is_empty), "{listed}");
}

#[tokio::test]
async fn a_retried_location_creation_with_the_same_idempotency_key_creates_one_location() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let key = unique_tag();
    let path = format!("/vendors/{}/locations", vendor.id);
    let body = TestApp::location_body();
    let headers = [("idempotency-key", key.as_str())];
    let first = app.request(Method::POST, &path, Some(vendor.owner.token()), Some(&body), &headers).await;
    first.expect(201);
    let again = app.request(Method::POST, &path, Some(vendor.owner.token()), Some(&body), &headers).await;
    assert_eq!(again.expect(201), &first.json);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let listed = app.list_locations(vendor.owner.token(), &vendor.id).await;
    assert_eq!(listed.expect(200)["items"].as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn a_staff_member_who_renames_themselves_is_listed_under_the_new_name() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let staff = app.staff(&vendor, "viewer").await;
    let new_name = format!("Renamed {}", stockyard_tests::unique_tag());
    app.update_me(staff.token(), &json!({ "name": new_name })).await.expect(200);

    let members = app.list_staff(vendor.owner.token(), &vendor.id).await;
    let listed: Vec<&serde_json::Value> =
        members.expect(200)["items"].as_array().unwrap().iter().filter(|m| m["user_id"] == staff.id.as_str()).collect();
    assert_eq!(listed.len(), 1, "{members}");
    assert_eq!(listed[0]["name"], new_name.as_str(), "the member record follows the profile: {members}");
    assert_eq!(listed[0]["email"], staff.email.as_str());
}
