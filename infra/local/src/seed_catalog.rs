//! The demo catalogue: a category tree in English and French, exchange rates, and 100 products per
//! demo vendor (two variants each, a French translation, prices in the vendor's base currency and
//! for some in a second one, a picture uploaded through the real image pipeline), almost all
//! published. Everything goes through the public API, as a vendor's tools would.

use std::io::Cursor;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::{Value, json};

use crate::seed::Api;

/// Products each demo vendor lists.
pub const PRODUCTS_PER_VENDOR: usize = 100;
/// Requests in flight at once while seeding.
const PARALLEL: usize = 8;
/// How long to wait for the pictures to become renditions.
const IMAGES_DEADLINE: Duration = Duration::from_secs(180);

/// A leaf category of the demo tree: its names, and the variant-defining attribute its products use.
struct Leaf {
    key: &'static str,
    en: &'static str,
    fr: &'static str,
    option: (&'static str, &'static str, &'static str, [(&'static str, &'static str, &'static str); 2]),
}

/// Root categories and their leaves.
const TREE: &[(&str, &str, &str, &[Leaf])] = &[
    (
        "food",
        "Food",
        "Alimentation",
        &[
            Leaf { key: "dairy", en: "Dairy", fr: "Produits laitiers", option: PACK },
            Leaf { key: "bakery", en: "Bakery", fr: "Boulangerie", option: PACK },
            Leaf { key: "pantry", en: "Pantry", fr: "Épicerie", option: PACK },
        ],
    ),
    (
        "outdoor",
        "Outdoor",
        "Plein air",
        &[
            Leaf { key: "jackets", en: "Jackets", fr: "Vestes", option: SIZE },
            Leaf { key: "boots", en: "Boots", fr: "Chaussures", option: SIZE },
            Leaf { key: "gear", en: "Camping gear", fr: "Matériel de camping", option: PACK },
        ],
    ),
    (
        "home",
        "Home",
        "Maison",
        &[
            Leaf { key: "lighting", en: "Lighting", fr: "Luminaires", option: COLOUR },
            Leaf { key: "textiles", en: "Textiles", fr: "Linge de maison", option: COLOUR },
        ],
    ),
];

const PACK: (&str, &str, &str, [(&str, &str, &str); 2]) =
    ("pack", "Pack", "Format", [("small", "Small", "Petit"), ("large", "Large", "Grand")]);
const SIZE: (&str, &str, &str, [(&str, &str, &str); 2]) =
    ("size", "Size", "Taille", [("m", "Medium", "Moyen"), ("l", "Large", "Grand")]);
const COLOUR: (&str, &str, &str, [(&str, &str, &str); 2]) =
    ("colour", "Colour", "Couleur", [("natural", "Natural", "Naturel"), ("charcoal", "Charcoal", "Anthracite")]);

/// What one demo vendor sells: its leaves and words to name products with (English, French).
pub struct Assortment {
    pub prefix: &'static str,
    pub leaves: &'static [&'static str],
    pub brands: &'static [&'static str],
    pub adjectives: &'static [(&'static str, &'static str)],
    pub nouns: &'static [(&'static str, &'static str)],
    /// Minor units of the base currency: the cheapest product and the step between products.
    pub price_from: i64,
    pub price_step: i64,
    /// A second currency some products are priced in explicitly (others convert).
    pub second_currency: &'static str,
}

pub const FARM: Assortment = Assortment {
    prefix: "GV",
    leaves: &["dairy", "bakery", "pantry"],
    brands: &["Green Valley", "Hillside", "Mill Lane"],
    adjectives: &[("Organic", "bio"), ("Smoked", "fumé"), ("Wild", "sauvage"), ("Aged", "affiné"), ("Fresh", "frais")],
    nouns: &[
        ("cheddar", "Cheddar"),
        ("butter", "Beurre"),
        ("sourdough loaf", "Pain au levain"),
        ("honey", "Miel"),
        ("oat granola", "Granola à l'avoine"),
        ("apple chutney", "Chutney de pommes"),
        ("yoghurt", "Yaourt"),
        ("rye bread", "Pain de seigle"),
        ("strawberry jam", "Confiture de fraises"),
        ("goat cheese", "Fromage de chèvre"),
    ],
    price_from: 250,
    price_step: 35,
    second_currency: "EUR",
};

