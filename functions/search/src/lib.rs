//! Browse and search: an embedded full-text index (tantivy) of the published catalog, kept by one
//! writer (`index-products`, fed by catalog events) and published to S3 as immutable files plus a
//! manifest; `search-products` loads it into memory and follows newer versions. The design, its
//! single-writer guarantee, freshness and limits: infra/data-model.md, "Search".

pub mod document;
pub mod engine;
pub mod handler;
pub mod indexer;
pub mod snapshot;

/// An S3 client on the shared configuration; path-style addressing when an endpoint is set (the
/// local emulators), as bucket host names do not resolve there.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let local = stockyard_platform::env_opt("AWS_ENDPOINT_URL").is_some();
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(local).build())
}
pub mod openapi;
