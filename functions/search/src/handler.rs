//! `search-products`: GET /products, browse and full-text search of the published catalog.
//!
//! The index is loaded into memory on first use and followed: at most every
//! [`REFRESH_EVERY`] a request reads which version is current (one small read) and, when a newer
//! one was published, loads only its new files. The category tree and exchange rates are read at
//! most every [`REFERENCE_TTL`], and again when a request names a category the tree read does not
//! have (one created since).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use stockyard_domain::category::Tree;
use stockyard_domain::exchange::ExchangeRates;
use stockyard_domain::ids::{CategoryId, ProductId, VendorId};
use stockyard_domain::image::MediaUrls;
use stockyard_domain::locale::{Locale, negotiate};
use stockyard_domain::money::Currency;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{header, query};
use stockyard_http::response::ok;
use stockyard_http::{ApiDeps, ApiError};
use stockyard_store::objects::Bucket;
use stockyard_store::{categories, exchange_rates};
use tokio::sync::Mutex;
use utoipa::ToSchema;

use crate::document::{LANGUAGES, search_language};
use crate::engine::{self, FacetCount, MAX_WINDOW, PriceBucket, SearchQuery, Sort};
use crate::snapshot::{IndexStore, Loaded};

/// How often a warm function asks whether a newer index version was published.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// How long the category tree and exchange rates read are reused.
pub const REFERENCE_TTL: Duration = Duration::from_secs(30);
/// The currency prices are shown in when the client names none.
pub const DEFAULT_CURRENCY: &str = "USD";
/// Results per page by default and at most.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
/// Longest query text.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most values of one repeatable filter.
pub const MAX_FILTER_VALUES: usize = 20;

pub struct SearchDeps {
    pub api: ApiDeps,
    pub store: IndexStore,
    pub media: MediaUrls,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    loaded: Option<(Loaded, tantivy::IndexReader)>,
    checked_at: Option<Instant>,
    reference: Option<(Tree, Option<ExchangeRates>, Instant)>,
}

impl SearchDeps {
    pub fn new(api: ApiDeps, store: IndexStore, media: MediaUrls) -> Self {
        Self { api, store, media, state: Mutex::new(State::default()) }
    }

    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let api = ApiDeps::from_env(sdk).await?;
        let store = IndexStore {
            bucket: Bucket::from_env(sdk, "SEARCH_BUCKET")?,
            table: api.table.clone(),
            name: "products".into(),
        };
        Ok(Self::new(api, store, MediaUrls::new(&stockyard_platform::env("MEDIA_DOMAIN")?)))
    }
}

async fn refresh(store: &IndexStore, state: &mut State) -> anyhow::Result<()> {
    let due = state.checked_at.is_none_or(|at| at.elapsed() >= REFRESH_EVERY);
    if !due {
        return Ok(());
    }
    let current = store.current().await?;
    state.checked_at = Some(Instant::now());
    let held = state.loaded.as_ref().and_then(|(l, _)| l.generation);
    let wanted = current.as_ref().map(|v| v.generation);
    if state.loaded.is_some() && held == wanted {
        return Ok(());
    }
    let previous = state.loaded.take().map(|(l, _)| l);
    let loaded = match current {
        Some(version) => store.load(&version, previous).await?,
        None => Loaded::empty(),
    };
    let reader = loaded.index.reader_builder().reload_policy(tantivy::ReloadPolicy::Manual).try_into()?;
    tracing::info!(generation = ?loaded.generation, documents = loaded.documents, bytes = loaded.size_bytes(), "search index loaded");
    state.loaded = Some((loaded, reader));
    Ok(())
}

/// A product in a list of results, in the language of the search.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductHit {
    pub id: ProductId,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub category_id: CategoryId,
    /// The locale the title is in (the product's best for the search language).
    #[schema(value_type = String, example = "fr")]
    pub locale: Locale,
    pub title: String,
    #[schema(example = "chaussures-de-marche")]
    pub slug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// The lowest regular price of its variants in `currency`, in its minor units; absent when it
    /// has none there and none to convert from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_from: Option<i64>,
    /// True when that price was converted from the vendor's base currency.
    pub price_converted: bool,
    /// The first ready image's thumbnail (160 px on the long side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// A category and how many matching products are in it or below it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    pub id: CategoryId,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Facets {
    /// The categories one level below the one filtered on (the roots without one).
    pub categories: Vec<CategoryCount>,
    /// Brands, lower-cased, most products first.
    pub brands: Vec<FacetCount>,
    /// Price ranges in `currency` (minor units; `to` exclusive).
    pub price: Vec<PriceBucket>,
    /// Per attribute code, its values (lower-cased), most products first.
    #[schema(value_type = BTreeMap<String, Vec<FacetCount>>)]
    pub attributes: BTreeMap<String, Vec<FacetCount>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub items: Vec<ProductHit>,
    /// Matching products in all (pages go up to the first 1,000).
    pub total: u64,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// The language searched and answered in (also `Content-Language`).
    #[schema(example = "fr")]
    pub language: String,
    pub facets: Facets,
}

