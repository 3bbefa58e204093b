//! The OpenAPI document of the whole API, assembled from every area's part and served at
//! `GET /openapi.json`.

use stockyard_http::openapi::ErrorResponses;
use stockyard_http::{ApiError, Body, Request, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi as Document};
use utoipa::{Modify, OpenApi};

/// This function's own path, so the document lists every route of the template.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "This document")))]
#[allow(dead_code)]
fn openapi_json() {}

#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
struct MetaApi;

/// The whole document.
pub fn document() -> Document {
    let mut doc = MetaApi::openapi();
    doc.merge(stockyard_identity::openapi::IdentityApi::openapi());
    doc.merge(stockyard_inventory::openapi::InventoryApi::openapi());
    doc.merge(stockyard_catalog::openapi::CatalogApi::openapi());
    doc.merge(stockyard_search::openapi::SearchApi::openapi());
    doc.merge(stockyard_media_fn::openapi::MediaApi::openapi());
    doc.merge(stockyard_forecasting::openapi::ForecastingApi::openapi());
    doc.merge(stockyard_purchasing::openapi::PurchasingApi::openapi());
    doc.merge(stockyard_webhooks::openapi::WebhooksApi::openapi());
    doc.merge(stockyard_orders::openapi::OrdersApi::openapi());
    doc.merge(stockyard_cart::openapi::CartApi::openapi());
    doc.merge(stockyard_promotions::openapi::PromotionsApi::openapi());
    doc.info = InfoBuilder::new()
        .title("Stockyard API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Multi-vendor commerce and inventory. Errors are `{ \"error\": { code, message, field?, request_id } }`; \
             lists take `limit`, `cursor` and answer `{ items, next_cursor }`; create requests accept `Idempotency-Key`.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    let api_key = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("syk_<key id>_<secret>")
        .description(Some(
            "An API key the vendor's owner issued (POST /vendors/{vendorId}/api-keys), sent as \
             `Authorization: Bearer syk_...`. Its scopes here are the key permissions an operation takes; the key's \
             own scope (the vendor, one channel or one location) must cover what the request touches.",
        ))
        .build();
    components.add_security_scheme("api_key", SecurityScheme::Http(api_key));
    ErrorResponses.modify(&mut doc);
    doc
}

/// The document as committed in `functions/apidocs/openapi.json` (a test keeps it equal to
/// [`document`]; `make openapi` rewrites it), so `get-openapi` serves it without building it.
pub const DOCUMENT_JSON: &str = include_str!("../openapi.json");

/// `get-openapi` needs nothing at start: the document is part of the binary.
pub struct DocsDeps;

impl DocsDeps {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self)
    }
}

pub async fn get_openapi(_deps: &DocsDeps, _req: Request) -> Result<Response<Body>, ApiError> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Text(DOCUMENT_JSON.to_string()))
        .map_err(ApiError::internal)
}

/// The documented routes as (path segments, methods), read once from the served document.
fn routes() -> &'static [(Vec<String>, Vec<String>)] {
    static ROUTES: std::sync::OnceLock<Vec<(Vec<String>, Vec<String>)>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        let document: serde_json::Value = serde_json::from_str(DOCUMENT_JSON).unwrap_or_default();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        paths
            .into_iter()
            .map(|(path, operations)| {
                let segments = path.split('/').filter(|s| !s.is_empty()).map(String::from).collect();
                let methods = operations.as_object().map(|o| o.keys().map(|m| m.to_uppercase()).collect());
                (segments, methods.unwrap_or_default())
            })
            .collect()
    })
}

/// The methods the API serves on `path` (literal segments must match, `{name}` matches any one).
/// Where several documented paths match, the most specific (most literal segments) answers, as
/// `/purchase-orders/from-suggestions` does rather than `/purchase-orders/{purchaseOrderId}`.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let sent: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_parameter = |s: &String| s.starts_with('{') && s.ends_with('}');
    let matching: Vec<(usize, &Vec<String>)> = routes()
        .iter()
        .filter(|(segments, _)| {
            segments.len() == sent.len() && segments.iter().zip(&sent).all(|(s, x)| is_parameter(s) || s == x)
        })
        .map(|(segments, methods)| (segments.iter().filter(|s| !is_parameter(s)).count(), methods))
        .collect();
    let most_specific = matching.iter().map(|(literal, _)| *literal).max().unwrap_or(0);
    let mut methods: Vec<String> = matching
        .into_iter()
        .filter(|(literal, _)| *literal == most_specific)
        .flat_map(|(_, methods)| methods.iter().cloned())
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

