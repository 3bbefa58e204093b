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
        // Boxed: keeps the type of `main`'s future shallow whatever the handler's nesting.
        Box::pin(handler(deps, event).instrument(span))
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

/// How far a job got through its work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Progress {
    pub total: usize,
    /// Worked through in this invocation.
    pub done: usize,
    /// Found finished by an earlier invocation (a retried run resumes after them).
    pub skipped: usize,
    pub failed: usize,
    /// Not started: the invocation ran out of time (its retry resumes with them).
    pub left: usize,
}

impl Progress {
    /// Whether every item is finished (by this invocation or an earlier one).
    pub fn complete(&self) -> bool {
        self.failed == 0 && self.left == 0
    }
}

/// Works through `items` one after another, as a resumable job: an item `finished` says an earlier
/// invocation completed is skipped; no item is started once less than `reserve` of the invocation's
/// time is left (`deadline_ms`, epoch milliseconds, 0 for none); progress is logged after every
/// item. A job whose result is not [`Progress::complete`] should fail its invocation, so the
/// scheduler retries it and the retry resumes where this one stopped.
pub async fn work_through<T, F, FFut, W, WFut>(
    job: &str,
    items: &[T],
    deadline_ms: i64,
    reserve: std::time::Duration,
    finished: F,
    work: W,
) -> Progress
where
    T: std::fmt::Display,
    F: Fn(&T) -> FFut,
    FFut: Future<Output = anyhow::Result<bool>>,
    W: Fn(&T) -> WFut,
    WFut: Future<Output = anyhow::Result<()>>,
{
    let started = std::time::Instant::now();
    let mut progress = Progress { total: items.len(), ..Progress::default() };
    for (i, item) in items.iter().enumerate() {
        let now_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        if deadline_ms > 0 && deadline_ms - now_ms < reserve.as_millis() as i64 {
            progress.left = items.len() - i;
            tracing::warn!(job, left = progress.left, "out of time; a retry resumes with the rest");
            break;
        }
        match finished(item).await {
            Ok(true) => {
                progress.skipped += 1;
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(job, %item, error = format!("{e:#}"), "could not tell whether it was done; doing it")
            }
        }
        match work(item).await {
            Ok(()) => progress.done += 1,
            Err(e) => {
                progress.failed += 1;
                tracing::error!(job, %item, error = format!("{e:#}"), "item failed");
            }
        }
        tracing::info!(
            job,
            position = i + 1,
            total = progress.total,
            done = progress.done,
            skipped = progress.skipped,
            failed = progress.failed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "progress"
        );
    }
    progress
}

#[cfg(test)]
mod job_tests {
    use super::*;
    use std::time::Duration;

    fn now_ms() -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
    }

    #[tokio::test]
    async fn a_job_skips_what_an_earlier_run_finished_and_counts_what_fails() {
        let worked = std::sync::Mutex::new(Vec::new());
        let progress = work_through(
            "test",
            &[1, 2, 3, 4, 5],
            0,
            Duration::from_secs(60),
            |i| {
                let done = *i == 2;
                async move { Ok(done) }
            },
            |i| {
                worked.lock().unwrap().push(*i);
                let fail = *i == 4;
                async move { if fail { anyhow::bail!("item 4 broke") } else { Ok(()) } }
            },
        )
        .await;
        assert_eq!(progress, Progress { total: 5, done: 3, skipped: 1, failed: 1, left: 0 });
        assert!(!progress.complete());
        assert_eq!(worked.into_inner().unwrap(), [1, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_job_out_of_time_starts_nothing_more_and_says_how_much_is_left() {
        let worked = std::sync::Mutex::new(Vec::new());
        // The deadline is 30 s away and 60 s must stay in reserve: nothing may start.
        let progress = work_through(
            "test",
            &[1, 2, 3],
            now_ms() + 30_000,
            Duration::from_secs(60),
            |_| async { Ok(false) },
            |i| {
                worked.lock().unwrap().push(*i);
                async { Ok(()) }
            },
        )
        .await;
        assert_eq!(progress, Progress { total: 3, done: 0, skipped: 0, failed: 0, left: 3 });
        assert!(worked.into_inner().unwrap().is_empty());
        // A retry with time to spare, where item 1 was finished meanwhile, resumes with the rest.
        let retried = work_through(
            "test",
            &[1, 2, 3],
            now_ms() + 600_000,
            Duration::from_secs(60),
            |i| {
                let done = *i == 1;
                async move { Ok(done) }
            },
            |_| async { Ok(()) },
        )
        .await;
        assert_eq!(retried, Progress { total: 3, done: 2, skipped: 1, failed: 0, left: 0 });
        assert!(retried.complete());
    }
}
