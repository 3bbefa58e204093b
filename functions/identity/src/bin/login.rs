//! `login`: POST /auth/login

use stockyard_identity::handlers::auth;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_identity::AuthDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, auth::login).await
}
