//! A thin layer over the DynamoDB client, private to this crate: records in and out through
//! serde_dynamo, keys from their `Entity`, conditions as expressions, named transactions.
//! Repositories (one module per aggregate) are the only callers.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use serde::Serialize;

use crate::entity::{Collection, Entity};
use crate::error::from_sdk;
use crate::keys::{self, IndexKey, Key};
use crate::page::{decode_cursor, encode_cursor};
use crate::retry::{self, Failure};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError};

pub(crate) type Item = HashMap<String, AttributeValue>;
type Names = Option<HashMap<String, String>>;
type Values = Option<HashMap<String, AttributeValue>>;

/// A condition, filter or update expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expr {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn new(expression: impl Into<String>) -> Self {
        Self { expression: expression.into(), ..Default::default() }
    }
    /// The item must not exist yet.
    pub fn not_exists() -> Self {
        Self::new("attribute_not_exists(PK)")
    }
    /// The item must exist.
    pub fn exists() -> Self {
        Self::new("attribute_exists(PK)")
    }
    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.into(), name.into());
        self
    }
    /// A value as the record stores it: enums, timestamps and ids go through serde, so a
    /// condition can never spell a stored value differently from the record.
    pub fn val<T: Serialize + ?Sized>(mut self, placeholder: &str, value: &T) -> Self {
        let value = serde_dynamo::to_attribute_value(value).expect("plain values always serialise to an attribute");
        self.values.insert(placeholder.into(), value);
        self
    }
    /// `SET a = :a, ...` / `REMOVE b` from the parts that are present.
    pub fn set_remove(mut self, set: &[&str], remove: &[&str]) -> Self {
        let mut text = String::new();
        if !set.is_empty() {
            text = format!("SET {}", set.join(", "));
        }
        if !remove.is_empty() {
            text.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        self.expression = text.trim().to_string();
        self
    }
    pub(crate) fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    pub(crate) fn values_opt(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// An update expression and the condition under which it applies.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub update: Expr,
    pub condition: Option<Expr>,
}

impl Change {
    pub fn new(update: Expr) -> Self {
        Self { update, condition: None }
    }
    pub fn when(mut self, condition: Expr) -> Self {
        self.condition = Some(condition);
        self
    }
    /// Update and condition share one set of placeholders in DynamoDB.
    pub(crate) fn merged(&self) -> (Names, Values) {
        let mut names = self.update.names.clone();
        let mut values = self.update.values.clone();
        if let Some(c) = &self.condition {
            names.extend(c.names.clone());
            values.extend(c.values.clone());
        }
        ((!names.is_empty()).then_some(names), (!values.is_empty()).then_some(values))
    }
}

/// The Stockyard table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: Arc<str>,
}

