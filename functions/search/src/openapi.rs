//! The search API's part of the OpenAPI document.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(crate::handler::search))]
pub struct SearchApi;
