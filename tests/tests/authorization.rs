//! Who may do what: every role and every kind of API key against every vendor and admin action,
//! vendor isolation, suspension.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use stockyard_domain::ids::{LocationId, ProductId, VariantId};
use stockyard_tests::{
    ApiResponse, Method, TestApp, TestUser, TestVendor, daily_history, repo_root, today, unique_email, unique_tag,
};

/// Everyone the matrix asks, by the name the expectations use: people, then API keys.
const ACTORS: [&str; 16] = [
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
    // the vendor's keys: one for the world's channel (sales and returns), one for another channel of
    // the vendor, one for the world's location (every scan), one for the whole vendor (everything)
    "channel_key",
    "other_channel_key",
    "location_key",
    "vendor_key",
    // a key of another vendor, for its whole vendor, with every permission
    "other_vendor_key",
];

/// Every key permission there is.
const ALL_KEY_PERMISSIONS: [&str; 6] =
    ["channel_sales", "channel_returns", "scan_receive", "scan_count", "scan_move", "scan_sell"];

/// Who may read a vendor: its members, and platform admin and support.
const READERS: &[&str] =
    &["owner", "catalog_editor", "inventory_manager", "order_handler", "viewer", "admin", "support"];

/// Who may read demand data (sales, forecasts, suggestions): commercially sensitive, so not catalog
/// editors, order handlers or platform staff.
const DEMAND_READERS: &[&str] = &["owner", "inventory_manager", "viewer"];

/// One row of the matrix: an action, the route it calls (as template.yaml names it), the status it
/// answers when allowed, and who is allowed; everyone else gets 403 (404 on a hidden action).
struct Action {
    name: &'static str,
    route: &'static str,
    status: u16,
    allowed: &'static [&'static str],
    /// The route names the vendor's record by its own id (a coupon): a person who may not read the
    /// vendor finds nothing (404), so nobody learns which records another vendor has; a reader who
    /// may not do it, and an API key, are refused (403).
    hidden: bool,
}

const fn action(name: &'static str, route: &'static str, status: u16, allowed: &'static [&'static str]) -> Action {
    Action { name, route, status, allowed, hidden: false }
}

/// An action on a record named by its own id (see [`Action::hidden`]).
const fn hidden_action(
    name: &'static str,
    route: &'static str,
    status: u16,
    allowed: &'static [&'static str],
) -> Action {
    Action { name, route, status, allowed, hidden: true }
}

/// Who may write the vendor's catalog.
const CATALOG_WRITERS: &[&str] = &["owner", "catalog_editor"];

/// Who may see and handle the vendor's orders (customers' addresses among them): not platform staff.
const ORDER_HANDLERS: &[&str] = &["owner", "order_handler"];

/// Who may pack and ship the vendor's orders: its owner and order handlers, and the platform's
/// warehouse staff.
const FULFILLERS: &[&str] = &["owner", "order_handler", "warehouse_staff"];

/// Who may read pick lists and parcels: those who ship, and platform admin and support.
const FULFILMENT_READERS: &[&str] = &["owner", "order_handler", "warehouse_staff", "admin", "support"];

/// Who may change stock: the owner and inventory managers.
const STOCK_WRITERS: &[&str] = &["owner", "inventory_manager"];

/// Who may read stock: every member but catalog editors, and platform admin and support.
const STOCK_READERS: &[&str] = &["owner", "inventory_manager", "order_handler", "viewer", "admin", "support"];

/// Who may read the vendor's webhook endpoints and deliveries (the owner alone changes them).
const WEBHOOK_READERS: &[&str] = &["owner", "inventory_manager"];

/// Who may post sales and returns to the world's channel: stock writers, and the keys whose scope
/// covers that channel.
const CHANNEL_WRITERS: &[&str] = &["owner", "inventory_manager", "channel_key", "vendor_key"];

/// Who may scan at the world's location: stock writers, and the keys whose scope covers it.
const SCANNERS: &[&str] = &["owner", "inventory_manager", "location_key", "vendor_key"];

