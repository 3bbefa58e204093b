//! The media functions' part of the OpenAPI document.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(crate::labels::label))]
pub struct MediaApi;
