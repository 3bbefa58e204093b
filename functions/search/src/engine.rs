//! The index itself (tantivy): its schema and analyzers, writing product documents, and answering
//! a search with its hits and facet counts. No I/O: the index lives in memory; `snapshot` moves
//! it to and from S3.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::Serialize;
use stockyard_domain::exchange::ExchangeRates;
use stockyard_domain::ids::{CategoryId, ProductId, VendorId};
use stockyard_domain::money::Currency;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
};
use tantivy::{DocAddress, Index, IndexWriter, Order, TantivyDocument, Term};

use crate::document::{FromPrice, LANGUAGES, ProductDoc};

/// Index writer memory (tantivy's minimum is 15 MB per thread).
pub const WRITER_MEMORY: usize = 50_000_000;
/// The deepest a client may page (offset + limit).
pub const MAX_WINDOW: usize = 1_000;
/// Words shorter than this must match exactly; longer ones tolerate one edit.
pub const FUZZY_MIN_CHARS: usize = 5;

fn analyzer(lang: &str) -> TextAnalyzer {
    let language = match lang {
        "fr" => Language::French,
        "de" => Language::German,
        "es" => Language::Spanish,
        _ => Language::English,
    };
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(language))
        .build()
}

fn tokenizer_name(lang: &str) -> String {
    format!("stem_{lang}")
}

/// The fields, by role.
#[derive(Clone)]
pub struct Fields {
    pub product_id: Field,
    pub vendor_id: Field,
    pub category_id: Field,
    pub brand: Field,
    pub tag: Field,
    pub attribute: Field,
    pub published_at: Field,
    pub rating: Field,
    pub sold: Field,
    /// The document as JSON (`ProductDoc`): results and re-pricing read it back.
    pub source: Field,
    pub title: BTreeMap<&'static str, Field>,
    pub body: BTreeMap<&'static str, Field>,
    /// The lowest price per currency (minor units), for range filters, sorting and price facets.
    pub price: BTreeMap<Currency, Field>,
}

pub fn price_field_name(currency: Currency) -> String {
    format!("price_{}", currency.code())
}

/// The schema and its fields, built once per process (about 170 fields: queries and documents
/// only look them up).
static SCHEMA: std::sync::LazyLock<(Schema, Fields)> = std::sync::LazyLock::new(build_schema);

/// The index's schema (a cheap handle).
pub fn schema() -> Schema {
    SCHEMA.0.clone()
}

/// The fields of [`schema`], by role.
pub fn fields() -> &'static Fields {
    &SCHEMA.1
}

/// Every known currency has a price field; a document holds values only in the currencies it can
/// be shown in.
fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let raw = STRING | tantivy::schema::FAST;
    let product_id = b.add_text_field("product_id", STRING | STORED);
    let vendor_id = b.add_text_field("vendor_id", raw.clone());
    let category_id = b.add_text_field("category_id", raw.clone());
    let brand = b.add_text_field("brand", raw.clone());
    let tag = b.add_text_field("tag", STRING);
    let attribute = b.add_text_field("attribute", raw);
    let fast = NumericOptions::default().set_fast();
    let published_at = b.add_i64_field("published_at", fast.clone());
    let rating = b.add_f64_field("rating", fast.clone());
    let sold = b.add_u64_field("sold", fast);
    let source = b.add_text_field("source", STORED);
    let mut title = BTreeMap::new();
    let mut body = BTreeMap::new();
    for lang in LANGUAGES {
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(&tokenizer_name(lang))
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let options = TextOptions::default().set_indexing_options(indexing);
        title.insert(lang, b.add_text_field(&format!("title_{lang}"), options.clone()));
        body.insert(lang, b.add_text_field(&format!("body_{lang}"), options));
    }
    let mut price = BTreeMap::new();
    for currency in Currency::all() {
        let options = NumericOptions::default().set_fast().set_indexed();
        price.insert(currency, b.add_u64_field(&price_field_name(currency), options));
    }
    let schema = b.build();
    let fields = Fields {
        product_id,
        vendor_id,
        category_id,
        brand,
        tag,
        attribute,
        published_at,
        rating,
        sold,
        source,
        title,
        body,
        price,
    };
    (schema, fields)
}

