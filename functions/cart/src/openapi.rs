//! The cart API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers;

#[derive(OpenApi)]
#[openapi(
    paths(
        handlers::create_cart,
        handlers::get_cart,
        handlers::put_cart_line,
        handlers::delete_cart_line,
        handlers::merge_cart,
    ),
    components(schemas(
        stockyard_domain::cart::LineChange,
        stockyard_domain::cart::UnavailableReason,
        stockyard_domain::cart::ReductionReason
    ))
)]
pub struct CartApi;
