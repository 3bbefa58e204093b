//! Product images through the real path (presigned upload to the emulator's bucket, the bucket's
//! notification, the queue, process-image, the media CDN's stand-in), and barcodes: look-ups and
//! labels.

use serde_json::json;
use stockyard_tests::{Method, TestApp, eventually, photo, unique_tag};

#[tokio::test]
async fn an_uploaded_photo_becomes_renditions_without_its_metadata_and_only_ready_images_reach_shoppers() {
    let app = TestApp::new();
    let (vendor, admin, rival) = tokio::join!(app.vendor_owner(), app.admin(), app.vendor_owner());
    let token = vendor.owner.token();
    let tag = unique_tag();
    let category = app.sized_category(&admin).await;
    let body = json!({ "category_id": category, "title": format!("Trail jacket {tag}"), "attributes": { "material": "nylon" } });
    let product = app.create_product(token, &vendor.id, &body).await.id();
    let variant =
        json!({ "sku": format!("JKT-{tag}"), "options": { "size": "m" }, "prices": { "EUR": { "amount": 12900 } } });
    app.create_variant(token, &vendor.id, &product, &variant).await.expect(201);

    // Bad requests change nothing.
    let path = format!("/vendors/{}/products/{product}/images", vendor.id);
    for (body, field) in [
        (json!({ "content_type": "image/gif", "content_length": 10 }), "content_type"),
        (json!({ "content_type": "image/jpeg", "content_length": 10 * 1024 * 1024 + 1 }), "content_length"),
        (json!({ "content_type": "image/jpeg", "content_length": 10, "position": -1 }), "position"),
    ] {
        app.request(Method::POST, &path, Some(token), Some(&body), &[]).await.expect_invalid_field(field);
    }
    let theirs = json!({ "content_type": "image/jpeg", "content_length": 10 });
    app.request(Method::POST, &path, Some(rival.owner.token()), Some(&theirs), &[])
        .await
        .expect_error(403, "forbidden");

    let photo = photo(1600, 1200);
    let good = app.upload_image(&vendor, &product, &photo, "image/jpeg").await;
    let fake = app.upload_image(&vendor, &product, b"GIF89a but really just text", "image/jpeg").await;
    let good = app.decided_image(&vendor, &product, good["id"].as_str().unwrap()).await;
    let fake = app.decided_image(&vendor, &product, fake["id"].as_str().unwrap()).await;
    assert_eq!(good["status"], "ready", "{good}");
    let sizes: Vec<(String, u64, u64)> = good["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["size"].as_str().unwrap().to_string(), r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, [("large".into(), 1200, 900), ("medium".into(), 480, 360), ("thumbnail".into(), 160, 120)]);
    assert_eq!(fake["status"], "rejected");
    assert!(matches!(fake["rejection"]["code"].as_str(), Some("not_an_image" | "unsupported_type")), "{fake}");

    // Shoppers see the product once published, with the ready image only, served by the CDN.
    let status = format!("/vendors/{}/products/{product}/status", vendor.id);
    app.request(Method::PUT, &status, Some(token), Some(&json!({ "status": "published" })), &[]).await.expect(200);
    let public = app.request(Method::GET, &format!("/products/{product}"), None, None, &[]).await;
    let images = public.expect(200)["images"].as_array().unwrap().clone();
    assert_eq!(images.len(), 1, "the rejected image is not shown");
    assert_eq!(images[0]["alt"], "Front view");
    let large = images[0]["renditions"].as_array().unwrap().iter().find(|r| r["size"] == "large").unwrap().clone();
    let fetched = reqwest::get(large["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");
    let bytes = fetched.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).expect("the rendition is an image");
    assert_eq!((decoded.width(), decoded.height()), (1200, 900));
    let window = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!window(b"Exif") && !window(b"Stockcam"), "no camera metadata survives");

    // Search results carry the thumbnail once the product is indexed with its image.
    let query = format!("/products?q={tag}");
    eventually("the search hit has its thumbnail", || async {
        let found = app.request(Method::GET, &query, None, None, &[]).await;
        found.expect(200)["items"][0]["thumbnail_url"].as_str().map(str::to_string)
    })
    .await;
}

