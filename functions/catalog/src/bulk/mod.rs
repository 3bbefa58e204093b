//! Bulk CSV of a vendor's catalog: the file format ([`format`]), the files bucket and job queues
//! ([`Files`]), and the two queue-triggered jobs ([`import`], [`export`]).

pub mod export;
pub mod format;
pub mod import;

use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use stockyard_domain::bulk::CSV_CONTENT_TYPE;
use stockyard_domain::ids::{ExportId, ImportId, VendorId};
use stockyard_messaging::Publisher;
use stockyard_store::objects::Bucket;

/// How long a presigned upload or download URL works.
pub const URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The message on the imports queue: which import to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMessage {
    pub vendor_id: VendorId,
    pub import_id: ImportId,
}

/// The message on the exports queue: which export to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportMessage {
    pub vendor_id: VendorId,
    pub export_id: ExportId,
}

/// Where an import's upload goes in the bucket.
pub fn import_key(vendor: VendorId, id: ImportId) -> String {
    format!("imports/{vendor}/{id}.csv")
}

/// Where an export's file goes in the bucket.
pub fn export_key(vendor: VendorId, id: ExportId) -> String {
    format!("exports/{vendor}/{id}.csv")
}

pub use stockyard_store::objects::{ObjectInfo as Uploaded, Presigned};

/// Whether a stored content type is CSV (`text/csv`, parameters such as a charset allowed).
pub fn is_csv(content_type: Option<&str>) -> bool {
    content_type.and_then(|t| t.split(';').next()).is_some_and(|t| t.trim().eq_ignore_ascii_case(CSV_CONTENT_TYPE))
}

/// The catalog files bucket and, for the functions that enqueue jobs, their queues.
#[derive(Clone, Debug)]
pub struct Files {
    pub bucket: Bucket,
    pub imports: Option<Publisher>,
    pub exports: Option<Publisher>,
}

impl Files {
    /// From `CATALOG_FILES_BUCKET` and, where the function is given them,
    /// `CATALOG_IMPORTS_QUEUE_URL` and `CATALOG_EXPORTS_QUEUE_URL`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self> {
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue = |name: &str| stockyard_platform::env_opt(name).map(|url| Publisher::new(sqs.clone(), url));
        Ok(Self {
            bucket: Bucket::from_env(sdk, "CATALOG_FILES_BUCKET")?,
            imports: queue("CATALOG_IMPORTS_QUEUE_URL"),
            exports: queue("CATALOG_EXPORTS_QUEUE_URL"),
        })
    }

    /// A URL the client PUTs the CSV to (`Content-Type: text/csv`, signed).
    pub async fn presign_upload(&self, key: &str) -> Result<Presigned> {
        Ok(self.bucket.presign_put(key, CSV_CONTENT_TYPE, URL_LIFETIME).await?)
    }

    /// A URL the client GETs the file from.
    pub async fn presign_download(&self, key: &str) -> Result<Presigned> {
        Ok(self.bucket.presign_get(key, Some(CSV_CONTENT_TYPE), URL_LIFETIME).await?)
    }

    /// The uploaded object's size and type, or `None` when nothing was uploaded.
    pub async fn uploaded(&self, key: &str) -> Result<Option<Uploaded>> {
        Ok(self.bucket.head(key).await?)
    }

    /// The file's bytes, if it exists and is at most `limit` bytes (`Err` on larger; checked
    /// against what arrives, not only against what S3 says).
    pub async fn read(&self, key: &str, limit: u64) -> Result<Option<Result<(Vec<u8>, Option<String>), u64>>> {
        Ok(self.bucket.read_limited(key, limit).await?)
    }

    /// Writes a CSV file.
    pub async fn write_csv(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.bucket.write(key, bytes, CSV_CONTENT_TYPE, None).await.context("writing the export")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_csv_counts_as_csv_whatever_its_parameters() {
        assert!(is_csv(Some("text/csv")));
        assert!(is_csv(Some("text/csv; charset=utf-8")));
        assert!(is_csv(Some("TEXT/CSV")));
        assert!(!is_csv(Some("application/octet-stream")));
        assert!(!is_csv(Some("text/csvx")));
        assert!(!is_csv(None));
    }
}
