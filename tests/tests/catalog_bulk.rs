//! Bulk CSV end to end: a vendor uploads a catalog file through its presigned URL, the import job
//! writes each good product whole and reports every bad row and column, a second import of the
//! same file changes nothing, and an export of the catalog imports back unchanged.

use serde_json::{Value, json};
use stockyard_tests::{Method, TestApp, TestVendor, unique_tag};

const HEADER: &str = "handle,category_id,title,description,tags,attributes.material,sku,options.size,gtin,weight_g,\
length_mm,width_mm,height_mm,tax_class,shelf_life_days,prices.EUR,prices.EUR.compare_at,prices.JPY";

/// One CSV line of `HEADER`'s columns.
fn line(cells: &[&str]) -> String {
    assert_eq!(cells.len(), HEADER.split(',').count(), "a line has every column");
    cells
        .iter()
        .map(|c| if c.contains([',', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() })
        .collect::<Vec<_>>()
        .join(",")
}

struct Catalog {
    app: TestApp,
    vendor: TestVendor,
    category: String,
    tag: String,
}

impl Catalog {
    async fn new() -> Self {
        let app = TestApp::new();
        let admin = app.admin().await;
        let (vendor, category) = tokio::join!(app.vendor_owner(), app.sized_category(&admin));
        Self { app, vendor, category, tag: unique_tag().to_lowercase() }
    }

    fn token(&self) -> &str {
        self.vendor.owner.token()
    }

    fn handle(&self, name: &str) -> String {
        format!("{name}-{}", self.tag)
    }

    fn sku(&self, name: &str) -> String {
        format!("{name}-{}", self.tag).to_uppercase()
    }

    async fn import(&self, csv: &str) -> Value {
        let id = self.app.import_csv(self.token(), &self.vendor.id, csv).await;
        self.app.finished_import(self.token(), &self.vendor.id, &id).await
    }

    async fn products(&self) -> Vec<Value> {
        self.app.all_pages(self.token(), &format!("/vendors/{}/products", self.vendor.id)).await
    }

    /// Every product of the vendor with its variants, by slug.
    async fn catalog(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for product in self.products().await {
            let path = format!("/vendors/{}/products/{}", self.vendor.id, product["id"].as_str().unwrap());
            out.push(self.app.request(Method::GET, &path, Some(self.token()), None, &[]).await.expect(200).clone());
        }
        out.sort_by_key(|p| p["slug"].as_str().unwrap_or_default().to_string());
        out
    }
}

fn counts(import: &Value) -> (u64, u64, u64) {
    let c = &import["counts"];
    (c["created"].as_u64().unwrap(), c["unchanged"].as_u64().unwrap(), c["rejected"].as_u64().unwrap())
}

fn problems(import: &Value) -> Vec<(u64, String, String)> {
    import["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_import_writes_each_good_product_whole_and_reports_every_bad_row_by_row_and_column() {
    let c = Catalog::new().await;
    // A SKU the vendor already uses, on a product made through the API.
    let existing = c.app.draft_product(c.token(), &c.vendor.id, &c.category).await;
    let taken = c.sku("taken");
    let body = json!({ "sku": taken, "options": { "size": "s" }, "prices": { "EUR": { "amount": 500 } } });
    c.app.create_variant(c.token(), &c.vendor.id, &existing, &body).await.expect(201);

    let cat = c.category.as_str();
    let (jumper, socks, scarf, clash) = (c.handle("jumper"), c.handle("socks"), c.handle("scarf"), c.handle("clash"));
    let (j_s, j_m, s_s, s_m, sc, cl) =
        (c.sku("j-s"), c.sku("j-m"), c.sku("socks-s"), c.sku("socks-m"), c.sku("scarf"), c.sku("clash"));
    let csv = [
        HEADER.to_string(),
        // Row 2-3: a good product with two variants.
        line(&[
            &jumper,
            cat,
            "Merino jumper",
            "Warm, soft **merino**.",
            "wool|winter",
            "merino",
            &j_s,
            "s",
            "4006381333931",
            "450",
            "300",
            "200",
            "50",
            "standard",
            "",
            "4999",
            "5999",
            "800",
        ]),
        line(&[&jumper, "", "", "", "", "", &j_m, "m", "", "470", "", "", "", "", "", "4999", "", ""]),
        // Row 4-5: its first row is good, its second has a bad size and a bad price: none of it is written.
        line(&[&socks, cat, "Socks", "", "", "", &s_s, "s", "", "", "", "", "", "", "", "999", "", ""]),
        line(&[&socks, "", "", "", "", "", &s_m, "xl", "", "", "", "", "", "", "", "abc", "", ""]),
        // Row 6: good.
        line(&[&scarf, cat, "Scarf", "", "", "", &sc, "s", "", "", "", "", "", "reduced", "365", "1999", "", ""]),
        // Row 7-8: its second variant's SKU belongs to another product of the vendor.
        line(&[&clash, cat, "Clash", "", "", "", &cl, "s", "", "", "", "", "", "", "", "100", "", ""]),
        line(&[&clash, "", "", "", "", "", &taken, "m", "", "", "", "", "", "", "", "100", "", ""]),
    ]
    .join("\n");
    let import = c.import(&csv).await;

    assert_eq!(import["status"], "done", "{import}");
    assert_eq!(counts(&import), (2, 0, 2), "{import}");
    assert_eq!(import["counts"]["rows"], 7);
    assert_eq!(import["counts"]["products"], 4);
    assert_eq!(import["counts"]["products_processed"], 4);
    assert_eq!(
        problems(&import),
        [
            (5, "options.size".into(), "invalid_field".into()),
            (5, "prices.EUR".into(), "invalid_field".into()),
            (8, "sku".into(), "sku_taken".into()),
        ],
        "{import}"
    );
    let errors = import["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));
    assert_eq!(errors[0]["handle"], socks.as_str());

    // Only the good products exist, whole.
    let catalog = c.catalog().await;
    let slugs: Vec<&str> = catalog.iter().filter_map(|p| p["slug"].as_str()).collect();
    assert!(slugs.contains(&jumper.as_str()) && slugs.contains(&scarf.as_str()), "{slugs:?}");
    assert!(!slugs.contains(&socks.as_str()) && !slugs.contains(&clash.as_str()), "{slugs:?}");
    assert_eq!(catalog.len(), 3, "the two imported and the one made through the API");
    let jumper_product = catalog.iter().find(|p| p["slug"] == jumper.as_str()).unwrap();
    assert_eq!(jumper_product["status"], "draft");
    assert_eq!(jumper_product["title"], "Merino jumper");
    assert_eq!(jumper_product["tags"], json!(["wool", "winter"]));
    assert_eq!(jumper_product["attributes"]["material"], "merino");
    let variants = jumper_product["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["sku"], j_s.as_str());
    assert_eq!(variants[0]["gtin"], "4006381333931");
    assert_eq!(variants[0]["dimensions"], json!({ "length_mm": 300, "width_mm": 200, "height_mm": 50 }));
    assert_eq!(variants[0]["prices"]["EUR"], json!({ "amount": 4999, "compare_at": 5999 }));
    assert_eq!(variants[0]["prices"]["JPY"]["amount"], 800);
    assert_eq!(variants[1]["options"]["size"], "m");

    // The rejected products left no claim behind: their good SKUs and the clash's are free.
    let product = c.app.draft_product(c.token(), &c.vendor.id, &c.category).await;
    for (sku, size) in [(&s_s, "s"), (&cl, "m")] {
        let body = json!({ "sku": sku, "options": { "size": size }, "prices": { "EUR": { "amount": 100 } } });
        c.app.create_variant(c.token(), &c.vendor.id, &product, &body).await.expect(201);
    }
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing_and_reports_its_products_unchanged() {
    let c = Catalog::new().await;
    let cat = c.category.as_str();
    let (a, b) = (c.handle("alpha"), c.handle("beta"));
    let csv = [
        HEADER.to_string(),
        line(&[&a, cat, "Alpha", "", "", "wool", &c.sku("a-s"), "s", "", "", "", "", "", "", "", "1000", "", ""]),
        line(&[&a, cat, "Alpha", "", "", "wool", &c.sku("a-m"), "m", "", "", "", "", "", "", "", "1000", "", ""]),
        line(&[
            &b,
            cat,
            "Beta",
            "",
            "",
            "",
            &c.sku("b"),
            "s",
            "5901234123457",
            "",
            "",
            "",
            "",
            "zero",
            "",
            "2500",
            "",
            "",
        ]),
    ]
    .join("\n");
    let first = c.import(&csv).await;
    assert_eq!(counts(&first), (2, 0, 0), "{first}");
    let before = c.catalog().await;

    let second = c.import(&csv).await;
    assert_eq!(second["status"], "done");
    assert_eq!(counts(&second), (0, 2, 0), "{second}");
    assert!(problems(&second).is_empty(), "{second}");
    assert_eq!(c.catalog().await, before, "nothing was written: same products, versions and timestamps");

    // A file that describes an existing product differently is reported, and still writes nothing.
    let changed = csv.replace(",Beta,", ",Beta renamed,");
    let third = c.import(&changed).await;
    assert_eq!(counts(&third), (0, 1, 1), "{third}");
    assert_eq!(problems(&third), [(4, "title".into(), "product_differs".into())], "{third}");
    assert_eq!(c.catalog().await, before);
}

#[tokio::test]
async fn an_export_of_the_catalog_imports_back_unchanged() {
    let c = Catalog::new().await;
    let cat = c.category.as_str();
    let csv = [
        HEADER.to_string(),
        line(&[
            &c.handle("coat"),
            cat,
            "Coat, wool",
            "Line one.\n\nLine *two*.",
            "outer|wool",
            "wool",
            &c.sku("coat-s"),
            "s",
            "4006381333931",
            "1200",
            "600",
            "400",
            "100",
            "standard",
            "",
            "19900",
            "24900",
            "25000",
        ]),
        line(&[
            &c.handle("coat"),
            "",
            "",
            "",
            "",
            "",
            &c.sku("coat-m"),
            "m",
            "",
            "1250",
            "",
            "",
            "",
            "",
            "",
            "19900",
            "",
            "",
        ]),
        line(&[
            &c.handle("jam"),
            cat,
            "Jam",
            "",
            "",
            "",
            &c.sku("jam"),
            "s",
            "",
            "",
            "",
            "",
            "",
            "reduced",
            "180",
            "450",
            "",
            "",
        ]),
    ]
    .join("\n");
    let imported = c.import(&csv).await;
    assert_eq!(counts(&imported), (2, 0, 0), "{imported}");
    // And one made through the API, with a sale price and no variant yet of its own making.
    let api_product = c.app.draft_product(c.token(), &c.vendor.id, &c.category).await;
    let sale = json!({ "amount": 800, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z" });
    let body = json!({ "sku": c.sku("api"), "options": { "size": "m" }, "prices": { "GBP": { "amount": 900, "sale": sale } } });
    c.app.create_variant(c.token(), &c.vendor.id, &api_product, &body).await.expect(201);
    let before = c.catalog().await;

    let exported = c.app.export_csv(c.token(), &c.vendor.id).await;
    let header = exported.lines().next().unwrap_or_default();
    for column in ["handle", "category_id", "sku", "options.size", "attributes.material", "prices.GBP.sale.starts_at"] {
        assert!(header.split(',').any(|c| c == column), "{column} in {header}");
    }
    assert!(exported.contains(&c.sku("coat-m")) && exported.contains(&c.sku("api")), "{exported}");

    let again = c.import(&exported).await;
    assert_eq!(again["status"], "done", "{again}");
    assert_eq!(counts(&again), (0, 3, 0), "{again}");
    assert!(problems(&again).is_empty(), "{again}");
    assert_eq!(c.catalog().await, before);
}

#[tokio::test]
async fn an_upload_that_is_missing_or_not_csv_is_refused_at_start_and_a_bad_header_fails_the_import() {
    let c = Catalog::new().await;
    let (app, v, token) = (&c.app, c.vendor.id.as_str(), c.token());

    // Started before anything was uploaded: refused, and it can still be started afterwards.
    let created = app.create_import(token, v).await;
    let created = created.expect(201).clone();
    assert_eq!(created["status"], "uploading");
    assert!(created["upload"]["url"].as_str().is_some_and(|u| u.starts_with("http")), "{created}");
    assert_eq!(created["upload"]["method"], "PUT");
    assert_eq!(created["max_bytes"], 10 * 1024 * 1024);
    let id = created["id"].as_str().unwrap();
    app.start_import(token, v, id).await.expect_error(409, "upload_missing");
    assert_eq!(app.get_import(token, v, id).await.expect(200)["status"], "uploading");

    // The upload URL is signed for text/csv: the store refuses the file sent as anything else
    // (the local emulator checks the signature as S3 does), and nothing was uploaded.
    let csv = b"handle,category_id,title,sku\n";
    assert_eq!(app.upload(&created["upload"], csv, Some("application/octet-stream")).await, 403);
    app.start_import(token, v, id).await.expect_error(409, "upload_missing");

    // The signature does not bind the length: a file over 10 MB is stored, and refused at start.
    let big = app.create_import(token, v).await;
    let big = big.expect(201).clone();
    let mut bytes = b"handle,category_id,title,sku\n".to_vec();
    bytes.resize(10 * 1024 * 1024 + 1, b'\n');
    assert_eq!(app.upload(&big["upload"], &bytes, None).await, 200);
    let big_id = big["id"].as_str().unwrap();
    app.start_import(token, v, big_id).await.expect_error(422, "file_too_large");
    assert_eq!(app.get_import(token, v, big_id).await.expect(200)["status"], "uploading", "refused, so unchanged");

    // A file with a column nobody knows fails as a whole, naming it.
    let status = app.upload(&created["upload"], b"handle,category_id,title,sku,colour\nx,y,z,w,red\n", None).await;
    assert_eq!(status, 200);
    app.start_import(token, v, id).await.expect(202);
    let failed = app.finished_import(token, v, id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failure"]["code"], "invalid_header");
    assert_eq!(failed["failure"]["column"], "colour");
    // A finished import is not started again.
    app.start_import(token, v, id).await.expect_error(409, "import_started");

    // An import of another vendor, or one that does not exist, is not found.
    let other = app.vendor_owner().await;
    app.get_import(other.owner.token(), &other.id, id).await.expect_error(404, "not_found");
    app.get_import(token, v, &ulid::Ulid::new().to_string()).await.expect_error(404, "not_found");
    app.get_export(token, v, &ulid::Ulid::new().to_string()).await.expect_error(404, "not_found");
    app.get_import(token, v, "not-an-id").await.expect_invalid_field("importId");
}

/// Delivers the import's job message again, straight to `import-products` (as SQS does after a
/// timeout); the message ids the job reported as failed.
async fn redeliver(app: &TestApp, vendor: &str, import: &str) -> Vec<Value> {
    let body = json!({ "vendor_id": vendor, "import_id": import }).to_string();
    let record = json!({ "messageId": "redelivered-1", "receiptHandle": "r", "body": body, "md5OfBody": "",
                         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:imports",
                         "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {} });
    let resp = app.invoke("import-products", &json!({ "Records": [record] })).await;
    resp.expect(200)["batchItemFailures"].as_array().cloned().unwrap_or_else(|| panic!("a batch response: {resp}"))
}

#[tokio::test]
async fn a_job_message_delivered_again_duplicates_nothing() {
    let c = Catalog::new().await;
    let cat = c.category.as_str();
    let csv = [
        HEADER.to_string(),
        line(&[
            &c.handle("one"),
            cat,
            "One",
            "",
            "",
            "",
            &c.sku("one"),
            "s",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "100",
            "",
            "",
        ]),
        line(&[
            &c.handle("two"),
            cat,
            "Two",
            "",
            "",
            "",
            &c.sku("two"),
            "m",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "200",
            "",
            "",
        ]),
    ]
    .join("\n");
    let id = c.app.import_csv(c.token(), &c.vendor.id, &csv).await;
    let done = c.app.finished_import(c.token(), &c.vendor.id, &id).await;
    assert_eq!(counts(&done), (2, 0, 0), "{done}");
    let before = c.catalog().await;

    // Delivered again once finished: nothing to do, and the report stays as it was.
    assert!(redeliver(&c.app, &c.vendor.id, &id).await.is_empty());
    assert_eq!(c.app.get_import(c.token(), &c.vendor.id, &id).await.expect(200), &done);
    assert_eq!(c.catalog().await, before);

    // Delivered again as if the first run had stopped before saving its report (the job's item
    // set back to queued behind the API): the products it wrote count as this import's own
    // again, created, and none is written twice.
    let dynamodb = c.app.dynamodb().await;
    let key = |v: String| aws_sdk_dynamodb::types::AttributeValue::S(v);
    dynamodb
        .update_item()
        .table_name(c.app.table_name())
        .key("PK", key(format!("VENDOR#{}", c.vendor.id)))
        .key("SK", key(format!("IMPORT#{id}")))
        .update_expression("SET #s = :queued")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":queued", key("queued".into()))
        .send()
        .await
        .expect("the import's item is where data-model.md says");
    assert!(redeliver(&c.app, &c.vendor.id, &id).await.is_empty());
    let again = c.app.get_import(c.token(), &c.vendor.id, &id).await;
    let again = again.expect(200);
    assert_eq!(again["status"], "done");
    assert_eq!(counts(again), (2, 0, 0), "{again}");
    assert_eq!(c.catalog().await, before, "the same products, written once");
}