/// Registers the analyzers the schema names (needed on every open of the index).
pub fn register_analyzers(index: &Index) {
    for lang in LANGUAGES {
        index.tokenizers().register(&tokenizer_name(lang), analyzer(lang));
    }
}

/// A new, empty index in memory.
pub fn create_in_ram() -> Index {
    let schema = schema();
    let index = Index::create_in_ram(schema);
    register_analyzers(&index);
    index
}

/// Brand values are matched without regard to case.
pub fn brand_key(brand: &str) -> String {
    brand.trim().to_lowercase()
}

/// The tantivy document for a product, priced at `rates`.
pub fn to_document(fields: &Fields, doc: &ProductDoc, rates: Option<&ExchangeRates>) -> TantivyDocument {
    let mut d = TantivyDocument::default();
    d.add_text(fields.product_id, doc.product_id.to_string());
    d.add_text(fields.vendor_id, doc.vendor_id.to_string());
    d.add_text(fields.category_id, doc.category_id.to_string());
    if let Some(brand) = &doc.brand {
        d.add_text(fields.brand, brand_key(brand));
    }
    for tag in &doc.tags {
        d.add_text(fields.tag, tag);
    }
    for a in &doc.attributes {
        d.add_text(fields.attribute, a);
    }
    d.add_i64(fields.published_at, doc.published_at.timestamp_millis());
    for (lang, text) in &doc.texts {
        if let (Some(title), Some(body)) = (fields.title.get(lang.as_str()), fields.body.get(lang.as_str())) {
            d.add_text(*title, &text.title);
            d.add_text(*body, &text.body);
        }
    }
    for (currency, price) in doc.from_prices(rates) {
        if let Some(field) = fields.price.get(&currency) {
            d.add_u64(*field, price.amount.max(0) as u64);
        }
    }
    d.add_text(fields.source, serde_json::to_string(doc).expect("a product document serialises"));
    d
}

/// Replaces (or removes, with `None`) one product's document; visible after the writer commits.
pub fn upsert(
    writer: &IndexWriter,
    fields: &Fields,
    id: ProductId,
    doc: Option<&ProductDoc>,
    rates: Option<&ExchangeRates>,
) -> tantivy::Result<()> {
    writer.delete_term(Term::from_field_text(fields.product_id, &id.to_string()));
    if let Some(doc) = doc {
        writer.add_document(to_document(fields, doc, rates))?;
    }
    Ok(())
}

/// Every document in the index, read back (to re-price them all when the rates change).
pub fn all_documents(index: &Index, fields: &Fields) -> tantivy::Result<Vec<ProductDoc>> {
    let reader = index.reader()?;
    let searcher = reader.searcher();
    let mut out = Vec::new();
    for segment in searcher.segment_readers() {
        let store = segment.get_store_reader(0)?;
        for id in 0..segment.max_doc() {
            if segment.is_deleted(id) {
                continue;
            }
            let d: TantivyDocument = store.get(id)?;
            if let Some(doc) = source_of(&d, fields) {
                out.push(doc);
            }
        }
    }
    Ok(out)
}

fn source_of(d: &TantivyDocument, fields: &Fields) -> Option<ProductDoc> {
    d.get_first(fields.source).and_then(|v| v.as_str()).and_then(|s| serde_json::from_str(s).ok())
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (the default with a query; without one, newest).
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
    /// Highest rated first (ratings arrive with reviews).
    Rating,
    /// Most sold first (sales arrive with orders).
    BestSelling,
}

impl Sort {
    pub fn parse(raw: &str) -> Option<Sort> {
        Some(match raw {
            "relevance" => Sort::Relevance,
            "price" | "price_asc" => Sort::PriceAsc,
            "-price" | "price_desc" => Sort::PriceDesc,
            "newest" => Sort::Newest,
            "rating" => Sort::Rating,
            "best_selling" => Sort::BestSelling,
            _ => return None,
        })
    }
}

/// A search as the engine runs it (already validated).
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: Option<String>,
    /// One of [`LANGUAGES`].
    pub language: &'static str,
    pub currency: Currency,
    /// The category asked for and all its descendants.
    pub categories: Vec<CategoryId>,
    pub vendor: Option<VendorId>,
    pub brands: Vec<String>,
    pub tags: Vec<String>,
    /// `(code, value)`: values of one code are alternatives; codes must all match.
    pub attributes: Vec<(String, String)>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

