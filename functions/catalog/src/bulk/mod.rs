//! Bulk CSV of a vendor's catalog: the file format ([`format`]), the files bucket and job queues
//! ([`Files`]), and the two queue-triggered jobs ([`import`], [`export`]).

pub mod export;
pub mod format;
pub mod import;

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::bulk::CSV_CONTENT_TYPE;
use stockyard_domain::ids::{ExportId, ImportId, VendorId};
use stockyard_messaging::Publisher;

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

/// A presigned request: the URL, its method, the headers the client must send, and when it stops working.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Presigned {
    pub url: String,
    pub method: String,
    /// Headers the request must carry exactly as given (they are part of the signature).
    #[schema(value_type = Object)]
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What an uploaded file is, as S3 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub size: u64,
    pub content_type: Option<String>,
}

/// Whether a stored content type is CSV (`text/csv`, parameters such as a charset allowed).
pub fn is_csv(content_type: Option<&str>) -> bool {
    content_type.and_then(|t| t.split(';').next()).is_some_and(|t| t.trim().eq_ignore_ascii_case(CSV_CONTENT_TYPE))
}

/// The catalog files bucket and, for the functions that enqueue jobs, their queues.
#[derive(Clone, Debug)]
pub struct Files {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
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
            s3: stockyard_platform::s3_client(sdk),
            bucket: stockyard_platform::env("CATALOG_FILES_BUCKET")?,
            imports: queue("CATALOG_IMPORTS_QUEUE_URL"),
            exports: queue("CATALOG_EXPORTS_QUEUE_URL"),
        })
    }

    /// A URL the client PUTs the CSV to (`Content-Type: text/csv`, signed).
    pub async fn presign_upload(&self, key: &str) -> Result<Presigned> {
        let config = PresigningConfig::expires_in(URL_LIFETIME)?;
        let request = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CSV_CONTENT_TYPE)
            .presigned(config)
            .await
            .context("presigning the upload")?;
        Ok(presigned(&request))
    }

    /// A URL the client GETs the file from.
    pub async fn presign_download(&self, key: &str) -> Result<Presigned> {
        let config = PresigningConfig::expires_in(URL_LIFETIME)?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(CSV_CONTENT_TYPE)
            .presigned(config)
            .await
            .context("presigning the download")?;
        Ok(presigned(&request))
    }

    /// The uploaded object's size and type, or `None` when nothing was uploaded.
    pub async fn uploaded(&self, key: &str) -> Result<Option<Uploaded>> {
        match self.s3.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(Uploaded {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                content_type: head.content_type().map(str::to_string),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error(e).context("reading the upload's size")),
        }
    }

    /// The file's bytes, if it exists and is at most `limit` bytes (`Err` on larger; checked
    /// against what arrives, not only against what S3 says).
    pub async fn read(&self, key: &str, limit: u64) -> Result<Option<Result<(Vec<u8>, Option<String>), u64>>> {
        let object = match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(s3_error(e).context("reading the upload"));
            }
        };
        let declared = object.content_length().unwrap_or(0).max(0) as u64;
        if declared > limit {
            return Ok(Some(Err(declared)));
        }
        let content_type = object.content_type().map(str::to_string);
        let mut body = object.body;
        let mut bytes = Vec::with_capacity(declared as usize);
        while let Some(chunk) = body.try_next().await.context("reading the upload")? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Ok(Some(Err(bytes.len() as u64)));
            }
        }
        Ok(Some(Ok((bytes, content_type))))
    }

    /// Writes a CSV file.
    pub async fn write_csv(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(CSV_CONTENT_TYPE)
            .body(bytes.into())
            .send()
            .await
            .map_err(s3_error)
            .context("writing the export")?;
        Ok(())
    }
}

/// An S3 error with its whole context (service code and message), for the log.
fn s3_error(e: impl std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e))
}

/// What a client needs to make a presigned request.
pub fn presigned(request: &aws_sdk_s3::presigning::PresignedRequest) -> Presigned {
    Presigned {
        url: request.uri().to_string(),
        method: request.method().to_string(),
        // Only what the signature covers (the SDK may add a trace header of the function's own).
        headers: request
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .filter(|(k, _)| k != "x-amzn-trace-id")
            .collect(),
        expires_at: Utc::now() + chrono::Duration::from_std(URL_LIFETIME).unwrap_or_default(),
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
