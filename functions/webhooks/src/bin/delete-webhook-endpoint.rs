//! `delete-webhook-endpoint`: DELETE /vendors/{vendorId}/webhooks/{webhookId}

use stockyard_webhooks::handlers::endpoints;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_webhooks::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, endpoints::delete_webhook_endpoint).await
}
