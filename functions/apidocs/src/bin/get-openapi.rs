//! `get-openapi`: GET /openapi.json

use stockyard_apidocs::{DocsDeps, get_openapi};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    stockyard_http::serve::serve(DocsDeps::new()?, get_openapi).await
}
