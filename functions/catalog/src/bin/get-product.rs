//! `get-product`: GET /products/{productId}

use stockyard_catalog::handlers::products;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = products::PublicDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, products::get_product).await
}
