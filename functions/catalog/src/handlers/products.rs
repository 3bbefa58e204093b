//! A vendor's products and their variants. The owner and catalog editors write them; every member
//! of the vendor reads them in any status. Shoppers see published products of active vendors only,
//! in their language (`Accept-Language`, answered with `Content-Language`); anything else is a 404,
//! so a rival cannot even learn that a draft exists.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stockyard_domain::FieldError;
use stockyard_domain::catalog::{Dimensions, ProductStatus, TaxClass, validate_attributes, weight_g};
use stockyard_domain::exchange::convert;
use stockyard_domain::gtin::Gtin;
use stockyard_domain::ids::{CategoryId, ProductId, VariantId, VendorId};
use stockyard_domain::image::{MediaUrls, ProductImage};
use stockyard_domain::locale::{Locale, negotiate};
use stockyard_domain::markdown;
use stockyard_domain::money::Currency;
use stockyard_domain::product::{self, MAX_VARIANTS, Price, Product, ProductTranslation, Variant};
use stockyard_domain::roles::VendorPermission;
use stockyard_domain::slug::Slug;
use stockyard_domain::values::{bounded_text, code};
use stockyard_domain::vendor::VendorStatus;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{header, path};
use stockyard_http::response::{created, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::products::{self, ProductAggregate, ProductRecord};

use crate::handlers::images::{PublicImage, public_images};
use stockyard_store::{StoreError, Table, categories, exchange_rates, vendors};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    pub category_id: CategoryId,
    /// The locale the texts are written in (BCP 47); the vendor's default locale when absent.
    #[schema(example = "en")]
    pub locale: Option<String>,
    #[schema(value_type = stockyard_domain::values::Title, example = "Merino crew jumper")]
    pub title: String,
    /// Plain text or the safe Markdown subset (paragraphs, emphasis, lists, http(s) links).
    pub description: Option<String>,
    /// Unique among the vendor's products in the locale; made from the title when absent.
    #[schema(value_type = Option<Slug>)]
    pub slug: Option<String>,
    #[schema(value_type = Option<stockyard_domain::values::Brand>)]
    pub brand: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<stockyard_domain::values::Tag>, max_items = 20)]
    pub tags: Vec<String>,
    /// Values of the category's describing attributes, by code.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, Value>,
}

/// What to change; absent fields stay (`brand: null` removes the brand).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    pub category_id: Option<CategoryId>,
    #[schema(value_type = Option<stockyard_domain::values::Title>)]
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Slug>)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<stockyard_domain::values::Brand>)]
    pub brand: Option<Option<String>>,
    #[schema(value_type = Option<Vec<stockyard_domain::values::Tag>>, max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// Replaces every attribute value.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<BTreeMap<String, Value>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: ProductStatus,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantRequest {
    /// Unique within the vendor: letters, digits, '-' and '_' (stored upper-case).
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Values of the category's variant-defining attributes, by code.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, Value>,
    /// GTIN-8, -12, -13 or -14 with a valid check digit.
    pub gtin: Option<String>,
    #[schema(minimum = 1, maximum = 1000000)]
    pub weight_g: Option<i64>,
    pub dimensions: Option<Dimensions>,
    pub tax_class: Option<TaxClass>,
    /// Days a perishable item keeps; inventory then tracks batches and expiry.
    #[schema(minimum = 1, maximum = 3650)]
    pub shelf_life_days: Option<i64>,
    /// The most units one customer may buy (a limited item); no limit when absent.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_per_customer: Option<i64>,
    /// Prices per ISO 4217 currency, in its minor units.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Price>)]
    pub prices: BTreeMap<String, Price>,
}

/// What to change of a variant; absent fields stay, `null` removes an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVariantRequest {
    pub sku: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub options: Option<BTreeMap<String, Value>>,
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<String>)]
    pub gtin: Option<Option<String>>,
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub weight_g: Option<Option<i64>>,
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<Dimensions>)]
    pub dimensions: Option<Option<Dimensions>>,
    pub tax_class: Option<TaxClass>,
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    pub shelf_life_days: Option<Option<i64>>,
    /// The most units one customer may buy; `null` removes the limit.
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub max_per_customer: Option<Option<i64>>,
    /// Replaces every price.
    #[schema(value_type = Option<BTreeMap<String, Price>>)]
    pub prices: Option<BTreeMap<String, Price>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationRequest {
    #[schema(value_type = stockyard_domain::values::Title)]
    pub title: String,
    pub description: Option<String>,
    /// Made from the title when absent.
    #[schema(value_type = Option<Slug>)]
    pub slug: Option<String>,
}

