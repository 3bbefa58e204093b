//! `process-image`: SQS consumer of the image uploads queue (the media bucket's notifications).

use stockyard_media_fn::process::{ProcessDeps, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    stockyard_platform::runner::serve(ProcessDeps::from_env, handle).await
}
