//! The catalog CSV: one row per variant, rows grouped into products by `handle` (README "Bulk
//! CSV"). Reading checks the header, then every row and column, and says what was wrong by row
//! (the header is row 1) and column; writing produces the same columns, so an export imports back
//! unchanged. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use stockyard_domain::FieldError;
use stockyard_domain::bulk::{JobFailure, RowError};
use stockyard_domain::catalog::{AttributeDef, AttributeType, Dimensions, TaxClass, validate_attributes, weight_g};
use stockyard_domain::category::Tree;
use stockyard_domain::gtin::Gtin;
use stockyard_domain::ids::CategoryId;
use stockyard_domain::locale::Locale;
use stockyard_domain::markdown;
use stockyard_domain::money::Currency;
use stockyard_domain::product::{self, MAX_VARIANTS, Price, Product, Sale, Variant};
use stockyard_domain::slug::Slug;
use stockyard_domain::values::{bounded_text, code};

/// Product columns: read from a product's first row; its other rows leave them blank or repeat them.
pub const PRODUCT_COLUMNS: [&str; 7] = ["handle", "locale", "category_id", "title", "description", "brand", "tags"];
/// Variant columns, besides `options.<code>` and the `prices.<CUR>...` ones.
pub const VARIANT_COLUMNS: [&str; 8] =
    ["sku", "gtin", "weight_g", "length_mm", "width_mm", "height_mm", "tax_class", "shelf_life_days"];
/// Columns every file has.
pub const REQUIRED_COLUMNS: [&str; 4] = ["handle", "category_id", "title", "sku"];
/// Tags are written in one cell, separated by this.
pub const TAG_SEPARATOR: char = '|';

/// What a price column holds, after `prices.<CUR>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PricePart {
    Amount,
    CompareAt,
    Sale,
    SaleStartsAt,
    SaleEndsAt,
}

impl PricePart {
    const ALL: [(PricePart, &'static str); 5] = [
        (PricePart::Amount, ""),
        (PricePart::CompareAt, ".compare_at"),
        (PricePart::Sale, ".sale"),
        (PricePart::SaleStartsAt, ".sale.starts_at"),
        (PricePart::SaleEndsAt, ".sale.ends_at"),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// One of [`PRODUCT_COLUMNS`] or [`VARIANT_COLUMNS`].
    Named(&'static str),
    /// `attributes.<code>`: a describing attribute of the product.
    Attribute(String),
    /// `options.<code>`: a variant-defining attribute of the variant.
    Option(String),
    /// `prices.<CUR>`, `prices.<CUR>.compare_at`, `prices.<CUR>.sale`, `.sale.starts_at`, `.sale.ends_at`.
    Price(Currency, PricePart),
}

fn price_column(currency: Currency, part: PricePart) -> String {
    let suffix = PricePart::ALL.iter().find(|(p, _)| *p == part).map_or("", |(_, s)| s);
    format!("prices.{currency}{suffix}")
}

/// The columns of a file, in its order.
#[derive(Debug, Clone)]
pub struct Header {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
}

fn header_failure(column: &str, message: impl Into<String>) -> JobFailure {
    JobFailure { code: "invalid_header".into(), message: message.into(), column: Some(column.to_string()) }
}

fn parse_column(name: &str) -> Result<Column, JobFailure> {
    if let Some(fixed) = PRODUCT_COLUMNS.iter().chain(VARIANT_COLUMNS.iter()).find(|c| **c == name) {
        return Ok(Column::Named(fixed));
    }
    let attribute_code = |code: &str| {
        let ok = !code.is_empty()
            && code.len() <= stockyard_domain::catalog::MAX_CODE_LEN
            && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok { Ok(code.to_string()) } else { Err(header_failure(name, "is not an attribute code (a-z, 0-9, _)")) }
    };
    if let Some(code) = name.strip_prefix("attributes.") {
        return attribute_code(code).map(Column::Attribute);
    }
    if let Some(code) = name.strip_prefix("options.") {
        return attribute_code(code).map(Column::Option);
    }
    if let Some(rest) = name.strip_prefix("prices.") {
        let (code, suffix) = rest.split_at(rest.find('.').unwrap_or(rest.len()));
        let currency = Currency::parse(name, code)
            .ok()
            .filter(|c| c.to_string() == code)
            .ok_or_else(|| header_failure(name, "does not name an ISO 4217 currency (prices.EUR)"))?;
        let part = PricePart::ALL.iter().find(|(_, s)| *s == suffix).map(|(p, _)| *p).ok_or_else(|| {
            header_failure(
                name,
                "is not a price column (prices.EUR, .compare_at, .sale, .sale.starts_at, .sale.ends_at)",
            )
        })?;
        return Ok(Column::Price(currency, part));
    }
    Err(header_failure(name, "is not a column of the catalog CSV (README \"Bulk CSV\")"))
}

/// Reads the header: every column known, none twice, the required ones present. A UTF-8 byte
/// order mark before the first name (spreadsheets write one) is ignored.
pub fn parse_header(raw: &csv::StringRecord) -> Result<Header, JobFailure> {
    let mut names = Vec::with_capacity(raw.len());
    let mut columns = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let name = if i == 0 { name.trim_start_matches('\u{feff}') } else { name };
        if names.iter().any(|n| n == name) {
            return Err(header_failure(name, "appears twice in the header"));
        }
        columns.push(parse_column(name)?);
        names.push(name.to_string());
    }
    if let Some(missing) = REQUIRED_COLUMNS.iter().find(|c| !names.iter().any(|n| n == *c)) {
        return Err(header_failure(missing, "is a required column and is missing from the header"));
    }
    Ok(Header { names, columns })
}

/// One data row as read: its spreadsheet row number and its cells by column.
#[derive(Debug, Clone)]
pub struct Row {
    pub row: u64,
    pub cells: Vec<String>,
}

impl Row {
    fn cell<'a>(&'a self, header: &Header, name: &str) -> &'a str {
        header.names.iter().position(|n| n == name).and_then(|i| self.cells.get(i)).map_or("", |c| c.trim())
    }
}

