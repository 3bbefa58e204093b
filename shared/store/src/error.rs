use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::tx::StepName;

/// What can go wrong talking to the store, in terms a handler can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write's condition did not hold (the item exists, changed, or is missing).
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled because the condition of the named step did not hold.
    #[error("transaction condition failed at step {step}")]
    Conflict { step: StepName },
    /// A stored item could not be read as the record it should be.
    #[error("stored item is malformed: {0}")]
    Malformed(String),
    /// A pagination cursor that this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// DynamoDB asked us to slow down, or a transaction met a concurrent one: worth retrying.
    #[error("store busy: {0}")]
    Throttled(String),
    /// Anything else: network, service errors.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether trying the same request again may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Throttled(_))
    }

    /// Whether a transaction failed at the step called `name`.
    pub fn failed_at(&self, name: &str) -> bool {
        matches!(self, StoreError::Conflict { step } if step == name)
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        StoreError::Malformed(e.to_string())
    }
}

fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("Throughput") || c.contains("Throttl") || c == "RequestLimitExceeded")
}

/// Maps an SDK error: a failed condition becomes `ConditionFailed`, throttling `Throttled`.
pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = err.as_service_error().and_then(|e| e.code());
    if code == Some("ConditionalCheckFailedException") {
        return StoreError::ConditionFailed;
    }
    let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    if is_throttling(code) { StoreError::Throttled(text) } else { StoreError::Unavailable(text) }
}

/// Maps a cancelled transaction: the first failed condition names its step; a cancellation only
/// by concurrent transactions or throttling is transient.
/// The item each step of a cancelled transaction handed back (only steps that asked for it, and
/// whose condition failed, hand one back).
pub(crate) fn cancelled_items<R>(err: &SdkError<TransactWriteItemsError, R>) -> Vec<Option<crate::table::Item>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().iter().map(|r| r.item().cloned()).collect()
        }
        _ => Vec::new(),
    }
}

pub(crate) fn from_transaction<R: std::fmt::Debug>(
    err: SdkError<TransactWriteItemsError, R>,
    steps: &[StepName],
) -> StoreError {
    let reasons: Vec<Option<String>> = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().iter().map(|r| r.code().map(str::to_owned)).collect()
        }
        // The SDK sent the transaction again with its first ClientRequestToken and DynamoDB
        // answered that the token had been used with other parameters (DynamoDB Local says so of
        // identical retries now and then). Whether the first attempt applied is unknown; a new
        // request (a new token) settles it by the transaction's own conditions: transient.
        Some(TransactWriteItemsError::IdempotentParameterMismatchException(_)) => {
            return StoreError::Throttled(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err)));
        }
        _ => return from_sdk(err),
    };
    if let Some(index) = reasons.iter().position(|code| code.as_deref() == Some("ConditionalCheckFailed")) {
        let step = steps.get(index).cloned().unwrap_or_else(|| format!("write {index}").into());
        return StoreError::Conflict { step };
    }
    let transient = reasons.iter().flatten().any(|code| code == "TransactionConflict" || is_throttling(Some(code)));
    let text = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    if transient { StoreError::Throttled(text) } else { StoreError::Unavailable(text) }
}
