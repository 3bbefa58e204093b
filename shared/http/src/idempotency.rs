//! `Idempotency-Key` on create-type requests: the first response is stored in the same
//! transaction as the write it reports; a retry with the same key and body replays it; the same
//! key with a different body is refused.

use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use stockyard_store::idempotency::{self, IdempotencyRecord};
use stockyard_store::{StoreError, Table, Tx};

use crate::ApiError;
use crate::request::body_text;

const REUSED: &str = "idempotency_key_reused";

/// A client-chosen key for one logical request, scoped to the caller and the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    scope: String,
    key: String,
    request_hash: String,
}

impl Idempotency {
    pub const HEADER: &'static str = "idempotency-key";

    /// Reads the header; `caller` scopes keys so two callers never share one.
    pub fn from_request(req: &Request, caller: &str) -> Result<Option<Self>, ApiError> {
        let Some(sent) = req.headers().get(Self::HEADER) else { return Ok(None) };
        let key = sent.to_str().unwrap_or_default().trim();
        if key.is_empty() || key.len() > 128 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ApiError::invalid("Idempotency-Key", "must be 1 to 128 visible ASCII characters"));
        }
        let mut hash = Sha256::new();
        hash.update(req.method().as_str());
        hash.update(b" ");
        hash.update(req.uri().path());
        hash.update(b"\n");
        hash.update(body_text(req)?.as_bytes());
        let request_hash = format!("{:x}", hash.finalize());
        let scope = format!("{caller}:{} {}", req.method(), req.uri().path());
        Ok(Some(Self { scope, key: key.to_string(), request_hash }))
    }

    /// A digest of the caller's scope and key (hex, 32 characters): the same for every retry of one
    /// logical request, and different for another caller, route or key. Routes that do a request's
    /// work in several transactions name that work by it (a purchase order's receipt), so a retry
    /// resumes it instead of doing it again.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}", self.scope, self.key).as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }

    /// Reads the key and, if the request was already done, its stored response:
    /// `Err(response)` is the replay to return; `Ok(key)` means go ahead (with the key, if any).
    async fn start(
        req: &Request,
        caller: &str,
        table: &Table,
    ) -> Result<Result<Option<Self>, Response<Body>>, ApiError> {
        let Some(key) = Self::from_request(req, caller)? else { return Ok(Ok(None)) };
        Ok(match key.replay(table).await? {
            Some(replayed) => Err(replayed),
            None => Ok(Some(key)),
        })
    }

    /// The status and body recorded under this key, if the request was done; 422
    /// `idempotency_key_reused` if the key was used with another request. For routes that answer
    /// a retry from what the first request made rather than from the recorded response (checkout
    /// records the order group it placed and answers with the group as it is now).
    pub async fn recorded(&self, table: &Table) -> Result<Option<(u16, String)>, ApiError> {
        match idempotency::find(table, &self.scope, &self.key, Utc::now()).await? {
            None => Ok(None),
            Some(record) if record.request_hash != self.request_hash => Err(reused()),
            Some(record) => Ok(Some((record.status, record.body))),
        }
    }

    /// The stored response for this key, if the request was already done.
    async fn replay(&self, table: &Table) -> Result<Option<Response<Body>>, ApiError> {
        match idempotency::find(table, &self.scope, &self.key, Utc::now()).await? {
            None => Ok(None),
            Some(record) if record.request_hash != self.request_hash => Err(reused()),
            Some(record) => {
                let mut resp = Response::new(Body::Text(record.body));
                *resp.status_mut() = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
                resp.headers_mut().insert("content-type", "application/json".parse().expect("static header"));
                resp.headers_mut().insert("idempotent-replayed", "true".parse().expect("static header"));
                Ok(Some(resp))
            }
        }
    }
}

fn reused() -> ApiError {
    ApiError::unprocessable(REUSED, Some("Idempotency-Key"), "this Idempotency-Key was used with a different request")
}

/// Runs a create-type request at most once per `Idempotency-Key`: a request already done is
/// replayed without running `work`; otherwise `work` runs with the key, which it passes to
/// [`commit`]. When `work` fails (a concurrent request with the same key may have won the race
/// and made this one's checks fail), the winner's response is replayed if there is one.
pub async fn idempotent(
    req: &Request,
    caller: &str,
    table: &Table,
    work: impl AsyncFnOnce(Option<&Idempotency>) -> Result<Response<Body>, ApiError>,
) -> Result<Response<Body>, ApiError> {
    let key = match Idempotency::start(req, caller, table).await? {
        Ok(key) => key,
        Err(replayed) => return Ok(replayed),
    };
    let result = work(key.as_ref()).await;
    let (Some(key), Err(error)) = (&key, &result) else { return result };
    match key.replay(table).await {
        Ok(Some(replayed)) => Ok(replayed),
        Err(reused) if reused.code() == REUSED => Err(reused),
        _ => {
            tracing::debug!(code = error.code(), "request with an Idempotency-Key failed; nothing to replay");
            result
        }
    }
}

/// Commits `tx` and answers `status` with `body`. With a key, the response is recorded in the
/// same transaction. `conflict` turns the name of a step whose condition failed into the client's
/// error; a failed idempotency record means a concurrent request with the key won, and
/// [`idempotent`] replays its response.
pub async fn commit<T: Serialize>(
    table: &Table,
    mut tx: Tx,
    key: Option<&Idempotency>,
    status: StatusCode,
    body: &T,
    conflict: impl FnOnce(&str) -> ApiError,
) -> Result<Response<Body>, ApiError> {
    remember(key, status, body, &mut tx)?;
    match table.commit(tx).await {
        Ok(()) => Ok(crate::response::json(status, body)),
        Err(StoreError::Conflict { step }) if step != idempotency::STEP => Err(conflict(&step)),
        Err(e) => Err(e.into()),
    }
}

/// Adds the record of this response under `key` (if any) to `tx`, for repositories that commit
/// their own transaction: the record is written with the business write or not at all. A key used
/// meanwhile fails the transaction at `idempotency::STEP`, which becomes `idempotent_request_done`
/// and lets [`idempotent`] replay the winner's response.
pub fn remember<T: Serialize>(
    key: Option<&Idempotency>,
    status: StatusCode,
    body: &T,
    tx: &mut Tx,
) -> Result<(), StoreError> {
    let Some(k) = key else { return Ok(()) };
    let text = serde_json::to_string(body).map_err(|e| StoreError::Malformed(e.to_string()))?;
    let record = IdempotencyRecord::new(
        k.scope.clone(),
        k.key.clone(),
        k.request_hash.clone(),
        status.as_u16(),
        text,
        Utc::now(),
    );
    idempotency::record(tx, &record)
}