/// A product as the file describes it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSpec {
    pub handle: Slug,
    /// The row the product's fields were read from.
    pub first_row: u64,
    pub locale: Locale,
    pub category_id: CategoryId,
    pub title: String,
    pub description: String,
    pub brand: Option<String>,
    pub tags: Vec<String>,
    pub attributes: BTreeMap<String, Value>,
    pub variants: Vec<VariantSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantSpec {
    pub row: u64,
    pub sku: String,
    pub options: BTreeMap<String, Value>,
    pub gtin: Option<Gtin>,
    pub weight_g: Option<u32>,
    pub dimensions: Option<Dimensions>,
    pub tax_class: TaxClass,
    pub shelf_life_days: Option<u32>,
    pub prices: BTreeMap<Currency, Price>,
}

/// One product of a file: its rows, and either the product or what was wrong with it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub handle: String,
    pub rows: Vec<u64>,
    pub outcome: Result<ProductSpec, Vec<RowError>>,
}

/// What the file-wide checks need to know about the vendor and the catalog.
pub struct Context<'a> {
    pub tree: &'a Tree,
    pub default_locale: &'a Locale,
}

/// Collects a row's problems, each naming its column.
struct Problems<'a> {
    row: u64,
    handle: &'a str,
    errors: Vec<RowError>,
}

impl Problems<'_> {
    fn add(&mut self, column: &str, code: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            row: self.row,
            column: column.to_string(),
            handle: (!self.handle.is_empty()).then(|| self.handle.to_string()),
            code: code.into(),
            message: message.into(),
        });
    }
    fn invalid(&mut self, column: &str, e: FieldError) {
        self.add(column, "invalid_field", e.message);
    }
    /// The value, or `None` after noting why not.
    fn take<T>(&mut self, column: &str, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.invalid(column, e)).ok()
    }
}

fn blank_to_none(raw: &str) -> Option<&str> {
    let raw = raw.trim();
    (!raw.is_empty()).then_some(raw)
}

/// A cell as the JSON value the attribute's type takes (text and enum codes as strings).
fn attribute_value(def: Option<&AttributeDef>, raw: &str) -> Result<Value, String> {
    match def.map(|d| &d.kind) {
        Some(AttributeType::Number { .. }) => {
            serde_json::from_str::<serde_json::Number>(raw).map(Value::Number).map_err(|_| "must be a number".into())
        }
        Some(AttributeType::Boolean) => match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("must be true or false".into()),
        },
        _ => Ok(Value::String(raw.to_string())),
    }
}

/// The values of `attributes.*` (or `options.*`) cells checked against the category's schema,
/// every bad one reported under its column.
fn attribute_cells(
    problems: &mut Problems,
    defs: &[AttributeDef],
    cells: &[(String, &str)],
    for_variant: bool,
) -> BTreeMap<String, Value> {
    let prefix = if for_variant { "options." } else { "attributes." };
    let mut values = BTreeMap::new();
    let mut reported = BTreeSet::new();
    for (code, raw) in cells {
        match attribute_value(defs.iter().find(|d| d.code == *code), raw) {
            Ok(v) => {
                values.insert(code.clone(), v);
            }
            Err(message) => {
                problems.add(&format!("{prefix}{code}"), "invalid_field", message);
                reported.insert(code.clone());
            }
        }
    }
    // The schema check stops at the first problem: drop the value at fault and check again.
    for _ in 0..=cells.len() {
        match validate_attributes(defs, &values, for_variant) {
            Ok(checked) => {
                return checked
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::to_value(v).expect("attribute values serialise")))
                    .collect();
            }
            Err(e) => {
                let code = e.field.strip_prefix("attributes.").unwrap_or(&e.field).to_string();
                // A value refused above is also missing here: say it once.
                if reported.insert(code.clone()) {
                    problems.add(&format!("{prefix}{code}"), "invalid_field", e.message);
                }
                if values.remove(&code).is_none() {
                    break;
                }
            }
        }
    }
    BTreeMap::new()
}

fn timestamp(field: &str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| FieldError::new(field, "must be an RFC 3339 time such as 2026-12-01T00:00:00Z"))
}

fn number(field: &str, raw: &str) -> Result<i64, FieldError> {
    raw.parse::<i64>().map_err(|_| FieldError::new(field, "must be a whole number"))
}

fn bounded_days(field: &str, raw: &str) -> Result<u32, FieldError> {
    let days = number(field, raw)?;
    u32::try_from(days)
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .ok_or_else(|| FieldError::new(field, "must be from 1 to 3650 days"))
}

fn tax_class(field: &str, raw: &str) -> Result<TaxClass, FieldError> {
    serde_json::from_value(Value::String(raw.to_string()))
        .map_err(|_| FieldError::new(field, "must be one of standard, reduced, zero, exempt"))
}

