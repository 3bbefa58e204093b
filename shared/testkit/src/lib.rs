//! What handler tests of every area need (a dev-dependency only): a store client pointed where
//! nothing listens, tokens signed with the local development key, API Gateway
//! v2 requests and the error body of a response.
//!
//! A handler that answers a 4xx with [`unreachable_api_deps`] proves it refused the request before
//! any read or write: a store call would have turned the answer into a 500.

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use stockyard_domain::ids::UserId;
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::values::Email;
use stockyard_store::Table;

use stockyard_http::auth::TokenSubject;
use stockyard_http::{ApiDeps, TokenIssuer, TokenVerifier};

const SIGNING: &str = include_str!("../../../infra/local/dev/jwt-signing-key.pem");
const VERIFYING: &str = include_str!("../../../infra/local/dev/jwt-verifying-key.pem");
const ISSUER: &str = "stockyard";
const AUDIENCE: &str = "stockyard-test";

/// The request id every request from [`request`] carries; error bodies must echo it.
pub const REQUEST_ID: &str = "req-test";

/// A table client whose endpoint is a port nobody listens on.
pub fn unreachable_table() -> Table {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Table::new(aws_sdk_dynamodb::Client::from_conf(config), "unreachable")
}

/// API dependencies over [`unreachable_table`], verifying tokens from [`issuer`].
pub fn unreachable_api_deps() -> ApiDeps {
    ApiDeps { table: unreachable_table(), verifier: verifier() }
}

/// Signs tokens with the local development key.
pub fn issuer() -> TokenIssuer {
    TokenIssuer::new(SIGNING, ISSUER, AUDIENCE).expect("the development signing key parses")
}

/// Verifies tokens of [`issuer`].
pub fn verifier() -> TokenVerifier {
    TokenVerifier::new(VERIFYING, ISSUER, AUDIENCE).expect("the development verifying key parses")
}

/// Checks account-email links signed with the development key.
pub fn link_verifier() -> stockyard_http::links::LinkVerifier {
    stockyard_http::links::LinkVerifier::new(VERIFYING, ISSUER, AUDIENCE).expect("the development verifying key parses")
}

/// An access token of a fresh customer with `email` (no vendor).
pub fn customer_token(email: &str) -> String {
    let email = Email::parse("email", email).expect("a valid test email");
    let subject = TokenSubject {
        user_id: UserId::generate(),
        session: stockyard_domain::ids::TokenFamilyId::generate(),
        credentials_version: 0,
        email: &email,
        roles: &[PlatformRole::Customer],
        vendor_id: None,
        vendor_role: None,
    };
    issuer().issue(&subject, chrono::Utc::now()).expect("the token signs")
}

/// An API Gateway v2 request for `route` (e.g. `/vendors/{vendorId}`), its `{name}` segments
/// replaced by the string values of `params` (an object, or null), with `query` (an object of
/// strings, or null), a raw `body` and an optional bearer token.
pub fn request(
    method: &str,
    route: &str,
    params: Value,
    query: Value,
    body: Option<&str>,
    bearer: Option<&str>,
) -> Request {
    let mut path = route.to_string();
    for (name, value) in params.as_object().into_iter().flatten() {
        path = path.replace(&format!("{{{name}}}"), value.as_str().unwrap_or_default());
    }
    let raw_query: Vec<String> = query
        .as_object()
        .map(|q| q.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    let mut headers = json!({"content-type": "application/json"});
    if let Some(token) = bearer {
        headers["authorization"] = Value::String(format!("Bearer {token}"));
    }
    let route_key = format!("{method} {route}");
    let event = json!({
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": raw_query.join("&"),
        "headers": headers, "pathParameters": params, "queryStringParameters": query,
        "body": body, "isBase64Encoded": false,
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": REQUEST_ID, "routeKey": route_key, "stage": "$default",
            "time": "24/Nov/2026:18:00:00 +0000", "timeEpoch": 1795540800000u64}
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// The `error` object of a JSON error response, checked to carry the request's id.
pub fn error_of(resp: &Response<Body>) -> Value {
    let json: Value = serde_json::from_slice(resp.body().as_ref()).expect("a JSON body");
    assert_eq!(json["error"]["request_id"], REQUEST_ID, "{json}");
    json["error"].clone()
}