pub const OUTFITTERS: Assortment = Assortment {
    prefix: "NW",
    leaves: &["jackets", "boots", "gear"],
    brands: &["Northwind", "Alpina", "Trailworks"],
    adjectives: &[
        ("Waterproof", "imperméable"),
        ("Lightweight", "léger"),
        ("Insulated", "isolé"),
        ("Packable", "compact"),
        ("Alpine", "alpin"),
    ],
    nouns: &[
        ("rain jacket", "Veste de pluie"),
        ("down jacket", "Doudoune"),
        ("hiking boots", "Chaussures de randonnée"),
        ("trail shoes", "Chaussures de trail"),
        ("tent", "Tente"),
        ("sleeping bag", "Sac de couchage"),
        ("headtorch", "Lampe frontale"),
        ("camping stove", "Réchaud de camping"),
        ("fleece", "Polaire"),
        ("gaiters", "Guêtres"),
    ],
    price_from: 1500,
    price_step: 290,
    second_currency: "GBP",
};

pub const MAISON: Assortment = Assortment {
    prefix: "ML",
    leaves: &["lighting", "textiles"],
    brands: &["Maison Lumière", "Atelier Lin"],
    adjectives: &[
        ("Linen", "en lin"),
        ("Brass", "en laiton"),
        ("Woven", "tissé"),
        ("Ceramic", "en céramique"),
        ("Vintage", "vintage"),
    ],
    nouns: &[
        ("table lamp", "Lampe de table"),
        ("pendant light", "Suspension"),
        ("floor lamp", "Lampadaire"),
        ("cushion cover", "Housse de coussin"),
        ("tablecloth", "Nappe"),
        ("throw", "Plaid"),
        ("curtain", "Rideau"),
        ("candle holder", "Bougeoir"),
        ("tea towel", "Torchon"),
        ("bedspread", "Couvre-lit"),
    ],
    price_from: 1200,
    price_step: 150,
    second_currency: "USD",
};

fn names(en: &str, fr: &str) -> Value {
    json!({ "en": en, "fr": fr })
}

/// The demo tree (created once; found again by its English names), as `leaf key → category id`.
pub async fn categories(api: &Api, admin: &str) -> Result<Vec<(&'static str, String)>> {
    let existing = api.expect(Method::GET, "/categories", None, None, false).await?.unwrap_or_default();
    let all: Vec<Value> = existing["items"].as_array().cloned().unwrap_or_default();
    let find = |en: &str, parent: Option<&str>| {
        all.iter()
            .find(|c| c["names"]["en"] == en && c["parent_id"].as_str() == parent)
            .and_then(|c| c["id"].as_str())
            .map(str::to_string)
    };
    let mut out = Vec::new();
    for (_, en, fr, leaves) in TREE {
        let root = match find(en, None) {
            Some(id) => id,
            None => create_category(api, admin, json!({ "names": names(en, fr) })).await?,
        };
        for leaf in *leaves {
            let id = match find(leaf.en, Some(&root)) {
                Some(id) => id,
                None => {
                    let (code, label_en, label_fr, values) = leaf.option;
                    let values: Vec<Value> =
                        values.iter().map(|(c, en, fr)| json!({ "code": c, "labels": names(en, fr) })).collect();
                    let body = json!({
                        "parent_id": root,
                        "names": names(leaf.en, leaf.fr),
                        "attributes": [
                            { "code": code, "labels": names(label_en, label_fr), "required": true,
                              "defines_variants": true, "kind": { "type": "enum", "values": values } },
                            { "code": "origin", "labels": names("Origin", "Origine"),
                              "kind": { "type": "text", "max_len": 60 } }
                        ]
                    });
                    create_category(api, admin, body).await?
                }
            };
            out.push((leaf.key, id));
        }
    }
    Ok(out)
}

async fn create_category(api: &Api, admin: &str, body: Value) -> Result<String> {
    let created = api.expect(Method::POST, "/categories", Some(admin), Some(body), true).await?.unwrap_or_default();
    Ok(created["id"].as_str().context("a category id")?.to_string())
}

