//! Coupons: a vendor's (its owner and catalog editors) and the platform's (admin); codes unique
//! whatever their case; changes under the version read, never limiting below the uses so far.

use serde_json::{Value, json};
use stockyard_domain::ids::OrderGroupId;
use stockyard_store::{Table, coupons};
use stockyard_tests::{ApiResponse, Method, TestApp, unique_tag};

/// The store behind the API, to count uses as a checkout would (checkout is not built yet).
async fn store(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

/// Counts `n` uses of the coupon by `customer`, each for an order group of its own.
async fn count_uses(app: &TestApp, code: &str, customer: &str, n: usize) {
    let table = store(app).await;
    for _ in 0..n {
        let coupon = coupons::by_code(&table, code).await.unwrap().expect("the coupon exists");
        let mut tx = table.tx();
        coupons::count_use(&mut tx, &coupon, customer, OrderGroupId::generate()).unwrap();
        table.commit(tx).await.unwrap();
    }
}

fn codes(list: &ApiResponse) -> Vec<String> {
    list.items().iter().map(|c| c["code"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_vendor_creates_lists_reads_and_changes_its_coupons() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (editor, viewer) = tokio::join!(app.staff(&vendor, "catalog_editor"), app.staff(&vendor, "viewer"));
    let owner = vendor.owner.token();

    let mut body = TestApp::coupon_body(Some(&vendor.id));
    body["minimum_spend"] = json!({ "amount": 2500, "currency": "EUR" });
    body["ends_at"] = json!("2099-01-01T00:00:00Z");
    let created = app.create_coupon(owner, &body).await;
    let first = created.expect(201).clone();
    let code = body["code"].as_str().unwrap().to_uppercase();
    assert_eq!(first["code"], code.as_str(), "stored upper-case");
    assert_eq!(first["scope"], json!({ "type": "vendor", "vendor_id": vendor.id }));
    assert_eq!(first["kind"], json!({ "type": "percentage", "percent": "10" }));
    assert_eq!(
        (first["active"].as_bool(), first["used"].as_u64(), first["version"].as_u64()),
        (Some(true), Some(0), Some(1))
    );
    assert_eq!((first["usage_limit"].as_u64(), first["per_customer_limit"].as_u64()), (Some(100), Some(2)));
    assert_eq!(first["minimum_spend"], json!({ "amount": 2500, "currency": "EUR" }));

    // A catalog editor makes one too; a retry with the same Idempotency-Key replays it.
    let mut second_body = TestApp::coupon_body(Some(&vendor.id));
    second_body["kind"] = json!({ "type": "fixed_amount", "amount": { "amount": 500, "currency": "EUR" } });
    let key = [("Idempotency-Key", "coupon-of-the-editor")];
    let made = app.request(Method::POST, "/coupons", Some(editor.token()), Some(&second_body), &key).await;
    let second = made.expect(201).clone();
    let again = app.request(Method::POST, "/coupons", Some(editor.token()), Some(&second_body), &key).await;
    assert_eq!((again.expect(201), again.header("idempotent-replayed")), (&second, Some("true")));
    let mut other_body = second_body.clone();
    other_body["code"] = json!(format!("c-{}", unique_tag()));
    let reused = app.request(Method::POST, "/coupons", Some(editor.token()), Some(&other_body), &key).await;
    reused.expect_error(422, "idempotency_key_reused");

    // Every member reads them: oldest first, a page at a time, or newest first.
    let all = app.list_coupons(viewer.token(), &format!("vendor_id={}", vendor.id)).await;
    assert_eq!(all.expect(200)["items"], json!([first, second]));
    let page = app.list_coupons(viewer.token(), &format!("vendor_id={}&limit=1", vendor.id)).await;
    assert_eq!(codes(&page), std::slice::from_ref(&code));
    let cursor = page.next_cursor().expect("a second page");
    let next = app.list_coupons(viewer.token(), &format!("vendor_id={}&limit=1&cursor={cursor}", vendor.id)).await;
    assert_eq!(next.items(), &vec![second.clone()]);
    let newest = app.list_coupons(owner, &format!("vendor_id={}&order=newest", vendor.id)).await;
    assert_eq!(newest.items()[0]["id"], second["id"]);
    let id = first["id"].as_str().unwrap();
    assert_eq!(app.get_coupon(viewer.token(), id).await.expect(200), &first);

    // Deactivated by the editor: the version moves, the filters tell it apart.
    let off = app.update_coupon(editor.token(), id, &json!({ "active": false })).await;
    let off = off.expect(200).clone();
    assert_eq!((off["active"].as_bool(), off["version"].as_u64()), (Some(false), Some(2)));
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(time(&off["updated_at"]) > time(&first["updated_at"]), "{off}");
    assert_eq!((&off["code"], &off["created_at"]), (&first["code"], &first["created_at"]));
    let active = app.list_coupons(owner, &format!("vendor_id={}&active=true", vendor.id)).await;
    assert_eq!(active.items(), &vec![second.clone()]);
    let inactive = app.list_coupons(owner, &format!("vendor_id={}&active=false", vendor.id)).await;
    assert_eq!(inactive.items(), &vec![off.clone()]);
    // the same again changes nothing
    assert_eq!(app.update_coupon(owner, id, &json!({ "active": false })).await.expect(200), &off);

    // Reactivated with a new window and limits; null removes the end and the customer limit.
    let change = json!({ "active": true, "starts_at": "2026-01-01T00:00:00Z", "ends_at": null,
                         "usage_limit": 5, "per_customer_limit": null });
    let on = app.update_coupon(owner, id, &change).await;
    let on = on.expect(200).clone();
    assert_eq!(
        (on["active"].as_bool(), on["version"].as_u64(), on["usage_limit"].as_u64()),
        (Some(true), Some(3), Some(5))
    );
    assert_eq!(on["starts_at"], "2026-01-01T00:00:00Z");
    assert!(on.get("ends_at").is_none() && on.get("per_customer_limit").is_none(), "{on}");
    assert_eq!(app.get_coupon(owner, id).await.expect(200), &on);

    // Three orders use it: its reading shows them, and the limit cannot go below them.
    count_uses(&app, &code.to_lowercase(), "ada@example.com", 3).await;
    let used = app.get_coupon(viewer.token(), id).await;
    assert_eq!((used.expect(200)["used"].as_u64(), used.json["version"].as_u64()), (Some(3), Some(3)));
    let below = app.update_coupon(owner, id, &json!({ "usage_limit": 2 })).await;
    below.expect_invalid_field("usage_limit");
    assert!(below.json["error"]["message"].as_str().unwrap().contains("at least 3"), "{below}");
    let exactly = app.update_coupon(owner, id, &json!({ "usage_limit": 3 })).await;
    assert_eq!((exactly.expect(200)["usage_limit"].as_u64(), exactly.json["used"].as_u64()), (Some(3), Some(3)));
}

#[tokio::test]
async fn admin_makes_platform_coupons_that_only_admin_and_support_see_and_only_admin_changes() {
    let app = TestApp::new();
    let (admin, support, customer, vendor) =
        tokio::join!(app.admin(), app.user_with_platform_role("support"), app.customer(), app.vendor_owner());
    let mut body = TestApp::coupon_body(None);
    body["kind"] = json!({ "type": "free_shipping" });
    let created = app.create_coupon(admin.token(), &body).await;
    let coupon = created.expect(201).clone();
    assert_eq!(
        (coupon["scope"].clone(), coupon["kind"].clone()),
        (json!({ "type": "platform" }), json!({ "type": "free_shipping" }))
    );
    let id = coupon["id"].as_str().unwrap();

    // Nobody else makes one: a customer, a vendor's owner, support.
    for token in [customer.token(), vendor.owner.token(), support.token()] {
        app.create_coupon(token, &TestApp::coupon_body(None)).await.expect_error(403, "forbidden");
    }
    app.request(Method::POST, "/coupons", None, Some(&TestApp::coupon_body(None)), &[])
        .await
        .expect_error(401, "unauthorized");

    // Admin and support list and read them; others are refused, or find nothing.
    for token in [admin.token(), support.token()] {
        let listed = app.all_pages(token, "/coupons?limit=100&order=newest").await;
        assert!(listed.iter().any(|c| c["id"] == id), "the new coupon is listed");
        assert!(listed.iter().all(|c| c["scope"]["type"] == "platform"), "only the platform's");
        assert_eq!(app.get_coupon(token, id).await.expect(200), &coupon);
    }
    for token in [customer.token(), vendor.owner.token()] {
        app.list_coupons(token, "").await.expect_error(403, "forbidden");
        app.get_coupon(token, id).await.expect_error(404, "not_found");
        app.update_coupon(token, id, &json!({ "active": false })).await.expect_error(404, "not_found");
    }
    app.update_coupon(support.token(), id, &json!({ "active": false })).await.expect_error(403, "forbidden");
    assert_eq!(app.get_coupon(admin.token(), id).await.expect(200), &coupon, "unchanged");
    let off = app.update_coupon(admin.token(), id, &json!({ "active": false })).await;
    assert_eq!(off.expect(200)["active"], false);
}

#[tokio::test]
async fn a_code_is_taken_whatever_its_case_and_the_refusal_names_code() {
    let app = TestApp::new();
    let (admin, vendor) = tokio::join!(app.admin(), app.vendor_owner());
    let body = TestApp::coupon_body(None);
    app.create_coupon(admin.token(), &body).await.expect(201);
    let code = body["code"].as_str().unwrap();
    for (token, vendor_id, typed) in [
        (vendor.owner.token(), Some(vendor.id.as_str()), code.to_uppercase()),
        (admin.token(), None, format!(" {code} ")),
    ] {
        let mut again = TestApp::coupon_body(vendor_id);
        again["code"] = json!(typed);
        let taken = app.create_coupon(token, &again).await;
        taken.expect_error(409, "coupon_code_taken");
        assert_eq!(taken.error_field(), Some("code"), "{taken}");
    }
    let theirs = app.list_coupons(vendor.owner.token(), &format!("vendor_id={}", vendor.id)).await;
    assert!(theirs.items().is_empty(), "nothing was made");
}

#[tokio::test]
async fn every_bad_value_is_refused_naming_its_field_and_changes_nothing() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let eur = |amount: i64| json!({ "amount": amount, "currency": "EUR" });
    let cases: Vec<(&str, Value, &str)> = vec![
        ("code", json!("ab"), "code"),
        ("code", json!("half price!"), "code"),
        ("code", json!("c".repeat(33)), "code"),
        ("vendor_id", json!("not-a-ulid"), "vendor_id"),
        ("kind", json!({ "type": "percentage", "percent": "0" }), "kind.percent"),
        ("kind", json!({ "type": "percentage", "percent": "101" }), "kind.percent"),
        ("kind", json!({ "type": "percentage", "percent": "9.999" }), "kind.percent"),
        ("kind", json!({ "type": "fixed_amount", "amount": eur(-5) }), "kind.amount"),
        ("minimum_spend", eur(0), "minimum_spend"),
        ("ends_at", json!("2020-01-01T00:00:00Z"), "ends_at"),
        ("usage_limit", json!(0), "usage_limit"),
        ("per_customer_limit", json!(0), "per_customer_limit"),
        ("per_customer_limit", json!(1000), "per_customer_limit"),
    ];
    for (field, value, named) in cases {
        let mut body = TestApp::coupon_body(Some(&vendor.id));
        body[field] = value;
        app.create_coupon(owner, &body).await.expect_invalid_field(named);
    }
    let mut mixed = TestApp::coupon_body(Some(&vendor.id));
    mixed["kind"] = json!({ "type": "fixed_amount", "amount": eur(500) });
    mixed["minimum_spend"] = json!({ "amount": 5000, "currency": "GBP" });
    app.create_coupon(owner, &mixed).await.expect_invalid_field("minimum_spend");
    // misshapen: an unknown kind, an unknown field (of the body or of the kind), not a time
    for (field, value) in [
        ("kind", json!({ "type": "buy_one_get_one" })),
        ("kind", json!({ "type": "free_shipping", "percent": "10" })),
        ("scope", json!({ "type": "platform" })),
        ("starts_at", json!("next monday")),
    ] {
        let mut body = TestApp::coupon_body(Some(&vendor.id));
        body[field] = value;
        let refused = app.create_coupon(owner, &body).await;
        refused.expect_error(400, "malformed_request");
        assert!(refused.error_field().is_some_and(|f| f.starts_with(field)), "{refused}");
    }
    // a vendor that does not exist
    let nobody = TestApp::coupon_body(Some("01JBZ4W9Q6T3M8K2R5X7N1C0VD"));
    app.create_coupon(owner, &nobody).await.expect_error(404, "not_found");
    assert!(app.list_coupons(owner, &format!("vendor_id={}", vendor.id)).await.items().is_empty());

    // Lists: a filter that is not true or false, a vendor that is not an id, an unknown vendor.
    app.list_coupons(owner, &format!("vendor_id={}&active=yes", vendor.id)).await.expect_invalid_field("active");
    app.list_coupons(owner, &format!("vendor_id={}&active=", vendor.id)).await.expect_invalid_field("active");
    app.list_coupons(owner, "vendor_id=green-valley").await.expect_invalid_field("vendor_id");
    app.list_coupons(owner, "vendor_id=01JBZ4W9Q6T3M8K2R5X7N1C0VD").await.expect_error(404, "not_found");
    app.list_coupons(owner, &format!("vendor_id={}&cursor=bm9wZQ", vendor.id)).await.expect_invalid_field("cursor");

    // Changes: each refused naming its field, the coupon unchanged.
    let coupon = app.create_coupon(owner, &TestApp::coupon_body(Some(&vendor.id))).await.expect(201).clone();
    let id = coupon["id"].as_str().unwrap();
    for (change, named) in [
        (json!({ "usage_limit": 0 }), "usage_limit"),
        (json!({ "usage_limit": 1 }), "usage_limit"),
        (json!({ "per_customer_limit": 0 }), "per_customer_limit"),
        (json!({ "per_customer_limit": 101 }), "per_customer_limit"),
        (json!({ "ends_at": "2000-01-01T00:00:00Z" }), "ends_at"),
        (json!({ "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2098-01-01T00:00:00Z" }), "ends_at"),
    ] {
        app.update_coupon(owner, id, &change).await.expect_invalid_field(named);
    }
    let moved_past_end = json!({ "ends_at": "2098-01-01T00:00:00Z" });
    app.update_coupon(owner, id, &moved_past_end).await.expect(200);
    let late_start = json!({ "starts_at": "2099-01-01T00:00:00Z" });
    app.update_coupon(owner, id, &late_start).await.expect_invalid_field("starts_at");
    for change in
        [json!({ "code": "OTHER" }), json!({ "kind": { "type": "free_shipping" } }), json!({ "active": "no" })]
    {
        app.update_coupon(owner, id, &change).await.expect_error(400, "malformed_request");
    }
    app.update_coupon(owner, "not-a-coupon", &json!({ "active": false })).await.expect_invalid_field("couponId");
    app.update_coupon(owner, "01JBZ4W9Q6T3M8K2R5X7N1C0CP", &json!({ "active": false }))
        .await
        .expect_error(404, "not_found");
    let now = app.get_coupon(owner, id).await;
    assert_eq!((now.expect(200)["version"].as_u64(), &now.json["starts_at"]), (Some(2), &coupon["starts_at"]));
}

#[tokio::test]
async fn another_vendors_coupon_is_not_found_and_staff_without_the_catalog_permission_are_forbidden() {
    let app = TestApp::new();
    let (vendor, other) = tokio::join!(app.vendor_owner(), app.vendor_owner());
    let (manager, handler, viewer, customer) = tokio::join!(
        app.staff(&vendor, "inventory_manager"),
        app.staff(&vendor, "order_handler"),
        app.staff(&vendor, "viewer"),
        app.customer()
    );
    let coupon = app.create_coupon(vendor.owner.token(), &TestApp::coupon_body(Some(&vendor.id))).await;
    let coupon = coupon.expect(201).clone();
    let id = coupon["id"].as_str().unwrap();

    // Another vendor's owner: the coupon is not found, the vendor's coupons are not theirs.
    let intruder = other.owner.token();
    app.get_coupon(intruder, id).await.expect_error(404, "not_found");
    app.update_coupon(intruder, id, &json!({ "active": false })).await.expect_error(404, "not_found");
    app.list_coupons(intruder, &format!("vendor_id={}", vendor.id)).await.expect_error(403, "forbidden");
    app.create_coupon(intruder, &TestApp::coupon_body(Some(&vendor.id))).await.expect_error(403, "forbidden");
    // ... and its own list does not have it
    assert!(app.list_coupons(intruder, &format!("vendor_id={}", other.id)).await.items().is_empty());
    app.create_coupon(customer.token(), &TestApp::coupon_body(Some(&vendor.id))).await.expect_error(403, "forbidden");
    app.get_coupon(customer.token(), id).await.expect_error(404, "not_found");

    // Staff who may not write the catalog read coupons but neither make nor change them.
    for staff in [&manager, &handler, &viewer] {
        let t = staff.token();
        assert_eq!(app.get_coupon(t, id).await.expect(200), &coupon);
        assert_eq!(app.list_coupons(t, &format!("vendor_id={}", vendor.id)).await.items(), &vec![coupon.clone()]);
        app.create_coupon(t, &TestApp::coupon_body(Some(&vendor.id))).await.expect_error(403, "forbidden");
        app.update_coupon(t, id, &json!({ "usage_limit": 7 })).await.expect_error(403, "forbidden");
    }
    assert_eq!(app.get_coupon(vendor.owner.token(), id).await.expect(200), &coupon, "nothing changed");
}

#[tokio::test]
async fn a_suspended_vendors_coupons_can_be_read_but_not_made_or_changed() {
    let app = TestApp::new();
    let (vendor, admin) = tokio::join!(app.vendor_owner(), app.admin());
    let owner = vendor.owner.token();
    let coupon = app.create_coupon(owner, &TestApp::coupon_body(Some(&vendor.id))).await.expect(201).clone();
    let id = coupon["id"].as_str().unwrap();
    app.set_vendor_status(admin.token(), &vendor.id, "suspended", Some("unpaid fees")).await.expect(200);
    assert_eq!(app.get_coupon(owner, id).await.expect(200), &coupon);
    app.update_coupon(owner, id, &json!({ "active": false })).await.expect_error(403, "vendor_suspended");
    app.create_coupon(owner, &TestApp::coupon_body(Some(&vendor.id))).await.expect_error(403, "vendor_suspended");
    app.set_vendor_status(admin.token(), &vendor.id, "active", None).await.expect(200);
    assert_eq!(app.update_coupon(owner, id, &json!({ "active": false })).await.expect(200)["active"], false);
}
