//! The flash-sale checkout benchmark (`make bench`, figures printed, nothing asserted): many
//! shoppers checking out the same variant at once, against a fresh local stack.
//!
//! 1. Stockyard: `CHECKOUTS` guests, each with a cart of one unit of one hot variant at one
//!    location, all sent to `POST /checkout` at once (every function instance warm). Placed
//!    checkouts per second, p50/p99 latency, and how many were refused as busy (503).
//! 2. DynamoDB Local alone, the same transaction shape from `WRITERS` tasks of this process: read
//!    the stock item (strongly consistent), then TransactWriteItems of the item (`version =
//!    :read`, reserved up by one), its ledger movement, the order group, its vendor order, its
//!    reservation timer, the emptied cart and the idempotency record, at once again on a lost
//!    race. The goal is at least half of this rate.
//! 3. The same raw transaction with the variant's stock split over `SHARDS` items, each writer
//!    on its own shard: what splitting a flash-sale item into stock shards does to the rate.
//! 4. Stockyard again, `CHECKOUTS` new guests, after the vendor split the item into `SHARDS`
//!    stock shards (`PATCH .../stock/{locationId}` with `shards`): the same, through the API.
//!
//! Then the arithmetic of one hot SKU on DynamoDB itself, within its per-partition limits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use reqwest::Method;
use serde_json::{Value, json};

use crate::bench_stock::{Outcome, header};
use crate::seed::{Api, DEMO_PASSWORD};
use crate::{bootstrap, stack};

/// Shoppers checking out at once.
pub const CHECKOUTS: usize = 500;
/// Function instances the local stack runs at once (Lambda's concurrency, locally).
const INSTANCES: usize = 50;
/// Writers of the raw measurements.
const WRITERS: usize = 50;
/// Stock items a sharded flash-sale variant is split into.
const SHARDS: usize = 4;

/// Runs the three measurements and prints the arithmetic.
pub async fn run(root: &std::path::Path) -> Result<()> {
    let release = crate::stack::binary_path(root, "checkout", true).is_file();
    let kind = if release { "release" } else { "debug (no release build found)" };
    println!(
        "\nFlash-sale checkout: {CHECKOUTS} guests check out one unit of one variant at one location at once; the stack runs {kind} binaries ({INSTANCES} instances)"
    );
    let running = crate::bench::bench_stack(root, release, INSTANCES).await?;
    let result = measure(&running).await;
    running.stop(false).await;
    result
}

async fn measure(running: &stack::Running) -> Result<()> {
    let sale = setup(running).await.context("setting up the flash sale")?;
    let variant = &sale.variant;
    let carts = guest_carts(running, variant).await.context("making the carts")?;
    header("placed");
    let ours = through_api(running, &carts).await?;
    let ours_rate = ours.print("Stockyard, POST /checkout");
    let env = |name: &str| running.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let clients = bootstrap::Clients::new(&env("AWS_ENDPOINT_URL_DYNAMODB"), &env("AWS_ENDPOINT_URL")).await;
    let table = env("STOCKYARD_TABLE_NAME");
    let raw = raw_dynamodb(&clients.dynamodb, &table, CHECKOUTS as u64, 1).await?;
    let raw_rate = raw.print("DynamoDB Local, same transaction");
    let sharded = raw_dynamodb(&clients.dynamodb, &table, CHECKOUTS as u64, SHARDS).await?;
    let sharded_rate = sharded.print(&format!("DynamoDB Local, {SHARDS} stock shards"));
    // The vendor splits the item for the rest of the sale; new guests check out.
    let api = Api::new(&running.api_url);
    let split =
        api.expect(Method::PATCH, &sale.stock_path, Some(&sale.owner), Some(json!({ "shards": SHARDS })), false);
    split.await.context("splitting the item into shards")?;
    let carts = guest_carts(running, variant).await.context("making the carts")?;
    let ours_sharded = through_api(running, &carts).await?;
    let ours_sharded_rate = ours_sharded.print(&format!("Stockyard, {SHARDS} stock shards"));
    let share = |ours: f64, raw: f64| 100.0 * ours / raw.max(f64::MIN_POSITIVE);
    println!(
        "  Stockyard reaches {:.0}% of the emulator's rate for this transaction (goal: at least 50%), {:.0}% of it split into {SHARDS} shards; {SHARDS} shards take the raw rate to {:.1}x and Stockyard's to {:.1}x; variant {variant}",
        share(ours_rate, raw_rate),
        share(ours_sharded_rate, sharded_rate),
        sharded_rate / raw_rate.max(f64::MIN_POSITIVE),
        ours_sharded_rate / ours_rate.max(f64::MIN_POSITIVE)
    );
    println!("{}", arithmetic(&raw));
    Ok(())
}

