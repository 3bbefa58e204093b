//! Cursor pagination: the cursor is the last evaluated key, opaque to clients; a sharded
//! listing's cursor holds one position per shard.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::StoreError;
use crate::entity::{Collection, Sharded};
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

/// How far one shard of a sharded listing has been read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ShardPosition {
    /// Nothing of it yet.
    Start,
    /// Everything up to and including this key (a Query's exclusive start key).
    After(HashMap<String, AttributeValue>),
    /// All of it.
    Done,
}

/// The cursor of a sharded listing, before base64url: the listing's name and order; the sort key
/// of the last record handed out (`after`: a record added behind it later is not handed out); and
/// one position per shard, in shard order: `null` (not read yet), `"done"`, or the key read up to
/// as the values of its key attributes but the shard's own partition key, which the shard gives:
/// `[PK, SK, GSI1SK]` on the index, `[SK]` on the table.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardedCursor {
    listing: String,
    newest_first: bool,
    after: Option<String>,
    shards: Vec<serde_json::Value>,
}

/// Where a page of a sharded listing starts: the sort key of the last record handed out, and each
/// shard's position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShardedStart {
    pub after: Option<String>,
    pub positions: Vec<ShardPosition>,
}

const DONE: &str = "done";
/// DynamoDB's limits on key values (sort keys 1,024 bytes, partition keys 2,048).
const KEY_VALUE_MAX: usize = 1024;

/// The key attributes a position of `listing` carries, in cursor order, the sort key last; and
/// the one each shard gives (its partition key).
fn position_attributes<E>(listing: &Sharded<E>) -> (&'static [&'static str], &'static str) {
    match listing.shards[0].index {
        Some(_) => (&[keys::PK, keys::SK, keys::GSI1SK], keys::GSI1PK),
        None => (&[keys::SK], keys::PK),
    }
}

/// The cursor that goes on from `start`, or `None` when every shard is done.
pub(crate) fn encode_sharded_cursor<E>(
    listing: &Sharded<E>,
    newest_first: bool,
    start: &ShardedStart,
) -> Result<Option<String>, StoreError> {
    let positions = &start.positions;
    if positions.iter().all(|p| *p == ShardPosition::Done) {
        return Ok(None);
    }
    let (attributes, _) = position_attributes(listing);
    let mut shards = Vec::with_capacity(positions.len());
    for position in positions {
        shards.push(match position {
            ShardPosition::Start => serde_json::Value::Null,
            ShardPosition::Done => serde_json::Value::from(DONE),
            ShardPosition::After(key) => {
                let values = attributes
                    .iter()
                    .map(|attr| key.get(*attr).and_then(|v| v.as_s().ok()).cloned())
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| StoreError::Malformed(format!("{}: a position without its keys", listing.name)))?;
                serde_json::Value::from(values)
            }
        });
    }
    let cursor = ShardedCursor { listing: listing.name.clone(), newest_first, after: start.after.clone(), shards };
    let json = serde_json::to_vec(&cursor).map_err(|e| StoreError::Malformed(e.to_string()))?;
    Ok(Some(URL_SAFE_NO_PAD.encode(json)))
}

