//! `put-cart-line`: PUT /carts/{cartId}/lines/{variantId}

use stockyard_cart::handlers;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_cart::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, handlers::put_cart_line).await
}
