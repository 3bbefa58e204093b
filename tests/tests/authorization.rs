//! Who may do what: every role against every vendor and admin action, vendor isolation, suspension.

use serde_json::{Value, json};
use stockyard_tests::{ApiResponse, TestApp, TestUser, TestVendor, unique_email};

/// Everyone the matrix asks, by the name the expectations use.
const ACTORS: [&str; 11] = [
    "owner",
    "catalog_editor",
    "inventory_manager",
    "order_handler",
    "viewer",
    "other_vendor_owner",
    "customer",
    "admin",
    "support",
    "warehouse_staff",
    "content_manager",
];

/// Who may read a vendor: its members, and platform admin and support.
const READERS: &[&str] =
    &["owner", "catalog_editor", "inventory_manager", "order_handler", "viewer", "admin", "support"];

/// Who may read demand data (sales, forecasts, suggestions): commercially sensitive, so not catalog
/// editors, order handlers or platform staff.
const DEMAND_READERS: &[&str] = &["owner", "inventory_manager", "viewer"];

/// Each action, the status it answers when allowed, and who is allowed; everyone else gets 403.
const EXPECTATIONS: [(&str, u16, &[&str]); 18] = [
    ("get vendor", 200, READERS),
    ("update vendor", 200, &["owner"]),
    ("list staff", 200, READERS),
    ("invite", 201, &["owner"]),
    ("list invitations", 200, &["owner"]),
    ("change role", 200, &["owner"]),
    ("remove staff", 204, &["owner"]),
    ("create location", 201, &["owner", "inventory_manager"]),
    ("list locations", 200, READERS),
    ("admin list users", 200, &["admin", "support"]),
    ("admin list vendors", 200, &["admin", "support"]),
    ("set vendor status", 200, &["admin"]),
    ("set user roles", 200, &["admin"]),
    ("put demand settings", 200, &["owner", "inventory_manager"]),
    ("record sales", 200, &["owner", "inventory_manager"]),
    ("run forecast", 201, &["owner", "inventory_manager"]),
    ("list forecasts", 200, DEMAND_READERS),
    ("get replenishment", 200, DEMAND_READERS),
];

struct World {
    app: TestApp,
    vendor: TestVendor,
    /// A staff member whose role the actors try to change.
    role_target: TestUser,
    /// A staff member the actors try to remove.
    removal_target: TestUser,
    /// A customer whose platform roles the actors try to set.
    roles_target: TestUser,
    /// A location of the vendor, for demand settings and sales.
    location: String,
    actors: Vec<(&'static str, TestUser)>,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::new();
        let vendor = app.vendor_owner().await;
        let (catalog, inventory, orders, viewer, role_target, removal_target) = tokio::join!(
            app.staff(&vendor, "catalog_editor"),
            app.staff(&vendor, "inventory_manager"),
            app.staff(&vendor, "order_handler"),
            app.staff(&vendor, "viewer"),
            app.staff(&vendor, "viewer"),
            app.staff(&vendor, "viewer"),
        );
        let (other, customer, admin, support, warehouse, content, roles_target) = tokio::join!(
            app.vendor_owner(),
            app.customer(),
            app.admin(),
            app.user_with_platform_role("support"),
            app.user_with_platform_role("warehouse_staff"),
            app.user_with_platform_role("content_manager"),
            app.customer(),
        );
        let actors = vec![
            ("owner", vendor.owner.clone()),
            ("catalog_editor", catalog),
            ("inventory_manager", inventory),
            ("order_handler", orders),
            ("viewer", viewer),
            ("other_vendor_owner", other.owner),
            ("customer", customer),
            ("admin", admin),
            ("support", support),
            ("warehouse_staff", warehouse),
            ("content_manager", content),
        ];
        let location = app.create_location(vendor.owner.token(), &vendor.id, &TestApp::location_body()).await;
        let location = location.expect(201)["id"].as_str().expect("a location id").to_string();
        Self { app, vendor, role_target, removal_target, roles_target, location, actors }
    }

