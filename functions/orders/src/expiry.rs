//! `expire-reservations`: every minute, expires the order groups whose reservation ran out unpaid,
//! giving their stock back and stopping their timers (see `stockyard_store::orders::expire_due`).
//! A group paid meanwhile is left alone. The worst case from expiry to stock given back is one
//! schedule interval plus the run: about a minute.

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use stockyard_domain::ids::OrderGroupId;
use stockyard_domain::stock::Actor;
use stockyard_store::{Table, orders};

pub struct JobDeps {
    pub table: Table,
}

impl JobDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)? })
    }
}

/// What one run did.
#[derive(Debug, Serialize)]
pub struct ExpiryReport {
    pub expired: Vec<OrderGroupId>,
}

pub async fn handle(deps: &JobDeps, _event: LambdaEvent<Value>) -> Result<ExpiryReport, lambda_runtime::Error> {
    let actor = Actor::System { name: "expire-reservations".into() };
    let expired = orders::expire_due(&deps.table, chrono::Utc::now(), &actor).await?;
    tracing::info!(expired = expired.len(), "unpaid order groups expired, their stock given back");
    Ok(ExpiryReport { expired })
}
