//! A vendor's products: the product item and, in the same partition, its variants and
//! translations, so one product reads with a GetItem and two Queries. What must be unique is
//! claimed with a conditional put in the transaction that takes it: a slug per vendor and locale,
//! a SKU per vendor, a GTIN per vendor, and an option combination per product. Changes are
//! written on the version (product) or `updated_at` (variant) they were decided on.

use serde::{Deserialize, Serialize};
use stockyard_domain::catalog::ProductStatus;
use stockyard_domain::gtin::Gtin;
use stockyard_domain::ids::{ImageId, ImportId, ProductId, VariantId, VendorId};
use stockyard_domain::image::{ImageStatus, MAX_IMAGES, ProductImage};
use stockyard_domain::locale::Locale;
use stockyard_domain::product::{MAX_VARIANTS, Product, ProductTranslation, Variant};
use stockyard_domain::slug::Slug;

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

/// The product item, with how many variants it has (kept by the transactions that add them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    #[serde(flatten)]
    pub product: Product,
    #[serde(default)]
    pub variant_count: u32,
    #[serde(default)]
    pub image_count: u32,
    /// The CSV import that created the product, if one did (a retried import job tells its own
    /// earlier work from products that were there before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<ImportId>,
}

impl Entity for ProductRecord {
    type Id = ProductId;
    const NAME: &'static str = "product";
    fn key(id: &ProductId) -> keys::Key {
        keys::product(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::product(self.product.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::vendor_product_listing(self.product.vendor_id, self.product.id))
    }
}

impl Entity for Variant {
    type Id = (ProductId, VariantId);
    const NAME: &'static str = "variant";
    fn key((product, id): &(ProductId, VariantId)) -> keys::Key {
        keys::variant(*product, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::variant(self.product_id, self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::variant_listing(self.id))
    }
}

impl Entity for ProductImage {
    type Id = (ProductId, ImageId);
    const NAME: &'static str = "product image";
    fn key((product, id): &(ProductId, ImageId)) -> keys::Key {
        keys::product_image(*product, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::product_image(self.product_id, self.id)
    }
}

impl Entity for ProductTranslation {
    type Id = (ProductId, Locale);
    const NAME: &'static str = "product translation";
    fn key((product, locale): &(ProductId, Locale)) -> keys::Key {
        keys::product_translation(*product, locale)
    }
    fn key_of(&self) -> keys::Key {
        keys::product_translation(self.product_id, &self.locale)
    }
}

/// Claims a slug for one product of a vendor in one locale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSlugRecord {
    pub vendor_id: VendorId,
    pub locale: Locale,
    pub slug: Slug,
    pub product_id: ProductId,
}

impl Entity for ProductSlugRecord {
    type Id = (VendorId, Locale, Slug);
    const NAME: &'static str = "product slug";
    fn key((vendor, locale, slug): &(VendorId, Locale, Slug)) -> keys::Key {
        keys::product_slug(*vendor, locale, slug)
    }
    fn key_of(&self) -> keys::Key {
        keys::product_slug(self.vendor_id, &self.locale, &self.slug)
    }
}

/// Claims a SKU within a vendor (barcode and stock lookups start here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuRecord {
    pub vendor_id: VendorId,
    pub sku: String,
    pub product_id: ProductId,
    pub variant_id: VariantId,
}

impl Entity for SkuRecord {
    type Id = (VendorId, String);
    const NAME: &'static str = "sku";
    fn key((vendor, sku): &(VendorId, String)) -> keys::Key {
        keys::sku(*vendor, sku)
    }
    fn key_of(&self) -> keys::Key {
        keys::sku(self.vendor_id, &self.sku)
    }
}

/// Claims a GTIN within a vendor; the GTIN's partition lists every vendor selling that item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GtinRecord {
    pub gtin: Gtin,
    pub vendor_id: VendorId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
}

