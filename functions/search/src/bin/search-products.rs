//! `search-products`: GET /products

use stockyard_search::handler::{SearchDeps, search};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = SearchDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, search).await
}
