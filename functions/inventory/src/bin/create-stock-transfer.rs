//! `create-stock-transfer`: POST /vendors/{vendorId}/transfers

use stockyard_inventory::handlers::transfers;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_inventory::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, transfers::create_transfer).await
}
