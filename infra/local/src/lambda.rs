//! Lambda Runtime API emulation: runs the real function binaries as AWS does. Each worker
//! process gets its own small Runtime API server (`AWS_LAMBDA_RUNTIME_API`); workers are
//! spawned on first invocation, kept warm, scaled up while invocations queue, and replaced
//! when they die (the invocation they were serving then fails).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::util::{ChildGuard, signal_group};

/// Where a function's stdout/stderr go.
#[derive(Debug, Clone)]
pub enum LogSink {
    /// Forwarded line by line to the tool's stderr, prefixed with the function name.
    Terminal,
    /// Appended to a file.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub binary: PathBuf,
    /// Environment (template variables, SDK and Lambda variables) except the per-worker
    /// `AWS_LAMBDA_RUNTIME_API` and `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub arn: String,
    pub max_workers: usize,
    pub log: LogSink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The worker process exited while handling the invocation.
    Crashed,
    TimedOut,
    /// The worker could not initialise (init error or exit before its first `next`).
    InitFailed,
    /// No worker could be started or none picked the invocation up.
    Unavailable,
}

#[derive(Debug)]
pub enum Outcome {
    Response(Bytes),
    /// The handler returned an error through `/invocation/{id}/error`.
    FunctionError {
        error_type: String,
        payload: Bytes,
    },
    Failed {
        kind: Failure,
        message: String,
    },
}

impl Outcome {
    fn failed(kind: Failure, message: impl Into<String>) -> Self {
        Outcome::Failed { kind, message: message.into() }
    }
}

const QUEUED: u8 = 0;
const PICKED: u8 = 1;
const CANCELLED: u8 = 2;

struct Invocation {
    id: String,
    payload: Bytes,
    respond: oneshot::Sender<Outcome>,
    state: Arc<AtomicU8>,
}

struct InFlight {
    id: String,
    respond: oneshot::Sender<Outcome>,
}

struct Slot {
    port: u16,
    pgid: Option<i32>,
    worker: u64,
    /// Bumped when a worker dies, so `next` calls of the dead worker give up.
    generation: watch::Sender<u64>,
    /// Spawned and not yet asked for its first invocation.
    fresh: bool,
    served: u64,
    current: Option<InFlight>,
    init_error: Option<String>,
    server: JoinHandle<()>,
}

#[derive(Default)]
struct PoolState {
    slots: Vec<Slot>,
    idle: usize,
    starting: usize,
    queued: usize,
}

pub struct Pool {
    pub spec: FunctionSpec,
    tx: mpsc::UnboundedSender<Invocation>,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    state: Mutex<PoolState>,
    init_failures: watch::Sender<(u64, String)>,
    closed: AtomicBool,
    workers_started: AtomicU64,
}

