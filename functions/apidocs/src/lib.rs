//! The OpenAPI document of the whole API, assembled from every area's part and served at
//! `GET /openapi.json`.

use stockyard_http::response::ok;
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

/// `get-openapi`: the document, built once per process.
pub struct DocsDeps {
    json: serde_json::Value,
}

impl DocsDeps {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self { json: serde_json::to_value(document())? })
    }
}

pub async fn get_openapi(deps: &DocsDeps, _req: Request) -> Result<Response<Body>, ApiError> {
    Ok(ok(&deps.json))
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
}
