//! `import-products`: the imports queue's consumer. Reads an uploaded CSV, checks every row and
//! column, and writes each good product with all its variants and their claims in one DynamoDB
//! transaction, so a product with any bad row is not written at all while the others are.
//!
//! Idempotent: a product is matched by its handle (its slug in its locale). A handle the vendor
//! already has is compared with the file: the same product counts as `unchanged` (nothing is
//! written), a different one is reported (`product_differs`); a product made by an earlier
//! delivery of this same import (the product item carries the import id) counts as created. So
//! importing a file again changes nothing, and a retried message duplicates nothing. Progress is
//! saved on the import every [`PROGRESS_EVERY`] products.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use stockyard_domain::bulk::{
    FileJobStatus, ImportCounts, JobFailure, MAX_IMPORT_BYTES, MAX_REPORTED_ERRORS, RowError,
};
use stockyard_domain::catalog::ProductStatus;
use stockyard_domain::ids::{ImportId, ProductId, VariantId, VendorId};
use stockyard_domain::product::{Product, Variant};
use stockyard_store::catalog_files::{self, ImportRecord};
use stockyard_store::products::{self, GTIN_TAKEN, OPTIONS_TAKEN, SKU_TAKEN};
use stockyard_store::{StoreError, Table, categories, vendors};
use tracing::Instrument;

use super::format::{self, Checked, ProductSpec};
use super::{Files, ImportMessage, is_csv};

/// Products between two saves of the import's progress.
pub const PROGRESS_EVERY: usize = 25;
/// Or this long, whichever comes first.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(2);

pub struct ImportJob {
    pub table: Table,
    pub files: Files,
}

impl ImportJob {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, files: Files::from_env(sdk)? })
    }
}

/// The Lambda handler: one import per message, one at a time.
pub async fn handle(
    job: &'static ImportJob,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(stockyard_platform::runner::sqs_batch(event.payload, 1, |m: ImportMessage| run(job, m)).await)
}

/// What became of one product of the file.
enum Outcome {
    Created,
    Unchanged,
    Rejected(Vec<RowError>),
}

/// Runs one import to its end (`done` or `failed`); a message for an import already finished is
/// acknowledged and changes nothing. Fails (to be retried) only when the store or S3 does.
pub async fn run(job: &ImportJob, message: ImportMessage) -> Result<()> {
    let span = tracing::info_span!("import", vendor = %message.vendor_id, import = %message.import_id);
    run_import(job, message).instrument(span).await
}

async fn run_import(job: &ImportJob, message: ImportMessage) -> Result<()> {
    let (vendor_id, import_id) = (message.vendor_id, message.import_id);
    let from = [FileJobStatus::Queued, FileJobStatus::Processing];
    let mut record = match catalog_files::move_import(
        &job.table,
        vendor_id,
        import_id,
        &from,
        FileJobStatus::Processing,
        Utc::now(),
    )
    .await
    {
        Ok(r) => r,
        Err(StoreError::ConditionFailed) => {
            tracing::info!("the import is not waiting to run (finished, expired or never started); nothing to do");
            return Ok(());
        }
        Err(e) => return Err(e).context("starting the import"),
    };
    record.import.counts = ImportCounts::default();
    record.import.errors.clear();
    match process(job, &mut record).await? {
        Ok(()) => record.import.status = FileJobStatus::Done,
        Err(failure) => {
            tracing::warn!(code = %failure.code, message = %failure.message, "the file could not be imported");
            record.import.status = FileJobStatus::Failed;
            record.import.failure = Some(failure);
        }
    }
    let now = Utc::now();
    record.import.updated_at = now;
    record.import.finished_at = Some(now);
    catalog_files::save_import(&job.table, &record).await.context("saving the import's report")?;
    let c = record.import.counts;
    tracing::info!(
        rows = c.rows,
        created = c.created,
        unchanged = c.unchanged,
        rejected = c.rejected,
        "import finished"
    );
    Ok(())
}

