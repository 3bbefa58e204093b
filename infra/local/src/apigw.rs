//! API Gateway HTTP API (payload format 2.0) emulation: route matching, request event
//! building and response mapping. Pure functions, no I/O.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, Result, anyhow};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use axum::body::Bytes;
use axum::http::header::{COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Request};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

/// One template route (`Method` + `Path`) served by a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Upper-case method or `ANY`.
    pub method: String,
    /// Template path, e.g. `/vendors/{vendorId}/staff/{userId}`, or `$default`.
    pub path: String,
    pub function: String,
}

impl Route {
    pub fn route_key(&self) -> String {
        if self.path == "$default" { "$default".to_string() } else { format!("{} {}", self.method, self.path) }
    }
}

/// The routing table. Paths live in a `matchit` tree, which prefers literal segments to
/// parameters and parameters to a greedy `{name+}`, as API Gateway does; a route for the
/// request's method beats `ANY`; `$default` takes whatever no route matches.
pub struct Router {
    routes: Vec<Route>,
    /// Template path -> indices of its routes in `routes`.
    paths: matchit::Router<Vec<usize>>,
    default: Option<usize>,
}

/// `path` without empty segments (`/me/` and `//me` are `/me`), each mapped by `segment`.
fn normalise(path: &str, segment: impl Fn(&str) -> String) -> String {
    let path: String = path.split('/').filter(|s| !s.is_empty()).map(|s| format!("/{}", segment(s))).collect();
    if path.is_empty() { "/".into() } else { path }
}

impl Router {
    pub fn new(mut routes: Vec<Route>) -> Result<Self> {
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        let (mut by_path, mut default) = (BTreeMap::<String, Vec<usize>>::new(), None);
        for (i, r) in routes.iter().enumerate() {
            if r.path == "$default" {
                default = Some(i);
                continue;
            }
            // A greedy `{proxy+}` is matchit's catch-all `{*proxy}`.
            let path = normalise(&r.path, |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                Some(name) => format!("{{*{name}}}"),
                None => s.to_string(),
            });
            by_path.entry(path).or_default().push(i);
        }
        let mut paths = matchit::Router::new();
        for (path, ids) in by_path {
            paths.insert(path.as_str(), ids).with_context(|| format!("route {path}"))?;
        }
        Ok(Router { routes, paths, default })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route serving `method` on `path`, with its percent-decoded path parameters.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Route, HashMap<String, String>)> {
        if let Ok(m) = self.paths.at(&normalise(path, str::to_string)) {
            let route = |wanted: &str| m.value.iter().map(|&i| &self.routes[i]).find(|r| r.method == wanted);
            if let Some(r) = route(method).or_else(|| route("ANY")) {
                return Some((r, m.params.iter().map(|(k, v)| (k.to_string(), percent_decode(v))).collect()));
            }
        }
        self.default.map(|i| (&self.routes[i], HashMap::new()))
    }
}

/// What the event says about where a request came in.
pub struct EventContext {
    pub route_key: String,
    pub path_parameters: HashMap<String, String>,
    pub request_id: String,
    pub account_id: String,
    pub domain_name: String,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// Builds the API Gateway v2 (HTTP API) event for a request: repeated headers joined with
/// commas, cookies in their own list, the query string decoded (repeated keys joined with
/// commas), binary bodies base64-encoded.
pub fn request_event(req: &Request<Bytes>, ctx: EventContext) -> ApiGatewayV2httpRequest {
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in req.headers().keys() {
        let values = req.headers().get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()));
        if name == COOKIE {
            for v in values {
                cookies.extend(v.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string));
            }
        } else if let Ok(v) = HeaderValue::from_str(&values.collect::<Vec<_>>().join(",")) {
            headers.insert(name, v);
        }
    }
    let raw_query = req.uri().query().unwrap_or_default();
    let mut ev = ApiGatewayV2httpRequest::default();
    ev.version = Some("2.0".into());
    ev.route_key = Some(ctx.route_key.clone());
    ev.raw_path = Some(req.uri().path().into());
    ev.raw_query_string = Some(raw_query.into());
    ev.cookies = (!cookies.is_empty()).then_some(cookies);
    ev.query_string_parameters = raw_query.parse().unwrap_or_default();
    ev.path_parameters = ctx.path_parameters;
    // A field of custom authorizer payloads that the struct always writes: at least keep it true.
    #[allow(deprecated)]
    {
        ev.http_method = req.method().clone();
    }
    let rc = &mut ev.request_context;
    rc.route_key = Some(ctx.route_key);
    rc.account_id = Some(ctx.account_id);
    rc.stage = Some("$default".into());
    rc.request_id = Some(ctx.request_id);
    rc.apiid = Some("local".into());
    rc.domain_prefix = ctx.domain_name.split('.').next().map(str::to_string);
    rc.domain_name = Some(ctx.domain_name);
    rc.time = Some(ctx.time.format("%d/%b/%Y:%H:%M:%S %z").to_string());
    rc.time_epoch = ctx.time.timestamp_millis();
    rc.http.method = req.method().clone();
    rc.http.path = ev.raw_path.clone();
    rc.http.protocol = Some(format!("{:?}", req.version()));
    rc.http.source_ip = Some("127.0.0.1".into());
    rc.http.user_agent = Some(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().into());
    ev.headers = headers;
    if !req.body().is_empty() {
        ev.body = Some(match std::str::from_utf8(req.body()) {
            Ok(text) => text.to_string(),
            Err(_) => {
                ev.is_base64_encoded = true;
                B64.encode(req.body())
            }
        });
    }
    ev
}

