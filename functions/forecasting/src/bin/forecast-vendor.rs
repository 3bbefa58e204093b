//! `forecast-vendor`: consumer of the forecast-vendors queue, one vendor's nightly forecast a
//! message (see `stockyard_forecasting::fanout`).

use stockyard_forecasting::fanout::handle;
use stockyard_forecasting::job::JobDeps;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(JobDeps::from_env, handle).await
}
