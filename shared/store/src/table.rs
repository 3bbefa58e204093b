//! A thin layer over the DynamoDB client, private to this crate: records in and out through
//! serde_dynamo, keys from their `Entity`, conditions as expressions, named transactions.
//! Repositories (one module per aggregate) are the only callers.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use serde::Serialize;

use crate::entity::{Collection, Entity, Sharded};
use crate::error::from_sdk;
use crate::keys::{self, IndexKey, Key};
use crate::page::{
    ShardPosition, ShardedStart, decode_cursor, decode_sharded_cursor, encode_cursor, encode_sharded_cursor,
};
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
    /// Whether a failed condition hands back the item as it is (in a transaction, through the
    /// cancellation reason; see [`Table::commit_once_seeing`]).
    pub return_item_on_failure: bool,
}

impl Change {
    pub fn new(update: Expr) -> Self {
        Self { update, condition: None, return_item_on_failure: false }
    }
    pub fn when(mut self, condition: Expr) -> Self {
        self.condition = Some(condition);
        self
    }
    /// On a failed condition, the item as it is comes back with the error (no read needed to
    /// decide again).
    pub fn returning_item_on_failure(mut self) -> Self {
        self.return_item_on_failure = true;
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
    // An empty map is left out (records read it back as absent, with `#[serde(default)]`):
    // DynamoDB Local's stream renders one as `{}` with no type, which the SDK cannot parse, so
    // one such item would stop the stream for everything after it.
    item.retain(|_, value| !matches!(value, AttributeValue::M(map) if map.is_empty()));
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

pub(crate) fn from_item<E: Entity>(item: Item) -> Result<E, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Malformed(format!("{}: {e}", E::NAME)))
}

