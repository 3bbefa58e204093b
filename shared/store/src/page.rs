//! Cursor pagination: the cursor is the last evaluated key, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::StoreError;

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
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

pub(crate) fn encode_cursor(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let plain: BTreeMap<&str, &str> =
        key.iter().filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str()))).collect();
    let json = serde_json::to_vec(&plain).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a cursor, refusing one that does not belong to the partition being read.
pub(crate) fn decode_cursor(
    cursor: &str,
    partition_attr: &str,
    partition: &str,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| StoreError::InvalidCursor)?;
    let plain: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if plain.get(partition_attr).map(String::as_str) != Some(partition) || plain.len() > 4 {
        return Err(StoreError::InvalidCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".to_string(), AttributeValue::S("VENDOR#1".into())),
            ("SK".to_string(), AttributeValue::S("MEMBER#2".into())),
        ])
    }

    #[test]
    fn a_cursor_round_trips_to_the_same_key() {
        let cursor = encode_cursor(&key()).unwrap();
        assert_eq!(decode_cursor(&cursor, "PK", "VENDOR#1").unwrap(), key());
    }

    #[test]
    fn a_cursor_from_another_partition_is_refused() {
        let cursor = encode_cursor(&key()).unwrap();
        assert!(matches!(decode_cursor(&cursor, "PK", "VENDOR#9"), Err(StoreError::InvalidCursor)));
        assert!(matches!(decode_cursor("%%%", "PK", "VENDOR#1"), Err(StoreError::InvalidCursor)));
    }
}
