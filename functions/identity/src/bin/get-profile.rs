//! `get-profile`: GET /me

use stockyard_identity::handlers::profile;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_identity::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, profile::get_profile).await
}
