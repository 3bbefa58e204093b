//! `set-user-roles`: PUT /admin/users/{userId}/roles

use stockyard_identity::handlers::admin;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    stockyard_platform::init_tracing();
    let sdk = stockyard_platform::aws_config().await;
    let deps = stockyard_identity::ApiDeps::from_env(&sdk).await?;
    stockyard_http::serve::serve(deps, admin::set_user_roles).await
}
