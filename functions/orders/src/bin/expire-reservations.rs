//! `expire-reservations`: every minute, expires unpaid order groups whose reservation ran out.

use stockyard_orders::expiry::{JobDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(JobDeps::from_env, handle).await
}