impl SearchQuery {
    /// A search for `text` (or a browse without it) with no filters: relevance first with text,
    /// newest first without, the first `limit` results.
    pub fn new(text: Option<&str>, language: &'static str, currency: Currency, limit: usize) -> Self {
        SearchQuery {
            text: text.map(str::to_string),
            language,
            currency,
            categories: vec![],
            vendor: None,
            brands: vec![],
            tags: vec![],
            attributes: vec![],
            price_min: None,
            price_max: None,
            sort: if text.is_some() { Sort::Relevance } else { Sort::Newest },
            offset: 0,
            limit,
        }
    }
}

/// One result.
#[derive(Debug, Clone)]
pub struct Hit {
    pub doc: ProductDoc,
    pub price: Option<FromPrice>,
}

/// One facet value and how many matching products have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// A price range (minor units; `to` exclusive) and how many matching products fall in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PriceBucket {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    pub count: u64,
}

#[derive(Debug, Clone, Default)]
pub struct RawFacets {
    /// Matching products per category (the product's own category only).
    pub categories: Vec<FacetCount>,
    pub brands: Vec<FacetCount>,
    pub price: Vec<PriceBucket>,
    /// Per attribute code, its values.
    pub attributes: BTreeMap<String, Vec<FacetCount>>,
}

pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: RawFacets,
}

/// Price bucket edges in major units, scaled to the currency (for currencies without minor units,
/// a hundred times larger, as their units are small).
fn price_edges(currency: Currency) -> Vec<i64> {
    let scale = match currency.exponent() {
        0 => 100,
        e => 10i64.pow(e),
    };
    [10, 25, 50, 100, 250, 500].iter().map(|major| major * scale).collect()
}

/// Words of a query, each with its analysed term (words the analyzer drops are left out).
fn query_terms(index: &Index, lang: &str, text: &str) -> Vec<(String, usize)> {
    let mut folded = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser).build();
    let mut stemmer = index.tokenizers().get(&tokenizer_name(lang)).unwrap_or_else(|| analyzer(lang));
    let mut words = Vec::new();
    let mut stream = folded.token_stream(text);
    while let Some(token) = stream.next() {
        words.push(token.text.clone());
    }
    let mut out = Vec::new();
    for word in words.into_iter().take(16) {
        let mut s = stemmer.token_stream(&word);
        if let Some(t) = s.next() {
            out.push((t.text.clone(), word.chars().count()));
        }
    }
    out
}

fn text_query(index: &Index, fields: &Fields, lang: &'static str, text: &str) -> Option<Box<dyn Query>> {
    let (title, body) = (fields.title[lang], fields.body[lang]);
    let words = query_terms(index, lang, text);
    if words.is_empty() {
        return None;
    }
    let clauses: Vec<(Occur, Box<dyn Query>)> = words
        .into_iter()
        .map(|(term, chars)| {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in [(title, 3.0), (body, 1.0)] {
                let t = Term::from_field_text(field, &term);
                any.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(TermQuery::new(t.clone(), IndexRecordOption::WithFreqs)), boost)),
                ));
                if chars >= FUZZY_MIN_CHARS {
                    any.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(FuzzyTermQuery::new(t, 1, true)), boost * 0.5)),
                    ));
                }
            }
            (Occur::Must, Box::new(BooleanQuery::new(any)) as Box<dyn Query>)
        })
        .collect();
    Some(Box::new(BooleanQuery::new(clauses)))
}

fn any_of(field: Field, values: impl IntoIterator<Item = String>) -> Box<dyn Query> {
    Box::new(TermSetQuery::new(values.into_iter().map(|v| Term::from_field_text(field, &v))))
}

