//! Checkout (quote and place, with the payment-provider interface) and orders after it: the payment providers' webhooks that move an order group (paid, 3-D
//! Secure, failed, refunded; a payment for an expired group flagged for refund) and the job that
//! expires unpaid groups and gives their stock back.

pub mod cancel;
pub mod checkout;
pub mod expiry;
pub mod openapi;
pub mod payments;
pub mod providers;
pub mod reads;
