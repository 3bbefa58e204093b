use aws_sdk_dynamodb::error::SdkError;

/// What can go wrong talking to the store, in terms a handler can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write's condition did not hold (the item exists, changed, or is missing).
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled because the condition of the write at `index` did not hold.
    #[error("transaction condition failed on write {index}")]
    TransactionConflict { index: usize },
    /// A stored item could not be read as the record it should be.
    #[error("stored item is malformed: {0}")]
    Malformed(String),
    /// A pagination cursor that this store did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Anything else: throttling, network, service errors.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        StoreError::Malformed(e.to_string())
    }
}

/// Maps an SDK error, turning a failed condition into `ConditionFailed`.
pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    if err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException") {
        return StoreError::ConditionFailed;
    }
    StoreError::Unavailable(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err)))
}
