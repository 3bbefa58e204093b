//! Product images: a vendor uploads a picture straight to storage; it is checked and turned into
//! renditions of a few sizes; shoppers see only the renditions of images that are ready.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::ids::{ImageId, ProductId, VendorId};

/// Images one product may have.
pub const MAX_IMAGES: u32 = 10;
/// The largest upload, in bytes.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// What a vendor may upload.
pub const UPLOAD_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// Waiting for the upload to the URL the vendor was given.
    AwaitingUpload,
    /// Uploaded; being checked and resized.
    Processing,
    /// Renditions written; shoppers see it.
    Ready,
    /// Not an image of an allowed type, too large, or unreadable (`rejection` says which).
    Rejected,
}

impl ImageStatus {
    /// Still waiting for its result (the processor may still act on it).
    pub fn is_pending(self) -> bool {
        matches!(self, ImageStatus::AwaitingUpload | ImageStatus::Processing)
    }
}

/// One resized copy of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rendition {
    /// `thumbnail` (160 px on the long side), `medium` (480) or `large` (1200); never larger
    /// than the original.
    pub size: String,
    pub width: u32,
    pub height: u32,
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// Where it is stored (the media bucket); clients use the URL views give.
    pub key: String,
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rejection {
    /// `not_an_image`, `unsupported_type`, `too_large`, `too_many_pixels` or `corrupt`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductImage {
    pub id: ImageId,
    pub product_id: ProductId,
    pub vendor_id: VendorId,
    pub status: ImageStatus,
    /// Text for readers who cannot see the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// Lower comes first; the first ready image is the product's thumbnail in lists.
    pub position: u32,
    /// The type the vendor said it would upload (the processor trusts only the bytes).
    pub declared_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renditions: Vec<Rendition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ProductImage {
    /// Where the vendor's upload lands (the processor is notified of keys under `uploads/`).
    pub fn upload_key(&self) -> String {
        format!("uploads/{}/{}/{}", self.vendor_id, self.product_id, self.id)
    }

    /// The ids an upload key names, if it is one.
    pub fn parse_upload_key(key: &str) -> Option<(VendorId, ProductId, ImageId)> {
        let mut parts = key.strip_prefix("uploads/")?.split('/');
        let vendor = VendorId::parse("key", parts.next()?).ok()?;
        let product = ProductId::parse("key", parts.next()?).ok()?;
        let image = ImageId::parse("key", parts.next()?).ok()?;
        parts.next().is_none().then_some((vendor, product, image))
    }

    /// Where a rendition is stored: under a new image id each time, so it never changes and can
    /// be cached for ever.
    pub fn rendition_key(&self, size: &str, extension: &str) -> String {
        format!("images/{}/{}/{size}.{extension}", self.product_id, self.id)
    }
}

/// Where shoppers fetch renditions: the media CDN's domain (a bare host gets `https://`; the local
/// stack gives a full URL of its own stand-in).
#[derive(Debug, Clone)]
pub struct MediaUrls {
    base: String,
}

impl MediaUrls {
    pub fn new(domain: &str) -> Self {
        let domain = domain.trim().trim_end_matches('/');
        let base = if domain.contains("://") { domain.to_string() } else { format!("https://{domain}") };
        Self { base }
    }

    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base)
    }
}

/// Checks an upload request: an allowed type and a size within the limit.
pub fn check_upload(content_type: &str, content_length: i64) -> Result<(String, u64), FieldError> {
    let content_type = content_type.trim().to_ascii_lowercase();
    if !UPLOAD_TYPES.contains(&content_type.as_str()) {
        return Err(FieldError::new("content_type", "must be image/jpeg, image/png or image/webp"));
    }
    match u64::try_from(content_length) {
        Ok(n) if (1..=MAX_UPLOAD_BYTES).contains(&n) => Ok((content_type, n)),
        _ => Err(FieldError::new("content_length", format!("must be from 1 to {MAX_UPLOAD_BYTES} bytes"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_keys_round_trip_and_nothing_else_parses() {
        let image = ProductImage {
            id: ImageId::generate(),
            product_id: ProductId::generate(),
            vendor_id: VendorId::generate(),
            status: ImageStatus::AwaitingUpload,
            alt: None,
            position: 0,
            declared_type: "image/png".into(),
            renditions: vec![],
            rejection: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(
            ProductImage::parse_upload_key(&image.upload_key()),
            Some((image.vendor_id, image.product_id, image.id))
        );
        assert_eq!(ProductImage::parse_upload_key(&format!("{}/extra", image.upload_key())), None);
        assert_eq!(ProductImage::parse_upload_key("images/x/y/z"), None);
    }

    #[test]
    fn media_urls_take_a_bare_domain_or_a_full_base() {
        let cdn = MediaUrls::new("d111.cloudfront.net");
        assert_eq!(cdn.url("images/p/i/large.jpg"), "https://d111.cloudfront.net/images/p/i/large.jpg");
        let local = MediaUrls::new("http://127.0.0.1:3000/_local/media/");
        assert_eq!(local.url("a.png"), "http://127.0.0.1:3000/_local/media/a.png");
    }

    #[test]
    fn uploads_are_of_an_allowed_type_and_size() {
        assert_eq!(check_upload("Image/JPEG", 10).unwrap(), ("image/jpeg".to_string(), 10));
        assert_eq!(check_upload("image/gif", 10).unwrap_err().field, "content_type");
        assert_eq!(check_upload("image/png", 0).unwrap_err().field, "content_length");
        assert!(check_upload("image/png", (MAX_UPLOAD_BYTES + 1) as i64).is_err());
    }
}
