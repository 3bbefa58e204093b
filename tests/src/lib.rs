//! `TestApp`: drives the local Stockyard API the way a client would, so end-to-end tests read as
//! user stories (zero2prod's `tests/api/helpers.rs`).
//!
//! The stack is started by `make test` (`stockyard-local exec -- cargo test ...`), which exports
//! `STOCKYARD_API_URL` and friends. Every helper that creates data makes it fresh (unique emails,
//! new vendors), so tests share nothing and pass in parallel and in any order.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use stockyard_domain::ids::{LocationId, OrderGroupId, OrderId, ProductId, VariantId, VendorId};
use stockyard_domain::money::{Currency, Money};
use stockyard_domain::order::{
    HeldStock, LineAllocation, OrderEvent, OrderGroup, OrderLine, OrderStatus, OrderTotals, Outcome, VendorOrder,
};
use stockyard_domain::stock::Actor;
use stockyard_store::{Table, orders};
use ulid::Ulid;

pub use reqwest::Method;

/// How long to wait for something asynchronous (an email through the queue) before failing.
pub const EVENTUALLY: Duration = Duration::from_secs(20);

/// The pause between two looks in [`eventually`].
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Looks with `probe` until it finds something (`Some`), for at most [`EVENTUALLY`], and returns
/// what it found; panics naming `what` when nothing turned up. The one place tests wait: for
/// something that must happen, never a fixed pause before checking that something did not.
pub async fn eventually<T, F, Fut>(what: impl fmt::Display, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {EVENTUALLY:?}");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// `units(day)` for each of the `count` days ending on `last_day`, oldest first.
pub fn daily_history(
    last_day: chrono::NaiveDate,
    count: i64,
    units: impl Fn(chrono::NaiveDate) -> i64,
) -> Vec<(chrono::NaiveDate, i64)> {
    (0..count).map(|i| last_day - chrono::Duration::days(count - 1 - i)).map(|d| (d, units(d))).collect()
}

/// Today in UTC. Read it once per test and pass it on, so no test depends on the date staying
/// the same between two readings.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The password every test user gets (valid under the password rules).
pub const PASSWORD: &str = "correct horse battery staple";

/// The repository root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A fresh, lower-case email address no other test uses.
pub fn unique_email() -> String {
    format!("{}@test.stockyard.example", unique_tag())
}

/// A JPEG of `width` × `height` with a gradient, carrying an EXIF block that names a camera and a
/// place (as a phone's photo would).
pub fn photo(width: u32, height: u32) -> Vec<u8> {
    let pixels = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .expect("a JPEG encodes");
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08Stockcam GPS 51.5N 0.1W".to_vec();
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    app1.append(&mut exif);
    let mut out = jpeg[..2].to_vec();
    out.extend(app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A fresh lower-case tag (a ULID) for names, codes and email prefixes.
pub fn unique_tag() -> String {
    Ulid::new().to_string().to_lowercase()
}

fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set. End-to-end tests need the local stack: run them through `make test` \
             (or `cargo run -p stockyard-local -- exec -- cargo test -p stockyard-tests`)."
        ),
    }
}

/// One answer of the API: status, headers and the JSON body (`Null` when there is none).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub json: Value,
    pub headers: HeaderMap,
}

impl fmt::Display for ApiResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {} {}", self.method, self.path, self.status, self.json)
    }
}

