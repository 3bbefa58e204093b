//! Bulk files of a vendor's catalog: CSV imports (uploaded by the vendor, checked and written by a
//! job) and CSV exports (written by a job, downloaded by the vendor). What the API shows of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ExportId, ImportId, UserId, VendorId};

/// The largest file an import takes (bytes).
pub const MAX_IMPORT_BYTES: u64 = 10 * 1024 * 1024;
/// The most problems one import's report lists (the counts cover every one).
pub const MAX_REPORTED_ERRORS: usize = 500;
/// The content type of every import and export file.
pub const CSV_CONTENT_TYPE: &str = "text/csv";

/// Where a bulk job is.
///
/// An import is `uploading` until the vendor starts it, then `queued`, `processing` (with
/// progress) and `done` (with its report) or `failed` (the file as a whole could not be read:
/// too large, not CSV, a bad header). An export starts `queued`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileJobStatus {
    Uploading,
    Queued,
    Processing,
    Done,
    Failed,
}

impl FileJobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileJobStatus::Uploading => "uploading",
            FileJobStatus::Queued => "queued",
            FileJobStatus::Processing => "processing",
            FileJobStatus::Done => "done",
            FileJobStatus::Failed => "failed",
        }
    }
}

/// One problem of an import file: the row (the header is row 1, the first product row is row 2,
/// as a spreadsheet numbers them), the column (as named in the header) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub row: u64,
    /// The column at fault, as the header names it (`sku`, `prices.EUR`, `options.size`).
    pub column: String,
    /// The product handle of the row, when the row has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// `invalid_field`, `duplicate`, `sku_taken`, `gtin_taken`, `product_differs`, `too_many_variants`.
    pub code: String,
    pub message: String,
}

/// Why a whole file could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobFailure {
    /// `upload_missing`, `file_too_large`, `unsupported_file_type`, `invalid_csv`, `invalid_header`,
    /// `vendor_missing`.
    pub code: String,
    pub message: String,
    /// The header column at fault, for `invalid_header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

/// How far an import got and what came of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportCounts {
    /// Data rows in the file (the header not counted); 0 until the file was read.
    pub rows: u64,
    /// Products (distinct handles) in the file.
    pub products: u64,
    /// Products looked at so far.
    pub products_processed: u64,
    /// Products written by this import.
    pub created: u64,
    /// Products that already exist exactly as the file describes them (nothing written).
    pub unchanged: u64,
    /// Products not written because of a problem in at least one of their rows.
    pub rejected: u64,
    /// Rows with at least one problem.
    pub rows_with_errors: u64,
}

/// A CSV import of products into a vendor's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogImport {
    pub id: ImportId,
    pub vendor_id: VendorId,
    pub status: FileJobStatus,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub counts: ImportCounts,
    /// Every problem found, row by row (at most [`MAX_REPORTED_ERRORS`]; `errors_truncated` says
    /// when there were more).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RowError>,
    #[serde(default)]
    pub errors_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<JobFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A CSV export of a vendor's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogExport {
    pub id: ExportId,
    pub vendor_id: VendorId,
    pub status: FileJobStatus,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Products and rows (one per variant) written, once done.
    #[serde(default)]
    pub products: u64,
    #[serde(default)]
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<JobFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}
