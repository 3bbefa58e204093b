//! `deliver-webhook`: the webhook deliveries queue → signed POSTs to vendors' endpoints, retried
//! with backoff, dead-lettered after the last attempt.

use stockyard_webhooks::deliver::{DeliverDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(DeliverDeps::from_env, handle).await
}
