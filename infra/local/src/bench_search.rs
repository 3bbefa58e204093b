//! The search benchmark (`make bench`, figures printed, nothing asserted), against a fresh local
//! stack running the release binaries:
//!
//! 1. 100,000 synthetic products indexed by the indexer's code (documents → tantivy → a version
//!    published to the local S3): build rate and index size.
//! 2. Cold start: a new reader loads that version from the local S3 (pointer, manifest, files) and
//!    answers its first query.
//! 3. Warm latency: a two-word query with its facets (categories, brands, price ranges,
//!    attributes), p50 and p99 over many queries.
//! 4. Publish to findable: a product published through the API until `GET /products` finds it.
//! 5. The same question asked of DynamoDB: a Query of one vendor's products filtered on the title.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use stockyard_domain::ids::{CategoryId, ProductId, VendorId};
use stockyard_domain::locale::Locale;
use stockyard_domain::money::Currency;
use stockyard_search::document::{LocalText, ProductDoc};
use stockyard_search::engine::{self, SearchQuery, WRITER_MEMORY};
use stockyard_search::snapshot::{IndexStore, Loaded};

use crate::bootstrap;
use crate::stack;

/// Products in the synthetic index.
pub const PRODUCTS: usize = 100_000;
/// Warm queries timed.
const QUERIES: usize = 500;
/// Products written to DynamoDB for the query-and-filter comparison.
const DYNAMO_PRODUCTS: usize = 10_000;

const ADJECTIVES: &[&str] = &[
    "waterproof",
    "lightweight",
    "insulated",
    "organic",
    "smoked",
    "linen",
    "brass",
    "woven",
    "vintage",
    "alpine",
    "merino",
    "recycled",
    "classic",
    "compact",
    "rugged",
    "soft",
    "bright",
    "heavy",
    "quick",
    "warm",
];
const NOUNS: &[&str] = &[
    "jacket",
    "boots",
    "tent",
    "lamp",
    "cheddar",
    "honey",
    "blanket",
    "scarf",
    "stove",
    "gloves",
    "backpack",
    "mug",
    "cushion",
    "curtain",
    "sourdough",
    "granola",
    "socks",
    "torch",
    "bottle",
    "chair",
];
const BRANDS: &[&str] = &["Northwind", "Alpina", "Trailworks", "Hillside", "Maison", "Atelier", "Verdant", "Summit"];

