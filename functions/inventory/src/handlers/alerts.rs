//! Stock alerts as the vendor sees them: the history, and acknowledging one.

use chrono::Utc;
use stockyard_domain::ids::{StockAlertId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::stock::StockAlert;
use stockyard_http::error::ErrorBody;
use stockyard_http::openapi::PageParams;
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::{StoreError, alerts};

fn open_filter(field: &str, raw: &str) -> Result<bool, stockyard_domain::FieldError> {
    match raw {
        "open" => Ok(true),
        "acknowledged" => Ok(false),
        _ => Err(stockyard_domain::FieldError::new(field, "must be one of open, acknowledged")),
    }
}

/// The vendor's stock alerts (a stock item crossing below its reorder point or running out),
/// newest first by default; `?status=open` or `acknowledged`.
#[utoipa::path(get, path = "/vendors/{vendorId}/alerts", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager", "order_handler", "viewer", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("status" = Option<AlertStatus>, Query), PageParams),
    responses((status = 200, body = ListResponse<StockAlert>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_alerts(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let open = cx.query_as("status", open_filter)?;
    let vendor = cx.vendor(VendorPermission::StockRead).await?.id();
    Ok(ok(&ListResponse::from(alerts::list(cx.store().await?, vendor, open, &page).await?)))
}

/// Acknowledge a stock alert: someone is on it. Once only (409 `alert_acknowledged`).
#[utoipa::path(post, path = "/vendors/{vendorId}/alerts/{alertId}/acknowledge", tag = "inventory", security(("bearer" = ["vendor_owner", "inventory_manager"])),
    params(("vendorId" = VendorId, Path), ("alertId" = StockAlertId, Path)),
    responses((status = 200, body = StockAlert), (status = 403, body = ErrorBody),
              (status = 409, description = "alert_acknowledged", body = ErrorBody)))]
pub async fn acknowledge_alert(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("alertId", StockAlertId::parse)?;
    let vendor = cx.vendor(VendorPermission::InventoryWrite).await?.id();
    match alerts::acknowledge(cx.store().await?, vendor, id, cx.person()?.user_id, Utc::now()).await {
        Ok(Some(alert)) => Ok(ok(&alert)),
        Ok(None) => Err(ApiError::NotFound("alert")),
        Err(StoreError::ConditionFailed) => {
            Err(ApiError::conflict("alert_acknowledged", "this alert has been acknowledged already"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `?status=` of the alert history.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Not acknowledged yet.
    Open,
    Acknowledged,
}
