//! `update-supplier`: PATCH /vendors/{vendorId}/suppliers/{supplierId}

use stockyard_purchasing::handlers::suppliers;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_purchasing::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, suppliers::update_supplier).await
}
