//! `make bench`: size and cold start of every function binary (release), against a
//! hello-world lambda_runtime binary. Cold start = spawn until the first
//! `GET /runtime/invocation/next`. Prints figures; never asserts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bootstrap::{self, REGION, STACK_NAME};
use crate::lambda::cold_start;
use crate::resolve::Resolver;
use crate::stack::{self, binary_path, function_env};
use crate::template::{FunctionDef, Template};

/// The cold-start target: within 1.3× hello-world's or within 1 ms of it.
const RATIO_FLAG: f64 = 1.3;
const EXTRA_MS_FLAG: f64 = 1.0;
const SIZE_FLAG_MB: f64 = 8.0;

/// The template functions to measure: all of them, or those named in `only`.
fn selected(functions: Vec<FunctionDef>, only: &[String]) -> Result<Vec<FunctionDef>> {
    if let Some(unknown) = only.iter().find(|name| !functions.iter().any(|f| &f.binary == *name)) {
        bail!("no template function builds a binary named {unknown}");
    }
    Ok(functions.into_iter().filter(|f| only.is_empty() || only.contains(&f.binary)).collect())
}

/// Release build of the template functions (all, or those in `only`) and of the hello-world
/// baseline.
pub fn build(root: &Path, only: &[String]) -> Result<()> {
    let functions = selected(Template::load(&root.join("template.yaml"))?.functions()?, only)?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root).args(["build", "--release"]);
    for f in &functions {
        cmd.args(["--bin", &f.binary]);
    }
    println!("bench: cargo build --release ({} functions; slow the first time) ...", functions.len());
    let t = Instant::now();
    if !cmd.status().context("running cargo")?.success() {
        bail!("release build of the functions failed");
    }
    let status = Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "-p", "stockyard-local", "--example", "hello_lambda"])
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("release build of the hello_lambda example failed");
    }
    println!("bench: release build took {:.0}s", t.elapsed().as_secs_f64());
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    if v.is_empty() { Duration::ZERO } else { v[v.len() / 2] }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A process environment as name/value pairs.
type Env = Vec<(String, String)>;

