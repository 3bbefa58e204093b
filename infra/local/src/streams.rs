//! Table streams: read DynamoDB Local's stream of a table like Lambda's event source mapping and
//! invoke the function with DynamoDB stream events, in order, with its retry semantics: a batch
//! is retried from the first record the function reports (`ReportBatchItemFailures`) or, on a
//! function error, whole; after `max_retries` retries the rest of the batch is parked (logged as
//! the template's on-failure destination would receive it) and reading goes on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::lambda::{Outcome, Pool};

pub struct StreamPump {
    pub function: String,
    pub pool: Arc<Pool>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub table_name: String,
    pub region: String,
    pub batch_size: usize,
    pub report_batch_item_failures: bool,
    pub max_retries: u32,
    /// `TRIM_HORIZON` (from the oldest record) rather than `LATEST`.
    pub from_start: bool,
}

/// One stream record as the Lambda event carries it.
pub fn record_json(r: &Record, stream_arn: &str, region: &str) -> Value {
    let image = |m: Option<&std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        let converted: BTreeMap<String, serde_dynamo::AttributeValue> =
            m.into_iter().flatten().map(|(k, v)| (k.clone(), serde_dynamo::AttributeValue::from(v.clone()))).collect();
        serde_json::to_value(converted).unwrap_or(Value::Null)
    };
    let d = r.dynamodb();
    let mut change = json!({
        "Keys": image(d.and_then(|d| d.keys.as_ref())),
        "SequenceNumber": d.and_then(|d| d.sequence_number()),
        "SizeBytes": d.and_then(|d| d.size_bytes()).unwrap_or(0),
        "StreamViewType": d.and_then(|d| d.stream_view_type()).map(|v| v.as_str().to_string()),
    });
    if let Some(at) = d.and_then(|d| d.approximate_creation_date_time()) {
        change["ApproximateCreationDateTime"] = json!(at.as_secs_f64());
    }
    if let Some(new) = d.and_then(|d| d.new_image.as_ref()) {
        change["NewImage"] = image(Some(new));
    }
    if let Some(old) = d.and_then(|d| d.old_image.as_ref()) {
        change["OldImage"] = image(Some(old));
    }
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str().to_string()),
        "eventVersion": r.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    })
}

/// Where a retry of `batch` starts after the function answered `response`: `None` when every
/// record succeeded; the index of the lowest reported sequence number; the whole batch (0) when
/// the answer is malformed or names a record that is not in the batch (as Lambda treats it).
pub fn resume_at(response: &[u8], batch: &[Value]) -> Option<usize> {
    if response.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let Ok(v) = serde_json::from_slice::<Value>(response) else { return Some(0) };
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(a)) if a.is_empty() => return None,
        Some(Value::Array(a)) => a,
        Some(_) => return Some(0),
    };
    let sequence = |r: &Value| r["dynamodb"]["SequenceNumber"].as_str().map(str::to_string);
    let mut first: Option<usize> = None;
    for f in failures {
        let Some(id) = f.get("itemIdentifier").and_then(Value::as_str) else { return Some(0) };
        let Some(i) = batch.iter().position(|r| sequence(r).as_deref() == Some(id)) else { return Some(0) };
        first = Some(first.map_or(i, |f| f.min(i)));
    }
    first
}

