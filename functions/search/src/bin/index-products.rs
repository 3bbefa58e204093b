//! `index-products`: SQS consumer of the catalog events queue; the search index's only writer.

use stockyard_search::indexer::{Indexer, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(Indexer::from_env, handle).await
}