/// A product as its vendor sees it: every variant and translation.
#[derive(Debug, Serialize, ToSchema)]
pub struct VendorProductView {
    #[serde(flatten)]
    pub product: Product,
    pub variants: Vec<Variant>,
    pub translations: Vec<ProductTranslation>,
    /// Every image, whatever its status.
    pub images: Vec<ProductImage>,
}

impl From<ProductAggregate> for VendorProductView {
    fn from(a: ProductAggregate) -> Self {
        Self { product: a.record.product, variants: a.variants, translations: a.translations, images: a.images }
    }
}

/// What the public product page needs besides the table: where images are served from.
pub struct PublicDeps {
    pub api: ApiDeps,
    pub media: MediaUrls,
}

impl PublicDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let media = MediaUrls::new(&stockyard_platform::env("MEDIA_DOMAIN")?);
        Ok(Self { api: ApiDeps::from_env(sdk).await?, media })
    }
}

/// A variant as a shopper sees it: its price now in the currency asked for, when it has one.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicVariant {
    pub id: VariantId,
    pub sku: String,
    #[schema(value_type = Object)]
    pub options: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub gtin: Option<Gtin>,
    /// The most units one customer may buy, when the vendor limits it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_customer: Option<u32>,
    /// The price to pay now (a running sale counted) in `currency`, in its minor units; absent
    /// when the variant has no price in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub currency: Option<Currency>,
    /// Present when the price was converted from the vendor's base currency (the variant has no
    /// price in the currency asked for): that currency and the rate used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<ConvertedFrom>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConvertedFrom {
    #[schema(value_type = String)]
    pub currency: Currency,
    /// The variant's price now in that currency, in its minor units.
    pub price: i64,
    #[schema(value_type = String)]
    pub rate: rust_decimal::Decimal,
}

/// A published product in one locale.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProduct {
    pub id: ProductId,
    pub vendor_id: stockyard_domain::ids::VendorId,
    pub category_id: CategoryId,
    #[schema(value_type = String)]
    pub locale: Locale,
    pub title: String,
    /// The description's source text.
    pub description: String,
    /// The description rendered as safe HTML.
    pub description_html: String,
    #[schema(value_type = String)]
    pub slug: Slug,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, Value>,
    pub variants: Vec<PublicVariant>,
    /// Ready images only, in order.
    pub images: Vec<PublicImage>,
}

fn description(raw: Option<&str>) -> Result<String, FieldError> {
    Ok(markdown::description("description", raw.unwrap_or(""))?.as_str().to_string())
}

fn slug_or_title(raw: Option<&str>, title: &str) -> Result<Slug, FieldError> {
    match raw {
        Some(s) => Slug::parse("slug", s),
        None => Ok(Slug::from_title(title)),
    }
}

fn brand(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    raw.map(|b| bounded_text("brand", b, 1, 100)).transpose()
}

/// The category's describing attributes checked, stored in canonical form.
async fn describing(
    table: &Table,
    category: CategoryId,
    values: &BTreeMap<String, Value>,
    for_variant: bool,
) -> Result<BTreeMap<String, Value>, ApiError> {
    let field = if for_variant { "options" } else { "category_id" };
    let read = categories::tree(table).await?;
    if read.tree.get(category).is_none() {
        return Err(ApiError::invalid(field, "is not a category"));
    }
    let defs = read.tree.effective_attributes(category);
    let checked = validate_attributes(&defs, values, for_variant).map_err(|e| {
        if for_variant { FieldError::new(e.field.replacen("attributes", "options", 1), e.message) } else { e }
    })?;
    Ok(checked.into_iter().map(|(k, v)| (k, serde_json::to_value(v).expect("attribute values serialise"))).collect())
}

fn slug_taken() -> ApiError {
    ApiError::conflict_on("slug_taken", "slug", "another of this vendor's products has this slug in this locale")
}

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("changed_meanwhile", "the product changed since it was read; read it again and retry")
}

