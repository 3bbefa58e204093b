//! The index in S3. tantivy writes a segment's files once and never changes them, so each file is
//! stored under its own name (`<prefix>/files/<name>`) and uploaded once; a version is a manifest
//! (`<prefix>/manifests/<generation>.json`: tantivy's `meta.json` and the files it needs), and the
//! current version is named by a table item (`stockyard_store::search_index`). A reader that has
//! version n downloads only the files version n+1 added.
//!
//! Old versions stay readable for [`KEEP_VERSIONS`] publications (a searcher that read the pointer
//! just before a publish still finds every file); after that the files only they used are deleted.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use stockyard_store::objects::Bucket;
use stockyard_store::search_index::{self, IndexVersion};
use stockyard_store::{StoreError, Table};
use tantivy::Index;
use tantivy::directory::{Directory, RamDirectory};

use crate::engine;

/// Versions whose files are kept after a newer one is published.
pub const KEEP_VERSIONS: u64 = 5;
/// Files fetched or stored at once.
const PARALLEL_TRANSFERS: usize = 16;
const META: &str = "meta.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub generation: u64,
    /// tantivy's `meta.json` of this version.
    pub meta: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
}

/// Where an index is kept.
#[derive(Clone)]
pub struct IndexStore {
    pub bucket: Bucket,
    pub table: Table,
    /// The index's name: its table item and its S3 prefix.
    pub name: String,
}

/// An index in memory, the version it was loaded from, and the bytes of its files (kept so the
/// next version downloads only what is new).
pub struct Loaded {
    pub index: Index,
    /// The index's storage, read directly: through `index.directory()` (tantivy's managed view)
    /// a file reads without its footer, which a reader of the copy then refuses.
    ram: RamDirectory,
    pub generation: Option<u64>,
    pub documents: u64,
    files: HashMap<String, Arc<Vec<u8>>>,
}

impl Loaded {
    pub fn empty() -> Self {
        let ram = RamDirectory::create();
        let schema = engine::schema();
        let index = Index::create(ram.clone(), schema, tantivy::IndexSettings::default())
            .expect("an empty index in memory can be created");
        engine::register_analyzers(&index);
        Self { index, ram, generation: None, documents: 0, files: HashMap::new() }
    }

    /// Bytes held for the index's files.
    pub fn size_bytes(&self) -> u64 {
        self.files.values().map(|f| f.len() as u64).sum()
    }
}

impl IndexStore {
    fn file_key(&self, name: &str) -> String {
        format!("{}/files/{name}", self.name)
    }

    fn manifest_key(&self, generation: u64) -> String {
        format!("{}/manifests/{generation:012}.json", self.name)
    }

