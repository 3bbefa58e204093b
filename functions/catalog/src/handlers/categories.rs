//! The category tree. Admin and content managers create, rename, re-describe and move categories;
//! anyone reads the tree. Every change is decided on the whole tree as read and committed only if
//! no other change came in between (`stockyard_store::categories`), so the tree never gets a cycle,
//! a slug used twice in one locale, or an attribute declared twice along one path.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use stockyard_domain::FieldError;
use stockyard_domain::catalog::AttributeDef;
use stockyard_domain::category::{Category, Tree};
use stockyard_domain::ids::CategoryId;
use stockyard_domain::locale::Locale;
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::slug::Slug;
use stockyard_domain::values::bounded_text;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{path, query};
use stockyard_http::response::{created, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, ListResponse, Request, Response};
use stockyard_store::categories::{self, TREE_CHANGED};
use utoipa::ToSchema;

/// Who keeps the tree.
const EDITORS: &[PlatformRole] = &[PlatformRole::Admin, PlatformRole::ContentManager];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryRequest {
    /// The parent category; absent for a root.
    pub parent_id: Option<CategoryId>,
    /// The name per locale (BCP 47), at least one.
    #[schema(value_type = BTreeMap<String, String>, example = json!({"en": "Shoes", "fr": "Chaussures"}))]
    pub names: BTreeMap<String, String>,
    /// The slug per locale; a locale without one gets a slug made from its name.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub slugs: Option<BTreeMap<String, String>>,
    /// The attributes this category declares (its children inherit them).
    #[serde(default)]
    pub attributes: Vec<AttributeDef>,
}

/// What to change; absent fields stay. `parent_id: null` makes the category a root.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategoryRequest {
    #[serde(default, deserialize_with = "stockyard_http::request::present")]
    #[schema(value_type = Option<CategoryId>)]
    pub parent_id: Option<Option<CategoryId>>,
    /// Replaces every name (and the slugs of locales no longer named).
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub names: Option<BTreeMap<String, String>>,
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub slugs: Option<BTreeMap<String, String>>,
    /// Replaces the attributes this category declares.
    pub attributes: Option<Vec<AttributeDef>>,
}

/// A category with where it sits and everything a product in it is described by.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    #[serde(flatten)]
    pub category: Category,
    /// Its ancestors, root first.
    pub ancestors: Vec<CategoryId>,
    /// The attributes of a product in this category: the ancestors', root first, then its own.
    pub effective_attributes: Vec<AttributeDef>,
}

impl CategoryView {
    fn of(tree: &Tree, category: Category) -> Self {
        let ancestors = tree.ancestors(category.id).iter().map(|c| c.id).collect();
        let effective_attributes = tree.effective_attributes(category.id);
        Self { category, ancestors, effective_attributes }
    }
}

fn names(raw: &BTreeMap<String, String>) -> Result<BTreeMap<Locale, String>, FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new("names", "needs a name in at least one locale"));
    }
    if raw.len() > 50 {
        return Err(FieldError::new("names", "has more than 50 locales"));
    }
    raw.iter()
        .map(|(tag, name)| {
            let field = format!("names.{tag}");
            Ok((Locale::parse(&field, tag)?, bounded_text(&field, name, 1, 100)?))
        })
        .collect()
}

/// A slug for every named locale: the one given, else one made from the name.
fn slugs(
    names: &BTreeMap<Locale, String>,
    given: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<Locale, Slug>, FieldError> {
    let mut slugs = BTreeMap::new();
    for (tag, raw) in given.into_iter().flatten() {
        let field = format!("slugs.{tag}");
        let locale = Locale::parse(&field, tag)?;
        if !names.contains_key(&locale) {
            return Err(FieldError::new(field, "has no name in this locale"));
        }
        slugs.insert(locale, Slug::parse(&field, raw)?);
    }
    for (locale, name) in names {
        slugs.entry(locale.clone()).or_insert_with(|| Slug::from_title(name));
    }
    Ok(slugs)
}

/// Decides `change` on the tree as read and saves it, reading again when another change came in
/// between. `change` gets the tree and returns the category to save (or a refusal).
async fn save_decided(
    table: &stockyard_store::Table,
    is_new: bool,
    change: impl Fn(&Tree) -> Result<Category, ApiError>,
) -> Result<CategoryView, ApiError> {
    for _ in 0..5 {
        let read = categories::tree(table).await?;
        let category = change(&read.tree)?;
        read.tree.check_placement(&category)?;
        match categories::save(table, &category, read.version, is_new).await {
            Ok(()) => {
                let saved =
                    Tree::new(read.tree.all().filter(|c| c.id != category.id).cloned().chain([category.clone()]));
                return Ok(CategoryView::of(&saved, category));
            }
            Err(e) if e.failed_at(TREE_CHANGED) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict("category_tree_busy", "the category tree kept changing meanwhile; try again"))
}

/// Add a category (admin, content managers).
#[utoipa::path(post, path = "/categories", tag = "catalog", security(("bearer" = ["admin", "content_manager"])), request_body = CreateCategoryRequest,
    responses((status = 201, body = CategoryView), (status = 403, body = ErrorBody),
              (status = 409, description = "category_tree_busy", body = ErrorBody),
              (status = 422, description = "invalid_field: a name, slug, attribute or the parent", body = ErrorBody)))]
