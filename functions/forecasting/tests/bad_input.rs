//! Forecasting handlers answer bad input with a 4xx naming the field before they touch the store.
//! The store client points at a port where nothing listens: any store call would turn the answer
//! into a 500, so a 4xx proves nothing was read or written.

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use stockyard_forecasting::ApiDeps;
use stockyard_forecasting::handlers::{demand, forecasts};
use stockyard_http::serve::handle;
use stockyard_http::{TokenIssuer, TokenVerifier};
use stockyard_store::Table;

const SIGNING: &str = include_str!("../../../infra/local/dev/jwt-signing-key.pem");
const VERIFYING: &str = include_str!("../../../infra/local/dev/jwt-verifying-key.pem");
const VENDOR: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0VD";
const LOCATION: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0QC";

fn deps() -> ApiDeps {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    ApiDeps {
        table: Table::new(aws_sdk_dynamodb::Client::from_conf(config), "unreachable"),
        verifier: TokenVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap(),
    }
}

fn token() -> String {
    use stockyard_domain::{ids::UserId, roles::PlatformRole, values::Email};
    let email = Email::parse("email", "ivan@example.com").unwrap();
    let subject = stockyard_http::auth::TokenSubject {
        user_id: UserId::generate(),
        email: &email,
        roles: &[PlatformRole::Customer],
        vendor_id: None,
        vendor_role: None,
    };
    TokenIssuer::new(SIGNING, "stockyard", "stockyard-test").unwrap().issue(&subject, chrono::Utc::now()).unwrap()
}

/// An API Gateway v2 request with path parameters, a query and a body.
fn request(method: &str, route: &str, params: Value, query: Value, body: Option<Value>, signed_in: bool) -> Request {
    let mut path = route.to_string();
    for (name, value) in params.as_object().unwrap() {
        path = path.replace(&format!("{{{name}}}"), value.as_str().unwrap());
    }
    let raw_query: Vec<String> = query
        .as_object()
        .map(|q| q.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap())).collect())
        .unwrap_or_default();
    let mut headers = json!({"content-type": "application/json"});
    if signed_in {
        headers["authorization"] = Value::String(format!("Bearer {}", token()));
    }
    let event = json!({
        "version": "2.0", "routeKey": format!("{method} {route}"), "rawPath": path, "rawQueryString": raw_query.join("&"),
        "headers": headers, "pathParameters": params, "queryStringParameters": query,
        "body": body.map(|b| b.to_string()), "isBase64Encoded": false,
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "req-test", "routeKey": format!("{method} {route}"), "stage": "$default",
            "time": "24/Nov/2026:18:00:00 +0000", "timeEpoch": 1795540800000u64}
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn error_of(resp: &Response<Body>) -> Value {
    let json: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    assert_eq!(json["error"]["request_id"], "req-test", "{json}");
    json["error"].clone()
}

const SETTINGS_ROUTE: &str = "/vendors/{vendorId}/demand/{locationId}/{sku}";
const SALES_ROUTE: &str = "/vendors/{vendorId}/demand/{locationId}/{sku}/sales";

fn settings_body() -> Value {
    json!({"category": "DAIRY", "supplier": "ACME", "lead_time_days": 3, "review_period_days": 7,
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
        ("supplier", json!("acme#1")),
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
    body.as_object_mut().unwrap().remove("on_hand");
    let resp = put_settings("MILK-1L", body).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_of(&resp)["field"], "on_hand");
    let mut body = settings_body();
    body["reserved"] = json!(1);
    let resp = put_settings("MILK-1L", body).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_of(&resp)["field"], "reserved");
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