/// The product of the path, which must belong to the vendor of the path (404 otherwise).
async fn vendor_product(cx: &Ctx<'_>, permission: VendorPermission) -> Result<ProductRecord, ApiError> {
    let id = cx.path("productId", ProductId::parse)?;
    let vendor = cx.vendor(permission).await?;
    let record = products::get(cx.store().await?, id).await?;
    record.filter(|r| r.product.vendor_id == vendor.id()).ok_or(ApiError::NotFound("product"))
}

/// Create a product, as a draft (owner and catalog editors).
#[utoipa::path(post, path = "/vendors/{vendorId}/products", tag = "catalog", security(("bearer" = ["vendor_owner", "catalog_editor"])),
    request_body = CreateProductRequest, params(("vendorId" = stockyard_domain::ids::VendorId, Path)),
    responses((status = 201, body = Product), (status = 403, body = ErrorBody),
              (status = 409, description = "slug_taken", body = ErrorBody),
              (status = 422, description = "invalid_field: names the attribute (`attributes.size`) or field", body = ErrorBody)))]
pub async fn create_product(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateProductRequest = cx.body()?;
    let locale = body.locale.as_deref().map(|l| Locale::parse("locale", l)).transpose()?;
    let title = bounded_text("title", &body.title, 1, 200)?;
    let description = description(body.description.as_deref())?;
    let slug = slug_or_title(body.slug.as_deref(), &title)?;
    let brand = brand(body.brand.as_deref())?;
    let tags = product::tags("tags", &body.tags)?;
    let vendor = cx.vendor(VendorPermission::CatalogWrite).await?;
    let table = cx.store().await?;
    let attributes = describing(table, body.category_id, &body.attributes, false).await?;
    let now = Utc::now();
    let product = Product {
        id: ProductId::generate(),
        vendor_id: vendor.id(),
        category_id: body.category_id,
        status: ProductStatus::Draft,
        locale: locale.unwrap_or_else(|| vendor.vendor.default_locale.clone()),
        title,
        description,
        slug,
        brand,
        tags,
        attributes,
        version: 1,
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    match table.commit(products::create(table, &product)?).await {
        Ok(()) => Ok(created(&product)),
        Err(e) if e.failed_at(products::SLUG_TAKEN) => Err(slug_taken()),
        Err(e) => Err(e.into()),
    }
}

/// The vendor's products in every status, newest first (`?status=draft|published|archived`).
#[utoipa::path(get, path = "/vendors/{vendorId}/products", tag = "catalog", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("status" = Option<ProductStatus>, Query),
           stockyard_http::openapi::PageParams),
    responses((status = 200, body = ListResponse<Product>), (status = 403, body = ErrorBody)))]
pub async fn list_vendor_products(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let status = cx.query_as("status", |field, raw| {
        ProductStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "must be draft, published or archived"))
    })?;
    let vendor = cx.vendor(VendorPermission::Read).await?;
    let found = products::list_for_vendor(cx.store().await?, vendor.id(), status, &page).await?;
    Ok(ok(&ListResponse::from(found)))
}

