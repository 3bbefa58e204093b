//! `export-products`: the exports queue's consumer. Writes the vendor's whole catalog as CSV (the
//! import's columns, so the file imports back unchanged) to the catalog files bucket; the vendor
//! downloads it through a presigned URL. A redelivered message writes the same file again.

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt};
use lambda_runtime::LambdaEvent;
use stockyard_domain::bulk::{FileJobStatus, JobFailure};
use stockyard_domain::ids::{ProductId, VendorId};
use stockyard_store::catalog_files;
use stockyard_store::products::{self, ProductAggregate};
use stockyard_store::{PageRequest, StoreError, Table};
use tracing::Instrument;

use super::format::Writer;
use super::{ExportMessage, Files};

/// Products read at once.
const READ_CONCURRENCY: usize = 8;

pub struct ExportJob {
    pub table: Table,
    pub files: Files,
}

impl ExportJob {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, files: Files::from_env(sdk)? })
    }
}

pub async fn handle(
    job: &'static ExportJob,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(stockyard_platform::runner::sqs_batch(event.payload, 1, |m: ExportMessage| run(job, m)).await)
}

pub async fn run(job: &ExportJob, message: ExportMessage) -> Result<()> {
    let span = tracing::info_span!("export", vendor = %message.vendor_id, export = %message.export_id);
    run_export(job, message).instrument(span).await
}

async fn run_export(job: &ExportJob, message: ExportMessage) -> Result<()> {
    let (vendor, id) = (message.vendor_id, message.export_id);
    let from = [FileJobStatus::Queued, FileJobStatus::Processing];
    let mut record =
        match catalog_files::move_export(&job.table, vendor, id, &from, FileJobStatus::Processing, Utc::now()).await {
            Ok(r) => r,
            Err(StoreError::ConditionFailed) => {
                tracing::info!("the export is not waiting to run (finished or expired); nothing to do");
                return Ok(());
            }
            Err(e) => return Err(e).context("starting the export"),
        };
    let catalog = catalog(&job.table, vendor).await?;
    let mut writer = Writer::new(catalog.iter().map(|a| (&a.record.product, a.variants.as_slice())))?;
    for a in &catalog {
        writer.product(&a.record.product, &a.variants)?;
    }
    let rows = writer.rows;
    let bytes = writer.finish()?;
    let now = Utc::now();
    match job.files.write_csv(&record.object_key, bytes).await {
        Ok(()) => {
            record.export.status = FileJobStatus::Done;
            record.export.products = catalog.len() as u64;
            record.export.rows = rows;
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "could not write the export");
            record.export.status = FileJobStatus::Failed;
            record.export.failure = Some(JobFailure {
                code: "write_failed".into(),
                message: "the file could not be written".into(),
                column: None,
            });
        }
    }
    record.export.updated_at = now;
    record.export.finished_at = Some(now);
    catalog_files::save_export(&job.table, &record).await.context("saving the export")?;
    tracing::info!(products = record.export.products, rows, "export finished");
    Ok(())
}

/// Every product of the vendor, oldest first, with its variants.
async fn catalog(table: &Table, vendor: VendorId) -> Result<Vec<ProductAggregate>> {
    let mut ids: Vec<ProductId> = Vec::new();
    let mut page = PageRequest { limit: PageRequest::MAX_LIMIT, cursor: None, newest_first: false };
    loop {
        let found = products::list_for_vendor(table, vendor, None, &page).await.context("listing the products")?;
        ids.extend(found.items.iter().map(|p| p.id));
        match found.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    let aggregates: Vec<Option<ProductAggregate>> = futures_util::stream::iter(ids)
        .map(|id| products::aggregate(table, id))
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
        .context("reading the products")?;
    Ok(aggregates.into_iter().flatten().collect())
}
