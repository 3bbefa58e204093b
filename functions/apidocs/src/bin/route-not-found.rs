//! `route-not-found`: the HTTP API's `$default` route (405 with `Allow`, or 404)

use stockyard_apidocs::{DocsDeps, route_not_found};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    stockyard_http::serve::serve(DocsDeps::new()?, route_not_found).await
}