impl Table {
    /// The table `TABLE_NAME` names, through a client on the shared SDK configuration.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, StoreError> {
        let name = std::env::var("TABLE_NAME")
            .ok()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| StoreError::Unavailable("environment variable TABLE_NAME is not set".into()))?;
        Ok(Self::new(Client::new(sdk), name))
    }

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

    /// Reads one page of a sharded listing as if it were one collection (no filter: a page is full
    /// unless the listing ends). See [`Table::query_sharded_in`].
    pub(crate) async fn query_sharded<E: Entity>(
        &self,
        listing: &Sharded<E>,
        page: &PageRequest,
    ) -> Result<Page<E>, StoreError> {
        let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
        // A page draws about limit / shards records from each shard: twice that and a few more
        // rarely needs a second read, without reading `limit` records from every shard.
        let chunk = (limit.div_ceil(listing.shards.len()) * 2 + 4).min(limit);
        self.query_sharded_in(listing, page, None, |_| true, chunk, None).await
    }

    /// Reads one page of the records of a sharded listing that match `filter` and `keep`, reading
    /// on until the page is full within the same budget as [`Table::query_filtered`]: at most
    /// [`FILTERED_READS`] rounds of parallel Queries, each shard's evaluating at most
    /// `FILTERED_CHUNK / shards` items, so about 2,000 items a page however many shards. A page cut
    /// short by the budget says so (`partial`) and its cursor goes on from where reading stopped.
    pub(crate) async fn query_sharded_filtered<E: Entity>(
        &self,
        listing: &Sharded<E>,
        page: &PageRequest,
        filter: Option<Expr>,
        keep: impl Fn(&E) -> bool,
    ) -> Result<Page<E>, StoreError> {
        let chunk = (FILTERED_CHUNK as usize).div_ceil(listing.shards.len());
        self.query_sharded_in(listing, page, filter, keep, chunk, Some(FILTERED_READS)).await
    }

    /// Scatter-gather: reads the shards of `listing` in parallel, at most `chunk` evaluated items a
    /// Query, and merges them into the listing's one order (by sort key, ascending or descending as
    /// the page asks). A record is handed out only once no shard can still hold one before it: every
    /// other shard has a read record after it, or has been read (evaluated) past it, or is done; a
    /// shard that holds up the merge is read again, all such shards at once, one round at a time,
    /// within `rounds` rounds (`None`: until the page is full; without a filter every round hands
    /// out at least one record). The cursor holds each shard's position: the key of the last record
    /// it handed out, or where its reading stopped when nothing it read is left over, or done. So
    /// pages follow one another in the listing's order, every record exactly once, whichever shards
    /// each page drew from. It also holds the sort key of the last record handed out: a record added
    /// behind it meanwhile (a newer user in a newest-first walk, in a shard not handed out from yet)
    /// is passed over, as a one-collection cursor passes it over.
    pub(crate) async fn query_sharded_in<E: Entity>(
        &self,
        listing: &Sharded<E>,
        page: &PageRequest,
        filter: Option<Expr>,
        keep: impl Fn(&E) -> bool,
        chunk: usize,
        rounds: Option<usize>,
    ) -> Result<Page<E>, StoreError> {
        let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
        let newest_first = page.newest_first;
        let ShardedStart { mut after, positions } = match page.cursor.as_deref() {
            Some(cursor) => decode_sharded_cursor(cursor, listing, newest_first)?,
            None => ShardedStart { after: None, positions: vec![ShardPosition::Start; listing.shards.len()] },
        };
        let on_index = listing.index().is_some();
        let sort_attr = if on_index { keys::GSI1SK } else { keys::SK };
        let mut shards: Vec<ShardReader<E>> = positions.into_iter().map(ShardReader::new).collect();
        let mut kept: Vec<E> = Vec::with_capacity(limit);
        let mut round = 0;
        loop {
            // Hand out records in order while no shard can still hold an earlier one; `waiting` is
            // the next record's sort key when some shard holds it up.
            let mut waiting: Option<String> = None;
            while kept.len() < limit {
                let Some(next) = first_in_order(&shards, sort_attr, newest_first) else { break };
                let head = shards[next].head_sort_key(sort_attr).to_string();
                if shards.iter().any(|s| s.may_hold_before(&head, sort_attr, newest_first)) {
                    waiting = Some(head);
                    break;
                }
                let record = shards[next].take();
                let behind = after.as_deref().is_some_and(|after| before(&head, after, newest_first));
                if !behind {
                    after = Some(head);
                    if keep(&record) {
                        kept.push(record);
                    }
                }
            }
            let all_done = shards.iter().all(|s| s.position() == ShardPosition::Done);
            let out_of_budget = rounds.is_some_and(|max| round >= max);
            if kept.len() == limit || all_done || out_of_budget {
                let start = ShardedStart { after, positions: shards.iter().map(ShardReader::position).collect() };
                let next_cursor = encode_sharded_cursor(listing, newest_first, &start)?;
                let partial = kept.len() < limit && !all_done;
                return Ok(Page { items: kept, next_cursor, partial });
            }
            // Read every shard that holds up the next record (every shard with nothing left to
            // hand out, when none has a record read).
            let to_read: Vec<usize> = (0..shards.len())
                .filter(|&i| match &waiting {
                    Some(head) => shards[i].may_hold_before(head, sort_attr, newest_first),
                    None => shards[i].needs_reading(),
                })
                .collect();
            assert!(!to_read.is_empty(), "a page that is neither full nor at the end has a shard to read");
            let reads = to_read.iter().map(|&i| {
                self.query_raw(
                    &listing.shards[i],
                    newest_first,
                    filter.clone(),
                    shards[i].next.start_key(),
                    Some(chunk.max(1) as i32),
                )
            });
            let results = futures_util::future::try_join_all(reads).await?;
            for (i, (items, last)) in to_read.into_iter().zip(results) {
                let records = items
                    .into_iter()
                    .map(|item| {
                        let keys = key_attributes(&item, on_index);
                        Ok((from_item(item)?, keys))
                    })
                    .collect::<Result<VecDeque<_>, StoreError>>()?;
                shards[i].read(records, last);
            }
            round += 1;
        }
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

    /// Reads the records of a collection in order, at most `limit` of them.
    pub(crate) async fn query_up_to<E: Entity>(
        &self,
        collection: &Collection<E>,
        limit: usize,
    ) -> Result<Vec<E>, StoreError> {
        let mut start = None;
        let mut all = Vec::new();
        loop {
            let left = i32::try_from(limit - all.len()).unwrap_or(i32::MAX);
            let (items, last) = self.query_raw(collection, false, None, start, Some(left)).await?;
            for item in items {
                all.push(from_item(item)?);
            }
            match last {
                Some(last) if all.len() < limit => start = Some(last),
                _ => return Ok(all),
            }
        }
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
                // Sent again: a cancellation only by a concurrent transaction or throttling, and a
                // token refused as reused (see `error::from_transaction`); the SDK retried neither.
                let again = matches!(
                    e.as_service_error(),
                    Some(
                        TransactWriteItemsError::TransactionCanceledException(_)
                            | TransactWriteItemsError::IdempotentParameterMismatchException(_)
                    )
                );
                match crate::error::from_transaction(e, &steps) {
                    error if again && error.is_transient() => Failure::again(error),
                    error => error.into(),
                }
            })
        })
        .await
    }

    /// Applies every step of `tx` or none, once: a cancellation by a concurrent transaction comes
    /// back at once as `Throttled` instead of being tried again with the same conditions. For
    /// optimistic writers that plan again before another try (`stock::apply`): retrying a
    /// transaction whose version condition a concurrent one is about to break only wastes time.
    /// With a cancelled transaction comes the item of the step called `seeing`, when that step
    /// asked for it ([`Change::returning_item_on_failure`]) and its condition failed: the state
    /// to plan on next, without reading it.
    pub(crate) async fn commit_once_seeing(&self, tx: Tx, seeing: &str) -> Result<(), (StoreError, Option<Item>)> {
        let at = tx.step_names().iter().position(|s| *s == seeing);
        self.commit_once(tx).await.map_err(|(e, items)| (e, at.and_then(|i| items.into_iter().nth(i).flatten())))
    }

    /// Applies every step of `tx` or none, once (see [`Self::commit_once_seeing`]); a cancelled
    /// transaction hands back, per step in order, the item of each step that asked for it and whose
    /// condition failed.
    pub(crate) async fn commit_once(&self, tx: Tx) -> Result<(), (StoreError, Vec<Option<Item>>)> {
        if tx.is_empty() {
            return Ok(());
        }
        let (steps, writes) = tx.into_parts();
        let result = self.client.transact_write_items().set_transact_items(Some(writes)).send().await;
        result.map(|_| ()).map_err(|e| {
            let items = crate::error::cancelled_items(&e);
            (crate::error::from_transaction(e, &steps), items)
        })
    }
}