    async fn perform(&self, action: &str, actor: &TestUser) -> ApiResponse {
        let (app, v, token) = (&self.app, self.vendor.id.as_str(), actor.token());
        match action {
            "get vendor" => app.get_vendor(token, v).await,
            "update vendor" => app.update_vendor(token, v, &json!({ "description": "updated by the matrix" })).await,
            "list staff" => app.list_staff(token, v).await,
            "invite" => app.invite(token, v, &unique_email(), "viewer").await,
            "list invitations" => app.list_invitations(token, v).await,
            "change role" => app.update_staff_role(token, v, &self.role_target.id, "viewer").await,
            "remove staff" => app.remove_staff(token, v, &self.removal_target.id).await,
            "create location" => app.create_location(token, v, &TestApp::location_body()).await,
            "list locations" => app.list_locations(token, v).await,
            "admin list users" => app.list_users(token, "limit=1").await,
            "admin list vendors" => app.list_vendors(token, "limit=1").await,
            // Keeps the vendor active so the other cells are unaffected.
            "set vendor status" => app.set_vendor_status(token, v, "active", None).await,
            "set user roles" => app.set_user_roles(token, &self.roles_target.id, &["customer"]).await,
            "put demand settings" => {
                let settings = TestApp::demand_settings("PANTRY", "ACME", 3);
                app.put_demand_settings(token, v, &self.location, "MATRIX-1", &settings).await
            }
            "record sales" => {
                let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
                app.record_sales(token, v, &self.location, "MATRIX-1", &[(yesterday, 2)]).await
            }
            "run forecast" => app.run_forecast(token, v).await,
            "list forecasts" => app.list_forecasts(token, v, "").await,
            "get replenishment" => app.replenishment(token, v, "").await,
            other => panic!("unknown action {other}"),
        }
    }
}

