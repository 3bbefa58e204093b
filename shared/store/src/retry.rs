//! The store's one retry policy: exponential backoff with full jitter, for what DynamoDB says is
//! worth another try (throttling, a transaction cancelled by a concurrent one, unprocessed batch
//! writes). The SDK's own retries stay at their default for transport errors; this policy is not
//! stacked on them for the same failure, because the SDK does not retry these.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::StoreError;

/// Tries in all, including the first.
pub(crate) const ATTEMPTS: usize = 6;

pub(crate) fn policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(800))
        .with_max_times(ATTEMPTS - 1)
        .with_jitter()
}

/// Runs `op` until it succeeds, fails for good, or the policy gives up.
pub(crate) async fn store_retry<T, F, Fut>(op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    op.retry(policy()).sleep(tokio::time::sleep).when(StoreError::is_transient).await
}
