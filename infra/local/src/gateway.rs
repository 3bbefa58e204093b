//! The local HTTP gateway: every template route as API Gateway v2 events, the Lambda Invoke
//! API, and a few `/_local/*` helpers (emails, schedules on demand, health, routes, the payment
//! providers' stand-in).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::apigw::{self, EventContext, Router};
use crate::emulators::{self, Kind};
use crate::lambda::{Failure, Outcome, Pool};

const MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

impl Cors {
    pub fn from_template(config: &Value) -> Option<Cors> {
        let list = |k: &str| -> Vec<String> {
            config
                .get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        config.as_object()?;
        Some(Cors {
            allow_origins: list("AllowOrigins"),
            allow_headers: list("AllowHeaders"),
            allow_methods: list("AllowMethods"),
            expose_headers: list("ExposeHeaders"),
            max_age: config.get("MaxAge").and_then(Value::as_u64),
        })
    }

    fn allowed_origin(&self, origin: &str) -> Option<String> {
        if self.allow_origins.iter().any(|o| o == "*") {
            Some("*".into())
        } else if self.allow_origins.iter().any(|o| o == origin) {
            Some(origin.to_string())
        } else {
            None
        }
    }
}

/// A scheduled function that can be run on demand.
#[derive(Debug, Clone)]
pub struct ScheduleTarget {
    pub function: String,
    pub rule_arn: String,
}

pub struct Gateway {
    pub router: Router,
    pub pools: HashMap<String, Arc<Pool>>,
    /// Logical ids and ARNs -> function name.
    pub aliases: HashMap<String, String>,
    pub schedules: Vec<ScheduleTarget>,
    pub emulator: Kind,
    pub aws_url: String,
    pub account: String,
    pub region: String,
    pub domain: String,
    pub cors: Option<Cors>,
    pub http: reqwest::Client,
    /// Raw messages the functions sent through SES v2 (see `mail`).
    pub sent_raw: crate::mail::SentRaw,
    /// The card and wallet providers' stand-in, under `/_local/payments/` (see `payments`).
    pub payments: Arc<crate::payments::Payments>,
    /// The shipping carriers' stand-in, under `/_local/carriers/` (see `carriers`).
    pub carriers: Arc<crate::carriers::Carriers>,
}

impl Gateway {
    fn pool(&self, name: &str) -> Option<&Arc<Pool>> {
        let name = name.rsplit_once(":function:").map(|(_, n)| n).unwrap_or(name);
        let name = name.split(':').next().unwrap_or(name);
        self.pools.get(name).or_else(|| self.aliases.get(name).and_then(|n| self.pools.get(n)))
    }
}

pub fn app(gw: Arc<Gateway>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(gw)
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn gateway_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    json_response(status, apigw::error_body(code, message, request_id))
}

async fn handle(State(gw): State<Arc<Gateway>>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = ulid::Ulid::new().to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (mut resp, function) = dispatch(&gw, req, &request_id).await;
    if let (Some(cors), Some(origin)) = (&gw.cors, origin)
        && let Some(allowed) = cors.allowed_origin(&origin)
    {
        if let Ok(v) = HeaderValue::from_str(&allowed) {
            resp.headers_mut().insert("access-control-allow-origin", v);
        }
        if !cors.expose_headers.is_empty()
            && let Ok(v) = HeaderValue::from_str(&cors.expose_headers.join(","))
        {
            resp.headers_mut().insert("access-control-expose-headers", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("apigw-requestid", v);
    }
    if !path.starts_with("/_local/health") {
        eprintln!(
            "HTTP {:<6} {:<40} {} {:<24} {} ms",
            method.as_str(),
            path,
            resp.status().as_u16(),
            function.as_deref().unwrap_or("-"),
            started.elapsed().as_millis()
        );
    }
    resp
}

async fn dispatch(gw: &Gateway, req: Request, request_id: &str) -> (Response, Option<String>) {
    let method = req.method().clone();
    let path = req.uri().path().to_string();

    if let Some(local) = path.strip_prefix("/_local/") {
        return (local_endpoint(gw, &method, local, req, request_id).await, None);
    }
    if path.starts_with("/v2/email/") {
        return (ses_v2(gw, req, request_id).await, None);
    }
    if let Some(name) = path.strip_prefix("/2015-03-31/functions/").and_then(|p| p.strip_suffix("/invocations"))
        && method == Method::POST
    {
        let name = apigw::percent_decode(name);
        return (invoke_api(gw, &name, req).await, Some(name));
    }
    if method == Method::OPTIONS
        && let Some(cors) = &gw.cors
        && req.headers().contains_key("access-control-request-method")
    {
        return (preflight(cors, req.headers()), None);
    }

    let Some((route, path_parameters)) = gw.router.find(method.as_str(), &path) else {
        let msg = format!("no route for {method} {path}");
        return (gateway_error(StatusCode::NOT_FOUND, "route_not_found", &msg, request_id), None);
    };
    let function = route.function.clone();
    let Some(pool) = gw.pools.get(&function) else {
        let msg = format!("function {function} is not available");
        return (gateway_error(StatusCode::BAD_GATEWAY, "function_unavailable", &msg, request_id), Some(function));
    };

    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        let msg = "request body exceeds 10 MB";
        return (gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", msg, request_id), Some(function));
    };
    let ctx = EventContext {
        route_key: route.route_key(),
        path_parameters,
        request_id: request_id.to_string(),
        account_id: gw.account.clone(),
        domain_name: gw.domain.clone(),
        time: chrono::Utc::now(),
    };
    let event = apigw::request_event(&axum::http::Request::from_parts(parts, body), ctx);
    let event = match serde_json::to_vec(&event) {
        Ok(e) => Bytes::from(e),
        Err(e) => {
            return (gateway_error(StatusCode::BAD_REQUEST, "bad_request", &e.to_string(), request_id), Some(function));
        }
    };
    let outcome = pool.invoke(event).await;
    let resp = match outcome {
        Outcome::Response(out) => match apigw::map_response(&out) {
            Ok(r) => {
                let mut resp = Response::new(Body::from(r.body));
                *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
                for (k, v) in r.headers {
                    if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::from_str(&v)) {
                        resp.headers_mut().append(k, v);
                    }
                }
                resp
            }
            Err(e) => {
                eprintln!("{function}: {e:#}");
                gateway_error(StatusCode::BAD_GATEWAY, "invalid_function_response", &format!("{e:#}"), request_id)
            }
        },
        Outcome::FunctionError { error_type, payload } => {
            eprintln!("{function}: function error {error_type}: {}", String::from_utf8_lossy(&payload));
            gateway_error(
                StatusCode::BAD_GATEWAY,
                "function_error",
                &format!("the function failed ({error_type})"),
                request_id,
            )
        }
        Outcome::Failed { kind, message } => {
            eprintln!("{function}: {kind:?}: {message}");
            let (status, code) = match kind {
                Failure::TimedOut => (StatusCode::GATEWAY_TIMEOUT, "function_timeout"),
                Failure::Crashed => (StatusCode::BAD_GATEWAY, "function_crashed"),
                Failure::InitFailed => (StatusCode::BAD_GATEWAY, "function_init_failed"),
                Failure::Unavailable => (StatusCode::BAD_GATEWAY, "function_unavailable"),
            };
            gateway_error(status, code, &message, request_id)
        }
    };
    (resp, Some(function))
}

fn preflight(cors: &Cors, headers: &HeaderMap) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let origin = headers.get("origin").and_then(|v| v.to_str().ok()).unwrap_or("");
    let h = r.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    if let Some(allowed) = cors.allowed_origin(origin) {
        put("access-control-allow-origin", allowed);
        put("access-control-allow-methods", cors.allow_methods.join(","));
        put("access-control-allow-headers", cors.allow_headers.join(","));
        if let Some(age) = cors.max_age {
            put("access-control-max-age", age.to_string());
        }
    }
    r
}

/// An error of the Lambda API itself (the function did not run), in Lambda's shape.
fn lambda_api_error(status: StatusCode, error_type: &'static str, message: String) -> Response {
    let mut r = json_response(status, json!({"Type": "User", "Message": message}).to_string().into_bytes());
    r.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(error_type));
    r
}

