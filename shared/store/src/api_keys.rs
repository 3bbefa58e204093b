//! API keys: one item per key in a partition of its own, so a request presenting a key costs one
//! strongly consistent GetItem by the key's id; listed per vendor through the index. The item
//! holds the keyed hash of the key's secret, never the secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::api_key::{ApiKey, ApiKeyStatus};
use stockyard_domain::ids::{ApiKeyId, UserId, VendorId};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::{Page, PageRequest, StoreError, Table, keys};

/// A key as stored: what its owner sees, and the hash its secret is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The keyed hash of the secret (hex).
    pub secret_hash: String,
}

impl Entity for ApiKeyRecord {
    type Id = ApiKeyId;
    const NAME: &'static str = "api key";
    fn key(id: &Self::Id) -> keys::Key {
        keys::api_key(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::api_key(self.key.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::api_key_listing(self.key.vendor_id, self.key.id))
    }
}

/// Why a key could not be revoked.
#[derive(Debug, PartialEq)]
pub enum RevokeRefusal {
    /// The vendor has no key with this id.
    NotFound,
    /// It was revoked already (the key as it is).
    AlreadyRevoked(Box<ApiKey>),
}

/// Stores a new key (its id is new, so it never overwrites one).
pub async fn create(table: &Table, key: &ApiKey, secret_hash: &str) -> Result<(), StoreError> {
    let record = ApiKeyRecord { key: key.clone(), secret_hash: secret_hash.to_string() };
    table.put(&record, Some(Expr::not_exists())).await
}

/// The key with this id, whichever vendor it belongs to (strongly consistent, so a key revoked a
/// moment ago reads as revoked).
pub async fn get(table: &Table, id: ApiKeyId) -> Result<Option<ApiKeyRecord>, StoreError> {
    table.get::<ApiKeyRecord>(&id).await
}

/// The vendor's keys, newest first by default (active and revoked).
pub async fn list(table: &Table, vendor: VendorId, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
    let page: Page<ApiKeyRecord> = table.query(&keys::api_keys_of(vendor), page).await?;
    Ok(page.map(|record| record.key))
}

/// Revokes the vendor's key: from the next request that presents it on, it is refused.
pub async fn revoke(
    table: &Table,
    vendor: VendorId,
    id: ApiKeyId,
    by: UserId,
    at: DateTime<Utc>,
) -> Result<Result<ApiKey, RevokeRefusal>, StoreError> {
    let change = Change::new(
        Expr::new("SET #status = :revoked, revoked_at = :at, revoked_by = :by")
            .name("#status", "status")
            .val(":revoked", &ApiKeyStatus::Revoked)
            .val(":at", &at)
            .val(":by", &by),
    )
    .when(
        Expr::new("attribute_exists(PK) AND vendor_id = :vendor AND #status = :active")
            .name("#status", "status")
            .val(":vendor", &vendor)
            .val(":active", &ApiKeyStatus::Active),
    );
    match table.update::<ApiKeyRecord>(&id, change).await {
        Ok(record) => Ok(Ok(record.key)),
        Err(StoreError::ConditionFailed) => Ok(Err(match get(table, id).await? {
            Some(record) if record.key.vendor_id == vendor => RevokeRefusal::AlreadyRevoked(Box::new(record.key)),
            _ => RevokeRefusal::NotFound,
        })),
        Err(e) => Err(e),
    }
}
