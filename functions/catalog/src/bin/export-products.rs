//! `export-products`: SQS consumer of the catalog exports queue.

use stockyard_catalog::bulk::export::{ExportJob, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(ExportJob::from_env, handle).await
}
