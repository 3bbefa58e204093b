//! Queue consumers: poll a queue like Lambda's event source mapping, invoke the function with
//! an SQS event, delete what succeeded. Redrive to the DLQ is left to the emulator.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use axum::body::Bytes;
use serde_json::Value;
use tokio::sync::{Semaphore, watch};

use crate::lambda::{Failure, Outcome, Pool};

#[derive(Clone)]
pub struct Consumer {
    pub function: String,
    pub pool: Arc<Pool>,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    pub batch_size: u32,
    pub report_batch_item_failures: bool,
    /// The trigger's `ScalingConfig.MaximumConcurrency`: batches in flight at most (and never more
    /// than the function's workers).
    pub maximum_concurrency: Option<usize>,
    /// The trigger's `MaximumBatchingWindowInSeconds`: after the first messages of a batch, how
    /// long it goes on gathering more, up to `batch_size`, before the function gets it.
    pub batching_window: Duration,
}

/// The event Lambda delivers for a batch of SQS messages.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> SqsEvent {
    let record = |m: &Message| {
        let mut r = SqsMessage::default();
        r.message_id = m.message_id.clone();
        r.receipt_handle = m.receipt_handle.clone();
        r.body = m.body.clone();
        r.md5_of_body = m.md5_of_body.clone();
        r.md5_of_message_attributes = m.md5_of_message_attributes.clone();
        r.attributes = m.attributes().into_iter().flatten().map(|(k, v)| (k.as_str().into(), v.clone())).collect();
        for (name, v) in m.message_attributes().into_iter().flatten() {
            let mut a = SqsMessageAttribute::default();
            a.data_type = Some(v.data_type().into());
            a.string_value = v.string_value.clone();
            a.binary_value = v.binary_value().map(|b| {
                let mut data = Base64Data::default();
                data.extend_from_slice(b.as_ref());
                data
            });
            r.message_attributes.insert(name.clone(), a);
        }
        r.event_source = Some("aws:sqs".into());
        r.event_source_arn = Some(queue_arn.into());
        r.aws_region = Some(region.into());
        r
    };
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(record).collect();
    event
}

/// Message ids the function reported as failed (`ReportBatchItemFailures`). An empty or null
/// response means every message succeeded; a malformed one fails the whole batch (as on AWS).
pub fn batch_item_failures(response: &[u8], batch_ids: &[String]) -> Result<HashSet<String>> {
    let trimmed = response.iter().filter(|b| !b.is_ascii_whitespace()).count();
    if trimmed == 0 {
        return Ok(HashSet::new());
    }
    let v: Value = serde_json::from_slice(response).map_err(|e| anyhow!("invalid response: {e}"))?;
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return Ok(HashSet::new()),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(anyhow!("batchItemFailures is not a list: {other}")),
    };
    let mut out = HashSet::new();
    for f in failures {
        let id = f
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| anyhow!("batch item failure without itemIdentifier: {f}"))?;
        if !batch_ids.iter().any(|b| b == id) {
            return Err(anyhow!("itemIdentifier {id} is not in the batch"));
        }
        out.insert(id.to_string());
    }
    Ok(out)
}

/// Like Lambda's event source mapping: a batch that has its first `messages` goes on gathering
/// (`more(count)`: up to `count` more, waiting for them up to a second) until it holds
/// `batch_size` or the batching `window` has passed (a flash sale's sales become one invocation,
/// not one each). Never calls `more` for a batch without messages or without a window.
async fn gather<T, F, Fut>(mut messages: Vec<T>, batch_size: usize, window: Duration, mut more: F) -> Vec<T>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Vec<T>>,
{
    let started = Instant::now();
    while !messages.is_empty() && messages.len() < batch_size && started.elapsed() < window {
        let next = more(batch_size - messages.len()).await;
        messages.extend(next);
    }
    messages.truncate(batch_size.max(1));
    messages
}