/// The query without its text: the filters only.
fn filters(fields: &Fields, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if !q.categories.is_empty() {
        must.push((Occur::Must, any_of(fields.category_id, q.categories.iter().map(|c| c.to_string()))));
    }
    if let Some(v) = q.vendor {
        must.push((Occur::Must, any_of(fields.vendor_id, [v.to_string()])));
    }
    if !q.brands.is_empty() {
        must.push((Occur::Must, any_of(fields.brand, q.brands.iter().map(|b| brand_key(b)))));
    }
    for tag in &q.tags {
        must.push((Occur::Must, any_of(fields.tag, [tag.to_lowercase()])));
    }
    let mut by_code: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (code, value) in &q.attributes {
        by_code.entry(code).or_default().push(format!("{code}={}", value.to_lowercase()));
    }
    for (_, values) in by_code {
        must.push((Occur::Must, any_of(fields.attribute, values)));
    }
    if q.price_min.is_some() || q.price_max.is_some() || matches!(q.sort, Sort::PriceAsc | Sort::PriceDesc) {
        // A product with no price in the currency cannot be in a price range, nor ordered by one.
        let field = fields.price[&q.currency];
        let lower = Bound::Included(Term::from_field_u64(field, q.price_min.unwrap_or(0).max(0) as u64));
        let upper = match q.price_max {
            Some(v) => Bound::Included(Term::from_field_u64(field, v.max(0) as u64)),
            None => Bound::Unbounded,
        };
        must.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
    }
    must
}

/// Runs a search: the page of hits asked for, the total, and facet counts under every filter.
pub fn search(index: &Index, reader: &tantivy::IndexReader, q: &SearchQuery) -> anyhow::Result<SearchResults> {
    let fields = fields();
    let searcher = reader.searcher();
    let mut clauses = filters(fields, q);
    let text = q.text.as_deref().and_then(|t| text_query(index, fields, q.language, t));
    let has_text = text.is_some();
    if let Some(text) = text {
        clauses.push((Occur::Must, text));
    }
    let query: Box<dyn Query> =
        if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };
    let price_name = price_field_name(q.currency);
    let window = TopDocs::with_limit(q.limit.max(1)).and_offset(q.offset);
    let addresses: Vec<DocAddress> = match (q.sort, has_text) {
        (Sort::Relevance, true) => {
            searcher.search(&query, &window.order_by_score())?.into_iter().map(|(_, a)| a).collect()
        }
        (Sort::PriceAsc, _) => searcher
            .search(&query, &window.order_by_fast_field::<u64>(price_name.clone(), Order::Asc))?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
        (Sort::PriceDesc, _) => searcher
            .search(&query, &window.order_by_fast_field::<u64>(price_name.clone(), Order::Desc))?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
        (Sort::Rating, _) => searcher
            .search(&query, &window.order_by_fast_field::<f64>("rating", Order::Desc))?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
        (Sort::BestSelling, _) => searcher
            .search(&query, &window.order_by_fast_field::<u64>("sold", Order::Desc))?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
        (Sort::Newest | Sort::Relevance, _) => searcher
            .search(&query, &window.order_by_fast_field::<i64>("published_at", Order::Desc))?
            .into_iter()
            .map(|(_, a)| a)
            .collect(),
    };
    let edges = price_edges(q.currency);
    let mut ranges = Vec::new();
    let mut from: Option<i64> = None;
    for edge in &edges {
        ranges.push(match from {
            None => serde_json::json!({ "to": *edge as f64 }),
            Some(f) => serde_json::json!({ "from": f as f64, "to": *edge as f64 }),
        });
        from = Some(*edge);
    }
    ranges.push(serde_json::json!({ "from": from.unwrap_or(0) as f64 }));
    let aggs: Aggregations = serde_json::from_value(serde_json::json!({
        "categories": { "terms": { "field": "category_id", "size": 200 } },
        "brands": { "terms": { "field": "brand", "size": 50 } },
        "attributes": { "terms": { "field": "attribute", "size": 500 } },
        "price": { "range": { "field": price_name, "ranges": ranges } },
    }))?;
    let collector = AggregationCollector::from_aggs(aggs, AggContextParams::default());
    let (total, aggregations): (usize, AggregationResults) = searcher.search(&query, &(Count, collector))?;
    let mut hits = Vec::with_capacity(addresses.len());
    for address in addresses {
        let d: TantivyDocument = searcher.doc(address)?;
        if let Some(doc) = source_of(&d, fields) {
            hits.push(Hit { doc, price: None });
        }
    }
    Ok(SearchResults { total, hits, facets: facets(&serde_json::to_value(&aggregations)?, &edges) })
}