/// What one hot SKU sustains on DynamoDB, from the partition limits and the measured
/// transaction time.
fn arithmetic(raw: &Outcome) -> String {
    let mut l = raw.latencies.clone();
    l.sort();
    let p50 = l.get(l.len() / 2).copied().unwrap_or_default().as_secs_f64().max(0.001);
    format!(
        "  One hot SKU on DynamoDB: a partition takes 1,000 write units a second; a checkout writes the stock item and its\n\
         \x20 ledger movement (each about 1 KB, 2 units in a transaction) to two partitions, so capacity allows 500\n\
         \x20 checkouts a second per stock item (30,000 a minute). What binds is that writes to one item under its version\n\
         \x20 are serial: one transaction at a time, assumed about 25 ms each on DynamoDB (DynamoDB Local here: {:.0} ms p50 per\n\
         \x20 checkout with {WRITERS} writers retrying on one item),\n\
         \x20 so one item sustains about 40 a second, 2,400 a minute, below the 4,500 target. Split into {SHARDS} stock shards\n\
         \x20 (each its own item and ledger partition), the same SKU sustains about {} a minute, within capacity.",
        p50 * 1000.0,
        40 * 60 * SHARDS
    )
}

/// The flash sale set up: the hot variant, and what the vendor's owner splits its stock with.
struct Sale {
    variant: String,
    owner: String,
    /// `/vendors/{vendorId}/skus/{sku}/stock/{locationId}`.
    stock_path: String,
}

/// A vendor selling one variant from a French location with a million units, shipping to France;
/// France's tax.
async fn setup(running: &stack::Running) -> Result<Sale> {
    let api = Api::new(&running.api_url);
    let tag = ulid::Ulid::new().to_string().to_lowercase();
    let email = format!("flash-{tag}@stockyard.example");
    let owner = api.user(&email, "Flash Sale Owner").await?;
    api.verify_email(&owner).await?;
    api.expect(Method::POST, "/vendors", Some(&owner), Some(json!({ "name": format!("Flash {tag}") })), false).await?;
    let owner = api.login(&email, DEMO_PASSWORD).await?;
    let vendor = api.me(&owner).await?["vendor_id"].as_str().context("the vendor")?.to_string();
    let params = &running.parameters;
    let admin = api.login(&params["AdminEmail"], &params["AdminPassword"]).await?;
    let france = json!({ "countries": [{ "country": "FR", "pricing": "tax_inclusive", "shipping_tax_class": "standard",
                                         "rates": [{ "tax_class": "standard", "rate": "20", "name": "TVA 20%" }] }] });
    api.expect(Method::PUT, "/admin/tax-rates", Some(&admin), Some(france), false).await?;
    let names = json!({ "names": { "en": format!("Flash {tag}") } });
    let category = api.expect(Method::POST, "/categories", Some(&admin), Some(names), false).await?.unwrap_or_default();
    let product = json!({ "category_id": category["id"], "title": "Flash sale trainers" });
    let product =
        api.expect(Method::POST, &format!("/vendors/{vendor}/products"), Some(&owner), Some(product), false).await?;
    let product = product.unwrap_or_default()["id"].as_str().context("a product")?.to_string();
    let sku = format!("FLASH-{}", &tag[tag.len() - 8..]).to_uppercase();
    let variant = json!({ "sku": sku, "prices": { "EUR": { "amount": 4900 } }, "weight_g": 900 });
    let path = format!("/vendors/{vendor}/products/{product}/variants");
    let variant = api.expect(Method::POST, &path, Some(&owner), Some(variant), false).await?.unwrap_or_default();
    let variant = variant["id"].as_str().context("a variant")?.to_string();
    let path = format!("/vendors/{vendor}/products/{product}/status");
    api.expect(Method::PUT, &path, Some(&owner), Some(json!({ "status": "published" })), false).await?;
    let location = json!({ "code": "FLASH", "name": "Flash warehouse", "kind": "warehouse", "country": "FR" });
    let location =
        api.expect(Method::POST, &format!("/vendors/{vendor}/locations"), Some(&owner), Some(location), false).await?;
    let location = location.unwrap_or_default()["id"].as_str().context("a location")?.to_string();
    let stock = json!({ "sku": sku, "location_id": location, "quantity": 1_000_000, "reason": "received" });
    api.expect(Method::POST, &format!("/vendors/{vendor}/stock/adjustments"), Some(&owner), Some(stock), false).await?;
    let shipping = json!({
        "zones": [{ "code": "FR", "name": "France", "countries": ["FR"] }],
        "services": [{ "zone_code": "FR", "code": "STANDARD", "carrier": "La Poste", "name": "Colissimo",
                       "rates": [{ "up_to_g": 30000, "price": { "amount": 490, "currency": "EUR" } }],
                       "max_weight_g": 30000, "max_length_mm": 1500, "transit_days_min": 2, "transit_days_max": 3 }],
        "calendar": { "utc_offset_minutes": 60, "cutoff": "14:00:00",
                      "working_days": { "monday": true, "tuesday": true, "wednesday": true, "thursday": true,
                                        "friday": true, "saturday": false, "sunday": false } }
    });
    api.expect(Method::PUT, &format!("/vendors/{vendor}/shipping"), Some(&owner), Some(shipping), false).await?;
    let stock_path = format!("/vendors/{vendor}/skus/{sku}/stock/{location}");
    Ok(Sale { variant, owner, stock_path })
}

