//! `get-category`: GET /categories/{categoryId}

use stockyard_catalog::handlers::categories;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_catalog::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, categories::get_category).await
}
