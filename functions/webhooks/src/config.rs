//! Settings of the webhook functions, from their environment (template parameters), read once.

use std::time::Duration;

use anyhow::Context;

/// Whether endpoints may be on loopback addresses (`WEBHOOKS_ALLOW_LOOPBACK=true`): the local stack
/// and its tests only, never a deployment (a loopback endpoint would reach the function's own host).
pub fn allow_loopback() -> bool {
    static ALLOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOW
        .get_or_init(|| stockyard_platform::env_opt("WEBHOOKS_ALLOW_LOOPBACK").is_some_and(|v| v == "true" || v == "1"))
}

/// How deliveries are attempted.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// Attempts before a delivery is dead-lettered (`WEBHOOK_MAX_ATTEMPTS`, default 12).
    pub max_attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one
    /// (`WEBHOOK_BACKOFF_BASE_SECONDS`, default 60) ...
    pub backoff_base_seconds: u32,
    /// ... up to this (`WEBHOOK_BACKOFF_MAX_SECONDS`, default 21600; SQS allows 43200 at most).
    pub backoff_max_seconds: u32,
    /// How long an endpoint has to answer (`WEBHOOK_TIMEOUT_SECONDS`, default 10).
    pub timeout: Duration,
    pub allow_loopback: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            backoff_base_seconds: 60,
            backoff_max_seconds: 21_600,
            timeout: Duration::from_secs(10),
            allow_loopback: false,
        }
    }
}

fn number(name: &str, default: u32, range: std::ops::RangeInclusive<u32>) -> anyhow::Result<u32> {
    let Some(raw) = stockyard_platform::env_opt(name) else { return Ok(default) };
    let value: u32 = raw.trim().parse().with_context(|| format!("{name} is not a whole number: {raw}"))?;
    anyhow::ensure!(range.contains(&value), "{name} must be within {range:?}, not {value}");
    Ok(value)
}

impl DeliveryConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let default = Self::default();
        Ok(Self {
            max_attempts: number("WEBHOOK_MAX_ATTEMPTS", default.max_attempts, 1..=50)?,
            backoff_base_seconds: number("WEBHOOK_BACKOFF_BASE_SECONDS", default.backoff_base_seconds, 0..=43_200)?,
            backoff_max_seconds: number("WEBHOOK_BACKOFF_MAX_SECONDS", default.backoff_max_seconds, 0..=43_200)?,
            timeout: Duration::from_secs(u64::from(number("WEBHOOK_TIMEOUT_SECONDS", 10, 1..=30)?)),
            allow_loopback: allow_loopback(),
        })
    }
}
