//! Barcode look-ups: what a scanned code is. A GTIN (8, 12, 13 or 14 digits with a valid check
//! digit) finds every vendor's variant carrying it; anything else is read as a SKU, which is unique
//! within one vendor. Shoppers find published products of active vendors only; a vendor's staff
//! find their own vendor's variants in any status.

use futures_util::future::try_join_all;
use serde::Serialize;
use stockyard_domain::catalog::ProductStatus;
use stockyard_domain::gtin::Gtin;
use stockyard_domain::ids::{ProductId, VariantId, VendorId};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::values::code;
use stockyard_domain::vendor::VendorStatus;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{path, query};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::{StoreError, Table, products, vendors};
use utoipa::ToSchema;

/// A variant a code names.
#[derive(Debug, Serialize, ToSchema)]
pub struct BarcodeMatch {
    pub vendor_id: VendorId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub gtin: Option<Gtin>,
    /// The product's title in its own locale.
    pub title: String,
    pub status: ProductStatus,
    /// How the code matched: `gtin` or `sku`.
    pub matched_by: String,
}

/// What a code is: a GTIN when it parses as one (digits with a valid check digit), else a SKU.
enum Code {
    Gtin(Gtin),
    Sku(String),
}

fn parse_code(raw: &str) -> Result<Code, ApiError> {
    let raw = raw.trim();
    let digits = raw.chars().all(|c| c.is_ascii_digit()) && matches!(raw.len(), 8 | 12 | 13 | 14);
    if digits && let Ok(gtin) = Gtin::parse("code", raw) {
        return Ok(Code::Gtin(gtin));
    }
    Ok(Code::Sku(code("code", raw, 64)?))
}

async fn matches(table: &Table, code: &Code, vendor: Option<VendorId>) -> Result<Vec<BarcodeMatch>, StoreError> {
    let refs: Vec<(VendorId, ProductId, VariantId, &str)> = match code {
        Code::Gtin(gtin) => products::by_gtin(table, gtin)
            .await?
            .into_iter()
            .filter(|c| vendor.is_none_or(|v| v == c.vendor_id))
            .map(|c| (c.vendor_id, c.product_id, c.variant_id, "gtin"))
            .collect(),
        Code::Sku(sku) => match vendor {
            Some(v) => products::by_sku(table, v, sku)
                .await?
                .map(|c| (c.vendor_id, c.product_id, c.variant_id, "sku"))
                .into_iter()
                .collect(),
            None => Vec::new(),
        },
    };
    let found = try_join_all(refs.into_iter().map(|(vendor_id, product_id, variant_id, how)| async move {
        let (product, variant) =
            tokio::try_join!(products::get(table, product_id), products::variant(table, product_id, variant_id))?;
        Ok::<_, StoreError>(product.zip(variant).map(|(p, v)| BarcodeMatch {
            vendor_id,
            product_id,
            variant_id,
            sku: v.sku,
            gtin: v.gtin,
            title: p.product.title,
            status: p.product.status,
            matched_by: how.to_string(),
        }))
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// What a scanned code is, among published products of active vendors. A GTIN finds every
/// vendor selling it; a SKU needs `?vendor=` (SKUs are unique within a vendor only). Public.
#[utoipa::path(get, path = "/barcodes/{code}", tag = "catalog",
    params(("code" = String, Path, description = "A GTIN-8/12/13/14 or a SKU"),
           ("vendor" = Option<VendorId>, Query, description = "Required to look a SKU up")),
    responses((status = 200, body = ListResponse<BarcodeMatch>), (status = 422, body = ErrorBody)))]
pub async fn lookup(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let code = path(&req, "code", |_, raw| Ok(raw.to_string()))?;
    let code = parse_code(&code)?;
    let vendor = query(&req, "vendor").map(|raw| VendorId::parse("vendor", &raw)).transpose()?;
    if matches!(code, Code::Sku(_)) && vendor.is_none() {
        return Err(ApiError::invalid(
            "vendor",
            "is required to look a SKU up (not a GTIN: digits with a valid check digit)",
        ));
    }
    let found = matches(&deps.table, &code, vendor).await?;
    let mut public = Vec::new();
    for m in found.into_iter().filter(|m| m.status == ProductStatus::Published) {
        let active = vendors::get(&deps.table, m.vendor_id).await?.is_some_and(|v| v.status == VendorStatus::Active);
        if active {
            public.push(m);
        }
    }
    Ok(ok(&ListResponse::all(public)))
}

/// What a scanned code is among the vendor's own variants, in any status (any vendor member).
#[utoipa::path(get, path = "/vendors/{vendorId}/barcodes/{code}", tag = "catalog",
    security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = VendorId, Path), ("code" = String, Path, description = "A GTIN-8/12/13/14 or a SKU")),
    responses((status = 200, body = ListResponse<BarcodeMatch>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn vendor_lookup(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let code = parse_code(&cx.path("code", |_, raw| Ok(raw.to_string()))?)?;
    let vendor = cx.vendor(VendorPermission::Read).await?;
    let found = matches(cx.store().await?, &code, Some(vendor.id())).await?;
    Ok(ok(&ListResponse::all(found)))
}
