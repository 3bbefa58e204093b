//! The bulk CSV's store operations against DynamoDB Local (see `emulator_tests` for how to run
//! them): a product written whole by one import transaction or not at all, and the import's
//! status moves that keep a redelivered job from running a finished import again.

use std::collections::BTreeMap;

use chrono::Utc;
use stockyard_domain::bulk::{CatalogImport, FileJobStatus, ImportCounts};
use stockyard_domain::catalog::{ProductStatus, TaxClass};
use stockyard_domain::ids::{CategoryId, ImportId, ProductId, UserId, VariantId, VendorId};
use stockyard_domain::locale::Locale;
use stockyard_domain::product::{Product, Variant};
use stockyard_domain::slug::Slug;
use ulid::Ulid;

use crate::StoreError;
use crate::catalog_files::{self, ImportRecord};
use crate::products;

use crate::emulator_tests::table;

fn product(vendor: VendorId, slug: &str) -> Product {
    let now = Utc::now();
    Product {
        id: ProductId::generate(),
        vendor_id: vendor,
        category_id: CategoryId::generate(),
        status: ProductStatus::Draft,
        locale: Locale::parse("locale", "en").unwrap(),
        title: slug.into(),
        description: String::new(),
        slug: Slug::parse("slug", slug).unwrap(),
        brand: None,
        tags: vec![],
        attributes: BTreeMap::new(),
        version: 1,
        created_at: now,
        updated_at: now,
        published_at: None,
    }
}

fn variant(product: &Product, sku: &str, size: &str) -> Variant {
    Variant {
        id: VariantId::generate(),
        product_id: product.id,
        vendor_id: product.vendor_id,
        sku: sku.into(),
        options: BTreeMap::from([("size".to_string(), serde_json::json!(size))]),
        gtin: None,
        weight_g: None,
        dimensions: None,
        tax_class: TaxClass::Standard,
        shelf_life_days: None,
        max_per_customer: None,
        prices: BTreeMap::new(),
        created_at: product.created_at,
        updated_at: product.created_at,
    }
}

#[tokio::test]
async fn an_imported_product_is_written_whole_or_not_at_all_and_the_failed_step_names_its_variant() {
    let table = table().await;
    let vendor = VendorId::generate();
    let import = ImportId::generate();
    let tag = Ulid::new().to_string().to_lowercase();
    let first = product(vendor, &format!("first-{tag}"));
    let taken = format!("TAKEN-{tag}").to_uppercase();
    let first_variants = [variant(&first, &taken, "s")];
    table.commit(products::import(&table, &first, &first_variants, import).unwrap()).await.unwrap();
    let stored = products::aggregate(&table, first.id).await.unwrap().expect("written");
    assert_eq!(stored.record.import_id, Some(import));
    assert_eq!(stored.record.variant_count, 1);
    assert_eq!(stored.variants, first_variants);

    // The second product's variant 1 wants the SKU the first holds: nothing of it is written.
    let second = product(vendor, &format!("second-{tag}"));
    let free = format!("FREE-{tag}").to_uppercase();
    let second_variants = [variant(&second, &free, "s"), variant(&second, &taken, "m")];
    let err = table.commit(products::import(&table, &second, &second_variants, import).unwrap()).await.unwrap_err();
    assert_eq!(products::import_step(&err), Some((products::SKU_TAKEN, 1)), "{err:?}");
    assert!(products::get(&table, second.id).await.unwrap().is_none());
    assert_eq!(products::by_slug(&table, vendor, &second.locale, &second.slug).await.unwrap(), None);
    assert_eq!(products::sku_owner(&table, vendor, &free).await.unwrap(), None, "the good variant's SKU stays free");
    assert_eq!(products::sku_owner(&table, vendor, &taken).await.unwrap(), Some(first.id));
    assert_eq!(products::by_slug(&table, vendor, &first.locale, &first.slug).await.unwrap(), Some(first.id));
}

#[tokio::test]
async fn an_import_runs_once_started_and_a_finished_one_is_not_taken_again() {
    let table = table().await;
    let (vendor, id, now) = (VendorId::generate(), ImportId::generate(), Utc::now());
    let import = CatalogImport {
        id,
        vendor_id: vendor,
        status: FileJobStatus::Uploading,
        created_by: UserId::generate(),
        created_at: now,
        updated_at: now,
        counts: ImportCounts::default(),
        errors: vec![],
        errors_truncated: false,
        failure: None,
        finished_at: None,
    };
    let record = ImportRecord { import, object_key: "imports/x.csv".into(), expires_at: catalog_files::expiry(now) };
    catalog_files::create_import(&table, &record).await.unwrap();
    let run = [FileJobStatus::Queued, FileJobStatus::Processing];
    let take = || catalog_files::move_import(&table, vendor, id, &run, FileJobStatus::Processing, Utc::now());
    assert!(matches!(take().await, Err(StoreError::ConditionFailed)), "not started: the job leaves it");
    let start = [FileJobStatus::Uploading, FileJobStatus::Queued];
    catalog_files::move_import(&table, vendor, id, &start, FileJobStatus::Queued, Utc::now()).await.unwrap();
    let mut taken = take().await.unwrap();
    assert_eq!(taken.import.status, FileJobStatus::Processing);
    // A second delivery while it runs takes it too (it resumes); once done, nobody does.
    take().await.unwrap();
    taken.import.status = FileJobStatus::Done;
    taken.import.counts.created = 3;
    catalog_files::save_import(&table, &taken).await.unwrap();
    assert!(matches!(take().await, Err(StoreError::ConditionFailed)));
    assert!(matches!(catalog_files::save_import(&table, &taken).await, Err(StoreError::ConditionFailed)));
    let stored = catalog_files::get_import(&table, vendor, id).await.unwrap().unwrap();
    assert_eq!((stored.import.status, stored.import.counts.created), (FileJobStatus::Done, 3));
    assert_eq!(
        catalog_files::get_import(&table, VendorId::generate(), id).await.unwrap(),
        None,
        "another vendor's key"
    );
}
