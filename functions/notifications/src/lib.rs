//! Notifications: routing the table's domain events to the queues that act on them, and sending
//! the platform's email once per email id.

pub mod router;
pub mod send;
