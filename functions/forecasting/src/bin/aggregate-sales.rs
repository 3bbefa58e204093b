//! `aggregate-sales`: the sales events queue → the daily sales history, per SKU-location and batch.

use stockyard_forecasting::sales::{SalesDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(SalesDeps::from_env, handle).await
}
