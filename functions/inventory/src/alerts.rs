//! `raise-stock-alerts`: consumes the alerts queue (stock items that crossed below their reorder
//! point or ran out, from the table's stream; batches nearing expiry, from the daily
//! `check-expiring-stock`) and, once per alert, records it and emails the
//! vendor's owner and inventory managers. A message delivered twice finds its alert recorded and
//! queues the same email again, which the mailer sends once (the email's id is the alert's).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use stockyard_domain::ids::EmailId;
use stockyard_domain::roles::VendorRole;
use stockyard_domain::stock::{StockAlert, StockAlertKind};
use stockyard_messaging::{EmailMessage, Publisher};
use stockyard_store::{PageRequest, Table, alerts, locations, users, vendors};

pub struct AlertDeps {
    pub table: Table,
    pub emails: Publisher,
}

impl AlertDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, emails: Publisher::from_env(sdk, "EMAILS_QUEUE_URL")? })
    }
}

/// Who hears of a vendor's stock alerts: its owner and inventory managers (their addresses).
async fn recipients(table: &Table, alert: &StockAlert) -> anyhow::Result<Vec<String>> {
    let mut page = PageRequest { limit: 100, cursor: None, newest_first: false };
    let mut to = Vec::new();
    loop {
        let found = vendors::members(table, alert.vendor_id, &page).await?;
        for member in found.items.iter().filter(|m| matches!(m.role, VendorRole::Owner | VendorRole::InventoryManager))
        {
            if let Some(user) = users::get(table, member.user_id).await? {
                to.push(user.user.email.to_string());
            }
        }
        match found.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(to),
        }
    }
}

/// The email announcing an alert.
pub fn email(alert: &StockAlert, location: &str, to: Vec<String>) -> EmailMessage {
    let (subject, what) = match alert.kind {
        StockAlertKind::OutOfStock => {
            (format!("Out of stock: {} at {location}", alert.sku), "is out of stock".to_string())
        }
        StockAlertKind::Low => (
            format!("Low stock: {} at {location}", alert.sku),
            format!(
                "is down to {} available, at or below its reorder point of {}",
                alert.available,
                alert.reorder_point.unwrap_or_default()
            ),
        ),
        StockAlertKind::NearExpiry => (
            format!("Expiring soon: {} lot {} at {location}", alert.sku, alert.lot.as_deref().unwrap_or_default()),
            format!(
                "has {} units in lot {} that expire on {}; sell them first or write them off",
                alert.batch_units.unwrap_or_default(),
                alert.lot.as_deref().unwrap_or_default(),
                alert.expires_on.map(|d| d.to_string()).unwrap_or_default()
            ),
        ),
    };
    EmailMessage {
        email_id: EmailId::from(alert.id),
        to,
        subject,
        text: format!(
            "Hello,\n\n{sku} {what} at {location} (stock version {version}, {at}).\n\n\
             See it: GET /vendors/{vendor}/skus/{sku}/stock\n\
             Acknowledge: POST /vendors/{vendor}/alerts/{id}/acknowledge\n",
            sku = alert.sku,
            version = alert.version,
            at = alert.raised_at.format("%Y-%m-%d %H:%M UTC"),
            vendor = alert.vendor_id,
            id = alert.id,
        ),
        html: None,
        attachments: Vec::new(),
    }
}

/// Records the alert (once) and queues its email.
pub async fn raise(deps: &AlertDeps, alert: StockAlert) -> anyhow::Result<()> {
    let new = alerts::raise(&deps.table, &alert).await?;
    let location = locations::get(&deps.table, alert.vendor_id, alert.location_id).await?;
    let location = location.map_or_else(|| alert.location_id.to_string(), |l| format!("{} ({})", l.name, l.code));
    let to = recipients(&deps.table, &alert).await?;
    if to.is_empty() {
        tracing::warn!(alert_id = %alert.id, "no owner or inventory manager to tell");
        return Ok(());
    }
    let message = email(&alert, &location, to);
    deps.emails.publish_raw(&serde_json::to_string(&message)?).await?;
    tracing::info!(alert_id = %alert.id, kind = ?alert.kind, sku = alert.sku, new, "stock alert raised");
    Ok(())
}

pub async fn handle(deps: &AlertDeps, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(stockyard_platform::runner::sqs_batch(event.payload, 4, |alert: StockAlert| raise(deps, alert)).await)
}
