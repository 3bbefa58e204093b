//! `update-stock-settings`: PATCH /vendors/{vendorId}/skus/{sku}/stock/{locationId}

use stockyard_inventory::handlers::stock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_inventory::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, stock::update_stock_settings).await
}
