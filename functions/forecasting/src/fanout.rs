//! The nightly forecast fanned out: the schedule enqueues one message per vendor on the
//! forecast-vendors queue (`nightly-demand-forecast`), and `forecast-vendor` works through them
//! with the concurrency its queue trigger allows (template.yaml). A vendor's day is claimed before
//! it is forecast and finished once ([`demand::claim_vendor_day`]): a message delivered twice, a
//! retried enqueue or a vendor also forecast by hand never forecasts it twice for the same day; a
//! failed attempt is retried by the queue and, after its receive count, parked in the dead-letter
//! queue, so no vendor is silently skipped. Progress and failures are in the day's nightly run
//! record (`demand::nightly_run`, `demand::failed_vendor_days`).

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use chrono::NaiveDate;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{ForecastRunId, VendorId};
use stockyard_platform::runner;
use stockyard_store::Table;
use stockyard_store::demand::{self, Claim};
use tracing::Instrument;

use crate::job;

/// One vendor to forecast from history up to `as_of`: the body of a forecast-vendors message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastVendorMessage {
    pub vendor_id: VendorId,
    pub as_of: NaiveDate,
}

/// How long a claim holds a vendor's day: longer than `forecast-vendor` may run (its Timeout in
/// template.yaml is 300 s), so a live worker never loses its claim and a dead one frees it.
pub const CLAIM_LEASE: Duration = Duration::from_secs(600);

/// Messages `forecast-vendor` handles at once within one invocation (its batch size is 1: each
/// vendor is its own invocation, and the queue trigger's maximum concurrency bounds them).
const MESSAGES_AT_ONCE: usize = 1;

/// SQS takes at most this many messages per SendMessageBatch.
const SQS_BATCH: usize = 10;
/// Attempts at sending the entries of a batch that SQS did not accept.
const SEND_ATTEMPTS: usize = 4;

/// The bodies of the messages that enqueue `vendors` for `as_of`, in order.
pub fn messages(vendors: &[VendorId], as_of: NaiveDate) -> anyhow::Result<Vec<String>> {
    vendors
        .iter()
        .map(|&vendor_id| {
            serde_json::to_string(&ForecastVendorMessage { vendor_id, as_of }).context("encoding a message")
        })
        .collect()
}

/// Puts `bodies` on the queue ten at a time, retrying entries SQS did not accept. Every body is
/// sent or this fails (and the scheduled invocation with it, so the scheduler retries: sending
/// again is harmless, the claims keep a vendor from being forecast twice).
pub async fn enqueue(sqs: &aws_sdk_sqs::Client, queue_url: &str, bodies: &[String]) -> anyhow::Result<usize> {
    let mut sent = 0;
    for (chunk_index, chunk) in bodies.chunks(SQS_BATCH).enumerate() {
        let mut pending: Vec<(String, &String)> =
            chunk.iter().enumerate().map(|(i, body)| (format!("m{}", chunk_index * SQS_BATCH + i), body)).collect();
        for attempt in 0..SEND_ATTEMPTS {
            let entries = pending
                .iter()
                .map(|(id, body)| SendMessageBatchRequestEntry::builder().id(id).message_body(*body).build())
                .collect::<Result<Vec<_>, _>>()
                .context("building a message batch")?;
            let out = sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| anyhow!("sending a message batch: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
            let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
            sent += pending.len() - failed.len();
            pending.retain(|(id, _)| failed.contains(&id.as_str()));
            if pending.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        if !pending.is_empty() {
            bail!("{} messages were not accepted by the queue", pending.len());
        }
    }
    Ok(sent)
}

/// What one message came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Forecast now, by this run.
    Forecast { run_id: ForecastRunId, series: u32 },
    /// Already forecast for the day (a duplicate delivery, or a retried enqueue).
    AlreadyDone,
}

/// Forecasts the message's vendor unless its day is done or held by another worker (then the
/// message fails, to be delivered again once the holder is finished or its lease ran out).
pub async fn forecast_vendor_day(table: &Table, message: &ForecastVendorMessage) -> anyhow::Result<Outcome> {
    let token = ForecastRunId::generate().to_string();
    let held = match demand::claim_vendor_day(table, message.vendor_id, message.as_of, &token, CLAIM_LEASE)
        .await
        .context("claiming the vendor's day")?
    {
        Claim::Done => return Ok(Outcome::AlreadyDone),
        Claim::Busy(until) => bail!("another worker holds vendor {} until {until}", message.vendor_id),
        Claim::Held(held) => held,
    };
    match job::run_vendor(table, message.vendor_id, message.as_of, "schedule").await {
        Ok(run) => {
            demand::finish_vendor_day(table, &held, run.run_id, run.series)
                .await
                .context("recording the vendor's day as done")?;
            Ok(Outcome::Forecast { run_id: run.run_id, series: run.series })
        }
        Err(e) => {
            let reason = format!("{e:#}");
            if let Err(record) = demand::fail_vendor_day(table, &held, &reason).await {
                tracing::error!(vendor = %message.vendor_id, error = %record, "could not record the failure");
            }
            Err(e.context(format!("forecasting vendor {}", message.vendor_id)))
        }
    }
}

/// `forecast-vendor`: every message of the batch through [`forecast_vendor_day`]; the messages
/// that failed are reported so that only they are retried.
pub async fn handle(
    deps: &job::JobDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let table = &deps.table;
    Ok(runner::sqs_batch(event.payload, MESSAGES_AT_ONCE, |message: ForecastVendorMessage| {
        let span = tracing::info_span!("vendor", vendor = %message.vendor_id, as_of = %message.as_of);
        async move {
            match forecast_vendor_day(table, &message).await? {
                Outcome::Forecast { run_id, series } => tracing::info!(%run_id, series, "vendor forecast"),
                Outcome::AlreadyDone => tracing::info!("already forecast for the day; nothing to do"),
            }
            Ok(())
        }
        .instrument(span)
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_the_vendor_and_day_and_refuses_anything_else() {
        let vendor = VendorId::generate();
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let bodies = messages(&[vendor], as_of).unwrap();
        assert_eq!(bodies, vec![format!(r#"{{"vendor_id":"{vendor}","as_of":"2026-11-29"}}"#)]);
        let back: ForecastVendorMessage = serde_json::from_str(&bodies[0]).unwrap();
        assert_eq!(back, ForecastVendorMessage { vendor_id: vendor, as_of });
        assert!(serde_json::from_str::<ForecastVendorMessage>(r#"{"vendor":"x","as_of":"2026-11-29"}"#).is_err());
    }

    #[test]
    fn a_claim_outlives_the_worker_that_holds_it() {
        // forecast-vendor's Timeout in template.yaml.
        let template = include_str!("../../../template.yaml");
        let worker = &template[template.find("ForecastVendorFunction:").expect("the worker is in the template")..];
        let timeout: u64 = worker
            .lines()
            .find_map(|l| l.trim().strip_prefix("Timeout:"))
            .and_then(|t| t.trim().parse().ok())
            .expect("the worker declares its timeout");
        assert!(CLAIM_LEASE.as_secs() > timeout, "lease {CLAIM_LEASE:?} against a timeout of {timeout} s");
    }
}