impl Entity for GtinRecord {
    type Id = (Gtin, VendorId);
    const NAME: &'static str = "gtin";
    fn key((gtin, vendor): &(Gtin, VendorId)) -> keys::Key {
        keys::gtin(gtin, *vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::gtin(&self.gtin, self.vendor_id)
    }
}

/// Claims one combination of option values within a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionsRecord {
    pub product_id: ProductId,
    /// The options as canonical JSON (keys sorted).
    pub options: String,
    pub variant_id: VariantId,
}

impl Entity for OptionsRecord {
    type Id = (ProductId, String);
    const NAME: &'static str = "variant options";
    fn key((product, options): &(ProductId, String)) -> keys::Key {
        keys::variant_options(*product, options)
    }
    fn key_of(&self) -> keys::Key {
        keys::variant_options(self.product_id, &self.options)
    }
}

/// Steps whose failed condition a handler explains.
pub const SLUG_TAKEN: &str = "slug";
pub const SKU_TAKEN: &str = "sku";
pub const GTIN_TAKEN: &str = "gtin";
pub const OPTIONS_TAKEN: &str = "options";
/// The product changed (or its status moved) since it was read.
pub const PRODUCT_CHANGED: &str = "product";
/// The variant changed since it was read.
pub const VARIANT_CHANGED: &str = "variant";

fn canonical(options: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    serde_json::to_string(options).expect("JSON values serialise")
}

fn claim_slug(
    tx: &mut Tx,
    vendor: VendorId,
    locale: &Locale,
    slug: &Slug,
    product: ProductId,
) -> Result<(), StoreError> {
    let claim =
        ProductSlugRecord { vendor_id: vendor, locale: locale.clone(), slug: slug.clone(), product_id: product };
    tx.put(SLUG_TAKEN, &claim, Some(Expr::not_exists()))?;
    Ok(())
}

fn release_slug(
    tx: &mut Tx,
    vendor: VendorId,
    locale: &Locale,
    slug: &Slug,
    product: ProductId,
) -> Result<(), StoreError> {
    let mine = Expr::new("product_id = :p").val(":p", &product);
    tx.delete::<ProductSlugRecord>("old_slug", &(vendor, locale.clone(), slug.clone()), Some(mine))?;
    Ok(())
}

/// Creates a product (a draft) and claims its slug (step [`SLUG_TAKEN`]).
pub fn create(table: &Table, product: &Product) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let record = ProductRecord { product: product.clone(), variant_count: 0, image_count: 0, import_id: None };
    tx.put("new_product", &record, Some(Expr::not_exists()))?;
    claim_slug(&mut tx, product.vendor_id, &product.locale, &product.slug, product.id)?;
    Ok(tx)
}

pub async fn get(table: &Table, id: ProductId) -> Result<Option<ProductRecord>, StoreError> {
    table.get::<ProductRecord>(&id).await
}

/// A product with its variants (oldest first), translations and images (by position), read at
/// once.
pub struct ProductAggregate {
    pub record: ProductRecord,
    pub variants: Vec<Variant>,
    pub translations: Vec<ProductTranslation>,
    pub images: Vec<ProductImage>,
}

pub async fn aggregate(table: &Table, id: ProductId) -> Result<Option<ProductAggregate>, StoreError> {
    let (variants_of, translations_of, images_of) =
        (keys::variants_of(id), keys::translations_of(id), keys::images_of(id));
    let (record, variants, translations, mut images) = tokio::try_join!(
        get(table, id),
        table.query_all(&variants_of),
        table.query_all(&translations_of),
        table.query_all(&images_of)
    )?;
    images.sort_by_key(|i: &ProductImage| (i.position, i.id));
    Ok(record.map(|record| ProductAggregate { record, variants, translations, images }))
}

/// The step that fails when the product has no room for another image (or is archived or gone).
pub const IMAGE_ROOM: &str = "image_room";

