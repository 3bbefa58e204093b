//! `relay-outbox`: publishes outbox messages that were committed but not published
//! (the function stopped between commit and publish). Runs every minute.

use chrono::{Duration, Utc};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use stockyard_messaging::Publisher;
use stockyard_store::{PageRequest, Table, outbox};

pub struct RelayDeps {
    pub table: Table,
    pub emails: Publisher,
}

impl RelayDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self {
            table: Table::new(aws_sdk_dynamodb::Client::new(sdk), stockyard_platform::env("TABLE_NAME")?),
            emails: Publisher::new(aws_sdk_sqs::Client::new(sdk), stockyard_platform::env("EMAILS_QUEUE_URL")?),
        })
    }
}

/// Messages younger than this are left to the function that wrote them.
pub const GRACE: Duration = Duration::seconds(30);

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct RelayReport {
    pub published: usize,
    pub failed: usize,
    pub waiting: usize,
}

pub async fn handle(
    deps: &RelayDeps,
    _event: LambdaEvent<serde_json::Value>,
) -> Result<RelayReport, lambda_runtime::Error> {
    let cutoff = Utc::now() - GRACE;
    let mut report = RelayReport::default();
    let mut page = PageRequest::first(100);
    loop {
        let batch = outbox::pending(&deps.table, &page).await?;
        for message in batch.items {
            if message.created_at > cutoff {
                report.waiting += 1;
                continue;
            }
            let publisher = match message.queue.as_str() {
                "EMAILS_QUEUE_URL" => &deps.emails,
                other => {
                    tracing::error!(id = %message.id, queue = other, "outbox message for an unknown queue");
                    report.failed += 1;
                    continue;
                }
            };
            match publisher.publish_raw(&message.body).await {
                Ok(()) => {
                    outbox::remove(&deps.table, message.id).await?;
                    report.published += 1;
                }
                Err(e) => {
                    tracing::error!(id = %message.id, error = %e, "outbox message not published; next run retries");
                    report.failed += 1;
                }
            }
        }
        tracing::info!(
            published = report.published,
            failed = report.failed,
            waiting = report.waiting,
            "relay progress"
        );
        match batch.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    Ok(report)
}
