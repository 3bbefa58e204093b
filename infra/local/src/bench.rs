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

const RATIO_FLAG: f64 = 1.3;
const SIZE_FLAG_MB: f64 = 8.0;

fn function_packages(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("functions"))? {
        let manifest = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        if let Some(name) = text.lines().find_map(|l| {
            l.trim().strip_prefix("name").map(|r| r.trim_start_matches([' ', '=']).trim().trim_matches('"').to_string())
        }) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

fn build(root: &Path) -> Result<()> {
    let packages = function_packages(root)?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root).args(["build", "--release", "--bins"]);
    for p in &packages {
        cmd.args(["-p", p]);
    }
    println!("bench: cargo build --release --bins ({} function packages; slow the first time) ...", packages.len());
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

pub async fn run(root: &Path, runs: usize, do_build: bool) -> Result<()> {
    if do_build {
        build(root)?;
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
    for f in template.functions()? {
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
        if ratio > RATIO_FLAG {
            flags.push(format!(">{RATIO_FLAG}x hello"));
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
        "\n{} functions measured in {:.1}s, {flagged} flagged (>{RATIO_FLAG}x hello-world cold start or >{SIZE_FLAG_MB} MB).",
        targets.len(),
        t.elapsed().as_secs_f64()
    );
    if !missing.is_empty() {
        println!("No release binary (not built yet?): {}", missing.join(", "));
    }
    Ok(())
}
