//! API Gateway HTTP API (payload format 2.0) emulation: route matching, request event
//! building and response mapping. Pure functions, no I/O.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

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

    fn segments(&self) -> Vec<&str> {
        self.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect()
    }

    /// Path parameters if `path` matches this route's path (method not checked).
    pub fn match_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        if self.path == "$default" {
            return Some(BTreeMap::new());
        }
        let pattern = self.segments();
        let actual: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
        let mut params = BTreeMap::new();
        for (i, seg) in pattern.iter().enumerate() {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                // Greedy `{proxy+}`: the rest of the path, at least one segment.
                if actual.len() <= i {
                    return None;
                }
                params.insert(name.to_string(), percent_decode(&actual[i..].join("/")));
                return Some(params);
            }
            let got = actual.get(i)?;
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params.insert(name.to_string(), percent_decode(got));
            } else if seg != got {
                return None;
            }
        }
        (actual.len() == pattern.len()).then_some(params)
    }

    /// Sort key: literal segments beat parameters, parameters beat greedy, longer beats shorter.
    fn specificity(&self) -> (u8, Vec<u8>, u8) {
        if self.path == "$default" {
            return (0, vec![], 0);
        }
        let segs = self
            .segments()
            .iter()
            .map(|s| {
                if s.ends_with("+}") {
                    0
                } else if s.starts_with('{') {
                    1
                } else {
                    2
                }
            })
            .collect();
        (1, segs, u8::from(self.method != "ANY"))
    }
}

pub enum RouteMatch<'a> {
    Found(&'a Route, BTreeMap<String, String>),
    /// The path exists but not for this method.
    MethodNotAllowed,
    NotFound,
}

/// The routing table, most specific route first (as API Gateway prioritises them).
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|r| std::cmp::Reverse(r.specificity()));
        Router { routes }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn find(&self, method: &str, path: &str) -> RouteMatch<'_> {
        let mut path_matched = false;
        for r in &self.routes {
            if let Some(params) = r.match_path(path) {
                if r.method == "ANY" || r.method == method {
                    return RouteMatch::Found(r, params);
                }
                path_matched = true;
            }
        }
        if path_matched { RouteMatch::MethodNotAllowed } else { RouteMatch::NotFound }
    }
}

/// What the gateway knows about an incoming request.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    /// Header names as received; duplicates allowed.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub source_ip: &'a str,
    pub protocol: &'a str,
}

pub struct EventContext<'a> {
    pub route_key: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub request_id: &'a str,
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub domain_name: &'a str,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// Builds the API Gateway v2 (HTTP API) event for a request.
pub fn request_event(req: &HttpRequest<'_>, ctx: &EventContext<'_>) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
            continue;
        }
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for pair in req.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k), form_decode(v));
        query
            .entry(k)
            .and_modify(|old| {
                old.push(',');
                old.push_str(&v);
            })
            .or_insert(v);
    }

    let mut ev = Map::new();
    ev.insert("version".into(), json!("2.0"));
    ev.insert("routeKey".into(), json!(ctx.route_key));
    ev.insert("rawPath".into(), json!(req.raw_path));
    ev.insert("rawQueryString".into(), json!(req.raw_query));
    if !cookies.is_empty() {
        ev.insert("cookies".into(), json!(cookies));
    }
    ev.insert("headers".into(), json!(headers));
    if !query.is_empty() {
        ev.insert("queryStringParameters".into(), json!(query));
    }
    if !ctx.path_parameters.is_empty() {
        ev.insert("pathParameters".into(), json!(ctx.path_parameters));
    }
    ev.insert(
        "requestContext".into(),
        json!({
            "accountId": ctx.account_id,
            "apiId": ctx.api_id,
            "domainName": ctx.domain_name,
            "domainPrefix": ctx.domain_name.split('.').next().unwrap_or(ctx.domain_name),
            "http": {
                "method": req.method,
                "path": req.raw_path,
                "protocol": req.protocol,
                "sourceIp": req.source_ip,
                "userAgent": user_agent,
            },
            "requestId": ctx.request_id,
            "routeKey": ctx.route_key,
            "stage": "$default",
            "time": ctx.time.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": ctx.time.timestamp_millis(),
        }),
    );
    if !req.body.is_empty() {
        match std::str::from_utf8(req.body) {
            Ok(text) => {
                ev.insert("body".into(), json!(text));
                ev.insert("isBase64Encoded".into(), json!(false));
            }
            Err(_) => {
                ev.insert("body".into(), json!(B64.encode(req.body)));
                ev.insert("isBase64Encoded".into(), json!(true));
            }
        }
    } else {
        ev.insert("isBase64Encoded".into(), json!(false));
    }
    Value::Object(ev)
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