fn term_buckets(json: &serde_json::Value, name: &str) -> Vec<FacetCount> {
    json[name]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let value = b["key"].as_str()?.to_string();
            let count = b["doc_count"].as_u64()?;
            (count > 0).then_some(FacetCount { value, count })
        })
        .collect()
}

fn facets(json: &serde_json::Value, edges: &[i64]) -> RawFacets {
    let mut attributes: BTreeMap<String, Vec<FacetCount>> = BTreeMap::new();
    for f in term_buckets(json, "attributes") {
        if let Some((code, value)) = f.value.split_once('=') {
            attributes
                .entry(code.to_string())
                .or_default()
                .push(FacetCount { value: value.to_string(), count: f.count });
        }
    }
    let counts: Vec<u64> = json["price"]["buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| b["doc_count"].as_u64().unwrap_or(0))
        .collect();
    let mut price = Vec::new();
    for (i, count) in counts.into_iter().enumerate() {
        let from = if i == 0 { None } else { edges.get(i - 1).copied() };
        let to = edges.get(i).copied();
        price.push(PriceBucket { from, to, count });
    }
    RawFacets { categories: term_buckets(json, "categories"), brands: term_buckets(json, "brands"), price, attributes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::LocalText;
    use chrono::{TimeZone, Utc};
    use stockyard_domain::locale::Locale;

    fn currency(code: &str) -> Currency {
        Currency::parse("c", code).unwrap()
    }

    fn doc(title_en: &str, title_fr: &str, brand: &str, eur: i64, day: u32, category: CategoryId) -> ProductDoc {
        let text = |locale: &str, title: &str| LocalText {
            locale: Locale::parse("l", locale).unwrap(),
            title: title.to_string(),
            slug: title.to_lowercase().replace(' ', "-"),
            body: format!("{brand} wool"),
        };
        let mut texts = BTreeMap::new();
        texts.insert("en".to_string(), text("en", title_en));
        texts.insert("fr".to_string(), text("fr", title_fr));
        texts.insert("de".to_string(), text("en", title_en));
        texts.insert("es".to_string(), text("en", title_en));
        ProductDoc {
            product_id: ProductId::generate(),
            vendor_id: VendorId::generate(),
            vendor_name: "Green Valley".into(),
            category_id: category,
            brand: Some(brand.to_string()),
            tags: vec!["winter".into()],
            attributes: vec!["size=m".into(), format!("colour={}", if eur > 5000 { "navy" } else { "red" })],
            texts,
            base_currency: currency("EUR"),
            variant_prices: vec![[(currency("EUR"), eur)].into_iter().collect()],
            published_at: Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap(),
            thumbnail: None,
        }
    }

    fn rates() -> ExchangeRates {
        let rates = [(currency("USD"), "1.10".parse().unwrap()), (currency("JPY"), "160".parse().unwrap())];
        ExchangeRates::new(currency("EUR"), rates.into_iter().collect(), Utc::now()).unwrap()
    }

    fn query(text: Option<&str>, language: &'static str) -> SearchQuery {
        SearchQuery::new(text, language, currency("EUR"), 10)
    }

    fn indexed(docs: &[ProductDoc]) -> (Index, tantivy::IndexReader) {
        let index = create_in_ram();
        let fields = fields();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY).unwrap();
        for d in docs {
            upsert(&writer, fields, d.product_id, Some(d), Some(&rates())).unwrap();
        }
        writer.commit().unwrap();
        let reader = index.reader().unwrap();
        (index, reader)
    }

    fn titles(results: &SearchResults) -> Vec<String> {
        results.hits.iter().map(|h| h.doc.texts["en"].title.clone()).collect()
    }

    #[test]
    fn a_french_query_with_a_typo_finds_the_french_title_through_its_stem() {
        let shoes = CategoryId::generate();
        let docs = [
            doc("Leather walking shoes", "Chaussures de marche en cuir", "Alpina", 8900, 1, shoes),
            doc("Wool jumper", "Pull en laine", "Nordic", 4900, 2, shoes),
        ];
        let (index, reader) = indexed(&docs);
        let found = search(&index, &reader, &query(Some("chausures cuir"), "fr")).unwrap();
        assert_eq!(titles(&found), ["Leather walking shoes"]);
        assert_eq!(found.total, 1);
        // A short word must match exactly: "pul" is not "pull".
        assert_eq!(search(&index, &reader, &query(Some("pul"), "fr")).unwrap().total, 0);
        // The English fields hold the English text, stemmed: "shoe" finds "shoes".
        assert_eq!(titles(&search(&index, &reader, &query(Some("shoe"), "en")).unwrap()), ["Leather walking shoes"]);
    }

    #[test]
    fn filters_narrow_results_and_facets_count_what_matches_every_filter() {
        let (a, b) = (CategoryId::generate(), CategoryId::generate());
        let docs = [
            doc("Navy jumper", "Pull marine", "Nordic", 8900, 1, a),
            doc("Red jumper", "Pull rouge", "Nordic", 1900, 2, a),
            doc("Red scarf", "Echarpe rouge", "Alpina", 2900, 3, b),
        ];
        let (index, reader) = indexed(&docs);
        let mut q = query(None, "en");
        q.categories = vec![a];
        let found = search(&index, &reader, &q).unwrap();
        assert_eq!(titles(&found), ["Red jumper", "Navy jumper"], "newest first without a query");
        assert_eq!(found.facets.brands, [FacetCount { value: "nordic".into(), count: 2 }]);
        let colours: Vec<_> = found.facets.attributes["colour"].iter().map(|f| (f.value.as_str(), f.count)).collect();
        assert_eq!(colours, [("navy", 1), ("red", 1)]);

        let mut q = query(None, "en");
        q.categories = vec![a];
        q.brands = vec!["NORDIC".into()];
        assert_eq!(search(&index, &reader, &q).unwrap().total, 2, "brands match without regard to case");
        q.brands = vec!["Alpina".into()];
        assert_eq!(search(&index, &reader, &q).unwrap().total, 0);

        let mut q = query(None, "en");
        q.attributes = vec![("colour".into(), "Red".into())];
        q.sort = Sort::PriceAsc;
        assert_eq!(titles(&search(&index, &reader, &q).unwrap()), ["Red jumper", "Red scarf"]);

        // Prices in a currency the products have none in count converted (EUR 19.00 = USD 20.90).
        let mut q = query(None, "en");
        q.currency = currency("USD");
        q.price_min = Some(2000);
        q.price_max = Some(4000);
        let found = search(&index, &reader, &q).unwrap();
        assert_eq!(titles(&found), ["Red scarf", "Red jumper"]);
        let usd: Vec<u64> = found.facets.price.iter().map(|b| b.count).collect();
        assert_eq!(usd, [0, 1, 1, 0, 0, 0, 0], "20.90 in 10-25, 31.90 in 25-50");
    }

    #[test]
    fn paging_sorting_and_replacing_a_document() {
        let c = CategoryId::generate();
        let mut docs: Vec<ProductDoc> =
            (1..=5).map(|i| doc(&format!("Jumper {i}"), "Pull", "N", 1000 * i64::from(i), i, c)).collect();
        let (index, reader) = indexed(&docs);
        let mut q = query(Some("jumper"), "en");
        q.sort = Sort::PriceDesc;
        q.limit = 2;
        q.offset = 2;
        assert_eq!(titles(&search(&index, &reader, &q).unwrap()), ["Jumper 3", "Jumper 2"]);

        let fields = fields();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY).unwrap();
        docs[0].texts.get_mut("en").unwrap().title = "Cardigan".into();
        upsert(&writer, fields, docs[0].product_id, Some(&docs[0]), None).unwrap();
        upsert(&writer, fields, docs[1].product_id, None, None).unwrap();
        writer.commit().unwrap();
        reader.reload().unwrap();
        let all = search(&index, &reader, &query(None, "en")).unwrap();
        assert_eq!(all.total, 4, "one removed, one replaced, none duplicated");
        assert_eq!(titles(&search(&index, &reader, &query(Some("cardigan"), "en")).unwrap()), ["Cardigan"]);
        assert_eq!(all_documents(&index, fields).unwrap().len(), 4);
    }
}
