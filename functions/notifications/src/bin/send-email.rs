//! `send-email`: SQS consumer of the emails queue.

use stockyard_notifications::send::{SendDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps: &'static SendDeps = Box::leak(Box::new(SendDeps::from_env(&sdk).await?));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| handle(deps, event))).await
}
