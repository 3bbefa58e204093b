//! The whole local stack: emulators, resources from template.yaml, function pools, gateway,
//! queue consumers and schedules; its environment and .local/stack.json.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use heck::ToShoutySnakeCase;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::apigw::{Route, Router};
use crate::bootstrap::{self, Clients, REGION, STACK_NAME};
use crate::emulators::{self, Emulators, Kind};
use crate::gateway::{Cors, Gateway, ScheduleTarget};
use crate::lambda::{FunctionSpec, LogSink, Pool};
use crate::pump::Consumer;
use crate::resolve::{Physical, Resolver};
use crate::template::{FunctionDef, FunctionEvent, Template};
use crate::{params, schedule};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `make run`: fixed API port, function logs on the terminal, seeded.
    Run,
    /// `make test`: free ports, fresh state, function logs in .local/logs.
    Exec,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    pub mode: Mode,
    pub api_port: u16,
    pub release: bool,
    pub schedules: bool,
    pub emulator: Kind,
    pub max_workers: usize,
}

pub struct Running {
    pub api_url: String,
    pub env: Vec<(String, String)>,
    pub info: Value,
    pub stack_file: PathBuf,
    pub parameters: BTreeMap<String, String>,
    pub startup: Duration,
    emulators: Emulators,
    pools: Vec<Arc<Pool>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

pub fn load_template(root: &Path) -> Result<(Template, BTreeMap<String, String>)> {
    let template = Template::load(&root.join("template.yaml"))?;
    let params = params::load(&root.join("infra/local/parameters.json"), &template)?;
    Ok((template, params))
}

/// Queues with predictable URLs/ARNs, for resolving environments without an emulator (bench).
pub fn offline_queues(template: &Template, physical: &mut BTreeMap<String, Physical>, aws_url: &str, account: &str) {
    for (id, _) in template.resources_of("AWS::SQS::Queue") {
        let name = bootstrap::physical_name(id);
        physical.insert(
            id.clone(),
            Physical {
                kind: "AWS::SQS::Queue".into(),
                arn: Some(format!("arn:aws:sqs:{REGION}:{account}:{name}")),
                url: Some(format!("{aws_url}/{account}/{name}")),
                name,
            },
        );
    }
}

/// The complete process environment of one function, as Lambda would set it (minus the
/// per-worker runtime API address and log stream).
pub fn function_env(
    f: &FunctionDef,
    resolver: &Resolver<'_>,
    dynamodb_url: &str,
    aws_url: &str,
) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for (k, v) in &f.environment {
        let value = resolver.string(v).with_context(|| format!("{}: environment variable {k}", f.logical_id))?;
        env.push((k.clone(), value));
    }
    let name = &f.binary;
    env.extend([
        ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), REGION.into()),
        ("AWS_DEFAULT_REGION".into(), REGION.into()),
        ("AWS_ENDPOINT_URL".into(), aws_url.into()),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), dynamodb_url.into()),
        ("AWS_EXECUTION_ENV".into(), "AWS_Lambda_provided.al2023".into()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), f.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME".into(), format!("/aws/lambda/{name}")),
    ]);
    Ok(env)
}

pub fn binary_path(root: &Path, binary: &str, release: bool) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    target.join(if release { "release" } else { "debug" }).join(binary)
}

fn resolver<'a>(
    params: &'a BTreeMap<String, String>,
    physical: &'a BTreeMap<String, Physical>,
    account: &'a str,
) -> Resolver<'a> {
    Resolver { parameters: params, physical, region: REGION, account, stack_name: STACK_NAME }
}