fn failure(code: &str, message: impl Into<String>) -> JobFailure {
    JobFailure { code: code.into(), message: message.into(), column: None }
}

/// Reads, checks and writes; `Ok(Err(..))` when the file as a whole cannot be imported.
async fn process(job: &ImportJob, record: &mut ImportRecord) -> Result<Result<(), JobFailure>> {
    let vendor_id = record.import.vendor_id;
    let (bytes, content_type) = match job.files.read(&record.object_key, MAX_IMPORT_BYTES).await? {
        None => return Ok(Err(failure("upload_missing", "no file was uploaded for this import"))),
        Some(Err(size)) => {
            return Ok(Err(failure(
                "file_too_large",
                format!("the file has {size} bytes; an import takes at most {MAX_IMPORT_BYTES}"),
            )));
        }
        Some(Ok(file)) => file,
    };
    if !is_csv(content_type.as_deref()) {
        return Ok(Err(failure(
            "unsupported_file_type",
            format!("the file was uploaded as {}; upload it as text/csv", content_type.as_deref().unwrap_or("no type")),
        )));
    }
    let Some(vendor) = vendors::get(&job.table, vendor_id).await.context("reading the vendor")? else {
        return Ok(Err(failure("vendor_missing", "the vendor no longer exists")));
    };
    let tree = categories::tree(&job.table).await.context("reading the category tree")?.tree;
    let cx = format::Context { tree: &tree, default_locale: &vendor.default_locale };
    let (checked, loose, rows) = match format::read(&bytes, &cx) {
        Ok(read) => read,
        Err(f) => return Ok(Err(f)),
    };
    let mut errors: Vec<RowError> = loose;
    let counts = &mut record.import.counts;
    counts.rows = rows;
    counts.products = checked.len() as u64;
    catalog_files::save_import(&job.table, record).await.context("saving the import's progress")?;

    let mut last_save = Instant::now();
    for (i, product) in checked.iter().enumerate() {
        match write_one(&job.table, vendor_id, record.import.id, product).await? {
            Outcome::Created => record.import.counts.created += 1,
            Outcome::Unchanged => record.import.counts.unchanged += 1,
            Outcome::Rejected(mut e) => {
                record.import.counts.rejected += 1;
                errors.append(&mut e);
            }
        }
        record.import.counts.products_processed = i as u64 + 1;
        if (i + 1) % PROGRESS_EVERY == 0 || last_save.elapsed() >= PROGRESS_INTERVAL {
            record.import.updated_at = Utc::now();
            catalog_files::save_import(&job.table, record).await.context("saving the import's progress")?;
            tracing::info!(processed = i + 1, of = checked.len(), "progress");
            last_save = Instant::now();
        }
    }
    errors.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
    record.import.counts.rows_with_errors = errors.iter().map(|e| e.row).collect::<BTreeSet<_>>().len() as u64;
    record.import.errors_truncated = errors.len() > MAX_REPORTED_ERRORS;
    errors.truncate(MAX_REPORTED_ERRORS);
    record.import.errors = errors;
    Ok(Ok(()))
}

fn rejected(row: u64, column: &str, handle: &str, code: &str, message: impl Into<String>) -> Outcome {
    Outcome::Rejected(vec![RowError {
        row,
        column: column.into(),
        handle: Some(handle.into()),
        code: code.into(),
        message: message.into(),
    }])
}

/// Writes one checked product, or finds it already there.
async fn write_one(table: &Table, vendor: VendorId, import: ImportId, checked: &Checked) -> Result<Outcome> {
    let spec = match &checked.outcome {
        Ok(spec) => spec,
        Err(errors) => return Ok(Outcome::Rejected(errors.clone())),
    };
    // Twice at most: a product made by someone else between our look and our write is looked at again.
    for _ in 0..2 {
        if let Some(existing) = products::by_slug(table, vendor, &spec.locale, &spec.handle).await? {
            return compare(table, import, spec, existing).await;
        }
        let (product, variants) = build(vendor, spec);
        match table.commit(products::import(table, &product, &variants, import)?).await {
            Ok(()) => return Ok(Outcome::Created),
            Err(e) if e.failed_at(products::SLUG_TAKEN) => continue,
            Err(e @ StoreError::Conflict { .. }) => return claims_taken(table, vendor, spec, &e).await,
            Err(e) => return Err(e).context("writing a product"),
        }
    }
    anyhow::bail!("the handle {} kept changing hands", spec.handle)
}

