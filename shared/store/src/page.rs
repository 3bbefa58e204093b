//! Cursor pagination: the cursor is the last evaluated key, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::StoreError;
use crate::entity::Collection;
use crate::keys;

/// Which page of a collection to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i32,
    pub cursor: Option<String>,
    /// Newest first (ids are time-ordered, so this is descending sort-key order).
    pub newest_first: bool,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: i32 = 20;
    pub const MAX_LIMIT: i32 = 100;

    pub fn first(limit: i32) -> Self {
        Self { limit, cursor: None, newest_first: false }
    }
}

/// One page of items and the cursor of the next page, if there may be one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// A filtered list ran out of its read budget before the page was full: fewer items than
    /// asked for, and `next_cursor` goes on from where the reading stopped.
    pub partial: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor, partial: self.partial }
    }
}

pub(crate) fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let plain: BTreeMap<&str, &str> =
        key.iter().filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str()))).collect();
    let json = serde_json::to_vec(&plain).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a cursor, refusing anything this store could not have issued for `collection`: the
/// attributes must be exactly those of a last-evaluated key of the query (table keys, plus the
/// index keys when it reads the index), in the collection's partition and under its prefix.
pub(crate) fn decode_cursor<E>(
    cursor: &str,
    collection: &Collection<E>,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| StoreError::InvalidCursor)?;
    let plain: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    let (pk_attr, sk_attr, expected): (&str, &str, &[&str]) = match collection.index {
        Some(_) => (keys::GSI1PK, keys::GSI1SK, &[keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK]),
        None => (keys::PK, keys::SK, &[keys::PK, keys::SK]),
    };
    let shaped = plain.len() == expected.len()
        && expected.iter().all(|attr| plain.get(*attr).is_some_and(|v| !v.is_empty()))
        && plain[pk_attr] == collection.pk
        && plain[sk_attr].starts_with(&collection.prefix);
    if !shaped {
        return Err(StoreError::InvalidCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Collection<stockyard_domain::vendor::Member> {
        Collection::table("VENDOR#1".into(), "MEMBER#")
    }

    fn key(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string()))).collect()
    }

    fn cursor(pairs: &[(&str, &str)]) -> String {
        encode_cursor(&key(pairs)).unwrap()
    }

    #[test]
    fn a_cursor_round_trips_to_the_same_key() {
        let last = [("PK", "VENDOR#1"), ("SK", "MEMBER#2")];
        assert_eq!(decode_cursor(&cursor(&last), &members()).unwrap(), key(&last));
        let listing = Collection::<crate::users::UserRecord>::index("USERS", "USER#");
        let last = [("PK", "USER#2"), ("SK", "PROFILE"), ("GSI1PK", "USERS"), ("GSI1SK", "USER#2")];
        assert_eq!(decode_cursor(&cursor(&last), &listing).unwrap(), key(&last));
    }

    #[test]
    fn a_cursor_the_store_did_not_issue_for_the_collection_is_refused() {
        for bad in [
            cursor(&[("PK", "VENDOR#9"), ("SK", "MEMBER#2")]),
            cursor(&[("PK", "VENDOR#1"), ("SK", "INVITE#2")]),
            cursor(&[("PK", "VENDOR#1")]),
            cursor(&[("PK", "VENDOR#1"), ("SK", "MEMBER#2"), ("GSI1PK", "X")]),
            cursor(&[("PK", "VENDOR#1"), ("Sk", "MEMBER#2")]),
            cursor(&[("PK", "VENDOR#1"), ("SK", "")]),
            "%%%".into(),
            URL_SAFE_NO_PAD.encode(b"[1,2]"),
        ] {
            assert!(matches!(decode_cursor(&bad, &members()), Err(StoreError::InvalidCursor)), "{bad}");
        }
    }
}
