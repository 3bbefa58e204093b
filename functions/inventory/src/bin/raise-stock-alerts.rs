//! `raise-stock-alerts`: the alerts queue (stock items crossing below their reorder point or
//! running out) → one recorded alert and one email per crossing.

use stockyard_inventory::alerts::{AlertDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(AlertDeps::from_env, handle).await
}