/// The invocation payload: `{}` when empty; not JSON is refused before the function runs.
/// Lambda's message when it is not.
fn invocation_payload(body: Bytes) -> Result<Bytes, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from_static(b"{}"));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        Ok(_) => Ok(body),
        Err(e) => Err(format!("Could not parse request body into json: {e}")),
    }
}

/// An SES v2 request of a function, passed on to the emulator as it came; a raw message the
/// emulator accepted is kept (see `mail`).
async fn ses_v2(gw: &Gateway, req: Request, request_id: &str) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return gateway_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "body over 10 MB", request_id);
    };
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.to_string());
    let mut forward = gw.http.request(parts.method.clone(), format!("{}{path}", gw.aws_url)).body(body.clone());
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let answer = match forward.send().await {
        Ok(a) => a,
        Err(e) => return gateway_error(StatusCode::BAD_GATEWAY, "emulator_unavailable", &e.to_string(), request_id),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let answered = answer.bytes().await.unwrap_or_default();
    if parts.method == Method::POST && parts.uri.path() == "/v2/email/outbound-emails" && status.is_success() {
        gw.sent_raw.record(&body, &answered);
    }
    let mut resp = Response::new(Body::from(answered));
    *resp.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            resp.headers_mut().append(name, value.clone());
        }
    }
    resp
}

