//! `get-packing-slip`: GET /vendors/{vendorId}/orders/{orderId}/shipments/{shipmentId}/packing-slip

use stockyard_orders::fulfilment;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = fulfilment::SlipDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, fulfilment::get_packing_slip).await
}
