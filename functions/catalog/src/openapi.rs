//! The catalog API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::categories;

#[derive(OpenApi)]
#[openapi(paths(
    categories::create_category,
    categories::update_category,
    categories::list_categories,
    categories::get_category,
))]
pub struct CatalogApi;
