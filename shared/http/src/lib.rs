//! HTTP glue for Stockyard's API functions: parsing and validating requests, one error type
//! rendered as `{ "error": { code, message, field?, request_id } }`, authentication with
//! access tokens and API keys, vendor authorisation, pagination and idempotent creates.

pub mod api_keys;
pub mod auth;
pub mod context;
pub mod deps;
pub mod error;
pub mod idempotency;
pub mod links;
pub mod openapi;
pub mod request;
pub mod response;
pub mod serve;
pub mod vendor_access;

pub use auth::{Claims, Principal, TokenIssuer, TokenVerifier};
pub use context::{Caller, Ctx};
pub use deps::ApiDeps;
pub use error::ApiError;
pub use lambda_http::{Body, Request, Response};
pub use response::{ListResponse, created, json, no_content};
pub use vendor_access::Need;
