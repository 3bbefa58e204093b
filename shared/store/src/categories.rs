//! The category tree: every category in one partition, read whole and strongly consistent, and a
//! guard item whose version every change moves. A change is decided on the tree as read (no cycle,
//! slugs unique per locale, attributes declared once along every path) and committed only if the
//! version is still the one read, so two concurrent moves can never make a cycle between them: the
//! second reads again and decides on the tree the first left. Categories change rarely (admin and
//! content managers), so one guard for the whole tree costs nothing in contention.

use serde::{Deserialize, Serialize};
use stockyard_domain::category::{Category, Tree};
use stockyard_domain::ids::CategoryId;

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::{StoreError, Table, keys};

impl Entity for Category {
    type Id = CategoryId;
    const NAME: &'static str = "category";
    fn key(id: &CategoryId) -> keys::Key {
        keys::category(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::category(self.id)
    }
}

/// The tree's version: moved by every change of any category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryTreeRecord {
    pub version: u64,
}

impl Entity for CategoryTreeRecord {
    type Id = ();
    const NAME: &'static str = "category tree";
    fn key(_: &()) -> keys::Key {
        keys::category_tree()
    }
    fn key_of(&self) -> keys::Key {
        keys::category_tree()
    }
}

/// One category (a plain read, for checking a reference).
pub async fn get(table: &Table, id: CategoryId) -> Result<Option<Category>, StoreError> {
    table.get::<Category>(&id).await
}

/// The tree as read at one version.
pub struct VersionedTree {
    pub tree: Tree,
    pub version: u64,
}

/// The whole tree, strongly consistent, with the version it was read at. The version is read
/// first: the categories read after it are at least that new, so a decision made on them and
/// committed on that version can never rest on an older tree.
pub async fn tree(table: &Table) -> Result<VersionedTree, StoreError> {
    let version = table.get::<CategoryTreeRecord>(&()).await?.map_or(0, |g| g.version);
    let categories = table.query_all(&keys::all_categories()).await?;
    Ok(VersionedTree { tree: Tree::new(categories), version })
}

/// The step that fails when the tree changed since it was read.
pub const TREE_CHANGED: &str = "category_tree";

/// Writes `category` (new or changed) if the tree is still at `read_version`; the caller checked
/// it against the tree it read (`Tree::check_placement`). A failed condition is a conflict at
/// [`TREE_CHANGED`]: read the tree again and decide again.
pub async fn save(table: &Table, category: &Category, read_version: u64, is_new: bool) -> Result<(), StoreError> {
    let mut tx = table.tx();
    let unchanged = if read_version == 0 {
        Expr::new("attribute_not_exists(PK) OR version = :read")
    } else {
        Expr::new("version = :read")
    }
    .val(":read", &read_version);
    let bump = Expr::default().val(":next", &(read_version + 1)).set_remove(&["version = :next"], &[]);
    tx.update::<CategoryTreeRecord>(TREE_CHANGED, &(), Change::new(bump).when(unchanged))?;
    let exists = if is_new { Expr::not_exists() } else { Expr::exists() };
    tx.put("category", category, Some(exists))?;
    table.commit(tx).await
}