    pub async fn current(&self) -> Result<Option<IndexVersion>, StoreError> {
        search_index::current(&self.table, &self.name).await
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>> {
        self.bucket.read(key).await?.with_context(|| format!("s3://{}/{key} is missing", self.bucket.name()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        Ok(self.bucket.write(key, bytes, content_type, None).await?)
    }

    async fn manifest(&self, key: &str) -> Result<Manifest> {
        Ok(serde_json::from_slice(&self.get(key).await?)?)
    }

    /// The version `version` names, reusing the files `previous` already holds.
    pub async fn load(&self, version: &IndexVersion, previous: Option<Loaded>) -> Result<Loaded> {
        let manifest = self.manifest(&version.manifest_key).await?;
        let mut files = previous.map(|p| p.files).unwrap_or_default();
        files.retain(|name, _| manifest.files.iter().any(|f| &f.name == name));
        let missing: Vec<String> =
            manifest.files.iter().filter(|f| !files.contains_key(&f.name)).map(|f| f.name.clone()).collect();
        let fetched: Vec<(String, Vec<u8>)> = futures_util::stream::iter(missing)
            .map(|name| async move {
                let bytes = self.get(&self.file_key(&name)).await?;
                Ok::<_, anyhow::Error>((name, bytes))
            })
            .buffer_unordered(PARALLEL_TRANSFERS)
            .try_collect()
            .await?;
        for (name, bytes) in fetched {
            files.insert(name, Arc::new(bytes));
        }
        let directory = RamDirectory::create();
        for (name, bytes) in &files {
            directory.atomic_write(Path::new(name), bytes)?;
        }
        directory.atomic_write(Path::new(META), manifest.meta.as_bytes())?;
        let index = Index::open(directory.clone())?;
        engine::register_analyzers(&index);
        Ok(Loaded { index, ram: directory, generation: Some(manifest.generation), documents: version.documents, files })
    }

    /// The current version, or an empty index when none was published yet.
    pub async fn load_current(&self, previous: Option<Loaded>) -> Result<Loaded> {
        match self.current().await? {
            Some(version) => self.load(&version, previous).await,
            None => Ok(Loaded::empty()),
        }
    }

    /// Publishes what `loaded.index` holds now (after a commit) as the next version. Fails with
    /// [`StoreError::ConditionFailed`] inside the error when another writer published first:
    /// the caller then reloads the current version and redoes its changes on it.
    pub async fn publish(&self, loaded: &mut Loaded, documents: u64) -> Result<IndexVersion> {
        let directory = &loaded.ram;
        let meta = String::from_utf8(directory.atomic_read(Path::new(META))?)?;
        let mut names: BTreeSet<String> = BTreeSet::new();
        for segment in loaded.index.searchable_segment_metas()? {
            for path in segment.list_files() {
                if directory.exists(&path)? {
                    names.insert(path.to_string_lossy().into_owned());
                }
            }
        }
        let mut entries = Vec::new();
        let mut new_files = Vec::new();
        for name in &names {
            let bytes = match loaded.files.get(name) {
                Some(bytes) => bytes.clone(),
                None => {
                    let bytes = Arc::new(directory.open_read(Path::new(name))?.read_bytes()?.as_slice().to_vec());
                    new_files.push((name.clone(), bytes.clone()));
                    bytes
                }
            };
            entries.push(FileEntry { name: name.clone(), size: bytes.len() as u64 });
        }
        futures_util::stream::iter(new_files.iter().cloned())
            .map(|(name, bytes)| async move {
                self.put(&self.file_key(&name), bytes.as_ref().clone(), "application/octet-stream").await
            })
            .buffer_unordered(PARALLEL_TRANSFERS)
            .try_collect::<Vec<()>>()
            .await?;
        let generation = loaded.generation.map_or(1, |g| g + 1);
        let manifest = Manifest { generation, meta, files: entries };
        let manifest_key = self.manifest_key(generation);
        self.put(&manifest_key, serde_json::to_vec(&manifest)?, "application/json").await?;
        let version =
            IndexVersion { name: self.name.clone(), generation, manifest_key, documents, published_at: Utc::now() };
        search_index::publish(&self.table, &version, loaded.generation).await?;
        for (name, bytes) in new_files {
            loaded.files.insert(name, bytes);
        }
        loaded.files.retain(|name, _| names.contains(name));
        loaded.generation = Some(generation);
        loaded.documents = documents;
        if let Err(e) = self.forget(&manifest).await {
            tracing::warn!(error = format!("{e:#}"), "old index files not deleted; the next publication retries");
        }
        Ok(version)
    }

    /// Deletes the version [`KEEP_VERSIONS`] before `current` and the files only it used.
    async fn forget(&self, current: &Manifest) -> Result<()> {
        let Some(old) = current.generation.checked_sub(KEEP_VERSIONS).filter(|g| *g > 0) else { return Ok(()) };
        let old_key = self.manifest_key(old);
        let Ok(old_manifest) = self.manifest(&old_key).await else { return Ok(()) };
        let mut kept: BTreeSet<String> = current.files.iter().map(|f| f.name.clone()).collect();
        for g in old + 1..current.generation {
            if let Ok(m) = self.manifest(&self.manifest_key(g)).await {
                kept.extend(m.files.into_iter().map(|f| f.name));
            }
        }
        for file in old_manifest.files.iter().filter(|f| !kept.contains(&f.name)) {
            self.bucket.delete(&self.file_key(&file.name)).await?;
        }
        self.bucket.delete(&old_key).await?;
        Ok(())
    }
}

/// True when `e` says another writer published first.
pub fn lost_race(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<StoreError>(), Some(StoreError::ConditionFailed))
}