impl StreamPump {
    async fn stream_arn(&self) -> Result<String> {
        let table = self.dynamodb.describe_table().table_name(&self.table_name).send().await?;
        table
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| anyhow!("table {} has no stream (StreamSpecification)", self.table_name))
    }

    /// Reads until `shutdown` flips.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let arn = match self.stream_arn().await {
            Ok(arn) => arn,
            Err(e) => return eprintln!("stream: {} gets no events: {e:#}", self.function),
        };
        let mut iterators: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut last_listing = Instant::now() - Duration::from_secs(60);
        let mut first_listing = true;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if last_listing.elapsed() > Duration::from_secs(5) {
                if let Err(e) = self.add_shards(&arn, &mut iterators, first_listing).await {
                    eprintln!("stream: listing shards of {arn} failed: {e:#}");
                }
                first_listing = false;
                last_listing = Instant::now();
            }
            let mut delivered_any = false;
            let shards: Vec<String> = iterators.keys().cloned().collect();
            for shard in shards {
                let Some(Some(iterator)) = iterators.get(&shard).cloned() else { continue };
                match self.streams.get_records().shard_iterator(iterator).limit(self.batch_size as i32).send().await {
                    Ok(out) => {
                        let records: Vec<Value> =
                            out.records().iter().map(|r| record_json(r, &arn, &self.region)).collect();
                        iterators.insert(shard, out.next_shard_iterator);
                        if !records.is_empty() {
                            delivered_any = true;
                            self.deliver(records).await;
                        }
                    }
                    Err(e) => {
                        eprintln!(
                            "stream: reading {shard} failed: {}",
                            aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                        );
                        iterators.insert(shard, None);
                        last_listing = Instant::now() - Duration::from_secs(60);
                    }
                }
            }
            if !delivered_any {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }

    /// Starts reading shards not seen before: new shards from their oldest record; at start, every
    /// shard from the configured position.
    async fn add_shards(
        &self,
        arn: &str,
        iterators: &mut BTreeMap<String, Option<String>>,
        at_start: bool,
    ) -> Result<()> {
        let described = self.streams.describe_stream().stream_arn(arn).send().await.context("DescribeStream")?;
        let shards = described.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default();
        for shard in shards {
            let Some(id) = shard.shard_id else { continue };
            if iterators.contains_key(&id) {
                continue;
            }
            let kind =
                if at_start && !self.from_start { ShardIteratorType::Latest } else { ShardIteratorType::TrimHorizon };
            let it = self
                .streams
                .get_shard_iterator()
                .stream_arn(arn)
                .shard_id(&id)
                .shard_iterator_type(kind)
                .send()
                .await
                .context("GetShardIterator")?;
            iterators.insert(id, it.shard_iterator);
        }
        Ok(())
    }

    /// Invokes the function with `records`, retrying as Lambda does, until all are done or parked.
    async fn deliver(&self, mut records: Vec<Value>) {
        let mut retries = 0;
        loop {
            let started = Instant::now();
            let event = json!({ "Records": records });
            let outcome = self.pool.invoke(Bytes::from(event.to_string())).await;
            let resume = match &outcome {
                Outcome::Response(body) if self.report_batch_item_failures => resume_at(body, &records),
                Outcome::Response(_) => None,
                Outcome::FunctionError { .. } | Outcome::Failed { .. } => Some(0),
            };
            let note = match (&outcome, resume) {
                (_, None) => "ok".to_string(),
                (Outcome::Response(_), Some(i)) => format!("failed from record {i}"),
                (Outcome::FunctionError { error_type, payload }, _) => {
                    format!("function error {error_type}: {}", String::from_utf8_lossy(payload))
                }
                (Outcome::Failed { kind, message }, _) => format!("{kind:?}: {message}"),
            };
            eprintln!(
                "DDB  {:<24} {} record(s), {} ({} ms)",
                self.function,
                records.len(),
                note,
                started.elapsed().as_millis()
            );
            let Some(from) = resume else { return };
            if retries >= self.max_retries {
                eprintln!(
                    "DDB  {:<24} gave up after {retries} retries: {} record(s) parked, first sequence {}",
                    self.function,
                    records.len() - from,
                    records[from]["dynamodb"]["SequenceNumber"]
                );
                return;
            }
            retries += 1;
            records.drain(..from);
            tokio::time::sleep(Duration::from_millis(100 * u64::from(retries.min(10)))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(sequences: &[&str]) -> Vec<Value> {
        sequences.iter().map(|s| json!({ "dynamodb": { "SequenceNumber": s } })).collect()
    }

    #[test]
    fn a_batch_resumes_at_the_lowest_reported_record_or_is_done() {
        let records = batch(&["10", "20", "30"]);
        assert_eq!(resume_at(b"", &records), None);
        assert_eq!(resume_at(b"null", &records), None);
        assert_eq!(resume_at(br#"{"batchItemFailures":[]}"#, &records), None);
        assert_eq!(resume_at(br#"{"batchItemFailures":[{"itemIdentifier":"20"}]}"#, &records), Some(1));
        assert_eq!(
            resume_at(br#"{"batchItemFailures":[{"itemIdentifier":"30"},{"itemIdentifier":"20"}]}"#, &records),
            Some(1)
        );
    }

    #[test]
    fn a_malformed_answer_retries_the_whole_batch() {
        let records = batch(&["10", "20"]);
        assert_eq!(resume_at(b"not json", &records), Some(0));
        assert_eq!(resume_at(br#"{"batchItemFailures":[{"itemIdentifier":"99"}]}"#, &records), Some(0));
        assert_eq!(resume_at(br#"{"batchItemFailures":[{}]}"#, &records), Some(0));
        assert_eq!(resume_at(br#"{"batchItemFailures":"20"}"#, &records), Some(0));
    }

    #[test]
    fn a_stream_record_has_the_lambda_event_shape_with_typed_images() {
        use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, StreamRecord, StreamViewType};
        let record = Record::builder()
            .event_id("e1")
            .event_name(OperationType::Insert)
            .event_version("1.1")
            .dynamodb(
                StreamRecord::builder()
                    .keys("PK", AttributeValue::S("VENDOR#1".into()))
                    .new_image("PK", AttributeValue::S("VENDOR#1".into()))
                    .new_image("count", AttributeValue::N("3".into()))
                    .new_image("ok", AttributeValue::Bool(true))
                    .sequence_number("100")
                    .size_bytes(12)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build(),
            )
            .build();
        let v = record_json(&record, "arn:aws:dynamodb:us-east-1:0:table/t/stream/x", "us-east-1");
        assert_eq!(v["eventName"], "INSERT");
        assert_eq!(v["eventSource"], "aws:dynamodb");
        assert_eq!(v["dynamodb"]["SequenceNumber"], "100");
        assert_eq!(v["dynamodb"]["NewImage"]["count"], json!({"N": "3"}));
        assert_eq!(v["dynamodb"]["NewImage"]["ok"], json!({"BOOL": true}));
        assert_eq!(v["dynamodb"]["Keys"]["PK"], json!({"S": "VENDOR#1"}));
        assert!(v["dynamodb"].get("OldImage").is_none());
        let parsed: aws_lambda_events_check::Event = serde_json::from_value(json!({ "Records": [v] })).unwrap();
        assert_eq!(parsed.records.len(), 1);
    }

    /// The function's own event type must accept what the pump sends.
    mod aws_lambda_events_check {
        pub use aws_lambda_events::event::dynamodb::Event;
    }
}
