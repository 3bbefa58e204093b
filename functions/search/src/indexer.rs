//! `index-products`: applies a batch of catalog events to the index and publishes the new version.
//!
//! An event only names what changed; the indexer reads the product, its vendor and the category
//! tree as they are now, so a repeated, late or reordered event can only make the index more
//! current. A batch is applied whole or not at all: if anything fails (a read, an upload, or
//! another writer publishing first) the function fails and SQS delivers the batch again.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use stockyard_domain::category::Tree;
use stockyard_domain::exchange::ExchangeRates;
use stockyard_domain::ids::{ProductId, VendorId};
use stockyard_domain::vendor::Vendor;
use stockyard_store::events::{CatalogEvent, CatalogMessage};
use stockyard_store::objects::Bucket;
use stockyard_store::{PageRequest, Table, categories, exchange_rates, products, vendors};
use tantivy::IndexWriter;
use tokio::sync::Mutex;

use crate::document::ProductDoc;
use crate::engine::{self, WRITER_MEMORY};
use crate::snapshot::{IndexStore, Loaded, lost_race};

/// What one batch asks for.
#[derive(Debug, Default, PartialEq)]
pub struct Work {
    pub products: BTreeSet<ProductId>,
    pub vendors: BTreeSet<VendorId>,
    /// The rates changed: every document is priced again.
    pub reprice_all: bool,
}

impl Work {
    pub fn add(&mut self, event: &CatalogEvent) {
        match event {
            CatalogEvent::VendorChanged { vendor_id } => {
                self.vendors.insert(*vendor_id);
            }
            CatalogEvent::ExchangeRatesChanged => self.reprice_all = true,
            other => {
                if let Some(id) = other.product_id() {
                    self.products.insert(id);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty() && self.vendors.is_empty() && !self.reprice_all
    }
}

/// What the indexer did, for its log and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub indexed: usize,
    pub removed: usize,
    pub generation: u64,
    pub documents: u64,
}

pub struct Indexer {
    pub store: IndexStore,
    pub table: Table,
    /// The index as last published by this writer (kept between invocations of a warm function).
    state: Mutex<Option<Loaded>>,
}

impl Indexer {
    pub fn new(store: IndexStore, table: Table) -> Self {
        Self { store, table, state: Mutex::new(None) }
    }

    /// Parses the queue messages of a batch into work (an unreadable message is an error: it is
    /// not a catalog event and retrying cannot help, so it goes to the dead-letter queue).
    pub fn work_of<'a>(bodies: impl IntoIterator<Item = &'a str>) -> Result<Work> {
        let mut work = Work::default();
        for body in bodies {
            let message: CatalogMessage = serde_json::from_str(body).context("a catalog event")?;
            work.add(&message.event);
        }
        Ok(work)
    }

    /// Applies `work` to the current version and publishes the next. On a lost race the index is
    /// reloaded and the work applied again, a few times, before giving up.
    pub async fn apply(&self, work: &Work) -> Result<Applied> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(work).await {
                Err(e) if lost_race(&e) && attempt < 4 => {
                    tracing::warn!(attempt, "another writer published first; applying the batch again on its version");
                }
                other => return other,
            }
        }
    }

    async fn apply_once(&self, work: &Work) -> Result<Applied> {
        let mut state = self.state.lock().await;
        let current = self.store.current().await?;
        let held = state.take();
        let mut loaded = match (&current, held) {
            (Some(v), Some(held)) if held.generation == Some(v.generation) => held,
            (Some(v), held) => self.store.load(v, held).await?,
            (None, _) => Loaded::empty(),
        };
        let result = self.apply_to(&mut loaded, work).await;
        if result.is_ok() {
            *state = Some(loaded);
        }
        result
    }

    async fn apply_to(&self, loaded: &mut Loaded, work: &Work) -> Result<Applied> {
        let fields = engine::fields();
        let mut products: BTreeSet<ProductId> = work.products.clone();
        for vendor in &work.vendors {
            products.extend(self.vendor_products(*vendor).await?);
        }
        let tree = categories::tree(&self.table).await?.tree;
        let rates = exchange_rates::current(&self.table).await?;
        let mut vendor_cache: HashMap<VendorId, Option<Vendor>> = HashMap::new();
        let mut docs: Vec<(ProductId, Option<ProductDoc>)> = Vec::with_capacity(products.len());
        for id in &products {
            docs.push((*id, self.document(*id, &tree, &mut vendor_cache).await?));
        }
        let repriced = if work.reprice_all {
            engine::all_documents(&loaded.index, fields)?
                .into_iter()
                .filter(|d| !products.contains(&d.product_id))
                .collect()
        } else {
            Vec::new()
        };
        let index = loaded.index.clone();
        let rates_for_writer: Option<ExchangeRates> = rates.clone();
        let (applied, documents) = tokio::task::spawn_blocking(move || -> Result<(Applied, u64)> {
            let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
            let mut applied = Applied::default();
            for (id, doc) in &docs {
                engine::upsert(&writer, fields, *id, doc.as_ref(), rates_for_writer.as_ref())?;
                if doc.is_some() { applied.indexed += 1 } else { applied.removed += 1 }
            }
            for doc in &repriced {
                engine::upsert(&writer, fields, doc.product_id, Some(doc), rates_for_writer.as_ref())?;
                applied.indexed += 1;
            }
            writer.commit()?;
            writer.wait_merging_threads()?;
            let reader = index.reader()?;
            let documents = reader.searcher().num_docs();
            Ok((applied, documents))
        })
        .await??;
        let version = self.store.publish(loaded, documents).await?;
        Ok(Applied { generation: version.generation, documents, ..applied })
    }

    async fn vendor_products(&self, vendor: VendorId) -> Result<Vec<ProductId>> {
        let mut ids = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let found = products::list_for_vendor(&self.table, vendor, None, &page).await?;
            ids.extend(found.items.iter().map(|p| p.id));
            match found.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(ids),
            }
        }
    }

    /// The document for a product as it is now (`None`: shoppers must not find it).
    async fn document(
        &self,
        id: ProductId,
        tree: &Tree,
        vendors_read: &mut HashMap<VendorId, Option<Vendor>>,
    ) -> Result<Option<ProductDoc>> {
        let Some(aggregate) = products::aggregate(&self.table, id).await? else { return Ok(None) };
        let product = &aggregate.record.product;
        let vendor = match vendors_read.get(&product.vendor_id) {
            Some(v) => v.clone(),
            None => {
                let v = vendors::get(&self.table, product.vendor_id).await?;
                vendors_read.insert(product.vendor_id, v.clone());
                v
            }
        };
        Ok(vendor.and_then(|vendor| {
            ProductDoc::build(product, &aggregate.variants, &aggregate.translations, &aggregate.images, &vendor, tree)
        }))
    }
}

