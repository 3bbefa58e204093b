//! `send-email`: consumes the emails queue and sends each message through SES, once per email id.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use stockyard_messaging::{EmailMessage, Mailer};
use stockyard_platform::runner;
use stockyard_store::Table;
use stockyard_store::sent_emails::{self, Claim};

pub struct SendDeps {
    pub table: Table,
    pub mailer: Mailer,
}

impl SendDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, mailer: Mailer::from_env(sdk, "EMAIL_FROM")? })
    }
}

/// How long a worker may take to send one email before another delivery may take over.
const CLAIM_LEASE_SECONDS: i64 = 30;

async fn send_one(deps: &SendDeps, email: EmailMessage) -> anyhow::Result<()> {
    let id = email.email_id;
    match sent_emails::claim(&deps.table, id, Utc::now(), chrono::Duration::seconds(CLAIM_LEASE_SECONDS)).await? {
        Claim::Granted => {}
        Claim::AlreadySent => {
            tracing::info!(email_id = %id, "already sent; skipping the duplicate");
            return Ok(());
        }
        // Retried after the visibility timeout, by when the other worker has sent it or given up.
        Claim::Busy => anyhow::bail!("another worker is sending this email"),
    }
    if let Err(e) = deps.mailer.send(&email).await {
        // Free the claim so the retry may send at once; if that fails too, the claim lapses.
        if let Err(release) = sent_emails::release(&deps.table, id).await {
            tracing::warn!(email_id = %id, error = %release, "claim not released; it lapses after its lease");
        }
        return Err(e.into());
    }
    sent_emails::mark_sent(&deps.table, id, Utc::now()).await?;
    tracing::info!(email_id = %id, subject = %email.subject, "email sent");
    Ok(())
}

/// Emails of one batch sent at once.
const CONCURRENCY: usize = 4;

/// Sends every message of the batch; those that fail are reported so only they are retried
/// (and, after the queue's maxReceiveCount, moved to the dead-letter queue).
pub async fn handle(deps: &SendDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(runner::sqs_batch(event.payload, CONCURRENCY, |email: EmailMessage| send_one(deps, email)).await)
}
