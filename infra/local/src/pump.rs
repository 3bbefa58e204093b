//! Queue consumers: poll a queue like Lambda's event source mapping, invoke the function with
//! an SQS event, delete what succeeded. Redrive to the DLQ is left to the emulator.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use axum::body::Bytes;
use base64::Engine;
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, watch};

use crate::lambda::{Outcome, Pool};

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
}

/// A message as the SQS event record needs it (decoupled from the SDK type for testing).
/// name, data type, string value, binary value
pub type MessageAttribute = (String, String, Option<String>, Option<Vec<u8>>);

#[derive(Debug, Clone, Default)]
pub struct Record {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub attributes: Vec<(String, String)>,
    pub message_attributes: Vec<MessageAttribute>,
}

impl From<&Message> for Record {
    fn from(m: &Message) -> Self {
        let mut attributes: Vec<(String, String)> = m
            .attributes()
            .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
            .unwrap_or_default();
        attributes.sort();
        let mut message_attributes: Vec<_> = m
            .message_attributes()
            .map(|a| {
                a.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.data_type().to_string(),
                            v.string_value().map(str::to_string),
                            v.binary_value().map(|b| b.as_ref().to_vec()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        message_attributes.sort_by(|a, b| a.0.cmp(&b.0));
        Record {
            message_id: m.message_id().unwrap_or_default().to_string(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
            body: m.body().unwrap_or_default().to_string(),
            md5_of_body: m.md5_of_body().unwrap_or_default().to_string(),
            attributes,
            message_attributes,
        }
    }
}

/// The event Lambda delivers for a batch of SQS messages.
pub fn sqs_event(records: &[Record], queue_arn: &str, region: &str) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let attributes: Map<String, Value> = r.attributes.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let message_attributes: Map<String, Value> = r
                .message_attributes
                .iter()
                .map(|(k, dt, sv, bv)| {
                    let mut a = json!({"stringListValues": [], "binaryListValues": [], "dataType": dt});
                    if let Some(sv) = sv {
                        a["stringValue"] = json!(sv);
                    }
                    if let Some(bv) = bv {
                        a["binaryValue"] = json!(b64.encode(bv));
                    }
                    (k.clone(), a)
                })
                .collect();
            json!({
                "messageId": r.message_id,
                "receiptHandle": r.receipt_handle,
                "body": r.body,
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": r.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
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

impl Consumer {
    /// Polls until `shutdown` flips, invoking up to the pool's worker count batches at once.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.pool.spec.max_workers.max(1)));
        let mut last_error: Option<String> = None;
        loop {
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
                _ = shutdown.changed() => return,
            };
            let receive = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(self.batch_size.clamp(1, 10) as i32)
                .wait_time_seconds(5)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send();
            let result = tokio::select! {
                r = receive => r,
                _ = shutdown.changed() => return,
            };
            let messages = match result {
                Ok(out) => {
                    last_error = None;
                    out.messages.unwrap_or_default()
                }
                Err(e) => {
                    let msg = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                    if last_error.as_ref() != Some(&msg) {
                        eprintln!("sqs: receiving from {} failed: {msg}", self.queue_url);
                        last_error = Some(msg);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
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

    async fn handle(&self, messages: Vec<Message>) {
        let started = Instant::now();
        let records: Vec<Record> = messages.iter().map(Record::from).collect();
        let event = sqs_event(&records, &self.queue_arn, &self.region);
        let outcome = self.pool.invoke(Bytes::from(event.to_string())).await;
        let ids: Vec<String> = records.iter().map(|r| r.message_id.clone()).collect();
        let (delete, note): (Vec<&Record>, String) = match &outcome {
            Outcome::Response(body) if self.report_batch_item_failures => match batch_item_failures(body, &ids) {
                Ok(failed) => (
                    records.iter().filter(|r| !failed.contains(&r.message_id)).collect(),
                    if failed.is_empty() { "ok".into() } else { format!("{} failed", failed.len()) },
                ),
                Err(e) => (vec![], format!("whole batch failed: {e:#}")),
            },
            Outcome::Response(_) => (records.iter().collect(), "ok".into()),
            Outcome::FunctionError { error_type, payload } => {
                (vec![], format!("function error {error_type}: {}", String::from_utf8_lossy(payload)))
            }
            Outcome::Failed { kind, message } => (vec![], format!("{kind:?}: {message}")),
        };
        for chunk in delete.chunks(10) {
            let mut req = self.sqs.delete_message_batch().queue_url(&self.queue_url);
            for (i, r) in chunk.iter().enumerate() {
                if let Ok(entry) = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(&r.receipt_handle)
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
            records.len(),
            delete.len(),
            note,
            started.elapsed().as_millis()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> Record {
        Record {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: "{\"email_id\":\"e1\"}".into(),
            md5_of_body: "abc".into(),
            attributes: vec![("ApproximateReceiveCount".into(), "2".into()), ("SentTimestamp".into(), "1".into())],
            message_attributes: vec![("kind".into(), "String".into(), Some("invoice".into()), None)],
        }
    }

    #[test]
    fn sqs_events_have_the_lambda_shape() {
        let ev = sqs_event(&[rec("m1"), rec("m2")], "arn:aws:sqs:us-east-1:0:q", "us-east-1");
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
