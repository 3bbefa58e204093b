//! Runners shared by every queue consumer and scheduled job: the Lambda `main` in one call, and a
//! typed, bounded, concurrent SQS batch with partial-batch failures.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::StreamExt;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

/// A background function's `main`: tracing, the shared SDK configuration, dependencies built once
/// by `deps`, then every invocation through `handler` in a span named after the function with the
/// request id and X-Ray trace id.
pub async fn serve<D, E, R, Fut>(
    deps: impl AsyncFnOnce(&aws_config::SdkConfig) -> anyhow::Result<D>,
    handler: fn(&'static D, LambdaEvent<E>) -> Fut,
) -> Result<(), lambda_runtime::Error>
where
    D: Send + Sync + 'static,
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    Fut: Future<Output = Result<R, lambda_runtime::Error>> + Send + 'static,
{
    crate::init_tracing();
    let sdk = crate::aws_config().await;
    // Lives as long as the process, like the execution environment it stands for.
    let deps: &'static D = Box::leak(Box::new(deps(&sdk).await?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| {
        let span = tracing::info_span!(
            "job",
            request_id = %event.context.request_id,
            trace_id = %event.context.xray_trace_id.clone().unwrap_or_default(),
        );
        handler(deps, event).instrument(span)
    }))
    .await
}

/// Handles every message of an SQS batch as an `M`, at most `concurrency` at once, and reports the
/// messages that failed (unreadable, or `handle` failed) so only they are retried and, after the
/// queue's maxReceiveCount, moved to its dead-letter queue. `handle` must be idempotent on the
/// message's business id: a message can be delivered more than once.
pub async fn sqs_batch<M, F, Fut>(event: SqsEvent, concurrency: usize, handle: F) -> SqsBatchResponse
where
    M: DeserializeOwned,
    F: Fn(M) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let handle = &handle;
    let failures: Vec<BatchItemFailure> = futures_util::stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.unwrap_or_default();
            let outcome = match serde_json::from_str::<M>(record.body.as_deref().unwrap_or_default()) {
                Ok(message) => handle(message).instrument(tracing::info_span!("message", message_id = %id)).await,
                Err(e) => Err(anyhow::anyhow!("unreadable message: {e}")),
            };
            outcome.err().map(|e| {
                tracing::error!(message_id = %id, error = format!("{e:#}"), "message failed; it will be retried");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;
    use serde::Deserialize;
    use std::sync::Mutex;

    #[derive(Deserialize)]
    struct Order {
        id: u32,
    }

    fn batch(bodies: &[&str]) -> SqsEvent {
        let mut event = SqsEvent::default();
        for (i, body) in bodies.iter().enumerate() {
            let mut message = SqsMessage::default();
            message.message_id = Some(format!("m{i}"));
            message.body = Some(body.to_string());
            event.records.push(message);
        }
        event
    }

    fn failed(response: &SqsBatchResponse) -> Vec<String> {
        let mut ids: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn only_the_message_that_fails_is_reported_for_retry_and_every_other_one_is_handled() {
        let handled = Mutex::new(Vec::new());
        let event = batch(&[r#"{"id":1}"#, r#"{"id":2}"#, r#"{"id":3}"#]);
        let response = sqs_batch(event, 2, |order: Order| {
            let handled = &handled;
            async move {
                anyhow::ensure!(order.id != 2, "order 2 cannot be placed");
                handled.lock().unwrap().push(order.id);
                Ok(())
            }
        })
        .await;
        assert_eq!(failed(&response), ["m1"]);
        let mut handled = handled.into_inner().unwrap();
        handled.sort();
        assert_eq!(handled, [1, 3]);
    }

    #[tokio::test]
    async fn an_unreadable_message_fails_alone_without_reaching_the_handler() {
        let event = batch(&[r#"{"id":1}"#, "not json", r#"{"order":1}"#]);
        let calls = Mutex::new(0);
        let response = sqs_batch(event, 4, |_: Order| {
            let calls = &calls;
            async move {
                *calls.lock().unwrap() += 1;
                Ok(())
            }
        })
        .await;
        assert_eq!(failed(&response), ["m1", "m2"]);
        assert_eq!(calls.into_inner().unwrap(), 1);
    }
}
