//! Records bound to the shape of their keys (modyne's `Entity`): a record type names what
//! identifies it and builds its own key, so reading a member from a vendor's key does not compile.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::keys::{IndexKey, Key};

/// A record stored as one item.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// What identifies one record of this type (`(VendorId, UserId)` for a member).
    type Id: Send + Sync;
    /// What this type is called in errors and logs.
    const NAME: &'static str;
    /// The key of the record with this id.
    fn key(id: &Self::Id) -> Key;
    /// The key of this record.
    fn key_of(&self) -> Key;
    /// The secondary-index key, for records that are listed through the index.
    fn index_key(&self) -> Option<IndexKey> {
        None
    }
}

/// All records of one type in one partition whose sort key starts with `prefix`, on the table or
/// the index. The type parameter keeps a collection of members from being read as anything else.
#[derive(Debug)]
pub(crate) struct Collection<E> {
    pub index: Option<&'static str>,
    pub pk: String,
    pub prefix: String,
    record: PhantomData<fn() -> E>,
}

impl<E> Clone for Collection<E> {
    fn clone(&self) -> Self {
        Self { index: self.index, pk: self.pk.clone(), prefix: self.prefix.clone(), record: PhantomData }
    }
}

impl<E: Entity> Collection<E> {
    pub fn table(pk: String, prefix: impl Into<String>) -> Self {
        Self { index: None, pk, prefix: prefix.into(), record: PhantomData }
    }
    pub fn index(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self { index: Some(crate::keys::GSI1), pk: pk.into(), prefix: prefix.into(), record: PhantomData }
    }
    /// The same collection narrowed to sort keys starting with `prefix`.
    pub fn narrowed(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

/// One listing spread over several collections (shards) of the same record type under the same
/// prefix, read as one by scatter-gather (`Table::query_sharded`): one order by sort key across
/// every shard. `name` goes into its cursors, so a cursor of one listing is refused by another.
#[derive(Debug)]
pub(crate) struct Sharded<E> {
    pub name: String,
    pub shards: Vec<Collection<E>>,
}

impl<E: Entity> Sharded<E> {
    pub fn new(name: impl Into<String>, shards: Vec<Collection<E>>) -> Self {
        assert!(!shards.is_empty(), "a sharded listing has at least one shard");
        assert!(
            shards.iter().all(|s| s.index == shards[0].index && s.prefix == shards[0].prefix),
            "the shards of a listing differ only in their partition"
        );
        Self { name: name.into(), shards }
    }
}

impl<E> Sharded<E> {
    /// The index the shards are read from (`None`: the table).
    pub fn index(&self) -> Option<&'static str> {
        self.shards[0].index
    }
    /// The sort-key prefix every shard shares.
    pub fn prefix(&self) -> &str {
        &self.shards[0].prefix
    }
}