pub(crate) fn key_item(key: &Key) -> Item {
    HashMap::from([
        (keys::PK.to_string(), AttributeValue::S(key.pk.clone())),
        (keys::SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Writes one BatchWriteItem request may carry.
const BATCH_WRITE_MAX: usize = 25;

/// What a filtered list may read to fill one page: this many Query requests, each evaluating at
/// most `FILTERED_CHUNK` items (so at most 2,000 items, about 1 MB of small records, per page).
pub(crate) const FILTERED_READS: usize = 10;
const FILTERED_CHUNK: i32 = 200;

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A record as a full item: its fields, its keys, and the name of its type (`entity`), by which
/// the table's stream tells what changed (see `events`).
pub(crate) fn to_item<E: Entity>(record: &E) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record)?;
    item.extend(key_item(&record.key_of()));
    item.insert(keys::ENTITY.into(), AttributeValue::S(E::NAME.into()));
    if let Some(index) = record.index_key() {
        add_index(&mut item, &index);
    }
    Ok(item)
}

fn add_index(item: &mut Item, index: &IndexKey) {
    item.insert(keys::GSI1PK.into(), AttributeValue::S(index.pk.clone()));
    item.insert(keys::GSI1SK.into(), AttributeValue::S(index.sk.clone()));
}

fn from_item<E: Entity>(item: Item) -> Result<E, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Malformed(format!("{}: {e}", E::NAME)))
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self { client, name: Arc::from(name.into()) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A transaction on this table.
    pub fn tx(&self) -> Tx {
        Tx::new(self.name.clone())
    }

    /// Reads one record, strongly consistent.
    pub(crate) async fn get<E: Entity>(&self, id: &E::Id) -> Result<Option<E>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(self.name())
            .set_key(Some(key_item(&E::key(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(from_sdk)?;
        out.item.map(from_item).transpose()
    }

    /// Writes one record under an optional condition.
    pub(crate) async fn put<E: Entity>(&self, record: &E, condition: Option<Expr>) -> Result<(), StoreError> {
        let mut req = self.client.put_item().table_name(self.name()).set_item(Some(to_item(record)?));
        if let Some(c) = condition {
            req = req
                .condition_expression(&c.expression)
                .set_expression_attribute_names(c.names_opt())
                .set_expression_attribute_values(c.values_opt());
        }
        req.send().await.map_err(from_sdk)?;
        Ok(())
    }

    /// Applies one change and returns the record as it is afterwards.
    pub(crate) async fn update<E: Entity>(&self, id: &E::Id, change: Change) -> Result<E, StoreError> {
        let (names, values) = change.merged();
        let out = self
            .client
            .update_item()
            .table_name(self.name())
            .set_key(Some(key_item(&E::key(id))))
            .update_expression(&change.update.expression)
            .set_condition_expression(change.condition.map(|c| c.expression))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(from_sdk)?;
        from_item(out.attributes.unwrap_or_default())
    }

    /// Deletes one record under an optional condition.
    pub(crate) async fn delete<E: Entity>(&self, id: &E::Id, condition: Option<Expr>) -> Result<(), StoreError> {
        let mut req = self.client.delete_item().table_name(self.name()).set_key(Some(key_item(&E::key(id))));
        if let Some(c) = condition {
            req = req
                .condition_expression(&c.expression)
                .set_expression_attribute_names(c.names_opt())
                .set_expression_attribute_values(c.values_opt());
        }
        req.send().await.map_err(from_sdk)?;
        Ok(())
    }

    /// Reads one page of a collection (no filter: a page is full unless the collection ends).
    pub(crate) async fn query<E: Entity>(
        &self,
        collection: &Collection<E>,
        page: &PageRequest,
    ) -> Result<Page<E>, StoreError> {
        let start = page.cursor.as_deref().map(|c| decode_cursor(c, collection)).transpose()?;
        let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT);
        let (items, last) = self.query_raw(collection, page.newest_first, None, start, Some(limit)).await?;
        let items = items.into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor: last.as_ref().and_then(encode_cursor), partial: false })
    }

    /// Reads one page of the records of a collection that match `filter` (evaluated by DynamoDB)
    /// and `keep` (evaluated here), reading on until the page is full or the collection ends, within
    /// [`FILTERED_READS`] requests. A page cut short by that budget says so (`partial`) and carries
    /// the cursor to go on from; a filter never hands back a short page silently.
    pub(crate) async fn query_filtered<E: Entity>(
        &self,
        collection: &Collection<E>,
        page: &PageRequest,
        filter: Option<Expr>,
        keep: impl Fn(&E) -> bool,
    ) -> Result<Page<E>, StoreError> {
        let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
        let mut start = page.cursor.as_deref().map(|c| decode_cursor(c, collection)).transpose()?;
        let mut kept: Vec<(E, Item)> = Vec::with_capacity(limit);
        for _ in 0..FILTERED_READS {
            let (items, last) =
                self.query_raw(collection, page.newest_first, filter.clone(), start, Some(FILTERED_CHUNK)).await?;
            for item in items {
                let keys = key_attributes(&item, collection.index.is_some());
                let record: E = from_item(item)?;
                if keep(&record) {
                    kept.push((record, keys));
                    if kept.len() == limit {
                        // The page is full: the next one starts after the last record kept.
                        let next_cursor = encode_cursor(&kept[limit - 1].1);
                        return Ok(Page {
                            items: kept.into_iter().map(|(r, _)| r).collect(),
                            next_cursor,
                            partial: false,
                        });
                    }
                }
            }
            match last {
                Some(last) => start = Some(last),
                None => {
                    return Ok(Page {
                        items: kept.into_iter().map(|(r, _)| r).collect(),
                        next_cursor: None,
                        partial: false,
                    });
                }
            }
        }
        Ok(Page {
            items: kept.into_iter().map(|(r, _)| r).collect(),
            next_cursor: start.as_ref().and_then(encode_cursor),
            partial: true,
        })
    }

    async fn query_raw<E: Entity>(
        &self,
        collection: &Collection<E>,
        newest_first: bool,
        filter: Option<Expr>,
        start: Option<Item>,
        limit: Option<i32>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let (pk_attr, sk_attr) = match collection.index {
            Some(_) => (keys::GSI1PK, keys::GSI1SK),
            None => (keys::PK, keys::SK),
        };
        let mut names =
            HashMap::from([("#pk".to_string(), pk_attr.to_string()), ("#sk".to_string(), sk_attr.to_string())]);
        let mut values = HashMap::from([
            (":pk".to_string(), AttributeValue::S(collection.pk.clone())),
            (":prefix".to_string(), AttributeValue::S(collection.prefix.clone())),
        ]);
        let filter_expression = filter.map(|f| {
            names.extend(f.names);
            values.extend(f.values);
            f.expression
        });
        let out = self
            .client
            .query()
            .table_name(self.name())
            .set_index_name(collection.index.map(String::from))
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .set_filter_expression(filter_expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .set_limit(limit)
            .scan_index_forward(!newest_first)
            .set_exclusive_start_key(start)
            .consistent_read(collection.index.is_none())
            .send()
            .await
            .map_err(from_sdk)?;
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Reads every record of a collection.
    pub(crate) async fn query_all<E: Entity>(&self, collection: &Collection<E>) -> Result<Vec<E>, StoreError> {
        self.query_all_where(collection, None).await
    }

    /// Reads every record of a collection that matches `filter`, in pages that end at DynamoDB's
    /// 1 MB rather than at an item count (bulk readers such as the nightly forecast read thousands).
    pub(crate) async fn query_all_where<E: Entity>(
        &self,
        collection: &Collection<E>,
        filter: Option<Expr>,
    ) -> Result<Vec<E>, StoreError> {
        let mut start = None;
        let mut all = Vec::new();
        loop {
            let (items, last) = self.query_raw(collection, false, filter.clone(), start, None).await?;
            for item in items {
                all.push(from_item(item)?);
            }
            match last {
                Some(last) => start = Some(last),
                None => return Ok(all),
            }
        }
    }

    /// Puts whole records with BatchWriteItem, 25 a request and `parallel` requests in flight;
    /// writes handed back unprocessed are sent again under the store's one retry policy (a request
    /// throttled as a whole has been retried by the SDK already and fails the batch; see `retry`).
    /// Unconditional: for bulk writes that replace items (a forecast run's results, bulk loads).
    /// Returns the number written.
    pub(crate) async fn put_batch(&self, items: Vec<Item>, parallel: usize) -> Result<usize, StoreError> {
        let mut batches: Vec<Vec<WriteRequest>> = Vec::with_capacity(items.len().div_ceil(BATCH_WRITE_MAX));
        for item in items {
            let put = PutRequest::builder().set_item(Some(item)).build().map_err(unavailable)?;
            match batches.last_mut() {
                Some(batch) if batch.len() < BATCH_WRITE_MAX => {
                    batch.push(WriteRequest::builder().put_request(put).build())
                }
                _ => batches.push(vec![WriteRequest::builder().put_request(put).build()]),
            }
        }
        let semaphore = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for batch in batches {
            let (table, semaphore) = (self.clone(), semaphore.clone());
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await.map_err(unavailable)?;
                table.write_batch(batch).await
            });
        }
        let mut written = 0;
        while let Some(joined) = tasks.join_next().await {
            written += joined.map_err(|e| unavailable(format!("batch writer stopped: {e}")))??;
        }
        Ok(written)
    }

    async fn write_batch(&self, batch: Vec<WriteRequest>) -> Result<usize, StoreError> {
        let total = batch.len();
        let pending = std::sync::Mutex::new(batch);
        retry::store_retry(|| async {
            let sending = pending.lock().expect("batch lock").clone();
            let out = self
                .client
                .batch_write_item()
                .set_request_items(Some(HashMap::from([(self.name().to_string(), sending)])))
                .send()
                .await
                .map_err(from_sdk)?;
            let unprocessed = out.unprocessed_items.and_then(|mut m| m.remove(self.name())).unwrap_or_default();
            if unprocessed.is_empty() {
                return Ok(total);
            }
            let left = unprocessed.len();
            *pending.lock().expect("batch lock") = unprocessed;
            Err(Failure::again(StoreError::Throttled(format!("{left} of {total} batch writes unprocessed"))))
        })
        .await
    }

    /// Applies every step of `tx` or none. A failed condition names its step; a transaction
    /// cancelled only because another one was touching the same items at that moment (or because
    /// one of its items was throttled) changed nothing and is tried again under the store's retry
    /// policy. Other failures have been retried by the SDK already (see `retry`).
    pub async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        if tx.is_empty() {
            return Ok(());
        }
        let (steps, writes) = tx.into_parts();
        retry::store_retry(|| async {
            let result = self.client.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
            result.map(|_| ()).map_err(|e| {
                let cancelled =
                    matches!(e.as_service_error(), Some(TransactWriteItemsError::TransactionCanceledException(_)));
                match crate::error::from_transaction(e, &steps) {
                    error if cancelled && error.is_transient() => Failure::again(error),
                    error => error.into(),
                }
            })
        })
        .await
    }
}

/// The key attributes of an item as a last-evaluated key names them: the table's keys, plus the
/// index's when the query reads the index.
fn key_attributes(item: &Item, on_index: bool) -> Item {
    let names: &[&str] =
        if on_index { &[keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK] } else { &[keys::PK, keys::SK] };
    names.iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone()))).collect()
}