/// One of the vendor's products with every variant and translation (any status).
#[utoipa::path(get, path = "/vendors/{vendorId}/products/{productId}", tag = "catalog", security(("bearer" = ["vendor_member", "admin", "support"])),
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path)),
    responses((status = 200, body = VendorProductView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_vendor_product(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let record = vendor_product(&cx, VendorPermission::Read).await?;
    let aggregate = products::aggregate(cx.store().await?, record.product.id).await?;
    Ok(ok(&VendorProductView::from(aggregate.ok_or(ApiError::NotFound("product"))?)))
}

/// Change a product (owner and catalog editors). Written only on the version it was read at.
#[utoipa::path(patch, path = "/vendors/{vendorId}/products/{productId}", tag = "catalog", security(("bearer" = ["vendor_owner", "catalog_editor"])),
    request_body = UpdateProductRequest,
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path)),
    responses((status = 200, body = Product), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "slug_taken or changed_meanwhile", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_product(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: UpdateProductRequest = cx.body()?;
    let title = body.title.as_deref().map(|t| bounded_text("title", t, 1, 200)).transpose()?;
    let description = body.description.as_deref().map(|d| description(Some(d))).transpose()?;
    let slug = body.slug.as_deref().map(|s| Slug::parse("slug", s)).transpose()?;
    let new_brand = body.brand.as_ref().map(|b| brand(b.as_deref())).transpose()?;
    let tags = body.tags.as_deref().map(|t| product::tags("tags", t)).transpose()?;
    let current = vendor_product(&cx, VendorPermission::CatalogWrite).await?;
    let table = cx.store().await?;
    let mut next = current.product.clone();
    if let Some(category) = body.category_id {
        next.category_id = category;
    }
    if body.category_id.is_some() || body.attributes.is_some() {
        let values = body.attributes.clone().unwrap_or_else(|| next.attributes.clone());
        next.attributes = describing(table, next.category_id, &values, false).await?;
    }
    next.title = title.unwrap_or(next.title);
    next.description = description.unwrap_or(next.description);
    next.slug = slug.unwrap_or(next.slug);
    if let Some(brand) = new_brand {
        next.brand = brand;
    }
    next.tags = tags.unwrap_or(next.tags);
    next.version += 1;
    next.updated_at = Utc::now();
    match products::update(table, &current, &next).await {
        Ok(()) => Ok(ok(&next)),
        Err(e) if e.failed_at(products::SLUG_TAKEN) => Err(slug_taken()),
        Err(e) if e.failed_at(products::PRODUCT_CHANGED) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// Publish, unpublish, archive or restore a product (owner and catalog editors): draft →
/// published | archived, published → draft | archived, archived → draft. Publishing needs at
/// least one variant with a price.
#[utoipa::path(put, path = "/vendors/{vendorId}/products/{productId}/status", tag = "catalog", security(("bearer" = ["vendor_owner", "catalog_editor"])),
    request_body = StatusRequest,
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path)),
    responses((status = 200, body = Product), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_transition or not_ready", body = ErrorBody)))]
pub async fn set_product_status(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: StatusRequest = cx.body()?;
    let current = vendor_product(&cx, VendorPermission::CatalogWrite).await?;
    let from = current.product.status;
    if !from.can_move_to(body.status) {
        return Err(ApiError::unprocessable(
            "invalid_transition",
            Some("status"),
            format!("a {} product cannot become {}", from.as_str(), body.status.as_str()),
        ));
    }
    let table = cx.store().await?;
    if body.status == ProductStatus::Published {
        let aggregate = products::aggregate(table, current.product.id).await?.ok_or(ApiError::NotFound("product"))?;
        if !aggregate.variants.iter().any(|v| !v.prices.is_empty()) {
            return Err(ApiError::unprocessable(
                "not_ready",
                Some("status"),
                "a product needs at least one variant with a price before it is published",
            ));
        }
    }
    match products::set_status(table, current.product.id, from, body.status, Utc::now()).await {
        Ok(record) => Ok(ok(&record.product)),
        Err(StoreError::ConditionFailed) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

fn prices(raw: &BTreeMap<String, Price>) -> Result<BTreeMap<Currency, Price>, FieldError> {
    raw.iter()
        .map(|(code, price)| {
            let field = format!("prices.{code}");
            let currency = Currency::parse(&field, code)?;
            price.check(&field)?;
            Ok((currency, price.clone()))
        })
        .collect()
}

fn shelf_life(raw: Option<i64>) -> Result<Option<u32>, FieldError> {
    raw.map(|days| {
        u32::try_from(days)
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| FieldError::new("shelf_life_days", "must be from 1 to 3650 days"))
    })
    .transpose()
}

/// The most a vendor may set as a variant's limit per customer.
const MAX_PER_CUSTOMER: u32 = 1_000_000;

fn max_per_customer(raw: Option<i64>) -> Result<Option<u32>, FieldError> {
    raw.map(|max| {
        u32::try_from(max)
            .ok()
            .filter(|m| (1..=MAX_PER_CUSTOMER).contains(m))
            .ok_or_else(|| FieldError::new("max_per_customer", format!("must be from 1 to {MAX_PER_CUSTOMER}")))
    })
    .transpose()
}

fn variant_conflict(e: StoreError) -> ApiError {
    if e.failed_at(products::SKU_TAKEN) {
        ApiError::conflict_on("sku_taken", "sku", "another of this vendor's variants has this SKU")
    } else if e.failed_at(products::OPTIONS_TAKEN) {
        ApiError::conflict_on("variant_exists", "options", "this product already has a variant with these options")
    } else if e.failed_at(products::GTIN_TAKEN) {
        ApiError::conflict_on("gtin_taken", "gtin", "another of this vendor's variants has this GTIN")
    } else if e.failed_at(products::VARIANT_CHANGED) {
        changed_meanwhile()
    } else {
        e.into()
    }
}

/// Add a variant to a product that is not archived (owner and catalog editors; at most 24).
#[utoipa::path(post, path = "/vendors/{vendorId}/products/{productId}/variants", tag = "catalog", security(("bearer" = ["vendor_owner", "catalog_editor"])),
    request_body = VariantRequest,
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path)),
    responses((status = 201, body = Variant), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "sku_taken, gtin_taken, variant_exists or changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field, or too_many_variants / product_archived", body = ErrorBody)))]
