//! Purchasing handlers answer bad input with a 4xx naming the field before they touch the store.
//! The store client points at a port where nothing listens: any store call would turn the answer
//! into a 500, so a 4xx proves nothing was read or written.

use crate::ApiDeps;
use crate::handlers::{orders, receipts, suggestions, suppliers};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use stockyard_http::ApiError;
use stockyard_http::serve::handle;
use stockyard_testkit::{self as testing, error_of};

const VENDOR: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0VD";
const ORDER: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0P0";

type Answer<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;
type Handler = for<'a> fn(&'a ApiDeps, Request) -> Answer<'a>;

/// Calls `route` with `body` as a signed-in customer and returns the answer.
async fn call(method: &str, route: &str, params: Value, body: Value, handler: Handler) -> Response<Body> {
    let deps = testing::unreachable_api_deps();
    let token = testing::customer_token("ivan@example.com");
    let req = testing::request(method, route, params, Value::Null, Some(&body.to_string()), Some(&token));
    handle(req, |r| handler(&deps, r)).await
}

fn refused_naming(resp: &Response<Body>, field: &str) {
    assert_eq!(resp.status().as_u16(), 422, "{:?}", resp.body());
    let error = error_of(resp);
    assert_eq!((error["code"].as_str(), error["field"].as_str()), (Some("invalid_field"), Some(field)), "{error}");
}

fn supplier_body() -> Value {
    json!({"code": "ACME", "name": "Acme", "email": "orders@acme.example", "currency": "EUR", "lead_time_days": 3})
}

#[tokio::test]
async fn a_supplier_with_a_bad_value_is_refused_naming_the_field() {
    for (field, value) in [
        ("code", json!("AC ME")),
        ("email", json!("acme")),
        ("currency", json!("XXX")),
        ("lead_time_days", json!(366)),
        ("minimum_order", json!(-1)),
        ("pack_size", json!(0)),
        ("name", json!("  ")),
    ] {
        let mut body = supplier_body();
        body[field] = value;
        let resp = call("POST", "/vendors/{vendorId}/suppliers", json!({"vendorId": VENDOR}), body, |d, r| {
            Box::pin(suppliers::create_supplier(d, r))
        })
        .await;
        refused_naming(&resp, field);
    }
}

#[tokio::test]
async fn an_order_with_bad_lines_is_refused_naming_the_line() {
    let order = |lines: Value| json!({"supplier_id": "01JBZ4W9Q6T3M8K2R5X7N1C0SP", "location_id": "01JBZ4W9Q6T3M8K2R5X7N1C0QC", "lines": lines});
    for (field, lines) in [
        ("lines", json!([])),
        ("lines[0].quantity", json!([{"sku": "A", "quantity": 0, "unit_cost": 1}])),
        ("lines[0].unit_cost", json!([{"sku": "A", "quantity": 1, "unit_cost": -5}])),
        (
            "lines[1].sku",
            json!([{"sku": "A", "quantity": 1, "unit_cost": 1}, {"sku": "a", "quantity": 1, "unit_cost": 1}]),
        ),
        ("lines[0].sku", json!([{"sku": "A/B", "quantity": 1, "unit_cost": 1}])),
    ] {
        let resp =
            call("POST", "/vendors/{vendorId}/purchase-orders", json!({"vendorId": VENDOR}), order(lines), |d, r| {
                Box::pin(orders::create_purchase_order(d, r))
            })
            .await;
        refused_naming(&resp, field);
    }
}

#[tokio::test]
async fn a_receipt_with_bad_lines_is_refused_naming_the_line() {
    let route = "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}/receipts";
    for (field, lines) in [
        ("lines", json!([])),
        ("lines[0].quantity", json!([{"sku": "A", "quantity": 0}])),
        ("lines[1].sku", json!([{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}])),
        ("lines[0].lot", json!([{"sku": "A", "quantity": 1, "lot": "L#1"}])),
    ] {
        let params = json!({"vendorId": VENDOR, "purchaseOrderId": ORDER});
        let resp = call("POST", route, params, json!({"lines": lines}), |d, r| {
            Box::pin(receipts::receive_purchase_order(d, r))
        })
        .await;
        refused_naming(&resp, field);
    }
}

#[tokio::test]
async fn unknown_fields_and_bad_ids_are_refused_before_the_store() {
    let resp = call(
        "POST",
        "/vendors/{vendorId}/purchase-orders/from-suggestions",
        json!({"vendorId": VENDOR}),
        json!({"supplier_id": "01JBZ4W9Q6T3M8K2R5X7N1C0SP", "everything": true}),
        |d, r| Box::pin(suggestions::create_purchase_orders_from_suggestions(d, r)),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 400);
    let resp = call(
        "POST",
        "/vendors/{vendorId}/purchase-orders/from-suggestions",
        json!({"vendorId": VENDOR}),
        json!({"supplier_id": "AC ME"}),
        |d, r| Box::pin(suggestions::create_purchase_orders_from_suggestions(d, r)),
    )
    .await;
    assert_eq!((resp.status().as_u16(), error_of(&resp)["field"].as_str()), (400, Some("supplier_id")));
    let params = json!({"vendorId": VENDOR, "purchaseOrderId": "not-an-id"});
    let resp = call("PATCH", "/vendors/{vendorId}/purchase-orders/{purchaseOrderId}", params, json!({}), |d, r| {
        Box::pin(orders::update_purchase_order(d, r))
    })
    .await;
    refused_naming(&resp, "purchaseOrderId");
}
