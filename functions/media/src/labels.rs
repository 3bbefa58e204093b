//! `get-barcode-label`: a variant's barcode label for shelves and scanners, as SVG (vector, for
//! printing at any size) or PNG: Code 128 of the SKU, or the retail barcode of the GTIN (EAN-13,
//! UPC-A or EAN-8) with its digits under the bars.

use lambda_http::http::StatusCode;
use stockyard_domain::ids::{ProductId, VariantId};
use stockyard_domain::roles::VendorPermission;
use stockyard_http::error::ErrorBody;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_media::{Label, LabelError};
use stockyard_store::products;

/// PNG modules are this many pixels wide (readable by phone cameras and handheld scanners).
pub const PNG_SCALE: u32 = 4;

fn label_error(e: LabelError, field: &str) -> ApiError {
    match e {
        LabelError::Render(_) => ApiError::internal(anyhow::anyhow!("{e}")),
        other => ApiError::unprocessable(other.code(), Some(field), other.to_string()),
    }
}

/// A variant's barcode label (any vendor member): `?symbology=code128` (the SKU; the default) or
/// `gtin` (EAN-13, UPC-A or EAN-8 of its GTIN), `?format=svg` (the default) or `png`.
#[utoipa::path(get, path = "/vendors/{vendorId}/products/{productId}/variants/{variantId}/label", tag = "catalog",
    security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path), ("variantId" = VariantId, Path),
           ("symbology" = Option<String>, Query, description = "code128 (of the SKU, default) or gtin"),
           ("format" = Option<String>, Query, description = "svg (default) or png")),
    responses((status = 200, description = "The label (image/svg+xml or image/png)", content((String = "image/svg+xml"), (Vec<u8> = "image/png"))),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "the variant has no GTIN, or one without a retail barcode (GTIN-14)", body = ErrorBody)))]
pub async fn label(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let gtin = match cx.query("symbology").as_deref() {
        None | Some("code128") => false,
        Some("gtin") => true,
        Some(_) => return Err(ApiError::invalid("symbology", "must be code128 or gtin")),
    };
    let png = match cx.query("format").as_deref() {
        None | Some("svg") => false,
        Some("png") => true,
        Some(_) => return Err(ApiError::invalid("format", "must be svg or png")),
    };
    let (product_id, variant_id) = (cx.path("productId", ProductId::parse)?, cx.path("variantId", VariantId::parse)?);
    let vendor = cx.vendor(VendorPermission::Read).await?;
    let found = products::variant(cx.store().await?, product_id, variant_id).await?;
    let variant = found.filter(|v| v.vendor_id == vendor.id()).ok_or(ApiError::NotFound("variant"))?;
    let label = if gtin {
        let Some(g) = &variant.gtin else {
            return Err(ApiError::unprocessable(
                "no_gtin",
                Some("symbology"),
                "this variant has no GTIN; ask for code128",
            ));
        };
        Label::gtin(g).map_err(|e| label_error(e, "symbology"))?
    } else {
        Label::code128(&variant.sku).map_err(|e| label_error(e, "symbology"))?
    };
    let (content_type, body) = if png {
        ("image/png", Body::Binary(label.png(PNG_SCALE).map_err(|e| label_error(e, "format"))?))
    } else {
        ("image/svg+xml", Body::Text(label.svg()))
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header("cache-control", "private, max-age=300")
        .body(body)
        .map_err(ApiError::internal)
}