/// Adds an image awaiting its upload to a product that is not archived and has room (step
/// [`IMAGE_ROOM`]).
pub fn add_image(table: &Table, image: &ProductImage) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let count = Expr::default()
        .val(":one", &1)
        .set_remove(&["image_count = if_not_exists(image_count, :zero) + :one"], &[])
        .val(":zero", &0);
    let room = Expr::new(
        "attribute_exists(PK) AND #status <> :archived AND (attribute_not_exists(image_count) OR image_count < :max)",
    )
    .name("#status", "status")
    .val(":archived", &ProductStatus::Archived)
    .val(":max", &MAX_IMAGES);
    tx.update::<ProductRecord>(IMAGE_ROOM, &image.product_id, Change::new(count).when(room))?;
    tx.put("new_image", image, Some(Expr::not_exists()))?;
    Ok(tx)
}

pub async fn image(table: &Table, product: ProductId, id: ImageId) -> Result<Option<ProductImage>, StoreError> {
    table.get::<ProductImage>(&(product, id)).await
}

/// Records the processor's outcome for an image still pending (`StoreError::ConditionFailed`
/// when it was already decided: a repeated notification changes nothing).
pub async fn finish_image(table: &Table, image: &ProductImage) -> Result<(), StoreError> {
    let pending = Expr::new("#status IN (:awaiting, :processing)")
        .name("#status", "status")
        .val(":awaiting", &ImageStatus::AwaitingUpload)
        .val(":processing", &ImageStatus::Processing);
    table.put(image, Some(pending)).await
}

/// The vendor's products, newest first by default, optionally of one status (read on until the
/// page is full; see `Page::partial`).
pub async fn list_for_vendor(
    table: &Table,
    vendor: VendorId,
    status: Option<ProductStatus>,
    page: &PageRequest,
) -> Result<Page<Product>, StoreError> {
    let filter = status.map(|s| Expr::new("#status = :status").name("#status", "status").val(":status", &s));
    let found = table.query_filtered(&keys::products_of(vendor), page, filter, |_| true).await?;
    Ok(found.map(|r: ProductRecord| r.product))
}

/// Writes `next` over `current` if the product is still at `current`'s version (step
/// [`PRODUCT_CHANGED`]), moving the slug claim when the slug changed (step [`SLUG_TAKEN`]).
pub async fn update(table: &Table, current: &ProductRecord, next: &Product) -> Result<(), StoreError> {
    let mut tx = table.tx();
    let record = ProductRecord {
        product: next.clone(),
        variant_count: current.variant_count,
        image_count: current.image_count,
        import_id: current.import_id,
    };
    // The counters move without the version (adding a variant or an image): a whole-item write
    // must also find them as read, or it would put back an older count.
    let same_version = Expr::new(
        "version = :v AND (attribute_not_exists(variant_count) OR variant_count = :vc) \
         AND (attribute_not_exists(image_count) OR image_count = :ic)",
    )
    .val(":v", &current.product.version)
    .val(":vc", &current.variant_count)
    .val(":ic", &current.image_count);

    tx.put(PRODUCT_CHANGED, &record, Some(same_version))?;
    let old = &current.product;
    if old.slug != next.slug || old.locale != next.locale {
        release_slug(&mut tx, old.vendor_id, &old.locale, &old.slug, old.id)?;
        claim_slug(&mut tx, next.vendor_id, &next.locale, &next.slug, next.id)?;
    }
    table.commit(tx).await
}

