//! `queue-webhook-deliveries`: the webhook events queue (from the table's stream) → one recorded
//! delivery and one message on the deliveries queue per subscribed endpoint.

use stockyard_webhooks::fanout::{FanOutDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(FanOutDeps::from_env, handle).await
}
