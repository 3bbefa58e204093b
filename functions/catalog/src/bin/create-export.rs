//! `create-export`: POST /vendors/{vendorId}/exports

use stockyard_catalog::handlers::bulk::{BulkDeps, create_export};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = BulkDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, create_export).await
}
