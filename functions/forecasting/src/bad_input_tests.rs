//! Forecasting handlers answer bad input with a 4xx naming the field before they touch the store.
//! The store client points at a port where nothing listens: any store call would turn the answer
//! into a 500, so a 4xx proves nothing was read or written.

use crate::ApiDeps;
use crate::handlers::{demand, forecasts};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use stockyard_http::serve::handle;
use stockyard_testkit::{self as testing, error_of};

const VENDOR: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0VD";
const LOCATION: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0QC";

fn deps() -> ApiDeps {
    testing::unreachable_api_deps()
}

/// An API Gateway v2 request with path parameters, a query and a body, signed in as a customer
/// (no vendor) when `signed_in`.
fn request(method: &str, route: &str, params: Value, query: Value, body: Option<Value>, signed_in: bool) -> Request {
    let token = signed_in.then(|| testing::customer_token("ivan@example.com"));
    testing::request(method, route, params, query, body.map(|b| b.to_string()).as_deref(), token.as_deref())
}

const SETTINGS_ROUTE: &str = "/vendors/{vendorId}/demand/{locationId}/{sku}";
const SALES_ROUTE: &str = "/vendors/{vendorId}/demand/{locationId}/{sku}/sales";

fn settings_body() -> Value {
    json!({"supplier_id": "01JBZ4W9Q6T3M8K2R5X7N1C0SP", "lead_time_days": 3, "review_period_days": 7,
           "service_level": 0.95, "min_order_qty": 0, "pack_multiple": 1, "on_hand": 10, "incoming": 0})
}

async fn put_settings(sku: &str, body: Value) -> Response<Body> {
    let deps = deps();
    let params = json!({"vendorId": VENDOR, "locationId": LOCATION, "sku": sku});
    let req = request("PUT", SETTINGS_ROUTE, params, Value::Null, Some(body), true);
    handle(req, |r| demand::put_demand_settings(&deps, r)).await
}

async fn post_sales(body: Value) -> Response<Body> {
    let deps = deps();
    let params = json!({"vendorId": VENDOR, "locationId": LOCATION, "sku": "MILK-1L"});
    let req = request("POST", SALES_ROUTE, params, Value::Null, Some(body), true);
    handle(req, |r| demand::record_daily_sales(&deps, r)).await
}

#[tokio::test]
async fn settings_with_a_value_out_of_range_are_refused_naming_the_field() {
    for (field, value) in [
        ("lead_time_days", json!(-1)),
        ("review_period_days", json!(0)),
        ("service_level", json!(1.5)),
        ("pack_multiple", json!(0)),
        ("on_hand", json!(-3)),
    ] {
        let mut body = settings_body();
        body[field] = value;
        let resp = put_settings("MILK-1L", body).await;
        assert_eq!(resp.status(), 422, "{field}");
        assert_eq!(error_of(&resp)["field"], field);
    }
}

#[tokio::test]
async fn settings_missing_a_required_field_or_with_an_unknown_one_are_malformed() {
    let mut body = settings_body();
    body.as_object_mut().unwrap().remove("lead_time_days");
    let resp = put_settings("MILK-1L", body).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_of(&resp)["field"], "lead_time_days");
    // The free codes settings once held are no longer fields; ids must be ids.
    for (field, value) in [
        ("reserved", json!(1)),
        ("supplier", json!("ACME")),
        ("category", json!("DAIRY")),
        ("supplier_id", json!("acme#1")),
        ("category_id", json!(7)),
    ] {
        let mut body = settings_body();
        body[field] = value;
        let resp = put_settings("MILK-1L", body).await;
        assert_eq!(resp.status(), 400, "{field}");
        assert_eq!(error_of(&resp)["field"], field);
    }
}

#[tokio::test]
async fn a_sku_that_is_not_a_code_is_refused_naming_it() {
    let resp = put_settings("MILK 1L", settings_body()).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "sku");
}

#[tokio::test]
async fn sales_in_the_future_negative_or_too_many_are_refused_naming_the_entry() {
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    let resp = post_sales(json!({"days": [{"date": "2026-01-01", "units": 1}, {"date": tomorrow, "units": 1}]})).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "days[1].date");

    let resp = post_sales(json!({"days": [{"date": "2026-01-01", "units": -2}]})).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "days[0].units");

    let many: Vec<Value> = (0..367).map(|i| json!({"date": format!("2024-01-01"), "units": i})).collect();
    let resp = post_sales(json!({ "days": many })).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "days");
}

#[tokio::test]
async fn a_list_filtered_by_an_unknown_risk_or_a_bad_location_is_refused_naming_the_filter() {
    let deps = deps();
    for (name, value) in [("risk", "maybe"), ("location_id", "not-an-id"), ("limit", "0"), ("model", "DROP-TABLE")] {
        let query = json!({ name: value });
        let req = request("GET", "/vendors/{vendorId}/forecasts", json!({"vendorId": VENDOR}), query, None, true);
        let resp = handle(req, |r| forecasts::list_forecasts(&deps, r)).await;
        assert_eq!(resp.status(), 422, "{name}");
        assert_eq!(error_of(&resp)["field"], name);
    }
}

#[tokio::test]
async fn reading_forecasts_without_a_token_is_unauthorized_before_anything_is_read() {
    let deps = deps();
    let req =
        request("GET", "/vendors/{vendorId}/replenishment", json!({"vendorId": VENDOR}), Value::Null, None, false);
    let resp = handle(req, |r| forecasts::get_replenishment(&deps, r)).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(error_of(&resp)["code"], "unauthorized");
}

#[tokio::test]
async fn a_forecast_run_for_a_vendor_id_that_is_not_an_id_is_refused_naming_it() {
    let deps = deps();
    let req = request("POST", "/vendors/{vendorId}/forecast-runs", json!({"vendorId": "x"}), Value::Null, None, true);
    let resp = handle(req, |r| demand::create_forecast_run(&deps, r)).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error_of(&resp)["field"], "vendorId");
}
