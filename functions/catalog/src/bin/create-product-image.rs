//! `create-product-image`: POST /vendors/{vendorId}/products/{productId}/images

use stockyard_catalog::handlers::images;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = images::MediaDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, images::create_image).await
}
