//! Stockyard's domain: identifiers, validated values, roles and permissions.
//! Pure Rust with no AWS or Lambda dependency, so everything here is unit-tested fast.

pub mod address;
pub mod error;
pub mod ids;
pub mod password;
pub mod roles;
pub mod values;

pub use error::FieldError;