#[tokio::test]
async fn codes_find_variants_publicly_once_published_and_by_staff_in_any_status_and_labels_render() {
    let app = TestApp::new();
    let (vendor, admin, rival) = tokio::join!(app.vendor_owner(), app.admin(), app.vendor_owner());
    let token = vendor.owner.token();
    let tag = unique_tag();
    let category = app.sized_category(&admin).await;
    let body =
        json!({ "category_id": category, "title": format!("Wool hat {tag}"), "attributes": { "material": "wool" } });
    let product = app.create_product(token, &vendor.id, &body).await.id();
    // A GTIN no other test uses: 12 digits from the tag, with its check digit.
    let digits: String = ulid_digits(&tag);
    let gtin = with_check_digit(&digits);
    let sku = format!("HAT-{tag}").to_uppercase();
    let with_gtin =
        json!({ "sku": sku, "options": { "size": "m" }, "gtin": gtin, "prices": { "EUR": { "amount": 2500 } } });
    let variant = app.create_variant(token, &vendor.id, &product, &with_gtin).await.id();
    let plain =
        json!({ "sku": format!("{sku}-S"), "options": { "size": "s" }, "prices": { "EUR": { "amount": 2400 } } });
    let plain = app.create_variant(token, &vendor.id, &product, &plain).await.id();

    // A draft: invisible publicly, visible to its vendor's staff by GTIN and by SKU.
    let public_gtin = format!("/barcodes/{gtin}");
    assert_eq!(app.request(Method::GET, &public_gtin, None, None, &[]).await.expect(200)["items"], json!([]));
    let staff = format!("/vendors/{}/barcodes/{}", vendor.id, sku.to_lowercase());
    let found = app.request(Method::GET, &staff, Some(token), None, &[]).await;
    assert_eq!(found.expect(200)["items"][0]["variant_id"], variant.as_str());
    assert_eq!(
        (found.json["items"][0]["status"].as_str(), found.json["items"][0]["matched_by"].as_str()),
        (Some("draft"), Some("sku"))
    );
    app.request(Method::GET, &staff, Some(rival.owner.token()), None, &[]).await.expect_error(403, "forbidden");

    let status = format!("/vendors/{}/products/{product}/status", vendor.id);
    app.request(Method::PUT, &status, Some(token), Some(&json!({ "status": "published" })), &[]).await.expect(200);
    let public = app.request(Method::GET, &public_gtin, None, None, &[]).await;
    assert_eq!(public.expect(200)["items"][0]["sku"], sku.as_str());
    assert_eq!(public.json["items"][0]["matched_by"], "gtin");
    // A SKU publicly needs the vendor; a bad check digit is read as a SKU.
    app.request(Method::GET, &format!("/barcodes/{sku}"), None, None, &[]).await.expect_invalid_field("vendor");
    let by_sku = app.request(Method::GET, &format!("/barcodes/{sku}?vendor={}", vendor.id), None, None, &[]).await;
    assert_eq!(by_sku.expect(200)["items"].as_array().unwrap().len(), 1);
    app.request(Method::GET, "/barcodes/bad%20code!", None, None, &[]).await.expect_invalid_field("code");

    // Labels: Code 128 of the SKU as SVG, the EAN-13 as PNG; no GTIN, no GTIN label.
    let label = |v: &str, query: &str| format!("/vendors/{}/products/{product}/variants/{v}/label{query}", vendor.id);
    let svg = app.request(Method::GET, &label(&variant, ""), Some(token), None, &[]).await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let png = app.request_bytes(Method::GET, &label(&variant, "?symbology=gtin&format=png"), Some(token)).await;
    assert_eq!(png.0, 200);
    let decoded = image::load_from_memory(&png.1).expect("a PNG label");
    assert!(decoded.width() > 95 * 4, "95 modules at 4 px each plus quiet zones");
    app.request(Method::GET, &label(&plain, "?symbology=gtin"), Some(token), None, &[])
        .await
        .expect_error(422, "no_gtin");
    app.request(Method::GET, &label(&variant, "?format=gif"), Some(token), None, &[])
        .await
        .expect_invalid_field("format");
    app.request(Method::GET, &label(&variant, ""), Some(rival.owner.token()), None, &[])
        .await
        .expect_error(403, "forbidden");
}

/// Twelve digits derived from a unique tag.
fn ulid_digits(tag: &str) -> String {
    let mut digits: String = tag.bytes().map(|b| char::from(b'0' + b % 10)).collect();
    digits.truncate(12);
    digits
}

/// A GTIN-13 of twelve digits and their GS1 check digit.
fn with_check_digit(twelve: &str) -> String {
    let sum: u32 = twelve.bytes().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    format!("{twelve}{}", (10 - sum % 10) % 10)
}