const ACTIONS: [Action; 94] = [
    action("get vendor", "GET /vendors/{vendorId}", 200, READERS),
    action("update vendor", "PATCH /vendors/{vendorId}", 200, &["owner"]),
    action("list staff", "GET /vendors/{vendorId}/staff", 200, READERS),
    action("invite", "POST /vendors/{vendorId}/invitations", 201, &["owner"]),
    action("list invitations", "GET /vendors/{vendorId}/invitations", 200, &["owner"]),
    action("change role", "PUT /vendors/{vendorId}/staff/{userId}", 200, &["owner"]),
    action("remove staff", "DELETE /vendors/{vendorId}/staff/{userId}", 204, &["owner"]),
    action("create location", "POST /vendors/{vendorId}/locations", 201, &["owner", "inventory_manager"]),
    action("list locations", "GET /vendors/{vendorId}/locations", 200, READERS),
    action("put shipping", "PUT /vendors/{vendorId}/shipping", 200, STOCK_WRITERS),
    action("get shipping", "GET /vendors/{vendorId}/shipping", 200, READERS),
    action("list vendor orders", "GET /vendors/{vendorId}/orders", 200, ORDER_HANDLERS),
    action("get vendor order", "GET /vendors/{vendorId}/orders/{orderId}", 200, ORDER_HANDLERS),
    action("get pick list", "GET /vendors/{vendorId}/locations/{locationId}/pick-list", 200, FULFILMENT_READERS),
    action("create shipment", "POST /vendors/{vendorId}/orders/{orderId}/shipments", 201, FULFILLERS),
    action("list shipments", "GET /vendors/{vendorId}/orders/{orderId}/shipments", 200, FULFILMENT_READERS),
    action(
        "get packing slip",
        "GET /vendors/{vendorId}/orders/{orderId}/shipments/{shipmentId}/packing-slip",
        200,
        FULFILMENT_READERS,
    ),
    action("list vendor returns", "GET /vendors/{vendorId}/returns", 200, ORDER_HANDLERS),
    action("get vendor return", "GET /vendors/{vendorId}/returns/{returnId}", 200, ORDER_HANDLERS),
    action("decide return", "POST /vendors/{vendorId}/returns/{returnId}/decision", 200, ORDER_HANDLERS),
    action("receive return", "POST /vendors/{vendorId}/returns/{returnId}/receipt", 201, ORDER_HANDLERS),
    action("send refund", "POST /vendors/{vendorId}/returns/{returnId}/refund", 200, ORDER_HANDLERS),
    action("admin list users", "GET /admin/users", 200, &["admin", "support"]),
    action("admin list vendors", "GET /admin/vendors", 200, &["admin", "support"]),
    action("set vendor status", "PUT /admin/vendors/{vendorId}/status", 200, &["admin"]),
    action("set user roles", "PUT /admin/users/{userId}/roles", 200, &["admin"]),
    action(
        "put demand settings",
        "PUT /vendors/{vendorId}/demand/{locationId}/{sku}",
        200,
        &["owner", "inventory_manager"],
    ),
    action(
        "record sales",
        "POST /vendors/{vendorId}/demand/{locationId}/{sku}/sales",
        200,
        &["owner", "inventory_manager"],
    ),
    action("run forecast", "POST /vendors/{vendorId}/forecast-runs", 201, &["owner", "inventory_manager"]),
    action("list forecasts", "GET /vendors/{vendorId}/forecasts", 200, DEMAND_READERS),
    action("get sku forecast", "GET /vendors/{vendorId}/forecasts/{sku}", 200, DEMAND_READERS),
    action("get replenishment", "GET /vendors/{vendorId}/replenishment", 200, DEMAND_READERS),
    action("create product", "POST /vendors/{vendorId}/products", 201, CATALOG_WRITERS),
    action("list products", "GET /vendors/{vendorId}/products", 200, READERS),
    action("get product", "GET /vendors/{vendorId}/products/{productId}", 200, READERS),
    action("update product", "PATCH /vendors/{vendorId}/products/{productId}", 200, CATALOG_WRITERS),
    action("set product status", "PUT /vendors/{vendorId}/products/{productId}/status", 200, CATALOG_WRITERS),
    action("create variant", "POST /vendors/{vendorId}/products/{productId}/variants", 201, CATALOG_WRITERS),
    action(
        "update variant",
        "PATCH /vendors/{vendorId}/products/{productId}/variants/{variantId}",
        200,
        CATALOG_WRITERS,
    ),
    action(
        "put translation",
        "PUT /vendors/{vendorId}/products/{productId}/translations/{locale}",
        200,
        CATALOG_WRITERS,
    ),
    action("create image", "POST /vendors/{vendorId}/products/{productId}/images", 201, CATALOG_WRITERS),
    action("get image", "GET /vendors/{vendorId}/products/{productId}/images/{imageId}", 200, READERS),
    action("look up barcode", "GET /vendors/{vendorId}/barcodes/{code}", 200, READERS),
    action(
        "get barcode label",
        "GET /vendors/{vendorId}/products/{productId}/variants/{variantId}/label",
        200,
        READERS,
    ),
    action("create import", "POST /vendors/{vendorId}/imports", 201, CATALOG_WRITERS),
    action("start import", "POST /vendors/{vendorId}/imports/{importId}/start", 202, CATALOG_WRITERS),
    action("get import", "GET /vendors/{vendorId}/imports/{importId}", 200, CATALOG_WRITERS),
    action("create export", "POST /vendors/{vendorId}/exports", 202, CATALOG_WRITERS),
    action("get export", "GET /vendors/{vendorId}/exports/{exportId}", 200, CATALOG_WRITERS),
    action("adjust stock", "POST /vendors/{vendorId}/stock/adjustments", 201, STOCK_WRITERS),
    action("count stock", "POST /vendors/{vendorId}/stock/counts", 201, STOCK_WRITERS),
    action("update stock settings", "PATCH /vendors/{vendorId}/skus/{sku}/stock/{locationId}", 200, STOCK_WRITERS),
    action("get sku stock", "GET /vendors/{vendorId}/skus/{sku}/stock", 200, STOCK_READERS),
    action("list stock", "GET /vendors/{vendorId}/stock", 200, STOCK_READERS),
    action("get stock summary", "GET /vendors/{vendorId}/stock/summary", 200, STOCK_READERS),
    action("list expiring stock", "GET /vendors/{vendorId}/stock/expiring", 200, STOCK_READERS),
    action("list stock movements", "GET /vendors/{vendorId}/skus/{sku}/movements", 200, STOCK_READERS),
    action("create transfer", "POST /vendors/{vendorId}/transfers", 201, STOCK_WRITERS),
    action("receive transfer", "POST /vendors/{vendorId}/transfers/{transferId}/receive", 200, STOCK_WRITERS),
    action("list transfers", "GET /vendors/{vendorId}/transfers", 200, STOCK_READERS),
    action("create supplier", "POST /vendors/{vendorId}/suppliers", 201, STOCK_WRITERS),
    action("list suppliers", "GET /vendors/{vendorId}/suppliers", 200, STOCK_READERS),
    action("get supplier", "GET /vendors/{vendorId}/suppliers/{supplierId}", 200, STOCK_READERS),
    action("update supplier", "PATCH /vendors/{vendorId}/suppliers/{supplierId}", 200, STOCK_WRITERS),
    action("create purchase order", "POST /vendors/{vendorId}/purchase-orders", 201, STOCK_WRITERS),
    action("list purchase orders", "GET /vendors/{vendorId}/purchase-orders", 200, STOCK_READERS),
    action("get purchase order", "GET /vendors/{vendorId}/purchase-orders/{purchaseOrderId}", 200, STOCK_READERS),
    action("update purchase order", "PATCH /vendors/{vendorId}/purchase-orders/{purchaseOrderId}", 200, STOCK_WRITERS),
    action(
        "send purchase order",
        "POST /vendors/{vendorId}/purchase-orders/{purchaseOrderId}/send",
        200,
        STOCK_WRITERS,
    ),
    action(
        "cancel purchase order",
        "POST /vendors/{vendorId}/purchase-orders/{purchaseOrderId}/cancel",
        200,
        STOCK_WRITERS,
    ),
    action(
        "receive purchase order",
        "POST /vendors/{vendorId}/purchase-orders/{purchaseOrderId}/receipts",
        201,
        STOCK_WRITERS,
    ),
    action("orders from suggestions", "POST /vendors/{vendorId}/purchase-orders/from-suggestions", 201, STOCK_WRITERS),
    action("create channel", "POST /vendors/{vendorId}/channels", 201, STOCK_WRITERS),
    action("list channels", "GET /vendors/{vendorId}/channels", 200, READERS),
    action("record channel sales", "POST /vendors/{vendorId}/channels/{channelId}/sales", 200, CHANNEL_WRITERS),
    action("record channel returns", "POST /vendors/{vendorId}/channels/{channelId}/returns", 200, CHANNEL_WRITERS),
    action("list sales", "GET /vendors/{vendorId}/sales", 200, DEMAND_READERS),
    action("list stock alerts", "GET /vendors/{vendorId}/alerts", 200, STOCK_READERS),
    action("get daily sales", "GET /vendors/{vendorId}/demand/{locationId}/{sku}/sales", 200, DEMAND_READERS),
    action("acknowledge stock alert", "POST /vendors/{vendorId}/alerts/{alertId}/acknowledge", 200, STOCK_WRITERS),
    action("create webhook endpoint", "POST /vendors/{vendorId}/webhooks", 201, &["owner"]),
    action("list webhook endpoints", "GET /vendors/{vendorId}/webhooks", 200, WEBHOOK_READERS),
    action("get webhook endpoint", "GET /vendors/{vendorId}/webhooks/{webhookId}", 200, WEBHOOK_READERS),
    action("update webhook endpoint", "PATCH /vendors/{vendorId}/webhooks/{webhookId}", 200, &["owner"]),
    action("delete webhook endpoint", "DELETE /vendors/{vendorId}/webhooks/{webhookId}", 204, &["owner"]),
    action("list webhook deliveries", "GET /vendors/{vendorId}/webhooks/{webhookId}/deliveries", 200, WEBHOOK_READERS),
    action("create api key", "POST /vendors/{vendorId}/api-keys", 201, &["owner"]),
    action("list api keys", "GET /vendors/{vendorId}/api-keys", 200, &["owner"]),
    action("revoke api key", "POST /vendors/{vendorId}/api-keys/{apiKeyId}/revoke", 200, &["owner"]),
    action("record scans", "POST /vendors/{vendorId}/scans", 200, SCANNERS),
    action("create coupon", "POST /coupons", 201, CATALOG_WRITERS),
    action("list coupons", "GET /coupons", 200, READERS),
    hidden_action("get coupon", "GET /coupons/{couponId}", 200, READERS),
    hidden_action("update coupon", "PATCH /coupons/{couponId}", 200, CATALOG_WRITERS),
];

/// The vendor's shipping: one zone and one service (the owner sets it before the matrix runs).
fn shipping_body() -> Value {
    json!({
        "zones": [{ "code": "HOME", "name": "Home market", "countries": ["GB"] }],
        "services": [{ "zone_code": "HOME", "code": "STANDARD", "carrier": "Royal Mail", "name": "Tracked 48",
                       "rates": [{ "up_to_g": 2000, "price": { "amount": 395, "currency": "GBP" } }],
                       "max_weight_g": 20000, "max_length_mm": 1000, "transit_days_min": 2, "transit_days_max": 3 }],
        "calendar": { "utc_offset_minutes": 0, "cutoff": "14:00:00",
                      "working_days": { "monday": true, "tuesday": true, "wednesday": true, "thursday": true,
                                        "friday": true, "saturday": false, "sunday": false } }
    })
}

/// Cells of the matrix running at one moment, so that the local stack on two shared cores answers
/// within its functions' timeouts: the whole matrix at once (1,120 cells) did not, nor did 512 at
/// once beside three other tests (stock writes of one vendor racing each other past 10 s). 48 at
/// once finished the 1,360 cells alone in 26.6 s, 512 in 29.4 s.
const CELLS_IN_FLIGHT: usize = 48;

