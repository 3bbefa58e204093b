//! The inventory API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::{alerts, channels, expiry, locations, scans, shipping, stock, transfers};

#[derive(OpenApi)]
#[openapi(
    paths(
        locations::create_location,
        locations::list_locations,
        shipping::put_vendor_shipping,
        shipping::get_vendor_shipping,
        stock::adjust_stock,
        stock::count_stock,
        stock::update_stock_settings,
        stock::get_sku_stock,
        stock::list_stock,
        stock::get_stock_summary,
        expiry::list_expiring_stock,
        stock::list_stock_movements,
        transfers::create_transfer,
        transfers::receive_transfer,
        transfers::list_transfers,
        channels::create_channel,
        channels::list_channels,
        channels::record_sales,
        channels::record_returns,
        channels::list_sales,
        alerts::list_alerts,
        alerts::acknowledge_alert,
        scans::record_scans,
    ),
    components(schemas(
        stock::StockSort,
        alerts::AlertStatus,
        stockyard_domain::stock::StockStatus,
        stockyard_domain::stock::TransferStatus
    ))
)]
pub struct InventoryApi;
