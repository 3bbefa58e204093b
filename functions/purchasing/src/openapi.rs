//! The purchasing API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::handlers::{orders, receipts, suggestions, suppliers};

#[derive(OpenApi)]
#[openapi(
    paths(
        suppliers::create_supplier,
        suppliers::list_suppliers,
        suppliers::get_supplier,
        suppliers::update_supplier,
        orders::create_purchase_order,
        orders::list_purchase_orders,
        orders::get_purchase_order,
        orders::update_purchase_order,
        orders::send_purchase_order,
        orders::cancel_purchase_order,
        receipts::receive_purchase_order,
        suggestions::create_purchase_orders_from_suggestions,
    ),
    components(schemas(stockyard_domain::purchasing::PurchaseOrderStatus))
)]
pub struct PurchasingApi;