/// One shard of a sharded listing being read (see [`Table::query_sharded_in`]).
struct ShardReader<E> {
    /// Where its next Query starts; `Done` once DynamoDB said there is no more.
    next: ShardPosition,
    /// Records read and not yet handed out, in the listing's order, each with its key attributes.
    buffer: VecDeque<(E, Item)>,
    /// The position just before the first buffered record.
    before_buffer: ShardPosition,
}

impl<E> ShardReader<E> {
    fn new(start: ShardPosition) -> Self {
        Self { next: start.clone(), buffer: VecDeque::new(), before_buffer: start }
    }

    /// How far this shard has been handed out: a position from which no record is missed.
    fn position(&self) -> ShardPosition {
        if self.buffer.is_empty() { self.next.clone() } else { self.before_buffer.clone() }
    }

    fn needs_reading(&self) -> bool {
        self.buffer.is_empty() && self.next != ShardPosition::Done
    }

    /// Whether this shard may still hold an unread record that comes before `sort_key` in the
    /// listing's order. A shard with a buffered record holds none: the merge hands out the first of
    /// the buffered records, and every unread record of a shard comes after what it read.
    fn may_hold_before(&self, sort_key: &str, sort_attr: &str, newest_first: bool) -> bool {
        if !self.buffer.is_empty() {
            return false;
        }
        match &self.next {
            ShardPosition::Done => false,
            ShardPosition::Start => true,
            ShardPosition::After(key) => match key.get(sort_attr).and_then(|v| v.as_s().ok()) {
                // Read up to `read`: what is left comes after it.
                Some(read) => before(read, sort_key, newest_first),
                None => true,
            },
        }
    }

    fn head_sort_key(&self, sort_attr: &str) -> &str {
        self.buffer.front().and_then(|(_, keys)| keys.get(sort_attr)).and_then(|v| v.as_s().ok()).map_or("", |s| s)
    }

    /// Hands out the first buffered record.
    fn take(&mut self) -> E {
        let (record, keys) = self.buffer.pop_front().expect("only a shard with a buffered record is taken from");
        self.before_buffer = ShardPosition::After(keys);
        record
    }

    /// Takes what one Query read (the buffer was empty) and where it stopped.
    fn read(&mut self, records: VecDeque<(E, Item)>, last: Option<Item>) {
        self.before_buffer = std::mem::replace(&mut self.next, last.map_or(ShardPosition::Done, ShardPosition::After));
        self.buffer = records;
    }
}

impl ShardPosition {
    fn start_key(&self) -> Option<Item> {
        match self {
            ShardPosition::After(key) => Some(key.clone()),
            ShardPosition::Start | ShardPosition::Done => None,
        }
    }
}

/// Whether sort key `a` comes strictly before `b` in the listing's order.
fn before(a: &str, b: &str, newest_first: bool) -> bool {
    if newest_first { a > b } else { a < b }
}

/// The shard whose first buffered record comes first in the listing's order (ties: the lowest
/// shard), if any shard has one.
fn first_in_order<E>(shards: &[ShardReader<E>], sort_attr: &str, newest_first: bool) -> Option<usize> {
    let buffered = (0..shards.len()).filter(|&i| !shards[i].buffer.is_empty());
    let key = |i: &usize| shards[*i].head_sort_key(sort_attr);
    if newest_first {
        // `max_by` keeps the last of equals: reverse to keep the lowest shard.
        buffered.rev().max_by(|a, b| key(a).cmp(key(b)))
    } else {
        buffered.min_by(|a, b| key(a).cmp(key(b)))
    }
}

/// The key attributes of an item as a last-evaluated key names them: the table's keys, plus the
/// index's when the query reads the index.
fn key_attributes(item: &Item, on_index: bool) -> Item {
    let names: &[&str] =
        if on_index { &[keys::PK, keys::SK, keys::GSI1PK, keys::GSI1SK] } else { &[keys::PK, keys::SK] };
    names.iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone()))).collect()
}