impl Pool {
    pub fn new(spec: FunctionSpec) -> Arc<Self> {
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Pool {
            spec,
            tx,
            rx: tokio::sync::Mutex::new(rx),
            state: Mutex::new(PoolState::default()),
            init_failures: watch::channel((0, String::new())).0,
            closed: AtomicBool::new(false),
            workers_started: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Invokes the function with `payload` and waits for the outcome.
    pub async fn invoke(self: &Arc<Self>, payload: Bytes) -> Outcome {
        if self.closed.load(Ordering::SeqCst) {
            return Outcome::failed(Failure::Unavailable, "the local stack is shutting down");
        }
        if !self.spec.binary.is_file() {
            return Outcome::failed(
                Failure::Unavailable,
                format!(
                    "function binary {} does not exist; build it with `cargo build --bins`",
                    self.spec.binary.display()
                ),
            );
        }
        let (respond, mut result) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        let mut init_rx = self.init_failures.subscribe();
        init_rx.mark_unchanged();
        let inv = Invocation { id: crate::util::uuid().to_string(), payload, respond, state: state.clone() };
        self.lock().queued += 1;
        if self.tx.send(inv).is_err() {
            return Outcome::failed(Failure::Unavailable, "function queue closed");
        }
        if let Err(e) = self.ensure_capacity()
            && state.compare_exchange(QUEUED, CANCELLED, Ordering::SeqCst, Ordering::SeqCst).is_ok()
        {
            self.lock().queued -= 1;
            return Outcome::failed(Failure::Unavailable, format!("{e:#}"));
        }
        let queue_deadline = tokio::time::sleep(self.spec.timeout + Duration::from_secs(60));
        tokio::pin!(queue_deadline);
        let (mut watch_init, mut watch_queue) = (true, true);
        loop {
            tokio::select! {
                r = &mut result => {
                    return r.unwrap_or_else(|_| Outcome::failed(Failure::Crashed, "the worker went away"));
                }
                changed = init_rx.changed(), if watch_init => {
                    if changed.is_err() { watch_init = false; continue; }
                    let msg = init_rx.borrow_and_update().1.clone();
                    if state.compare_exchange(QUEUED, CANCELLED, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                        self.lock().queued -= 1;
                        return Outcome::failed(Failure::InitFailed, msg);
                    }
                }
                _ = &mut queue_deadline, if watch_queue => {
                    watch_queue = false;
                    if state.compare_exchange(QUEUED, CANCELLED, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                        self.lock().queued -= 1;
                        return Outcome::failed(Failure::Unavailable, "no worker picked the invocation up");
                    }
                }
            }
        }
    }

    /// Starts a worker when none is alive, or when more invocations wait than workers are free.
    fn ensure_capacity(self: &Arc<Self>) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut st = self.lock();
        let live = st.slots.iter().filter(|s| s.pgid.is_some()).count();
        let needed = live == 0 || st.queued > st.idle + st.starting;
        if !needed || live >= self.spec.max_workers.max(1) {
            return Ok(());
        }
        let index = match st.slots.iter().position(|s| s.pgid.is_none()) {
            Some(i) => i,
            None => {
                let slot = self.new_slot(st.slots.len())?;
                st.slots.push(slot);
                st.slots.len() - 1
            }
        };
        self.spawn_worker(&mut st, index)
    }

    fn new_slot(self: &Arc<Self>, index: usize) -> Result<Slot> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let app = runtime_api_router(self.clone(), index);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Slot {
            port,
            pgid: None,
            worker: 0,
            generation: watch::channel(0).0,
            fresh: false,
            served: 0,
            current: None,
            init_error: None,
            server,
        })
    }

    fn spawn_worker(self: &Arc<Self>, st: &mut PoolState, index: usize) -> Result<()> {
        let spec = &self.spec;
        let worker = self.workers_started.fetch_add(1, Ordering::Relaxed) + 1;
        let slot = &mut st.slots[index];
        let mut cmd = Command::new(&spec.binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()))
            .env("LANG", "C.UTF-8")
            .env("TZ", ":UTC")
            .env("_HANDLER", "bootstrap")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            // One readable line per log event here; JSON with the span's fields in Lambda.
            .env("STOCKYARD_LOG_FORMAT", "text")
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", slot.port))
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("{}/[$LATEST]{}", chrono::Utc::now().format("%Y/%m/%d"), crate::util::uuid().simple()),
            );
        if let Some(dir) = spec.binary.parent() {
            cmd.env("LAMBDA_TASK_ROOT", dir);
        }
        match &spec.log {
            LogSink::Terminal => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            LogSink::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                cmd.stdout(file.try_clone()?).stderr(file);
            }
        }
        let mut guard = ChildGuard::spawn(&spec.name, cmd)?;
        if let LogSink::Terminal = spec.log {
            let prefix = format!("{:>18} |", spec.name);
            if let Some(out) = guard.child.stdout.take() {
                tokio::spawn(forward_lines(out, prefix.clone()));
            }
            if let Some(err) = guard.child.stderr.take() {
                tokio::spawn(forward_lines(err, prefix));
            }
        }
        slot.pgid = guard.pid().map(|p| p as i32);
        slot.worker = worker;
        slot.fresh = true;
        slot.served = 0;
        slot.init_error = None;
        st.starting += 1;
        let pool = self.clone();
        tokio::spawn(async move {
            let status = guard.child.wait().await;
            guard.kill_now();
            pool.worker_exited(index, worker, status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()));
        });
        Ok(())
    }

    fn worker_exited(self: &Arc<Self>, index: usize, worker: u64, status: String) {
        let mut init_failure = None;
        let mut respawn = false;
        {
            let mut st = self.lock();
            let st = &mut *st;
            let slot = &mut st.slots[index];
            if slot.worker != worker {
                return;
            }
            slot.pgid = None;
            slot.generation.send_modify(|g| *g += 1);
            if slot.fresh {
                slot.fresh = false;
                st.starting -= 1;
            }
            let init_error = slot.init_error.take();
            let detail = match &init_error {
                Some(e) => format!("worker exited ({status}): {e}"),
                None => format!("worker exited ({status})"),
            };
            if let Some(inflight) = slot.current.take() {
                let _ = inflight.respond.send(Outcome::failed(Failure::Crashed, detail));
                respawn = true;
            } else if slot.served == 0 && !self.closed.load(Ordering::SeqCst) {
                init_failure = Some(detail);
            } else {
                respawn = true;
            }
        }
        if let Some(msg) = init_failure {
            eprintln!("{:>18} | init failed: {msg}", self.spec.name);
            self.init_failures.send_modify(|(n, m)| {
                *n += 1;
                *m = msg;
            });
        } else if respawn
            && self.lock().queued > 0
            && let Err(e) = self.ensure_capacity()
        {
            eprintln!("{:>18} | could not restart a worker: {e:#}", self.spec.name);
        }
    }

    /// Kills every worker and stops the Runtime API servers.
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let mut st = self.lock();
        for slot in st.slots.iter_mut() {
            if let Some(pg) = slot.pgid.take() {
                signal_group(pg, libc::SIGKILL);
            }
            if let Some(inflight) = slot.current.take() {
                let _ = inflight.respond.send(Outcome::failed(Failure::Unavailable, "stack stopped"));
            }
            slot.server.abort();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn forward_lines(stream: impl tokio::io::AsyncRead + Unpin, prefix: String) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("{prefix} {line}");
    }
}