/// An HTTP response decoded from a function's result.
#[derive(Debug, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Maps a function result to the HTTP response, as API Gateway does for payload format 2.0:
/// an object with `statusCode` is a structured response; anything else is a 200 JSON body.
/// (Hand-read rather than `ApiGatewayV2httpResponse`, which insists on `cookies` and string
/// header values; API Gateway does not.)
pub fn map_response(output: &[u8]) -> Result<HttpResponse> {
    let value: Value = serde_json::from_slice(output).map_err(|e| anyhow!("function returned invalid JSON: {e}"))?;
    let Some(obj) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Ok(HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: output.to_vec(),
        });
    };
    let status = obj["statusCode"]
        .as_u64()
        .or_else(|| obj["statusCode"].as_str().and_then(|s| s.parse().ok()))
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| anyhow!("invalid statusCode {}", obj["statusCode"]))? as u16;
    let mut headers = Vec::new();
    if let Some(h) = obj.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            if let Some(v) = crate::template::scalar_string(v) {
                headers.push((k.to_ascii_lowercase(), v));
            }
        }
    }
    if let Some(h) = obj.get("multiValueHeaders").and_then(Value::as_object) {
        for (k, vs) in h {
            let k = k.to_ascii_lowercase();
            for v in vs.as_array().into_iter().flatten() {
                if let Some(v) = crate::template::scalar_string(v)
                    && !headers.iter().any(|(hk, hv)| *hk == k && *hv == v)
                {
                    headers.push((k.clone(), v));
                }
            }
        }
    }
    for c in obj.get("cookies").and_then(Value::as_array).into_iter().flatten() {
        if let Some(c) = c.as_str() {
            headers.push(("set-cookie".into(), c.to_string()));
        }
    }
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            if obj.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
                B64.decode(s).map_err(|e| anyhow!("isBase64Encoded body is not base64: {e}"))?
            } else {
                s.clone().into_bytes()
            }
        }
        Some(other) => other.to_string().into_bytes(),
    };
    Ok(HttpResponse { status, headers, body })
}

/// The gateway's own error body: `{"error": {"code", "message", "request_id"}}`.
pub fn error_body(code: &str, message: &str, request_id: &str) -> Vec<u8> {
    json!({"error": {"code": code, "message": message, "request_id": request_id}}).to_string().into_bytes()
}

