//! One function per endpoint, grouped by resource.

pub mod addresses;
pub mod admin;
pub mod auth;
pub mod profile;
pub mod staff;
pub mod vendors;

use stockyard_domain::ids::UserId;
use stockyard_http::ApiError;
use stockyard_store::identity::UserRecord;
use stockyard_store::{Table, keys};

/// The caller's account, which must still exist.
pub(crate) async fn load_user(table: &Table, id: UserId) -> Result<UserRecord, ApiError> {
    table.get::<UserRecord>(&keys::user(id)).await?.ok_or(ApiError::NotFound("user"))
}