fn many(req: &Request, name: &str) -> Result<Vec<String>, ApiError> {
    let values: Vec<String> = req
        .query_string_parameters_ref()
        .map(|q| q.all(name).unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect();
    if values.len() > MAX_FILTER_VALUES {
        return Err(ApiError::invalid(name, format!("may be given at most {MAX_FILTER_VALUES} times")));
    }
    if values.iter().any(|v| v.trim().is_empty() || v.chars().count() > 100) {
        return Err(ApiError::invalid(name, "must be 1 to 100 characters"));
    }
    Ok(values.into_iter().map(|v| v.trim().to_string()).collect())
}

fn amount(req: &Request, name: &str) -> Result<Option<i64>, ApiError> {
    query(req, name)
        .map(|raw| match raw.trim().parse::<i64>() {
            Ok(n) if (0..=stockyard_domain::product::MAX_AMOUNT).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(name, "must be a whole number of minor units from 0 to 1000000000000")),
        })
        .transpose()
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(raw: &str) -> Result<usize, ApiError> {
    let invalid = || ApiError::invalid("cursor", "is not a cursor this list issued");
    let text = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let text = String::from_utf8(text).map_err(|_| invalid())?;
    text.strip_prefix("o:").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n < MAX_WINDOW).ok_or_else(invalid)
}

/// Reads and checks the request's parameters (everything but the category tree).
fn parse(req: &Request) -> Result<(SearchQuery, Option<CategoryId>, Locale), ApiError> {
    let text = query(req, "q").map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_QUERY_CHARS) {
        return Err(ApiError::invalid("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
    }
    let currency = match query(req, "currency") {
        Some(raw) => Currency::parse("currency", &raw)?,
        None => Currency::parse("currency", DEFAULT_CURRENCY)?,
    };
    let category = query(req, "category").map(|raw| CategoryId::parse("category", &raw)).transpose()?;
    let vendor = query(req, "vendor").map(|raw| VendorId::parse("vendor", &raw)).transpose()?;
    let mut attributes = Vec::new();
    for raw in many(req, "attribute")? {
        let Some((code, value)) = raw.split_once(':').filter(|(c, v)| !c.trim().is_empty() && !v.trim().is_empty())
        else {
            return Err(ApiError::invalid("attribute", "must be code:value, e.g. colour:navy"));
        };
        attributes.push((code.trim().to_string(), value.trim().to_string()));
    }
    let (price_min, price_max) = (amount(req, "price_min")?, amount(req, "price_max")?);
    if let (Some(lo), Some(hi)) = (price_min, price_max)
        && lo > hi
    {
        return Err(ApiError::invalid("price_max", "must not be below price_min"));
    }
    let sort = match query(req, "sort") {
        None if text.is_some() => Sort::Relevance,
        None => Sort::Newest,
        Some(raw) => Sort::parse(raw.trim()).ok_or_else(|| {
            ApiError::invalid("sort", "must be relevance, price, -price, newest, rating or best_selling")
        })?,
    };
    let limit = match query(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::invalid("limit", "must be a whole number from 1 to 100")),
        },
    };
    let offset = query(req, "cursor").map(|c| decode_cursor(&c)).transpose()?.unwrap_or(0);
    let locale = match query(req, "locale") {
        Some(raw) => Locale::parse("locale", &raw)?,
        None => {
            let available: Vec<Locale> =
                LANGUAGES.iter().map(|l| Locale::parse("locale", l).expect("search languages are locales")).collect();
            let default = Locale::parse("locale", "en").expect("en is a locale");
            negotiate(header(req, "accept-language"), &available, &default).locale
        }
    };
    let q = SearchQuery {
        text,
        language: search_language(&locale),
        currency,
        categories: Vec::new(),
        vendor,
        brands: many(req, "brand")?,
        tags: many(req, "tag")?,
        attributes,
        price_min,
        price_max,
        sort,
        offset,
        limit: limit.min(MAX_WINDOW - offset),
    };
    Ok((q, category, locale))
}

