//! The inventory API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::locations;

#[derive(OpenApi)]
#[openapi(paths(locations::create_location, locations::list_locations))]
pub struct InventoryApi;
