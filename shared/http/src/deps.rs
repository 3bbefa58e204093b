//! What every API function needs, built once at start.

use stockyard_store::Table;

use crate::TokenVerifier;

pub struct ApiDeps {
    pub table: Table,
    pub verifier: TokenVerifier,
}

impl ApiDeps {
    /// From `TABLE_NAME` and the JWT variables, with clients on the shared SDK configuration.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, verifier: TokenVerifier::from_env()? })
    }
}