pub async fn create_variant(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: VariantRequest = cx.body()?;
    let sku = code("sku", &body.sku, 64)?;
    let gtin = body.gtin.as_deref().map(|g| Gtin::parse("gtin", g)).transpose()?;
    let weight = body.weight_g.map(|w| weight_g("weight_g", w)).transpose()?;
    let shelf_life_days = shelf_life(body.shelf_life_days)?;
    let max_per_customer = max_per_customer(body.max_per_customer)?;
    let prices = prices(&body.prices)?;
    let current = vendor_product(&cx, VendorPermission::CatalogWrite).await?;
    if current.product.status == ProductStatus::Archived {
        return Err(ApiError::unprocessable("product_archived", None, "an archived product takes no new variants"));
    }
    if current.variant_count as usize >= MAX_VARIANTS {
        return Err(ApiError::unprocessable(
            "too_many_variants",
            None,
            format!("a product has at most {MAX_VARIANTS} variants"),
        ));
    }
    let table = cx.store().await?;
    let options = describing(table, current.product.category_id, &body.options, true).await?;
    let now = Utc::now();
    let variant = Variant {
        id: VariantId::generate(),
        product_id: current.product.id,
        vendor_id: current.product.vendor_id,
        sku,
        options,
        gtin,
        weight_g: weight,
        dimensions: body.dimensions,
        tax_class: body.tax_class.unwrap_or_default(),
        shelf_life_days,
        max_per_customer,
        prices,
        created_at: now,
        updated_at: now,
    };
    match table.commit(products::add_variant(table, &variant)?).await {
        Ok(()) => Ok(created(&variant)),
        Err(e) if e.failed_at(products::PRODUCT_CHANGED) => Err(ApiError::conflict(
            "changed_meanwhile",
            "the product was archived or filled up with variants meanwhile; read it again",
        )),
        Err(e) => Err(variant_conflict(e)),
    }
}

