//! `get-vendor-return`: GET /vendors/{vendorId}/returns/{returnId}

use stockyard_orders::returns;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_http::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, returns::get_vendor_return).await
}