impl ApiResponse {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status: {self}");
        &self.json
    }

    /// Asserts an error response: status, code, and the error shape every error has.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "unexpected status: {self}");
        self.assert_error_shape();
        assert_eq!(self.error_code(), Some(code), "unexpected error code: {self}");
        &self.json["error"]
    }

    /// Asserts a 422 `invalid_field` error that names `field`.
    #[track_caller]
    pub fn expect_invalid_field(&self, field: &str) -> &Value {
        let error = self.expect_error(422, "invalid_field");
        assert_eq!(self.error_field(), Some(field), "the error names the wrong field: {self}");
        error
    }

    /// Asserts `{ "error": { code, message, request_id, field? } }` with non-empty strings.
    #[track_caller]
    pub fn assert_error_shape(&self) {
        let error = &self.json["error"];
        assert!(error.is_object(), "no error object: {self}");
        for key in ["code", "message", "request_id"] {
            let value = error[key].as_str().unwrap_or_default();
            assert!(!value.trim().is_empty(), "error.{key} missing or empty: {self}");
        }
        if let Some(field) = error.get("field") {
            assert!(field.as_str().is_some_and(|f| !f.is_empty()), "error.field is not a name: {self}");
        }
    }

    pub fn error_code(&self) -> Option<&str> {
        self.json["error"]["code"].as_str()
    }

    pub fn error_field(&self) -> Option<&str> {
        self.json["error"]["field"].as_str()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A string at a JSON pointer (`"/id"`, `"/user/email"`), which must be there.
    #[track_caller]
    pub fn str(&self, pointer: &str) -> String {
        match self.json.pointer(pointer).and_then(Value::as_str) {
            Some(s) => s.to_string(),
            None => panic!("no string at {pointer}: {self}"),
        }
    }

    #[track_caller]
    pub fn id(&self) -> String {
        self.str("/id")
    }

    /// The `items` of a list response.
    #[track_caller]
    pub fn items(&self) -> &Vec<Value> {
        match self.json["items"].as_array() {
            Some(items) => items,
            None => panic!("not a list response: {self}"),
        }
    }

    pub fn next_cursor(&self) -> Option<String> {
        self.json["next_cursor"].as_str().map(String::from)
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub name: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl TestUser {
    pub fn token(&self) -> &str {
        &self.access_token
    }
}

/// A vendor and its owner (signed in again after creating it, so the token carries the vendor).
#[derive(Debug, Clone)]
pub struct TestVendor {
    pub id: String,
    pub name: String,
    pub owner: TestUser,
}

/// An email the local stack sent (`GET /_local/emails`).
#[derive(Debug, Clone, Deserialize)]
pub struct SentEmail {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    /// Files sent with it (the local stack lists those of raw MIME messages).
    #[serde(default)]
    pub attachments: Vec<SentAttachment>,
}

/// A file attached to a sent email.
#[derive(Debug, Clone, Deserialize)]
pub struct SentAttachment {
    #[serde(default)]
    pub filename: Option<String>,
    pub content_type: String,
    pub data_base64: String,
}

impl SentAttachment {
    pub fn bytes(&self) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(&self.data_base64).expect("an attachment is base64")
    }
}

/// The text of every page of a PDF, read back with a PDF parser.
pub fn pdf_text(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("the PDF's text")
}

/// The SGTIN-96 EPC (24 hexadecimal digits) an RFID tag of `gtin` (any length) carries with
/// `serial`, its company prefix `prefix_digits` long (6 to 12): packed the way the GS1 tag data
/// standard lays it out (header 0x30, filter 1, partition, company prefix, indicator digit and item
/// reference, serial), as a tag printer would.
pub fn sgtin96(gtin: &str, prefix_digits: usize, serial: u64) -> String {
    let gtin14 = format!("{gtin:0>14}");
    let partition = 12 - prefix_digits;
    let prefix_bits = [40, 37, 34, 30, 27, 24, 20][partition];
    let prefix: u128 = gtin14[1..1 + prefix_digits].parse().expect("digits");
    let item: u128 = format!("{}{}", &gtin14[..1], &gtin14[1 + prefix_digits..13]).parse().expect("digits");
    let mut value: u128 = 0x30;
    value = (value << 3) | 1;
    value = (value << 3) | partition as u128;
    value = (value << prefix_bits) | prefix;
    value = (value << (44 - prefix_bits)) | item;
    value = (value << 38) | u128::from(serial);
    format!("{value:024X}")
}

/// A client of the local API, with the stack's settings.
#[derive(Debug, Clone)]
pub struct TestApp {
    pub api_url: String,
    pub client: reqwest::Client,
    pub admin_email: String,
    pub admin_password: String,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    /// Reads the stack's environment; panics with instructions when it is missing.
    pub fn new() -> Self {
        let api_url = required_env("STOCKYARD_API_URL").trim_end_matches('/').to_string();
        // Generous: under a flood of requests (1,000 at once on one stock item) a request waits
        // for a free function instance of the local stack before its own work starts; a hang
        // still ends the test.
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(90)).build().expect("an HTTP client can be built");
        Self {
            api_url,
            client,
            admin_email: required_env("STOCKYARD_ADMIN_EMAIL"),
            admin_password: required_env("STOCKYARD_ADMIN_PASSWORD"),
        }
    }

    /// The table the stack created from template.yaml.
    pub fn table_name(&self) -> String {
        required_env("STOCKYARD_TABLE_NAME")
    }

    /// A DynamoDB client pointed at the local emulator (for tests that look behind the API).
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        required_env("AWS_ENDPOINT_URL_DYNAMODB");
        aws_sdk_dynamodb::Client::new(&stockyard_platform::aws_config().await)
    }

    // ---- raw requests ----------------------------------------------------------------------

    /// Any request with an optional bearer token, JSON body and extra headers.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> ApiResponse {
        self.request_raw(method, path, token, body.map(Value::to_string), headers).await
    }

    /// Like [`request`](Self::request) with the body as text (for malformed JSON). A
    /// `content-type` in `headers` replaces the JSON one; an empty value sends none.
    ///
    /// Like a well-behaved client, it tries again (up to 5 times, waiting a little longer each
    /// time) when the API answers 503 `service_busy`, which says to retry in a moment: many tests
    /// change one stock item from many tasks at once on a loaded machine.
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> ApiResponse {
        let mut tries = 0;
        loop {
            let resp = self.request_once(method.clone(), path, token, body.clone(), headers).await;
            tries += 1;
            if resp.status != 503 || resp.error_code() != Some("service_busy") || tries > 5 {
                return resp;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
        }
    }

    async fn request_once(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> ApiResponse {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.api_url));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let typed = headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if let Some(body) = body {
            if !typed {
                req = req.header("content-type", "application/json");
            }
            req = req.body(body);
        }
        for (name, value) in headers.iter().filter(|(_, value)| !value.is_empty()) {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: the local API did not answer: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        ApiResponse { method, path: path.to_string(), status, json, headers }
    }

    /// A request whose answer is not JSON (an image): its status and bytes.
    pub async fn request_bytes(&self, method: Method, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.api_url));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: the local API did not answer: {e}"));
        let status = resp.status().as_u16();
        (status, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    }

    async fn get(&self, path: &str, token: &str) -> ApiResponse {
        self.request(Method::GET, path, Some(token), None, &[]).await
    }

    async fn send(&self, method: Method, path: &str, token: &str, body: &Value) -> ApiResponse {
        self.request(method, path, Some(token), Some(body), &[]).await
    }

    // ---- accounts and sessions ---------------------------------------------------------------

    pub async fn register(&self, body: &Value) -> ApiResponse {
        self.request(Method::POST, "/auth/register", None, Some(body), &[]).await
    }

    pub async fn login(&self, email: &str, password: &str) -> ApiResponse {
        let body = json!({ "email": email, "password": password });
        self.request(Method::POST, "/auth/login", None, Some(&body), &[]).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> ApiResponse {
        let body = json!({ "refresh_token": refresh_token });
        self.request(Method::POST, "/auth/refresh", None, Some(&body), &[]).await
    }

    pub async fn revoke(&self, refresh_token: &str) -> ApiResponse {
        let body = json!({ "refresh_token": refresh_token });
        self.request(Method::POST, "/auth/revoke", None, Some(&body), &[]).await
    }

    pub async fn me(&self, token: &str) -> ApiResponse {
        self.get("/me", token).await
    }

    pub async fn update_me(&self, token: &str, body: &Value) -> ApiResponse {
        self.send(Method::PATCH, "/me", token, body).await
    }

    // ---- addresses ------------------------------------------------------------------------

    pub async fn list_addresses(&self, token: &str) -> ApiResponse {
        self.get("/me/addresses", token).await
    }

    pub async fn create_address(&self, token: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, "/me/addresses", token, body).await
    }

    pub async fn update_address(&self, token: &str, address_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::PUT, &format!("/me/addresses/{address_id}"), token, body).await
    }

    pub async fn delete_address(&self, token: &str, address_id: &str) -> ApiResponse {
        self.request(Method::DELETE, &format!("/me/addresses/{address_id}"), Some(token), None, &[]).await
    }

    // ---- vendors and staff ------------------------------------------------------------------

    pub async fn create_vendor(&self, token: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, "/vendors", token, body).await
    }

    pub async fn get_vendor(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}"), token).await
    }

    pub async fn update_vendor(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::PATCH, &format!("/vendors/{vendor_id}"), token, body).await
    }

    pub async fn invite(&self, token: &str, vendor_id: &str, email: &str, role: &str) -> ApiResponse {
        let body = json!({ "email": email, "role": role });
        self.send(Method::POST, &format!("/vendors/{vendor_id}/invitations"), token, &body).await
    }

    pub async fn list_invitations(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/invitations"), token).await
    }

    pub async fn list_staff(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/staff"), token).await
    }

    pub async fn my_invitations(&self, token: &str) -> ApiResponse {
        self.get("/me/invitations", token).await
    }

    pub async fn accept(&self, token: &str, invitation_id: &str) -> ApiResponse {
        self.request(Method::POST, &format!("/invitations/{invitation_id}/accept"), Some(token), None, &[]).await
    }

    pub async fn update_staff_role(&self, token: &str, vendor_id: &str, user_id: &str, role: &str) -> ApiResponse {
        let body = json!({ "role": role });
        self.send(Method::PUT, &format!("/vendors/{vendor_id}/staff/{user_id}"), token, &body).await
    }

    pub async fn remove_staff(&self, token: &str, vendor_id: &str, user_id: &str) -> ApiResponse {
        self.request(Method::DELETE, &format!("/vendors/{vendor_id}/staff/{user_id}"), Some(token), None, &[]).await
    }

    // ---- inventory --------------------------------------------------------------------------

    pub async fn create_location(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/locations"), token, body).await
    }

    pub async fn list_locations(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/locations"), token).await
    }

    // ---- demand forecasting -----------------------------------------------------------------------

    /// `PUT /vendors/{v}/demand/{location}/{sku}`.
    pub async fn put_demand_settings(
        &self,
        token: &str,
        vendor_id: &str,
        location_id: &str,
        sku: &str,
        body: &Value,
    ) -> ApiResponse {
        self.send(Method::PUT, &format!("/vendors/{vendor_id}/demand/{location_id}/{sku}"), token, body).await
    }

    /// `POST /vendors/{v}/demand/{location}/{sku}/sales` with `{ days: [{date, units}] }`.
    pub async fn record_sales(
        &self,
        token: &str,
        vendor_id: &str,
        location_id: &str,
        sku: &str,
        days: &[(chrono::NaiveDate, i64)],
    ) -> ApiResponse {
        let days: Vec<Value> = days.iter().map(|(d, u)| json!({ "date": d.to_string(), "units": u })).collect();
        let path = format!("/vendors/{vendor_id}/demand/{location_id}/{sku}/sales");
        self.send(Method::POST, &path, token, &json!({ "days": days })).await
    }

    /// Records a history of any length ([`daily_history`]), 366 days a request.
    pub async fn record_history(
        &self,
        token: &str,
        vendor_id: &str,
        location_id: &str,
        sku: &str,
        days: &[(chrono::NaiveDate, i64)],
    ) {
        for chunk in days.chunks(366) {
            self.record_sales(token, vendor_id, location_id, sku, chunk).await.expect(200);
        }
    }

    /// `GET /vendors/{v}/forecasts?<query>`.
    pub async fn list_forecasts(&self, token: &str, vendor_id: &str, query: &str) -> ApiResponse {
        self.get(&with_query(&format!("/vendors/{vendor_id}/forecasts"), query), token).await
    }

    pub async fn sku_forecast(&self, token: &str, vendor_id: &str, sku: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/forecasts/{sku}"), token).await
    }

    /// `GET /vendors/{v}/replenishment?<query>`.
    pub async fn replenishment(&self, token: &str, vendor_id: &str, query: &str) -> ApiResponse {
        self.get(&with_query(&format!("/vendors/{vendor_id}/replenishment"), query), token).await
    }

    pub async fn run_forecast(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.request(Method::POST, &format!("/vendors/{vendor_id}/forecast-runs"), Some(token), None, &[]).await
    }

    /// Invokes a function through the local Lambda Invoke API with `payload`.
    pub async fn invoke(&self, function: &str, payload: &Value) -> ApiResponse {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        self.request(Method::POST, &path, None, Some(payload), &[]).await
    }

    /// Replenishment settings with this supplier (`None`: none), on hand and sensible defaults.
    pub fn demand_settings(supplier_id: Option<&str>, on_hand: i64) -> Value {
        let mut body = json!({
            "lead_time_days": 3, "review_period_days": 7,
            "service_level": 0.95, "min_order_qty": 0, "pack_multiple": 1, "on_hand": on_hand, "incoming": 0
        });
        if let Some(id) = supplier_id {
            body["supplier_id"] = json!(id);
        }
        body
    }

    // ---- platform administration ---------------------------------------------------------------

    /// `GET /admin/users?<query>` (`query` without the `?`, may be empty).
    pub async fn list_users(&self, token: &str, query: &str) -> ApiResponse {
        self.get(&with_query("/admin/users", query), token).await
    }

    pub async fn set_user_roles(&self, token: &str, user_id: &str, roles: &[&str]) -> ApiResponse {
        let body = json!({ "roles": roles });
        self.send(Method::PUT, &format!("/admin/users/{user_id}/roles"), token, &body).await
    }

    /// `GET /admin/vendors?<query>`.
    pub async fn list_vendors(&self, token: &str, query: &str) -> ApiResponse {
        self.get(&with_query("/admin/vendors", query), token).await
    }

    pub async fn set_vendor_status(
        &self,
        token: &str,
        vendor_id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> ApiResponse {
        let mut body = json!({ "status": status });
        if let Some(reason) = reason {
            body["reason"] = json!(reason);
        }
        self.send(Method::PUT, &format!("/admin/vendors/{vendor_id}/status"), token, &body).await
    }

    /// Every item of a list, following `next_cursor` from `path` (which has a query string).
    pub async fn all_pages(&self, token: &str, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let page_path = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.to_string(),
            };
            let page = self.get(&page_path, token).await;
            page.expect(200);
            items.extend(page.items().iter().cloned());
            match page.next_cursor() {
                Some(next) => cursor = Some(next),
                None => return items,
            }
        }
        panic!("{path}: more than 10000 pages; the cursor does not advance");
    }

    // ---- local stack helpers -------------------------------------------------------------------

    /// Runs a scheduled function now (`POST /_local/schedules/{function}`) and returns its result.
    pub async fn run_schedule(&self, function: &str) -> ApiResponse {
        self.request(Method::POST, &format!("/_local/schedules/{function}"), None, None, &[]).await
    }

    /// Emails sent so far to `address` (may be none yet).
    pub async fn sent_emails_to(&self, address: &str) -> Vec<SentEmail> {
        let resp = self.request(Method::GET, &format!("/_local/emails?to={address}"), None, None, &[]).await;
        resp.expect(200);
        let all: Vec<SentEmail> =
            serde_json::from_value(resp.json.clone()).unwrap_or_else(|e| panic!("emails are not a list ({e}): {resp}"));
        // Filter here too, in case the gateway ignores `?to=`.
        all.into_iter().filter(|e| e.to.iter().any(|to| to.eq_ignore_ascii_case(address))).collect()
    }

    /// Waits (at most [`EVENTUALLY`]) until at least one email reached `address`, and returns them all.
    /// Use it for an email that must arrive; whether a second one follows is for
    /// [`emails_to_after_marker`](Self::emails_to_after_marker).
    pub async fn emails_to(&self, address: &str) -> Vec<SentEmail> {
        eventually(format!("an email to {address}"), move || async move {
            Some(self.sent_emails_to(address).await).filter(|emails| !emails.is_empty())
        })
        .await
    }

    /// Waits until an email to `address` matching `wanted` has arrived, and returns it.
    pub async fn eventually_email(&self, address: &str, wanted: impl Fn(&SentEmail) -> bool) -> SentEmail {
        let wanted = &wanted;
        eventually(format!("the expected email to {address}"), move || async move {
            self.sent_emails_to(address).await.into_iter().find(|e| wanted(e))
        })
        .await
    }

    /// Every email that reached `address`, read once the email to `marker` has arrived. Send the
    /// marker after whatever may still reach `address` (a duplicate that must not), through the
    /// same queue and consumer: its arrival is the positive control that the path got that far, so
    /// the count read afterwards is final rather than early.
    pub async fn emails_to_after_marker(&self, address: &str, marker: &str) -> Vec<SentEmail> {
        self.emails_to(marker).await;
        self.sent_emails_to(address).await
    }

    // ---- scenarios ------------------------------------------------------------------------------

    /// Signs in and returns the user, asserting success.
    pub async fn sign_in(&self, email: &str, password: &str) -> TestUser {
        let resp = self.login(email, password).await;
        resp.expect(200);
        TestUser {
            id: resp.str("/user/id"),
            email: resp.str("/user/email"),
            password: password.to_string(),
            name: resp.str("/user/name"),
            access_token: resp.str("/access_token"),
            refresh_token: resp.str("/refresh_token"),
        }
    }

    /// The same user with a fresh session (so the token carries their current roles and vendor).
    pub async fn relogin(&self, user: &TestUser) -> TestUser {
        self.sign_in(&user.email, &user.password).await
    }

    /// Registers an account with `email` and signs it in.
    pub async fn customer_with_email(&self, email: &str) -> TestUser {
        let body = json!({ "email": email, "password": PASSWORD, "name": "Casey Customer" });
        self.register(&body).await.expect(201);
        self.sign_in(email, PASSWORD).await
    }

    /// A freshly registered, signed-in customer (whose address is not verified).
    pub async fn customer(&self) -> TestUser {
        self.customer_with_email(&unique_email()).await
    }

    /// A freshly registered, signed-in customer who verified their address with the link emailed
    /// at registration.
    pub async fn verified_customer(&self) -> TestUser {
        let user = self.customer().await;
        self.verify_email(&user).await;
        user
    }

    /// The tokens of the links to `/account/<path>` (`verify-email`, `reset-password`,
    /// `confirm-email`) emailed to `address` so far, oldest first.
    pub async fn link_tokens(&self, address: &str, path: &str) -> Vec<String> {
        let marker = format!("/account/{path}?token=");
        self.sent_emails_to(address)
            .await
            .iter()
            .filter_map(|e| e.text.as_deref()?.split(&marker).nth(1)?.split_whitespace().next().map(String::from))
            .collect()
    }

    /// Waits until at least `count` links to `/account/<path>` reached `address`; returns the newest.
    pub async fn nth_link_token(&self, address: &str, path: &str, count: usize) -> String {
        eventually(format!("{count} {path} link(s) to {address}"), move || async move {
            let tokens = self.link_tokens(address, path).await;
            (tokens.len() >= count).then(|| tokens.last().cloned()).flatten()
        })
        .await
    }

    /// Verifies `user`'s address with the link emailed at registration.
    pub async fn verify_email(&self, user: &TestUser) {
        let token = self.nth_link_token(&user.email, "verify-email", 1).await;
        let body = json!({ "token": token });
        let resp = self.request(Method::POST, "/auth/email/verify", None, Some(&body), &[]).await;
        assert_eq!(resp.expect(200)["email_verified"], true, "{resp}");
    }

    /// A fresh user who created a fresh vendor (and signed in again).
    pub async fn vendor_owner(&self) -> TestVendor {
        let owner = self.verified_customer().await;
        let name = format!("Vendor {}", unique_tag());
        let vendor = self.create_vendor(owner.token(), &json!({ "name": name })).await;
        vendor.expect(201);
        TestVendor { id: vendor.id(), name, owner: self.relogin(&owner).await }
    }

    /// A fresh user who joined `vendor` with `role`: invited, registered, accepted, signed in again.
    pub async fn staff(&self, vendor: &TestVendor, role: &str) -> TestUser {
        let email = unique_email();
        let invitation = self.invite(vendor.owner.token(), &vendor.id, &email, role).await;
        invitation.expect(201);
        let user = self.customer_with_email(&email).await;
        self.accept(user.token(), &invitation.id()).await.expect(200);
        self.relogin(&user).await
    }

    /// The platform administrator configured for the stack.
    pub async fn admin(&self) -> TestUser {
        self.sign_in(&self.admin_email, &self.admin_password).await
    }

    /// A fresh user the administrator gave the platform role `role`, signed in again.
    pub async fn user_with_platform_role(&self, role: &str) -> TestUser {
        let user = self.customer().await;
        let admin = self.admin().await;
        self.set_user_roles(admin.token(), &user.id, &[role]).await.expect(200);
        self.relogin(&user).await
    }

    // ---- catalog -------------------------------------------------------------------------------

    /// A fresh root category whose variants are sized (`size`: `s` or `m`, labelled in English
    /// and French) and whose products have a `material` (text), created by `admin`; its id.
    pub async fn sized_category(&self, admin: &TestUser) -> String {
        let tag = unique_tag();
        let body = json!({
            "names": { "en": format!("Jumpers {tag}"), "fr": format!("Pulls {tag}") },
            "attributes": [
                { "code": "material", "labels": { "en": "material" }, "kind": { "type": "text", "max_len": 100 } },
                { "code": "size", "labels": { "en": "Size", "fr": "Taille" }, "required": true, "defines_variants": true,
                  "kind": { "type": "enum", "values": [
                      { "code": "s", "labels": { "en": "Small", "fr": "Petit" } },
                      { "code": "m", "labels": { "en": "Medium", "fr": "Moyen" } }
                  ] } }
            ]
        });
        let resp = self.request(Method::POST, "/categories", Some(admin.token()), Some(&body), &[]).await;
        resp.expect(201)["id"].as_str().expect("a category id").to_string()
    }

    /// A fresh root category with no attributes, created by `admin`; its id.
    pub async fn plain_category(&self, admin: &TestUser) -> String {
        let body = json!({ "names": { "en": format!("Category {}", unique_tag()) } });
        let resp = self.request(Method::POST, "/categories", Some(admin.token()), Some(&body), &[]).await;
        resp.expect(201)["id"].as_str().expect("a category id").to_string()
    }

    pub async fn create_product(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/products"), token, body).await
    }

    /// A draft product of `vendor_id` in `category`, created by `token`; its id.
    pub async fn draft_product(&self, token: &str, vendor_id: &str, category: &str) -> String {
        let body = json!({ "category_id": category, "title": format!("Product {}", unique_tag()) });
        self.create_product(token, vendor_id, &body).await.expect(201)["id"].as_str().unwrap().to_string()
    }

    pub async fn create_variant(&self, token: &str, vendor_id: &str, product_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/products/{product_id}/variants"), token, body).await
    }

    /// A variant body with a fresh SKU and a EUR price.
    pub fn variant_body() -> Value {
        json!({ "sku": format!("SKU-{}", unique_tag()), "prices": { "EUR": { "amount": 1999 } } })
    }

    // ---- bulk CSV -----------------------------------------------------------------------------

    /// `POST /vendors/{vendorId}/imports`: a new import with its upload URL.
    pub async fn create_import(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.request(Method::POST, &format!("/vendors/{vendor_id}/imports"), Some(token), None, &[]).await
    }

    /// PUTs `body` to a presigned upload (`upload` as the API gave it: url, method, headers), as a
    /// browser would, with `content_type` instead of the signed one when given; the status S3 answered.
    /// Asks for an image slot on the vendor's product and uploads `bytes` to it, as a vendor's
    /// tool would; the image as created (awaiting its upload).
    pub async fn upload_image(&self, vendor: &TestVendor, product: &str, bytes: &[u8], content_type: &str) -> Value {
        let path = format!("/vendors/{}/products/{product}/images", vendor.id);
        let body = json!({ "content_type": content_type, "content_length": bytes.len(), "alt": "Front view" });
        let created = self.request(Method::POST, &path, Some(vendor.owner.token()), Some(&body), &[]).await;
        let created = created.expect(201).clone();
        assert_eq!(self.upload(&created["upload"], bytes, None).await, 200, "the emulator takes the upload");
        created["image"].clone()
    }

    /// Waits until the image is ready or rejected; the image then.
    pub async fn decided_image(&self, vendor: &TestVendor, product: &str, image: &str) -> Value {
        let path = format!("/vendors/{}/products/{product}/images/{image}", vendor.id);
        eventually(format!("image {image} decided"), || async {
            let seen = self.request(Method::GET, &path, Some(vendor.owner.token()), None, &[]).await;
            let body = seen.expect(200).clone();
            matches!(body["status"].as_str(), Some("ready" | "rejected")).then_some(body)
        })
        .await
    }

    pub async fn upload(&self, upload: &Value, body: &[u8], content_type: Option<&str>) -> u16 {
        let url = upload["url"].as_str().expect("an upload URL");
        let mut req = self.client.put(url).body(body.to_vec());
        for (name, value) in upload["headers"].as_object().into_iter().flatten() {
            let value = value.as_str().expect("header values are text");
            let value = if name == "content-type" { content_type.unwrap_or(value) } else { value };
            req = req.header(name.as_str(), value);
        }
        if content_type.is_some() && upload["headers"].get("content-type").is_none() {
            req = req.header("content-type", content_type.unwrap_or_default());
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("uploading to {url}: {e}"));
        resp.status().as_u16()
    }

    pub async fn start_import(&self, token: &str, vendor_id: &str, import_id: &str) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/imports/{import_id}/start");
        self.request(Method::POST, &path, Some(token), None, &[]).await
    }

    pub async fn get_import(&self, token: &str, vendor_id: &str, import_id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/imports/{import_id}"), token).await
    }

    /// Makes an import, uploads `csv` as text/csv and starts it; the import's id.
    pub async fn import_csv(&self, token: &str, vendor_id: &str, csv: &str) -> String {
        let created = self.create_import(token, vendor_id).await;
        let created = created.expect(201);
        let id = created["id"].as_str().expect("an import id").to_string();
        assert_eq!(self.upload(&created["upload"], csv.as_bytes(), None).await, 200, "the upload is accepted");
        self.start_import(token, vendor_id, &id).await.expect(202);
        id
    }

    /// Waits for an import to finish (done or failed) and returns it.
    pub async fn finished_import(&self, token: &str, vendor_id: &str, import_id: &str) -> Value {
        eventually(format!("import {import_id} finishes"), || async {
            let import = self.get_import(token, vendor_id, import_id).await;
            let import = import.expect(200).clone();
            matches!(import["status"].as_str(), Some("done" | "failed")).then_some(import)
        })
        .await
    }

    pub async fn create_export(&self, token: &str, vendor_id: &str) -> ApiResponse {
        self.request(Method::POST, &format!("/vendors/{vendor_id}/exports"), Some(token), None, &[]).await
    }

    pub async fn get_export(&self, token: &str, vendor_id: &str, export_id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/exports/{export_id}"), token).await
    }

    /// Exports the vendor's catalog, waits for the file and downloads it through its presigned URL.
    pub async fn export_csv(&self, token: &str, vendor_id: &str) -> String {
        let export = self.create_export(token, vendor_id).await;
        let id = export.expect(202)["id"].as_str().expect("an export id").to_string();
        let done = eventually(format!("export {id} is done"), || async {
            let export = self.get_export(token, vendor_id, &id).await;
            let export = export.expect(200).clone();
            assert_ne!(export["status"], "failed", "{export}");
            (export["status"] == "done").then_some(export)
        })
        .await;
        let url = done["download"]["url"].as_str().expect("a download URL once done");
        let resp = self.client.get(url).send().await.expect("the download answers");
        assert_eq!(resp.status().as_u16(), 200, "downloading {url}");
        resp.text().await.expect("the export is text")
    }

    // ---- inventory ----------------------------------------------------------------------------

    /// A fresh variant of a fresh product of `vendor` (perishable with `shelf_life_days`), and a
    /// fresh location of the vendor: `(sku, location_id)`.
    pub async fn variant_and_location(&self, vendor: &TestVendor, shelf_life_days: Option<u32>) -> (String, String) {
        let admin = self.admin().await;
        let category = self.plain_category(&admin).await;
        let token = vendor.owner.token();
        let product = self.draft_product(token, &vendor.id, &category).await;
        let mut variant = Self::variant_body();
        if let Some(days) = shelf_life_days {
            variant["shelf_life_days"] = json!(days);
        }
        let sku = self.create_variant(token, &vendor.id, &product, &variant).await.expect(201)["sku"]
            .as_str()
            .expect("a SKU")
            .to_string();
        let location = self.create_location(token, &vendor.id, &Self::location_body()).await;
        (sku, location.expect(201)["id"].as_str().expect("a location id").to_string())
    }

    /// `POST /vendors/{vendorId}/stock/adjustments`.
    pub async fn adjust_stock(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/stock/adjustments"), token, body).await
    }

    /// `GET /vendors/{vendorId}/skus/{sku}/stock`.
    pub async fn sku_stock(&self, token: &str, vendor_id: &str, sku: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/skus/{sku}/stock"), token).await
    }

    /// The stock of `sku` at `location` as the per-SKU view shows it, if any is on record there.
    pub async fn stock_at(&self, vendor: &TestVendor, sku: &str, location: &str) -> Option<Value> {
        let view = self.sku_stock(vendor.owner.token(), &vendor.id, sku).await;
        let locations = view.expect(200)["locations"].as_array().cloned().unwrap_or_default();
        locations.into_iter().find(|l| l["location_id"] == location)
    }

    /// Every movement of a SKU (at one location), oldest first.
    pub async fn movements(&self, token: &str, vendor_id: &str, sku: &str, location: &str) -> Vec<Value> {
        self.all_pages(token, &format!("/vendors/{vendor_id}/skus/{sku}/movements?location_id={location}")).await
    }

    // ---- purchasing ---------------------------------------------------------------------------

    /// A supplier body with a fresh code (EUR, 5 days, packs of `pack_size`, no minimum).
    pub fn supplier_body(email: &str, pack_size: u32) -> Value {
        json!({ "code": format!("SUP-{}", unique_tag()), "name": "Acme Dairy", "email": email, "currency": "EUR",
                "lead_time_days": 5, "pack_size": pack_size })
    }

    /// `POST /vendors/{vendorId}/suppliers`.
    pub async fn create_supplier(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/suppliers"), token, body).await
    }

    /// A new supplier of the vendor, ordering in packs of `pack_size`: its id, code and email.
    pub async fn new_supplier(&self, token: &str, vendor_id: &str, pack_size: u32) -> (String, String, String) {
        let email = unique_email();
        let created = self.create_supplier(token, vendor_id, &Self::supplier_body(&email, pack_size)).await;
        let created = created.expect(201);
        (created["id"].as_str().unwrap().to_string(), created["code"].as_str().unwrap().to_string(), email)
    }

    /// `POST /vendors/{vendorId}/purchase-orders`.
    pub async fn create_purchase_order(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/purchase-orders"), token, body).await
    }

    /// `GET /vendors/{vendorId}/purchase-orders/{purchaseOrderId}`.
    pub async fn purchase_order(&self, token: &str, vendor_id: &str, id: &str) -> ApiResponse {
        self.get(&format!("/vendors/{vendor_id}/purchase-orders/{id}"), token).await
    }

    /// `POST /vendors/{vendorId}/purchase-orders/{purchaseOrderId}/<action>` (send, cancel) without a body.
    pub async fn purchase_order_action(&self, token: &str, vendor_id: &str, id: &str, action: &str) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/purchase-orders/{id}/{action}");
        self.request(Method::POST, &path, Some(token), None, &[]).await
    }

    /// `POST /vendors/{vendorId}/purchase-orders/{purchaseOrderId}/receipts`, with an `Idempotency-Key` if given.
    pub async fn receive_purchase_order(
        &self,
        token: &str,
        vendor_id: &str,
        id: &str,
        body: &Value,
        key: Option<&str>,
    ) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/purchase-orders/{id}/receipts");
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        self.request(Method::POST, &path, Some(token), Some(body), &headers).await
    }

    /// `POST /vendors/{vendorId}/purchase-orders/from-suggestions`, with an `Idempotency-Key` if given.
    pub async fn purchase_orders_from_suggestions(
        &self,
        token: &str,
        vendor_id: &str,
        body: &Value,
        key: Option<&str>,
    ) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/purchase-orders/from-suggestions");
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        self.request(Method::POST, &path, Some(token), Some(body), &headers).await
    }

    /// `POST /vendors/{vendorId}/channels`: a channel of `kind` selling from `location`; its id.
    pub async fn create_channel(&self, token: &str, vendor_id: &str, kind: &str, location: &str) -> String {
        let body = json!({ "code": format!("CH-{}", unique_tag()), "name": format!("{kind} channel"), "kind": kind,
                           "location_id": location });
        let resp = self.send(Method::POST, &format!("/vendors/{vendor_id}/channels"), token, &body).await;
        resp.expect(201)["id"].as_str().expect("a channel id").to_string()
    }

    /// `POST /vendors/{vendorId}/channels/{channelId}/sales` with these sale lines. A line refused
    /// as `service_busy` is sent again as a channel would (the same sale id, so at most once).
    pub async fn channel_sales(&self, token: &str, vendor_id: &str, channel: &str, sales: Value) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/channels/{channel}/sales");
        let mut tries = 0;
        loop {
            let resp = self.send(Method::POST, &path, token, &json!({ "sales": sales })).await;
            tries += 1;
            let busy =
                resp.json["results"].as_array().is_some_and(|r| r.iter().any(|l| l["error"]["code"] == "service_busy"));
            if !busy || tries > 5 {
                return resp;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
        }
    }

    /// `POST /vendors/{vendorId}/channels/{channelId}/returns` with these return lines.
    pub async fn channel_returns(&self, token: &str, vendor_id: &str, channel: &str, returns: Value) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/channels/{channel}/returns");
        self.send(Method::POST, &path, token, &json!({ "returns": returns })).await
    }

    // ---- API keys and scans --------------------------------------------------------------------

    /// `POST /vendors/{vendorId}/api-keys`.
    pub async fn create_api_key(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/api-keys"), token, body).await
    }

    /// A key the owner of `vendor` issues with `scope` (`{"kind": "channel", "channel_id": ..}`, ..)
    /// and `permissions`: `(id, the key to send as the bearer)`.
    pub async fn api_key(&self, vendor: &TestVendor, scope: Value, permissions: &[&str]) -> (String, String) {
        let body = json!({ "name": format!("Device {}", unique_tag()), "scope": scope, "permissions": permissions });
        let issued = self.create_api_key(vendor.owner.token(), &vendor.id, &body).await;
        let issued = issued.expect(201);
        let id = issued["api_key"]["id"].as_str().expect("a key id").to_string();
        (id, issued["secret"].as_str().expect("the key, shown once").to_string())
    }

    /// `GET /vendors/{vendorId}/api-keys`, every page.
    pub async fn api_keys(&self, token: &str, vendor_id: &str) -> Vec<Value> {
        self.all_pages(token, &format!("/vendors/{vendor_id}/api-keys?limit=100")).await
    }

    /// `POST /vendors/{vendorId}/api-keys/{apiKeyId}/revoke`.
    pub async fn revoke_api_key(&self, token: &str, vendor_id: &str, key_id: &str) -> ApiResponse {
        let path = format!("/vendors/{vendor_id}/api-keys/{key_id}/revoke");
        self.request(Method::POST, &path, Some(token), None, &[]).await
    }

    /// `POST /vendors/{vendorId}/scans`.
    pub async fn scan(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/scans"), token, body).await
    }

    /// An API key as a caller of the authorisation matrix (its token is the key; its id the key's).
    pub fn key_caller(id: &str, key: &str) -> TestUser {
        TestUser {
            id: id.to_string(),
            email: String::new(),
            password: String::new(),
            name: format!("API key {id}"),
            access_token: key.to_string(),
            refresh_token: String::new(),
        }
    }

    /// An open stock alert of `vendor` for `sku` at a fresh location (stock 2, then a reorder
    /// point of 5: a crossing), once the stream has raised it; its id.
    pub async fn fresh_alert(&self, vendor: &TestVendor, sku: &str) -> String {
        let owner = vendor.owner.token();
        let location = self.create_location(owner, &vendor.id, &Self::location_body()).await.id();
        let stock = json!({ "sku": sku, "location_id": location, "quantity": 2, "reason": "received" });
        self.adjust_stock(owner, &vendor.id, &stock).await.expect(201);
        let path = format!("/vendors/{}/skus/{sku}/stock/{location}", vendor.id);
        self.request(Method::PATCH, &path, Some(owner), Some(&json!({ "reorder_point": 5 })), &[]).await.expect(200);
        let alerts = format!("/vendors/{}/alerts?status=open&limit=100", vendor.id);
        eventually(format!("an alert for {sku} at {location}"), || async {
            let page = self.request(Method::GET, &alerts, Some(owner), None, &[]).await;
            page.items()
                .iter()
                .find(|a| a["location_id"] == location.as_str())
                .map(|a| a["id"].as_str().unwrap().to_string())
        })
        .await
    }

    // ---- webhooks -----------------------------------------------------------------------------

    /// `POST /vendors/{vendorId}/webhooks`.
    pub async fn create_webhook(&self, token: &str, vendor_id: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, &format!("/vendors/{vendor_id}/webhooks"), token, body).await
    }

    /// `PATCH /vendors/{vendorId}/webhooks/{webhookId}`.
    pub async fn update_webhook(&self, token: &str, vendor_id: &str, id: &str, body: &Value) -> ApiResponse {
        self.send(Method::PATCH, &format!("/vendors/{vendor_id}/webhooks/{id}"), token, body).await
    }

    /// `GET /vendors/{vendorId}/webhooks/{webhookId}/deliveries` with a query.
    pub async fn webhook_deliveries(&self, token: &str, vendor_id: &str, id: &str, query: &str) -> ApiResponse {
        self.get(&with_query(&format!("/vendors/{vendor_id}/webhooks/{id}/deliveries"), query), token).await
    }

    // ---- coupons -------------------------------------------------------------------------------

    /// A coupon body with a fresh code (in lower case, as a person might type it): 10% off from
    /// yesterday on, at most 100 uses and 2 a customer; a vendor's with `vendor_id`.
    pub fn coupon_body(vendor_id: Option<&str>) -> Value {
        let starts_at = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut body = json!({ "code": format!("c-{}", unique_tag()), "kind": { "type": "percentage", "percent": "10" },
                               "starts_at": starts_at, "usage_limit": 100, "per_customer_limit": 2 });
        if let Some(vendor_id) = vendor_id {
            body["vendor_id"] = json!(vendor_id);
        }
        body
    }

    /// `POST /coupons`.
    pub async fn create_coupon(&self, token: &str, body: &Value) -> ApiResponse {
        self.send(Method::POST, "/coupons", token, body).await
    }

    /// `GET /coupons` with a query (`vendor_id=..&active=..`).
    pub async fn list_coupons(&self, token: &str, query: &str) -> ApiResponse {
        self.get(&with_query("/coupons", query), token).await
    }

    /// `GET /coupons/{couponId}`.
    pub async fn get_coupon(&self, token: &str, id: &str) -> ApiResponse {
        self.get(&format!("/coupons/{id}"), token).await
    }

    /// `PATCH /coupons/{couponId}`.
    pub async fn update_coupon(&self, token: &str, id: &str, body: &Value) -> ApiResponse {
        self.send(Method::PATCH, &format!("/coupons/{id}"), token, body).await
    }

    /// A stock-location body with a fresh code.
    pub fn location_body() -> Value {
        json!({ "code": format!("WH-{}", unique_tag()), "name": "Main warehouse", "kind": "warehouse", "country": "GB" })
    }

    /// A valid address body.
    pub fn address_body(recipient: &str) -> Value {
        json!({
            "recipient": recipient,
            "line1": "12 St James's Square",
            "city": "London",
            "postal_code": "SW1Y 4JH",
            "country": "gb"
        })
    }
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() { path.to_string() } else { format!("{path}?{query}") }
}