/// Change a variant: SKU, options, GTIN, measures, tax class, shelf life, limit per customer,
/// prices (owner and catalog editors).
#[utoipa::path(patch, path = "/vendors/{vendorId}/products/{productId}/variants/{variantId}", tag = "catalog",
    security(("bearer" = ["vendor_owner", "catalog_editor"])), request_body = UpdateVariantRequest,
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path), ("variantId" = VariantId, Path)),
    responses((status = 200, body = Variant), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "sku_taken, gtin_taken, variant_exists or changed_meanwhile", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_variant(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let variant_id = cx.path("variantId", VariantId::parse)?;
    let body: UpdateVariantRequest = cx.body()?;
    let sku = body.sku.as_deref().map(|s| code("sku", s, 64)).transpose()?;
    let gtin = body.gtin.as_ref().map(|g| g.as_deref().map(|g| Gtin::parse("gtin", g)).transpose()).transpose()?;
    let weight = body.weight_g.map(|w| w.map(|w| weight_g("weight_g", w)).transpose()).transpose()?;
    let shelf_life_days = body.shelf_life_days.map(shelf_life).transpose()?;
    let limit = body.max_per_customer.map(max_per_customer).transpose()?;
    let new_prices = body.prices.as_ref().map(prices).transpose()?;
    let product = vendor_product(&cx, VendorPermission::CatalogWrite).await?;
    let table = cx.store().await?;
    let current =
        products::variant(table, product.product.id, variant_id).await?.ok_or(ApiError::NotFound("variant"))?;
    let mut next = current.clone();
    if let Some(options) = &body.options {
        next.options = describing(table, product.product.category_id, options, true).await?;
    }
    next.sku = sku.unwrap_or(next.sku);
    if let Some(gtin) = gtin {
        next.gtin = gtin;
    }
    if let Some(weight) = weight {
        next.weight_g = weight;
    }
    if let Some(dimensions) = body.dimensions {
        next.dimensions = dimensions;
    }
    next.tax_class = body.tax_class.unwrap_or(next.tax_class);
    if let Some(days) = shelf_life_days {
        next.shelf_life_days = days;
    }
    if let Some(limit) = limit {
        next.max_per_customer = limit;
    }
    next.prices = new_prices.unwrap_or(next.prices);
    next.updated_at = Utc::now().max(current.updated_at + chrono::Duration::microseconds(1));
    products::update_variant(table, &current, &next).await.map_err(variant_conflict)?;
    Ok(ok(&next))
}

/// Put a product's title, description and slug in another locale (owner and catalog editors).
#[utoipa::path(put, path = "/vendors/{vendorId}/products/{productId}/translations/{locale}", tag = "catalog",
    security(("bearer" = ["vendor_owner", "catalog_editor"])), request_body = TranslationRequest,
    params(("vendorId" = stockyard_domain::ids::VendorId, Path), ("productId" = ProductId, Path),
           ("locale" = String, Path, description = "BCP 47 tag")),
    responses((status = 200, body = ProductTranslation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "slug_taken or changed_meanwhile", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn put_translation(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let locale = cx.path("locale", Locale::parse)?;
    let body: TranslationRequest = cx.body()?;
    let title = bounded_text("title", &body.title, 1, 200)?;
    let description = description(body.description.as_deref())?;
    let slug = slug_or_title(body.slug.as_deref(), &title)?;
    let product = vendor_product(&cx, VendorPermission::CatalogWrite).await?;
    if product.product.locale == locale {
        return Err(ApiError::invalid("locale", "is the product's own locale: change the product instead"));
    }
    let table = cx.store().await?;
    let current = products::translation(table, product.product.id, &locale).await?;
    let next =
        ProductTranslation { product_id: product.product.id, locale, title, description, slug, updated_at: Utc::now() };
    match products::put_translation(table, product.product.vendor_id, current.as_ref(), &next).await {
        Ok(()) => Ok(ok(&next)),
        Err(e) if e.failed_at(products::SLUG_TAKEN) => Err(slug_taken()),
        Err(StoreError::Conflict { .. }) => Err(changed_meanwhile()),
        Err(e) => Err(e.into()),
    }
}

/// Which product `{productId}` names: its id, or its slug (in any locale the shopper asks for, or
/// the vendor's default locale) among the products of `?vendor=`.
async fn product_named(deps: &ApiDeps, req: &Request) -> Result<(ProductId, Option<VendorId>), ApiError> {
    let raw = path(req, "productId", |_, raw| Ok(raw.to_string()))?;
    let vendor = stockyard_http::request::query(req, "vendor").map(|v| VendorId::parse("vendor", &v)).transpose()?;
    if let Ok(id) = ProductId::parse("productId", &raw) {
        return Ok((id, vendor));
    }
    let slug = Slug::parse("productId", &raw)?;
    let Some(vendor) = vendor else {
        return Err(ApiError::invalid(
            "vendor",
            "is required to name a product by its slug (slugs are unique per vendor)",
        ));
    };
    let Some(found) = vendors::get(&deps.table, vendor).await? else { return Err(ApiError::NotFound("product")) };
    let mut locales = stockyard_domain::locale::wanted(header(req, "accept-language"));
    if !locales.contains(&found.default_locale) {
        locales.push(found.default_locale.clone());
    }
    for locale in locales.iter().take(8) {
        if let Some(id) = products::by_slug(&deps.table, vendor, locale, &slug).await? {
            return Ok((id, Some(vendor)));
        }
    }
    Err(ApiError::NotFound("product"))
}

/// A published product of an active vendor, by id or by slug (`?vendor=` then names the vendor),
/// in the best locale for `Accept-Language` (falling back through shorter tags to the product's
/// own; answered in `Content-Language`), with each variant's price now in `?currency=` where it
/// has one. Public; anything not on sale is a 404.
#[utoipa::path(get, path = "/products/{productId}", tag = "catalog",
    params(("productId" = String, Path, description = "The product's id, or its slug with `?vendor=`"),
           ("vendor" = Option<stockyard_domain::ids::VendorId>, Query, description = "The vendor, when the path names a slug"),
           ("currency" = Option<String>, Query, description = "ISO 4217"),
           ("Accept-Language" = Option<String>, Header)),
    responses((status = 200, body = PublicProduct), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_product(public: &PublicDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let deps = &public.api;
    let currency =
        stockyard_http::request::query(&req, "currency").map(|raw| Currency::parse("currency", &raw)).transpose()?;
    let (id, vendor_named) = product_named(deps, &req).await?;
    let aggregate = products::aggregate(&deps.table, id).await?.ok_or(ApiError::NotFound("product"))?;
    let product = aggregate.record.product;
    // Another vendor's product is not one of the vendor named.
    if !product.status.is_public() || vendor_named.is_some_and(|v| v != product.vendor_id) {
        return Err(ApiError::NotFound("product"));
    }
    let vendor = vendors::get(&deps.table, product.vendor_id).await?;
    let Some(vendor) = vendor.filter(|v| v.status == VendorStatus::Active) else {
        return Err(ApiError::NotFound("product"));
    };
    // Rates are read only when some variant lacks a price in the currency asked for.
    let needs_rates = currency.is_some_and(|c| aggregate.variants.iter().any(|v| !v.prices.contains_key(&c)));
    let rates = if needs_rates { exchange_rates::current(&deps.table).await? } else { None };
    let mut available = vec![product.locale.clone()];
    available.extend(aggregate.translations.iter().map(|t| t.locale.clone()));
    let chosen = negotiate(header(&req, "accept-language"), &available, &product.locale).locale;
    let (title, description, slug) = match aggregate.translations.iter().find(|t| t.locale == chosen) {
        Some(t) => (t.title.clone(), t.description.clone(), t.slug.clone()),
        None => (product.title.clone(), product.description.clone(), product.slug.clone()),
    };
    let now = Utc::now();
    let variants = aggregate
        .variants
        .into_iter()
        .map(|v| {
            let own = currency.and_then(|c| v.prices.get(&c));
            let converted = match (currency, own, &rates) {
                (Some(to), None, Some(rates)) => v.prices.get(&vendor.base_currency).and_then(|base| {
                    let from = base.current(now);
                    let money = stockyard_domain::money::Money::new(from, vendor.base_currency);
                    let c = convert(money, to, rates).ok()?;
                    let compare_at = base
                        .compare_at
                        .and_then(|a| {
                            convert(stockyard_domain::money::Money::new(a, vendor.base_currency), to, rates).ok()
                        })
                        .map(|c| c.money.amount);
                    Some((
                        c.money.amount,
                        compare_at,
                        ConvertedFrom { currency: vendor.base_currency, price: from, rate: c.rate },
                    ))
                }),
                _ => None,
            };
            let (price, compare_at, converted_from) = match (own, converted) {
                (Some(p), _) => (Some(p.current(now)), p.compare_at, None),
                (None, Some((amount, compare_at, from))) => (Some(amount), compare_at, Some(from)),
                (None, None) => (None, None, None),
            };
            PublicVariant {
                id: v.id,
                sku: v.sku,
                options: v.options,
                gtin: v.gtin,
                max_per_customer: v.max_per_customer,
                price,
                compare_at,
                currency: price.and(currency),
                converted_from,
            }
        })
        .collect();
    let view = PublicProduct {
        id: product.id,
        vendor_id: product.vendor_id,
        category_id: product.category_id,
        locale: chosen.clone(),
        title,
        description_html: markdown::render_html(&description),
        description,
        slug,
        brand: product.brand,
        tags: product.tags,
        attributes: product.attributes,
        variants,
        images: public_images(&aggregate.images, &public.media),
    };
    let mut response = ok(&view);
    response.headers_mut().insert("content-language", chosen.as_str().parse().map_err(ApiError::internal)?);
    Ok(response)
}
