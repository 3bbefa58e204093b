//! `cancel-order`: POST /orders/{groupId}/cancel

use stockyard_orders::cancel;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = cancel::CancelDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, cancel::cancel_order).await
}
