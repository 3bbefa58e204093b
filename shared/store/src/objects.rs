//! Objects in S3 buckets: the one place that speaks to S3. Reads, writes, deletes, size-and-type
//! checks, and presigned requests a client makes itself (uploads and downloads that never pass
//! through a function). Failures are [`StoreError::Unavailable`] with S3's own words.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::StoreError;

/// A presigned request: the URL, its method, the headers the client must send, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Presigned {
    pub url: String,
    pub method: String,
    /// Headers the request must carry exactly as given (they are part of the signature).
    #[schema(value_type = Object)]
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What S3 says an object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
}

/// An object read with a size limit: its bytes and type, or how large it turned out to be.
pub type Limited = Result<(Vec<u8>, Option<String>), u64>;

/// One bucket.
#[derive(Clone, Debug)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
}

fn s3_error(what: &str, e: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))
}

impl Bucket {
    /// The bucket the environment variable `var` names, through a client on the shared SDK
    /// configuration (path-style addressing when an endpoint is set: the local emulators, whose
    /// bucket host names do not resolve; presigned URLs then name that endpoint).
    pub fn from_env(sdk: &aws_config::SdkConfig, var: &str) -> Result<Self, StoreError> {
        let name = std::env::var(var)
            .ok()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| StoreError::Unavailable(format!("environment variable {var} is not set")))?;
        Ok(Self::new(sdk, name))
    }

    pub fn new(sdk: &aws_config::SdkConfig, name: impl Into<String>) -> Self {
        let local = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| !v.trim().is_empty());
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build();
        Self::with_client(aws_sdk_s3::Client::from_conf(config), name)
    }

    pub fn with_client(client: aws_sdk_s3::Client, name: impl Into<String>) -> Self {
        Self { client, name: name.into() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object's bytes, or `None` when there is none.
    pub async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read_limited(key, u64::MAX).await?.map(|r| r.map(|(bytes, _)| bytes).unwrap_or_default()))
    }

    /// The object's bytes and type if it is at most `limit` bytes (`Err(size)` when larger:
    /// checked against what arrives, not only against what S3 says), or `None` when there is none.
    pub async fn read_limited(&self, key: &str, limit: u64) -> Result<Option<Limited>, StoreError> {
        let object = match self.client.get_object().bucket(&self.name).key(key).send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(s3_error(&format!("reading s3://{}/{key}", self.name), e)),
        };
        let declared = object.content_length().unwrap_or(0).max(0) as u64;
        if declared > limit {
            return Ok(Some(Err(declared)));
        }
        let content_type = object.content_type().map(str::to_string);
        let mut body = object.body;
        let mut bytes = Vec::with_capacity(declared.min(64 << 20) as usize);
        while let Some(chunk) =
            body.try_next().await.map_err(|e| s3_error(&format!("reading s3://{}/{key}", self.name), e))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Ok(Some(Err(bytes.len() as u64)));
            }
        }
        Ok(Some(Ok((bytes, content_type))))
    }

    /// The object's size and type, or `None` when there is none.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self.client.head_object().bucket(&self.name).key(key).send().await {
            Ok(head) => Ok(Some(ObjectInfo {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                content_type: head.content_type().map(str::to_string),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(s3_error(&format!("reading the size of s3://{}/{key}", self.name), e)),
        }
    }

    /// Writes an object whole (`cache_control` for what a CDN may keep).
    pub async fn write(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        cache_control: Option<&str>,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .set_cache_control(cache_control.map(str::to_string))
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| s3_error(&format!("writing s3://{}/{key}", self.name), e))?;
        Ok(())
    }

    /// Deletes an object (deleting one that is not there succeeds).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error(&format!("deleting s3://{}/{key}", self.name), e))?;
        Ok(())
    }

    /// A PUT the client makes itself, of `content_type` (bound into the signature: S3 refuses
    /// another with 403; a presigned PUT cannot bind the length).
    pub async fn presign_put(&self, key: &str, content_type: &str, ttl: Duration) -> Result<Presigned, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| s3_error("presigning", e))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(|e| s3_error(&format!("presigning an upload to {key}"), e))?;
        Ok(presigned(&request, ttl))
    }

    /// A GET the client makes itself; the response says `content_type` when given.
    pub async fn presign_get(
        &self,
        key: &str,
        content_type: Option<&str>,
        ttl: Duration,
    ) -> Result<Presigned, StoreError> {
        let config = PresigningConfig::expires_in(ttl).map_err(|e| s3_error("presigning", e))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_response_content_type(content_type.map(str::to_string))
            .presigned(config)
            .await
            .map_err(|e| s3_error(&format!("presigning a download of {key}"), e))?;
        Ok(presigned(&request, ttl))
    }
}

fn presigned(request: &PresignedRequest, ttl: Duration) -> Presigned {
    Presigned {
        url: request.uri().to_string(),
        method: request.method().to_string(),
        // Only what the signature covers: the SDK may add a trace header of the function's own.
        headers: request
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .filter(|(k, _)| k != "x-amzn-trace-id" && k != "host")
            .collect(),
        expires_at: Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
    }
}