/// Decodes a sharded listing's cursor, refusing anything this store could not have issued for
/// `listing` read in this order: another listing's or order's, another shard count, a position that
/// is not `null`, `"done"` or exactly the key values of a position, an empty or oversized value, or
/// a sort key outside the listing's prefix.
pub(crate) fn decode_sharded_cursor<E>(
    cursor: &str,
    listing: &Sharded<E>,
    newest_first: bool,
) -> Result<ShardedStart, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| StoreError::InvalidCursor)?;
    let plain: ShardedCursor = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    let after_is_a_sort_key = |after: &String| after.len() <= KEY_VALUE_MAX && after.starts_with(listing.prefix());
    if plain.listing != listing.name
        || plain.newest_first != newest_first
        || plain.shards.len() != listing.shards.len()
        || !plain.after.as_ref().is_none_or(after_is_a_sort_key)
    {
        return Err(StoreError::InvalidCursor);
    }
    let (attributes, partition) = position_attributes(listing);
    let sort_key = attributes.len() - 1;
    let mut positions = Vec::with_capacity(plain.shards.len());
    for (shard, position) in listing.shards.iter().zip(plain.shards) {
        positions.push(match position {
            serde_json::Value::Null => ShardPosition::Start,
            serde_json::Value::String(s) if s == DONE => ShardPosition::Done,
            serde_json::Value::Array(values) if values.len() == attributes.len() => {
                let values: Vec<String> = values
                    .into_iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) if !s.is_empty() && s.len() <= KEY_VALUE_MAX => Ok(s),
                        _ => Err(StoreError::InvalidCursor),
                    })
                    .collect::<Result<_, _>>()?;
                if !values[sort_key].starts_with(&shard.prefix) {
                    return Err(StoreError::InvalidCursor);
                }
                let mut key: HashMap<String, AttributeValue> =
                    attributes.iter().zip(values).map(|(a, v)| (a.to_string(), AttributeValue::S(v))).collect();
                key.insert(partition.into(), AttributeValue::S(shard.pk.clone()));
                ShardPosition::After(key)
            }
            _ => return Err(StoreError::InvalidCursor),
        });
    }
    Ok(ShardedStart { after: plain.after, positions })
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

    fn listing(name: &str, shards: usize) -> Sharded<crate::users::UserRecord> {
        Sharded::new(name, (0..shards).map(|n| Collection::index(format!("{name}#{n}"), "USER#")).collect())
    }

    fn sharded(plain: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap())
    }

    #[test]
    fn a_sharded_cursor_round_trips_every_shards_position() {
        let users = listing("USERS", 3);
        let after = key(&[("PK", "USER#2"), ("SK", "PROFILE"), ("GSI1PK", "USERS#1"), ("GSI1SK", "USER#2")]);
        let positions = vec![ShardPosition::Start, ShardPosition::After(after), ShardPosition::Done];
        for after in [None, Some("USER#3".to_string())] {
            let start = ShardedStart { after, positions: positions.clone() };
            for newest_first in [false, true] {
                let cursor = encode_sharded_cursor(&users, newest_first, &start).unwrap().expect("not done");
                assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe");
                assert_eq!(decode_sharded_cursor(&cursor, &users, newest_first).unwrap(), start);
            }
        }
        // What the cursor holds: the listing, its order, the last sort key handed out, and per shard
        // nothing, the key read up to (but the shard's own partition key) or done.
        let start = ShardedStart { after: Some("USER#3".into()), positions };
        let cursor = encode_sharded_cursor(&users, true, &start).unwrap().unwrap();
        let plain: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({
                "listing": "USERS", "newest_first": true, "after": "USER#3",
                "shards": [null, ["USER#2", "PROFILE", "USER#2"], "done"],
            })
        );
        // Every shard read to its end: no next page.
        let done = ShardedStart { after: Some("USER#3".into()), positions: vec![ShardPosition::Done; 3] };
        assert_eq!(encode_sharded_cursor(&users, false, &done).unwrap(), None);
    }

    #[test]
    fn a_sharded_listing_on_the_table_keeps_only_sort_keys_in_its_cursor() {
        let members: Sharded<stockyard_domain::vendor::Member> =
            Sharded::new("MEMBERS", (0..2).map(|n| Collection::table(format!("VENDOR#{n}"), "MEMBER#")).collect());
        let positions = vec![ShardPosition::Done, ShardPosition::After(key(&[("PK", "VENDOR#1"), ("SK", "MEMBER#7")]))];
        let start = ShardedStart { after: Some("MEMBER#7".into()), positions };
        let cursor = encode_sharded_cursor(&members, false, &start).unwrap().unwrap();
        let plain: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
        assert_eq!(plain["shards"], serde_json::json!(["done", ["MEMBER#7"]]));
        assert_eq!(decode_sharded_cursor(&cursor, &members, false).unwrap(), start);
    }

    #[test]
    fn a_sharded_cursor_the_store_did_not_issue_for_the_listing_and_order_is_refused() {
        let users = listing("USERS", 3);
        let issued = sharded(serde_json::json!({
            "listing": "USERS", "newest_first": true, "after": "USER#2",
            "shards": [null, ["USER#2", "PROFILE", "USER#2"], "done"],
        }));
        assert!(decode_sharded_cursor(&issued, &users, true).is_ok());
        let shaped = |shards: serde_json::Value| {
            sharded(serde_json::json!({ "listing": "USERS", "newest_first": true, "shards": shards }))
        };
        let refused = [
            ("another listing's", decode_sharded_cursor(&issued, &listing("VENDORS", 3), true)),
            ("the other order's", decode_sharded_cursor(&issued, &users, false)),
            ("another shard count's", decode_sharded_cursor(&issued, &listing("USERS", 4), true)),
            (
                "a last sort key outside the prefix",
                decode_sharded_cursor(
                    &sharded(serde_json::json!({
                        "listing": "USERS", "newest_first": true, "after": "VENDOR#2", "shards": [null, null, null],
                    })),
                    &users,
                    true,
                ),
            ),
            (
                "an empty last sort key",
                decode_sharded_cursor(
                    &sharded(serde_json::json!({
                        "listing": "USERS", "newest_first": true, "after": "", "shards": [null, null, null],
                    })),
                    &users,
                    true,
                ),
            ),
            ("too few shards", decode_sharded_cursor(&shaped(serde_json::json!([null, "done"])), &users, true)),
            (
                "a misspelt done",
                decode_sharded_cursor(&shaped(serde_json::json!([null, "DONE", "done"])), &users, true),
            ),
            ("a number", decode_sharded_cursor(&shaped(serde_json::json!([null, 1, "done"])), &users, true)),
            (
                "a key object",
                decode_sharded_cursor(&shaped(serde_json::json!([null, { "PK": "USER#2" }, "done"])), &users, true),
            ),
            (
                "a key without its table keys",
                decode_sharded_cursor(&shaped(serde_json::json!([null, ["USER#2"], "done"])), &users, true),
            ),
            (
                "a key with an extra value",
                decode_sharded_cursor(
                    &shaped(serde_json::json!([null, ["USER#2", "PROFILE", "USER#2", "x"], "done"])),
                    &users,
                    true,
                ),
            ),
            (
                "an empty value",
                decode_sharded_cursor(
                    &shaped(serde_json::json!([null, ["USER#2", "", "USER#2"], "done"])),
                    &users,
                    true,
                ),
            ),
            (
                "a value too long for a key",
                decode_sharded_cursor(
                    &shaped(serde_json::json!([
                        null,
                        ["USER#2", "PROFILE", format!("USER#{}", "9".repeat(1100))],
                        "done"
                    ])),
                    &users,
                    true,
                ),
            ),
            (
                "a number among the values",
                decode_sharded_cursor(
                    &shaped(serde_json::json!([null, ["USER#2", 7, "USER#2"], "done"])),
                    &users,
                    true,
                ),
            ),
            (
                "a sort key outside the prefix",
                decode_sharded_cursor(
                    &shaped(serde_json::json!([null, ["USER#2", "PROFILE", "VENDOR#2"], "done"])),
                    &users,
                    true,
                ),
            ),
            (
                "an unknown field",
                decode_sharded_cursor(
                    &sharded(serde_json::json!({
                        "listing": "USERS", "newest_first": true, "shards": [null, null, null], "extra": 1,
                    })),
                    &users,
                    true,
                ),
            ),
            (
                "no order",
                decode_sharded_cursor(
                    &sharded(serde_json::json!({ "listing": "USERS", "shards": [null, null, null] })),
                    &users,
                    true,
                ),
            ),
            (
                "a single collection's cursor",
                decode_sharded_cursor(
                    &cursor(&[("PK", "USER#2"), ("SK", "PROFILE"), ("GSI1PK", "USERS#0"), ("GSI1SK", "USER#2")]),
                    &users,
                    true,
                ),
            ),
            ("not base64", decode_sharded_cursor("%%%", &users, true)),
            ("base64 of not JSON", decode_sharded_cursor(&URL_SAFE_NO_PAD.encode("hello"), &users, true)),
            ("empty", decode_sharded_cursor("", &users, true)),
        ];
        for (what, result) in refused {
            assert!(matches!(result, Err(StoreError::InvalidCursor)), "{what}: {result:?}");
        }
        // And a one-collection list refuses a sharded cursor.
        assert!(matches!(decode_cursor(&issued, &members()), Err(StoreError::InvalidCursor)));
    }
}
