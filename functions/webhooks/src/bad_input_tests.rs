//! Webhook endpoint handlers answer bad input with a 4xx naming the field before they touch the
//! store. The store client points at a port where nothing listens: any store call would turn the
//! answer into a 500, so a 4xx proves nothing was read or written.

use crate::ApiDeps;
use crate::handlers::{deliveries, endpoints};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use stockyard_http::ApiError;
use stockyard_http::serve::handle;
use stockyard_testkit::{self as testing, error_of};

const VENDOR: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0VD";
const WEBHOOK: &str = "01JBZ4W9Q6T3M8K2R5X7N1C0WH";

type Answer<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Response<Body>, ApiError>> + Send + 'a>>;
type Handler = for<'a> fn(&'a ApiDeps, Request) -> Answer<'a>;

/// Calls `route` with `body` (and `query`) as a signed-in customer and returns the answer.
async fn call(method: &str, route: &str, query: Value, body: Option<Value>, handler: Handler) -> Response<Body> {
    let deps = testing::unreachable_api_deps();
    let token = testing::customer_token("olive@example.com");
    let params = json!({"vendorId": VENDOR, "webhookId": WEBHOOK});
    let body = body.map(|b| b.to_string());
    let req = testing::request(method, route, params, query, body.as_deref(), Some(&token));
    handle(req, |r| handler(&deps, r)).await
}

fn refused_naming(resp: &Response<Body>, status: u16, field: &str) {
    assert_eq!(resp.status().as_u16(), status, "{:?}", resp.body());
    let error = error_of(resp);
    assert_eq!(error["field"].as_str(), Some(field), "{error}");
}

#[tokio::test]
async fn an_endpoint_with_a_bad_url_or_event_list_is_refused_naming_the_field() {
    for (field, status, body) in [
        ("url", 422, json!({"url": "http://shop.example/in", "events": ["stock.low"]})),
        ("url", 422, json!({"url": "https://127.0.0.1/in", "events": ["stock.low"]})),
        ("url", 422, json!({"url": "https://[fe80::1]/in", "events": ["stock.low"]})),
        ("events", 422, json!({"url": "https://shop.example/in", "events": []})),
        ("events[1]", 422, json!({"url": "https://shop.example/in", "events": ["stock.low", "stock.low"]})),
        (
            "description",
            422,
            json!({"url": "https://shop.example/in", "events": ["stock.low"], "description": "x\u{202E}y"}),
        ),
    ] {
        let resp = call("POST", "/vendors/{vendorId}/webhooks", Value::Null, Some(body), |d, r| {
            Box::pin(endpoints::create_webhook_endpoint(d, r))
        })
        .await;
        refused_naming(&resp, status, field);
    }
    let unknown = json!({"url": "https://shop.example/in", "events": ["stock.everything"]});
    let resp = call("POST", "/vendors/{vendorId}/webhooks", Value::Null, Some(unknown), |d, r| {
        Box::pin(endpoints::create_webhook_endpoint(d, r))
    })
    .await;
    assert_eq!(resp.status().as_u16(), 400, "an event type that does not exist: {:?}", resp.body());
    assert_eq!(error_of(&resp)["code"], "malformed_request");
}

#[tokio::test]
async fn a_change_with_a_bad_value_is_refused_naming_the_field() {
    for (field, body) in [
        ("url", json!({"url": "https://10.1.2.3/in"})),
        ("events", json!({"events": []})),
        ("description", json!({"description": "a".repeat(501)})),
    ] {
        let resp = call("PATCH", "/vendors/{vendorId}/webhooks/{webhookId}", Value::Null, Some(body), |d, r| {
            Box::pin(endpoints::update_webhook_endpoint(d, r))
        })
        .await;
        refused_naming(&resp, 422, field);
    }
}

#[tokio::test]
async fn a_delivery_list_with_an_unknown_status_is_refused() {
    let query = json!({"status": "lost"});
    let resp = call("GET", "/vendors/{vendorId}/webhooks/{webhookId}/deliveries", query, None, |d, r| {
        Box::pin(deliveries::list_webhook_deliveries(d, r))
    })
    .await;
    refused_naming(&resp, 422, "status");
}