/// Moves a product from status `from` to `next` (a failed condition: it moved meanwhile).
pub async fn set_status(
    table: &Table,
    id: ProductId,
    from: ProductStatus,
    next: ProductStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<ProductRecord, StoreError> {
    let mut set = vec!["#status = :next", "updated_at = :at", "version = version + :one"];
    if next == ProductStatus::Published {
        set.push("published_at = :at");
    }
    let update = Expr::default()
        .name("#status", "status")
        .val(":next", &next)
        .val(":at", &at)
        .val(":one", &1)
        .set_remove(&set, &[]);
    let from = Expr::new("#status = :from").name("#status", "status").val(":from", &from);
    table.update::<ProductRecord>(&id, Change::new(update).when(from)).await
}

fn claim_variant(tx: &mut Tx, variant: &Variant) -> Result<(), StoreError> {
    let sku = SkuRecord {
        vendor_id: variant.vendor_id,
        sku: variant.sku.clone(),
        product_id: variant.product_id,
        variant_id: variant.id,
    };
    tx.put(SKU_TAKEN, &sku, Some(Expr::not_exists()))?;
    Ok(())
}

fn claim_options(tx: &mut Tx, variant: &Variant) -> Result<(), StoreError> {
    let options =
        OptionsRecord { product_id: variant.product_id, options: canonical(&variant.options), variant_id: variant.id };
    tx.put(OPTIONS_TAKEN, &options, Some(Expr::not_exists()))?;
    Ok(())
}

fn claim_gtin(tx: &mut Tx, variant: &Variant, gtin: &Gtin) -> Result<(), StoreError> {
    let claim = GtinRecord {
        gtin: gtin.clone(),
        vendor_id: variant.vendor_id,
        product_id: variant.product_id,
        variant_id: variant.id,
    };
    tx.put(GTIN_TAKEN, &claim, Some(Expr::not_exists()))?;
    Ok(())
}

/// Adds a variant to a product that is not archived and has room (step [`PRODUCT_CHANGED`]),
/// claiming its SKU, its option combination and its GTIN (steps [`SKU_TAKEN`],
/// [`OPTIONS_TAKEN`], [`GTIN_TAKEN`]).
pub fn add_variant(table: &Table, variant: &Variant) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let count = Expr::default()
        .val(":one", &1)
        .set_remove(&["variant_count = if_not_exists(variant_count, :zero) + :one"], &[])
        .val(":zero", &0);
    let room = Expr::new(
        "attribute_exists(PK) AND #status <> :archived AND (attribute_not_exists(variant_count) OR variant_count < :max)",
    )
    .name("#status", "status")
    .val(":archived", &ProductStatus::Archived)
    .val(":max", &(MAX_VARIANTS as u32));
    tx.update::<ProductRecord>(PRODUCT_CHANGED, &variant.product_id, Change::new(count).when(room))?;
    tx.put("new_variant", variant, Some(Expr::not_exists()))?;
    claim_variant(&mut tx, variant)?;
    claim_options(&mut tx, variant)?;
    if let Some(gtin) = &variant.gtin {
        claim_gtin(&mut tx, variant, gtin)?;
    }
    Ok(tx)
}

/// The variant a vendor's SKU names, if any (the SKU as stored: upper-case).
pub async fn by_sku(table: &Table, vendor: VendorId, sku: &str) -> Result<Option<SkuRecord>, StoreError> {
    table.get::<SkuRecord>(&(vendor, sku.to_string())).await
}

/// The variant a vendor's SKU names, if any (the claim, then the variant: two reads).
pub async fn variant_by_sku(table: &Table, vendor: VendorId, sku: &str) -> Result<Option<Variant>, StoreError> {
    let Some(claim) = by_sku(table, vendor, sku).await? else { return Ok(None) };
    variant(table, claim.product_id, claim.variant_id).await
}

/// Every vendor's variant with this GTIN (UPC-A and EAN-13 forms of one item meet).
pub async fn by_gtin(table: &Table, gtin: &Gtin) -> Result<Vec<GtinRecord>, StoreError> {
    table.query_all(&keys::gtin_claims(gtin)).await
}