impl Indexer {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self> {
        let table = Table::from_env(sdk)?;
        let store = IndexStore {
            bucket: Bucket::from_env(sdk, "SEARCH_BUCKET")?,
            table: table.clone(),
            name: "products".into(),
        };
        Ok(Self::new(store, table))
    }
}

fn failure(id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id.to_string();
    f
}

/// The SQS handler: an unreadable message is reported alone (it reaches the dead-letter queue);
/// the others are applied together, and all reported when that fails, so SQS delivers them again.
pub async fn handle(
    indexer: &Indexer,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut response = SqsBatchResponse::default();
    let mut work = Work::default();
    let mut readable = Vec::new();
    for record in &event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        match serde_json::from_str::<CatalogMessage>(record.body.as_deref().unwrap_or_default()) {
            Ok(message) => {
                work.add(&message.event);
                readable.push(id);
            }
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "not a catalog event; it goes to the dead-letter queue");
                response.batch_item_failures.push(failure(&id));
            }
        }
    }
    if work.is_empty() {
        return Ok(response);
    }
    let started = std::time::Instant::now();
    match indexer.apply(&work).await {
        Ok(applied) => tracing::info!(
            indexed = applied.indexed,
            removed = applied.removed,
            generation = applied.generation,
            documents = applied.documents,
            ms = started.elapsed().as_millis() as u64,
            "index version published"
        ),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "batch not indexed; it will be delivered again");
            response.batch_item_failures.extend(readable.iter().map(|id| failure(id)));
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_becomes_the_products_vendors_and_repricing_it_names_once_each() {
        let (p, v) = (ProductId::generate(), VendorId::generate());
        let bodies = [
            format!(
                r#"{{"event_id":"1","occurred_at":"2026-11-30T00:00:00Z","type":"product.published","product_id":"{p}","vendor_id":"{v}"}}"#
            ),
            format!(
                r#"{{"event_id":"2","occurred_at":"2026-11-30T00:00:00Z","type":"product.changed","product_id":"{p}"}}"#
            ),
            format!(
                r#"{{"event_id":"3","occurred_at":"2026-11-30T00:00:00Z","type":"vendor.changed","vendor_id":"{v}"}}"#
            ),
            r#"{"event_id":"4","occurred_at":"2026-11-30T00:00:00Z","type":"exchange_rates.changed"}"#.to_string(),
        ];
        let work = Indexer::work_of(bodies.iter().map(String::as_str)).unwrap();
        assert_eq!(work.products.into_iter().collect::<Vec<_>>(), [p]);
        assert_eq!(work.vendors.into_iter().collect::<Vec<_>>(), [v]);
        assert!(work.reprice_all);
        assert!(Indexer::work_of(["{\"type\":\"nonsense\"}"]).is_err(), "not a catalog event");
    }
}
