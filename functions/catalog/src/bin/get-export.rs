//! `get-export`: GET /vendors/{vendorId}/exports/{exportId}

use stockyard_catalog::handlers::bulk::{BulkDeps, get_export};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = BulkDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, get_export).await
}