/// `POST /2015-03-31/functions/{name}/invocations`, as Lambda answers it.
async fn invoke_api(gw: &Gateway, name: &str, req: Request) -> Response {
    let Some(pool) = gw.pool(name) else {
        return lambda_api_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {name}"),
        );
    };
    let payload = match axum::body::to_bytes(req.into_body(), MAX_BODY).await.map(invocation_payload) {
        Ok(Ok(payload)) => payload,
        Ok(Err(message)) => {
            return lambda_api_error(StatusCode::BAD_REQUEST, "InvalidRequestContentException", message);
        }
        Err(_) => {
            return lambda_api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                format!("the payload is larger than {MAX_BODY} bytes"),
            );
        }
    };
    let (body, error) = match pool.invoke(payload).await {
        Outcome::Response(b) => (b.to_vec(), None),
        Outcome::FunctionError { payload, .. } => (payload.to_vec(), Some("Unhandled")),
        Outcome::Failed { kind, message } => {
            let error_type = match kind {
                Failure::TimedOut => "Sandbox.Timedout",
                Failure::Crashed => "Runtime.ExitError",
                Failure::InitFailed => "Runtime.InitError",
                Failure::Unavailable => "Runtime.Unavailable",
            };
            (json!({"errorType": error_type, "errorMessage": message}).to_string().into_bytes(), Some("Unhandled"))
        }
    };
    let mut r = json_response(StatusCode::OK, body);
    r.headers_mut().insert("x-amz-executed-version", HeaderValue::from_static("$LATEST"));
    if let Some(e) = error {
        r.headers_mut().insert("x-amz-function-error", HeaderValue::from_static(e));
    }
    r
}

async fn local_endpoint(gw: &Gateway, method: &Method, path: &str, req: Request, request_id: &str) -> Response {
    if path.starts_with("payments/") {
        return gw.payments.handle(req).await;
    }
    if path.starts_with("carriers/") {
        return gw.carriers.handle(req).await;
    }
    match (method.as_str(), path) {
        ("GET", "health") => json_response(
            StatusCode::OK,
            json!({"status": "ok", "functions": gw.pools.len(), "emulator": gw.emulator.name()})
                .to_string()
                .into_bytes(),
        ),
        // The media CDN's stand-in: renditions straight from the emulator's bucket (the template's
        // distribution serves only `images/`).
        ("GET", p) if p.starts_with("media/") => {
            let rest = &p["media/".len()..];
            let Some((bucket, key)) = rest.split_once('/').filter(|(_, k)| k.starts_with("images/")) else {
                return gateway_error(StatusCode::NOT_FOUND, "not_found", "no such media object", request_id);
            };
            match gw.http.get(format!("{}/{bucket}/{key}", gw.aws_url)).send().await {
                Ok(r) if r.status().is_success() => {
                    let content_type = r
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/octet-stream")
                        .to_string();
                    let bytes = r.bytes().await.unwrap_or_default();
                    axum::response::Response::builder()
                        .status(StatusCode::OK)
                        .header("content-type", content_type)
                        .header("cache-control", "public, max-age=31536000, immutable")
                        .body(axum::body::Body::from(bytes))
                        .unwrap_or_default()
                }
                Ok(_) => gateway_error(StatusCode::NOT_FOUND, "not_found", "no such media object", request_id),
                Err(e) => gateway_error(StatusCode::BAD_GATEWAY, "emulator_unavailable", &e.to_string(), request_id),
            }
        }
        ("GET", "routes") => {
            let routes: Vec<Value> = gw
                .router
                .routes()
                .iter()
                .map(|r| json!({"method": r.method, "path": r.path, "function": r.function}))
                .collect();
            json_response(StatusCode::OK, Value::from(routes).to_string().into_bytes())
        }
        ("GET", "emails") => {
            let url = format!("{}{}", gw.aws_url, gw.emulator.emails_path());
            let raw = match gw.http.get(&url).send().await {
                Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                Err(e) => {
                    return gateway_error(StatusCode::BAD_GATEWAY, "emulator_unavailable", &e.to_string(), request_id);
                }
            };
            let mut emails = emulators::normalise_emails(gw.emulator, &raw);
            gw.sent_raw.annotate(&mut emails);
            // ?to=address keeps only emails sent to that address.
            let query = Query::<HashMap<String, String>>::try_from_uri(req.uri());
            if let Some(to) = query.ok().and_then(|Query(mut q)| q.remove("to")) {
                emails
                    .retain(|e| e["to"].as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(to.as_str()))));
            }
            json_response(StatusCode::OK, Value::from(emails).to_string().into_bytes())
        }
        ("POST", p) if p.starts_with("schedules/") => {
            let name = &p["schedules/".len()..];
            let target = gw
                .schedules
                .iter()
                .find(|s| s.function == name || gw.aliases.get(name).is_some_and(|f| *f == s.function));
            let Some(target) = target else {
                let known: Vec<&str> = gw.schedules.iter().map(|s| s.function.as_str()).collect();
                return gateway_error(
                    StatusCode::NOT_FOUND,
                    "schedule_not_found",
                    &format!("{name} has no schedule (scheduled functions: {})", known.join(", ")),
                    request_id,
                );
            };
            let Some(pool) = gw.pools.get(&target.function) else {
                return gateway_error(StatusCode::BAD_GATEWAY, "function_unavailable", &target.function, request_id);
            };
            let event = crate::schedule::scheduled_event(&target.rule_arn, &gw.account, &gw.region, chrono::Utc::now());
            run_now(pool, event, request_id).await
        }
        _ => gateway_error(
            StatusCode::NOT_FOUND,
            "route_not_found",
            &format!("no local endpoint /_local/{path}"),
            request_id,
        ),
    }
}

