//! Product images. The vendor asks for an upload slot on a product and gets a presigned URL; the
//! bytes go straight to the media bucket, whose notification queues them for `process-image`
//! (functions/media), which checks them, strips everything but the pixels and writes renditions.
//! Vendors see every image with its status; shoppers only ready ones, through the media CDN.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{ImageId, ProductId};
use stockyard_domain::image::{self, ImageStatus, MediaUrls, ProductImage, Rendition};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::bounded_text;
use stockyard_http::error::ErrorBody;
use stockyard_http::response::{created, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::objects::Bucket;
use stockyard_store::products;

use crate::bulk::Presigned;
use utoipa::ToSchema;

/// What the image routes need besides the table: the media bucket.
pub struct MediaDeps {
    pub api: ApiDeps,
    pub media: Bucket,
}

impl MediaDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { api: ApiDeps::from_env(sdk).await?, media: Bucket::from_env(sdk, "MEDIA_BUCKET")? })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateImageRequest {
    /// `image/jpeg`, `image/png` or `image/webp`; the upload must be sent with this type.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    /// The upload's exact size in bytes (at most 10 MiB); the upload must be sent with this length.
    #[schema(minimum = 1, maximum = 10485760, example = 482133)]
    pub content_length: i64,
    /// Text for readers who cannot see the picture (at most 300 characters).
    #[serde(default)]
    pub alt: Option<String>,
    /// Lower comes first (default: after the images the product has).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000)]
    pub position: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedImage {
    pub image: ProductImage,
    /// Send the bytes with this request (the content type is part of its signature).
    pub upload: Presigned,
}

/// A ready image as shoppers get it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicImage {
    pub id: ImageId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    pub renditions: Vec<PublicRendition>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRendition {
    /// `thumbnail`, `medium` or `large`.
    pub size: String,
    pub width: u32,
    pub height: u32,
    pub content_type: String,
    pub url: String,
}

/// The images shoppers see, in order: ready ones only.
pub fn public_images(images: &[ProductImage], urls: &MediaUrls) -> Vec<PublicImage> {
    images
        .iter()
        .filter(|i| i.status == ImageStatus::Ready)
        .map(|i| PublicImage {
            id: i.id,
            alt: i.alt.clone(),
            renditions: i.renditions.iter().map(|r: &Rendition| public_rendition(r, urls)).collect(),
        })
        .collect()
}

fn public_rendition(r: &Rendition, urls: &MediaUrls) -> PublicRendition {
    PublicRendition {
        size: r.size.clone(),
        width: r.width,
        height: r.height,
        content_type: r.content_type.clone(),
        url: urls.url(&r.key),
    }
}

/// Ask for an upload slot for a product image (owner and catalog editors). Send the bytes with
/// `PUT` to `upload.url` with exactly `upload.headers` within 15 minutes (the signature binds the
/// content type; the size is checked when the upload is processed); the image then moves
/// from `awaiting_upload` through `processing` to `ready` (renditions of 160, 480 and 1200 px on
/// the long side, metadata removed) or `rejected` (with the reason). A product holds at most 10.
#[utoipa::path(post, path = "/vendors/{vendorId}/products/{productId}/images", tag = "catalog",
    security(("bearer" = ["vendor_owner", "catalog_editor"])), request_body = CreateImageRequest,
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path)),
    responses((status = 201, body = CreatedImage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "too_many_images, or the product is archived", body = ErrorBody)))]
pub async fn create_image(deps: &MediaDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let body: CreateImageRequest = cx.body()?;
    let (content_type, _declared_size) = image::check_upload(&body.content_type, body.content_length)?;
    let alt = body.alt.as_deref().map(|a| bounded_text("alt", a, 1, 300)).transpose()?;
    let position = match body.position {
        None => None,
        Some(p) if (0..=1000).contains(&p) => Some(p as u32),
        Some(_) => return Err(ApiError::invalid("position", "must be from 0 to 1000")),
    };
    let product_id = cx.path("productId", ProductId::parse)?;
    let vendor = cx.vendor(VendorPermission::CatalogWrite).await?;
    let table = cx.store().await?;
    let record = products::get(table, product_id).await?;
    let record = record.filter(|r| r.product.vendor_id == vendor.id()).ok_or(ApiError::NotFound("product"))?;
    let now = Utc::now();
    let image = ProductImage {
        id: ImageId::generate(),
        product_id,
        vendor_id: vendor.id(),
        status: ImageStatus::AwaitingUpload,
        alt,
        position: position.unwrap_or(record.image_count),
        declared_type: content_type.clone(),
        renditions: Vec::new(),
        rejection: None,
        created_at: now,
        updated_at: now,
    };
    match table.commit(products::add_image(table, &image)?).await {
        Ok(()) => {}
        Err(e) if e.failed_at(products::IMAGE_ROOM) => {
            return Err(ApiError::conflict(
                "too_many_images",
                format!("a product holds at most {} images, and an archived one takes none", image::MAX_IMAGES),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let upload = deps
        .media
        .presign_put(&image.upload_key(), &content_type, crate::bulk::URL_LIFETIME)
        .await
        .map_err(ApiError::internal)?;
    Ok(created(&CreatedImage { image, upload }))
}

/// One of a product's images with its status, renditions or rejection (any vendor member).
#[utoipa::path(get, path = "/vendors/{vendorId}/products/{productId}/images/{imageId}", tag = "catalog",
    security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path), ("imageId" = ImageId, Path)),
    responses((status = 200, body = ProductImage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_image(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let (product_id, image_id) = (cx.path("productId", ProductId::parse)?, cx.path("imageId", ImageId::parse)?);
    let vendor = cx.vendor(VendorPermission::Read).await?;
    let found = products::image(cx.store().await?, product_id, image_id).await?;
    let image = found.filter(|i| i.vendor_id == vendor.id()).ok_or(ApiError::NotFound("image"))?;
    Ok(ok(&image))
}
