//! `get-pick-list`: GET /vendors/{vendorId}/locations/{locationId}/pick-list

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_http::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, stockyard_orders::fulfilment::get_pick_list).await
}
