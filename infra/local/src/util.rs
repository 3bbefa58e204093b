//! Small shared helpers: ids, ports, child processes that never outlive the tool.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// A random (version 4) UUID, as Lambda and EventBridge use for request and event ids.
pub fn uuid() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        bytes = ulid::Ulid::new().0.to_be_bytes();
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A port nobody listens on right now (on all interfaces, since DynamoDB Local binds 0.0.0.0).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("0.0.0.0:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// `preferred` if it is free, otherwise any free port.
pub fn port_or_free(preferred: Option<u16>) -> Result<u16> {
    if let Some(p) = preferred
        && TcpListener::bind(("0.0.0.0", p)).is_ok()
        && TcpListener::bind(("127.0.0.1", p)).is_ok()
    {
        return Ok(p);
    }
    free_port()
}

/// A child process in its own process group. The group is killed when this is dropped, and
/// the kernel kills the child if the tool dies first (PR_SET_PDEATHSIG), so nothing is orphaned
/// even on panic or SIGKILL.
pub struct ChildGuard {
    pub name: String,
    pub child: Child,
    pgid: Option<i32>,
}

impl ChildGuard {
    pub fn spawn(name: &str, mut cmd: Command) -> Result<Self> {
        cmd.process_group(0).kill_on_drop(true).stdin(Stdio::null());
        // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() == 1 {
                    // The parent already died before prctl took effect.
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let pgid = child.id().map(|p| p as i32);
        Ok(ChildGuard { name: name.to_string(), child, pgid })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM to the group, then SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(pg) = self.pgid {
            signal_group(pg, libc::SIGTERM);
            if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
                signal_group(pg, libc::SIGKILL);
                let _ = self.child.wait().await;
            }
            // Anything the child left in its group.
            signal_group(pg, libc::SIGKILL);
            self.pgid = None;
        }
    }

    pub fn kill_now(&mut self) {
        if let Some(pg) = self.pgid.take() {
            signal_group(pg, libc::SIGKILL);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill_now();
    }
}

pub fn signal_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: plain syscall; a stale group id just yields ESRCH.
        unsafe {
            libc::killpg(pgid, sig);
        }
    }
}

/// Polls `url` until it answers any HTTP status (or `ok` accepts it), the child exits, or the
/// timeout passes.
pub async fn wait_http(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
    child: &mut ChildGuard,
    log: &Path,
) -> Result<Duration> {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = child.child.try_wait() {
            bail!("{} exited during startup ({status}); last log lines:\n{}", child.name, tail(log, 15));
        }
        let probe = http.get(url).timeout(Duration::from_millis(1500)).send().await;
        if probe.is_ok() {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            bail!(
                "{} was not ready after {}s ({url}); last log lines:\n{}",
                child.name,
                timeout.as_secs(),
                tail(log, 15)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_random_version_4() {
        let id = uuid();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(id.to_string().len(), 36);
        assert_ne!(id, uuid());
    }

    /// Processes of a group that are not zombies.
    fn live_in_group(pg: i32) -> usize {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .filter(|stat| {
                // pid (comm) state ppid pgrp ...
                let after = &stat[stat.rfind(')').unwrap_or(0) + 2..];
                let f: Vec<&str> = after.split_whitespace().collect();
                f.len() > 2 && f[2] == pg.to_string() && f[0] != "Z"
            })
            .count()
    }

    #[tokio::test]
    async fn dropping_a_guard_kills_the_whole_group() {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("sleep 30 & sleep 30");
        let guard = ChildGuard::spawn("sleepers", cmd).unwrap();
        let pg = guard.pid().unwrap() as i32;
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(guard);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(live_in_group(pg), 0, "process group {pg} survived");
    }
}
