//! Notifications: sending the platform's email, and relaying outbox messages whose publish
//! after commit did not happen.

pub mod relay;
pub mod send;
