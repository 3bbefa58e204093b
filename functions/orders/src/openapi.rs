//! The orders API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::{checkout, payments};

#[derive(OpenApi)]
#[openapi(paths(checkout::quote, checkout::place, payments::receive_card, payments::receive_wallet))]
pub struct OrdersApi;
