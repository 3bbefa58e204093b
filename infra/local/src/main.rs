//! stockyard-local: the local stack (emulators + template resources + the real function
//! binaries behind an API Gateway-shaped gateway), for `make run`, `make test` and `make bench`.

mod apigw;
mod bench;
mod bench_checkout;
mod bench_search;
mod bench_stock;
mod bootstrap;
mod carriers;
mod demo_demand;
mod emulators;
mod events;
mod gateway;
mod lambda;
mod mail;
mod notify;
mod params;
mod payments;
mod pump;
mod resolve;
mod schedule;
mod seed;
mod seed_catalog;
mod stack;
mod streams;
mod template;
mod util;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::stack::{Mode, Options};

#[derive(Parser)]
#[command(
    name = "stockyard-local",
    about = "Stockyard's local AWS stack: emulators, gateway, queue consumers, schedules"
)]
struct Cli {
    /// Repository root (holds template.yaml).
    #[arg(long, global = true, env = "STOCKYARD_ROOT")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the stack, seed demo data and serve until Ctrl-C.
    Run {
        #[arg(long, default_value_t = 3000)]
        api_port: u16,
        /// Do not create the demo marketplace.
        #[arg(long)]
        no_seed: bool,
        #[command(flatten)]
        stack: StackArgs,
    },
    /// Start a fresh stack on free ports, run a command with its environment, tear it down,
    /// exit with the command's status.
    Exec {
        #[command(flatten)]
        stack: StackArgs,
        /// Command and arguments.
        #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Cold start and size of every function binary (release build) against a hello-world lambda.
    Bench {
        /// Spawns per binary (median reported).
        #[arg(long, default_value_t = 15)]
        runs: usize,
        /// Use the existing release binaries instead of building them.
        #[arg(long)]
        no_build: bool,
        /// Only the nightly forecast job (6,000 SKU-locations × 2 years), not the cold starts.
        #[arg(long)]
        forecast_only: bool,
        /// Only the search benchmark (100,000 products), not the cold starts nor the forecast job.
        #[arg(long, conflicts_with = "forecast_only")]
        search_only: bool,
        /// Only this function (repeatable): build and measure it beside hello-world, without the
        /// forecast job.
        #[arg(long = "bin", value_name = "NAME", conflicts_with = "forecast_only")]
        only: Vec<String>,
        /// Vendors of the nightly fan-out benchmark (0: skip it).
        #[arg(long, default_value_t = 200)]
        fanout_vendors: usize,
        /// Only the nightly fan-out benchmark.
        #[arg(long, conflicts_with_all = ["forecast_only", "only"])]
        fanout_only: bool,
        /// Only the hot-item benchmark (50 writers selling one SKU at one location).
        #[arg(long, conflicts_with_all = ["forecast_only", "only", "fanout_only", "search_only"])]
        stock_only: bool,
        /// Sales of the hot-item benchmark (each measurement).
        #[arg(long, default_value_t = 2_000)]
        hot_sales: u64,
        /// Only the flash-sale checkout benchmark (500 guests checking out one variant at once).
        #[arg(long, conflicts_with_all = ["forecast_only", "only", "fanout_only", "search_only", "stock_only"])]
        checkout_only: bool,
        /// forecast-vendor invocations at once in the fan-out benchmark (at most the template's
        /// MaximumConcurrency).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Write events/<fn>.json for every template function that has none (or all with --force).
    Events {
        #[arg(long)]
        force: bool,
    },
    /// Print the template's routes, queue consumers and schedules.
    Routes,
    /// Print the binary name of every template function, one per line.
    Binaries,
}

/// How the stack runs the functions (shared by `run` and `exec`).
#[derive(clap::Args)]
struct StackArgs {
    /// Run function binaries from target/release.
    #[arg(long)]
    release: bool,
    /// Do not run scheduled functions on their schedule (POST /_local/schedules/<fn> still works).
    #[arg(long)]
    no_schedules: bool,
    /// Workers per function at most.
    #[arg(long, default_value_t = 4)]
    max_workers: usize,
}

impl StackArgs {
    fn options(self, root: PathBuf, mode: Mode, api_port: u16) -> Result<Options> {
        Ok(Options {
            root,
            mode,
            api_port,
            release: self.release,
            schedules: !self.no_schedules,
            emulator: emulators::Kind::from_env()?,
            max_workers: self.max_workers,
        })
    }
}

fn root(cli_root: Option<PathBuf>) -> Result<PathBuf> {
    let root = match cli_root {
        Some(r) => r,
        None => {
            // The repository root is two levels above this crate when run via cargo; otherwise cwd.
            let cwd = std::env::current_dir()?;
            let mut dir = cwd.as_path();
            loop {
                if dir.join("template.yaml").is_file() && dir.join("Cargo.toml").is_file() {
                    break dir.to_path_buf();
                }
                match dir.parent() {
                    Some(p) => dir = p,
                    None => break cwd.clone(),
                }
            }
        }
    };
    stack::check_root(&root)?;
    root.canonicalize().context("resolving the repository root")
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match rt.block_on(real_main(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stockyard-local: {e:#}");
            1
        }
    };
    // Dropping the runtime drops every task and with them any child still guarded.
    drop(rt);
    std::process::exit(code);
}

async fn real_main(cli: Cli) -> Result<i32> {
    let root = root(cli.root)?;
    match cli.command {
        Command::Run { api_port, no_seed, stack } => run(stack.options(root, Mode::Run, api_port)?, !no_seed).await,
        Command::Exec { stack, command } => exec(stack.options(root, Mode::Exec, 0)?, command).await,
        Command::Bench {
            runs,
            no_build,
            forecast_only,
            search_only,
            only,
            fanout_vendors,
            fanout_only,
            stock_only,
            hot_sales,
            checkout_only,
            concurrency,
        } => {
            if checkout_only {
                if !no_build {
                    bench::build(&root, &[])?;
                }
                return bench_checkout::run(&root).await.map(|_| 0);
            }
            if stock_only {
                if !no_build {
                    bench::build(&root, &[])?;
                }
                return bench_stock::run(&root, hot_sales).await.map(|_| 0);
            }
            if search_only {
                if !no_build {
                    bench::build(&root, &[])?;
                }
                return bench_search::run(&root).await.map(|_| 0);
            }
            if fanout_only {
                if !no_build {
                    bench::build(&root, &["nightly-demand-forecast".into(), "forecast-vendor".into()])?;
                }
                return bench::fanout(&root, fanout_vendors, concurrency).await.map(|_| 0);
            }
            if !forecast_only {
                bench::run(&root, runs, !no_build, &only).await?;
                if !only.is_empty() {
                    return Ok(0);
                }
            } else if !no_build {
                bench::build(&root, &[])?;
            }
            bench::forecast_job(&root).await?;
            if forecast_only {
                return Ok(0);
            }
            if fanout_vendors > 0 {
                bench::fanout(&root, fanout_vendors, concurrency).await?;
            }
            bench_stock::run(&root, hot_sales).await?;
            bench_checkout::run(&root).await?;
            bench_search::run(&root).await.map(|_| 0)
        }
        Command::Events { force } => events::write_all(&root, force).map(|_| 0),
        Command::Binaries => {
            let (template, _) = stack::load_template(&root)?;
            for f in template.functions()? {
                println!("{}", f.binary);
            }
            Ok(0)
        }
        Command::Routes => {
            let (template, _) = stack::load_template(&root)?;
            for f in template.functions()? {
                for e in &f.events {
                    println!("{:<28} {e:?}", f.binary);
                }
            }
            Ok(0)
        }
    }
}

async fn run(opts: Options, seed: bool) -> Result<i32> {
    println!("stockyard-local: starting ({} + DynamoDB Local)...", opts.emulator.name());
    let running = stack::start(&opts).await?;
    let ready = running.startup;
    let seeded = if seed {
        match seed::seed(&running).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("seed: {e:#}");
                None
            }
        }
    } else {
        None
    };
    print_summary(&running, ready, seeded.as_deref());
    wait_for_stop_signal().await;
    println!("\nstockyard-local: stopping...");
    running.stop(true).await;
    println!("stockyard-local: stopped");
    Ok(0)
}

fn print_summary(running: &stack::Running, ready: std::time::Duration, seeded: Option<&str>) {
    let info = &running.info;
    let s = |p: &str| info.pointer(p).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let fns = info["functions"].as_object().map(|o| o.len()).unwrap_or(0);
    let routes: usize = info["functions"]
        .as_object()
        .map(|o| o.values().map(|f| f["routes"].as_array().map_or(0, Vec::len)).sum())
        .unwrap_or(0);
    println!();
    println!("  Stockyard local stack ready in {:.1}s", ready.as_secs_f64());
    println!("  API          {}   ({routes} routes, {fns} functions; GET /_local/routes)", s("/api_url"));
    println!("  API docs     {}/openapi.json", s("/api_url"));
    println!("  Emails       {}", s("/emails_url"));
    println!("  DynamoDB     {}   ({} for SQS/SES: {})", s("/endpoints/dynamodb"), s("/emulator"), s("/endpoints/aws"));
    println!("  Admin        {} / {}", s("/admin/email"), s("/admin/password"));
    println!("  Stack file   {}", running.stack_file.display());
    println!("  Invoke       make invoke FN=<function>   (events/<function>.json)");
    if let Some(seeded) = seeded {
        println!("{seeded}");
    }
    println!("  Stop         Ctrl-C");
    println!();
}

async fn wait_for_stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        _ = async { match hup.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}

async fn exec(opts: Options, command: Vec<String>) -> Result<i32> {
    let Some((program, args)) = command.split_first() else { bail!("exec needs a command") };
    let t0 = Instant::now();
    let running = stack::start(&opts).await?;
    eprintln!(
        "stockyard-local: stack ready in {:.1}s at {} ({}); function logs in .local/logs/<fn>.log",
        running.startup.as_secs_f64(),
        running.api_url,
        opts.emulator.name()
    );
    // Keep Ctrl-C from killing us before the child: the child (same process group) gets it
    // and exits; then we tear down.
    let ctrl_c = tokio::spawn(async {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
        }
    });
    let status = tokio::process::Command::new(program)
        .args(args)
        .envs(running.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .status()
        .await;
    let code = match &status {
        Ok(s) => s.code().unwrap_or(1),
        Err(_) => 127,
    };
    let exec_dir = running.stack_file.parent().map(|p| p.to_path_buf());
    let t_stop = Instant::now();
    running.stop(false).await;
    ctrl_c.abort();
    if code == 0
        && let Some(dir) = exec_dir
    {
        let _ = std::fs::remove_dir_all(dir);
    }
    eprintln!(
        "stockyard-local: stack stopped in {:.1}s; total {:.1}s",
        t_stop.elapsed().as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    match status {
        Ok(_) => Ok(code),
        Err(e) => Err(anyhow::anyhow!("running {program}: {e}")),
    }
}
