//! `receive-carrier-events`: POST /webhooks/carriers

use stockyard_orders::tracking;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = tracking::CarrierDeps::from_env(&sdk)?;
    stockyard_http::serve::serve(deps, tracking::receive).await
}