/// The SKU the vendor has forecasts for before the matrix runs (it orders from ACME: none on hand).
const FORECAST_SKU: &str = "STOCKED";

/// The SKU the matrix's own demand writes go to.
const MATRIX_SKU: &str = "MATRIX-1";

struct World {
    app: TestApp,
    vendor: TestVendor,
    /// A staff member whose role the actors try to change.
    role_target: TestUser,
    /// A staff member the actors try to remove.
    removal_target: TestUser,
    /// A customer whose platform roles the actors try to set.
    roles_target: TestUser,
    /// A location of the vendor, for demand settings, sales and forecasts.
    location: String,
    /// A second location, where transfers go.
    destination: String,
    /// A point-of-sale channel of the vendor, selling from `location`.
    channel: String,
    /// Today, read once: sales are recorded for the day before.
    today: NaiveDate,
    /// A category without attributes, and a draft product of the vendor in it.
    category: String,
    product: String,
    /// The product's variant (its SKU), and an image slot on the product.
    variant: String,
    sku: String,
    image: String,
    /// An import and an export the owner made.
    import: String,
    export: String,
    /// A supplier of the vendor (packs of 2) and a draft purchase order to it, for a location of
    /// its own (receipts and incoming do not contend with the other cells' stock changes).
    receiving: String,
    /// A location of its own where the cells scan (the location key's scope).
    scanning: String,
    /// A transfer in transit to `destination` for each caller (by its id) to receive.
    shipments: HashMap<String, String>,
    supplier: String,
    purchase_order: String,
    /// A webhook endpoint of the vendor, and one the delete cells try to remove (only the owner's
    /// succeeds: the others are refused before anything is read).
    webhook: String,
    doomed_webhook: String,
    /// A coupon of the vendor, made by the owner.
    coupon: String,
    /// An order of the vendor (placed through the store, holding nothing).
    order: String,
    /// Per caller, a paid order of one unit held at `picking`, for its shipment cell.
    paid_orders: HashMap<String, String>,
    /// Where the paid orders wait to be picked.
    picking: String,
    /// An order shipped in one parcel (order id, shipment id) whose packing slip is written.
    shipped: (String, String),
    /// Per caller, a requested return to decide on, and an approved one (of a shipped unit) to
    /// receive.
    returns_to_decide: HashMap<String, String>,
    returns_to_receive: HashMap<String, String>,
    /// A return received, whose refund the provider has not taken (its payment is not one the
    /// provider knows): sending it again answers it as it stands.
    received_return: String,
    actors: Vec<(&'static str, TestUser)>,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::new();
        let today = today();
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
        let (_, other_vendor_key) = app.api_key(&other, json!({ "kind": "vendor" }), &ALL_KEY_PERMISSIONS).await;
        let mut actors = vec![
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
        let owner = vendor.owner.token();
        let location = app.create_location(owner, &vendor.id, &TestApp::location_body()).await;
        let location = location.expect(201)["id"].as_str().expect("a location id").to_string();
        let destination = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
        // Forecasts to read: eight weeks of 5 a day, up to today (a run reads up to yesterday).
        // No supplier: the suggestion is listed, and left out of drafts made from suggestions.
        let settings = TestApp::demand_settings(None, 0);
        app.put_demand_settings(owner, &vendor.id, &location, FORECAST_SKU, &settings).await.expect(200);
        app.record_history(owner, &vendor.id, &location, FORECAST_SKU, &daily_history(today, 56, |_| 5)).await;
        app.run_forecast(owner, &vendor.id).await.expect(201);
        let admin = &actors.iter().find(|(name, _)| *name == "admin").expect("an admin").1;
        let category = app.plain_category(admin).await;
        let product = app.draft_product(owner, &vendor.id, &category).await;
        let variant = app.create_variant(owner, &vendor.id, &product, &TestApp::variant_body()).await;
        let (variant, sku) = (variant.id(), variant.str("/sku"));
        let slot = json!({ "content_type": "image/png", "content_length": 1000 });
        let image = app
            .request(
                Method::POST,
                &format!("/vendors/{}/products/{product}/images", vendor.id),
                Some(owner),
                Some(&slot),
                &[],
            )
            .await;
        let image = image.expect(201)["image"]["id"].as_str().expect("an image id").to_string();
        let import = app.create_import(owner, &vendor.id).await.expect(201)["id"].as_str().unwrap().to_string();
        let export = app.create_export(owner, &vendor.id).await.expect(202)["id"].as_str().unwrap().to_string();
        let stock = json!({ "sku": sku, "location_id": location, "quantity": 1000, "reason": "received" });
        app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
        // one transfer before the matrix, so that the vendor has one to list
        let transfer =
            json!({ "sku": sku, "from_location_id": location, "to_location_id": destination, "quantity": 1 });
        app.request(Method::POST, &format!("/vendors/{}/transfers", vendor.id), Some(owner), Some(&transfer), &[])
            .await
            .expect(201);
        let receiving = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
        let supplier = app.create_supplier(owner, &vendor.id, &TestApp::supplier_body(&unique_email(), 2)).await.id();
        let order = json!({ "supplier_id": supplier, "location_id": receiving,
                            "lines": [{ "sku": sku, "quantity": 2, "unit_cost": 150 }] });
        let purchase_order = app.create_purchase_order(owner, &vendor.id, &order).await.id();
        // The channel sells from a location of its own, and scans happen at another: the cells'
        // sales and scans do not contend with the other cells' changes of the world's stock item.
        let selling = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
        let stock = json!({ "sku": sku, "location_id": selling, "quantity": 1000, "reason": "received" });
        app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
        let scanning = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
        let channel = app.create_channel(owner, &vendor.id, "pos", &selling).await;
        let first_sale = json!([{ "sale_id": "matrix-0", "sku": sku, "quantity": 1 }]);
        app.channel_sales(owner, &vendor.id, &channel, first_sale).await.expect(200);
        let other_channel = app.create_channel(owner, &vendor.id, "marketplace", &selling).await;
        let sales_and_returns = ["channel_sales", "channel_returns"];
        let scans = ["scan_receive", "scan_count", "scan_move", "scan_sell"];
        let keys = [
            ("channel_key", json!({ "kind": "channel", "channel_id": channel }), &sales_and_returns[..]),
            ("other_channel_key", json!({ "kind": "channel", "channel_id": other_channel }), &sales_and_returns[..]),
            ("location_key", json!({ "kind": "location", "location_id": scanning }), &scans[..]),
            ("vendor_key", json!({ "kind": "vendor" }), &ALL_KEY_PERMISSIONS[..]),
        ];
        for (name, scope, permissions) in keys {
            let (id, key) = app.api_key(&vendor, scope, permissions).await;
            actors.push((name, TestApp::key_caller(&id, &key)));
        }
        actors.push(("other_vendor_key", TestApp::key_caller("other-vendor", &other_vendor_key)));
        // A transfer in transit for each caller to receive, sent one after another now: sixteen
        // sent at once from one stock item by the cells would contend for it longer than a change
        // waits (503).
        let shipping = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
        let stock = json!({ "sku": sku, "location_id": shipping, "quantity": 100, "reason": "received" });
        app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
        let mut shipments = HashMap::new();
        for (_, user) in &actors {
            let body =
                json!({ "sku": sku, "from_location_id": shipping, "to_location_id": destination, "quantity": 1 });
            let path = format!("/vendors/{}/transfers", vendor.id);
            let sent = app.request(Method::POST, &path, Some(owner), Some(&body), &[]).await;
            shipments.insert(user.id.clone(), sent.expect(201)["transfer"]["id"].as_str().unwrap().to_string());
        }
        // one alert before the matrix, so that the vendor has one to list
        app.fresh_alert(&vendor, &sku).await;
        // a near-expiry window of the vendor's own, which its expiry report uses
        app.update_vendor(owner, &vendor.id, &json!({ "near_expiry_days": 9 })).await.expect(200);
        // disabled: the matrix's stock changes are sent nowhere
        let hook = json!({ "url": "https://hooks.example/matrix", "events": ["stock.low"], "enabled": false });
        let webhook = app.create_webhook(owner, &vendor.id, &hook).await.id();
        let doomed_webhook = app.create_webhook(owner, &vendor.id, &hook).await.id();
        // shipping, which the matrix reads and sends again unchanged
        let shipping = format!("/vendors/{}/shipping", vendor.id);
        app.request(Method::PUT, &shipping, Some(owner), Some(&shipping_body()), &[]).await.expect(200);
        let coupon = app.create_coupon(owner, &TestApp::coupon_body(Some(&vendor.id))).await.id();
        let ids = (
            &vendor,
            VariantId::parse("variant", &variant).unwrap(),
            ProductId::parse("product", &product).unwrap(),
            LocationId::parse("location", &location).unwrap(),
        );
        let order =
            app.place_through_store(ids, 0, Utc::now() + chrono::Duration::hours(1)).await.orders[0].1.to_string();
        // A paid order of one unit for each caller's shipment cell, from a location of their own.
        let picking = app.create_location(owner, &vendor.id, &TestApp::location_body()).await.id();
        let stock = json!({ "sku": sku, "location_id": picking, "quantity": 100, "reason": "received" });
        app.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
        let mut paid_orders = HashMap::new();
        let at_picking = (ids.0, ids.1, ids.2, LocationId::parse("location", &picking).unwrap());
        for (_, user) in &actors {
            let group = app.place_through_store(at_picking, 1, Utc::now() + chrono::Duration::hours(1)).await;
            app.pay_through_store(group.id).await;
            paid_orders.insert(user.id.clone(), group.orders[0].1.to_string());
        }
        let group = app.place_through_store(at_picking, 1, Utc::now() + chrono::Duration::hours(1)).await;
        app.pay_through_store(group.id).await;
        let shipped_order = group.orders[0].1.to_string();
        let parcel = json!({ "location_id": picking, "lines": [{ "sku": "SKU", "quantity": 1 }], "carrier": "DHL" });
        let path = format!("/vendors/{}/orders/{shipped_order}/shipments", vendor.id);
        let sent = app.request(Method::POST, &path, Some(owner), Some(&parcel), &[]).await;
        let shipment = sent.expect(201)["shipment"]["id"].as_str().unwrap().to_string();
        let slip = format!("{path}/{shipment}/packing-slip");
        stockyard_tests::eventually("the world's packing slip", || async {
            (app.request(Method::GET, &slip, Some(owner), None, &[]).await.status == 200).then_some(())
        })
        .await;
        let shipped = (shipped_order, shipment);
        // Returns: one requested and one approved per caller, and one received.
        let mut returns_to_decide = HashMap::new();
        let mut returns_to_receive = HashMap::new();
        for (_, user) in &actors {
            let to_decide = app.return_through_store(at_picking, false).await;
            returns_to_decide.insert(user.id.clone(), to_decide);
            returns_to_receive.insert(user.id.clone(), app.return_through_store(at_picking, true).await);
        }
        let received_return = app.return_through_store(at_picking, true).await;
        let receipt = json!({ "lines": [{ "sku": "SKU", "restocked": 1 }] });
        let path = format!("/vendors/{}/returns/{received_return}/receipt", vendor.id);
        app.request(Method::POST, &path, Some(owner), Some(&receipt), &[]).await.expect(201);
        Self {
            app,
            vendor,
            role_target,
            removal_target,
            roles_target,
            location,
            destination,
            channel,
            today,
            category,
            product,
            variant,
            sku,
            image,
            import,
            export,
            receiving,
            scanning,
            shipments,
            supplier,
            purchase_order,
            webhook,
            doomed_webhook,
            coupon,
            order,
            paid_orders,
            picking,
            shipped,
            returns_to_decide,
            returns_to_receive,
            received_return,
            actors,
        }
    }

    /// A draft order of two units of the world's SKU from its supplier to its location.
    fn purchase_order_body(&self) -> Value {
        json!({ "supplier_id": self.supplier, "location_id": self.receiving,
                "lines": [{ "sku": self.sku, "quantity": 2, "unit_cost": 150 }] })
    }

    /// A fresh draft made by the owner (cells run at once: each changes an order of its own).
    async fn fresh_purchase_order(&self, send: bool) -> String {
        let (app, v, owner) = (&self.app, self.vendor.id.as_str(), self.vendor.owner.token());
        let id = app.create_purchase_order(owner, v, &self.purchase_order_body()).await.id();
        if send {
            app.purchase_order_action(owner, v, &id, "send").await.expect(200);
        }
        id
    }

    /// One unit of the world's SKU, from its location to the other.
    fn transfer_body(&self) -> Value {
        json!({ "sku": self.sku, "from_location_id": self.location, "to_location_id": self.destination, "quantity": 1 })
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
            // Every cell sends what the owner set when the world was made: it changes nothing, so
            // cells running at once never meet one another's changes.
            "put shipping" => {
                let path = format!("/vendors/{v}/shipping");
                app.request(Method::PUT, &path, Some(token), Some(&shipping_body()), &[]).await
            }
            "get shipping" => app.request(Method::GET, &format!("/vendors/{v}/shipping"), Some(token), None, &[]).await,
            "list vendor orders" => {
                app.request(Method::GET, &format!("/vendors/{v}/orders"), Some(token), None, &[]).await
            }
            "get vendor order" => {
                let path = format!("/vendors/{v}/orders/{}", self.order);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "get pick list" => {
                let path = format!("/vendors/{v}/locations/{}/pick-list?limit=100", self.picking);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "create shipment" => {
                let path = format!("/vendors/{v}/orders/{}/shipments", self.paid_orders[&actor.id]);
                let parcel = json!({ "location_id": self.picking, "lines": [{ "sku": "SKU", "quantity": 1 }],
                                     "carrier": "DHL", "tracking_number": format!("MX{}", unique_tag()) });
                app.request(Method::POST, &path, Some(token), Some(&parcel), &[]).await
            }
            "list shipments" => {
                let path = format!("/vendors/{v}/orders/{}/shipments", self.order);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "get packing slip" => {
                let (order, shipment) = &self.shipped;
                let path = format!("/vendors/{v}/orders/{order}/shipments/{shipment}/packing-slip");
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "list vendor returns" => {
                app.request(Method::GET, &format!("/vendors/{v}/returns?limit=5"), Some(token), None, &[]).await
            }
            "get vendor return" => {
                let path = format!("/vendors/{v}/returns/{}", self.received_return);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "decide return" => {
                let path = format!("/vendors/{v}/returns/{}/decision", self.returns_to_decide[&actor.id]);
                let body = json!({ "decision": "approve" });
                app.request(Method::POST, &path, Some(token), Some(&body), &[]).await
            }
            "receive return" => {
                let path = format!("/vendors/{v}/returns/{}/receipt", self.returns_to_receive[&actor.id]);
                let body = json!({ "lines": [{ "sku": "SKU", "written_off": 1 }] });
                app.request(Method::POST, &path, Some(token), Some(&body), &[]).await
            }
            "send refund" => {
                let path = format!("/vendors/{v}/returns/{}/refund", self.received_return);
                app.request(Method::POST, &path, Some(token), None, &[]).await
            }
            "admin list users" => app.list_users(token, "limit=1").await,
            "admin list vendors" => app.list_vendors(token, "limit=1").await,
            // Keeps the vendor active so the other cells are unaffected.
            "set vendor status" => app.set_vendor_status(token, v, "active", None).await,
            "set user roles" => app.set_user_roles(token, &self.roles_target.id, &["customer"]).await,
            "put demand settings" => {
                let settings = TestApp::demand_settings(None, 3);
                app.put_demand_settings(token, v, &self.location, MATRIX_SKU, &settings).await
            }
            "record sales" => {
                let yesterday = self.today - chrono::Duration::days(1);
                app.record_sales(token, v, &self.location, MATRIX_SKU, &[(yesterday, 2)]).await
            }
            "run forecast" => app.run_forecast(token, v).await,
            "list forecasts" => app.list_forecasts(token, v, "").await,
            "get sku forecast" => app.sku_forecast(token, v, FORECAST_SKU).await,
            "get replenishment" => app.replenishment(token, v, "").await,
            "create product" => {
                let title = format!("Matrix product {}", unique_email());
                app.create_product(token, v, &json!({ "category_id": self.category, "title": title })).await
            }
            "list products" => {
                app.request(Method::GET, &format!("/vendors/{v}/products"), Some(token), None, &[]).await
            }
            "get product" => {
                let path = format!("/vendors/{v}/products/{}", self.product);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "create image" => {
                let path = format!("/vendors/{v}/products/{}/images", self.product);
                let slot = json!({ "content_type": "image/jpeg", "content_length": 2000 });
                app.request(Method::POST, &path, Some(token), Some(&slot), &[]).await
            }
            "get image" => {
                let path = format!("/vendors/{v}/products/{}/images/{}", self.product, self.image);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "look up barcode" => {
                app.request(Method::GET, &format!("/vendors/{v}/barcodes/{}", self.sku), Some(token), None, &[]).await
            }
            "get barcode label" => {
                let path = format!("/vendors/{v}/products/{}/variants/{}/label", self.product, self.variant);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "create import" => app.create_import(token, v).await,
            "start import" => {
                // Each cell starts an import of its own, uploaded by the owner (a file with only a header).
                let owner = self.vendor.owner.token();
                let created = app.create_import(owner, v).await;
                let created = created.expect(201);
                assert_eq!(app.upload(&created["upload"], b"handle,category_id,title,sku\n", None).await, 200);
                app.start_import(token, v, created["id"].as_str().unwrap()).await
            }
            "get import" => app.get_import(token, v, &self.import).await,
            "create export" => app.create_export(token, v).await,
            "get export" => app.get_export(token, v, &self.export).await,
            "adjust stock" => {
                let body = json!({ "sku": self.sku, "location_id": self.location, "quantity": 1, "reason": "found" });
                app.adjust_stock(token, v, &body).await
            }
            "count stock" => {
                let body = json!({ "location_id": self.destination, "lines": [{ "sku": self.sku, "counted": 0 }] });
                app.request(Method::POST, &format!("/vendors/{v}/stock/counts"), Some(token), Some(&body), &[]).await
            }
            "update stock settings" => {
                let path = format!("/vendors/{v}/skus/{}/stock/{}", self.sku, self.location);
                let body = json!({ "reorder_point": 5 });
                app.request(Method::PATCH, &path, Some(token), Some(&body), &[]).await
            }
            "get sku stock" => app.sku_stock(token, v, &self.sku).await,
            "list stock" => app.request(Method::GET, &format!("/vendors/{v}/stock"), Some(token), None, &[]).await,
            "get stock summary" => {
                app.request(Method::GET, &format!("/vendors/{v}/stock/summary"), Some(token), None, &[]).await
            }
            "list expiring stock" => {
                app.request(Method::GET, &format!("/vendors/{v}/stock/expiring"), Some(token), None, &[]).await
            }
            "list stock movements" => {
                let path = format!("/vendors/{v}/skus/{}/movements", self.sku);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "create transfer" => {
                let body = self.transfer_body();
                app.request(Method::POST, &format!("/vendors/{v}/transfers"), Some(token), Some(&body), &[]).await
            }
            "receive transfer" => {
                // the caller's own transfer, sent by the owner before the matrix
                let path = format!("/vendors/{v}/transfers/{}/receive", self.shipments[&actor.id]);
                app.request(Method::POST, &path, Some(token), None, &[]).await
            }
            "list transfers" => {
                app.request(Method::GET, &format!("/vendors/{v}/transfers"), Some(token), None, &[]).await
            }
            "create supplier" => app.create_supplier(token, v, &TestApp::supplier_body(&unique_email(), 2)).await,
            "list suppliers" => {
                app.request(Method::GET, &format!("/vendors/{v}/suppliers"), Some(token), None, &[]).await
            }
            "get supplier" => {
                let path = format!("/vendors/{v}/suppliers/{}", self.supplier);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "update supplier" => {
                // a supplier of its own: concurrent changes of one supplier would race on its version
                let owner = self.vendor.owner.token();
                let supplier = app.create_supplier(owner, v, &TestApp::supplier_body(&unique_email(), 2)).await.id();
                let path = format!("/vendors/{v}/suppliers/{supplier}");
                app.request(Method::PATCH, &path, Some(token), Some(&json!({ "lead_time_days": 3 })), &[]).await
            }
            "create purchase order" => app.create_purchase_order(token, v, &self.purchase_order_body()).await,
            "list purchase orders" => {
                app.request(Method::GET, &format!("/vendors/{v}/purchase-orders"), Some(token), None, &[]).await
            }
            "get purchase order" => app.purchase_order(token, v, &self.purchase_order).await,
            "update purchase order" => {
                let order = self.fresh_purchase_order(false).await;
                let lines = json!({ "lines": [{ "sku": self.sku, "quantity": 4, "unit_cost": 140 }] });
                let path = format!("/vendors/{v}/purchase-orders/{order}");
                app.request(Method::PATCH, &path, Some(token), Some(&lines), &[]).await
            }
            "send purchase order" => {
                app.purchase_order_action(token, v, &self.fresh_purchase_order(false).await, "send").await
            }
            "cancel purchase order" => {
                app.purchase_order_action(token, v, &self.fresh_purchase_order(true).await, "cancel").await
            }
            "receive purchase order" => {
                let order = self.fresh_purchase_order(true).await;
                let receipt = json!({ "lines": [{ "sku": self.sku, "quantity": 2 }] });
                app.receive_purchase_order(token, v, &order, &receipt, None).await
            }
            "orders from suggestions" => app.purchase_orders_from_suggestions(token, v, &json!({}), None).await,
            "create channel" => {
                let body = json!({ "code": format!("CH-{}", unique_tag()), "name": "Matrix till", "kind": "pos",
                                   "location_id": self.location });
                app.request(Method::POST, &format!("/vendors/{v}/channels"), Some(token), Some(&body), &[]).await
            }
            "list channels" => {
                app.request(Method::GET, &format!("/vendors/{v}/channels"), Some(token), None, &[]).await
            }
            "record channel sales" => {
                let sale = json!([{ "sale_id": format!("matrix-{}", unique_tag()), "sku": self.sku, "quantity": 1 }]);
                app.channel_sales(token, v, &self.channel, sale).await
            }
            "record channel returns" => {
                let back = json!([{ "return_id": format!("matrix-{}", unique_tag()), "sku": self.sku, "quantity": 1,
                                    "restock": false }]);
                app.channel_returns(token, v, &self.channel, back).await
            }
            "list sales" => app.request(Method::GET, &format!("/vendors/{v}/sales"), Some(token), None, &[]).await,
            "list stock alerts" => {
                app.request(Method::GET, &format!("/vendors/{v}/alerts"), Some(token), None, &[]).await
            }
            "get daily sales" => {
                let path = format!("/vendors/{v}/demand/{}/{FORECAST_SKU}/sales", self.location);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "create webhook endpoint" => {
                let body = json!({ "url": "https://hooks.example/created", "events": ["stock.availability_changed"],
                                   "enabled": false });
                app.create_webhook(token, v, &body).await
            }
            "list webhook endpoints" => {
                app.request(Method::GET, &format!("/vendors/{v}/webhooks"), Some(token), None, &[]).await
            }
            "get webhook endpoint" => {
                let path = format!("/vendors/{v}/webhooks/{}", self.webhook);
                app.request(Method::GET, &path, Some(token), None, &[]).await
            }
            "update webhook endpoint" => {
                app.update_webhook(token, v, &self.webhook, &json!({ "description": "changed by the matrix" })).await
            }
            "delete webhook endpoint" => {
                let path = format!("/vendors/{v}/webhooks/{}", self.doomed_webhook);
                app.request(Method::DELETE, &path, Some(token), None, &[]).await
            }
            "list webhook deliveries" => app.webhook_deliveries(token, v, &self.webhook, "").await,
            "create api key" => {
                let body = json!({ "name": "Matrix till", "scope": { "kind": "channel", "channel_id": self.channel },
                                   "permissions": ["channel_sales"] });
                app.create_api_key(token, v, &body).await
            }
            "list api keys" => {
                app.request(Method::GET, &format!("/vendors/{v}/api-keys"), Some(token), None, &[]).await
            }
            "revoke api key" => {
                // a fresh key each time, issued by the owner
                let scope = json!({ "kind": "location", "location_id": self.scanning });
                let (key, _) = app.api_key(&self.vendor, scope, &["scan_count"]).await;
                app.revoke_api_key(token, v, &key).await
            }
            "record scans" => {
                let body = json!({ "scan_id": format!("matrix-{}", &unique_tag()[..20]), "reader_id": "MATRIX",
                                   "action": "receive", "location_id": self.scanning,
                                   "reads": [{ "code": self.sku }] });
                app.scan(token, v, &body).await
            }
            "create coupon" => app.create_coupon(token, &TestApp::coupon_body(Some(v))).await,
            "list coupons" => app.list_coupons(token, &format!("vendor_id={v}")).await,
            "get coupon" => app.get_coupon(token, &self.coupon).await,
            "update coupon" => {
                // a coupon of its own: concurrent changes of one coupon would race on its version
                let owner = self.vendor.owner.token();
                let coupon = app.create_coupon(owner, &TestApp::coupon_body(Some(v))).await.id();
                app.update_coupon(token, &coupon, &json!({ "usage_limit": 50 })).await
            }
            "acknowledge stock alert" => {
                let alert = app.fresh_alert(&self.vendor, &self.sku).await;
                let path = format!("/vendors/{v}/alerts/{alert}/acknowledge");
                app.request(Method::POST, &path, Some(token), None, &[]).await
            }
            // Cells run at once: each change acts on a product (and variant) of its own, made by the owner.
            "update product" | "set product status" | "create variant" | "update variant" | "put translation" => {
                let owner = self.vendor.owner.token();
                let product = app.draft_product(owner, v, &self.category).await;
                let base = format!("/vendors/{v}/products/{product}");
                let send = |method: Method, path: String, body: Value| async move {
                    app.request(method, &path, Some(token), Some(&body), &[]).await
                };
                match action {
                    "update product" => send(Method::PATCH, base, json!({ "title": "Renamed by the matrix" })).await,
                    "create variant" => send(Method::POST, format!("{base}/variants"), TestApp::variant_body()).await,
                    "put translation" => {
                        let title = format!("Produit de la matrice {product}");
                        send(Method::PUT, format!("{base}/translations/fr"), json!({ "title": title })).await
                    }
                    _ => {
                        let variant = app.create_variant(owner, v, &product, &TestApp::variant_body()).await;
                        let variant = variant.expect(201)["id"].as_str().unwrap().to_string();
                        if action == "set product status" {
                            send(Method::PUT, format!("{base}/status"), json!({ "status": "published" })).await
                        } else {
                            let prices = json!({ "prices": { "EUR": { "amount": 2500 } } });
                            send(Method::PATCH, format!("{base}/variants/{variant}"), prices).await
                        }
                    }
                }
            }
            other => panic!("unknown action {other}"),
        }
    }

    /// What an allowed call answers: this vendor's own data (its id, its people, its location), in
    /// the shape of the route. Cells run at the same time, so lists are checked for what every
    /// moment of the matrix has, not for exact contents.
    fn check_allowed_body(&self, action: &str, actor: &TestUser, body: &Value) -> Result<(), &'static str> {
        let v = self.vendor.id.as_str();
        let location = self.location.as_str();
        let items = |list: &Value| list["items"].as_array().cloned().unwrap_or_default();
        let all_of_vendor = |list: &[Value]| !list.is_empty() && list.iter().all(|i| i["vendor_id"] == v);
        let all_at_location = |list: &[Value]| list.iter().all(|i| i["location_id"] == location);
        let has_sku = |list: &[Value], sku: &str| list.iter().any(|i| i["sku"] == sku);
        let (ok, expected) = match action {
            "get vendor" => (
                body["id"] == v
                    && body["name"] == self.vendor.name.as_str()
                    && body["owner_id"] == self.vendor.owner.id.as_str(),
                "the vendor, with its name and owner",
            ),
            "update vendor" => {
                (body["id"] == v && body["description"] == "updated by the matrix", "the vendor, updated")
            }
            "list staff" => {
                let staff = items(body);
                (
                    all_of_vendor(&staff) && staff.iter().any(|m| m["user_id"] == self.vendor.owner.id.as_str()),
                    "the vendor's members, its owner among them",
                )
            }
            "invite" => (
                body["vendor_id"] == v
                    && body["role"] == "viewer"
                    && body["status"] == "pending"
                    && body["invited_by"] == actor.id.as_str(),
                "a pending viewer invitation to the vendor, by the caller",
            ),
            "list invitations" => (all_of_vendor(&items(body)), "the vendor's invitations (its staff were invited)"),
            "change role" => (
                body["vendor_id"] == v && body["user_id"] == self.role_target.id.as_str() && body["role"] == "viewer",
                "the member, with the new role",
            ),
            "remove staff" => (body.is_null(), "no body"),
            "create location" => {
                (body["vendor_id"] == v && body["id"].is_string() && body["kind"] == "warehouse", "the new location")
            }
            "list locations" => {
                let locations = items(body);
                (
                    all_of_vendor(&locations) && locations.iter().any(|l| l["id"] == location),
                    "the vendor's locations, the world's among them",
                )
            }
            "list vendor orders" => (
                body["items"].as_array().is_some_and(|items| items.iter().all(|o| o["vendor_id"] == v)),
                "the vendor's orders only",
            ),
            "get vendor order" => (body["id"] == self.order.as_str() && body["vendor_id"] == v, "the vendor's order"),
            "get pick list" => (
                body["location_id"] == self.picking.as_str()
                    && body["lines"].as_array().is_some_and(|lines| {
                        lines.iter().all(|l| l["orders"].as_array().is_some_and(|o| !o.is_empty()))
                    }),
                "the location's pick list",
            ),
            "create shipment" => (
                body["shipment"]["vendor_id"] == v
                    && body["shipment"]["location_id"] == self.picking.as_str()
                    && body["order_status"] == "shipped",
                "the parcel, and the order shipped",
            ),
            "list shipments" => (body["items"].as_array().is_some_and(Vec::is_empty), "the order's parcels (none)"),
            "list vendor returns" => (all_of_vendor(&items(body)), "the vendor's returns"),
            "get vendor return" => (
                body["id"] == self.received_return.as_str()
                    && body["vendor_id"] == v
                    && body["refund"]["amount"].is_object(),
                "the received return with its refund",
            ),
            "decide return" => (
                body["id"] == self.returns_to_decide[&actor.id].as_str() && body["status"] == "approved",
                "the caller's return, approved",
            ),
            "receive return" => (
                body["return"]["id"] == self.returns_to_receive[&actor.id].as_str()
                    && body["return"]["status"] == "received"
                    && body["refund"]["amount"]["amount"] == 1999,
                "the caller's return, received, with its refund",
            ),
            "send refund" => (
                body["return_id"] == self.received_return.as_str() && body["status"] == "pending",
                "the return's refund, still pending",
            ),
            "get packing slip" => (
                body["shipment_id"] == self.shipped.1.as_str() && body["download"]["url"].is_string(),
                "the parcel's slip",
            ),
            "put shipping" | "get shipping" => (
                body["vendor_id"] == v
                    && body["version"] == 1
                    && body["zones"][0]["code"] == "HOME"
                    && body["services"][0]["zone"] == body["zones"][0]["id"],
                "the vendor's shipping as the owner set it",
            ),
            "admin list users" => {
                let users = items(body);
                (
                    users.len() == 1 && users[0]["id"].is_string() && users[0]["email"].is_string(),
                    "one user (limit=1) with an id and an email",
                )
            }
            "admin list vendors" => {
                let vendors = items(body);
                (
                    vendors.len() == 1 && vendors[0]["id"].is_string() && vendors[0]["status"].is_string(),
                    "one vendor (limit=1) with an id and a status",
                )
            }
            "set vendor status" => (body["id"] == v && body["status"] == "active", "the vendor, active"),
            "set user roles" => (
                body["id"] == self.roles_target.id.as_str() && body["roles"] == json!(["customer"]),
                "the user, with the roles set",
            ),
            "put demand settings" => (
                body["vendor_id"] == v
                    && body["location_id"] == location
                    && body["sku"] == MATRIX_SKU
                    && body["on_hand"] == 3,
                "the settings as stored, for the vendor's location",
            ),
            "record sales" => (
                body["location_id"] == location && body["sku"] == MATRIX_SKU && body["days_written"] == 1,
                "the day written, at the vendor's location",
            ),
            "run forecast" => (
                body["vendor_id"] == v && body["status"] == "finished" && body["series"].as_u64() >= Some(1),
                "a finished run of the vendor",
            ),
            "list forecasts" => {
                let forecasts = items(body);
                (
                    all_at_location(&forecasts) && has_sku(&forecasts, FORECAST_SKU),
                    "the vendor's forecasts, at its location",
                )
            }
            "get sku forecast" => {
                let locations = body["locations"].as_array().cloned().unwrap_or_default();
                (
                    body["sku"] == FORECAST_SKU && !locations.is_empty() && all_at_location(&locations),
                    "the SKU's forecast at the vendor's location",
                )
            }
            "get replenishment" => {
                let suppliers = body["suppliers"].as_array().cloned().unwrap_or_default();
                let lines: Vec<Value> =
                    suppliers.iter().flat_map(|s| s["lines"].as_array().cloned().unwrap_or_default()).collect();
                let at_risk = body["at_risk"].as_array().cloned().unwrap_or_default();
                (
                    has_sku(&lines, FORECAST_SKU) && all_at_location(&lines) && all_at_location(&at_risk),
                    "orders and risks at the vendor's location, the forecast SKU among them",
                )
            }
            "create product" => (
                body["vendor_id"] == v
                    && body["status"] == "draft"
                    && body["title"].as_str().is_some_and(|t| t.starts_with("Matrix product")),
                "the new draft product of the vendor",
            ),
            "list products" => {
                let products = items(body);
                (
                    all_of_vendor(&products) && products.iter().any(|p| p["id"] == self.product.as_str()),
                    "the vendor's products, the world's among them",
                )
            }
            "get product" => (
                body["id"] == self.product.as_str() && body["vendor_id"] == v && body["variants"].is_array(),
                "the vendor's product with its variants",
            ),
            "update product" => {
                (body["vendor_id"] == v && body["title"] == "Renamed by the matrix", "the product, renamed")
            }
            "set product status" => (body["vendor_id"] == v && body["status"] == "published", "the product, published"),
            "create variant" => {
                (body["vendor_id"] == v && body["prices"]["EUR"]["amount"] == 1999, "the new variant with its price")
            }
            "update variant" => {
                (body["vendor_id"] == v && body["prices"]["EUR"]["amount"] == 2500, "the variant with its new price")
            }
            "put translation" => (
                body["locale"] == "fr"
                    && body["title"].as_str().is_some_and(|t| t.starts_with("Produit de la matrice")),
                "the French translation",
            ),
            "create image" => (
                body["image"]["vendor_id"] == v
                    && body["image"]["status"] == "awaiting_upload"
                    && body["upload"]["url"].is_string(),
                "an image slot of the vendor's product with its upload URL",
            ),
            "get image" => (
                body["id"] == self.image.as_str()
                    && body["vendor_id"] == v
                    && body["product_id"] == self.product.as_str(),
                "the vendor's image",
            ),
            "look up barcode" => {
                let found = items(body);
                (
                    found.len() == 1 && found[0]["variant_id"] == self.variant.as_str() && found[0]["vendor_id"] == v,
                    "the vendor's variant with that SKU",
                )
            }
            "get barcode label" => (
                body.as_str().is_some_and(|svg| svg.contains("<svg") && svg.contains(self.sku.as_str())),
                "an SVG label printing the SKU",
            ),
            "create import" => (
                body["vendor_id"] == v
                    && body["status"] == "uploading"
                    && body["upload"]["url"].as_str().is_some_and(|u| u.starts_with("http")),
                "a new import of the vendor with its upload URL",
            ),
            "start import" => (body["vendor_id"] == v && body["status"] == "queued", "the import, queued"),
            "get import" => (body["id"] == self.import.as_str() && body["vendor_id"] == v, "the owner's import"),
            "create export" => {
                (body["vendor_id"] == v && body["status"] == "queued", "a new export of the vendor, queued")
            }
            "get export" => (body["id"] == self.export.as_str() && body["vendor_id"] == v, "the owner's export"),
            "adjust stock" => (
                body["movement"]["reason"] == "found"
                    && body["movement"]["actor"]["id"] == actor.id.as_str()
                    && body["stock"]["vendor_id"] == v
                    && body["stock"]["location_id"] == location,
                "the movement, by the caller, and the vendor's stock item",
            ),
            "count stock" => (
                body["location_id"] == self.destination.as_str() && body["lines"][0]["sku"] == self.sku.as_str(),
                "the counted line at the vendor's location",
            ),
            "update stock settings" => (
                body["vendor_id"] == v && body["sku"] == self.sku.as_str() && body["reorder_point"] == 5,
                "the stock item with its reorder point",
            ),
            "get sku stock" => {
                let locations = body["locations"].as_array().cloned().unwrap_or_default();
                (
                    body["sku"] == self.sku.as_str()
                        && all_of_vendor(&locations)
                        && body["on_hand"].as_u64() >= Some(1),
                    "the SKU's stock at the vendor's locations",
                )
            }
            "list stock" => (all_of_vendor(&items(body)), "the vendor's stock items"),
            "get stock summary" => (body["stock_items"].as_u64() >= Some(1), "the vendor's totals"),
            "list expiring stock" => (body["within_days"] == 9, "the report in the vendor's own window"),
            "list stock movements" => (all_of_vendor(&items(body)), "the SKU's movements"),
            "create transfer" | "receive transfer" => (
                body["transfer"]["vendor_id"] == v && body["transfer"]["sku"] == self.sku.as_str(),
                "the vendor's transfer",
            ),
            "list transfers" => (all_of_vendor(&items(body)), "the vendor's transfers"),
            "create supplier" => (
                body["vendor_id"] == v && body["code"].as_str().is_some_and(|c| c.starts_with("SUP-")),
                "a new supplier of the vendor",
            ),
            "list suppliers" => (all_of_vendor(&items(body)), "the vendor's suppliers"),
            "get supplier" => (body["id"] == self.supplier.as_str() && body["vendor_id"] == v, "the vendor's supplier"),
            "update supplier" => (body["vendor_id"] == v && body["lead_time_days"] == 3, "the changed supplier"),
            "create purchase order" => (
                body["vendor_id"] == v && body["status"] == "draft" && body["lines"][0]["sku"] == self.sku.as_str(),
                "a draft order of the vendor",
            ),
            "list purchase orders" => (all_of_vendor(&items(body)), "the vendor's purchase orders"),
            "get purchase order" => (
                body["id"] == self.purchase_order.as_str() && body["vendor_id"] == v && body["receipts"].is_array(),
                "the vendor's order with its receipts",
            ),
            "update purchase order" => {
                (body["vendor_id"] == v && body["lines"][0]["quantity"] == 4, "the draft with its new lines")
            }
            "send purchase order" => (body["vendor_id"] == v && body["status"] == "sent", "the order, sent"),
            "cancel purchase order" => {
                (body["vendor_id"] == v && body["status"] == "cancelled", "the order, cancelled")
            }
            "receive purchase order" => (
                body["purchase_order"]["vendor_id"] == v
                    && body["purchase_order"]["status"] == "received"
                    && body["lines"][0]["sku"] == self.sku.as_str(),
                "the receipt and the order, received",
            ),
            "orders from suggestions" => {
                let skipped = body["not_ordered"].as_array().cloned().unwrap_or_default();
                (
                    body["purchase_orders"].is_array()
                        && skipped.iter().any(|n| n["sku"] == FORECAST_SKU && n["reason"] == "no_supplier"),
                    "no orders: the suggestion names no supplier",
                )
            }
            "create channel" => (body["vendor_id"] == v && body["kind"] == "pos", "the new channel"),
            "list channels" => (all_of_vendor(&items(body)), "the vendor's channels"),
            "record channel sales" | "record channel returns" => (
                body["applied"] == 1
                    && body["results"][0]["record"]["vendor_id"] == v
                    && body["results"][0]["record"]["channel_id"] == self.channel.as_str(),
                "the line applied, recorded for the vendor's channel",
            ),
            "list sales" => (all_of_vendor(&items(body)), "the vendor's sales of the day"),
            "list stock alerts" => (all_of_vendor(&items(body)), "the vendor's stock alerts"),
            "get daily sales" => (
                body["location_id"] == location
                    && body["sku"] == FORECAST_SKU
                    && body["days"].as_array().is_some_and(|d| d.len() == 28 && d.iter().any(|d| d["units"] == 5)),
                "28 days of the SKU's history at the vendor's location",
            ),
            "acknowledge stock alert" => (
                body["vendor_id"] == v && body["acknowledged_by"] == actor.id.as_str(),
                "the vendor's alert, acknowledged by the caller",
            ),
            "create webhook endpoint" => (
                body["vendor_id"] == v && body["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")),
                "a new endpoint of the vendor with its secret",
            ),
            "list webhook endpoints" => {
                let endpoints = items(body);
                (
                    all_of_vendor(&endpoints) && endpoints.iter().all(|e| e.get("secret").is_none()),
                    "the vendor's endpoints, without secrets",
                )
            }
            "get webhook endpoint" => (
                body["id"] == self.webhook.as_str() && body["vendor_id"] == v && body.get("secret").is_none(),
                "the vendor's endpoint, without its secret",
            ),
            "update webhook endpoint" => {
                (body["vendor_id"] == v && body["description"] == "changed by the matrix", "the changed endpoint")
            }
            "delete webhook endpoint" => (body.is_null(), "no body"),
            "list webhook deliveries" => (body["items"].is_array(), "the endpoint's deliveries"),
            "create api key" => (
                body["api_key"]["vendor_id"] == v
                    && body["api_key"]["status"] == "active"
                    && body["secret"].as_str().is_some_and(|k| k.starts_with("syk_")),
                "a new key of the vendor, with its secret shown once",
            ),
            "list api keys" => {
                let keys = items(body);
                (
                    all_of_vendor(&keys) && keys.iter().all(|k| k.get("secret").is_none()),
                    "the vendor's keys, without secrets",
                )
            }
            "revoke api key" => (
                body["vendor_id"] == v && body["status"] == "revoked" && body["revoked_by"] == actor.id.as_str(),
                "the vendor's key, revoked by the caller",
            ),
            "record scans" => (
                body["applied"] == 1
                    && body["location_id"] == self.scanning.as_str()
                    && body["changes"][0]["sku"] == self.sku.as_str()
                    && body["changes"][0]["status"] == "applied",
                "the scanned unit received at the vendor's location",
            ),
            "create coupon" => (
                body["scope"]["vendor_id"] == v && body["active"] == true && body["used"] == 0,
                "a new, unused coupon of the vendor",
            ),
            "list coupons" => {
                let coupons = items(body);
                (
                    coupons.iter().any(|c| c["id"] == self.coupon.as_str())
                        && coupons.iter().all(|c| c["scope"]["vendor_id"] == v),
                    "the vendor's coupons, the world's among them",
                )
            }
            "get coupon" => {
                (body["id"] == self.coupon.as_str() && body["scope"]["vendor_id"] == v, "the vendor's coupon")
            }
            "update coupon" => (
                body["scope"]["vendor_id"] == v && body["usage_limit"] == 50 && body["version"] == 2,
                "the vendor's coupon with its new limit",
            ),
            other => panic!("no body check for {other}"),
        };
        if ok { Ok(()) } else { Err(expected) }
    }

    /// What is wrong with `actor`'s answer to `action`, if anything.
    fn judge(&self, action: &Action, actor: &str, user: &TestUser, resp: &ApiResponse) -> Option<String> {
        let wrong = |why: &str| Some(format!("{actor:>18} × {:<19} {why}; got {resp}", action.name));
        if !action.allowed.contains(&actor) {
            let is_key = actor.ends_with("_key");
            if action.hidden && !is_key && !READERS.contains(&actor) {
                if resp.status != 404 || resp.error_code() != Some("not_found") {
                    return wrong("expected 404 not_found (the record is hidden from who may not read the vendor)");
                }
            } else if resp.status != 403 || resp.error_code() != Some("forbidden") {
                return wrong("expected 403 forbidden");
            }
            return None;
        }
        if resp.status != action.status {
            return wrong(&format!("expected {}", action.status));
        }
        match self.check_allowed_body(action.name, user, &resp.json) {
            Ok(()) => None,
            Err(expected) => wrong(&format!("expected {} {expected}", action.status)),
        }
    }
}

#[tokio::test]
async fn every_role_may_do_exactly_what_its_permissions_allow_and_is_answered_with_that_vendors_data() {
    let world = Arc::new(World::new().await);
    assert_eq!(world.actors.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ACTORS);
    // Every cell at once, up to CELLS_IN_FLIGHT at a time (so that the local stack on two shared
    // cores answers within its functions' timeouts); each reports by name what it got wrong.
    let in_flight = Arc::new(tokio::sync::Semaphore::new(CELLS_IN_FLIGHT));
    let mut cells = tokio::task::JoinSet::new();
    let mut names = HashMap::new();
    for (index, action) in ACTIONS.iter().enumerate() {
        for (actor, user) in world.actors.clone() {
            let (world, in_flight) = (world.clone(), in_flight.clone());
            let task = cells.spawn(async move {
                let _turn = in_flight.acquire_owned().await.expect("the semaphore stays open");
                let resp = world.perform(ACTIONS[index].name, &user).await;
                world.judge(&ACTIONS[index], actor, &user, &resp)
            });
            names.insert(task.id(), format!("{actor} × {}", action.name));
        }
    }
    let total = cells.len();
    assert_eq!(total, ACTORS.len() * ACTIONS.len());
    let mut wrong = Vec::new();
    while let Some(cell) = cells.join_next_with_id().await {
        match cell {
            Ok((_, None)) => {}
            Ok((_, Some(what))) => wrong.push(what),
            Err(e) => wrong.push(format!("{} did not finish: {e}", names[&e.id()])),
        }
    }
    wrong.sort();
    assert!(wrong.is_empty(), "{} of {total} cells are wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// `METHOD /path` of every HttpApi route of template.yaml.
fn template_routes() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml is readable");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("template.yaml is YAML");
    let resources = template["Resources"].as_mapping().expect("template.yaml has Resources");
    resources
        .values()
        .filter_map(|r| r["Properties"]["Events"].as_mapping())
        .flat_map(|events| events.values())
        .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        .map(|e| {
            let p = &e["Properties"];
            format!("{} {}", p["Method"].as_str().unwrap_or("?").to_uppercase(), p["Path"].as_str().unwrap_or("?"))
        })
        .collect()
}

#[test]
fn the_matrix_asks_about_every_route_of_a_vendor_and_only_routes_that_exist() {
    let routes = template_routes();
    let asked: BTreeSet<String> = ACTIONS.iter().map(|a| a.route.to_string()).collect();
    assert_eq!(asked.len(), ACTIONS.len(), "each action calls its own route");
    let unknown: Vec<&String> = asked.difference(&routes).collect();
    assert!(unknown.is_empty(), "the matrix names routes template.yaml does not have: {unknown:?}");
    let missing: Vec<&String> = routes.iter().filter(|r| r.contains("{vendorId}") && !asked.contains(*r)).collect();
    assert!(missing.is_empty(), "vendor routes the matrix does not ask about: {missing:?}");
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
