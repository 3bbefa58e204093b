//! `Idempotency-Key` on create-type requests: the first response is stored in the same
//! transaction as the write it reports; a retry with the same key and body replays it; the same
//! key with a different body is refused.

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use stockyard_store::idempotency::{self, IdempotencyRecord};
use stockyard_store::{StoreError, Table};

use crate::ApiError;
use crate::request::{body_text, header};

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
        let Some(key) = header(req, Self::HEADER) else { return Ok(None) };
        if key.len() > 128 || !key.chars().all(|c| c.is_ascii_graphic()) {
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

    /// Reads the key and, if the request was already done, its stored response:
    /// `Err(response)` is the replay to return; `Ok(key)` means go ahead (with the key, if any).
    pub async fn start(
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

    /// The stored response for this key, if the request was already done.
    pub async fn replay(&self, table: &Table) -> Result<Option<Response<Body>>, ApiError> {
        match idempotency::find(table, &self.scope, &self.key, Utc::now()).await? {
            None => Ok(None),
            Some(record) if record.request_hash != self.request_hash => Err(ApiError::unprocessable(
                "idempotency_key_reused",
                Some("Idempotency-Key"),
                "this Idempotency-Key was used with a different request",
            )),
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

/// Commits `writes` and answers `status` with `body`. With a key, the response is recorded in the
/// same transaction; if a concurrent request with the key won, its response is replayed.
/// `conflict` turns the index of a write whose condition failed into the client's error.
pub async fn commit<T: Serialize>(
    table: &Table,
    mut writes: Vec<TransactWriteItem>,
    key: Option<&Idempotency>,
    status: StatusCode,
    body: &T,
    conflict: impl FnOnce(usize) -> ApiError,
) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(body).map_err(ApiError::internal)?;
    let business_writes = writes.len();
    if let Some(k) = key {
        let record = IdempotencyRecord::new(k.request_hash.clone(), status.as_u16(), text.clone(), Utc::now());
        writes.push(idempotency::record(table, &k.scope, &k.key, &record)?);
    }
    match table.transact(writes).await {
        Ok(()) => Ok(crate::response::json(status, body)),
        Err(StoreError::TransactionConflict { index }) if index == business_writes => match key {
            Some(k) => {
                k.replay(table).await?.ok_or_else(|| ApiError::internal(anyhow::anyhow!("idempotency record vanished")))
            }
            None => Err(conflict(index)),
        },
        Err(StoreError::TransactionConflict { index }) => Err(conflict(index)),
        Err(e) => Err(e.into()),
    }
}
