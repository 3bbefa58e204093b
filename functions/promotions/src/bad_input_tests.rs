//! Coupon handlers answer bad input with a 4xx naming the field before they touch the store. The
//! store client points at a port where nothing listens: any store call would turn the answer into
//! a 500, so a 4xx proves nothing was read or written.

use crate::ApiDeps;
use crate::coupons;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use stockyard_http::ApiError;
use stockyard_http::serve::handle;
use stockyard_testkit::{self as testing, error_of};

const COUPON: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0CP";

type Answer<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;
type Handler = for<'a> fn(&'a ApiDeps, Request) -> Answer<'a>;

/// Calls `route` as a signed-in customer and returns the answer.
async fn call(
    method: &str,
    route: &str,
    params: Value,
    query: Value,
    body: Option<Value>,
    handler: Handler,
) -> Response<Body> {
    let deps = testing::unreachable_api_deps();
    let token = testing::customer_token("ivan@example.com");
    let body = body.map(|b| b.to_string());
    let req = testing::request(method, route, params, query, body.as_deref(), Some(&token));
    handle(req, |r| handler(&deps, r)).await
}

fn refused(resp: &Response<Body>, status: u16, code: &str, field: &str) {
    assert_eq!(resp.status().as_u16(), status, "{:?}", resp.body());
    let error = error_of(resp);
    assert_eq!((error["code"].as_str(), error["field"].as_str()), (Some(code), Some(field)), "{error}");
}

fn coupon_body() -> Value {
    json!({"code": "summer-10", "kind": {"type": "percentage", "percent": "10"},
           "starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-07-01T00:00:00Z",
           "usage_limit": 100, "per_customer_limit": 1})
}

async fn create(body: Value) -> Response<Body> {
    call("POST", "/coupons", Value::Null, Value::Null, Some(body), |d, r| Box::pin(coupons::create_coupon(d, r))).await
}

#[tokio::test]
async fn a_coupon_with_a_bad_value_is_refused_naming_the_field() {
    let eur = |amount: i64| json!({"amount": amount, "currency": "EUR"});
    for (field, value, named) in [
        ("code", json!("x"), "code"),
        ("code", json!("summer 10"), "code"),
        ("vendor_id", json!("not-a-vendor"), "vendor_id"),
        ("kind", json!({"type": "percentage", "percent": "0"}), "kind.percent"),
        ("kind", json!({"type": "percentage", "percent": "100.5"}), "kind.percent"),
        ("kind", json!({"type": "percentage", "percent": "12.345"}), "kind.percent"),
        ("kind", json!({"type": "fixed_amount", "amount": eur(0)}), "kind.amount"),
        ("minimum_spend", eur(-1), "minimum_spend"),
        ("ends_at", json!("2026-05-31T00:00:00Z"), "ends_at"),
        ("usage_limit", json!(0), "usage_limit"),
        ("per_customer_limit", json!(0), "per_customer_limit"),
        ("per_customer_limit", json!(101), "per_customer_limit"),
    ] {
        let mut body = coupon_body();
        body[field] = value;
        refused(&create(body).await, 422, "invalid_field", named);
    }
    let mut fixed = coupon_body();
    fixed["kind"] = json!({"type": "fixed_amount", "amount": eur(500)});
    fixed["minimum_spend"] = json!({"amount": 2000, "currency": "USD"});
    refused(&create(fixed).await, 422, "invalid_field", "minimum_spend");
}

#[tokio::test]
async fn a_misshapen_coupon_is_refused_naming_the_field() {
    for (field, value, named) in [
        ("kind", json!({"type": "half_price"}), "kind"),
        ("kind", json!({"type": "percentage", "percent": "10", "cap": 5}), "kind"),
        ("starts_at", json!("tomorrow"), "starts_at"),
        ("usage_limit", json!(-1), "usage_limit"),
        ("scope", json!("platform"), "scope"),
    ] {
        let mut body = coupon_body();
        body[field] = value;
        let resp = create(body).await;
        assert_eq!(resp.status().as_u16(), 400, "{field}: {:?}", resp.body());
        let error = error_of(&resp);
        assert_eq!(error["code"], "malformed_request", "{error}");
        assert!(error["field"].as_str().is_some_and(|f| f.starts_with(named)), "{field}: {error}");
    }
}

#[tokio::test]
async fn a_list_with_a_bad_filter_is_refused_naming_it() {
    let list = |query: Value| async move {
        call("GET", "/coupons", Value::Null, query, None, |d, r| Box::pin(coupons::list_coupons(d, r))).await
    };
    refused(&list(json!({"active": "yes"})).await, 422, "invalid_field", "active");
    refused(&list(json!({"active": ""})).await, 422, "invalid_field", "active");
    refused(&list(json!({"vendor_id": "nobody"})).await, 422, "invalid_field", "vendor_id");
    refused(&list(json!({"limit": "0"})).await, 422, "invalid_field", "limit");
}

#[tokio::test]
async fn a_change_that_contradicts_itself_is_refused_before_the_coupon_is_read() {
    let patch = |params: Value, body: Value| async move {
        call("PATCH", "/coupons/{couponId}", params, Value::Null, Some(body), |d, r| {
            Box::pin(coupons::update_coupon(d, r))
        })
        .await
    };
    let at = json!({"couponId": COUPON});
    refused(&patch(at.clone(), json!({"usage_limit": 0})).await, 422, "invalid_field", "usage_limit");
    refused(&patch(at.clone(), json!({"per_customer_limit": 0})).await, 422, "invalid_field", "per_customer_limit");
    let both = json!({"usage_limit": 2, "per_customer_limit": 3});
    refused(&patch(at.clone(), both).await, 422, "invalid_field", "per_customer_limit");
    let window = json!({"starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"});
    refused(&patch(at.clone(), window).await, 422, "invalid_field", "ends_at");
    let resp = patch(at, json!({"code": "OTHER"})).await;
    assert_eq!(
        (resp.status().as_u16(), error_of(&resp)["field"].as_str()),
        (400, Some("code")),
        "the code never changes"
    );
    refused(&patch(json!({"couponId": "x"}), json!({"active": false})).await, 422, "invalid_field", "couponId");
    let get = call("GET", "/coupons/{couponId}", json!({"couponId": "x"}), Value::Null, None, |d, r| {
        Box::pin(coupons::get_coupon(d, r))
    })
    .await;
    refused(&get, 422, "invalid_field", "couponId");
}
