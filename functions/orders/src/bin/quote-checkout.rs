//! `quote-checkout`: POST /checkout/quote

use stockyard_orders::checkout;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = checkout::CheckoutDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, checkout::quote).await
}
