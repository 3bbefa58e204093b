//! Stockyard's domain: identifiers, validated values, entities, money, roles and permissions.
//! Pure Rust with no AWS or Lambda dependency, so everything here is unit-tested fast.

pub mod account;
pub mod address;
pub mod demand;
pub mod error;
pub mod ids;
pub mod location;
pub mod money;
pub mod password;
pub mod roles;
pub mod values;
pub mod vendor;

pub use error::FieldError;
pub use money::{Currency, Money};
