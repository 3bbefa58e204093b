//! `get-vendor-shipping`: GET /vendors/{vendorId}/shipping

use stockyard_inventory::handlers::shipping;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_inventory::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, shipping::get_vendor_shipping).await
}
