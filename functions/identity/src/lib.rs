//! Identity and access: accounts, sessions, profiles and address books, vendor organisations,
//! their staff and roles, and the platform administration of users and vendors.
//! Each handler is a plain async function; `src/bin/<function>.rs` wires one to the Lambda runtime.

pub mod deps;
pub mod dto;
pub mod handlers;
pub mod openapi;
pub mod tokens;

pub use deps::AuthDeps;
pub use stockyard_http::ApiDeps;

#[cfg(test)]
mod bad_input_tests;
