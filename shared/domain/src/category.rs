//! The catalog's category tree. Admin and content managers keep it; every product sits in one
//! category and is described by the attributes its category and the category's ancestors declare.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::catalog::AttributeDef;
use crate::ids::CategoryId;
use crate::locale::Locale;
use crate::slug::Slug;

/// How deep the tree may grow (a root is at depth 1).
pub const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: CategoryId,
    /// Absent for a root category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<CategoryId>,
    /// The category's name per locale.
    #[schema(value_type = BTreeMap<String, String>, example = json!({"en": "Shoes", "fr": "Chaussures"}))]
    pub names: BTreeMap<Locale, String>,
    /// Its slug per locale (unique per locale across the tree).
    #[schema(value_type = BTreeMap<String, String>, example = json!({"en": "shoes", "fr": "chaussures"}))]
    pub slugs: BTreeMap<Locale, Slug>,
    /// The attributes this category declares itself (its children inherit them).
    pub attributes: Vec<AttributeDef>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The whole tree, as read at once (categories are few: thousands at most).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    by_id: BTreeMap<CategoryId, Category>,
}

impl Tree {
    pub fn new(categories: impl IntoIterator<Item = Category>) -> Self {
        Self { by_id: categories.into_iter().map(|c| (c.id, c)).collect() }
    }