/// The environment tests (and anyone scripting against the stack) get.
fn stack_env(
    template: &Template,
    physical: &BTreeMap<String, Physical>,
    params: &BTreeMap<String, String>,
    api_url: &str,
    emulators: &Emulators,
    stack_file: &Path,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("STOCKYARD_API_URL".into(), api_url.into()),
        ("STOCKYARD_EMAILS_URL".into(), format!("{api_url}/_local/emails")),
        ("STOCKYARD_EMULATOR".into(), emulators.kind.name().into()),
        ("STOCKYARD_STACK_FILE".into(), stack_file.display().to_string()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), REGION.into()),
        ("AWS_DEFAULT_REGION".into(), REGION.into()),
        ("AWS_ENDPOINT_URL".into(), emulators.aws_url()),
        ("AWS_ENDPOINT_URL_DYNAMODB".into(), emulators.dynamodb_url()),
    ];
    if let Some(v) = params.get("AdminEmail") {
        env.push(("STOCKYARD_ADMIN_EMAIL".into(), v.clone()));
    }
    if let Some(v) = params.get("AdminPassword") {
        env.push(("STOCKYARD_ADMIN_PASSWORD".into(), v.clone()));
    }
    // The payment providers' stand-in, and what its webhooks are signed with (see `payments`).
    env.push(("STOCKYARD_PAYMENTS_URL".into(), format!("{api_url}/_local/payments")));
    let payments = crate::payments::Config::from_parameters(params, api_url);
    env.push(("STOCKYARD_CARD_WEBHOOK_SECRET".into(), payments.card_secret));
    env.push(("STOCKYARD_WALLET_WEBHOOK_SECRET".into(), payments.wallet_secret));
    env.push(("STOCKYARD_WALLET_WEBHOOK_ID".into(), payments.wallet_webhook_id));
    // The carriers' stand-in, and what their tracking webhooks are signed with (see `carriers`).
    env.push(("STOCKYARD_CARRIERS_URL".into(), format!("{api_url}/_local/carriers")));
    let carriers = crate::carriers::Config::from_parameters(params, api_url);
    env.push(("STOCKYARD_CARRIER_WEBHOOK_SECRET".into(), carriers.secret));
    for (id, p) in physical {
        let snake = id.to_shouty_snake_case();
        match p.kind.as_str() {
            "AWS::DynamoDB::Table" | "AWS::S3::Bucket" => {
                env.push((format!("STOCKYARD_{snake}_NAME"), p.name.clone()));
            }
            "AWS::SQS::Queue" => {
                let url = p.url.clone().unwrap_or_default();
                env.push((format!("STOCKYARD_{snake}_URL"), url.clone()));
                if snake.contains("DEAD_LETTER_QUEUE") {
                    env.push((format!("STOCKYARD_{}_URL", snake.replace("DEAD_LETTER_QUEUE", "DLQ")), url));
                }
            }
            _ => {}
        }
    }
    for name in template.parameters.keys() {
        if let Some(v) = params.get(name) {
            env.push((format!("STOCKYARD_PARAM_{}", name.to_shouty_snake_case()), v.clone()));
        }
    }
    env
}

fn resolve_outputs(template: &Template, r: &Resolver<'_>, api_url: &str) -> BTreeMap<String, Value> {
    let apis: Vec<&String> = template
        .resources
        .iter()
        .filter(|(_, res)| res.kind == "AWS::Serverless::HttpApi" || res.kind == "AWS::Serverless::Api")
        .map(|(id, _)| id)
        .collect();
    template
        .outputs
        .iter()
        .map(|(name, v)| {
            let text = v.to_string();
            let value =
                if apis.iter().any(|id| text.contains(&format!("${{{id}}}")) || text.contains(&format!("\"{id}\""))) {
                    json!(api_url)
                } else {
                    r.value(v).unwrap_or(Value::Null)
                };
            (name.clone(), value)
        })
        .collect()
}

