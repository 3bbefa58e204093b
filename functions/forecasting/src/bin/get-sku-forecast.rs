//! `get-sku-forecast`: GET /vendors/{vendorId}/forecasts/{sku}

use stockyard_forecasting::handlers::forecasts;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_forecasting::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, forecasts::get_sku_forecast).await
}
