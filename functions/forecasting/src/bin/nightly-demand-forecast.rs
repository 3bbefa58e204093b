//! `nightly-demand-forecast`: every day at 02:00 UTC, and on demand with `{ "vendor_id": "..." }`.

use stockyard_forecasting::job::{JobDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(JobDeps::from_env, handle).await
}
