//! `relay-outbox`: scheduled every minute.

use stockyard_notifications::relay::{RelayDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(RelayDeps::from_env, handle).await
}
