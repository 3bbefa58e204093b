//! `list-purchase-orders`: GET /vendors/{vendorId}/purchase-orders

use stockyard_purchasing::handlers::orders;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_purchasing::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, orders::list_purchase_orders).await
}