pub async fn create_category(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: CreateCategoryRequest = cx.body()?;
    let names = names(&body.names)?;
    let slugs = slugs(&names, body.slugs.as_ref())?;
    cx.require_any(EDITORS).await?;
    let now = Utc::now();
    let category = Category {
        id: CategoryId::generate(),
        parent_id: body.parent_id,
        names,
        slugs,
        attributes: body.attributes,
        created_at: now,
        updated_at: now,
    };
    let view = save_decided(cx.store().await?, true, |_| Ok(category.clone())).await?;
    Ok(created(&view))
}

/// Rename, re-describe or move a category with everything below it (admin, content managers).
#[utoipa::path(patch, path = "/categories/{categoryId}", tag = "catalog", security(("bearer" = ["admin", "content_manager"])),
    request_body = UpdateCategoryRequest, params(("categoryId" = CategoryId, Path)),
    responses((status = 200, body = CategoryView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "category_tree_busy", body = ErrorBody),
              (status = 422, description = "invalid_field: a cycle, a clash of attributes or slugs", body = ErrorBody)))]
pub async fn update_category(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let id = cx.path("categoryId", CategoryId::parse)?;
    let body: UpdateCategoryRequest = cx.body()?;
    let new_names = body.names.as_ref().map(names).transpose()?;
    cx.require_any(EDITORS).await?;
    let view = save_decided(cx.store().await?, false, |tree| {
        let mut category = tree.get(id).cloned().ok_or(ApiError::NotFound("category"))?;
        if let Some(parent) = body.parent_id {
            category.parent_id = parent;
        }
        if let Some(names) = &new_names {
            // Slugs of locales still named stay unless new ones are given.
            let kept: BTreeMap<String, String> = category
                .slugs
                .iter()
                .filter(|(locale, _)| names.contains_key(*locale))
                .map(|(l, s)| (l.to_string(), s.to_string()))
                .collect();
            let mut given = kept;
            given.extend(body.slugs.clone().unwrap_or_default());
            category.slugs = slugs(names, Some(&given))?;
            category.names = names.clone();
        } else if let Some(given) = &body.slugs {
            let mut all: BTreeMap<String, String> =
                category.slugs.iter().map(|(l, s)| (l.to_string(), s.to_string())).collect();
            all.extend(given.clone());
            category.slugs = slugs(&category.names, Some(&all))?;
        }
        if let Some(attributes) = &body.attributes {
            category.attributes = attributes.clone();
        }
        category.updated_at = Utc::now();
        Ok(category)
    })
    .await?;
    Ok(ok(&view))
}

/// The category tree, every category in one list (roots and children alike; `?parent=<id>` or
/// `?parent=root` narrows it to one level). Public.
#[utoipa::path(get, path = "/categories", tag = "catalog",
    params(("parent" = Option<String>, Query, description = "A category id, or `root`")),
    responses((status = 200, body = ListResponse<Category>), (status = 422, body = ErrorBody)))]
pub async fn list_categories(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let parent = match query(&req, "parent").as_deref() {
        None => None,
        Some("root") => Some(None),
        Some(raw) => Some(Some(CategoryId::parse("parent", raw)?)),
    };
    let read = categories::tree(&deps.table).await?;
    let items: Vec<Category> = read.tree.all().filter(|c| parent.is_none_or(|p| c.parent_id == p)).cloned().collect();
    Ok(ok(&ListResponse::all(items)))
}

/// One category with its ancestors and the attributes a product in it has. Public.
#[utoipa::path(get, path = "/categories/{categoryId}", tag = "catalog", params(("categoryId" = CategoryId, Path)),
    responses((status = 200, body = CategoryView), (status = 404, body = ErrorBody)))]
pub async fn get_category(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let id = path(&req, "categoryId", CategoryId::parse)?;
    let read = categories::tree(&deps.table).await?;
    let category = read.tree.get(id).cloned().ok_or(ApiError::NotFound("category"))?;
    Ok(ok(&CategoryView::of(&read.tree, category)))
}
