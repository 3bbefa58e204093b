//! What every Lambda does once at start: tracing, typed configuration from the environment,
//! and one AWS SDK configuration that all clients of the process share.

use anyhow::{Context, Result};
use aws_smithy_http_client::{Builder, tls};

/// Initialises JSON logs (one line per event, as CloudWatch expects), filtered by `RUST_LOG`.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Ignore a second initialisation (tests call this from several places).
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Loads the shared AWS configuration: region, credentials and endpoints from the environment
/// (`AWS_ENDPOINT_URL*` point the clients at local emulators), over rustls with ring.
pub async fn aws_config() -> aws_config::SdkConfig {
    let http_client =
        Builder::new().tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring)).build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client).load().await
}

/// A required environment variable, with the variable's name in the error.
pub fn env(name: &str) -> Result<String> {
    std::env::var(name).with_context(|| format!("environment variable {name} is not set"))
}

/// An optional environment variable; empty counts as absent.
pub fn env_opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let err = env("STOCKYARD_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(err.to_string().contains("STOCKYARD_SURELY_UNSET_VARIABLE"));
        assert_eq!(env_opt("STOCKYARD_SURELY_UNSET_VARIABLE"), None);
    }
}