#[derive(Clone)]
struct SlotState {
    pool: Arc<Pool>,
    index: usize,
}

fn runtime_api_router(pool: Arc<Pool>, index: usize) -> axum::Router {
    axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(SlotState { pool, index })
}

struct IdleGuard<'a>(&'a Pool);

impl<'a> IdleGuard<'a> {
    fn new(pool: &'a Pool) -> Self {
        pool.lock().idle += 1;
        IdleGuard(pool)
    }
}

impl Drop for IdleGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().idle -= 1;
    }
}

fn gone() -> Response {
    (StatusCode::GONE, "worker replaced").into_response()
}

async fn next_invocation(State(s): State<SlotState>) -> Response {
    let pool = &s.pool;
    let (generation, mut gen_rx) = {
        let mut st = pool.lock();
        let st = &mut *st;
        let slot = &mut st.slots[s.index];
        if slot.fresh {
            slot.fresh = false;
            st.starting -= 1;
        }
        let rx = slot.generation.subscribe();
        let generation = *rx.borrow();
        (generation, rx)
    };
    let _idle = IdleGuard::new(pool);
    loop {
        let inv = {
            let mut rx = tokio::select! {
                rx = pool.rx.lock() => rx,
                _ = gen_rx.changed() => return gone(),
            };
            tokio::select! {
                inv = rx.recv() => inv,
                _ = gen_rx.changed() => return gone(),
            }
        };
        let Some(inv) = inv else { return gone() };
        if inv.state.compare_exchange(QUEUED, PICKED, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            continue; // its caller gave up
        }
        let timeout = pool.spec.timeout;
        {
            let mut st = pool.lock();
            st.queued -= 1;
            let slot = &mut st.slots[s.index];
            if *slot.generation.borrow() != generation {
                // The worker died while we waited; hand the invocation to someone else.
                inv.state.store(QUEUED, Ordering::SeqCst);
                st.queued += 1;
                let _ = pool.tx.send(inv);
                return gone();
            }
            slot.served += 1;
            slot.current = Some(InFlight { id: inv.id.clone(), respond: inv.respond });
        }
        let (pool2, index, id) = (pool.clone(), s.index, inv.id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let mut st = pool2.lock();
            let slot = &mut st.slots[index];
            if slot.current.as_ref().is_some_and(|c| c.id == id) {
                let inflight = slot.current.take().expect("checked");
                let _ = inflight.respond.send(Outcome::failed(
                    Failure::TimedOut,
                    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                ));
                // Like Lambda, a timed-out sandbox is not reused.
                if let Some(pg) = slot.pgid {
                    signal_group(pg, libc::SIGKILL);
                }
            }
        });
        let deadline = chrono::Utc::now().timestamp_millis() + timeout.as_millis() as i64;
        let mut headers = HeaderMap::new();
        let put = |h: &mut HeaderMap, k: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        };
        put(&mut headers, "lambda-runtime-aws-request-id", inv.id.clone());
        put(&mut headers, "lambda-runtime-deadline-ms", deadline.to_string());
        put(&mut headers, "lambda-runtime-invoked-function-arn", pool.spec.arn.clone());
        put(
            &mut headers,
            "lambda-runtime-trace-id",
            format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                chrono::Utc::now().timestamp(),
                &crate::util::uuid().simple().to_string()[..24],
                &crate::util::uuid().simple().to_string()[..16]
            ),
        );
        put(&mut headers, "content-type", "application/json".into());
        return (StatusCode::OK, headers, inv.payload).into_response();
    }
}

