//! Which version of a search index is current. The index's files live in S3; this item names the
//! manifest of the current version. Publishing a version is a conditional write on the version it
//! was built on, so of two writers that built on the same version only one publishes: the other's
//! work is refused whole and redone on the new version (the index's single-writer guarantee).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::Entity;
use crate::table::Expr;
use crate::{StoreError, Table, keys};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexVersion {
    /// The index's name (`products`).
    pub name: String,
    /// Counts up from 1 with every published version.
    pub generation: u64,
    /// The S3 key of the version's manifest.
    pub manifest_key: String,
    /// Documents in this version.
    pub documents: u64,
    pub published_at: DateTime<Utc>,
}

impl Entity for IndexVersion {
    type Id = String;
    const NAME: &'static str = "search index version";
    fn key(name: &String) -> keys::Key {
        keys::search_index(name)
    }
    fn key_of(&self) -> keys::Key {
        keys::search_index(&self.name)
    }
}

/// The current version of index `name`, if one was ever published (strongly consistent).
pub async fn current(table: &Table, name: &str) -> Result<Option<IndexVersion>, StoreError> {
    table.get::<IndexVersion>(&name.to_string()).await
}

/// Publishes `next` if the current version is still `built_on` (`None`: none was published).
/// `StoreError::ConditionFailed` when another writer published first.
pub async fn publish(table: &Table, next: &IndexVersion, built_on: Option<u64>) -> Result<(), StoreError> {
    let condition = match built_on {
        None => Expr::not_exists(),
        Some(generation) => Expr::new("generation = :g").val(":g", &generation),
    };
    table.put(next, Some(condition)).await
}
