//! The hot-item benchmark (`make bench`, figures printed, nothing asserted): a flash sale on one
//! product, against a fresh local stack running the release binaries.
//!
//! 1. Stockyard: 50 clients post channel sales of one unit each of one SKU at one location, as
//!    fast as they can, through the API (`record-channel-sales`: the stock item under its version,
//!    the ledger movement and the sale record in one transaction, a lost race read and planned
//!    again). Throughput of applied sales, p50/p99 latency, how many were refused as busy (503, or
//!    a line refused `service_busy`), and the races the applied ones lost first (from the
//!    function's log).
//! 2. DynamoDB Local alone, the same write shape from 50 tasks of this process: read the item
//!    (strongly consistent), then TransactWriteItems of the item (`version = :read`, on hand
//!    down by one), a movement and a sale record (`attribute_not_exists`), at once again on a
//!    lost race. This is what the emulator can do for one item; the goal is at least half of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use reqwest::Method;
use serde_json::json;

use crate::seed::{Api, DEMO_PASSWORD};
use crate::{bootstrap, stack};

/// Clients writing at once.
pub const WRITERS: usize = 50;

/// Applied changes, their latencies, and refusals, of one measurement (the checkout benchmark's
/// too).
pub(crate) struct Outcome {
    pub(crate) wall: Duration,
    pub(crate) latencies: Vec<Duration>,
    pub(crate) busy: u64,
    pub(crate) lost_races: u64,
}

