//! `invite-staff`: POST /vendors/{vendorId}/invitations

use stockyard_identity::handlers::staff;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_identity::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, staff::invite_staff).await
}
