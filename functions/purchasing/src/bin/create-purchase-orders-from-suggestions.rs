//! `create-purchase-orders-from-suggestions`: POST /vendors/{vendorId}/purchase-orders/from-suggestions

use stockyard_purchasing::handlers::suggestions;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_purchasing::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, suggestions::create_purchase_orders_from_suggestions).await
}
