//! One function per endpoint, grouped by resource. Each reads parse → authorise → decide → store →
//! respond: the request context (`Ctx`) gives the caller, path, query, body and vendor access, and
//! the store's repositories do the reading and writing.

pub mod addresses;
pub mod admin;
pub mod auth;
pub mod profile;
pub mod recovery;
pub mod staff;
pub mod vendors;

use stockyard_domain::ids::UserId;
use stockyard_http::ApiError;
use stockyard_store::Table;
use stockyard_store::users::{self, UserRecord};

/// The caller's account, which must still exist.
pub(crate) async fn load_user(table: &Table, id: UserId) -> Result<UserRecord, ApiError> {
    users::get(table, id).await?.ok_or(ApiError::NotFound("user"))
}
