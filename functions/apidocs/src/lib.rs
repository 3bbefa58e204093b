//! The OpenAPI document of the whole API, assembled from every area's part and served at
//! `GET /openapi.json`.

use stockyard_http::{ApiError, Body, Request, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi as Document};

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
    doc.merge(stockyard_forecasting::openapi::ForecastingApi::openapi());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_declares_bearer_auth_and_the_error_shape() {
        let json = serde_json::to_value(document()).unwrap();
        assert_eq!(json["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert!(json["components"]["schemas"]["ErrorBody"].is_object());
        assert!(json["paths"]["/auth/register"]["post"].is_object());
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