fn category_name(tree: &Tree, id: CategoryId, language: &str) -> String {
    let Some(c) = tree.get(id) else { return String::new() };
    c.names
        .iter()
        .find(|(l, _)| l.language() == language)
        .or_else(|| c.names.iter().find(|(l, _)| l.as_str() == "en"))
        .or_else(|| c.names.iter().next())
        .map(|(_, n)| n.clone())
        .unwrap_or_default()
}

/// Category counts rolled up to the children of `parent` (the roots when `None`).
fn category_counts(
    tree: &Tree,
    leaf_counts: &[FacetCount],
    parent: Option<CategoryId>,
    language: &str,
) -> Vec<CategoryCount> {
    let mut rolled: BTreeMap<CategoryId, u64> = BTreeMap::new();
    for f in leaf_counts {
        let Ok(id) = CategoryId::parse("category", &f.value) else { continue };
        let mut chain: Vec<CategoryId> = tree.ancestors(id).iter().map(|c| c.id).collect();
        chain.push(id);
        // The child of `parent` on the way from the root to the product's category.
        let below = match parent {
            None => chain.first().copied(),
            Some(p) => chain.iter().position(|c| *c == p).and_then(|i| chain.get(i + 1).copied()),
        };
        if let Some(child) = below {
            *rolled.entry(child).or_default() += f.count;
        }
    }
    let mut out: Vec<CategoryCount> = rolled
        .into_iter()
        .map(|(id, count)| CategoryCount { id, name: category_name(tree, id, language), count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    out
}

/// Published products of active vendors: full-text search in the shopper's language (stemmed; a
/// word of five letters or more may have one typo), filters, sorting, facet counts that respect
/// every filter, and cursor pagination up to the first 1,000 results. Public.
#[utoipa::path(get, path = "/products", tag = "catalog",
    params(
        ("q" = Option<String>, Query, description = "Words to search for (at most 200 characters)"),
        ("category" = Option<CategoryId>, Query, description = "A category; its descendants count too"),
        ("vendor" = Option<VendorId>, Query),
        ("brand" = Option<Vec<String>>, Query, description = "Brands (any of them; repeat the parameter)"),
        ("tag" = Option<Vec<String>>, Query, description = "Tags (all of them; repeat the parameter)"),
        ("attribute" = Option<Vec<String>>, Query, description = "code:value, e.g. colour:navy; values of one code are alternatives"),
        ("price_min" = Option<i64>, Query, minimum = 0, description = "Lowest price, minor units of `currency` (at most 10^12)"),
        ("price_max" = Option<i64>, Query, minimum = 0, description = "Highest price, minor units of `currency` (at most 10^12)"),
        ("currency" = Option<Currency>, Query, description = "ISO 4217; default USD. Prices a product lacks in it are converted from the vendor's base currency"),
        ("sort" = Option<String>, Query, description = "relevance (default with q), price, -price, newest (default without q), rating, best_selling"),
        ("locale" = Option<String>, Query, description = "The language to search in (else Accept-Language; en, fr, de and es are stemmed)"),
        ("limit" = Option<i32>, Query, minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, min_length = 1, description = "next_cursor of the previous page"),
        ("Accept-Language" = Option<String>, Header),
    ),
    responses((status = 200, body = SearchResponse), (status = 422, body = ErrorBody)))]