#[tokio::test]
async fn every_role_may_do_exactly_what_its_permissions_allow() {
    let world = World::new().await;
    assert_eq!(world.actors.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ACTORS);
    let mut wrong = Vec::new();
    let mut cells = 0;
    for (action, allowed_status, allowed) in EXPECTATIONS {
        for (actor, user) in &world.actors {
            let resp = world.perform(action, user).await;
            cells += 1;
            let (expected, code) =
                if allowed.contains(actor) { (allowed_status, None) } else { (403, Some("forbidden")) };
            if resp.status != expected || (code.is_some() && resp.error_code() != code) {
                wrong.push(format!(
                    "{actor:>18} × {action:<18} expected {expected} {} got {}",
                    code.unwrap_or(""),
                    resp
                ));
            }
        }
    }
    assert_eq!(cells, ACTORS.len() * EXPECTATIONS.len());
    assert!(wrong.is_empty(), "{} of {cells} cells are wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// Counts of what vendor B holds, to prove A's attempts changed nothing.
async fn snapshot(app: &TestApp, vendor: &TestVendor) -> Value {
    let token = vendor.owner.token();
    let v = app.get_vendor(token, &vendor.id).await;
    let staff = app.list_staff(token, &vendor.id).await;
    let invitations = app.list_invitations(token, &vendor.id).await;
    let locations = app.list_locations(token, &vendor.id).await;
    json!({
        "vendor": v.expect(200),
        "staff": staff.expect(200)["items"],
        "invitations": invitations.expect(200)["items"],
        "locations": locations.expect(200)["items"],
    })
}

#[tokio::test]
async fn vendor_a_can_never_read_or_change_vendor_b() {
    let app = TestApp::new();
    let a = app.vendor_owner().await;
    let b = app.vendor_owner().await;
    let a_manager = app.staff(&a, "inventory_manager").await;
    let b_staff = app.staff(&b, "viewer").await;
    app.create_location(b.owner.token(), &b.id, &TestApp::location_body()).await.expect(201);
    let before = snapshot(&app, &b).await;

    for attacker in [&a.owner, &a_manager] {
        let t = attacker.token();
        let answers = [
            app.get_vendor(t, &b.id).await,
            app.update_vendor(t, &b.id, &json!({ "name": "Hijacked" })).await,
            app.list_staff(t, &b.id).await,
            app.invite(t, &b.id, &unique_email(), "viewer").await,
            app.invite(t, &b.id, &attacker.email, "viewer").await,
            app.list_invitations(t, &b.id).await,
            app.update_staff_role(t, &b.id, &b_staff.id, "inventory_manager").await,
            app.remove_staff(t, &b.id, &b_staff.id).await,
            app.update_staff_role(t, &b.id, &b.owner.id, "viewer").await,
            app.remove_staff(t, &b.id, &b.owner.id).await,
            app.create_location(t, &b.id, &TestApp::location_body()).await,
            app.list_locations(t, &b.id).await,
            app.list_forecasts(t, &b.id, "").await,
            app.replenishment(t, &b.id, "").await,
            app.run_forecast(t, &b.id).await,
        ];
        for resp in answers {
            resp.expect_error(403, "forbidden");
        }
    }
    // Reaching B's staff through A's own vendor finds nobody.
    app.update_staff_role(a.owner.token(), &a.id, &b_staff.id, "inventory_manager")
        .await
        .expect_error(404, "not_found");
    app.remove_staff(a.owner.token(), &a.id, &b_staff.id).await.expect_error(404, "not_found");

    assert_eq!(snapshot(&app, &b).await, before, "vendor B is unchanged");
    assert_eq!(app.me(b_staff.token()).await.expect(200)["vendor_role"], "viewer");
}

#[tokio::test]
async fn a_suspended_vendors_members_can_read_but_change_nothing_until_reinstated() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let manager = app.staff(&vendor, "inventory_manager").await;
    let viewer = app.staff(&vendor, "viewer").await;
    let admin = app.admin().await;
    let owner = vendor.owner.token();

    let resp = app.set_vendor_status(admin.token(), &vendor.id, "suspended", Some("unpaid fees")).await;
    let suspended = resp.expect(200);
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["status_reason"], "unpaid fees");

    // Reads still work, for every member and for platform staff.
    for reader in [owner, manager.token(), viewer.token(), admin.token()] {
        let v = app.get_vendor(reader, &vendor.id).await;
        assert_eq!(v.expect(200)["status"], "suspended");
        app.list_staff(reader, &vendor.id).await.expect(200);
        app.list_locations(reader, &vendor.id).await.expect(200);
    }
    let invitations = app.list_invitations(owner, &vendor.id).await;
    assert_eq!(invitations.status, 200, "the owner may still read the vendor's invitations: {invitations}");

    // Every write is refused with vendor_suspended.
    let writes = [
        app.update_vendor(owner, &vendor.id, &json!({ "name": "Still trading" })).await,
        app.invite(owner, &vendor.id, &unique_email(), "viewer").await,
        app.update_staff_role(owner, &vendor.id, &viewer.id, "catalog_editor").await,
        app.remove_staff(owner, &vendor.id, &viewer.id).await,
        app.create_location(owner, &vendor.id, &TestApp::location_body()).await,
        app.create_location(manager.token(), &vendor.id, &TestApp::location_body()).await,
        app.run_forecast(manager.token(), &vendor.id).await,
    ];
    for resp in writes {
        resp.expect_error(403, "vendor_suspended");
    }
    // A role that could not write anyway is still told it is forbidden.
    app.create_location(viewer.token(), &vendor.id, &TestApp::location_body()).await.expect_error(403, "forbidden");
    assert_eq!(app.list_staff(owner, &vendor.id).await.items().len(), 3, "nobody was removed");
    assert!(app.list_locations(owner, &vendor.id).await.items().is_empty(), "no location was added");

    let reinstated = app.set_vendor_status(admin.token(), &vendor.id, "active", None).await;
    assert_eq!(reinstated.expect(200)["status"], "active");
    assert!(reinstated.json.get("status_reason").is_none(), "{reinstated}");
    app.update_vendor(owner, &vendor.id, &json!({ "name": "Trading again" })).await.expect(200);
    app.create_location(manager.token(), &vendor.id, &TestApp::location_body()).await.expect(201);
    app.invite(owner, &vendor.id, &unique_email(), "viewer").await.expect(201);
    app.update_staff_role(owner, &vendor.id, &viewer.id, "catalog_editor").await.expect(200);
}

#[tokio::test]
async fn support_may_read_a_vendor_but_never_change_it() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let support = app.user_with_platform_role("support").await;
    let t = support.token();
    assert_eq!(app.get_vendor(t, &vendor.id).await.expect(200)["id"], vendor.id.as_str());
    app.update_vendor(t, &vendor.id, &json!({ "name": "Support was here" })).await.expect_error(403, "forbidden");
    app.set_vendor_status(t, &vendor.id, "suspended", None).await.expect_error(403, "forbidden");
    app.set_user_roles(t, &support.id, &["admin"]).await.expect_error(403, "forbidden");
    let v = app.get_vendor(vendor.owner.token(), &vendor.id).await;
    assert_eq!(v.expect(200)["name"], vendor.name.as_str());
    assert_eq!(v.json["status"], "active");
    let me = app.me(t).await;
    assert_eq!(me.expect(200)["roles"], json!(["customer", "support"]));
}