pub fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
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
    }

    #[test]
    fn path_parameters_are_extracted_and_decoded() {
        let r = router();
        let RouteMatch::Found(route, params) = r.find("PUT", "/vendors/v1/staff/u%202") else { panic!("no match") };
        assert_eq!(route.function, "update-staff-role");
        assert_eq!(route.route_key(), "PUT /vendors/{vendorId}/staff/{userId}");
        assert_eq!(params["vendorId"], "v1");
        assert_eq!(params["userId"], "u 2");
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let r = router();
        let RouteMatch::Found(route, _) = r.find("GET", "/vendors/mine") else { panic!() };
        assert_eq!(route.function, "my-vendors");
        let RouteMatch::Found(route, p) = r.find("GET", "/vendors/v9") else { panic!() };
        assert_eq!((route.function.as_str(), p["vendorId"].as_str()), ("get-vendor", "v9"));
    }

    #[test]
    fn methods_and_unknown_paths_are_told_apart() {
        let r = router();
        assert!(matches!(r.find("DELETE", "/me"), RouteMatch::MethodNotAllowed));
        assert!(matches!(r.find("GET", "/nope"), RouteMatch::NotFound));
        assert!(matches!(r.find("GET", "/vendors/v1/staff/u1/extra"), RouteMatch::NotFound));
        let RouteMatch::Found(route, _) = r.find("PATCH", "/me/") else { panic!() };
        assert_eq!(route.function, "update-profile");
    }

    #[test]
    fn greedy_parameters_take_the_rest_of_the_path() {
        let r = router();
        let RouteMatch::Found(route, p) = r.find("POST", "/files/a/b/c") else { panic!() };
        assert_eq!((route.function.as_str(), p["proxy"].as_str()), ("files", "a/b/c"));
        assert!(matches!(r.find("POST", "/files"), RouteMatch::NotFound));
    }

    fn ctx_event(req: &HttpRequest<'_>) -> Value {
        let params = BTreeMap::from([("vendorId".to_string(), "v1".to_string())]);
        let ctx = EventContext {
            route_key: "GET /vendors/{vendorId}",
            path_parameters: &params,
            request_id: "01HZZZ",
            account_id: "000000000000",
            api_id: "local",
            domain_name: "127.0.0.1:3000",
            time: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        };
        request_event(req, &ctx)
    }

    #[test]
    fn request_event_has_the_v2_shape() {
        let req = HttpRequest {
            method: "GET",
            raw_path: "/vendors/v1",
            raw_query: "limit=10&tag=a&tag=b&q=green+valley%21",
            headers: vec![
                ("Authorization".into(), "Bearer t".into()),
                ("X-Multi".into(), "1".into()),
                ("x-multi".into(), "2".into()),
                ("Cookie".into(), "a=1; b=2".into()),
                ("User-Agent".into(), "curl/8".into()),
            ],
            body: b"",
            source_ip: "127.0.0.1",
            protocol: "HTTP/1.1",
        };
        let ev = ctx_event(&req);
        assert_eq!(ev["version"], "2.0");
        assert_eq!(ev["routeKey"], "GET /vendors/{vendorId}");
        assert_eq!(ev["rawQueryString"], "limit=10&tag=a&tag=b&q=green+valley%21");
        assert_eq!(ev["headers"]["authorization"], "Bearer t");
        assert_eq!(ev["headers"]["x-multi"], "1,2");
        assert!(ev["headers"].get("cookie").is_none());
        assert_eq!(ev["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(ev["queryStringParameters"], json!({"limit": "10", "tag": "a,b", "q": "green valley!"}));
        assert_eq!(ev["pathParameters"], json!({"vendorId": "v1"}));
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
        let req = HttpRequest {
            method: "POST",
            raw_path: "/x",
            raw_query: "",
            headers: vec![],
            body: &body,
            source_ip: "127.0.0.1",
            protocol: "HTTP/1.1",
        };
        let ev = ctx_event(&req);
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
