//! A thin layer over the DynamoDB client: records in and out through serde_dynamo, keys from
//! `keys`, conditions as expressions, transactions whose failed condition says which write failed.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, PutRequest, ReturnValue, TransactWriteItem, Update, WriteRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::from_sdk;
use crate::keys::{self, Collection, IndexKey, Key};
use crate::page::{decode_cursor, encode_cursor};
use crate::{Page, PageRequest, StoreError};

pub type Item = HashMap<String, AttributeValue>;
type Names = Option<HashMap<String, String>>;
type Values = Option<HashMap<String, AttributeValue>>;

/// A condition or filter expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub struct Expr {
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
    pub fn value(mut self, placeholder: &str, value: impl Into<AttributeValue>) -> Self {
        self.values.insert(placeholder.into(), value.into());
        self
    }
    pub fn str(self, placeholder: &str, value: impl Into<String>) -> Self {
        self.value(placeholder, AttributeValue::S(value.into()))
    }
    pub fn num(self, placeholder: &str, value: i64) -> Self {
        self.value(placeholder, AttributeValue::N(value.to_string()))
    }
    fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values_opt(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// An update expression and the condition under which it applies.
#[derive(Debug, Clone)]
pub struct Change {
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
    fn merged(&self) -> (Names, Values) {
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

fn key_item(key: &Key) -> Item {
    HashMap::from([
        (keys::PK.to_string(), AttributeValue::S(key.pk.clone())),
        (keys::SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Writes one BatchWriteItem request may carry.
const BATCH_WRITE_MAX: usize = 25;

/// Whether DynamoDB refused a request for capacity (worth retrying after a pause).
fn is_throttling<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    err: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c.contains("Throughput") || c.contains("Throttl") || c == "RequestLimitExceeded")
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A record as a full item: its fields plus its keys.
pub fn to_item<T: Serialize>(key: &Key, index: Option<&IndexKey>, record: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record)?;
    item.extend(key_item(key));
    if let Some(index) = index {
        item.insert(keys::GSI1PK.into(), AttributeValue::S(index.pk.clone()));
        item.insert(keys::GSI1SK.into(), AttributeValue::S(index.sk.clone()));
    }
    Ok(item)
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self { client, name: Arc::from(name.into()) }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads one record, strongly consistent.
    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(self.name())
            .set_key(Some(key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(from_sdk)?;
        out.item.map(serde_dynamo::from_item).transpose().map_err(Into::into)
    }

    /// Writes one record under an optional condition.
    pub async fn put<T: Serialize>(
        &self,
        key: &Key,
        index: Option<&IndexKey>,
        record: &T,
        condition: Option<Expr>,
    ) -> Result<(), StoreError> {
        let mut req = self.client.put_item().table_name(self.name()).set_item(Some(to_item(key, index, record)?));
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
    pub async fn update<T: DeserializeOwned>(&self, key: &Key, change: Change) -> Result<T, StoreError> {
        let (names, values) = change.merged();
        let out = self
            .client
            .update_item()
            .table_name(self.name())
            .set_key(Some(key_item(key)))
            .update_expression(&change.update.expression)
            .set_condition_expression(change.condition.map(|c| c.expression))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(from_sdk)?;
        serde_dynamo::from_item(out.attributes.unwrap_or_default()).map_err(Into::into)
    }

    /// Deletes one item under an optional condition.
    pub async fn delete(&self, key: &Key, condition: Option<Expr>) -> Result<(), StoreError> {
        let mut req = self.client.delete_item().table_name(self.name()).set_key(Some(key_item(key)));
        if let Some(c) = condition {
            req = req
                .condition_expression(&c.expression)
                .set_expression_attribute_names(c.names_opt())
                .set_expression_attribute_values(c.values_opt());
        }
        req.send().await.map_err(from_sdk)?;
        Ok(())
    }

    /// Reads one page of a collection, optionally filtered.
    pub async fn query<T: DeserializeOwned>(
        &self,
        collection: &Collection,
        page: &PageRequest,
        filter: Option<Expr>,
    ) -> Result<Page<T>, StoreError> {
        self.query_page(collection, page, filter, Some(page.limit.clamp(1, PageRequest::MAX_LIMIT))).await
    }

    async fn query_page<T: DeserializeOwned>(
        &self,
        collection: &Collection,
        page: &PageRequest,
        filter: Option<Expr>,
        limit: Option<i32>,
    ) -> Result<Page<T>, StoreError> {
        let (pk_attr, sk_attr) = match collection.index {
            Some(_) => (keys::GSI1PK, keys::GSI1SK),
            None => (keys::PK, keys::SK),
        };
        let start = page.cursor.as_deref().map(|c| decode_cursor(c, collection)).transpose()?;
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
            .scan_index_forward(!page.newest_first)
            .set_exclusive_start_key(start)
            .consistent_read(collection.index.is_none())
            .send()
            .await
            .map_err(from_sdk)?;
        let items = out.items.unwrap_or_default().into_iter().map(serde_dynamo::from_item).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor: out.last_evaluated_key.as_ref().and_then(encode_cursor) })
    }

    /// Reads every item of a collection.
    pub async fn query_all<T: DeserializeOwned>(&self, collection: &Collection) -> Result<Vec<T>, StoreError> {
        self.query_all_where(collection, None).await
    }

    /// Reads every item of a collection that matches `filter`, in pages that end at DynamoDB's
    /// 1 MB rather than at an item count (bulk readers such as the nightly forecast read thousands).
    pub async fn query_all_where<T: DeserializeOwned>(
        &self,
        collection: &Collection,
        filter: Option<Expr>,
    ) -> Result<Vec<T>, StoreError> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut all = Vec::new();
        loop {
            let next = self.query_page::<T>(collection, &page, filter.clone(), None).await?;
            all.extend(next.items);
            match next.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// Puts whole items with BatchWriteItem, 25 a request and `parallel` requests in flight;
    /// unprocessed or throttled writes are retried with backoff. Unconditional: for bulk writes
    /// that replace items (a forecast run's results, bulk loads). Returns the number written.
    pub async fn put_batch(&self, items: Vec<Item>, parallel: usize) -> Result<usize, StoreError> {
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
        const ATTEMPTS: u32 = 8;
        let total = batch.len();
        let mut pending = batch;
        for attempt in 1..=ATTEMPTS {
            let out = self
                .client
                .batch_write_item()
                .set_request_items(Some(HashMap::from([(self.name().to_string(), pending.clone())])))
                .send()
                .await;
            let unprocessed = match out {
                Ok(out) => out.unprocessed_items.and_then(|mut m| m.remove(self.name())).unwrap_or_default(),
                // Throttled as a whole: the batch is tried again like unprocessed items.
                Err(e) if attempt < ATTEMPTS && is_throttling(&e) => pending,
                Err(e) => return Err(from_sdk(e)),
            };
            if unprocessed.is_empty() {
                return Ok(total);
            }
            pending = unprocessed;
            tokio::time::sleep(std::time::Duration::from_millis(25 * 2u64.pow(attempt.min(6)))).await;
        }
        Err(unavailable(format!("{} items still unprocessed after {ATTEMPTS} attempts", pending.len())))
    }

    /// A transactional put of a record.
    pub fn tx_put<T: Serialize>(
        &self,
        key: &Key,
        index: Option<&IndexKey>,
        record: &T,
        condition: Option<Expr>,
    ) -> Result<TransactWriteItem, StoreError> {
        let (expr, names, values) = split(condition);
        let put = Put::builder()
            .table_name(self.name())
            .set_item(Some(to_item(key, index, record)?))
            .set_condition_expression(expr)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transactional update.
    pub fn tx_update(&self, key: &Key, change: Change) -> Result<TransactWriteItem, StoreError> {
        let (names, values) = change.merged();
        let update = Update::builder()
            .table_name(self.name())
            .set_key(Some(key_item(key)))
            .update_expression(change.update.expression)
            .set_condition_expression(change.condition.map(|c| c.expression))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transactional delete.
    pub fn tx_delete(&self, key: &Key, condition: Option<Expr>) -> Result<TransactWriteItem, StoreError> {
        let (expr, names, values) = split(condition);
        let delete = Delete::builder()
            .table_name(self.name())
            .set_key(Some(key_item(key)))
            .set_condition_expression(expr)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// A condition on an item the transaction does not write.
    pub fn tx_check(&self, key: &Key, condition: Expr) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.name())
            .set_key(Some(key_item(key)))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(condition.names_opt())
            .set_expression_attribute_values(condition.values_opt())
            .build()
            .map_err(unavailable)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Applies every write or none. A failed condition reports the index of its write.
    /// A transaction cancelled only because another one was touching the same items at that
    /// moment is tried again (it changed nothing), a few times with growing pauses.
    pub async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        const ATTEMPTS: u32 = 4;
        let mut attempt = 1;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(writes.clone())).send().await;
            let Err(err) = result else { return Ok(()) };
            let reasons: Vec<Option<String>> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    c.cancellation_reasons().iter().map(|r| r.code().map(str::to_owned)).collect()
                }
                _ => Vec::new(),
            };
            if let Some(index) = reasons.iter().position(|code| code.as_deref() == Some("ConditionalCheckFailed")) {
                return Err(StoreError::TransactionConflict { index });
            }
            let busy = reasons.iter().any(|code| code.as_deref() == Some("TransactionConflict"));
            if !busy || attempt == ATTEMPTS {
                return Err(from_sdk(err));
            }
            tokio::time::sleep(std::time::Duration::from_millis(15 * u64::from(attempt * attempt))).await;
            attempt += 1;
        }
    }
}

fn split(condition: Option<Expr>) -> (Option<String>, Names, Values) {
    match condition {
        Some(c) => {
            let (names, values) = (c.names_opt(), c.values_opt());
            (Some(c.expression), names, values)
        }
        None => (None, None, None),
    }
}
