use stockyard_domain::password;
use stockyard_domain::values::Email;
use stockyard_http::links::LinkVerifier;
use stockyard_http::{ApiDeps, TokenIssuer};
use stockyard_platform::env_opt;

/// The platform administrator, created on first login from configuration.
pub struct AdminBootstrap {
    pub email: Email,
    pub password_hash: String,
}

impl AdminBootstrap {
    /// From `ADMIN_EMAIL` and `ADMIN_PASSWORD_HASH`; absent when either is unset.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        match (env_opt("ADMIN_EMAIL"), env_opt("ADMIN_PASSWORD_HASH")) {
            (Some(email), Some(password_hash)) => {
                let email = Email::parse("ADMIN_EMAIL", &email).map_err(|e| anyhow::anyhow!("{e}"))?;
                password::is_hash(&password_hash)
                    .map_err(|e| anyhow::anyhow!("ADMIN_PASSWORD_HASH is not a PHC string: {e}"))?;
                Ok(Some(Self { email, password_hash }))
            }
            _ => Ok(None),
        }
    }
}

/// For the functions that sign in and issue tokens.
pub struct AuthDeps {
    pub api: ApiDeps,
    pub issuer: Option<TokenIssuer>,
    pub admin: Option<AdminBootstrap>,
    /// Checks the links of account emails (with the verifying key every function has).
    pub links: LinkVerifier,
}

impl AuthDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let issuer = match env_opt("JWT_SIGNING_KEY") {
            Some(_) => Some(TokenIssuer::from_env()?),
            None => None,
        };
        Ok(Self {
            api: ApiDeps::from_env(sdk).await?,
            issuer,
            admin: AdminBootstrap::from_env()?,
            links: LinkVerifier::from_env()?,
        })
    }
}