pub async fn run(root: &Path, runs: usize, do_build: bool, only: &[String]) -> Result<()> {
    if do_build {
        build(root, only)?;
    }
    let hello = binary_path(root, "examples/hello_lambda", true);
    if !hello.is_file() {
        bail!("{} is missing; run without --no-build", hello.display());
    }
    let (template, params) = stack::load_template(root)?;
    // Endpoints nobody listens on: initialisation must not need the emulators.
    let (ddb, aws) = ("http://127.0.0.1:9", "http://127.0.0.1:9");
    let account = "123456789012";
    let mut physical = bootstrap::static_physical(&template, account, "http://127.0.0.1:3000")?;
    stack::offline_queues(&template, &mut physical, aws, account);
    let resolver =
        Resolver { parameters: &params, physical: &physical, region: REGION, account, stack_name: STACK_NAME };

    let hello_env = vec![
        ("AWS_LAMBDA_FUNCTION_NAME".to_string(), "hello".to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        ("AWS_REGION".into(), REGION.into()),
    ];
    let mut targets: Vec<(String, PathBuf, Env)> = Vec::new();
    let mut missing = Vec::new();
    for f in selected(template.functions()?, only)? {
        let path = binary_path(root, &f.binary, true);
        if path.is_file() {
            targets.push((f.binary.clone(), path, function_env(&f, &resolver, ddb, aws)?));
        } else {
            missing.push(f.binary.clone());
        }
    }
    // Warm the page cache so the first function is not penalised.
    for (_, path, env) in &targets {
        let _ = cold_start(path, env).await;
    }
    let _ = cold_start(&hello, &hello_env).await;

    let hello_size = std::fs::metadata(&hello)?.len();
    println!();
    println!(
        "Cold start: spawn -> first GET /runtime/invocation/next, median of {runs}, interleaved with hello-world; release binaries"
    );
    println!(
        "{:<26} {:>10} {:>8} {:>10} {:>10} {:>7}  flags",
        "function", "bytes", "MB", "cold ms", "hello ms", "ratio"
    );
    let mut all_hello = Vec::new();
    let t = Instant::now();
    let mut flagged = 0;
    for (name, path, env) in &targets {
        let (mut f_samples, mut h_samples) = (Vec::new(), Vec::new());
        let mut error = None;
        for _ in 0..runs {
            h_samples.push(cold_start(&hello, &hello_env).await?);
            match cold_start(path, env).await {
                Ok(d) => f_samples.push(d),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let size = std::fs::metadata(path)?.len();
        let mb = size as f64 / 1_048_576.0;
        if let Some(e) = error {
            println!("{name:<26} {size:>10} {mb:>8.2} {:>10} {:>10} {:>7}  FAILED: {e:#}", "-", "-", "-");
            flagged += 1;
            continue;
        }
        let (fm, hm) = (median(&mut f_samples), median(&mut h_samples));
        all_hello.extend(h_samples);
        let ratio = ms(fm) / ms(hm).max(0.001);
        let mut flags = Vec::new();
        if ratio > RATIO_FLAG && ms(fm) - ms(hm) > EXTRA_MS_FLAG {
            flags.push(format!(">{RATIO_FLAG}x and >{EXTRA_MS_FLAG} ms over hello"));
        }
        if mb > SIZE_FLAG_MB {
            flags.push(format!(">{SIZE_FLAG_MB} MB"));
        }
        if !flags.is_empty() {
            flagged += 1;
        }
        println!(
            "{name:<26} {size:>10} {mb:>8.2} {:>10.2} {:>10.2} {:>6.2}x  {}",
            ms(fm),
            ms(hm),
            ratio,
            flags.join(", ")
        );
    }
    println!(
        "{:<26} {:>10} {:>8.2} {:>10.2} {:>10} {:>7}",
        "(hello-world baseline)",
        hello_size,
        hello_size as f64 / 1_048_576.0,
        ms(median(&mut all_hello)),
        "",
        "1.00x"
    );
    println!(
        "\n{} functions measured in {:.1}s, {flagged} flagged (cold start >{RATIO_FLAG}x and >{EXTRA_MS_FLAG} ms over hello-world, or >{SIZE_FLAG_MB} MB).",
        targets.len(),
        t.elapsed().as_secs_f64()
    );
    if !missing.is_empty() {
        println!("No release binary (not built yet?): {}", missing.join(", "));
    }
    Ok(())
}

/// A fresh local stack for a benchmark: exec mode on free ports, no schedules, `release` or debug
/// binaries, at most `max_workers` instances of a function at once.
pub async fn bench_stack(root: &Path, release: bool, max_workers: usize) -> Result<stack::Running> {
    let opts = stack::Options {
        root: root.to_path_buf(),
        mode: stack::Mode::Exec,
        api_port: 0,
        release,
        schedules: false,
        emulator: crate::emulators::Kind::from_env()?,
        max_workers,
    };
    stack::start(&opts).await
}

/// SKU-locations of the forecast benchmark (3,000 SKUs at 2 locations) and days of history each.
const FORECAST_SERIES: usize = 6_000;
const FORECAST_DAYS: usize = 730;

/// The nightly forecast of one large vendor against a fresh local stack running the release
/// binaries: 6,000 SKU-locations × 2 years written straight to DynamoDB Local, then
/// `nightly-demand-forecast` invoked for the vendor twice (cold, then warm). Prints wall time,
/// series per second and the function's peak memory (its own VmHWM); asserts nothing.
pub async fn forecast_job(root: &Path) -> Result<()> {
    use stockyard_domain::ids::VendorId;
    use stockyard_store::demand;

    use crate::demo_demand;

    let binary = binary_path(root, "nightly-demand-forecast", true);
    if !binary.is_file() {
        bail!("{} is missing; run without --no-build", binary.display());
    }
    println!(
        "\nForecast job: {FORECAST_SERIES} SKU-locations × {FORECAST_DAYS} days of history, release nightly-demand-forecast"
    );
    let running = bench_stack(root, true, 1).await?;
    let result = async {
        let env = |name: &str| running.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let clients = bootstrap::Clients::new(&env("AWS_ENDPOINT_URL_DYNAMODB"), &env("AWS_ENDPOINT_URL")).await;
        let table = stockyard_store::Table::new(clients.dynamodb.clone(), env("STOCKYARD_TABLE_NAME"));

        let t = Instant::now();
        let vendor = VendorId::generate();
        let last = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let mut rng = demo_demand::rng(6000);
        let (settings, history) = vendor_demand(&mut rng, vendor, FORECAST_SERIES, last);
        let bytes: usize = history.iter().map(|h| h.units.len()).sum();
        let written = demand::load(&table, &settings, &history, 8).await?;
        println!(
            "  history written: {written} items ({} history years, {:.1} MB of daily units) in {:.1}s",
            history.len(),
            bytes as f64 / 1_048_576.0,
            t.elapsed().as_secs_f64()
        );
        drop((settings, history));

        let http = reqwest::Client::builder().timeout(Duration::from_secs(900)).build()?;
        let url = format!("{}/2015-03-31/functions/nightly-demand-forecast/invocations", running.api_url);
        println!(
            "  {:<6} {:>9} {:>10} {:>10} {:>9} {:>12}",
            "run", "wall s", "function s", "series/s", "series", "peak MB"
        );
        for label in ["cold", "warm"] {
            let t = Instant::now();
            let resp = http.post(&url).json(&serde_json::json!({ "vendor_id": vendor.to_string() })).send().await?;
            let failed = resp.headers().contains_key("x-amz-function-error");
            let report: serde_json::Value = resp.json().await?;
            let wall = t.elapsed().as_secs_f64();
            if failed {
                println!("  {label:<6} {wall:>9.2}  FAILED: {report}");
                continue;
            }
            let series = report["series"].as_f64().unwrap_or(0.0);
            let function_s = report["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0;
            println!(
                "  {label:<6} {wall:>9.2} {function_s:>10.2} {:>10.0} {series:>9} {:>12}",
                series / wall.max(1e-3),
                report["peak_memory_mb"].as_f64().map_or("-".to_string(), |m| format!("{m:.1}")),
            );
        }
        println!("  targets: < 5 s wall and < 256 MB (the function's MemorySize); figures only, nothing asserted");
        anyhow::Ok(())
    }
    .await;
    running.stop(false).await;
    result
}

/// `series` SKU-locations of one vendor (SKUs at two locations, five categories, twelve
/// suppliers) with `FORECAST_DAYS` days of sales up to `last`, as settings and history years.
fn vendor_demand(
    rng: &mut crate::demo_demand::Rng,
    vendor: stockyard_domain::ids::VendorId,
    series: usize,
    last: chrono::NaiveDate,
) -> (Vec<stockyard_store::demand::DemandSettingsRecord>, Vec<stockyard_store::demand::SalesHistoryRecord>) {
    use chrono::Datelike;
    use stockyard_domain::ids::{CategoryId, LocationId, SupplierId};
    use stockyard_store::demand::{DemandSettingsRecord, SalesHistoryRecord, encode_units};

    use crate::demo_demand::Profile;

    let locations = [LocationId::generate(), LocationId::generate()];
    // Five categories and twelve suppliers, as a mid-sized grocer has.
    let categories: Vec<CategoryId> = (0..5).map(|_| CategoryId::generate()).collect();
    let suppliers: Vec<SupplierId> = (0..12).map(|_| SupplierId::generate()).collect();
    let (mut settings, mut history) = (Vec::new(), Vec::new());
    for i in 0..series {
        let location = locations[i % 2];
        let sku = format!("SKU-{:05}", i / 2);
        let profile = Profile::varied(rng, i / 2, FORECAST_DAYS);
        let days = profile.history(rng, last, FORECAST_DAYS);
        let mut years: std::collections::BTreeMap<i32, Vec<u32>> = Default::default();
        for (date, units) in &days {
            let year = years.entry(date.year()).or_default();
            let day = date.ordinal0() as usize;
            if year.len() <= day {
                year.resize(day + 1, 0);
            }
            year[day] = *units;
        }
        for (year, units) in years {
            history.push(SalesHistoryRecord {
                vendor_id: vendor,
                location_id: location,
                sku: sku.clone(),
                year,
                units: encode_units(&units),
                channel_days: Vec::new(),
                version: 1,
                updated_at: chrono::Utc::now(),
            });
        }
        let recent: u32 = days.iter().rev().take(14).map(|(_, u)| u).sum();
        settings.push(DemandSettingsRecord {
            vendor_id: vendor,
            location_id: location,
            sku,
            supplier_id: Some(suppliers[(i / 2) % suppliers.len()]),
            category_id: Some(categories[(i / 2) % categories.len()]),
            unresolved_supplier_code: None,
            unresolved_category_code: None,
            lead_time_days: 2 + (i % 5) as u32,
            review_period_days: 7,
            service_level: 0.95,
            min_order_qty: 0,
            pack_multiple: 1,
            on_hand: recent,
            incoming: 0,
            updated_at: chrono::Utc::now(),
        });
    }
    (settings, history)
}

/// SKU-locations of the `i`-th of `vendors` benchmark vendors: most are small, some medium, a
/// few large and about one in fifty as large as the largest vendors planned for (6,000).
fn vendor_size(rng: &mut crate::demo_demand::Rng, i: usize, vendors: usize) -> usize {
    use rand::Rng;
    let share = i as f64 / vendors as f64;
    if share < 0.02 {
        rng.random_range(3_000..=6_000)
    } else if share < 0.10 {
        rng.random_range(500..=1_500)
    } else if share < 0.35 {
        rng.random_range(50..=300)
    } else {
        rng.random_range(10..=50)
    }
}

/// The nightly fan-out through the local stack (release binaries): `vendors` vendors of mixed
/// sizes written straight to DynamoDB Local, then the scheduled `nightly-demand-forecast`
/// invoked once; `forecast-vendor` consumes the queue with at most `concurrency` invocations at
/// once (and never more than the template's `MaximumConcurrency`). Waits for the day's run record
/// to count every vendor, then prints wall time, function time per vendor, how many vendors
/// were forecast twice or not at all, and the projection to 1,000 vendors on Lambda. Asserts
/// nothing.
pub async fn fanout(root: &Path, vendors: usize, concurrency: usize) -> Result<()> {
    use stockyard_domain::ids::VendorId;
    use stockyard_store::demand;

    for name in ["nightly-demand-forecast", "forecast-vendor"] {
        let binary = binary_path(root, name, true);
        if !binary.is_file() {
            bail!("{} is missing; run without --no-build", binary.display());
        }
    }
    let template = Template::load(&root.join("template.yaml"))?;
    let declared = template
        .functions()?
        .into_iter()
        .find(|f| f.binary == "forecast-vendor")
        .and_then(|f| {
            f.events.into_iter().find_map(|e| match e {
                crate::template::FunctionEvent::Sqs { maximum_concurrency, .. } => maximum_concurrency,
                _ => None,
            })
        })
        .context("forecast-vendor has no queue trigger with a MaximumConcurrency in template.yaml")?;
    let effective = concurrency.clamp(1, declared);
    println!(
        "\nNightly fan-out: {vendors} vendors of mixed sizes, concurrency {effective} (template MaximumConcurrency {declared}), release binaries"
    );
    let running = bench_stack(root, true, effective).await?;
    let result = async {
        let env = |name: &str| running.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let clients = bootstrap::Clients::new(&env("AWS_ENDPOINT_URL_DYNAMODB"), &env("AWS_ENDPOINT_URL")).await;
        let table = stockyard_store::Table::new(clients.dynamodb.clone(), env("STOCKYARD_TABLE_NAME"));

        let t = Instant::now();
        let last = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
        let mut rng = crate::demo_demand::rng(200);
        let mut ids = Vec::with_capacity(vendors);
        let (mut total_series, mut items) = (0usize, 0usize);
        for i in 0..vendors {
            let vendor = VendorId::generate();
            let size = vendor_size(&mut rng, i, vendors);
            let (settings, history) = vendor_demand(&mut rng, vendor, size, last);
            items += demand::load(&table, &settings, &history, 8).await?;
            total_series += size;
            ids.push((vendor, size));
        }
        println!(
            "  history written: {total_series} SKU-locations over {vendors} vendors ({items} items) in {:.1}s",
            t.elapsed().as_secs_f64()
        );

        let http = reqwest::Client::builder().timeout(Duration::from_secs(900)).build()?;
        let url = format!("{}/2015-03-31/functions/nightly-demand-forecast/invocations", running.api_url);
        let started = Instant::now();
        let resp = http.post(&url).json(&serde_json::json!({ "source": "aws.events" })).send().await?;
        let failed = resp.headers().contains_key("x-amz-function-error");
        let report: serde_json::Value = resp.json().await?;
        if failed {
            bail!("the scheduled invocation failed: {report}");
        }
        let enqueue_s = started.elapsed().as_secs_f64();
        println!("  enqueued {} vendors in {enqueue_s:.2}s", report["enqueued"]);

        // Until every vendor is done or has failed (a failed vendor is retried only after the
        // queue's visibility timeout, half an hour: the benchmark reports it instead of waiting).
        let deadline = Instant::now() + Duration::from_secs(3_600);
        let mut last_line = Instant::now();
        let run = loop {
            let run = demand::nightly_run(&table, last).await?.context("no nightly run record")?;
            let failed_now = demand::failed_vendor_days(&table, last).await?.len() as u32;
            if run.done + failed_now >= run.vendors || Instant::now() > deadline {
                if failed_now > 0 {
                    println!("  {failed_now} vendors failed their first attempt (retried after the visibility timeout)");
                }
                break run;
            }
            if last_line.elapsed() > Duration::from_secs(10) {
                println!("  … {} of {} vendors done after {:.0}s", run.done, run.vendors, started.elapsed().as_secs_f64());
                last_line = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let wall = started.elapsed().as_secs_f64();

        // Every vendor's runs for the day: forecast once, and none left out.
        let (mut twice, mut missing, mut function_ms) = (0, 0, 0u64);
        for (vendor, _) in &ids {
            let day = demand::vendor_day(&table, *vendor, last).await?;
            match day {
                Some(d) if d.status == demand::DayStatus::Done => {}
                _ => missing += 1,
            }
            let runs = demand::runs_of(&table, *vendor).await?;
            let scheduled: Vec<_> = runs.iter().filter(|r| r.as_of == last && r.trigger == "schedule").collect();
            if scheduled.iter().filter(|r| r.status == demand::RunStatus::Finished).count() > 1 {
                twice += 1;
            }
            function_ms += scheduled.iter().map(|r| r.duration_ms.unwrap_or(0)).sum::<u64>();
        }
        let per_vendor = function_ms as f64 / 1000.0 / vendors as f64;
        println!(
            "  {} of {} vendors done, {} failed attempts, {} SKU-locations, wall {wall:.1}s ({:.1} vendors/s, {:.0} series/s)",
            run.done,
            run.vendors,
            run.failed_attempts,
            run.series,
            f64::from(run.done) / wall.max(1e-3),
            run.series as f64 / wall.max(1e-3)
        );
        println!("  vendors forecast twice: {twice}; vendors not forecast: {missing}");
        println!("  function time: {:.1}s in all, {per_vendor:.2}s a vendor on average", function_ms as f64 / 1000.0);
        let projected = enqueue_s * 5.0 + per_vendor * 1_000.0 / declared as f64;
        println!(
            "  projection, 1,000 vendors of this mix on Lambda at MaximumConcurrency {declared}: about {:.0} s \
             ({:.1} min; per-vendor times as measured here against DynamoDB Local, enqueue time ×5)",
            projected,
            projected / 60.0
        );
        println!("  figures only, nothing asserted");
        anyhow::Ok(())
    }
    .await;
    running.stop(false).await;
    result
}
