//! `process-order-events`: SQS consumer of the order events queue.

use stockyard_billing::process::{BillingDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(BillingDeps::from_env, handle).await
}