pub async fn start(opts: &Options) -> Result<Running> {
    let started = Instant::now();
    let root = &opts.root;
    let (template, mut params) = load_template(root)?;
    let functions = template.functions()?;
    let local = root.join(".local");
    let logs = local.join("logs");
    std::fs::create_dir_all(&logs)?;

    // The API port first: fail fast if it is taken.
    let api_listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.api_port))
        .await
        .with_context(|| format!("port {} is busy (another `make run`?); pick one with --api-port", opts.api_port))?;
    let api_port = api_listener.local_addr()?.port();
    let api_url = format!("http://127.0.0.1:{api_port}");
    // Parameters that point at the local API itself (the payment providers' stand-in).
    for value in params.values_mut() {
        *value = value.replace("{LocalApiUrl}", &api_url);
    }

    let (ddb_port, aws_port, emu_logs) = match opts.mode {
        Mode::Run => (
            crate::util::port_or_free(Some(8000))?,
            crate::util::port_or_free(Some(if opts.emulator == Kind::Moto { 5000 } else { 4566 }))?,
            logs.clone(),
        ),
        Mode::Exec => {
            let dir = logs.join(format!("exec-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            (crate::util::free_port()?, crate::util::free_port()?, dir)
        }
    };
    let mut emulators = emulators::start(root, opts.emulator, ddb_port, aws_port, &emu_logs).await?;
    let emulators_ready = started.elapsed();
    let result = async {
        let account = opts.emulator.account();
        let clients = Clients::new(&emulators.dynamodb_url(), &emulators.aws_url()).await;
        let mut physical = bootstrap::static_physical(&template, account, &api_url)?;
        bootstrap::create_queues(&clients, &template, &mut physical, &params, account).await?;
        let r = resolver(&params, &physical, account);
        bootstrap::create_tables(&clients, &template, &r).await?;
        bootstrap::create_buckets(&clients, &template, &physical).await?;
        let mut bucket_watches = Vec::new();
        for (id, res) in template.resources_of("AWS::S3::Bucket") {
            for (queue, prefix) in crate::notify::queue_configurations(&res.properties) {
                let queue_url = physical
                    .get(&queue)
                    .and_then(|q| q.url.clone())
                    .ok_or_else(|| anyhow!("{id}: notifications go to {queue}, which is not a local queue"))?;
                bucket_watches.push(crate::notify::BucketWatch {
                    s3: clients.s3.clone(),
                    sqs: clients.sqs.clone(),
                    bucket: physical[id].name.clone(),
                    prefix,
                    queue_url,
                    region: REGION.into(),
                });
            }
        }
        if let Some(sender) = params.get("EmailSender") {
            bootstrap::verify_sender(&clients, sender).await?;
        }
        let bootstrapped = started.elapsed();

        // Function pools.
        let mut pools: HashMap<String, Arc<Pool>> = HashMap::new();
        let mut aliases = HashMap::new();
        let mut routes = Vec::new();
        let mut consumers = Vec::new();
        let mut stream_pumps = Vec::new();
        let mut schedules = Vec::new();
        let mut functions_info = serde_json::Map::new();
        for f in &functions {
            let mut env = function_env(f, &r, &emulators.dynamodb_url(), &emulators.aws_url())?;
            // SES v2 through the gateway, which keeps raw messages for `/_local/emails` (see `mail`).
            env.push(("AWS_ENDPOINT_URL_SESV2".into(), api_url.clone()));
            let log = match opts.mode {
                Mode::Run => LogSink::Terminal,
                Mode::Exec => {
                    let path = logs.join(format!("{}.log", f.binary));
                    std::fs::write(&path, b"")?;
                    LogSink::File(path)
                }
            };
            let arn = physical[&f.logical_id].arn.clone().unwrap_or_default();
            let pool = Pool::new(FunctionSpec {
                name: f.binary.clone(),
                binary: binary_path(root, &f.binary, opts.release),
                env,
                timeout: Duration::from_secs(f.timeout_s),
                arn: arn.clone(),
                max_workers: f.reserved_concurrency.map_or(opts.max_workers, |n| n.min(opts.max_workers)),
                log: log.clone(),
            });
            aliases.insert(f.logical_id.clone(), f.binary.clone());
            aliases.insert(arn, f.binary.clone());
            let mut fn_routes = Vec::new();
            for ev in &f.events {
                match ev {
                    FunctionEvent::Http { method, path, .. } => {
                        fn_routes.push(format!("{method} {path}"));
                        routes.push(Route { method: method.clone(), path: path.clone(), function: f.binary.clone() });
                    }
                    FunctionEvent::Sqs {
                        queue,
                        batch_size,
                        report_batch_item_failures,
                        maximum_concurrency,
                        batching_window_seconds,
                        enabled,
                        name,
                    } => {
                        let arn = r.string(queue).with_context(|| format!("{}.{name}: Queue", f.logical_id))?;
                        let q = physical
                            .values()
                            .find(|p| p.arn.as_deref() == Some(arn.as_str()))
                            .ok_or_else(|| anyhow!("{}.{name}: no local queue with ARN {arn}", f.logical_id))?;
                        if *enabled {
                            consumers.push(Consumer {
                                function: f.binary.clone(),
                                pool: pool.clone(),
                                sqs: clients.sqs.clone(),
                                queue_url: q.url.clone().unwrap_or_default(),
                                queue_arn: arn.clone(),
                                region: REGION.into(),
                                batch_size: *batch_size,
                                report_batch_item_failures: *report_batch_item_failures,
                                maximum_concurrency: *maximum_concurrency,
                                batching_window: Duration::from_secs(*batching_window_seconds),
                            });
                        }
                    }
                    FunctionEvent::TableStream {
                        name,
                        table,
                        batch_size,
                        from_start,
                        report_batch_item_failures,
                        max_retries,
                        enabled,
                    } => {
                        let table_name = physical
                            .get(table)
                            .map(|p| p.name.clone())
                            .ok_or_else(|| anyhow!("{}.{name}: no local table {table}", f.logical_id))?;
                        if *enabled {
                            stream_pumps.push(crate::streams::StreamPump {
                                function: f.binary.clone(),
                                pool: pool.clone(),
                                dynamodb: clients.dynamodb.clone(),
                                streams: clients.streams.clone(),
                                table_name,
                                region: REGION.into(),
                                batch_size: (*batch_size).clamp(1, 1000) as usize,
                                report_batch_item_failures: *report_batch_item_failures,
                                max_retries: *max_retries,
                                from_start: *from_start,
                            });
                        }
                    }
                    FunctionEvent::Schedule { name, expression, enabled, input } => {
                        let rule_arn =
                            format!("arn:aws:events:{REGION}:{account}:rule/{STACK_NAME}-{}-{name}", f.logical_id);
                        schedules.push((
                            ScheduleTarget { function: f.binary.clone(), rule_arn },
                            expression.clone(),
                            *enabled,
                            input.clone(),
                        ));
                    }
                }
            }
            functions_info.insert(
                f.binary.clone(),
                json!({
                    "logical_id": f.logical_id,
                    "binary": binary_path(root, &f.binary, opts.release),
                    "routes": fn_routes,
                    "log": match &log { LogSink::File(p) => json!(p), LogSink::Terminal => Value::Null },
                }),
            );
            pools.insert(f.binary.clone(), pool);
        }

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let http_api = template
            .resources_of("AWS::Serverless::HttpApi")
            .next()
            .map(|(_, r)| r.properties.get("CorsConfiguration").cloned().unwrap_or(Value::Null));
        let gateway = Arc::new(Gateway {
            router: Router::new(routes)?,
            pools: pools.clone(),
            aliases,
            schedules: schedules.iter().map(|s| s.0.clone()).collect(),
            emulator: opts.emulator,
            aws_url: emulators.aws_url(),
            account: account.to_string(),
            region: REGION.to_string(),
            domain: format!("127.0.0.1:{api_port}"),
            cors: http_api.as_ref().and_then(Cors::from_template),
            http: reqwest::Client::new(),
            sent_raw: Default::default(),
            payments: crate::payments::Payments::start(crate::payments::Config::from_parameters(&params, &api_url)),
            carriers: Arc::new(crate::carriers::Carriers::new(crate::carriers::Config::from_parameters(
                &params, &api_url,
            ))),
        });
        let app = crate::gateway::app(gateway.clone());
        let mut srx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(api_listener, app)
                .with_graceful_shutdown(async move {
                    let _ = srx.changed().await;
                })
                .await;
        }));
        for c in consumers {
            tasks.push(tokio::spawn(c.run(shutdown_rx.clone())));
        }
        for p in stream_pumps {
            tasks.push(tokio::spawn(p.run(shutdown_rx.clone())));
        }
        for w in bucket_watches {
            tasks.push(tokio::spawn(w.run(shutdown_rx.clone())));
        }
        let mut schedule_info = Vec::new();
        for (target, expr, enabled, input) in schedules {
            let parsed = schedule::parse(&expr);
            let status = match (&parsed, enabled, opts.schedules) {
                (Err(e), _, _) => format!("runs on demand only ({e:#})"),
                (_, false, _) => "disabled in the template; runs on demand only".to_string(),
                (_, _, false) => "schedules off (--no-schedules); runs on demand only".to_string(),
                (Ok(_), true, true) => "scheduled".to_string(),
            };
            schedule_info.push(json!({"function": target.function, "expression": expr, "status": status}));
            if let (Ok(sched), true, true) = (parsed, enabled, opts.schedules) {
                let Some(pool) = pools.get(&target.function).cloned() else { continue };
                let mut srx = shutdown_rx.clone();
                let account = account.to_string();
                tasks.push(tokio::spawn(async move {
                    let mut next = sched.next_after(chrono::Utc::now());
                    loop {
                        let wait = (next - chrono::Utc::now()).to_std().unwrap_or_default();
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = srx.changed() => return,
                        }
                        let event = match &input {
                            Some(i) => serde_json::from_str(i).unwrap_or(Value::Null),
                            None => schedule::scheduled_event(&target.rule_arn, &account, REGION, next),
                        };
                        let t = Instant::now();
                        let outcome = pool.invoke(event.to_string().into()).await;
                        let note = match outcome {
                            crate::lambda::Outcome::Response(_) => "ok".to_string(),
                            crate::lambda::Outcome::FunctionError { error_type, .. } => {
                                format!("function error {error_type}")
                            }
                            crate::lambda::Outcome::Failed { kind, message } => format!("{kind:?}: {message}"),
                        };
                        eprintln!("CRON {:<24} {note} ({} ms)", target.function, t.elapsed().as_millis());
                        next = sched.next_after(chrono::Utc::now());
                    }
                }));
            }
        }

        let stack_file = match opts.mode {
            Mode::Run => local.join("stack.json"),
            Mode::Exec => emu_logs.join("stack.json"),
        };
        let env = stack_env(&template, &physical, &params, &api_url, &emulators, &stack_file);
        let outputs = resolve_outputs(&template, &r, &api_url);
        let info = json!({
            "mode": match opts.mode { Mode::Run => "run", Mode::Exec => "exec" },
            "pid": std::process::id(),
            "emulator": opts.emulator.name(),
            "api_url": api_url,
            "emails_url": format!("{api_url}/_local/emails"),
            "endpoints": {"dynamodb": emulators.dynamodb_url(), "aws": emulators.aws_url()},
            "emulator_pids": emulators.pids(),
            "admin": {"email": params.get("AdminEmail"), "password": params.get("AdminPassword")},
            "resources": physical,
            "outputs": outputs,
            "functions": functions_info,
            "schedules": schedule_info,
            "env": env.iter().cloned().collect::<BTreeMap<_, _>>(),
            "timings_ms": {
                "emulators_ready": emulators_ready.as_millis() as u64,
                "bootstrapped": bootstrapped.as_millis() as u64,
                "ready": started.elapsed().as_millis() as u64,
            },
        });
        std::fs::write(&stack_file, serde_json::to_string_pretty(&info)?)
            .with_context(|| format!("writing {}", stack_file.display()))?;
        Ok::<_, anyhow::Error>((env, info, stack_file, pools.into_values().collect::<Vec<_>>(), shutdown, tasks))
    }
    .await;
    match result {
        Ok((env, info, stack_file, pools, shutdown, tasks)) => Ok(Running {
            api_url,
            env,
            info,
            stack_file,
            parameters: params,
            startup: started.elapsed(),
            emulators,
            pools,
            shutdown,
            tasks,
        }),
        Err(e) => {
            emulators.stop().await;
            Err(e)
        }
    }
}

impl Running {
    /// Stops consumers, schedules, the gateway, every function worker and the emulators.
    pub async fn stop(mut self, remove_stack_file: bool) {
        let _ = self.shutdown.send(true);
        for p in &self.pools {
            p.shutdown();
        }
        for t in self.tasks.drain(..) {
            if tokio::time::timeout(Duration::from_secs(2), &mut Box::pin(t)).await.is_err() {
                // Task ignored shutdown; it is dropped with the runtime.
            }
        }
        self.emulators.stop().await;
        if remove_stack_file {
            let _ = std::fs::remove_file(&self.stack_file);
        }
    }
}

/// Fails unless `path` looks like the project root.
pub fn check_root(path: &Path) -> Result<()> {
    if !path.join("template.yaml").is_file() {
        bail!("{} has no template.yaml; run from the repository root or pass --root", path.display());
    }
    Ok(())
}
