//! `reconcile-stock`: every day at 03:30 UTC, and on demand with `{ "vendor_id": "..." }`.

use stockyard_inventory::reconcile::{JobDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(JobDeps::from_env, handle).await
}