async fn compare(table: &Table, import: ImportId, spec: &ProductSpec, existing: ProductId) -> Result<Outcome> {
    let Some(aggregate) = products::aggregate(table, existing).await? else {
        anyhow::bail!("the product holding handle {} vanished", spec.handle);
    };
    if aggregate.record.import_id == Some(import) {
        // Written by an earlier delivery of this import.
        return Ok(Outcome::Created);
    }
    Ok(match format::difference(spec, &aggregate.record.product, &aggregate.variants) {
        None => Outcome::Unchanged,
        Some((row, column, what)) => rejected(
            row,
            &column,
            spec.handle.as_str(),
            "product_differs",
            format!(
                "{what}; an import creates products and leaves existing ones as they are (change them through the API)"
            ),
        ),
    })
}

/// Explains a cancelled product transaction: every SKU and GTIN of the product another product
/// holds, or the step that failed.
async fn claims_taken(table: &Table, vendor: VendorId, spec: &ProductSpec, error: &StoreError) -> Result<Outcome> {
    let handle = spec.handle.as_str();
    let mut errors = Vec::new();
    for v in &spec.variants {
        if products::sku_owner(table, vendor, &v.sku).await?.is_some() {
            errors.push(RowError {
                row: v.row,
                column: "sku".into(),
                handle: Some(handle.into()),
                code: "sku_taken".into(),
                message: "another of this vendor's products has this SKU".into(),
            });
        }
        if let Some(gtin) = &v.gtin
            && products::gtin_owner(table, vendor, gtin).await?.is_some()
        {
            errors.push(RowError {
                row: v.row,
                column: "gtin".into(),
                handle: Some(handle.into()),
                code: "gtin_taken".into(),
                message: "another of this vendor's products has this GTIN".into(),
            });
        }
    }
    if !errors.is_empty() {
        return Ok(Outcome::Rejected(errors));
    }
    // Nobody holds them now: say which step failed.
    Ok(match products::import_step(error) {
        Some((kind, i)) if kind == SKU_TAKEN || kind == GTIN_TAKEN || kind == OPTIONS_TAKEN => {
            let row = spec.variants.get(i).map_or(spec.first_row, |v| v.row);
            rejected(
                row,
                kind,
                handle,
                "changed_meanwhile",
                "was taken while the product was written; import the file again",
            )
        }
        _ => rejected(
            spec.first_row,
            "handle",
            handle,
            "changed_meanwhile",
            "the product changed while it was written; import the file again",
        ),
    })
}

/// The product and variants a checked product becomes (a draft; ids made now, in row order).
pub fn build(vendor: VendorId, spec: &ProductSpec) -> (Product, Vec<Variant>) {
    let now = Utc::now();
    let product = Product {
        id: ProductId::generate(),
        vendor_id: vendor,
        category_id: spec.category_id,
        status: ProductStatus::Draft,
        locale: spec.locale.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        slug: spec.handle.clone(),
        brand: spec.brand.clone(),
        tags: spec.tags.clone(),
        attributes: spec.attributes.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    let variants = spec
        .variants
        .iter()
        .map(|v| Variant {
            id: VariantId::generate(),
            product_id: product.id,
            vendor_id: vendor,
            sku: v.sku.clone(),
            options: v.options.clone(),
            gtin: v.gtin.clone(),
            weight_g: v.weight_g,
            dimensions: v.dimensions,
            tax_class: v.tax_class,
            shelf_life_days: v.shelf_life_days,
            max_per_customer: None,
            prices: v.prices.clone(),
            created_at: now,
            updated_at: now,
        })
        .collect();
    (product, variants)
}