/// The variant columns of one row (`None` when the row had a problem; it is noted).
fn variant_of(header: &Header, row: &Row, problems: &mut Problems, defs: &[AttributeDef]) -> Option<VariantSpec> {
    let before = problems.errors.len();
    let cell = |name: &str| row.cell(header, name);
    let sku = problems.take("sku", code("sku", cell("sku"), 64));
    let gtin = blank_to_none(cell("gtin")).and_then(|g| problems.take("gtin", Gtin::parse("gtin", g)));
    let weight = blank_to_none(cell("weight_g"))
        .and_then(|w| problems.take("weight_g", number("weight_g", w).and_then(|w| weight_g("weight_g", w))));
    let sides = ["length_mm", "width_mm", "height_mm"].map(|c| (c, blank_to_none(cell(c))));
    let dimensions = if sides.iter().all(|(_, v)| v.is_none()) {
        None
    } else {
        let mut values = [0i64; 3];
        for (i, (column, raw)) in sides.iter().enumerate() {
            match raw {
                None => problems.add(column, "invalid_field", "is required when another dimension is given"),
                Some(raw) => values[i] = problems.take(column, number(column, raw)).unwrap_or(0),
            }
        }
        match Dimensions::new("dimensions", values[0], values[1], values[2]) {
            Ok(d) => Some(d),
            Err(e) => {
                let column = e.field.strip_prefix("dimensions.").unwrap_or("length_mm").to_string();
                if problems.errors.len() == before || !problems.errors.iter().any(|p| p.column == column) {
                    problems.invalid(&column, e);
                }
                None
            }
        }
    };
    let tax = blank_to_none(cell("tax_class"))
        .and_then(|t| problems.take("tax_class", tax_class("tax_class", t)))
        .unwrap_or_default();
    let shelf = blank_to_none(cell("shelf_life_days"))
        .and_then(|d| problems.take("shelf_life_days", bounded_days("shelf_life_days", d)));
    let option_cells: Vec<(String, &str)> = header
        .columns
        .iter()
        .zip(&row.cells)
        .filter_map(|(c, v)| match c {
            Column::Option(code) => blank_to_none(v).map(|v| (code.clone(), v)),
            _ => None,
        })
        .collect();
    let options = attribute_cells(problems, defs, &option_cells, true);
    let prices = prices_of(header, row, problems);
    (problems.errors.len() == before).then(|| VariantSpec {
        row: row.row,
        sku: sku.unwrap_or_default(),
        options,
        gtin,
        weight_g: weight,
        dimensions,
        tax_class: tax,
        shelf_life_days: shelf,
        prices,
    })
}

fn prices_of(header: &Header, row: &Row, problems: &mut Problems) -> BTreeMap<Currency, Price> {
    let mut parts: BTreeMap<Currency, BTreeMap<PricePart, &str>> = BTreeMap::new();
    for (column, value) in header.columns.iter().zip(&row.cells) {
        if let (Column::Price(currency, part), Some(value)) = (column, blank_to_none(value)) {
            parts.entry(*currency).or_default().insert(*part, value);
        }
    }
    let mut prices = BTreeMap::new();
    for (currency, given) in parts {
        let column = |part| price_column(currency, part);
        let amount_of = |problems: &mut Problems, part: PricePart| {
            given.get(&part).and_then(|raw| problems.take(&column(part), number(&column(part), raw)))
        };
        let time_of = |problems: &mut Problems, part: PricePart| {
            given.get(&part).and_then(|raw| problems.take(&column(part), timestamp(&column(part), raw)))
        };
        let Some(amount) = amount_of(problems, PricePart::Amount) else {
            if !given.contains_key(&PricePart::Amount) {
                problems.add(
                    &column(PricePart::Amount),
                    "invalid_field",
                    "is required when another price column of this currency is set",
                );
            }
            continue;
        };
        let compare_at = amount_of(problems, PricePart::CompareAt);
        let sale_parts = [PricePart::Sale, PricePart::SaleStartsAt, PricePart::SaleEndsAt];
        let sale = if sale_parts.iter().any(|p| given.contains_key(p)) {
            let (sale, starts, ends) = (
                amount_of(problems, PricePart::Sale),
                time_of(problems, PricePart::SaleStartsAt),
                time_of(problems, PricePart::SaleEndsAt),
            );
            for part in sale_parts.iter().filter(|p| !given.contains_key(p)) {
                problems.add(&column(*part), "invalid_field", "is required for a sale (amount, starts_at and ends_at)");
            }
            match (sale, starts, ends) {
                (Some(amount), Some(starts_at), Some(ends_at)) => Some(Sale { amount, starts_at, ends_at }),
                _ => continue,
            }
        } else {
            None
        };
        let price = Price { amount, compare_at, sale };
        let base = format!("prices.{currency}");
        match price.check(&base) {
            Ok(()) => {
                prices.insert(currency, price);
            }
            Err(e) => {
                // `prices.EUR.amount` is the column `prices.EUR`, `prices.EUR.sale.amount` `prices.EUR.sale`.
                let column = e.field.strip_suffix(".amount").unwrap_or(&e.field).to_string();
                problems.invalid(&column, e);
            }
        }
    }
    prices
}

fn variant_columns_blank(header: &Header, row: &Row) -> bool {
    header.columns.iter().zip(&row.cells).all(|(c, v)| match c {
        Column::Named(name) if PRODUCT_COLUMNS.contains(name) => true,
        Column::Attribute(_) => true,
        _ => v.trim().is_empty(),
    })
}

