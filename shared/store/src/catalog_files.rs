//! Bulk files of a vendor's catalog: the import and export jobs, each one item in the vendor's
//! partition (`IMPORT#<id>`, `EXPORT#<id>`), expiring with the files they describe. Status moves
//! are conditional on the status they leave, so a redelivered job message or a second start cannot
//! run a finished job again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::bulk::{CatalogExport, CatalogImport, FileJobStatus};
use stockyard_domain::ids::{ExportId, ImportId, VendorId};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::{StoreError, Table, keys};

/// How long an import or export (item and file) is kept.
pub const KEEP_DAYS: i64 = 7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    #[serde(flatten)]
    pub import: CatalogImport,
    /// Where the uploaded file is in the catalog files bucket.
    pub object_key: String,
    /// Epoch seconds (TTL).
    pub expires_at: i64,
}

impl Entity for ImportRecord {
    type Id = (VendorId, ImportId);
    const NAME: &'static str = "catalog import";
    fn key((vendor, id): &(VendorId, ImportId)) -> keys::Key {
        keys::catalog_import(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::catalog_import(self.import.vendor_id, self.import.id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    #[serde(flatten)]
    pub export: CatalogExport,
    /// Where the file is (or will be) in the catalog files bucket.
    pub object_key: String,
    /// Epoch seconds (TTL).
    pub expires_at: i64,
}

impl Entity for ExportRecord {
    type Id = (VendorId, ExportId);
    const NAME: &'static str = "catalog export";
    fn key((vendor, id): &(VendorId, ExportId)) -> keys::Key {
        keys::catalog_export(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::catalog_export(self.export.vendor_id, self.export.id)
    }
}

/// The expiry of a job made at `at`.
pub fn expiry(at: DateTime<Utc>) -> i64 {
    crate::epoch_seconds(at + chrono::Duration::days(KEEP_DAYS))
}

fn status_in(statuses: &[FileJobStatus]) -> Expr {
    let placeholders: Vec<String> = (0..statuses.len()).map(|i| format!(":s{i}")).collect();
    let mut expr = Expr::new(format!("#status IN ({})", placeholders.join(", "))).name("#status", "status");
    for (i, status) in statuses.iter().enumerate() {
        expr = expr.val(&format!(":s{i}"), status);
    }
    expr
}

pub async fn create_import(table: &Table, record: &ImportRecord) -> Result<(), StoreError> {
    table.put(record, Some(Expr::not_exists())).await
}

pub async fn get_import(table: &Table, vendor: VendorId, id: ImportId) -> Result<Option<ImportRecord>, StoreError> {
    table.get::<ImportRecord>(&(vendor, id)).await
}

/// Moves an import to `next` if it is in one of `from` (`ConditionFailed` otherwise, also when it
/// does not exist), and returns it as it is afterwards.
pub async fn move_import(
    table: &Table,
    vendor: VendorId,
    id: ImportId,
    from: &[FileJobStatus],
    next: FileJobStatus,
    at: DateTime<Utc>,
) -> Result<ImportRecord, StoreError> {
    let update = Expr::default()
        .name("#status", "status")
        .val(":next", &next)
        .val(":at", &at)
        .set_remove(&["#status = :next", "updated_at = :at"], &[]);
    let condition = status_in(from);
    table.update::<ImportRecord>(&(vendor, id), Change::new(update).when(condition)).await
}

/// Writes the import as the job sees it now (progress, report, final status), if it is still
/// being processed (`ConditionFailed` otherwise).
pub async fn save_import(table: &Table, record: &ImportRecord) -> Result<(), StoreError> {
    table.put(record, Some(status_in(&[FileJobStatus::Processing]))).await
}

pub async fn create_export(table: &Table, record: &ExportRecord) -> Result<(), StoreError> {
    table.put(record, Some(Expr::not_exists())).await
}

pub async fn get_export(table: &Table, vendor: VendorId, id: ExportId) -> Result<Option<ExportRecord>, StoreError> {
    table.get::<ExportRecord>(&(vendor, id)).await
}

/// Moves an export to `next` if it is in one of `from` (`ConditionFailed` otherwise).
pub async fn move_export(
    table: &Table,
    vendor: VendorId,
    id: ExportId,
    from: &[FileJobStatus],
    next: FileJobStatus,
    at: DateTime<Utc>,
) -> Result<ExportRecord, StoreError> {
    let update = Expr::default()
        .name("#status", "status")
        .val(":next", &next)
        .val(":at", &at)
        .set_remove(&["#status = :next", "updated_at = :at"], &[]);
    table.update::<ExportRecord>(&(vendor, id), Change::new(update).when(status_in(from))).await
}

/// Writes the export's outcome if it is still being processed.
pub async fn save_export(table: &Table, record: &ExportRecord) -> Result<(), StoreError> {
    table.put(record, Some(status_in(&[FileJobStatus::Processing]))).await
}
