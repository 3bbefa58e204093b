//! The promotions API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::coupons;

#[derive(OpenApi)]
#[openapi(paths(coupons::create_coupon, coupons::list_coupons, coupons::get_coupon, coupons::update_coupon))]
pub struct PromotionsApi;