impl Outcome {
    /// Prints one row under [`header`]; the rate of applied changes per second.
    pub(crate) fn print(&self, label: &str) -> f64 {
        let mut l = self.latencies.clone();
        l.sort();
        let at =
            |q: f64| l.get(((l.len() as f64 * q) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or_default();
        let rate = l.len() as f64 / self.wall.as_secs_f64();
        println!(
            "  {label:<34} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>7} {:>11}",
            l.len(),
            rate,
            at(0.5).as_secs_f64() * 1000.0,
            at(0.99).as_secs_f64() * 1000.0,
            self.busy,
            self.lost_races
        );
        rate
    }
}

/// The columns [`Outcome::print`] fills, the first named `applied`.
pub(crate) fn header(applied: &str) {
    println!(
        "  {:<34} {:>6} {:>9} {:>9} {:>9} {:>7} {:>11}",
        "", applied, "per s", "p50 ms", "p99 ms", "busy", "lost races"
    );
}

/// Runs both measurements with `changes` sales each (2,000 by default).
pub async fn run(root: &std::path::Path, changes: u64) -> Result<()> {
    let release = crate::stack::binary_path(root, "record-channel-sales", true).is_file();
    let kind = if release { "release" } else { "debug (no release build found)" };
    println!(
        "\nHot item: {WRITERS} writers, {changes} sales of 1 unit of one SKU at one location; the stack runs {kind} binaries"
    );
    let running = crate::bench::bench_stack(root, release, WRITERS).await?;
    let result = measure(&running, changes).await;
    running.stop(false).await;
    result
}

async fn measure(running: &stack::Running, changes: u64) -> Result<()> {
    let (vendor, token, channel, sku) = setup(running).await.context("setting up the hot item")?;
    header("sales");
    let log = running.info["functions"]["record-channel-sales"]["log"].as_str().map(std::path::PathBuf::from);
    let logged_before = log.as_deref().map_or(0, lost_races_logged);
    let mut ours = through_api(running, &vendor, &token, &channel, &sku, changes).await?;
    ours.lost_races = log.as_deref().map_or(0, lost_races_logged) - logged_before;
    let ours_rate = ours.print("Stockyard, through the API");
    let env = |name: &str| running.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let clients = bootstrap::Clients::new(&env("AWS_ENDPOINT_URL_DYNAMODB"), &env("AWS_ENDPOINT_URL")).await;
    let raw = raw_dynamodb(&clients.dynamodb, &env("STOCKYARD_TABLE_NAME"), changes).await?;
    let raw_rate = raw.print("DynamoDB Local, same write shape");
    println!(
        "  Stockyard reaches {:.0}% of the emulator's rate for this write (goal: at least 50%); figures only, nothing asserted",
        100.0 * ours_rate / raw_rate.max(f64::MIN_POSITIVE)
    );
    Ok(())
}

/// The races that stock changes lost before they committed, as the function logged them
/// (`lost_races=N` on "stock change committed after lost races"); a change refused as busy lost
/// races too but logs none, so this is a floor.
fn lost_races_logged(log: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| line.split("lost_races=").nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u64>().ok())
        .sum()
}

/// A vendor with one SKU holding a million units at one location, and a POS channel selling
/// from there: `(vendor id, owner token, channel id, SKU)`.
async fn setup(running: &stack::Running) -> Result<(String, String, String, String)> {
    let api = Api::new(&running.api_url);
    let tag = ulid::Ulid::new().to_string().to_lowercase();
    let email = format!("hot-{tag}@stockyard.example");
    let owner = api.user(&email, "Hot Item Owner").await?;
    api.verify_email(&owner).await?;
    api.expect(Method::POST, "/vendors", Some(&owner), Some(json!({ "name": format!("Hot {tag}") })), false).await?;
    let owner = api.login(&email, DEMO_PASSWORD).await?;
    let vendor = api.me(&owner).await?["vendor_id"].as_str().context("the vendor")?.to_string();
    let params = &running.parameters;
    let admin = api.login(&params["AdminEmail"], &params["AdminPassword"]).await?;
    let names = json!({ "names": { "en": format!("Hot {tag}") } });
    let category = api.expect(Method::POST, "/categories", Some(&admin), Some(names), false).await?.unwrap_or_default();
    let product = json!({ "category_id": category["id"], "title": "Flash sale jumper" });
    let product =
        api.expect(Method::POST, &format!("/vendors/{vendor}/products"), Some(&owner), Some(product), false).await?;
    let product = product.unwrap_or_default()["id"].as_str().context("a product")?.to_string();
    let sku = format!("HOT-{}", &tag[tag.len() - 8..]).to_uppercase();
    let variant = json!({ "sku": sku, "prices": { "EUR": { "amount": 4900 } } });
    let path = format!("/vendors/{vendor}/products/{product}/variants");
    api.expect(Method::POST, &path, Some(&owner), Some(variant), false).await?;
    let location = json!({ "code": "HOT", "name": "Hot warehouse", "kind": "warehouse", "country": "GB" });
    let location =
        api.expect(Method::POST, &format!("/vendors/{vendor}/locations"), Some(&owner), Some(location), false).await?;
    let location = location.unwrap_or_default()["id"].as_str().context("a location")?.to_string();
    let stock = json!({ "sku": sku, "location_id": location, "quantity": 1_000_000, "reason": "received" });
    api.expect(Method::POST, &format!("/vendors/{vendor}/stock/adjustments"), Some(&owner), Some(stock), false).await?;
    let channel = json!({ "code": "FLASH", "name": "Flash sale", "kind": "pos", "location_id": location });
    let channel =
        api.expect(Method::POST, &format!("/vendors/{vendor}/channels"), Some(&owner), Some(channel), false).await?;
    let channel = channel.unwrap_or_default()["id"].as_str().context("a channel")?.to_string();
    Ok((vendor, owner, channel, sku))
}

async fn through_api(
    running: &stack::Running,
    vendor: &str,
    token: &str,
    channel: &str,
    sku: &str,
    changes: u64,
) -> Result<Outcome> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(WRITERS).build()?;
    let url = format!("{}/vendors/{vendor}/channels/{channel}/sales", running.api_url);
    // Warm every function instance first, as a flash sale's would be after its first seconds.
    let warm = (0..WRITERS).map(|i| {
        let body = json!({ "sales": [{ "sale_id": format!("warm-{i}"), "sku": sku, "quantity": 1 }] });
        http.post(&url).bearer_auth(token).json(&body).send()
    });
    futures_util::future::join_all(warm).await;
    let next = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (http, url, token, sku) = (http.clone(), url.clone(), token.to_string(), sku.to_string());
            let (next, busy) = (next.clone(), busy.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= changes {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                    let body = json!({ "sales": [{ "sale_id": format!("hot-{n}"), "sku": sku, "quantity": 1 }] });
                    let t = Instant::now();
                    let resp = http.post(&url).bearer_auth(&token).json(&body).send().await?;
                    let status = resp.status().as_u16();
                    let body: serde_json::Value = resp.json().await.unwrap_or_default();
                    let line_busy = body["results"][0]["error"]["code"] == "service_busy";
                    match (status, body["applied"].as_u64()) {
                        (200, Some(1)) => latencies.push(t.elapsed()),
                        // the stock item changed too fast for this sale: refused, to be sent again
                        (503, _) | (200, _) if status == 503 || line_busy => {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => anyhow::bail!("sale {n}: {status} {body}"),
                    }
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

/// The channel sale's write on a raw item of the benchmark's own: item, movement, sale record.
async fn raw_dynamodb(db: &aws_sdk_dynamodb::Client, table: &str, changes: u64) -> Result<Outcome> {
    let pk = format!("BENCHHOT#{}", ulid::Ulid::new());
    let s = |v: &str| AttributeValue::S(v.to_string());
    let n = |v: u64| AttributeValue::N(v.to_string());
    db.put_item()
        .table_name(table)
        .item("PK", s(&pk))
        .item("SK", s("ITEM"))
        .item("on_hand", n(1_000_000))
        .item("version", n(0))
        .send()
        .await
        .context("writing the raw hot item")?;
    let next = Arc::new(AtomicU64::new(0));
    let lost = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (db, table, pk, next, lost) = (db.clone(), table.to_string(), pk.clone(), next.clone(), lost.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let sale = next.fetch_add(1, Ordering::Relaxed);
                    if sale >= changes {
                        return Ok::<_, anyhow::Error>(latencies);
                    }
                    let t = Instant::now();
                    loop {
                        let item = db
                            .get_item()
                            .table_name(&table)
                            .key("PK", s(&pk))
                            .key("SK", s("ITEM"))
                            .consistent_read(true)
                            .send()
                            .await?;
                        let version: u64 = item
                            .item()
                            .and_then(|i| i.get("version"))
                            .and_then(|v| v.as_n().ok())
                            .and_then(|v| v.parse().ok())
                            .context("the raw item's version")?;
                        let update = Update::builder()
                            .table_name(&table)
                            .key("PK", s(&pk))
                            .key("SK", s("ITEM"))
                            .update_expression("SET on_hand = on_hand - :one, version = :next")
                            .condition_expression("version = :read AND on_hand >= :one")
                            .expression_attribute_values(":one", n(1))
                            .expression_attribute_values(":next", n(version + 1))
                            .expression_attribute_values(":read", n(version))
                            .build()?;
                        let put = |sk: String| {
                            Put::builder()
                                .table_name(&table)
                                .item("PK", s(&pk))
                                .item("SK", s(&sk))
                                .item("quantity", n(1))
                                .condition_expression("attribute_not_exists(PK)")
                                .build()
                        };
                        let written = db
                            .transact_write_items()
                            .transact_items(TransactWriteItem::builder().update(update).build())
                            .transact_items(
                                TransactWriteItem::builder().put(put(format!("V#{:012}", version + 1))?).build(),
                            )
                            .transact_items(TransactWriteItem::builder().put(put(format!("SALE#{sale}"))?).build())
                            .send()
                            .await;
                        match written {
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
