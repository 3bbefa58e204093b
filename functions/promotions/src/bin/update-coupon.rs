//! `update-coupon`: PATCH /coupons/{couponId}

use stockyard_promotions::coupons;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_promotions::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, coupons::update_coupon).await
}