/// Access tokens made by hand, to prove the API refuses the ones it should.
pub mod tokens {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use chrono::Utc;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    use crate::TestUser;

    /// Every access token's issuer (template.yaml `JWT_ISSUER`).
    pub const ISSUER: &str = "stockyard";

    /// An Ed25519 key that has nothing to do with Stockyard (made for these tests; not a secret).
    pub const FOREIGN_SIGNING_KEY: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIFiLz4FtIDMZ2b9VBzrUZ8+uB1QfexyLHGBNPM8ZCe+1
-----END PRIVATE KEY-----
";

    /// The local stack's signing key (infra/local/dev, local use only).
    pub fn local_signing_key() -> String {
        let path = crate::repo_root().join("infra/local/dev/jwt-signing-key.pem");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// The local audience: `stockyard-${Stage}` (template.yaml), Stage from the stack or parameters.json.
    pub fn audience() -> String {
        let stage = std::env::var("STOCKYARD_PARAM_STAGE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
            let path = crate::repo_root().join("infra/local/parameters.json");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let params: Value = serde_json::from_str(&text).expect("parameters.json is JSON");
            params["Stage"].as_str().expect("parameters.json has a Stage").to_string()
        });
        format!("stockyard-{stage}")
    }

    /// The claims of a valid access token for `user`, as the API issues them.
    pub fn claims_for(user: &TestUser) -> Value {
        let now = Utc::now().timestamp();
        json!({
            "sub": user.id,
            // The session the user signed in with.
            "sid": peek(&user.access_token)["sid"],
            "email": user.email,
            "roles": ["customer"],
            "iss": ISSUER,
            "aud": audience(),
            "iat": now,
            "exp": now + 900,
            "jti": ulid::Ulid::new().to_string(),
        })
    }

