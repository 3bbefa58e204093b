//! `get-tax-rates`: GET /tax-rates

use stockyard_catalog::handlers::tax;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_catalog::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, tax::get_tax_rates).await
}
