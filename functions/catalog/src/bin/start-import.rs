//! `start-import`: POST /vendors/{vendorId}/imports/{importId}/start

use stockyard_catalog::handlers::bulk::{BulkDeps, start_import};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = BulkDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, start_import).await
}
