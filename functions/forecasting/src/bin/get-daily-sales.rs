//! `get-daily-sales`: GET /vendors/{vendorId}/demand/{locationId}/{sku}/sales

use stockyard_forecasting::handlers::demand;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_forecasting::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, demand::get_daily_sales).await
}
