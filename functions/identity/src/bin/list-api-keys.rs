//! `list-api-keys`: GET /vendors/{vendorId}/api-keys

use stockyard_identity::handlers::api_keys;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_identity::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, api_keys::list_api_keys).await
}
