//! The orders API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::payments;

#[derive(OpenApi)]
#[openapi(paths(payments::receive_card, payments::receive_wallet))]
pub struct OrdersApi;
