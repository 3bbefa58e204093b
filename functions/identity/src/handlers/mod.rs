//! One function per endpoint, grouped by resource. Each reads parse → authorise → decide → store →
//! respond: the request context (`Ctx`) gives the caller, path, query, body and vendor access, and
//! the store's repositories do the reading and writing.

pub mod addresses;
pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod profile;
pub mod recovery;
pub mod staff;
pub mod vendors;