/// Creates a product with all its variants in one transaction, as a CSV import does: the product
/// (marked with the import), its slug claim (step [`SLUG_TAKEN`]) and, for the variant at index
/// `i`, the variant and its claims (steps `sku:i`, `options:i`, `gtin:i`; see [`import_step`]).
/// At most [`MAX_VARIANTS`] variants: 2 + 24 × 4 = 98 writes, within DynamoDB's 100.
pub fn import(table: &Table, product: &Product, variants: &[Variant], import_id: ImportId) -> Result<Tx, StoreError> {
    if variants.len() > MAX_VARIANTS {
        return Err(StoreError::Unavailable(format!("a product has at most {MAX_VARIANTS} variants")));
    }
    let mut tx = table.tx();
    let record = ProductRecord {
        product: product.clone(),
        variant_count: variants.len() as u32,
        image_count: 0,
        import_id: Some(import_id),
    };
    tx.put(PRODUCT_CHANGED, &record, Some(Expr::not_exists()))?;
    claim_slug(&mut tx, product.vendor_id, &product.locale, &product.slug, product.id)?;
    for (i, variant) in variants.iter().enumerate() {
        tx.put(format!("new_variant:{i}"), variant, Some(Expr::not_exists()))?;
        let sku = SkuRecord {
            vendor_id: variant.vendor_id,
            sku: variant.sku.clone(),
            product_id: variant.product_id,
            variant_id: variant.id,
        };
        tx.put(format!("{SKU_TAKEN}:{i}"), &sku, Some(Expr::not_exists()))?;
        let options = OptionsRecord {
            product_id: variant.product_id,
            options: canonical(&variant.options),
            variant_id: variant.id,
        };
        tx.put(format!("{OPTIONS_TAKEN}:{i}"), &options, Some(Expr::not_exists()))?;
        if let Some(gtin) = &variant.gtin {
            let claim = GtinRecord {
                gtin: gtin.clone(),
                vendor_id: variant.vendor_id,
                product_id: variant.product_id,
                variant_id: variant.id,
            };
            tx.put(format!("{GTIN_TAKEN}:{i}"), &claim, Some(Expr::not_exists()))?;
        }
    }
    Ok(tx)
}

/// The step of an [`import`] transaction that failed: its kind ([`SKU_TAKEN`], [`GTIN_TAKEN`],
/// [`OPTIONS_TAKEN`]) and variant index, or `None` for a product-level step.
pub fn import_step(error: &StoreError) -> Option<(&str, usize)> {
    let StoreError::Conflict { step } = error else { return None };
    let (kind, index) = step.split_once(':')?;
    Some((kind, index.parse().ok()?))
}

/// The product that holds `slug` among the vendor's products in `locale`, if any.
pub async fn by_slug(
    table: &Table,
    vendor: VendorId,
    locale: &Locale,
    slug: &Slug,
) -> Result<Option<ProductId>, StoreError> {
    let claim = table.get::<ProductSlugRecord>(&(vendor, locale.clone(), slug.clone())).await?;
    Ok(claim.map(|c| c.product_id))
}

/// The product holding a SKU of the vendor, if any.
pub async fn sku_owner(table: &Table, vendor: VendorId, sku: &str) -> Result<Option<ProductId>, StoreError> {
    Ok(by_sku(table, vendor, sku).await?.map(|c| c.product_id))
}

/// The vendor's variant with this GTIN (any of its lengths), if any: the vendor's claim on the
/// GTIN, then the variant (two reads), as a barcode look-up within one vendor finds it.
pub async fn variant_by_gtin(table: &Table, vendor: VendorId, gtin: &Gtin) -> Result<Option<Variant>, StoreError> {
    let Some(claim) = table.get::<GtinRecord>(&(gtin.clone(), vendor)).await? else { return Ok(None) };
    variant(table, claim.product_id, claim.variant_id).await
}

/// The product holding a GTIN among the vendor's, if any.
pub async fn gtin_owner(table: &Table, vendor: VendorId, gtin: &Gtin) -> Result<Option<ProductId>, StoreError> {
    Ok(table.get::<GtinRecord>(&(gtin.clone(), vendor)).await?.map(|c| c.product_id))
}

pub async fn variant(table: &Table, product: ProductId, id: VariantId) -> Result<Option<Variant>, StoreError> {
    table.get::<Variant>(&(product, id)).await
}