async fn run_now(pool: &Arc<Pool>, event: Value, request_id: &str) -> Response {
    match pool.invoke(Bytes::from(event.to_string())).await {
        Outcome::Response(b) => {
            let body = if b.is_empty() { b"null".to_vec() } else { b.to_vec() };
            json_response(StatusCode::OK, body)
        }
        Outcome::FunctionError { error_type, payload } => gateway_error(
            StatusCode::BAD_GATEWAY,
            "function_error",
            &format!("{error_type}: {}", String::from_utf8_lossy(&payload)),
            request_id,
        ),
        Outcome::Failed { kind, message } => {
            let status = if kind == Failure::TimedOut { StatusCode::GATEWAY_TIMEOUT } else { StatusCode::BAD_GATEWAY };
            gateway_error(status, "function_failed", &message, request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_payment_providers_stand_in_answers_under_local_payments() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", listener.local_addr().unwrap());
        let payments = crate::payments::Config::from_parameters(&Default::default(), &api_url);
        let gw = Arc::new(Gateway {
            router: Router::new(Vec::new()).unwrap(),
            pools: HashMap::new(),
            aliases: HashMap::new(),
            schedules: Vec::new(),
            emulator: Kind::Ministack,
            aws_url: "http://127.0.0.1:9".into(),
            account: "000000000000".into(),
            region: "us-east-1".into(),
            domain: api_url.clone(),
            cors: None,
            http: reqwest::Client::new(),
            sent_raw: Default::default(),
            payments: crate::payments::Payments::start(payments),
            carriers: Arc::new(crate::carriers::Carriers::new(crate::carriers::Config::from_parameters(
                &Default::default(),
                &api_url,
            ))),
        });
        tokio::spawn(async move { axum::serve(listener, app(gw)).await.unwrap() });
        let http = reqwest::Client::new();
        let intents = format!("{api_url}/_local/payments/card/v1/payment_intents");
        let answer = http.post(&intents).form(&[("amount", "1999"), ("currency", "eur")]).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let intent: Value = answer.json().await.unwrap();
        assert_eq!(intent["status"], "requires_payment_method");
        let settings: Value =
            http.get(format!("{api_url}/_local/payments/settings")).send().await.unwrap().json().await.unwrap();
        assert_eq!(settings["card_webhook_url"], format!("{api_url}/webhooks/payments/card"));
        let unknown = http.get(format!("{api_url}/_local/payments/nothing")).send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn an_invocation_payload_must_be_json_and_empty_means_an_empty_object() {
        assert_eq!(invocation_payload(Bytes::from_static(b"")).unwrap(), Bytes::from_static(b"{}"));
        assert_eq!(invocation_payload(Bytes::from_static(b" \n")).unwrap(), Bytes::from_static(b"{}"));
        let event = Bytes::from_static(b"{\"rawPath\":\"/me\"}");
        assert_eq!(invocation_payload(event.clone()).unwrap(), event);
        let refused = invocation_payload(Bytes::from_static(b"not json")).unwrap_err();
        assert!(refused.starts_with("Could not parse request body into json"), "{refused}");
    }
}
