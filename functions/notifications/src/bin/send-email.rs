//! `send-email`: SQS consumer of the emails queue.

use stockyard_notifications::send::{SendDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(SendDeps::from_env, handle).await
}
