//! The store's one retry policy: exponential backoff with jitter, for what DynamoDB answers
//! as a final response but is still worth another try: a transaction cancelled only by a
//! concurrent one or by throttling of one of its items, and batch writes handed back unprocessed.
//!
//! Everything else worth retrying the SDK retries itself, before the store sees it (standard mode:
//! 3 attempts under a shared retry quota): transport errors, timeouts, 5xx, and the throttling
//! exceptions (`ProvisionedThroughputExceededException`, `ThrottlingException`,
//! `RequestLimitExceeded`). Such a failure reaches the store after the SDK has given up, and this
//! policy does not try it again: stacked, the two layers would send 3 x 6 = 18 requests for one
//! write to a table that is already throttling. It still surfaces as `StoreError::Throttled`, which
//! is transient to the caller.

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

/// How one attempt failed, and whether this policy tries again.
#[derive(Debug)]
pub(crate) struct Failure {
    error: StoreError,
    again: bool,
}

impl Failure {
    /// A failure the SDK does not retry but this policy does (see the module's documentation).
    pub(crate) fn again(error: StoreError) -> Self {
        Self { error, again: true }
    }
}

/// Any other failure is final for this policy.
impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self { error, again: false }
    }
}

/// Runs `op` until it succeeds, fails for good, or the policy gives up.
pub(crate) async fn store_retry<T, F, Fut>(op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    op.retry(policy()).sleep(tokio::time::sleep).when(|f: &Failure| f.again).await.map_err(|f| f.error)
}
