//! `route-table-events`: the table's stream → the queues of the areas that act on its events.

use stockyard_notifications::router::{RouterDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(RouterDeps::from_env, handle).await
}
