//! Stock alerts: one record per crossing (its id derives from the change that made it, so a
//! change delivered twice raises one alert), listed newest first per vendor, acknowledged once.

use chrono::{DateTime, Utc};
use stockyard_domain::ids::{StockAlertId, UserId, VendorId};
use stockyard_domain::stock::StockAlert;

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for StockAlert {
    type Id = (VendorId, StockAlertId);
    const NAME: &'static str = "stock alert";
    fn key((vendor, id): &Self::Id) -> keys::Key {
        keys::stock_alert(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::stock_alert(self.vendor_id, self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::stock_alert_listing(self))
    }
}

/// Records the alert unless it was recorded already; whether this call recorded it.
pub async fn raise(table: &Table, alert: &StockAlert) -> Result<bool, StoreError> {
    match table.put(alert, Some(Expr::not_exists())).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn get(table: &Table, vendor: VendorId, id: StockAlertId) -> Result<Option<StockAlert>, StoreError> {
    table.get::<StockAlert>(&(vendor, id)).await
}

/// The vendor's alerts, newest first by default; only those not acknowledged yet when `open`.
pub async fn list(
    table: &Table,
    vendor: VendorId,
    open: Option<bool>,
    page: &PageRequest,
) -> Result<Page<StockAlert>, StoreError> {
    let filter = open.map(|open| {
        Expr::new(if open { "attribute_not_exists(acknowledged_at)" } else { "attribute_exists(acknowledged_at)" })
    });
    table.query_filtered(&keys::stock_alerts_of(vendor), page, filter, |_| true).await
}

/// Marks the alert acknowledged by `user`, once: `None` when there is no such alert,
/// `Err(ConditionFailed)` when it was acknowledged already.
pub async fn acknowledge(
    table: &Table,
    vendor: VendorId,
    id: StockAlertId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<Option<StockAlert>, StoreError> {
    let change =
        Change::new(Expr::new("SET acknowledged_at = :at, acknowledged_by = :by").val(":at", &at).val(":by", &user))
            .when(Expr::new("attribute_exists(PK) AND attribute_not_exists(acknowledged_at)"));
    match table.update::<StockAlert>(&(vendor, id), change).await {
        Ok(alert) => Ok(Some(alert)),
        Err(StoreError::ConditionFailed) => match get(table, vendor, id).await? {
            Some(_) => Err(StoreError::ConditionFailed),
            None => Ok(None),
        },
        Err(e) => Err(e),
    }
}
