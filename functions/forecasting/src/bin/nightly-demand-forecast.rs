//! `nightly-demand-forecast`: every day at 02:00 UTC, and on demand with `{ "vendor_id": "..." }`.

use stockyard_forecasting::job::{JobDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps: &'static JobDeps = Box::leak(Box::new(JobDeps::from_env(&sdk).await?));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| handle(deps, event))).await
}
