//! `record-channel-sales`: POST /vendors/{vendorId}/channels/{channelId}/sales

use stockyard_inventory::handlers::channels;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_inventory::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, channels::record_sales).await
}
