//! `list-order-documents`: GET /orders/{groupId}/documents

use stockyard_orders::reads;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = reads::DocumentDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, reads::list_order_documents).await
}