/// Percent-decoded text (invalid escapes stay as they are, invalid UTF-8 is replaced).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str, f: &str) -> Route {
        Route { method: method.into(), path: path.into(), function: f.into() }
    }

    fn router() -> Router {
        Router::new(vec![
            route("GET", "/vendors/{vendorId}", "get-vendor"),
            route("GET", "/vendors/{vendorId}/staff", "list-staff"),
            route("PUT", "/vendors/{vendorId}/staff/{userId}", "update-staff-role"),
            route("GET", "/vendors/mine", "my-vendors"),
            route("ANY", "/files/{proxy+}", "files"),
            route("GET", "/me", "get-profile"),
            route("PATCH", "/me", "update-profile"),
        ])
        .unwrap()
    }

    #[test]
    fn path_parameters_are_extracted_and_decoded() {
        let r = router();
        let (route, params) = r.find("PUT", "/vendors/v1/staff/u%202").expect("a match");
        assert_eq!(route.function, "update-staff-role");
        assert_eq!(route.route_key(), "PUT /vendors/{vendorId}/staff/{userId}");
        assert_eq!(params["vendorId"], "v1");
        assert_eq!(params["userId"], "u 2");
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let r = router();
        assert_eq!(r.find("GET", "/vendors/mine").unwrap().0.function, "my-vendors");
        let (route, p) = r.find("GET", "/vendors/v9").unwrap();
        assert_eq!((route.function.as_str(), p["vendorId"].as_str()), ("get-vendor", "v9"));
    }

    #[test]
    fn methods_and_unknown_paths_are_told_apart() {
        let r = router();
        assert!(r.find("DELETE", "/me").is_none());
        assert!(r.find("GET", "/nope").is_none());
        assert!(r.find("GET", "/vendors/v1/staff/u1/extra").is_none());
        assert_eq!(r.find("PATCH", "/me/").unwrap().0.function, "update-profile");
        let root = Router::new(vec![route("GET", "/", "home")]).unwrap();
        assert_eq!(root.find("GET", "/").unwrap().0.function, "home");
        assert!(root.find("GET", "/x").is_none());
        let with_default = Router::new(vec![route("GET", "/me", "get-profile"), route("ANY", "$default", "fallback")]);
        let with_default = with_default.unwrap();
        assert_eq!(with_default.find("DELETE", "/me").unwrap().0.function, "fallback");
        assert_eq!(with_default.find("GET", "/nope").unwrap().0.route_key(), "$default");
    }

    #[test]
    fn greedy_parameters_take_the_rest_of_the_path() {
        let r = router();
        let (route, p) = r.find("POST", "/files/a/b%2Fc").unwrap();
        assert_eq!((route.function.as_str(), p["proxy"].as_str()), ("files", "a/b/c"));
        assert!(r.find("POST", "/files").is_none());
        assert!(r.find("POST", "/files/").is_none());
    }

    fn ctx_event(req: Request<Bytes>) -> Value {
        let ctx = EventContext {
            route_key: "GET /vendors/{vendorId}".into(),
            path_parameters: HashMap::from([("vendorId".to_string(), "v1".to_string())]),
            request_id: "01HZZZ".into(),
            account_id: "000000000000".into(),
            domain_name: "127.0.0.1:3000".into(),
            time: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        };
        let ev = serde_json::to_value(request_event(&req, ctx)).unwrap();
        // The functions read it with lambda_http: same method, path, query and body.
        let parsed = lambda_http::request::from_str(&ev.to_string()).unwrap();
        assert_eq!((parsed.method(), parsed.uri().path()), (req.method(), req.uri().path()));
        assert_eq!(parsed.uri().query(), req.uri().query());
        assert_eq!(parsed.body().as_ref(), req.body().as_ref());
        ev
    }

    #[test]
    fn request_event_has_the_v2_shape() {
        let req = Request::get("/vendors/v1?limit=10&tag=a&tag=b&q=green+valley%21")
            .header("Authorization", "Bearer t")
            .header("X-Multi", "1")
            .header("x-multi", "2")
            .header("Cookie", "a=1; b=2")
            .header("User-Agent", "curl/8")
            .body(Bytes::new())
            .unwrap();
        let ev = ctx_event(req);
        assert_eq!(ev["version"], "2.0");
        assert_eq!(ev["routeKey"], "GET /vendors/{vendorId}");
        assert_eq!(ev["rawQueryString"], "limit=10&tag=a&tag=b&q=green+valley%21");
        assert_eq!(ev["headers"]["authorization"], "Bearer t");
        assert_eq!(ev["headers"]["x-multi"], "1,2");
        assert!(ev["headers"].get("cookie").is_none());
        assert_eq!(ev["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(ev["queryStringParameters"], json!({"limit": "10", "tag": "a,b", "q": "green valley!"}));
        assert_eq!(ev["pathParameters"], json!({"vendorId": "v1"}));
        assert_eq!(ev["requestContext"]["http"]["method"], "GET");
        assert_eq!(ev["requestContext"]["http"]["userAgent"], "curl/8");
        assert_eq!(ev["requestContext"]["stage"], "$default");
        assert_eq!(ev["requestContext"]["timeEpoch"], 1_700_000_000_000i64);
        assert_eq!(ev["requestContext"]["time"], "14/Nov/2023:22:13:20 +0000");
        assert_eq!(ev["isBase64Encoded"], false);
        assert!(ev.get("body").is_none());
    }

    #[test]
    fn binary_bodies_are_base64_encoded() {
        let body = [0xffu8, 0xfe, 0x00];
        let ev = ctx_event(Request::post("/x").body(Bytes::copy_from_slice(&body)).unwrap());
        assert_eq!(ev["isBase64Encoded"], true);
        assert_eq!(ev["body"], B64.encode(body));
        assert!(ev.get("queryStringParameters").is_none());
    }

    #[test]
    fn structured_responses_map_status_headers_cookies_and_body() {
        let out = json!({
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-A": "1"},
            "multiValueHeaders": {"x-b": ["1", "2"]},
            "cookies": ["s=1; HttpOnly"],
            "body": "{\"id\":1}",
            "isBase64Encoded": false
        });
        let r = map_response(out.to_string().as_bytes()).unwrap();
        assert_eq!(r.status, 201);
        assert!(r.headers.contains(&("content-type".into(), "application/json".into())));
        assert!(r.headers.contains(&("x-b".into(), "2".into())));
        assert!(r.headers.contains(&("set-cookie".into(), "s=1; HttpOnly".into())));
        assert_eq!(r.body, b"{\"id\":1}");
    }

    #[test]
    fn base64_bodies_are_decoded_and_plain_results_become_200_json() {
        let out = json!({"statusCode": 200, "body": B64.encode([1u8, 2, 3]), "isBase64Encoded": true});
        assert_eq!(map_response(out.to_string().as_bytes()).unwrap().body, vec![1, 2, 3]);
        let plain = map_response(b"{\"hello\":\"world\"}").unwrap();
        assert_eq!(plain.status, 200);
        assert_eq!(plain.body, b"{\"hello\":\"world\"}");
        assert!(map_response(b"not json").is_err());
        assert!(map_response(b"{\"statusCode\": 99}").is_err());
    }

    #[test]
    fn percent_decoding_leaves_malformed_escapes_alone() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