/// Checks one product's rows (the first row carries the product's fields).
fn check_product(header: &Header, handle: &str, rows: &[&Row], cx: &Context) -> Result<ProductSpec, Vec<RowError>> {
    let first = rows[0];
    let mut problems = Problems { row: first.row, handle, errors: Vec::new() };
    let cell = |name: &str| first.cell(header, name);
    let slug = problems.take("handle", Slug::parse("handle", handle));
    let locale = match blank_to_none(cell("locale")) {
        Some(l) => problems.take("locale", Locale::parse("locale", l)),
        None => Some(cx.default_locale.clone()),
    };
    let category = match blank_to_none(cell("category_id")) {
        None => {
            problems.add("category_id", "invalid_field", "is required on the product's first row");
            None
        }
        Some(raw) => match CategoryId::parse("category_id", raw) {
            Ok(id) if cx.tree.get(id).is_some() => Some(id),
            Ok(_) => {
                problems.add("category_id", "invalid_field", "is not a category");
                None
            }
            Err(e) => {
                problems.invalid("category_id", e);
                None
            }
        },
    };
    let title = problems.take("title", bounded_text("title", cell("title"), 1, 200));
    let description = problems
        .take("description", markdown::description("description", cell("description")).map(|d| d.as_str().to_string()));
    let brand = match blank_to_none(cell("brand")) {
        Some(b) => problems.take("brand", bounded_text("brand", b, 1, 100)).map(Some),
        None => Some(None),
    };
    let tag_list: Vec<String> = blank_to_none(cell("tags"))
        .map(|t| t.split(TAG_SEPARATOR).map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let tags = problems.take("tags", product::tags("tags", &tag_list));
    let defs = category.map(|c| cx.tree.effective_attributes(c)).unwrap_or_default();
    let attribute_cells_of = |row: &Row| -> Vec<(String, String)> {
        header
            .columns
            .iter()
            .zip(&row.cells)
            .filter_map(|(c, v)| match c {
                Column::Attribute(code) => blank_to_none(v).map(|v| (code.clone(), v.to_string())),
                _ => None,
            })
            .collect()
    };
    let first_attributes = attribute_cells_of(first);
    let attributes = if category.is_some() {
        let cells: Vec<(String, &str)> = first_attributes.iter().map(|(c, v)| (c.clone(), v.as_str())).collect();
        attribute_cells(&mut problems, &defs, &cells, false)
    } else {
        BTreeMap::new()
    };
    let mut errors = problems.errors;

    let mut variants = Vec::new();
    let alone_without_variant = rows.len() == 1 && variant_columns_blank(header, first);
    for row in rows {
        let mut problems = Problems { row: row.row, handle, errors: Vec::new() };
        if row.row != first.row {
            // Product columns: blank, or the same as on the first row.
            for (i, (column, value)) in header.columns.iter().zip(&row.cells).enumerate() {
                let product_column = matches!(column, Column::Named(n) if PRODUCT_COLUMNS.contains(n) && *n != "handle")
                    || matches!(column, Column::Attribute(_));
                let value = value.trim();
                if product_column && !value.is_empty() && value != first.cells.get(i).map_or("", |c| c.trim()) {
                    problems.add(
                        &header.names[i],
                        "invalid_field",
                        format!(
                            "differs from row {} (the product's first row): leave it blank or repeat it",
                            first.row
                        ),
                    );
                }
            }
        }
        if !alone_without_variant && let Some(v) = variant_of(header, row, &mut problems, &defs) {
            variants.push(v);
        }
        errors.extend(problems.errors);
    }

    // Within the product: at most MAX_VARIANTS variants, no two with the same options.
    for (i, v) in variants.iter().enumerate() {
        if i >= MAX_VARIANTS {
            errors.push(row_error(v.row, "handle", handle, "too_many_variants",
                format!("a product has at most {MAX_VARIANTS} variants (all of them are written in one transaction); this is variant {}", i + 1)));
        }
        if let Some(earlier) = variants[..i].iter().find(|e| e.options == v.options) {
            let column = options_column(header, &v.options);
            errors.push(row_error(
                v.row,
                &column,
                handle,
                "duplicate",
                format!(
                    "has the same options as row {}: the variants of a product differ in their options",
                    earlier.row
                ),
            ));
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
        return Err(errors);
    }
    Ok(ProductSpec {
        handle: slug.expect("no problem: the handle parsed"),
        first_row: first.row,
        locale: locale.expect("no problem: the locale parsed"),
        category_id: category.expect("no problem: the category parsed"),
        title: title.expect("no problem: the title parsed"),
        description: description.expect("no problem: the description parsed"),
        brand: brand.expect("no problem: the brand parsed"),
        tags: tags.expect("no problem: the tags parsed"),
        attributes,
        variants,
    })
}

fn options_column(header: &Header, options: &BTreeMap<String, Value>) -> String {
    options
        .keys()
        .next()
        .map(|code| format!("options.{code}"))
        .or_else(|| header.names.iter().find(|n| n.starts_with("options.")).cloned())
        .unwrap_or_else(|| "sku".into())
}

fn row_error(row: u64, column: &str, handle: &str, code: &str, message: impl Into<String>) -> RowError {
    RowError {
        row,
        column: column.into(),
        handle: (!handle.is_empty()).then(|| handle.to_string()),
        code: code.into(),
        message: message.into(),
    }
}

/// Reads a whole file: the header (a bad one fails the file) and every row, grouped into
/// products by handle in the order each handle first appears, each product checked. Rows with
/// too few or too many cells, and rows without a handle, are reported on their own.
pub fn read(bytes: &[u8], cx: &Context) -> Result<(Vec<Checked>, Vec<RowError>, u64), JobFailure> {
    let text = std::str::from_utf8(bytes).map_err(|e| JobFailure {
        code: "invalid_csv".into(),
        message: format!("the file is not UTF-8 text (at byte {})", e.valid_up_to()),
        column: None,
    })?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => parse_header(&h)?,
        Some(Err(e)) => return Err(invalid_csv(&e)),
        None => {
            return Err(JobFailure { code: "invalid_csv".into(), message: "the file is empty".into(), column: None });
        }
    };
    let mut loose = Vec::new();
    let mut groups: Vec<(String, Vec<Row>)> = Vec::new();
    let mut by_handle: HashMap<String, usize> = HashMap::new();
    let mut count = 0u64;
    for (i, record) in records.enumerate() {
        let record = record.map_err(|e| invalid_csv(&e))?;
        let row_number = i as u64 + 2;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        count += 1;
        let row = Row { row: row_number, cells: record.iter().map(str::to_string).collect() };
        let handle = row.cell(&header, "handle").to_string();
        if record.len() != header.names.len() {
            let column = header.names.get(record.len()).cloned().unwrap_or_else(|| format!("column {}", record.len()));
            loose.push(row_error(
                row_number,
                &column,
                &handle,
                "invalid_field",
                format!("the row has {} cells and the header {}", record.len(), header.names.len()),
            ));
            // The row's product is not written either.
            if !handle.is_empty() && !by_handle.contains_key(&handle) {
                by_handle.insert(handle.clone(), groups.len());
                groups.push((handle.clone(), Vec::new()));
            }
            continue;
        }
        if handle.is_empty() {
            loose.push(row_error(row_number, "handle", "", "invalid_field", "is required: it names the row's product"));
            continue;
        }
        let at = *by_handle.entry(handle.clone()).or_insert_with(|| {
            groups.push((handle.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(row);
    }
    let broken: BTreeSet<&str> = loose.iter().filter_map(|e| e.handle.as_deref()).collect();
    let mut checked: Vec<Checked> = groups
        .iter()
        .map(|(handle, rows)| {
            let refs: Vec<&Row> = rows.iter().collect();
            let outcome = if refs.is_empty() { Err(Vec::new()) } else { check_product(&header, handle, &refs, cx) };
            let outcome = match outcome {
                Ok(_) if broken.contains(handle.as_str()) => Err(Vec::new()),
                other => other,
            };
            Checked { handle: handle.clone(), rows: rows.iter().map(|r| r.row).collect(), outcome }
        })
        .collect();
    check_across_products(&mut checked);
    Ok((checked, loose, count))
}

fn invalid_csv(e: &csv::Error) -> JobFailure {
    let at = e.position().map(|p| format!(" (row {})", p.record() + 1)).unwrap_or_default();
    JobFailure { code: "invalid_csv".into(), message: format!("the file is not valid CSV{at}: {e}"), column: None }
}

/// SKUs and GTINs are unique within a vendor, so within a file too: a product repeating one of an
/// earlier product's is refused (the earlier one is written).
fn check_across_products(checked: &mut [Checked]) {
    let mut skus: HashMap<String, u64> = HashMap::new();
    let mut gtins: HashMap<String, u64> = HashMap::new();
    for product in checked.iter_mut() {
        let Ok(spec) = &product.outcome else { continue };
        let mut errors = Vec::new();
        let mut mine_skus = HashMap::new();
        let mut mine_gtins = HashMap::new();
        for v in &spec.variants {
            let earlier = skus.get(&v.sku).or(mine_skus.get(&v.sku));
            if let Some(row) = earlier {
                errors.push(row_error(
                    v.row,
                    "sku",
                    &product.handle,
                    "duplicate",
                    format!("repeats the SKU of row {row}"),
                ));
            } else {
                mine_skus.insert(v.sku.clone(), v.row);
            }
            if let Some(g) = &v.gtin {
                let key = g.as_gtin14();
                if let Some(row) = gtins.get(&key).or(mine_gtins.get(&key)) {
                    errors.push(row_error(
                        v.row,
                        "gtin",
                        &product.handle,
                        "duplicate",
                        format!("repeats the GTIN of row {row}"),
                    ));
                } else {
                    mine_gtins.insert(key, v.row);
                }
            }
        }
        if errors.is_empty() {
            skus.extend(mine_skus);
            gtins.extend(mine_gtins);
        } else {
            product.outcome = Err(errors);
        }
    }
}

/// Where an existing product differs from the file's description of it: the row and column of
/// the first difference, and what it is, or `None` when it is the same.
pub fn difference(spec: &ProductSpec, product: &Product, variants: &[Variant]) -> Option<(u64, String, String)> {
    let at_first = |column: &str, what: &str| Some((spec.first_row, column.to_string(), what.to_string()));
    if product.category_id != spec.category_id {
        return at_first("category_id", "the existing product is in another category");
    }
    if product.title != spec.title {
        return at_first("title", "the existing product has another title");
    }
    if product.description != spec.description {
        return at_first("description", "the existing product has another description");
    }
    if product.brand != spec.brand {
        return at_first("brand", "the existing product has another brand");
    }
    if product.tags != spec.tags {
        return at_first("tags", "the existing product has other tags");
    }
    if product.attributes != spec.attributes {
        let code = product
            .attributes
            .keys()
            .chain(spec.attributes.keys())
            .find(|k| product.attributes.get(*k) != spec.attributes.get(*k))
            .cloned()
            .unwrap_or_default();
        return at_first(&format!("attributes.{code}"), "the existing product has another value");
    }
    for v in &spec.variants {
        let Some(existing) = variants.iter().find(|e| e.sku == v.sku) else {
            return Some((v.row, "sku".into(), "the existing product has no variant with this SKU".into()));
        };
        let at = |column: &str| {
            Some((v.row, column.to_string(), "the existing variant with this SKU differs here".to_string()))
        };
        if existing.options != v.options {
            return at(&options_column_of(&existing.options, &v.options));
        }
        if existing.gtin != v.gtin {
            return at("gtin");
        }
        if existing.weight_g != v.weight_g {
            return at("weight_g");
        }
        if existing.dimensions != v.dimensions {
            return at("length_mm");
        }
        if existing.tax_class != v.tax_class {
            return at("tax_class");
        }
        if existing.shelf_life_days != v.shelf_life_days {
            return at("shelf_life_days");
        }
        if existing.prices != v.prices {
            let currency = existing
                .prices
                .keys()
                .chain(v.prices.keys())
                .find(|c| existing.prices.get(*c) != v.prices.get(*c))
                .map(|c| c.to_string())
                .unwrap_or_default();
            return at(&format!("prices.{currency}"));
        }
    }
    if let Some(extra) = variants.iter().find(|e| !spec.variants.iter().any(|v| v.sku == e.sku)) {
        return at_first(
            "sku",
            &format!("the existing product also has the variant {}, which the file does not list", extra.sku),
        );
    }
    None
}

fn options_column_of(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> String {
    a.keys().chain(b.keys()).find(|k| a.get(*k) != b.get(*k)).map_or_else(|| "sku".into(), |k| format!("options.{k}"))
}

/// A product and its variants as catalog CSV rows (with the header, when `header` is set).
pub struct Writer {
    names: Vec<String>,
    columns: Vec<Column>,
    out: csv::Writer<Vec<u8>>,
    pub rows: u64,
}

fn cell_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl Writer {
    /// A writer whose columns cover every attribute, option and currency the products use.
    pub fn new<'a>(products: impl Iterator<Item = (&'a Product, &'a [Variant])>) -> Result<Self, csv::Error> {
        let (mut attributes, mut options, mut currencies) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut parts: BTreeMap<Currency, BTreeSet<PricePart>> = BTreeMap::new();
        for (product, variants) in products {
            attributes.extend(product.attributes.keys().cloned());
            for v in variants {
                options.extend(v.options.keys().cloned());
                for (currency, price) in &v.prices {
                    currencies.insert(*currency);
                    let set = parts.entry(*currency).or_default();
                    set.insert(PricePart::Amount);
                    if price.compare_at.is_some() {
                        set.insert(PricePart::CompareAt);
                    }
                    if price.sale.is_some() {
                        set.extend([PricePart::Sale, PricePart::SaleStartsAt, PricePart::SaleEndsAt]);
                    }
                }
            }
        }
        let mut columns: Vec<Column> = PRODUCT_COLUMNS.iter().map(|c| Column::Named(c)).collect();
        columns.extend(attributes.into_iter().map(Column::Attribute));
        columns.push(Column::Named("sku"));
        columns.extend(options.into_iter().map(Column::Option));
        columns.extend(VARIANT_COLUMNS.iter().skip(1).map(|c| Column::Named(c)));
        for (currency, set) in parts {
            columns.extend(set.into_iter().map(|p| Column::Price(currency, p)));
        }
        let names = columns
            .iter()
            .map(|c| match c {
                Column::Named(n) => n.to_string(),
                Column::Attribute(code) => format!("attributes.{code}"),
                Column::Option(code) => format!("options.{code}"),
                Column::Price(currency, part) => price_column(*currency, *part),
            })
            .collect::<Vec<_>>();
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&names)?;
        Ok(Self { names, columns, out, rows: 0 })
    }

    pub fn column_names(&self) -> &[String] {
        &self.names
    }

    /// Writes one product: its fields on its first row, its handle on every row, one row per
    /// variant (one row without variant columns for a product without variants).
    pub fn product(&mut self, product: &Product, variants: &[Variant]) -> Result<(), csv::Error> {
        let rows = variants.len().max(1);
        for i in 0..rows {
            let variant = variants.get(i);
            let cells: Vec<String> = self
                .columns
                .iter()
                .map(|column| match column {
                    Column::Named("handle") => product.slug.as_str().to_string(),
                    Column::Named(_) | Column::Attribute(_) if i > 0 && is_product_column(column) => String::new(),
                    Column::Named("locale") => product.locale.as_str().to_string(),
                    Column::Named("category_id") => product.category_id.to_string(),
                    Column::Named("title") => product.title.clone(),
                    Column::Named("description") => product.description.clone(),
                    Column::Named("brand") => product.brand.clone().unwrap_or_default(),
                    Column::Named("tags") => product.tags.join(&TAG_SEPARATOR.to_string()),
                    Column::Attribute(code) => product.attributes.get(code).map(cell_of).unwrap_or_default(),
                    other => variant.map(|v| variant_cell(other, v)).unwrap_or_default(),
                })
                .collect();
            self.out.write_record(&cells)?;
            self.rows += 1;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<u8>, csv::Error> {
        self.out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }
}

fn is_product_column(column: &Column) -> bool {
    matches!(column, Column::Named(n) if PRODUCT_COLUMNS.contains(n)) || matches!(column, Column::Attribute(_))
}

fn variant_cell(column: &Column, v: &Variant) -> String {
    let dimension =
        |pick: fn(&Dimensions) -> u32| v.dimensions.as_ref().map(|d| pick(d).to_string()).unwrap_or_default();
    match column {
        Column::Named("sku") => v.sku.clone(),
        Column::Named("gtin") => v.gtin.as_ref().map(|g| g.as_str().to_string()).unwrap_or_default(),
        Column::Named("weight_g") => v.weight_g.map(|w| w.to_string()).unwrap_or_default(),
        Column::Named("length_mm") => dimension(|d| d.length_mm),
        Column::Named("width_mm") => dimension(|d| d.width_mm),
        Column::Named("height_mm") => dimension(|d| d.height_mm),
        Column::Named("tax_class") => cell_of(&serde_json::to_value(v.tax_class).unwrap_or(Value::Null)),
        Column::Named("shelf_life_days") => v.shelf_life_days.map(|d| d.to_string()).unwrap_or_default(),
        Column::Option(code) => v.options.get(code).map(cell_of).unwrap_or_default(),
        Column::Price(currency, part) => {
            let Some(price) = v.prices.get(currency) else { return String::new() };
            match part {
                PricePart::Amount => price.amount.to_string(),
                PricePart::CompareAt => price.compare_at.map(|a| a.to_string()).unwrap_or_default(),
                PricePart::Sale => price.sale.as_ref().map(|s| s.amount.to_string()).unwrap_or_default(),
                PricePart::SaleStartsAt => price.sale.as_ref().map(|s| time(&s.starts_at)).unwrap_or_default(),
                PricePart::SaleEndsAt => price.sale.as_ref().map(|s| time(&s.ends_at)).unwrap_or_default(),
            }
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::catalog::EnumValue;
    use stockyard_domain::category::Category;
    use stockyard_domain::ids::{ProductId, VendorId};

    fn en() -> Locale {
        Locale::parse("locale", "en").unwrap()
    }

    fn def(code: &str, kind: AttributeType, defines_variants: bool, required: bool) -> AttributeDef {
        AttributeDef {
            code: code.into(),
            labels: BTreeMap::from([(en(), code.into())]),
            kind,
            required,
            defines_variants,
        }
    }

    /// A category with a text `material`, a number `weight_kg` (2 decimals) and a required enum
    /// `size` (s, m) that defines variants.
    fn tree() -> (Tree, CategoryId) {
        let id = CategoryId::generate();
        let size = AttributeType::Enum {
            values: ["s", "m"].iter().map(|c| EnumValue { code: c.to_string(), labels: BTreeMap::new() }).collect(),
        };
        let category = Category {
            id,
            parent_id: None,
            names: BTreeMap::from([(en(), "Jumpers".into())]),
            slugs: BTreeMap::new(),
            attributes: vec![
                def("material", AttributeType::Text { max_len: 100 }, false, false),
                def(
                    "weight_kg",
                    AttributeType::Number { unit: Some("kg".into()), min: None, max: None, decimals: 2 },
                    false,
                    false,
                ),
                def("size", size, true, true),
            ],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        (Tree::new([category]), id)
    }

    const HEADER: &str = "handle,category_id,title,tags,attributes.material,attributes.weight_kg,sku,options.size,gtin,prices.EUR,prices.EUR.compare_at";

    fn read_csv(body: &str) -> (Vec<Checked>, Vec<RowError>, u64, CategoryId) {
        let (tree, category) = tree();
        let locale = en();
        let cx = Context { tree: &tree, default_locale: &locale };
        let text = format!("{HEADER}\n{}", body.replace("CAT", &category.to_string()));
        let (checked, loose, rows) = read(text.as_bytes(), &cx).expect("the header is good");
        (checked, loose, rows, category)
    }

    fn errors_of(checked: &Checked) -> Vec<(u64, String, String)> {
        match &checked.outcome {
            Ok(_) => vec![],
            Err(e) => e.iter().map(|e| (e.row, e.column.clone(), e.code.clone())).collect(),
        }
    }

    #[test]
    fn rows_are_grouped_into_products_by_handle_with_the_product_fields_from_the_first_row() {
        let (checked, loose, rows, category) = read_csv(
            "jumper,CAT,Jumper,wool|Winter,merino,0.45,J-S,s,4006381333931,4999,5999\n\
             socks,CAT,Socks,,,,SOCK-S,s,,999,\n\
             jumper,,,,,,j-m,m,,4999,\n",
        );
        assert!(loose.is_empty(), "{loose:?}");
        assert_eq!(rows, 3);
        assert_eq!(checked.iter().map(|c| c.handle.as_str()).collect::<Vec<_>>(), ["jumper", "socks"]);
        assert_eq!(checked[0].rows, [2, 4]);
        let jumper = checked[0].outcome.as_ref().unwrap();
        assert_eq!(jumper.category_id, category);
        assert_eq!(jumper.tags, ["wool", "winter"]);
        assert_eq!(jumper.attributes["material"], "merino");
        assert_eq!(jumper.attributes["weight_kg"], serde_json::json!(0.45));
        assert_eq!(jumper.variants.iter().map(|v| v.sku.as_str()).collect::<Vec<_>>(), ["J-S", "J-M"]);
        assert_eq!(jumper.variants[0].prices[&Currency::parse("c", "EUR").unwrap()].compare_at, Some(5999));
        assert_eq!(jumper.variants[1].options["size"], "m");
        assert_eq!(jumper.locale, en(), "the vendor's default locale when the file has none");
    }

    #[test]
    fn every_bad_cell_is_reported_by_row_and_column_and_only_its_product_is_rejected() {
        let (checked, _, _, _) = read_csv(
            "good,CAT,Good,,,,G-1,s,,100,\n\
             bad,CAT,Bad,,,heavy,B-1,xl,4006381333932,abc,\n\
             bad,,,,,,B 2,m,,100,50\n",
        );
        assert!(checked[0].outcome.is_ok());
        assert_eq!(
            errors_of(&checked[1]),
            [
                (3, "attributes.weight_kg".into(), "invalid_field".into()),
                (3, "gtin".into(), "invalid_field".into()),
                (3, "options.size".into(), "invalid_field".into()),
                (3, "prices.EUR".into(), "invalid_field".into()),
                (4, "prices.EUR.compare_at".into(), "invalid_field".into()),
                (4, "sku".into(), "invalid_field".into()),
            ]
        );
    }

    #[test]
    fn a_product_field_on_a_later_row_must_repeat_the_first_or_stay_blank() {
        let (checked, _, _, _) = read_csv("p,CAT,Title,,,,P-1,s,,100,\np,CAT,Other title,,,,P-2,m,,100,\n");
        assert_eq!(errors_of(&checked[0]), [(3, "title".into(), "invalid_field".into())]);
    }

    #[test]
    fn skus_repeated_across_products_reject_the_later_product_and_options_must_differ_within_one() {
        let (checked, _, _, _) = read_csv(
            "a,CAT,A,,,,X-1,s,,100,\n\
             b,CAT,B,,,,x-1,s,,100,\n\
             c,CAT,C,,,,C-1,m,,100,\n\
             c,,,,,,C-2,m,,100,\n",
        );
        assert!(checked[0].outcome.is_ok());
        assert_eq!(errors_of(&checked[1]), [(3, "sku".into(), "duplicate".into())]);
        assert_eq!(errors_of(&checked[2]), [(5, "options.size".into(), "duplicate".into())]);
    }

    #[test]
    fn a_product_has_at_most_the_variants_one_transaction_holds() {
        let rows: String = (0..=MAX_VARIANTS).map(|i| format!("big,CAT,Big,,,,BIG-{i},s,,100,\n")).collect();
        let (checked, _, _, _) = read_csv(&rows);
        let errors = errors_of(&checked[0]);
        assert!(errors.contains(&(MAX_VARIANTS as u64 + 2, "handle".into(), "too_many_variants".into())), "{errors:?}");
    }

    #[test]
    fn a_row_without_a_handle_or_with_the_wrong_number_of_cells_is_reported_and_rejects_its_product() {
        let (checked, loose, _, _) = read_csv(",CAT,Lost,,,,L-1,s,,100,\nshort,CAT,Short,,,\n");
        let loose: Vec<(u64, &str)> = loose.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(loose, [(2, "handle"), (3, "sku")]);
        assert_eq!(checked.len(), 1);
        assert!(checked[0].outcome.is_err(), "the short row's product is not written");
    }

    #[test]
    fn a_bad_header_fails_the_whole_file_naming_the_column() {
        let (tree, _) = tree();
        let locale = en();
        let cx = Context { tree: &tree, default_locale: &locale };
        for (header, column) in [
            ("handle,category_id,title,sku,colour", "colour"),
            ("handle,category_id,title,sku,sku", "sku"),
            ("handle,category_id,sku", "title"),
            ("handle,category_id,title,sku,prices.XXX", "prices.XXX"),
            ("handle,category_id,title,sku,prices.EUR.was", "prices.EUR.was"),
        ] {
            let failure = read(format!("{header}\n").as_bytes(), &cx).unwrap_err();
            assert_eq!(
                (failure.code.as_str(), failure.column.as_deref()),
                ("invalid_header", Some(column)),
                "{header}"
            );
        }
        assert_eq!(read(b"\xff\xfe", &cx).unwrap_err().code, "invalid_csv");
        assert_eq!(read(b"", &cx).unwrap_err().code, "invalid_csv");
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_ignored() {
        let (tree, category) = tree();
        let locale = en();
        let cx = Context { tree: &tree, default_locale: &locale };
        let text = format!("\u{feff}handle,category_id,title,sku,options.size\nx,{category},X,X-1,s\n");
        let (checked, _, _) = read(text.as_bytes(), &cx).unwrap();
        assert!(checked[0].outcome.is_ok(), "{:?}", checked[0].outcome);
    }

    #[test]
    fn what_the_writer_writes_reads_back_as_the_same_products() {
        let (tree, category) = tree();
        let locale = en();
        let cx = Context { tree: &tree, default_locale: &locale };
        let text = format!(
            "handle,category_id,title,description,tags,attributes.material,sku,options.size,weight_g,length_mm,width_mm,height_mm,tax_class,shelf_life_days,prices.EUR,prices.EUR.sale,prices.EUR.sale.starts_at,prices.EUR.sale.ends_at,prices.JPY\n\
             jumper,{category},\"Jumper, navy\",\"Soft.\n\nWarm **wool**.\",wool,merino,J-S,s,450,300,200,50,reduced,,4999,3999,2026-12-01T00:00:00Z,2026-12-31T00:00:00Z,800\n\
             jumper,,,,,,J-M,m,,,,,,30,4999,,,,\n"
        );
        let (checked, loose, _) = read(text.as_bytes(), &cx).unwrap();
        assert!(loose.is_empty());
        let spec = checked[0].outcome.clone().unwrap();
        let (product, variants) = crate::bulk::import::build(VendorId::generate(), &spec);
        let mut writer = Writer::new(std::iter::once((&product, variants.as_slice()))).unwrap();
        writer.product(&product, &variants).unwrap();
        let written = writer.finish().unwrap();
        let (again, loose, rows) = read(&written, &cx).unwrap();
        assert!(loose.is_empty());
        assert_eq!(rows, 2);
        let back = again[0].outcome.clone().unwrap();
        assert_eq!(back, spec);
        assert_eq!(difference(&back, &product, &variants), None, "an export imports back unchanged");
    }

    #[test]
    fn a_difference_from_an_existing_product_names_the_row_and_column() {
        let (checked, _, _, _) = read_csv("p,CAT,Title,,,,P-1,s,,100,\np,,,,,,P-2,m,,100,\n");
        let spec = checked[0].outcome.clone().unwrap();
        let (mut product, mut variants) = crate::bulk::import::build(VendorId::generate(), &spec);
        assert_eq!(difference(&spec, &product, &variants), None);
        variants[1].prices.values_mut().for_each(|p| p.amount = 150);
        assert_eq!(difference(&spec, &product, &variants).map(|(r, c, _)| (r, c)), Some((3, "prices.EUR".into())));
        product.title = "Renamed".into();
        assert_eq!(difference(&spec, &product, &variants).map(|(r, c, _)| (r, c)), Some((2, "title".into())));
        let _ = ProductId::generate();
    }
}
