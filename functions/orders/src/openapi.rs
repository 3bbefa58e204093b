//! The orders API's part of the OpenAPI document.

use utoipa::OpenApi;

use crate::{cancel, checkout, fulfilment, payments, reads, returns, tracking};

#[derive(OpenApi)]
#[openapi(paths(
    checkout::quote,
    checkout::place,
    payments::receive_card,
    payments::receive_wallet,
    reads::list_my_orders,
    reads::get_order,
    reads::list_order_documents,
    reads::list_vendor_orders,
    reads::get_vendor_order,
    cancel::cancel_order,
    fulfilment::get_pick_list,
    fulfilment::create_shipment,
    fulfilment::list_shipments,
    fulfilment::get_packing_slip,
    tracking::receive,
    returns::request_return,
    returns::list_order_returns,
    returns::list_vendor_returns,
    returns::get_vendor_return,
    returns::decide_return,
    returns::receive_return,
    returns::send_refund
))]
pub struct OrdersApi;