/// `route-not-found`, the API's `$default` route: what no route matches. A path the API serves
/// with other methods answers 405 with `Allow`; any other path 404 `route_not_found`.
pub async fn route_not_found(_deps: &DocsDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let (method, path) = (req.method().as_str(), req.uri().path());
    let allowed = allowed_methods(path);
    if allowed.is_empty() {
        return Err(ApiError::RouteNotFound(format!("no route for {method} {path}")));
    }
    Err(ApiError::MethodNotAllowed { message: format!("{path} does not take {method}"), allowed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_method_on_a_served_path_is_told_which_methods_it_takes() {
        assert_eq!(allowed_methods("/vendors/01JD2Z8Q4Y6W3V5T7R9P1N3M5K"), vec!["GET", "PATCH"]);
        assert_eq!(allowed_methods("/me/addresses/"), vec!["GET", "POST"]);
        assert_eq!(allowed_methods("/auth/login"), vec!["POST"]);
        assert!(allowed_methods("/nothing/here").is_empty());
        assert!(allowed_methods("/vendors/x/staff/y/z").is_empty());
        let v = "/vendors/01JD2Z8Q4Y6W3V5T7R9P1N3M5K";
        assert_eq!(
            allowed_methods(&format!("{v}/purchase-orders/from-suggestions")),
            vec!["POST"],
            "the literal path wins"
        );
        assert_eq!(allowed_methods(&format!("{v}/purchase-orders/01JD2Z8Q4Y6W3V5T7R9P1N3M5K")), vec!["GET", "PATCH"]);
    }

    #[tokio::test]
    async fn unmatched_requests_answer_405_with_allow_or_404() {
        let request = |method: &str, path: &str| {
            let mut req = Request::default();
            *req.method_mut() = method.parse().unwrap();
            *req.uri_mut() = path.parse().unwrap();
            req
        };
        let resp = stockyard_http::serve::handle(request("TRACE", "/me"), |r| route_not_found(&DocsDeps, r)).await;
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET, PATCH");
        let resp = stockyard_http::serve::handle(request("GET", "/nope"), |r| route_not_found(&DocsDeps, r)).await;
        assert_eq!(resp.status(), 404);
        assert!(String::from_utf8_lossy(resp.body()).contains("route_not_found"));
    }

    #[test]
    fn the_document_declares_bearer_auth_and_the_error_shape() {
        let json = serde_json::to_value(document()).unwrap();
        assert_eq!(json["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert!(json["components"]["schemas"]["ErrorBody"].is_object());
        assert!(json["paths"]["/auth/register"]["post"].is_object());
    }

    #[test]
    fn every_operation_lists_the_errors_its_features_can_cause() {
        let json = serde_json::to_value(document()).unwrap();
        let statuses = |method: &str, path: &str| -> Vec<String> {
            json["paths"][path][method]["responses"].as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(statuses("post", "/auth/revoke"), ["204", "400", "415", "422", "500", "503"]);
        assert_eq!(statuses("get", "/me"), ["200", "401", "500", "503"]);
        assert_eq!(statuses("get", "/admin/users"), ["200", "401", "403", "422", "500", "503"]);
        assert_eq!(statuses("delete", "/me/addresses/{addressId}"), ["204", "401", "404", "422", "500", "503"]);
        let created = &json["paths"]["/me/addresses"]["post"]["responses"];
        assert!(created["409"]["description"].as_str().unwrap().starts_with("idempotent_request_done"));
        let reasons = created["422"]["description"].as_str().unwrap();
        assert!(reasons.contains("invalid_field") && reasons.contains("too_many_addresses"), "{reasons}");
        for (path, operations) in json["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert!(!response["description"].as_str().unwrap().is_empty(), "{method} {path} {status}");
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_reference_names_a_component() {
        fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                        out.push(r.clone());
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let json = serde_json::to_value(document()).unwrap();
        let mut found = Vec::new();
        refs(&json, &mut found);
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(json["components"]["schemas"][name].is_object(), "{r} names no component");
        }
    }

    /// `make openapi` runs this with `UPDATE_OPENAPI=1` to rewrite the committed document.
    #[test]
    fn the_committed_document_is_the_one_the_code_describes() {
        let built = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"), &built).unwrap();
            return;
        }
        let committed: serde_json::Value = serde_json::from_str(DOCUMENT_JSON).unwrap();
        let built: serde_json::Value = serde_json::from_str(&built).unwrap();
        assert!(committed == built, "functions/apidocs/openapi.json is out of date: run `make openapi`");
    }
}
