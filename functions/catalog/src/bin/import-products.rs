//! `import-products`: SQS consumer of the catalog imports queue.

use stockyard_catalog::bulk::import::{ImportJob, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(ImportJob::from_env, handle).await
}
