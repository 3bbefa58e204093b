//! `check-expiring-stock`: every day at 06:00 UTC (and on demand with `{}`), one near-expiry alert
//! per batch that has come within its vendor's window.

use stockyard_inventory::near_expiry::{CheckDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(CheckDeps::from_env, handle).await
}
