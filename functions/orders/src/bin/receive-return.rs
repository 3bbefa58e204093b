//! `receive-return`: POST /vendors/{vendorId}/returns/{returnId}/receipt

use stockyard_orders::returns;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = returns::RefundDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, returns::receive_return).await
}