/// A picture for a product: a 640 × 480 JPEG in the product's own colours.
fn picture(n: usize) -> Vec<u8> {
    let (r, g, b) = ((n * 47 % 200 + 30) as u8, (n * 91 % 200 + 30) as u8, (n * 13 % 200 + 30) as u8);
    let pixels = image::RgbImage::from_fn(640, 480, |x, y| {
        let stripe = ((x / 40 + y / 40) % 2) as u8 * 30;
        image::Rgb([r.saturating_add(stripe), g, b.saturating_add(stripe)])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(pixels)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .expect("a JPEG encodes");
    out
}

/// Lists the vendor's demo products unless it has products already; returns a summary line.
pub async fn seed_vendor(
    api: &Api,
    owner: &str,
    vendor_id: &str,
    assortment: &Assortment,
    tree: &[(&'static str, String)],
) -> Result<String> {
    let listed = api
        .expect(Method::GET, &format!("/vendors/{vendor_id}/products?limit=1"), Some(owner), None, false)
        .await?
        .unwrap_or_default();
    if listed["items"].as_array().is_some_and(|a| !a.is_empty()) {
        return Ok(format!("  Catalogue    {}: already seeded", assortment.prefix));
    }
    let started = Instant::now();
    let locations =
        api.expect(Method::GET, &format!("/vendors/{vendor_id}/locations"), Some(owner), None, false).await?;
    let location = locations.unwrap_or_default()["items"][0]["id"].as_str().context("a demo location")?.to_string();
    let location = location.as_str();
    let images: Vec<(String, String)> = futures_util::stream::iter(0..PRODUCTS_PER_VENDOR)
        .map(|n| product(api, owner, vendor_id, location, assortment, tree, n))
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    let published = PRODUCTS_PER_VENDOR - PRODUCTS_PER_VENDOR / 20;
    Ok(format!(
        "  Catalogue    {}: {} products ({published} published), {} variants with opening stock at its first location, {} pictures uploaded in {:.1}s",
        assortment.prefix,
        PRODUCTS_PER_VENDOR,
        PRODUCTS_PER_VENDOR * 2,
        images.len(),
        started.elapsed().as_secs_f64()
    ))
}

/// One product: two variants with stock at `location` (every eleventh out of stock, every fourth
/// with a reorder point of 10), a French translation, a picture; published unless it is every
/// twentieth. Returns the picture's `(product, image)` ids.
async fn product(
    api: &Api,
    owner: &str,
    vendor_id: &str,
    location: &str,
    a: &Assortment,
    tree: &[(&'static str, String)],
    n: usize,
) -> Result<(String, String)> {
    let (adjective, noun) = (a.adjectives[n % a.adjectives.len()], a.nouns[(n / a.adjectives.len()) % a.nouns.len()]);
    let edition = n / (a.adjectives.len() * a.nouns.len()) + 1;
    let leaf = a.leaves[n % a.leaves.len()];
    let category = tree.iter().find(|(k, _)| *k == leaf).map(|(_, id)| id.clone()).context("a demo leaf")?;
    let option =
        TREE.iter().flat_map(|(_, _, _, leaves)| leaves.iter()).find(|l| l.key == leaf).context("a leaf")?.option;
    let title = format!("{} {} No. {edition}", adjective.0, noun.0);
    let title_fr = format!("{} {} n° {edition}", noun.1, adjective.1);
    let brand = a.brands[n % a.brands.len()];
    let body = json!({
        "category_id": category, "title": title, "brand": brand, "locale": "en",
        "description": format!("**{title}** by {brand}. Made with care; ships within two working days."),
        "tags": [noun.0.split(' ').next_back().unwrap_or(noun.0), adjective.0.to_lowercase()],
        "attributes": { "origin": if a.prefix == "ML" { "France" } else { "United Kingdom" } },
    });
    let created = api
        .expect(Method::POST, &format!("/vendors/{vendor_id}/products"), Some(owner), Some(body), true)
        .await?
        .unwrap_or_default();
    let product_id = created["id"].as_str().context("a product id")?.to_string();
    let base = format!("/vendors/{vendor_id}/products/{product_id}");
    let price = a.price_from + a.price_step * n as i64;
    let base_currency = match a.prefix {
        "GV" => "GBP",
        "NW" => "USD",
        _ => "EUR",
    };
    for (i, (code, _, _)) in option.3.iter().enumerate() {
        let amount = price + i as i64 * price / 4;
        let mut prices = json!({ base_currency: { "amount": amount } });
        if n.is_multiple_of(3) {
            prices[a.second_currency] = json!({ "amount": amount + amount / 10 });
        }
        let variant = json!({
            "sku": format!("{}-{n:03}-{}", a.prefix, code.to_uppercase()),
            "options": { option.0: code },
            "prices": prices,
            "weight_g": 200 + 50 * i,
        });
        api.expect(Method::POST, &format!("{base}/variants"), Some(owner), Some(variant.clone()), true).await?;
        let sku = variant["sku"].as_str().context("a demo SKU")?;
        let units = (n * 7 + i * 13) % 60;
        if n % 11 != 10 && units > 0 {
            let stock = json!({ "sku": sku, "location_id": location, "quantity": units, "reason": "received",
                                "note": "Opening stock" });
            api.expect(
                Method::POST,
                &format!("/vendors/{vendor_id}/stock/adjustments"),
                Some(owner),
                Some(stock),
                true,
            )
            .await?;
        }
        if n.is_multiple_of(4) {
            let settings = json!({ "reorder_point": 10, "safety_stock": 4,
                                   "bin": { "zone": "A", "aisle": format!("{:02}", n / 10 + 1), "shelf": format!("{}", i + 1), "bin": format!("{:02}", n % 10 + 1) } });
            let path = format!("/vendors/{vendor_id}/skus/{sku}/stock/{location}");
            api.expect(Method::PATCH, &path, Some(owner), Some(settings), true).await?;
        }
    }
    let translation = json!({ "title": title_fr, "description": format!("**{title_fr}**, de {brand}. Expédié sous deux jours ouvrés.") });
    api.expect(Method::PUT, &format!("{base}/translations/fr"), Some(owner), Some(translation), true).await?;
    let image = upload_picture(api, owner, &base, n).await?;
    if n % 20 != 19 {
        api.expect(Method::PUT, &format!("{base}/status"), Some(owner), Some(json!({ "status": "published" })), true)
            .await?;
    }
    Ok((product_id, image))
}

async fn upload_picture(api: &Api, owner: &str, product_path: &str, n: usize) -> Result<String> {
    let bytes = picture(n);
    let slot = json!({ "content_type": "image/jpeg", "content_length": bytes.len(), "alt": "Product photo" });
    let created = api
        .expect(Method::POST, &format!("{product_path}/images"), Some(owner), Some(slot), true)
        .await?
        .unwrap_or_default();
    let url = created["upload"]["url"].as_str().context("an upload URL")?;
    let mut put = api.http.put(url).body(bytes);
    for (name, value) in created["upload"]["headers"].as_object().into_iter().flatten() {
        put = put.header(name, value.as_str().unwrap_or_default());
    }
    let sent = put.send().await.context("uploading a picture")?;
    if !sent.status().is_success() {
        bail!("uploading a picture: HTTP {}", sent.status());
    }
    Ok(created["image"]["id"].as_str().context("an image id")?.to_string())
}

/// Waits until the pictures of the vendors' products are decided; returns how many are ready.
pub async fn await_pictures(api: &Api, owner_and_vendor: &[(String, String)]) -> Result<(usize, usize)> {
    let deadline = Instant::now() + IMAGES_DEADLINE;
    loop {
        let (mut ready, mut pending) = (0, 0);
        for (owner, vendor) in owner_and_vendor {
            let mut cursor: Option<String> = None;
            loop {
                let path = match &cursor {
                    Some(c) => format!("/vendors/{vendor}/products?limit=100&cursor={c}"),
                    None => format!("/vendors/{vendor}/products?limit=100"),
                };
                let page = api.expect(Method::GET, &path, Some(owner), None, false).await?.unwrap_or_default();
                let ids: Vec<String> = page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["id"].as_str().map(str::to_string))
                    .collect();
                let views: Vec<Value> = futures_util::stream::iter(ids)
                    .map(|id| async move {
                        let path = format!("/vendors/{vendor}/products/{id}");
                        api.expect(Method::GET, &path, Some(owner), None, false).await.map(Option::unwrap_or_default)
                    })
                    .buffer_unordered(PARALLEL)
                    .try_collect()
                    .await?;
                for view in views {
                    for image in view["images"].as_array().into_iter().flatten() {
                        match image["status"].as_str() {
                            Some("ready") => ready += 1,
                            Some("awaiting_upload" | "processing") => pending += 1,
                            _ => {}
                        }
                    }
                }
                cursor = page["next_cursor"].as_str().map(str::to_string);
                if cursor.is_none() {
                    break;
                }
            }
        }
        if pending == 0 || Instant::now() >= deadline {
            return Ok((ready, pending));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
