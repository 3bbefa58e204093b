//! `list-webhook-deliveries`: GET /vendors/{vendorId}/webhooks/{webhookId}/deliveries

use stockyard_webhooks::handlers::deliveries;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_webhooks::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, deliveries::list_webhook_deliveries).await
}
