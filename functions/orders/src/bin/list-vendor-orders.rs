//! `list-vendor-orders`: GET /vendors/{vendorId}/orders

use stockyard_orders::reads;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = reads::ReadDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, reads::list_vendor_orders).await
}
