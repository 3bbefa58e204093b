//! Checkout (quote and place, with the payment-provider interface) and orders after it: the payment providers' webhooks that move an order group (paid, 3-D
//! Secure, failed, refunded; a payment for an expired group flagged for refund) and the job that
//! expires unpaid groups and gives their stock back.

pub mod cancel;
pub mod checkout;
pub mod expiry;
pub mod fulfilment;
pub mod openapi;
pub mod payments;
pub mod providers;
pub mod reads;
pub mod returns;
pub mod tracking;

/// An order move's failure as the API answers it: the store's errors as they always are (a lost
/// race past its tries is 503), anything else (a release short of what was held) an internal
/// error.
pub(crate) fn move_error(error: stockyard_store::reservations::ReserveError) -> stockyard_http::ApiError {
    match error {
        stockyard_store::reservations::ReserveError::Store(e) => e.into(),
        other => stockyard_http::ApiError::internal(anyhow::anyhow!("{other}")),
    }
}