    /// Signs `claims` with EdDSA and the PEM private key `key`.
    pub fn sign(claims: &Value, key: &str) -> String {
        let key = EncodingKey::from_ed_pem(key.as_bytes()).expect("an Ed25519 private key in PEM");
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).expect("signing a token")
    }

    /// The claims of a token, read without checking anything.
    pub fn peek(token: &str) -> Value {
        let payload = token.split('.').nth(1).expect("a JWT has three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims")
    }

    /// `token` with its payload replaced by `claims`, keeping the original signature.
    pub fn with_payload(token: &str, claims: &Value) -> String {
        let parts: Vec<&str> = token.split('.').collect();
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{}.{}.{}", parts[0], payload, parts[2])
    }

    /// An unsigned token (`alg: none`).
    pub fn unsigned(claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
        format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }
}

// ---- the platform's tax table -------------------------------------------------------------------

/// A hold on the platform's one tax table, across the test processes of a run (a lock file): the
/// test that rewrites the table holds it alone; tests that check out against it share it, so the
/// countries they need stay as they set them while they run. Released when dropped.
pub struct TaxTableLock {
    _file: std::fs::File,
}

fn tax_table_lock(exclusive: bool) -> TaxTableLock {
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join("stockyard-tests-tax-table.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).expect("the lock file");
    let mode = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
    // SAFETY: flock on a descriptor this function owns; it blocks until the lock is granted.
    let done = unsafe { libc::flock(file.as_raw_fd(), mode) };
    assert_eq!(done, 0, "locking {}", path.display());
    TaxTableLock { _file: file }
}

impl TestApp {
    /// The tax table to oneself, for the test that rewrites it whole.
    pub fn tax_table_alone(&self) -> TaxTableLock {
        tax_table_lock(true)
    }

    /// A shared hold on the tax table with these countries' settings in it (each a country entry
    /// as `PUT /admin/tax-rates` takes it); other countries are kept as they are.
    pub async fn tax_table_with(&self, countries: &[Value]) -> TaxTableLock {
        let wanted = |table: &Value| {
            countries.iter().all(|c| {
                let code = c["country"].as_str().unwrap_or_default().to_ascii_uppercase();
                table["countries"].as_array().is_some_and(|all| {
                    all.iter().any(|have| {
                        have["country"] == code.as_str()
                            && have["pricing"] == c["pricing"]
                            && have["rates"].as_array().map(Vec::len) == c["rates"].as_array().map(Vec::len)
                    })
                })
            })
        };
        loop {
            let shared = tax_table_lock(false);
            let table = self.request(Method::GET, "/tax-rates", None, None, &[]).await.expect(200).clone();
            if wanted(&table) {
                return shared;
            }
            drop(shared);
            let alone = tax_table_lock(true);
            let table = self.request(Method::GET, "/tax-rates", None, None, &[]).await.expect(200).clone();
            let mine: Vec<String> =
                countries.iter().map(|c| c["country"].as_str().unwrap_or_default().to_ascii_uppercase()).collect();
            let mut all: Vec<Value> = table["countries"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|c| !mine.iter().any(|m| c["country"] == m.as_str()))
                .collect();
            all.extend(countries.iter().cloned());
            let admin = self.admin().await;
            let body = json!({ "countries": all });
            let resp = self.request(Method::PUT, "/admin/tax-rates", Some(admin.token()), Some(&body), &[]).await;
            resp.expect(200);
            drop(alone);
        }
    }
}

// ---- orders placed without checkout ---------------------------------------------------------

impl TestApp {
    /// Places an order group through the store (`stockyard_store::orders::place`, what checkout
    /// calls), of `quantity` units at 19.99 EUR each of one variant of `vendor`, held at `location`
    /// (nothing held for 0 units), expiring at `expires_at`: for tests of what comes after checkout.
    pub async fn place_through_store(
        &self,
        (vendor, variant, product, location): (&TestVendor, VariantId, ProductId, LocationId),
        quantity: u32,
        expires_at: chrono::DateTime<Utc>,
    ) -> OrderGroup {
        let eur = |amount| Money::new(amount, Currency::parse("currency", "EUR").unwrap());
        let vendor_id = VendorId::parse("vendor_id", &vendor.id).unwrap();
        let (id, now) = (OrderGroupId::generate(), Utc::now());
        let total = eur(1_999 * i64::from(quantity));
        let order = VendorOrder {
            id: OrderId::generate(),
            group_id: id,
            vendor_id,
            customer_id: None,
            status: OrderStatus::PendingPayment,
            lines: vec![OrderLine {
                variant_id: variant,
                product_id: product,
                sku: "SKU".into(),
                title: "Test product".into(),
                quantity,
                unit_price: eur(1_999),
                discount: eur(0),
                tax: eur(0),
                total,
                allocations: vec![LineAllocation { location_id: location, quantity, shipped: 0 }],
                returned: 0,
            }],
            totals: OrderTotals {
                subtotal: total,
                discount: eur(0),
                shipping: eur(0),
                tax: eur(0),
                total,
                refunded: None,
                refunded_shipping: None,
            },
            commission_rate: Decimal::new(10, 2),
            promised_ship_by: None,
            shipping: None,
            tax: None,
            timeline: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let group = OrderGroup {
            id,
            customer_id: None,
            email: "guest@stockyard.example".into(),
            currency: total.currency,
            locale: "en".into(),
            orders: vec![(vendor_id, order.id)],
            total,
            status: OrderStatus::PendingPayment,
            holds: if quantity == 0 {
                Vec::new()
            } else {
                vec![HeldStock { vendor_id, variant_id: variant, location_id: location, shard: None, quantity }]
            },
            expires_at,
            payment_reference: None,
            refunds_due: Vec::new(),
            disputes: Vec::new(),
            shipping_address: None,
            billing_address: None,
            payment: None,
            payment_provider: Some(stockyard_domain::payment::Provider::Card),
            coupon: None,
            limited: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let actor = Actor::System { name: "tests".into() };
        orders::place(
            &Table::new(self.dynamodb().await, self.table_name()),
            &group,
            &[order],
            &actor,
            now.date_naive(),
        )
        .await
        .expect("the group is placed");
        group
    }

    /// A return of one unit of a fresh order of the vendor of `ids` (placed, paid and shipped through the
    /// store), written through the store: requested, or approved when `approved`. Its id.
    pub async fn return_through_store(
        &self,
        ids: (&TestVendor, VariantId, ProductId, LocationId),
        approved: bool,
    ) -> String {
        let vendor = ids.0;
        let group = self.place_through_store(ids, 1, Utc::now() + chrono::Duration::hours(1)).await;
        self.pay_through_store(group.id).await;
        let table = Table::new(self.dynamodb().await, self.table_name());
        let vendor_id = VendorId::parse("vendor_id", &vendor.id).unwrap();
        let parcel = stockyard_store::fulfilment::Parcel {
            carrier: "DHL".into(),
            service: None,
            tracking_number: None,
            label_reference: None,
        };
        let line = stockyard_domain::fulfilment::PackedLine { variant_id: ids.1, quantity: 1 };
        let actor = Actor::System { name: "tests".into() };
        let (_, order) = stockyard_store::fulfilment::ship(
            &table,
            (group.id, vendor_id),
            ids.3,
            &[line],
            &parcel,
            &actor,
            Utc::now().date_naive(),
            |_, _, _| Ok(()),
        )
        .await
        .expect("the unit ships");
        let now = Utc::now();
        let lines = stockyard_domain::returns::request(
            &order,
            &[],
            &[(ids.1, 1, stockyard_domain::returns::ReturnReason::Damaged)],
            now.date_naive(),
        )
        .expect("the shipped unit may be returned");
        let mut ret = stockyard_domain::returns::ReturnRequest::new(&order, None, lines, None, now);
        if approved {
            ret.decide(true, None, now).expect("a requested return may be approved");
        }
        stockyard_store::returns::open(&table, &ret, |_| Ok(())).await.expect("the return is written");
        ret.id.to_string()
    }

    /// Marks a group placed through the store as paid, as a payment provider's webhook would
    /// (`stockyard_store::orders::apply_event`): its vendor orders wait to be picked.
    pub async fn pay_through_store(&self, group: OrderGroupId) {
        let actor = Actor::System { name: "tests".into() };
        let table = Table::new(self.dynamodb().await, self.table_name());
        let reference = format!("pi_{}", group.to_string().to_lowercase());
        let paid = orders::apply_event(&table, group, OrderEvent::PaymentSucceeded, Some(&reference), None, &actor);
        let outcome = paid.await.expect("the payment is applied");
        assert!(matches!(outcome, Some(Outcome::Moved { .. })), "{outcome:?}");
    }
}