fn take_current(pool: &Pool, index: usize, id: &str) -> Option<InFlight> {
    let mut st = pool.lock();
    let slot = &mut st.slots[index];
    if slot.current.as_ref().is_some_and(|c| c.id == id) { slot.current.take() } else { None }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(serde_json::json!({"status": "OK"}))).into_response()
}

fn unknown_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})),
    )
        .into_response()
}

async fn invocation_response(State(s): State<SlotState>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    match take_current(&s.pool, s.index, &id) {
        Some(inflight) => {
            let _ = inflight.respond.send(Outcome::Response(body));
            accepted()
        }
        None => unknown_request(),
    }
}

async fn invocation_error(
    State(s): State<SlotState>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match take_current(&s.pool, s.index, &id) {
        Some(inflight) => {
            let error_type = headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| {
                    serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v.get("errorType")?.as_str().map(str::to_string))
                })
                .unwrap_or_else(|| "Unhandled".to_string());
            let _ = inflight.respond.send(Outcome::FunctionError { error_type, payload: body });
            accepted()
        }
        None => unknown_request(),
    }
}

async fn init_error(State(s): State<SlotState>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).into_owned();
    s.pool.lock().slots[s.index].init_error = Some(text);
    accepted()
}

/// Cold start of one binary: time from spawn until its first `GET .../invocation/next`.
/// The worker is killed right after.
pub async fn cold_start(binary: &std::path::Path, env: &[(String, String)]) -> Result<Duration> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("TZ", ":UTC")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut guard = ChildGuard::spawn("cold-start", cmd)?;
    let wait = async {
        loop {
            let (mut sock, _) = listener.accept().await?;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 512];
            while !buf.windows(2).any(|w| w == b"\r\n") {
                let n = sock.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            if buf.starts_with(b"GET /2018-06-01/runtime/invocation/next") {
                return Ok::<_, anyhow::Error>(start.elapsed());
            }
        }
    };
    let result = tokio::select! {
        r = wait => r,
        status = guard.child.wait() => {
            bail!("{} exited before asking for an invocation ({})", binary.display(),
                status.map(|s| s.to_string()).unwrap_or_default())
        }
        _ = tokio::time::sleep(Duration::from_secs(30)) => bail!("{} did not start within 30 s", binary.display()),
    };
    guard.kill_now();
    let _ = guard.child.wait().await;
    result
}