impl Consumer {
    /// Polls until `shutdown` flips, invoking up to the pool's worker count batches at once (or
    /// the trigger's maximum concurrency, if lower).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let workers = self.pool.spec.max_workers.max(1);
        let permits = Arc::new(Semaphore::new(self.maximum_concurrency.map_or(workers, |n| n.clamp(1, workers))));
        let last_error = std::sync::Mutex::new(None);
        loop {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                _ = shutdown.changed() => return,
            };
            let messages = tokio::select! {
                r = self.receive(self.batch_size, 5, &last_error) => r,
                _ = shutdown.changed() => return,
            };
            let batch = self.batch_size as usize;
            let (this, last_error) = (&self, &last_error);
            let more = |count: usize| async move { this.receive(count as u32, 1, last_error).await };
            let messages = tokio::select! {
                all = gather(messages, batch, self.batching_window, more) => all,
                _ = shutdown.changed() => return,
            };
            if messages.is_empty() {
                continue;
            }
            let this = self.clone();
            tokio::spawn(async move {
                this.handle(messages).await;
                drop(permit);
            });
        }
    }

    /// Up to `count` (at most 10) messages, waiting up to `wait` seconds for the first; none on an
    /// error, which is reported once until it changes.
    async fn receive(&self, count: u32, wait: i32, last_error: &std::sync::Mutex<Option<String>>) -> Vec<Message> {
        let result = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(count.clamp(1, 10) as i32)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        match result {
            Ok(out) => {
                *last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                out.messages.unwrap_or_default()
            }
            Err(e) => {
                let msg = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                {
                    let mut last = last_error.lock().unwrap_or_else(|e| e.into_inner());
                    if last.as_ref() != Some(&msg) {
                        eprintln!("sqs: receiving from {} failed: {msg}", self.queue_url);
                        *last = Some(msg);
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                Vec::new()
            }
        }
    }

    async fn handle(&self, messages: Vec<Message>) {
        let started = Instant::now();
        let outcome = match serde_json::to_vec(&sqs_event(&messages, &self.queue_arn, &self.region)) {
            Ok(event) => self.pool.invoke(Bytes::from(event)).await,
            Err(e) => Outcome::Failed { kind: Failure::Unavailable, message: format!("event not encoded: {e}") },
        };
        let ids: Vec<String> = messages.iter().map(|m| m.message_id().unwrap_or_default().to_string()).collect();
        let (delete, note): (Vec<&Message>, String) = match &outcome {
            Outcome::Response(body) if self.report_batch_item_failures => match batch_item_failures(body, &ids) {
                Ok(failed) => (
                    messages.iter().filter(|m| !failed.contains(m.message_id().unwrap_or_default())).collect(),
                    if failed.is_empty() { "ok".into() } else { format!("{} failed", failed.len()) },
                ),
                Err(e) => (vec![], format!("whole batch failed: {e:#}")),
            },
            Outcome::Response(_) => (messages.iter().collect(), "ok".into()),
            Outcome::FunctionError { error_type, payload } => {
                (vec![], format!("function error {error_type}: {}", String::from_utf8_lossy(payload)))
            }
            Outcome::Failed { kind, message } => (vec![], format!("{kind:?}: {message}")),
        };
        for chunk in delete.chunks(10) {
            let mut req = self.sqs.delete_message_batch().queue_url(&self.queue_url);
            for (i, m) in chunk.iter().enumerate() {
                if let Ok(entry) = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
                {
                    req = req.entries(entry);
                }
            }
            if let Err(e) = req.send().await {
                eprintln!(
                    "sqs: deleting from {} failed: {}",
                    self.queue_url,
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                );
            }
        }
        eprintln!(
            "SQS  {:<24} {} msg(s), {} deleted, {} ({} ms)",
            self.function,
            messages.len(),
            delete.len(),
            note,
            started.elapsed().as_millis()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_gathers_until_it_is_full_or_its_window_has_passed() {
        // Three messages a call: a batch of ten is full after three more calls, well within its window.
        let mut asked = Vec::new();
        let full = gather(vec![0; 3], 10, Duration::from_secs(60), |count| {
            asked.push(count);
            async move { vec![1; count.min(3)] }
        })
        .await;
        assert_eq!((full.len(), asked), (10, vec![7, 4, 1]));
        // Nothing more arrives: the window ends the gathering with what there is.
        let mut calls = 0;
        let short = gather(vec![0; 2], 10, Duration::from_millis(300), |_| {
            calls += 1;
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Vec::new()
            }
        })
        .await;
        assert_eq!(short.len(), 2);
        assert!(calls >= 1, "it asked for more within the window");
        // No window, or no first message: no further call at all.
        let mut called = false;
        assert_eq!(
            gather(vec![0; 2], 10, Duration::ZERO, |_| {
                called = true;
                async { vec![1] }
            })
            .await
            .len(),
            2
        );
        assert!(
            gather(Vec::<u8>::new(), 10, Duration::from_secs(60), |_| {
                called = true;
                async { vec![1] }
            })
            .await
            .is_empty()
        );
        assert!(!called);
    }

    fn message(id: &str) -> Message {
        let kind = aws_sdk_sqs::types::MessageAttributeValue::builder().data_type("String").string_value("invoice");
        Message::builder()
            .message_id(id)
            .receipt_handle(format!("rh-{id}"))
            .body("{\"email_id\":\"e1\"}")
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1")
            .message_attributes("kind", kind.build().unwrap())
            .build()
    }

    #[test]
    fn sqs_events_have_the_lambda_shape() {
        let event = sqs_event(&[message("m1"), message("m2")], "arn:aws:sqs:us-east-1:0:q", "us-east-1");
        let ev = serde_json::to_value(event).unwrap();
        let r = &ev["Records"][0];
        assert_eq!(ev["Records"].as_array().unwrap().len(), 2);
        assert_eq!(r["messageId"], "m1");
        assert_eq!(r["receiptHandle"], "rh-m1");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(r["messageAttributes"]["kind"]["stringValue"], "invoice");
        assert_eq!(r["messageAttributes"]["kind"]["dataType"], "String");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], "arn:aws:sqs:us-east-1:0:q");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["md5OfBody"], "abc");
    }

    #[test]
    fn reported_failures_are_the_only_ones_kept() {
        let ids = vec!["a".to_string(), "b".to_string()];
        let f = batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#, &ids).unwrap();
        assert_eq!(f, HashSet::from(["b".to_string()]));
        assert!(batch_item_failures(br#"{"batchItemFailures":[]}"#, &ids).unwrap().is_empty());
        assert!(batch_item_failures(b"null", &ids).unwrap().is_empty());
        assert!(batch_item_failures(b"", &ids).unwrap().is_empty());
        assert!(batch_item_failures(b"{}", &ids).unwrap().is_empty());
    }

    #[test]
    fn malformed_failure_reports_fail_the_whole_batch() {
        let ids = vec!["a".to_string()];
        assert!(batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#, &ids).is_err());
        assert!(batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#, &ids).is_err());
        assert!(batch_item_failures(br#"{"batchItemFailures":"a"}"#, &ids).is_err());
        assert!(batch_item_failures(b"not json", &ids).is_err());
    }
}
