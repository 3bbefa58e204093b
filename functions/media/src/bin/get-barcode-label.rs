//! `get-barcode-label`: GET /vendors/{vendorId}/products/{productId}/variants/{variantId}/label

use stockyard_media_fn::labels;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_http::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, labels::label).await
}