    pub fn get(&self, id: CategoryId) -> Option<&Category> {
        self.by_id.get(&id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Category> {
        self.by_id.values()
    }

    /// The ancestors of `id`, root first (empty for a root). Stops at a missing parent or a
    /// repeated id, so a damaged tree cannot loop.
    pub fn ancestors(&self, id: CategoryId) -> Vec<&Category> {
        let mut chain = Vec::new();
        let mut next = self.get(id).and_then(|c| c.parent_id);
        while let Some(parent_id) = next {
            let Some(parent) = self.get(parent_id) else { break };
            if parent.id == id || chain.iter().any(|c: &&Category| c.id == parent.id) {
                break;
            }
            chain.push(parent);
            next = parent.parent_id;
        }
        chain.reverse();
        chain
    }

    /// `id` and every category below it.
    pub fn subtree(&self, id: CategoryId) -> Vec<CategoryId> {
        let mut found = vec![id];
        let mut i = 0;
        while i < found.len() {
            let current = found[i];
            found.extend(self.by_id.values().filter(|c| c.parent_id == Some(current)).map(|c| c.id));
            i += 1;
        }
        found
    }

    /// Every attribute a product in `id` has: its ancestors', root first, then its own.
    pub fn effective_attributes(&self, id: CategoryId) -> Vec<AttributeDef> {
        let mut all: Vec<AttributeDef> =
            self.ancestors(id).into_iter().flat_map(|c| c.attributes.iter().cloned()).collect();
        if let Some(own) = self.get(id) {
            all.extend(own.attributes.iter().cloned());
        }
        all
    }

    /// Checks that `category` (new or changed) fits the tree: its parent exists, it is not placed
    /// under itself or one of its descendants, the tree stays within [`MAX_DEPTH`], no slug is
    /// used twice in one locale, and no attribute is declared twice along any path through it.
    pub fn check_placement(&self, category: &Category) -> Result<(), FieldError> {
        if let Some(parent_id) = category.parent_id {
            if self.get(parent_id).is_none() {
                return Err(FieldError::new("parent_id", "is not a category"));
            }
            if self.subtree(category.id).contains(&parent_id) {
                return Err(FieldError::new(
                    "parent_id",
                    "is this category or one below it: the tree would have a cycle",
                ));
            }
        }
        let mut changed = self.clone();
        changed.by_id.insert(category.id, category.clone());
        let depth = changed.ancestors(category.id).len() + 1;
        let below =
            changed.subtree(category.id).iter().map(|id| changed.ancestors(*id).len() + 1).max().unwrap_or(depth);
        if below > MAX_DEPTH {
            return Err(FieldError::new("parent_id", format!("would make the tree deeper than {MAX_DEPTH} levels")));
        }
        for (locale, slug) in &category.slugs {
            if changed.all().any(|c| c.id != category.id && c.slugs.get(locale) == Some(slug)) {
                return Err(FieldError::new(format!("slugs.{locale}"), "is used by another category in this locale"));
            }
        }
        // Every category below (and the category itself) must still declare only new codes.
        for id in changed.subtree(category.id) {
            let node = changed.get(id).expect("in the tree");
            let inherited: Vec<AttributeDef> =
                changed.ancestors(id).into_iter().flat_map(|c| c.attributes.iter().cloned()).collect();
            crate::catalog::check_definitions(&inherited, &node.attributes).map_err(|e| {
                if id == category.id {
                    e
                } else {
                    FieldError::new("attributes", format!("clashes with the category {id} below: {}", e.message))
                }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale(tag: &str) -> Locale {
        Locale::parse("locale", tag).unwrap()
    }

    fn category(name: &str, parent: Option<CategoryId>) -> Category {
        Category {
            id: CategoryId::generate(),
            parent_id: parent,
            names: BTreeMap::from([(locale("en"), name.to_string())]),
            slugs: BTreeMap::from([(locale("en"), Slug::from_title(name))]),
            attributes: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn attribute(code: &str) -> AttributeDef {
        serde_json::from_value(serde_json::json!({
            "code": code, "labels": {"en": code}, "kind": {"type": "boolean"}
        }))
        .unwrap()
    }

    #[test]
    fn a_category_cannot_move_under_itself_or_a_descendant() {
        let clothing = category("Clothing", None);
        let shoes = category("Shoes", Some(clothing.id));
        let boots = category("Boots", Some(shoes.id));
        let tree = Tree::new([clothing.clone(), shoes.clone(), boots.clone()]);
        let mut moved = clothing.clone();
        moved.parent_id = Some(boots.id);
        assert_eq!(tree.check_placement(&moved).unwrap_err().field, "parent_id");
        moved.parent_id = Some(clothing.id);
        assert!(tree.check_placement(&moved).is_err(), "not under itself");
        let mut boots_to_root = boots.clone();
        boots_to_root.parent_id = None;
        assert!(tree.check_placement(&boots_to_root).is_ok());
        assert_eq!(tree.ancestors(boots.id).iter().map(|c| c.id).collect::<Vec<_>>(), [clothing.id, shoes.id]);
        assert_eq!(tree.subtree(clothing.id).len(), 3);
    }

    #[test]
    fn children_inherit_attributes_and_may_not_redeclare_them_even_after_a_move() {
        let mut clothing = category("Clothing", None);
        clothing.attributes = vec![attribute("organic")];
        let mut gadgets = category("Gadgets", None);
        gadgets.attributes = vec![attribute("wireless")];
        let mut shirts = category("Shirts", Some(clothing.id));
        shirts.attributes = vec![attribute("wireless")];
        let tree = Tree::new([clothing.clone(), gadgets.clone(), shirts.clone()]);
        let codes: Vec<String> = tree.effective_attributes(shirts.id).into_iter().map(|a| a.code).collect();
        assert_eq!(codes, ["organic", "wireless"]);

        let mut again = shirts.clone();
        again.attributes.push(attribute("organic"));
        assert!(tree.check_placement(&again).unwrap_err().field.starts_with("attributes"));
        // Moving shirts under gadgets would declare `wireless` twice on one path.
        let mut moved = shirts.clone();
        moved.parent_id = Some(gadgets.id);
        assert!(tree.check_placement(&moved).is_err());
        // So would gadgets declaring it above a child that has it, once the child is under it.
        let mut clothing_more = clothing.clone();
        clothing_more.attributes.push(attribute("wireless"));
        let err = tree.check_placement(&clothing_more).unwrap_err();
        assert!(err.message.contains(&shirts.id.to_string()), "{}", err.message);
    }

    #[test]
    fn slugs_are_unique_per_locale_and_the_depth_is_bounded() {
        let shoes = category("Shoes", None);
        let tree = Tree::new([shoes.clone()]);
        let twin = category("Shoes", None);
        assert_eq!(tree.check_placement(&twin).unwrap_err().field, "slugs.en");
        let mut chain = vec![shoes.clone()];
        for depth in 1..MAX_DEPTH {
            chain.push(category(&format!("Level {depth}"), Some(chain.last().unwrap().id)));
        }
        let tree = Tree::new(chain.clone());
        let too_deep = category("Too deep", Some(chain.last().unwrap().id));
        assert_eq!(tree.check_placement(&too_deep).unwrap_err().field, "parent_id");
    }
}
