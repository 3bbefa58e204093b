//! Browse and search: an embedded full-text index (tantivy) of the published catalog, kept by one
//! writer (`index-products`, fed by catalog events) and published to S3 as immutable files plus a
//! manifest; `search-products` loads it into memory and follows newer versions. The design, its
//! single-writer guarantee, freshness and limits: infra/data-model.md, "Search".

pub mod document;
pub mod engine;
pub mod handler;
pub mod indexer;
pub mod openapi;
pub mod snapshot;
