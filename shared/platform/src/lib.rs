//! What every Lambda does once at start: tracing, typed configuration from the environment,
//! and one AWS SDK configuration that all clients of the process share.

pub mod runner;

use anyhow::{Context, Result};
use aws_smithy_http_client::{Builder, tls};

/// Initialises logging, filtered by `RUST_LOG`: JSON lines (as CloudWatch expects) carrying the
/// fields of the request's or job's span (request id, route, caller, vendor, trace id); with
/// `STOCKYARD_LOG_FORMAT=text` (the local stack) one readable line per event instead.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).without_time();
    // Ignore a second initialisation (tests call this from several places).
    let _ = if env_opt("STOCKYARD_LOG_FORMAT").is_some_and(|f| f == "text") {
        builder.compact().with_ansi(false).try_init()
    } else {
        builder.json().with_current_span(true).with_span_list(false).try_init()
    };
}

/// Loads the shared AWS configuration: region, credentials and endpoints from the environment
/// (`AWS_ENDPOINT_URL*` point the clients at local emulators), over rustls with ring.
///
/// TLS trusts the certificate authorities AWS endpoints chain to (Amazon Root CA 1-4 and
/// Starfield Services Root G2) instead of reading the system store, which costs about 2 ms of
/// every cold start; `STOCKYARD_TLS_SYSTEM_ROOTS=true` trusts the system store as well (a proxy
/// with its own certificate, say).
pub async fn aws_config() -> aws_config::SdkConfig {
    let mut loader = sdk_loader();
    // In Lambda the region and the role's credentials are always in the environment: take them
    // from there directly rather than through the provider chains, which look for profile files.
    if let (Some(region), Some(_)) = (env_opt("AWS_REGION"), env_opt("AWS_LAMBDA_FUNCTION_NAME")) {
        loader = loader
            .region(aws_config::Region::new(region))
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// The SDK's configuration loader with its HTTP client (rustls with ring, trusting the AWS root
/// authorities, see [`aws_config`]), for callers that set region, credentials or endpoints.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    let http_client = Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .tls_context(tls_context())
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client)
}

const AWS_ROOT_CAS: &[u8] = include_bytes!("aws-root-cas.pem");

fn tls_context() -> tls::TlsContext {
    let system_roots = env_opt("STOCKYARD_TLS_SYSTEM_ROOTS").is_some_and(|v| v == "true" || v == "1");
    let trust = tls::TrustStore::empty().with_native_roots(system_roots).with_pem_certificate(AWS_ROOT_CAS);
    tls::TlsContext::builder().with_trust_store(trust).build().expect("the built-in root certificates are valid PEM")
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
    fn the_built_in_trust_store_holds_the_aws_root_authorities() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let certificates: Vec<CertificateDer> =
            CertificateDer::pem_slice_iter(AWS_ROOT_CAS).collect::<Result<_, _>>().expect("valid PEM");
        let mut anchors = rustls::RootCertStore::empty();
        let (added, ignored) = anchors.add_parsable_certificates(certificates);
        assert_eq!((added, ignored), (5, 0), "Amazon Root CA 1-4 and Starfield Services Root G2 are trust anchors");
    }

    #[test]
    fn a_missing_variable_is_named_in_the_error() {
        let err = env("STOCKYARD_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(err.to_string().contains("STOCKYARD_SURELY_UNSET_VARIABLE"));
        assert_eq!(env_opt("STOCKYARD_SURELY_UNSET_VARIABLE"), None);
    }
}
