//! `relay-outbox`: scheduled every minute.

use stockyard_notifications::relay::{RelayDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps: &'static RelayDeps = Box::leak(Box::new(RelayDeps::from_env(&sdk).await?));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| handle(deps, event))).await
}
