//! `receive-purchase-order`: POST /vendors/{vendorId}/purchase-orders/{purchaseOrderId}/receipts

use stockyard_purchasing::handlers::receipts;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_purchasing::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, receipts::receive_purchase_order).await
}