/// `CHECKOUTS` guest carts of one unit of `variant` each, 50 at a time (not measured).
async fn guest_carts(running: &stack::Running, variant: &str) -> Result<Vec<(String, String)>> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(INSTANCES).build()?;
    let mut carts = Vec::with_capacity(CHECKOUTS);
    for _ in 0..CHECKOUTS / INSTANCES {
        let batch = (0..INSTANCES).map(|_| {
            let (http, base, variant) = (http.clone(), running.api_url.clone(), variant.to_string());
            async move {
                let cart: Value =
                    http.post(format!("{base}/carts")).json(&json!({ "currency": "EUR" })).send().await?.json().await?;
                let (id, token) = (cart["id"].as_str().unwrap_or_default(), cart["token"].as_str().unwrap_or_default());
                let line = http
                    .put(format!("{base}/carts/{id}/lines/{variant}"))
                    .header("x-cart-token", token)
                    .json(&json!({ "quantity": 1 }))
                    .send()
                    .await?;
                anyhow::ensure!(line.status().is_success(), "adding the line: {}", line.status());
                Ok::<_, anyhow::Error>((id.to_string(), token.to_string()))
            }
        });
        for cart in futures_util::future::join_all(batch).await {
            carts.push(cart?);
        }
    }
    Ok(carts)
}