/// A variant found by its id alone: its product from the index (eventually consistent; a
/// variant never moves to another product), then the variant itself read strongly consistent.
pub async fn variant_by_id(table: &Table, id: VariantId) -> Result<Option<Variant>, StoreError> {
    let listed = table.query_up_to(&keys::variant_by_id(id), 1).await?;
    match listed.first() {
        Some(found) => variant(table, found.product_id, id).await,
        None => Ok(None),
    }
}

/// Writes `next` over `current` if the variant is unchanged since read (step
/// [`VARIANT_CHANGED`]), moving the claims of a changed SKU, option combination or GTIN.
pub async fn update_variant(table: &Table, current: &Variant, next: &Variant) -> Result<(), StoreError> {
    let mut tx = table.tx();
    let unchanged = Expr::new("updated_at = :read").val(":read", &current.updated_at);
    tx.put(VARIANT_CHANGED, next, Some(unchanged))?;
    let mine = || Expr::new("variant_id = :v").val(":v", &current.id);
    if current.sku != next.sku {
        tx.delete::<SkuRecord>("old_sku", &(current.vendor_id, current.sku.clone()), Some(mine()))?;
        claim_variant(&mut tx, next)?;
    }
    if current.options != next.options {
        tx.delete::<OptionsRecord>("old_options", &(current.product_id, canonical(&current.options)), Some(mine()))?;
        claim_options(&mut tx, next)?;
    }
    if current.gtin != next.gtin {
        if let Some(old) = &current.gtin {
            tx.delete::<GtinRecord>("old_gtin", &(old.clone(), current.vendor_id), Some(mine()))?;
        }
        if let Some(gtin) = &next.gtin {
            claim_gtin(&mut tx, next, gtin)?;
        }
    }
    table.commit(tx).await
}

/// A product's translation into one locale, if it has one.
pub async fn translation(
    table: &Table,
    product: ProductId,
    locale: &Locale,
) -> Result<Option<ProductTranslation>, StoreError> {
    table.get::<ProductTranslation>(&(product, locale.clone())).await
}

/// Puts a product's translation into one locale, moving its slug claim (step [`SLUG_TAKEN`]).
/// `current` is the translation as read (None when new); the write holds only if it is unchanged.
pub async fn put_translation(
    table: &Table,
    vendor: VendorId,
    current: Option<&ProductTranslation>,
    next: &ProductTranslation,
) -> Result<(), StoreError> {
    let mut tx = table.tx();
    let unchanged = match current {
        Some(c) => Expr::new("updated_at = :read").val(":read", &c.updated_at),
        None => Expr::not_exists(),
    };
    tx.put("translation", next, Some(unchanged))?;
    match current {
        Some(c) if c.slug == next.slug => {}
        Some(c) => {
            release_slug(&mut tx, vendor, &c.locale, &c.slug, c.product_id)?;
            claim_slug(&mut tx, vendor, &next.locale, &next.slug, next.product_id)?;
        }
        None => claim_slug(&mut tx, vendor, &next.locale, &next.slug, next.product_id)?,
    }
    table.commit(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stockyard_domain::ids::CategoryId;

    #[test]
    fn a_product_without_attributes_is_written_without_an_empty_map_and_reads_back_the_same() {
        let now = Utc::now();
        let product = Product {
            id: ProductId::generate(),
            vendor_id: VendorId::generate(),
            category_id: CategoryId::generate(),
            status: ProductStatus::Draft,
            locale: Locale::parse("locale", "en").unwrap(),
            title: "Jumper".into(),
            description: String::new(),
            slug: Slug::parse("slug", "jumper").unwrap(),
            brand: None,
            tags: vec![],
            attributes: Default::default(),
            version: 1,
            created_at: now,
            updated_at: now,
            published_at: None,
        };
        let record = ProductRecord { product, variant_count: 0, image_count: 0, import_id: None };
        let item = crate::table::to_item(&record).unwrap();
        assert!(!item.contains_key("attributes"), "DynamoDB Local's stream cannot carry an empty map");
        let back: ProductRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back, record);
    }
}
