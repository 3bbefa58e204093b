//! What the API documents once for every operation: the error responses the shared request
//! handling answers (derived from each operation's own features, so a new route gets them
//! without saying so) and the parameters every list takes.

use serde::Deserialize;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, Modify, PartialSchema, ToSchema};

/// `?limit=`, `?cursor=` and `?order=`, as [`crate::request::page_request`] reads them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1–100 (default 20). Present but empty is refused.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
    /// `next_cursor` of the previous page of the same list (anything else is refused with 422).
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// Which end of the list comes first (each list has its default).
    pub order: Option<ListOrder>,
}

/// The order of a list.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    Newest,
    Oldest,
}

/// Adds to every operation the error responses it can answer because of what it takes:
///
/// | the operation has | it may answer |
/// |---|---|
/// | a request body | 400 `malformed_request`, 415 `unsupported_media_type` |
/// | a bearer security requirement | 401 `unauthorized` |
/// | one naming roles (`"bearer" = ["admin"]`) | 403 `forbidden` (`vendor_suspended`) |
/// | path parameters | 404 `not_found` |
/// | an `Idempotency-Key` header | 409 `idempotent_request_done`, 422 `idempotency_key_reused` |
/// | any parameter or a body | 422 `invalid_field` |
/// | anything | 500 `internal_error`, 503 `service_busy` (with `Retry-After`) |
///
/// A response the operation already declares keeps its own description, which gains the shared
/// code if it does not name it. Every added response has the `ErrorBody` schema.
pub struct ErrorResponses;

impl ErrorResponses {
    pub const MALFORMED: &'static str = "malformed_request: the body is not exactly one JSON object of the \
        documented shape (not JSON, an array or a scalar, something after the object, a value of the wrong type, an \
        unknown or a missing field; `field` names it)";
    pub const UNSUPPORTED_MEDIA_TYPE: &'static str =
        "unsupported_media_type: the body is not sent with Content-Type application/json (or another +json type)";
    pub const UNAUTHORIZED: &'static str = "unauthorized: no access token, or an expired, tampered or foreign one, \
        or one of a session that was signed out";
    pub const FORBIDDEN: &'static str = "forbidden: the caller lacks the role this needs; vendor_suspended: the \
        vendor is suspended, so its data may be read but not changed";
    pub const NOT_FOUND: &'static str =
        "not_found: nothing the caller may see has the id in the path (or the resource it names does not exist)";
    pub const INVALID: &'static str =
        "invalid_field: a parameter or a body field breaks its documented rule; `field` names it";
    pub const IDEMPOTENT_DONE: &'static str = "idempotent_request_done: a request with this Idempotency-Key \
        completed at the same moment; retry to have its response replayed";
    pub const INVALID_OR_REUSED: &'static str = "invalid_field: a parameter or a body field breaks its documented \
        rule (`field` names it); idempotency_key_reused: this Idempotency-Key came with another request";
    pub const BUSY: &'static str = "service_busy: the store asked us to slow down; nothing was changed, retry \
        after the seconds in Retry-After";
    pub const INTERNAL: &'static str =
        "internal_error: something failed on our side; it is logged, and the request id identifies it";

    /// The error responses `operation` can answer, as (status, description).
    pub fn of(operation: &Operation) -> Vec<(&'static str, &'static str)> {
        let params = operation.parameters.as_deref().unwrap_or_default();
        let has_body = operation.request_body.is_some();
        let in_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
        let security = serde_json::to_value(&operation.security).unwrap_or_default();
        let requirements = security.as_array().map(Vec::as_slice).unwrap_or_default();
        let signed_in = requirements.iter().any(|r| r.as_object().is_some_and(|m| !m.is_empty()));
        let roles = requirements
            .iter()
            .filter_map(|r| r.as_object())
            .any(|m| m.values().any(|scopes| scopes.as_array().is_some_and(|s| !s.is_empty())));
        let mut out = Vec::new();
        if has_body {
            out.push(("400", Self::MALFORMED));
        }
        if signed_in {
            out.push(("401", Self::UNAUTHORIZED));
        }
        if roles {
            out.push(("403", Self::FORBIDDEN));
        }
        if in_path {
            out.push(("404", Self::NOT_FOUND));
        }
        if has_body {
            out.push(("415", Self::UNSUPPORTED_MEDIA_TYPE));
        }
        let idempotent = params.iter().any(|p| p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key");
        if idempotent {
            out.push(("409", Self::IDEMPOTENT_DONE));
        }
        if has_body || !params.is_empty() {
            out.push(("422", if idempotent { Self::INVALID_OR_REUSED } else { Self::INVALID }));
        }
        out.push(("500", Self::INTERNAL));
        out.push(("503", Self::BUSY));
        out
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
        .into()
}

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, description) in Self::of(operation) {
                    let code = description.split(':').next().unwrap_or_default();
                    match operation.responses.responses.get_mut(status) {
                        None => {
                            operation.responses.responses.insert(status.into(), error_response(description));
                        }
                        Some(RefOr::T(own)) if own.description.is_empty() => {
                            own.description = description.into();
                        }
                        Some(RefOr::T(own)) if !own.description.contains(code) => {
                            own.description = format!("{description}. {}", own.description);
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let components = doc.components.get_or_insert_with(Default::default);
        components.schemas.entry("ErrorBody".into()).or_insert_with(crate::error::ErrorBody::schema);
        components.schemas.entry("ErrorDetail".into()).or_insert_with(crate::error::ErrorDetail::schema);
        components.schemas.entry("ListOrder".into()).or_insert_with(ListOrder::schema);
    }
}

/// The `Idempotency-Key` header of create requests, as [`crate::idempotency::Idempotency`] reads it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyParams {
    /// Makes a retried request safe: 1 to 128 visible ASCII characters, chosen by the client for one
    /// logical request. A retry with the same key and body replays the first response.
    #[serde(rename = "Idempotency-Key")]
    #[param(pattern = "^[!-~]{1,128}$", min_length = 1, max_length = 128)]
    pub idempotency_key: Option<String>,
}