async fn through_api(running: &stack::Running, carts: &[(String, String)]) -> Result<Outcome> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(CHECKOUTS).build()?;
    let url = format!("{}/checkout", running.api_url);
    let address = json!({ "recipient": "Ada Lovelace", "line1": "12 rue de Rivoli", "city": "Paris",
                          "postal_code": "75001", "country": "FR" });
    // Warm every instance first (quotes write nothing), as a flash sale's would be after its first seconds.
    let warm = carts.iter().take(INSTANCES).map(|(cart, token)| {
        let body = json!({ "cart_id": cart, "email": "warm@example.com", "shipping_address": address });
        http.post(format!("{}/checkout/quote", running.api_url)).header("x-cart-token", token).json(&body).send()
    });
    futures_util::future::join_all(warm).await;
    let warm = (0..INSTANCES).map(|_| {
        // An unknown cart: answered 404 by a checkout instance, which stays warm.
        let body = json!({ "cart_id": ulid::Ulid::new().to_string(), "email": "warm@example.com", "shipping_address": address });
        http.post(&url).header("idempotency-key", ulid::Ulid::new().to_string()).json(&body).send()
    });
    futures_util::future::join_all(warm).await;
    let busy = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = carts
        .iter()
        .cloned()
        .map(|(cart, token)| {
            let (http, url, address, busy) = (http.clone(), url.clone(), address.clone(), busy.clone());
            tokio::spawn(async move {
                let body = json!({ "cart_id": cart, "email": "flash@example.com", "shipping_address": address });
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .header("x-cart-token", &token)
                    .header("idempotency-key", format!("flash-{cart}"))
                    .json(&body)
                    .send()
                    .await?;
                let status = resp.status().as_u16();
                match status {
                    201 => Ok::<_, anyhow::Error>(Some(t.elapsed())),
                    503 => {
                        busy.fetch_add(1, Ordering::Relaxed);
                        Ok(None)
                    }
                    _ => anyhow::bail!("checkout of {cart}: {status} {}", resp.text().await.unwrap_or_default()),
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(Outcome { wall: started.elapsed(), latencies, busy: busy.load(Ordering::Relaxed), lost_races: 0 })
}

/// The checkout's transaction on raw items of the benchmark's own, the stock in `shards` items.
async fn raw_dynamodb(db: &aws_sdk_dynamodb::Client, table: &str, checkouts: u64, shards: usize) -> Result<Outcome> {
    let pk = format!("BENCHCHECKOUT#{}", ulid::Ulid::new());
    let s = |v: &str| AttributeValue::S(v.to_string());
    let n = |v: u64| AttributeValue::N(v.to_string());
    for shard in 0..shards {
        db.put_item()
            .table_name(table)
            .item("PK", s(&format!("{pk}#{shard}")))
            .item("SK", s("ITEM"))
            .item("on_hand", n(1_000_000))
            .item("reserved", n(0))
            .item("version", n(0))
            .send()
            .await
            .context("writing the raw stock item")?;
    }
    let next = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (db, table, next, lost) = (db.clone(), table.to_string(), next.clone(), lost.clone());
            let item = format!("{pk}#{}", writer % shards);
            let pk = pk.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let order = next.fetch_add(1, Ordering::Relaxed);
                    if order >= checkouts {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                    let t = Instant::now();
                    loop {
                        let read = db
                            .get_item()
                            .table_name(&table)
                            .key("PK", s(&item))
                            .key("SK", s("ITEM"))
                            .consistent_read(true)
                            .send()
                            .await?;
                        let version: u64 = read
                            .item()
                            .and_then(|i| i.get("version"))
                            .and_then(|v| v.as_n().ok())
                            .and_then(|v| v.parse().ok())
                            .context("the raw item's version")?;
                        let update = Update::builder()
                            .table_name(&table)
                            .key("PK", s(&item))
                            .key("SK", s("ITEM"))
                            .update_expression("SET reserved = reserved + :one, version = :next")
                            .condition_expression("version = :read AND reserved < on_hand")
                            .expression_attribute_values(":one", n(1))
                            .expression_attribute_values(":next", n(version + 1))
                            .expression_attribute_values(":read", n(version))
                            .build()?;
                        let put = |pk: String, sk: &str| {
                            Put::builder()
                                .table_name(&table)
                                .item("PK", s(&pk))
                                .item("SK", s(sk))
                                .item("quantity", n(1))
                                .condition_expression("attribute_not_exists(PK)")
                                .build()
                        };
                        let group = format!("{pk}#ORDER#{order}");
                        let items = [
                            put(format!("{item}#LEDGER"), &format!("V#{:012}", version + 1))?,
                            put(group.clone(), "GROUP")?,
                            put(group.clone(), "ORDER#VENDOR")?,
                            put(format!("{pk}#EXPIRING#{}", order % 8), &format!("AT#{order}"))?,
                            put(format!("{pk}#CART#{order}"), "CART")?,
                            put(format!("{pk}#IDEMPOTENCY#{order}"), "KEY")?,
                        ];
                        let mut tx = db
                            .transact_write_items()
                            .transact_items(TransactWriteItem::builder().update(update).build());
                        for put in items {
                            tx = tx.transact_items(TransactWriteItem::builder().put(put).build());
                        }
                        match tx.send().await {
                            Ok(_) => break,
                            Err(e) if format!("{e:?}").contains("TransactionCanceled") => {
                                lost.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    Ok(Outcome { wall: started.elapsed(), latencies, busy: 0, lost_races: lost.load(Ordering::Relaxed) })
}