pub async fn search(deps: &SearchDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let (mut q, category, _) = parse(&req)?;
    let mut state = deps.state.lock().await;
    let before = state.loaded.as_ref().and_then(|(l, _)| l.generation);
    refresh(&deps.store, &mut state).await.map_err(ApiError::internal)?;
    // A new index version may rest on new rates or a new tree (the indexer re-prices on a rates
    // change): read them again with it, so prices shown agree with the prices filtered on.
    let moved = state.loaded.as_ref().and_then(|(l, _)| l.generation) != before;
    let stale = state.reference.as_ref().is_none_or(|(_, _, at)| at.elapsed() >= REFERENCE_TTL);
    // A category the cached tree does not know may be newer than the cache: read the tree again
    // before refusing it.
    let unknown = category.is_some_and(|c| state.reference.as_ref().is_some_and(|(t, _, _)| t.get(c).is_none()));
    if moved || stale || unknown {
        let (tree, rates) =
            tokio::try_join!(categories::tree(&deps.api.table), exchange_rates::current(&deps.api.table))?;
        state.reference = Some((tree.tree, rates, Instant::now()));
    }
    let (tree, rates) = {
        let (t, r, _) = state.reference.as_ref().expect("just read");
        (t.clone(), r.clone())
    };
    if let Some(c) = category {
        if tree.get(c).is_none() {
            return Err(ApiError::invalid("category", "is not a category"));
        }
        q.categories = tree.subtree(c);
    }
    let (loaded, reader) = state.loaded.as_ref().expect("refreshed");
    let (index, reader) = (loaded.index.clone(), reader.clone());
    drop(state);
    let query = q.clone();
    let results = tokio::task::spawn_blocking(move || engine::search(&index, &reader, &query))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let items = results
        .hits
        .into_iter()
        .map(|hit| {
            let text = hit.doc.texts.get(q.language).or_else(|| hit.doc.texts.values().next());
            let price = hit.doc.from_prices(rates.as_ref()).get(&q.currency).copied();
            ProductHit {
                id: hit.doc.product_id,
                vendor_id: hit.doc.vendor_id,
                vendor_name: hit.doc.vendor_name.clone(),
                category_id: hit.doc.category_id,
                locale: text.map(|t| t.locale.clone()).unwrap_or_else(|| Locale::parse("l", "en").expect("a locale")),
                title: text.map(|t| t.title.clone()).unwrap_or_default(),
                slug: text.map(|t| t.slug.clone()).unwrap_or_default(),
                brand: hit.doc.brand.clone(),
                price_from: price.map(|p| p.amount),
                price_converted: price.is_some_and(|p| p.converted),
                thumbnail_url: hit.doc.thumbnail.as_deref().map(|k| deps.media.url(k)),
            }
        })
        .collect::<Vec<_>>();
    let end = q.offset + items.len();
    let next_cursor = (end < results.total.min(MAX_WINDOW) && !items.is_empty()).then(|| encode_cursor(end));
    let facets = Facets {
        categories: category_counts(&tree, &results.facets.categories, category, q.language),
        brands: results.facets.brands,
        price: results.facets.price,
        attributes: results.facets.attributes,
    };
    let body = SearchResponse {
        items,
        total: results.total as u64,
        next_cursor,
        currency: q.currency,
        language: q.language.to_string(),
        facets,
    };
    let mut response = ok(&body);
    response.headers_mut().insert("content-language", q.language.parse().map_err(ApiError::internal)?);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        assert_eq!(decode_cursor(&encode_cursor(40)).unwrap(), 40);
        assert!(decode_cursor("o:40").is_err(), "not encoded");
        assert!(decode_cursor(&encode_cursor(MAX_WINDOW)).is_err(), "beyond the window");
        assert!(decode_cursor("!!").is_err());
    }

    #[test]
    fn field_errors_name_the_parameter() {
        let req = |qs: &str| {
            let mut params = std::collections::HashMap::new();
            for pair in qs.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap();
                params.entry(k.to_string()).or_insert_with(Vec::new).push(v.to_string());
            }
            lambda_http::RequestExt::with_query_string_parameters(
                lambda_http::http::Request::builder().uri("/products").body(Body::Empty).unwrap(),
                params,
            )
        };
        let field = |qs: &str| match parse(&req(qs)) {
            Err(ApiError::Invalid(e)) => e.field.clone(),
            other => panic!("expected a field error for {qs}, got {:?}", other.map(|(q, _, _)| q.sort)),
        };
        assert_eq!(field("currency=EURO"), "currency");
        assert_eq!(field("price_min=500&price_max=100"), "price_max");
        assert_eq!(field("price_min=-1"), "price_min");
        assert_eq!(field("attribute=colour"), "attribute");
        assert_eq!(field("sort=cheapest"), "sort");
        assert_eq!(field("limit=0"), "limit");
        assert_eq!(field("category=nope"), "category");
        let (q, _, _) = parse(&req("q=chaussures&locale=fr-CA&attribute=colour:navy&attribute=size:m")).unwrap();
        assert_eq!((q.language, q.sort, q.attributes.len()), ("fr", Sort::Relevance, 2));
        assert_eq!(q.currency.code(), "USD");
    }
}
