//! `receive-card-payment-events`: POST /webhooks/payments/card

use stockyard_orders::payments;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = payments::PaymentDeps::from_env(&sdk)?;
    stockyard_http::serve::serve(deps, payments::receive_card).await
}