fn synthetic(n: usize, categories: &[CategoryId], vendors: &[VendorId], eur: Currency) -> ProductDoc {
    let (a, b, c) =
        (ADJECTIVES[n % ADJECTIVES.len()], ADJECTIVES[(n / 7) % ADJECTIVES.len()], NOUNS[(n / 3) % NOUNS.len()]);
    let title = format!("{a} {b} {c} {n}");
    let text = |locale: &str| LocalText {
        locale: Locale::parse("locale", locale).expect("a locale"),
        title: title.clone(),
        slug: title.replace(' ', "-"),
        body: format!("A {a} {c} for every day. Made to last; {b} finish."),
    };
    ProductDoc {
        product_id: ProductId::generate(),
        vendor_id: vendors[n % vendors.len()],
        vendor_name: format!("Vendor {}", n % vendors.len()),
        category_id: categories[n % categories.len()],
        brand: Some(BRANDS[n % BRANDS.len()].to_string()),
        tags: vec![c.to_string()],
        attributes: vec![
            format!("size={}", ["s", "m", "l"][n % 3]),
            format!("colour={}", ["red", "navy", "grey", "green"][n % 4]),
        ],
        texts: ["en", "fr", "de", "es"].iter().map(|l| (l.to_string(), text("en"))).collect(),
        base_currency: eur,
        variant_prices: vec![[(eur, 500 + (n as i64 * 37) % 50_000)].into_iter().collect()],
        published_at: chrono::Utc::now() - chrono::Duration::minutes(n as i64),
        thumbnail: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub async fn run(root: &std::path::Path) -> Result<()> {
    // Release binaries when they are built (`make bench` builds them), else the debug ones.
    let release = crate::stack::binary_path(root, "search-products", true).is_file();
    let kind = if release { "release" } else { "debug (no release build found)" };
    println!("\nSearch: {PRODUCTS} synthetic products; the stack runs {kind} binaries");
    let running = crate::bench::bench_stack(root, release, 2).await?;
    let result = measure(&running).await;
    running.stop(false).await;
    result
}

async fn measure(running: &stack::Running) -> Result<()> {
    let env = |name: &str| running.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let clients = bootstrap::Clients::new(&env("AWS_ENDPOINT_URL_DYNAMODB"), &env("AWS_ENDPOINT_URL")).await;
    let table = stockyard_store::Table::new(clients.dynamodb.clone(), env("STOCKYARD_TABLE_NAME"));
    // A bucket and index name of the benchmark's own, so the stack's indexer never meets it.
    let store = IndexStore {
        bucket: stockyard_store::objects::Bucket::with_client(
            clients.s3.clone(),
            env("STOCKYARD_SEARCH_INDEX_BUCKET_NAME"),
        ),
        table: table.clone(),
        name: "bench".into(),
    };
    let eur = Currency::parse("currency", "EUR")?;
    let categories: Vec<CategoryId> = (0..40).map(|_| CategoryId::generate()).collect();
    let vendors: Vec<VendorId> = (0..200).map(|_| VendorId::generate()).collect();

    // 1. Build and publish.
    let docs: Vec<ProductDoc> = (0..PRODUCTS).map(|n| synthetic(n, &categories, &vendors, eur)).collect();
    let mut loaded = Loaded::empty();
    let t = Instant::now();
    let index = loaded.index.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<u64> {
        let fields = engine::fields();
        let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        for d in &docs {
            engine::upsert(&writer, fields, d.product_id, Some(d), None)?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        Ok(index.reader()?.searcher().num_docs())
    })
    .await??;
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let version = store.publish(&mut loaded, built).await?;
    let publish_s = t.elapsed().as_secs_f64();
    println!(
        "  build: {built} documents in {build_s:.1}s ({:.0} products/s, one writer thread); published to S3 in {publish_s:.1}s; index {:.1} MB",
        built as f64 / build_s,
        loaded.size_bytes() as f64 / 1_048_576.0
    );
    drop(loaded);

    // 2. Cold start: load from S3 and answer one query.
    let query = |offset: usize| {
        let text = format!("{} {}", ADJECTIVES[offset % ADJECTIVES.len()], NOUNS[(offset / 3) % NOUNS.len()]);
        SearchQuery::new(Some(&text), "en", eur, 20)
    };
    let t = Instant::now();
    let cold = store.load(&version, None).await?;
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let reader: tantivy::IndexReader = cold.index.reader()?;
    let first = engine::search(&cold.index, &reader, &query(0))?;
    println!(
        "  cold start: index loaded from the local S3 in {load_ms:.0} ms, first query answered at {:.0} ms ({} matches)",
        t.elapsed().as_secs_f64() * 1000.0,
        first.total
    );

    // 3. Warm latency.
    let mut times = Vec::with_capacity(QUERIES);
    let mut matched = 0;
    for i in 0..QUERIES {
        let q = query(i * 11 + 1);
        let t = Instant::now();
        let r = engine::search(&cold.index, &reader, &q)?;
        times.push(t.elapsed());
        matched += r.total;
    }
    times.sort();
    println!(
        "  warm: {QUERIES} two-word queries with facets (categories, brands, price ranges, attributes): p50 {:.2} ms, p99 {:.2} ms (goal 15 / 50 ms); {:.0} matches on average",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        matched as f64 / QUERIES as f64
    );

    // 4. Publish → findable through the running stack (before the DynamoDB writes below, whose
    //    catalog events would queue ahead of it).
    let delay = publish_to_findable(running).await?;
    println!(
        "  publish → findable: {delay:.2} s (goal ≤ 5 s): stream → router → queue → index-products → S3 → search-products"
    );
    // 5. DynamoDB: one vendor's products, filtered on the title.
    let vendor = VendorId::generate();
    let t = Instant::now();
    write_products(&table, vendor, DYNAMO_PRODUCTS, &categories).await?;
    println!("  DynamoDB: {DYNAMO_PRODUCTS} products of one vendor written in {:.1}s", t.elapsed().as_secs_f64());
    let mut dyn_times = Vec::new();
    for i in 0..5 {
        let (a, c) = (ADJECTIVES[(i * 11 + 1) % ADJECTIVES.len()], NOUNS[((i * 11 + 1) / 3) % NOUNS.len()]);
        let t = Instant::now();
        let found = dynamo_filter(&clients.dynamodb, &env("STOCKYARD_TABLE_NAME"), vendor, a, c).await?;
        dyn_times.push((t.elapsed(), found));
    }
    let mut ms: Vec<f64> = dyn_times.iter().map(|(d, _)| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "  DynamoDB query-and-filter over that vendor's products (the same two words, no stemming, typos or facets): median {:.0} ms for {DYNAMO_PRODUCTS} products ({} matches); it reads every product of the vendor, so it grows with the catalogue",
        ms[ms.len() / 2],
        dyn_times[0].1
    );

    println!("  figures only, nothing asserted");
    Ok(())
}

async fn write_products(
    table: &stockyard_store::Table,
    vendor: VendorId,
    count: usize,
    categories: &[CategoryId],
) -> Result<()> {
    use futures_util::StreamExt;
    let results: Vec<Result<()>> = futures_util::stream::iter(0..count)
        .map(|n| {
            let table = table.clone();
            let category = categories[n % categories.len()];
            async move {
                let (a, b, c) = (
                    ADJECTIVES[n % ADJECTIVES.len()],
                    ADJECTIVES[(n / 7) % ADJECTIVES.len()],
                    NOUNS[(n / 3) % NOUNS.len()],
                );
                let now = chrono::Utc::now();
                let product = stockyard_domain::product::Product {
                    id: ProductId::generate(),
                    vendor_id: vendor,
                    category_id: category,
                    status: stockyard_domain::catalog::ProductStatus::Draft,
                    locale: Locale::parse("locale", "en")?,
                    title: format!("{a} {b} {c} {n}"),
                    description: String::new(),
                    slug: stockyard_domain::slug::Slug::parse("slug", &format!("p-{n}"))?,
                    brand: None,
                    tags: vec![],
                    attributes: Default::default(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    published_at: None,
                };
                table.commit(stockyard_store::products::create(&table, &product)?).await?;
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn dynamo_filter(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    vendor: VendorId,
    a: &str,
    c: &str,
) -> Result<usize> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut found = 0;
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .filter_expression("contains(title, :a) AND contains(title, :c)")
            .expression_attribute_values(":pk", AttributeValue::S(format!("VENDORPRODUCTS#{vendor}")))
            .expression_attribute_values(":a", AttributeValue::S(a.to_string()))
            .expression_attribute_values(":c", AttributeValue::S(c.to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("querying DynamoDB Local")?;
        found += out.items().len();
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(found);
        }
    }
}

async fn publish_to_findable(running: &stack::Running) -> Result<f64> {
    use reqwest::Method;
    let api = crate::seed::Api::new(&running.api_url);
    let tag = ulid::Ulid::new().to_string().to_lowercase();
    let owner = api.user(&format!("bench-{tag}@stockyard.example"), "Bench Owner").await?;
    api.verify_email(&owner).await?;
    api.expect(Method::POST, "/vendors", Some(&owner), Some(json!({ "name": format!("Bench {tag}") })), false).await?;
    let owner = api.login(&format!("bench-{tag}@stockyard.example"), crate::seed::DEMO_PASSWORD).await?;
    let vendor_id = api.me(&owner).await?["vendor_id"].as_str().context("the bench vendor")?.to_string();
    let params = &running.parameters;
    let admin = api.login(&params["AdminEmail"], &params["AdminPassword"]).await?;
    let category = api
        .expect(
            Method::POST,
            "/categories",
            Some(&admin),
            Some(json!({ "names": { "en": format!("Bench {tag}") } })),
            false,
        )
        .await?
        .unwrap_or_default();
    let product = api
        .expect(
            Method::POST,
            &format!("/vendors/{vendor_id}/products"),
            Some(&owner),
            Some(json!({ "category_id": category["id"], "title": format!("Findable {tag}") })),
            false,
        )
        .await?
        .unwrap_or_default();
    let product_id = product["id"].as_str().context("a product id")?.to_string();
    let variant = json!({ "sku": format!("B-{tag}"), "prices": { "EUR": { "amount": 100 } } });
    api.expect(
        Method::POST,
        &format!("/vendors/{vendor_id}/products/{product_id}/variants"),
        Some(&owner),
        Some(variant),
        false,
    )
    .await?;
    // Warm the reader first, as a live marketplace's would be.
    let http = reqwest::Client::new();
    http.get(format!("{}/products?q=warmup", running.api_url)).send().await?;
    let t = Instant::now();
    let status = format!("/vendors/{vendor_id}/products/{product_id}/status");
    api.expect(Method::PUT, &status, Some(&owner), Some(json!({ "status": "published" })), false).await?;
    loop {
        let r: serde_json::Value =
            http.get(format!("{}/products?q={tag}", running.api_url)).send().await?.json().await?;
        if r["total"].as_u64() == Some(1) {
            return Ok(t.elapsed().as_secs_f64());
        }
        anyhow::ensure!(t.elapsed() < Duration::from_secs(60), "not findable within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
