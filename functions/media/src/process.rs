//! `process-image`: reads an upload the media bucket announced, checks it is a JPEG, PNG or WebP
//! of sane size by its bytes (whatever type the upload claimed), writes renditions made from the
//! pixels alone (no camera or GPS metadata survives), records the image as ready or rejected with
//! the reason, and deletes the upload.
//!
//! Idempotent: an image already decided is left alone, so a repeated notification does nothing;
//! a crash between writing renditions and recording them is redone whole on redelivery.

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::Utc;
use lambda_runtime::LambdaEvent;
use serde::Deserialize;
use stockyard_domain::image::{ImageStatus, MAX_UPLOAD_BYTES, ProductImage, Rejection, Rendition};
use stockyard_media::{ImageRejected, Limits};
use stockyard_store::objects::Bucket;
use stockyard_store::{StoreError, Table, products};

pub struct ProcessDeps {
    pub table: Table,
    pub media: Bucket,
}

impl ProcessDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self> {
        Ok(Self { table: Table::from_env(sdk)?, media: Bucket::from_env(sdk, "MEDIA_BUCKET")? })
    }
}

/// An S3 event notification as the queue carries it (S3's test event has no records).
#[derive(Debug, Deserialize)]
pub struct Notification {
    #[serde(rename = "Records", default)]
    pub records: Vec<NotificationRecord>,
}

#[derive(Debug, Deserialize)]
pub struct NotificationRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub s3: S3Entity,
}

#[derive(Debug, Deserialize)]
pub struct S3Entity {
    pub object: S3Object,
}

#[derive(Debug, Deserialize)]
pub struct S3Object {
    /// URL-encoded, as S3 writes it (`+` for a space).
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
}

/// The object key a notification names, decoded.
pub fn decoded_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

fn rejection(e: &ImageRejected) -> Rejection {
    Rejection { code: e.code().to_string(), message: e.to_string() }
}

/// What to do with one upload, decided from the image's record and the upload's size.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// No such image slot, or it was decided already: nothing to do.
    Skip,
    /// Refuse without reading the bytes.
    Reject(Rejection),
    Process,
}

pub fn plan(image: Option<&ProductImage>, size: Option<u64>) -> Plan {
    match image {
        None => Plan::Skip,
        Some(i) if !i.status.is_pending() => Plan::Skip,
        Some(_) => match size {
            Some(size) if size > MAX_UPLOAD_BYTES => Plan::Reject(rejection(&ImageRejected::TooLarge {
                size: size as usize,
                max: MAX_UPLOAD_BYTES as usize,
            })),
            _ => Plan::Process,
        },
    }
}

impl ProcessDeps {
    async fn finish(&self, mut image: ProductImage) -> Result<()> {
        image.updated_at = Utc::now();
        match products::finish_image(&self.table, &image).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Handles one announced upload.
    pub async fn handle_upload(&self, key: &str, size: Option<u64>) -> Result<()> {
        let Some((vendor, product, id)) = ProductImage::parse_upload_key(key) else {
            tracing::warn!(key, "not an image upload key; ignored");
            return Ok(());
        };
        let found = products::image(&self.table, product, id).await?;
        let Some(mut image) = found.filter(|i| i.vendor_id == vendor) else {
            tracing::warn!(key, "no such image slot; the upload is deleted");
            self.delete(key).await;
            return Ok(());
        };
        match plan(Some(&image), size) {
            Plan::Skip => return Ok(()),
            Plan::Reject(r) => {
                image.status = ImageStatus::Rejected;
                image.rejection = Some(r);
            }
            Plan::Process => {
                // Gone meanwhile (a repeated notification after the upload was decided and deleted).
                let Some(bytes) = self.media.read(key).await? else { return Ok(()) };
                let outcome = tokio::task::spawn_blocking(move || stockyard_media::process(&bytes, &Limits::default()))
                    .await
                    .context("the image worker")?;
                match outcome {
                    Ok(processed) => {
                        let mut renditions = Vec::new();
                        for r in processed.renditions {
                            let rendition_key = image.rendition_key(r.size.name(), r.format.extension());
                            let (content_type, bytes) = (r.content_type(), r.bytes);
                            let forever = Some("public, max-age=31536000, immutable");
                            self.media.write(&rendition_key, bytes, content_type, forever).await?;
                            renditions.push(Rendition {
                                size: r.size.name().to_string(),
                                width: r.width,
                                height: r.height,
                                content_type: r.format.content_type().to_string(),
                                key: rendition_key,
                            });
                        }
                        image.status = ImageStatus::Ready;
                        image.renditions = renditions;
                    }
                    Err(e) => {
                        tracing::info!(key, code = e.code(), reason = %e, "upload rejected");
                        image.status = ImageStatus::Rejected;
                        image.rejection = Some(rejection(&e));
                    }
                }
            }
        }
        let status = image.status;
        self.finish(image).await?;
        self.delete(key).await;
        tracing::info!(key, status = ?status, "image decided");
        Ok(())
    }

    /// Deletes an upload (best effort: the bucket's lifecycle rule removes what is left).
    async fn delete(&self, key: &str) {
        if let Err(e) = self.media.delete(key).await {
            tracing::warn!(key, error = %e, "upload not deleted");
        }
    }
}

pub async fn handle(
    deps: &ProcessDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(stockyard_platform::runner::sqs_batch(event.payload, 2, |n: Notification| async move {
        for record in n.records.iter().filter(|r| r.event_name.starts_with("ObjectCreated")) {
            deps.handle_upload(&decoded_key(&record.s3.object.key), record.s3.object.size).await?;
        }
        Ok(())
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::ids::{ImageId, ProductId, VendorId};

    fn image(status: ImageStatus) -> ProductImage {
        ProductImage {
            id: ImageId::generate(),
            product_id: ProductId::generate(),
            vendor_id: VendorId::generate(),
            status,
            alt: None,
            position: 0,
            declared_type: "image/jpeg".into(),
            renditions: vec![],
            rejection: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn only_pending_images_are_processed_and_an_oversized_upload_is_refused_unread() {
        assert_eq!(plan(None, Some(10)), Plan::Skip);
        assert_eq!(plan(Some(&image(ImageStatus::Ready)), Some(10)), Plan::Skip, "a repeated notification");
        assert_eq!(plan(Some(&image(ImageStatus::AwaitingUpload)), Some(10)), Plan::Process);
        match plan(Some(&image(ImageStatus::AwaitingUpload)), Some(MAX_UPLOAD_BYTES + 1)) {
            Plan::Reject(r) => assert_eq!(r.code, "too_large"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn notifications_parse_with_decoded_keys_and_the_test_event_has_none() {
        let body = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads/a%2Fb+c","size":12}}}]}"#;
        let n: Notification = serde_json::from_str(body).unwrap();
        assert_eq!(decoded_key(&n.records[0].s3.object.key), "uploads/a/b c");
        let test: Notification = serde_json::from_str(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#).unwrap();
        assert!(test.records.is_empty());
    }
}
