//! Catalog rules: the attribute schema a category declares and the values products and variants
//! give it, the product lifecycle, tax classes and physical measures.
//!
//! A category's attributes either describe the product (material, organic) or define its variants
//! (size, colour): describing attributes are set once on the product, defining ones on each variant,
//! and no two variants of a product share the same defining values (the store checks that, since
//! it needs the sibling variants). A client writes values as plain JSON,
//! `{"material": "cotton", "size": "xl", "weight_kg": 1.25, "organic": true}`; the schema says what
//! each one means, so values are read by [`validate_attributes`] and not by a generic deserialiser.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::locale::Locale;
use crate::values::bounded_text;

/// Longest attribute or enum value code.
pub const MAX_CODE_LEN: usize = 40;
/// Longest label, in characters.
pub const MAX_LABEL_LEN: usize = 100;
/// Longest text attribute a category may allow.
pub const MAX_TEXT_LEN: u32 = 1000;
/// Most values an enum attribute may have.
pub const MAX_ENUM_VALUES: usize = 200;
/// Most decimal places a number attribute may have.
pub const MAX_NUMBER_DECIMALS: u32 = 6;
/// Bound on the size of any number attribute. With at most six decimals a value has at most 15
/// significant digits, so it survives a trip through a JSON number (a double) unchanged.
pub const MAX_NUMBER_MAGNITUDE: i64 = 1_000_000_000;

/// One allowed value of an enum attribute: a stable code stored on products, and its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnumValue {
    /// Lowercase letters, digits and underscores (`xl`, `navy_blue`, `42`).
    #[schema(example = "xl")]
    pub code: String,
    /// The label shown to shoppers, per locale.
    #[schema(value_type = BTreeMap<String, String>, example = json!({"en": "Extra large", "fr": "Très grand"}))]
    pub labels: BTreeMap<Locale, String>,
}

/// What kind of value an attribute takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AttributeType {
    /// Free text on one line, up to `max_len` characters.
    Text {
        max_len: u32,
    },
    /// One of a fixed list of codes.
    Enum {
        values: Vec<EnumValue>,
    },
    /// A decimal number with at most `decimals` places, in `unit` (`kg`, `cm`, `mAh`).
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        #[serde(default, with = "json_number::option", skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<f64>)]
        min: Option<Decimal>,
        #[serde(default, with = "json_number::option", skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<f64>)]
        max: Option<Decimal>,
        #[serde(default)]
        decimals: u32,
    },
    Boolean,
}

/// An attribute a category declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttributeDef {
    /// The key clients write values under: snake_case ASCII (`weight_kg`).
    #[schema(example = "size")]
    pub code: String,
    /// The attribute's name shown to shoppers, per locale.
    #[schema(value_type = BTreeMap<String, String>, example = json!({"en": "Size", "fr": "Taille"}))]
    pub labels: BTreeMap<Locale, String>,
    pub kind: AttributeType,
    #[serde(default)]
    pub required: bool,
    /// Set on each variant (size, colour) rather than once on the product (material).
    #[serde(default)]
    pub defines_variants: bool,
}

/// A value checked against its attribute's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    Text(String),
    /// The code of one of the enum's values.
    Enum(String),
    Number(Decimal),
    Boolean(bool),
}

impl Serialize for AttributeValue {
    /// As the client wrote it: a string, a number or a boolean.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AttributeValue::Text(s) | AttributeValue::Enum(s) => serializer.serialize_str(s),
            AttributeValue::Number(n) => json_number::serialize(n, serializer),
            AttributeValue::Boolean(b) => serializer.serialize_bool(*b),
        }
    }
}

impl utoipa::PartialSchema for AttributeValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new().schema_type(Type::String).description(Some("text, or the code of an enum value")),
            )
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .into()
    }
}

impl utoipa::ToSchema for AttributeValue {}

/// Decimals as JSON numbers (`1.25`, not `"1.25"`), read without passing through binary floating
/// point: a JSON number's own text is parsed as a decimal.
mod json_number {
    use super::*;

    pub fn parse(number: &serde_json::Number) -> Option<Decimal> {
        let text = number.to_string();
        Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok().map(|d| d.normalize())
    }

    pub fn serialize<S: serde::Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        let value = value.normalize();
        match value.to_i64() {
            Some(whole) if value.scale() == 0 => serializer.serialize_i64(whole),
            _ => serializer.serialize_f64(value.to_f64().unwrap_or(f64::NAN)),
        }
    }

    pub mod option {
        use super::*;
        use serde::de::Error;

        pub fn serialize<S: serde::Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
            match value {
                Some(v) => super::serialize(v, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
            Option::<serde_json::Number>::deserialize(deserializer)?
                .map(|n| parse(&n).ok_or_else(|| D::Error::custom("number out of range")))
                .transpose()
        }
    }
}

/// A code of lowercase ASCII letters, digits and single inner underscores. Attribute codes must
/// start with a letter (they are JSON keys and search field names); enum codes may start with a
/// digit (`42`, `3xl`).
fn snake_code(field: &str, raw: &str, leading_digit: bool) -> Result<(), FieldError> {
    if raw.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if raw.len() > MAX_CODE_LEN {
        return Err(FieldError::new(field, format!("must be at most {MAX_CODE_LEN} characters")));
    }
    let first_ok = raw.starts_with(|c: char| c.is_ascii_lowercase() || (leading_digit && c.is_ascii_digit()));
    let chars_ok = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !first_ok || !chars_ok || raw.ends_with('_') || raw.contains("__") {
        return Err(FieldError::new(
            field,
            if leading_digit {
                "must be snake_case: lowercase letters a-z, digits and single underscores between them"
            } else {
                "must be snake_case: lowercase letters a-z, digits and single underscores, starting with a letter"
            },
        ));
    }
    Ok(())
}

fn check_labels(field: &str, labels: &BTreeMap<Locale, String>) -> Result<(), FieldError> {
    if labels.is_empty() {
        return Err(FieldError::new(field, "must have a label in at least one locale"));
    }
    for (locale, label) in labels {
        bounded_text(&format!("{field}.{locale}"), label, 1, MAX_LABEL_LEN)?;
    }
    Ok(())
}

fn too_large(value: &Decimal) -> bool {
    value.abs() > Decimal::from(MAX_NUMBER_MAGNITUDE)
}

impl AttributeDef {
    /// Checks one definition; errors are named under `field` (`attributes[2]`).
    pub fn check(&self, field: &str) -> Result<(), FieldError> {
        snake_code(&format!("{field}.code"), &self.code, false)?;
        check_labels(&format!("{field}.labels"), &self.labels)?;
        let kind = format!("{field}.kind");
        match &self.kind {
            AttributeType::Text { max_len } => {
                if self.defines_variants {
                    return Err(FieldError::new(
                        kind,
                        "a text attribute cannot define variants: variants need a fixed set of options",
                    ));
                }
                if !(1..=MAX_TEXT_LEN).contains(max_len) {
                    return Err(FieldError::new(
                        format!("{kind}.max_len"),
                        format!("must be from 1 to {MAX_TEXT_LEN}"),
                    ));
                }
            }
            AttributeType::Enum { values } => {
                if values.is_empty() || values.len() > MAX_ENUM_VALUES {
                    return Err(FieldError::new(
                        format!("{kind}.values"),
                        format!("must list from 1 to {MAX_ENUM_VALUES} values"),
                    ));
                }
                let mut seen = BTreeSet::new();
                for (i, value) in values.iter().enumerate() {
                    let at = format!("{kind}.values[{i}]");
                    snake_code(&format!("{at}.code"), &value.code, true)?;
                    check_labels(&format!("{at}.labels"), &value.labels)?;
                    if !seen.insert(value.code.as_str()) {
                        return Err(FieldError::new(format!("{at}.code"), "is listed twice"));
                    }
                }
            }
            AttributeType::Number { unit, min, max, decimals } => {
                if let Some(unit) = unit {
                    bounded_text(&format!("{kind}.unit"), unit, 1, 20)?;
                }
                if *decimals > MAX_NUMBER_DECIMALS {
                    return Err(FieldError::new(
                        format!("{kind}.decimals"),
                        format!("must be at most {MAX_NUMBER_DECIMALS}"),
                    ));
                }
                for (name, bound) in [("min", min), ("max", max)] {
                    if bound.is_some_and(|b| too_large(&b) || b.normalize().scale() > *decimals) {
                        return Err(FieldError::new(
                            format!("{kind}.{name}"),
                            format!("must be within ±{MAX_NUMBER_MAGNITUDE} with at most {decimals} decimal places"),
                        ));
                    }
                }
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    return Err(FieldError::new(format!("{kind}.max"), "must not be less than min"));
                }
            }
            AttributeType::Boolean => {}
        }
        Ok(())
    }

    /// The label in the first locale of `chain` that has one (see `locale::fallback_chain`), or the
    /// code when none does.
    pub fn label<'a>(&'a self, chain: &[Locale]) -> &'a str {
        chain.iter().find_map(|l| self.labels.get(l)).map_or(&self.code, String::as_str)
    }
}

/// Checks a category's own definitions against each other and against those it inherits from
/// its ancestors (`inherited`), and returns the full list: inherited first, then its own. A child
/// may add attributes but not redefine one it inherits.
pub fn check_definitions(inherited: &[AttributeDef], own: &[AttributeDef]) -> Result<Vec<AttributeDef>, FieldError> {
    let mut codes: BTreeSet<&str> = inherited.iter().map(|d| d.code.as_str()).collect();
    for (i, def) in own.iter().enumerate() {
        let field = format!("attributes[{i}]");
        def.check(&field)?;
        if inherited.iter().any(|d| d.code == def.code) {
            return Err(FieldError::new(format!("{field}.code"), "is already defined by a parent category"));
        }
        if !codes.insert(def.code.as_str()) {
            return Err(FieldError::new(format!("{field}.code"), "is used by another attribute of this category"));
        }
    }
    Ok(inherited.iter().chain(own).cloned().collect())
}

/// Client keys are shown in error fields, but only so much of them.
fn attribute_field(key: &str) -> String {
    let shown: String = key.chars().take(MAX_CODE_LEN + 10).collect();
    format!("attributes.{shown}")
}

fn one_of(values: &[EnumValue]) -> String {
    const SHOWN: usize = 20;
    let codes: Vec<&str> = values.iter().take(SHOWN).map(|v| v.code.as_str()).collect();
    let more = values.len().saturating_sub(SHOWN);
    if more > 0 {
        format!("must be one of [{}, and {more} more]", codes.join(", "))
    } else {
        format!("must be one of [{}]", codes.join(", "))
    }
}

fn check_value(def: &AttributeDef, raw: &serde_json::Value, field: &str) -> Result<AttributeValue, FieldError> {
    let wrong = |what: &str| FieldError::new(field, format!("must be {what}"));
    match &def.kind {
        AttributeType::Text { max_len } => {
            let text = raw.as_str().ok_or_else(|| wrong("text"))?;
            if text.contains('\n') {
                return Err(FieldError::new(field, "must be on one line"));
            }
            Ok(AttributeValue::Text(bounded_text(field, text, 1, *max_len as usize)?))
        }
        AttributeType::Enum { values } => {
            let given = raw.as_str().map(str::trim).unwrap_or_default();
            values
                .iter()
                .find(|v| v.code.eq_ignore_ascii_case(given))
                .map(|v| AttributeValue::Enum(v.code.clone()))
                .ok_or_else(|| FieldError::new(field, one_of(values)))
        }
        AttributeType::Number { unit, min, max, decimals } => {
            let number = raw.as_number().ok_or_else(|| wrong("a number"))?;
            let value = json_number::parse(number)
                .filter(|v| !too_large(v))
                .ok_or_else(|| FieldError::new(field, format!("must be within ±{MAX_NUMBER_MAGNITUDE}")))?;
            if value.scale() > *decimals {
                return Err(if *decimals == 0 {
                    wrong("a whole number")
                } else {
                    FieldError::new(field, format!("must have at most {decimals} decimal places"))
                });
            }
            let unit = unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
            if let Some(min) = min.filter(|m| value < *m) {
                return Err(FieldError::new(field, format!("must be at least {}{unit}", min.normalize())));
            }
            if let Some(max) = max.filter(|m| value > *m) {
                return Err(FieldError::new(field, format!("must be at most {}{unit}", max.normalize())));
            }
            Ok(AttributeValue::Number(value))
        }
        AttributeType::Boolean => raw.as_bool().map(AttributeValue::Boolean).ok_or_else(|| wrong("true or false")),
    }
}

/// Checks the attribute values of a product (`for_variant` false: the describing attributes) or
/// of one variant (`for_variant` true: the variant-defining ones) against the category's
/// definitions. `null` counts as not given. The error names the attribute (`attributes.size`)
/// and says why: not an attribute of the category, set on the wrong level, wrong type, not one of
/// the allowed values, out of range, or required and missing.
pub fn validate_attributes(
    defs: &[AttributeDef],
    values: &BTreeMap<String, serde_json::Value>,
    for_variant: bool,
) -> Result<BTreeMap<String, AttributeValue>, FieldError> {
    let mut checked = BTreeMap::new();
    for (key, raw) in values {
        let field = attribute_field(key);
        let def = defs
            .iter()
            .find(|d| d.code == *key)
            .ok_or_else(|| FieldError::new(&field, "is not an attribute of this product's category"))?;
        if def.defines_variants != for_variant {
            return Err(FieldError::new(
                &field,
                if for_variant {
                    "describes the product: set it on the product, not on a variant"
                } else {
                    "defines variants: set it on each variant, not on the product"
                },
            ));
        }
        if raw.is_null() {
            continue;
        }
        checked.insert(key.clone(), check_value(def, raw, &field)?);
    }
    if let Some(missing) =
        defs.iter().find(|d| d.defines_variants == for_variant && d.required && !checked.contains_key(&d.code))
    {
        return Err(FieldError::new(attribute_field(&missing.code), "is required"));
    }
    Ok(checked)
}

/// Where a product is in its life. Only published products are seen by shoppers.
///
/// | from \ to  | draft | published | archived |
/// |------------|-------|-----------|----------|
/// | draft      |       | yes       | yes      |
/// | published  | yes   |           | yes      |
/// | archived   | yes   | no        |          |
///
/// Unpublishing (published → draft) takes a product down to fix it without retiring it. An
/// abandoned draft may be archived directly. An archived product comes back only as a draft, so
/// prices and stock are looked at again before shoppers see it. Staying put is not a transition:
/// the store's conditional write on the current status makes a repeated request a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Published,
    Archived,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 3] = [ProductStatus::Draft, ProductStatus::Published, ProductStatus::Archived];

    pub fn can_move_to(self, next: ProductStatus) -> bool {
        use ProductStatus::*;
        matches!((self, next), (Draft, Published | Archived) | (Published, Draft | Archived) | (Archived, Draft))
    }

    /// Shoppers and other vendors see the product (anything else is a 404 to them).
    pub fn is_public(self) -> bool {
        self == ProductStatus::Published
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Published => "published",
            ProductStatus::Archived => "archived",
        }
    }
}

/// How a variant is taxed; the rate for each class comes from the destination's tax rules.
/// Zero-rated goods are taxable at 0% (the seller still accounts for them and reclaims input tax);
/// exempt goods are outside the tax altogether.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaxClass {
    #[default]
    Standard,
    Reduced,
    Zero,
    Exempt,
}

/// The longest side a parcel may have: 10 m covers rugs and furniture with room to spare, and
/// catches a value typed in the wrong unit.
pub const MAX_DIMENSION_MM: u32 = 10_000;
/// The heaviest variant: one tonne.
pub const MAX_WEIGHT_G: u32 = 1_000_000;

/// A packed variant's outer size in millimetres, each side at least 1 mm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "DimensionsRecord")]
pub struct Dimensions {
    #[schema(minimum = 1, maximum = 10000, example = 300)]
    pub length_mm: u32,
    #[schema(minimum = 1, maximum = 10000, example = 200)]
    pub width_mm: u32,
    #[schema(minimum = 1, maximum = 10000, example = 50)]
    pub height_mm: u32,
}

/// The unchecked shape, wide enough that a negative or huge number gets our message.
#[derive(Deserialize)]
struct DimensionsRecord {
    length_mm: i64,
    width_mm: i64,
    height_mm: i64,
}

impl TryFrom<DimensionsRecord> for Dimensions {
    type Error = FieldError;
    fn try_from(r: DimensionsRecord) -> Result<Self, Self::Error> {
        Dimensions::new("dimensions", r.length_mm, r.width_mm, r.height_mm)
    }
}

fn positive_at_most(field: &str, value: i64, max: u32, unit: &str) -> Result<u32, FieldError> {
    match u32::try_from(value) {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ if value < 1 => Err(FieldError::new(field, format!("must be at least 1 {unit}"))),
        _ => Err(FieldError::new(field, format!("must be at most {max} {unit}"))),
    }
}

impl Dimensions {
    /// Checks each side; errors name `<field>.length_mm` and so on.
    pub fn new(field: &str, length_mm: i64, width_mm: i64, height_mm: i64) -> Result<Self, FieldError> {
        let side = |name: &str, v: i64| positive_at_most(&format!("{field}.{name}"), v, MAX_DIMENSION_MM, "mm");
        Ok(Self {
            length_mm: side("length_mm", length_mm)?,
            width_mm: side("width_mm", width_mm)?,
            height_mm: side("height_mm", height_mm)?,
        })
    }

    pub fn volume_mm3(&self) -> u64 {
        u64::from(self.length_mm) * u64::from(self.width_mm) * u64::from(self.height_mm)
    }
}

/// A variant's shipping weight in grams: at least 1 g, at most [`MAX_WEIGHT_G`].
pub fn weight_g(field: &str, grams: i64) -> Result<u32, FieldError> {
    positive_at_most(field, grams, MAX_WEIGHT_G, "g")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn loc(s: &str) -> Locale {
        Locale::parse("locale", s).unwrap()
    }

    fn labels(en: &str) -> BTreeMap<Locale, String> {
        BTreeMap::from([(loc("en"), en.to_string())])
    }

    fn def(code: &str, kind: AttributeType, required: bool, defines_variants: bool) -> AttributeDef {
        AttributeDef { code: code.into(), labels: labels(code), kind, required, defines_variants }
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn enum_of(codes: &[&str]) -> AttributeType {
        AttributeType::Enum {
            values: codes.iter().map(|c| EnumValue { code: c.to_string(), labels: labels(c) }).collect(),
        }
    }

    fn clothing() -> Vec<AttributeDef> {
        vec![
            def("material", enum_of(&["cotton", "wool", "linen"]), true, false),
            def("organic", AttributeType::Boolean, false, false),
            def("care", AttributeType::Text { max_len: 20 }, false, false),
            def(
                "weight_kg",
                AttributeType::Number {
                    unit: Some("kg".into()),
                    min: Some(dec("0.01")),
                    max: Some(dec("50")),
                    decimals: 2,
                },
                false,
                false,
            ),
            def("size", enum_of(&["s", "m", "l", "xl", "42"]), true, true),
            def("colour", enum_of(&["red", "navy_blue"]), false, true),
        ]
    }

    fn values(v: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_value(v).unwrap()
    }

    fn product_error(v: serde_json::Value) -> FieldError {
        validate_attributes(&clothing(), &values(v), false).unwrap_err()
    }

    #[test]
    fn a_product_with_valid_describing_attributes_is_accepted_and_written_back_as_sent() {
        let sent = json!({"material": "cotton", "organic": true, "care": " Wash cold ", "weight_kg": 1.25});
        let checked = validate_attributes(&clothing(), &values(sent), false).unwrap();
        assert_eq!(checked["material"], AttributeValue::Enum("cotton".into()));
        assert_eq!(checked["organic"], AttributeValue::Boolean(true));
        assert_eq!(checked["care"], AttributeValue::Text("Wash cold".into()));
        assert_eq!(checked["weight_kg"], AttributeValue::Number(dec("1.25")));
        assert_eq!(
            serde_json::to_value(&checked).unwrap(),
            json!({"material": "cotton", "organic": true, "care": "Wash cold", "weight_kg": 1.25})
        );
    }

    #[test]
    fn a_variant_carries_the_variant_defining_attributes() {
        let checked =
            validate_attributes(&clothing(), &values(json!({"size": "XL", "colour": "navy_blue"})), true).unwrap();
        assert_eq!(checked["size"], AttributeValue::Enum("xl".into()), "codes match whatever the case");
        assert_eq!(validate_attributes(&clothing(), &values(json!({"size": "42"})), true).unwrap().len(), 1);
    }

    #[test]
    fn each_attribute_belongs_on_its_own_level() {
        let err = product_error(json!({"material": "wool", "size": "m"}));
        assert_eq!(
            err,
            FieldError::new("attributes.size", "defines variants: set it on each variant, not on the product")
        );
        let err = validate_attributes(&clothing(), &values(json!({"size": "m", "organic": false})), true).unwrap_err();
        assert_eq!(err.field, "attributes.organic");
        assert!(err.message.contains("set it on the product"));
    }

    #[test]
    fn an_unknown_attribute_is_named() {
        let err = product_error(json!({"material": "wool", "sleeves": "long"}));
        assert_eq!(err, FieldError::new("attributes.sleeves", "is not an attribute of this product's category"));
        let long_key = "k".repeat(500);
        let err = product_error(json!({ long_key.clone(): 1 }));
        assert!(err.field.len() < 70, "a client's key is shown only in part");
    }

    #[test]
    fn a_required_attribute_missing_or_null_is_named() {
        assert_eq!(product_error(json!({"organic": true})), FieldError::new("attributes.material", "is required"));
        assert_eq!(product_error(json!({"material": null})), FieldError::new("attributes.material", "is required"));
        let err = validate_attributes(&clothing(), &values(json!({"colour": "red"})), true).unwrap_err();
        assert_eq!(err, FieldError::new("attributes.size", "is required"));
        // an optional one may be null, and is then simply not set
        let checked =
            validate_attributes(&clothing(), &values(json!({"material": "wool", "organic": null})), false).unwrap();
        assert!(!checked.contains_key("organic"));
    }

    #[test]
    fn an_enum_value_outside_the_list_says_which_values_are_allowed() {
        assert_eq!(
            product_error(json!({"material": "silk"})),
            FieldError::new("attributes.material", "must be one of [cotton, wool, linen]")
        );
        assert_eq!(product_error(json!({"material": 3})).message, "must be one of [cotton, wool, linen]");
        let many: Vec<String> = (0..25).map(|i| format!("v{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let defs = [def("shade", enum_of(&refs), false, false)];
        let err = validate_attributes(&defs, &values(json!({"shade": "nope"})), false).unwrap_err();
        assert!(err.message.ends_with("v19, and 5 more]"), "{}", err.message);
    }

    #[test]
    fn numbers_are_checked_for_range_decimals_and_type() {
        let cases = [
            (json!(0.001), "must have at most 2 decimal places"),
            (json!(0), "must be at least 0.01 kg"),
            (json!(-3), "must be at least 0.01 kg"),
            (json!(50.01), "must be at most 50 kg"),
            (json!(1e300), "must be within ±1000000000"),
            (json!("1.5"), "must be a number"),
            (json!(true), "must be a number"),
        ];
        for (value, message) in cases {
            let err = product_error(json!({"material": "wool", "weight_kg": value}));
            assert_eq!(err, FieldError::new("attributes.weight_kg", message), "{value}");
        }
        for ok in [json!(50), json!(0.01), json!(1.10), json!(2e1)] {
            assert!(
                validate_attributes(&clothing(), &values(json!({"material": "wool", "weight_kg": ok})), false).is_ok()
            );
        }
        let whole =
            [def("pages", AttributeType::Number { unit: None, min: None, max: None, decimals: 0 }, false, false)];
        let err = validate_attributes(&whole, &values(json!({"pages": 1.5})), false).unwrap_err();
        assert_eq!(err.message, "must be a whole number");
        assert_eq!(
            validate_attributes(&whole, &values(json!({"pages": 1.0})), false).unwrap()["pages"],
            AttributeValue::Number(dec("1"))
        );
    }

    #[test]
    fn text_and_booleans_must_have_their_type() {
        assert_eq!(product_error(json!({"material": "wool", "organic": "yes"})).message, "must be true or false");
        assert_eq!(product_error(json!({"material": "wool", "care": 5})).message, "must be text");
        assert_eq!(product_error(json!({"material": "wool", "care": ""})).message, "is required");
        assert_eq!(
            product_error(json!({"material": "wool", "care": "x".repeat(21)})).message,
            "must be at most 20 characters"
        );
        assert_eq!(product_error(json!({"material": "wool", "care": "a\nb"})).message, "must be on one line");
        assert!(product_error(json!({"material": "wool", "care": "a\u{202E}b"})).message.contains("invisible"));
    }

    #[test]
    fn decimal_values_survive_a_json_round_trip_exactly() {
        let defs = [def("x", AttributeType::Number { unit: None, min: None, max: None, decimals: 6 }, false, false)];
        let mut seed: u64 = 3;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let scale = (seed % 7) as u32;
            let mantissa = (seed >> 11) as i64 % (MAX_NUMBER_MAGNITUDE * 10i64.pow(scale));
            let value = Decimal::new(if seed.is_multiple_of(2) { mantissa } else { -mantissa }, scale).normalize();
            let text = serde_json::to_string(&AttributeValue::Number(value)).unwrap();
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            let checked = validate_attributes(&defs, &BTreeMap::from([("x".to_string(), back)]), false).unwrap();
            assert_eq!(checked["x"], AttributeValue::Number(value), "{text}");
        }
    }

    #[test]
    fn definitions_are_checked_when_a_category_is_saved() {
        let ok = check_definitions(&[], &clothing()).unwrap();
        assert_eq!(ok.len(), 6);
        let cases = [
            (def("Size", AttributeType::Boolean, false, false), "attributes[0].code"),
            (def("1st", AttributeType::Boolean, false, false), "attributes[0].code"),
            (def("a__b", AttributeType::Boolean, false, false), "attributes[0].code"),
            (def("notes", AttributeType::Text { max_len: 0 }, false, false), "attributes[0].kind.max_len"),
            (def("notes", AttributeType::Text { max_len: 50 }, false, true), "attributes[0].kind"),
            (def("size", enum_of(&[]), false, true), "attributes[0].kind.values"),
            (def("size", enum_of(&["s", "s"]), false, true), "attributes[0].kind.values[1].code"),
            (def("size", enum_of(&["S"]), false, true), "attributes[0].kind.values[0].code"),
            (
                def(
                    "w",
                    AttributeType::Number { unit: None, min: Some(dec("5")), max: Some(dec("1")), decimals: 0 },
                    false,
                    false,
                ),
                "attributes[0].kind.max",
            ),
            (
                def(
                    "w",
                    AttributeType::Number { unit: None, min: Some(dec("0.5")), max: None, decimals: 0 },
                    false,
                    false,
                ),
                "attributes[0].kind.min",
            ),
            (
                def("w", AttributeType::Number { unit: None, min: None, max: None, decimals: 7 }, false, false),
                "attributes[0].kind.decimals",
            ),
        ];
        for (bad, field) in cases {
            assert_eq!(check_definitions(&[], std::slice::from_ref(&bad)).unwrap_err().field, field, "{bad:?}");
        }
        let mut unlabelled = def("x", AttributeType::Boolean, false, false);
        unlabelled.labels.clear();
        assert_eq!(check_definitions(&[], &[unlabelled]).unwrap_err().field, "attributes[0].labels");
    }

    #[test]
    fn a_child_category_inherits_its_parents_attributes_and_cannot_redefine_them() {
        let parent = clothing();
        let own = [def("sleeve", enum_of(&["short", "long"]), false, false)];
        let all = check_definitions(&parent, &own).unwrap();
        assert_eq!(all.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()[5..], ["colour", "sleeve"]);
        let clash = [def("size", enum_of(&["xs"]), false, true)];
        assert_eq!(
            check_definitions(&parent, &clash).unwrap_err(),
            FieldError::new("attributes[0].code", "is already defined by a parent category")
        );
        let twice =
            [def("fit", AttributeType::Boolean, false, false), def("fit", AttributeType::Boolean, false, false)];
        assert_eq!(check_definitions(&[], &twice).unwrap_err().field, "attributes[1].code");
    }

    #[test]
    fn definitions_read_and_write_as_tagged_json() {
        let json = json!({
            "code": "weight_kg",
            "labels": {"en": "Weight", "fr": "Poids"},
            "kind": {"type": "number", "unit": "kg", "min": 0.01, "max": 50, "decimals": 2},
            "required": true,
            "defines_variants": false
        });
        let parsed: AttributeDef = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            parsed.kind,
            AttributeType::Number {
                unit: Some("kg".into()),
                min: Some(dec("0.01")),
                max: Some(dec("50")),
                decimals: 2
            }
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
        let size: AttributeDef = serde_json::from_value(json!({
            "code": "size", "labels": {"en": "Size"},
            "kind": {"type": "enum", "values": [{"code": "s", "labels": {"en": "Small", "fr": "Petit"}}]}
        }))
        .unwrap();
        assert!(!size.required && !size.defines_variants);
        assert_eq!(size.label(&[loc("de"), loc("en")]), "Size");
        assert_eq!(size.label(&[loc("de")]), "size");
    }

    #[test]
    fn the_status_transition_table_is_exactly_as_documented() {
        use ProductStatus::*;
        let allowed =
            [(Draft, Published), (Draft, Archived), (Published, Draft), (Published, Archived), (Archived, Draft)];
        for from in ProductStatus::ALL {
            for to in ProductStatus::ALL {
                assert_eq!(from.can_move_to(to), allowed.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
        assert!(!Archived.can_move_to(Published), "an archived product is reviewed as a draft first");
        assert_eq!(ProductStatus::ALL.iter().filter(|s| s.is_public()).collect::<Vec<_>>(), [&Published]);
        assert_eq!(serde_json::to_value(Published).unwrap(), json!("published"));
        assert_eq!(Archived.as_str(), "archived");
    }

    #[test]
    fn tax_classes_are_snake_case_and_default_to_standard() {
        assert_eq!(TaxClass::default(), TaxClass::Standard);
        for (class, name) in [
            (TaxClass::Standard, "standard"),
            (TaxClass::Reduced, "reduced"),
            (TaxClass::Zero, "zero"),
            (TaxClass::Exempt, "exempt"),
        ] {
            assert_eq!(serde_json::to_value(class).unwrap(), json!(name));
        }
        assert!(serde_json::from_value::<TaxClass>(json!("luxury")).is_err());
    }

    #[test]
    fn dimensions_and_weight_must_be_positive_and_sane() {
        let d = Dimensions::new("dimensions", 300, 200, 50).unwrap();
        assert_eq!(d.volume_mm3(), 3_000_000);
        assert_eq!(
            Dimensions::new("dimensions", 0, 1, 1).unwrap_err(),
            FieldError::new("dimensions.length_mm", "must be at least 1 mm")
        );
        assert_eq!(Dimensions::new("dimensions", 1, -4, 1).unwrap_err().field, "dimensions.width_mm");
        assert_eq!(
            Dimensions::new("variants[1].dimensions", 1, 1, 10_001).unwrap_err(),
            FieldError::new("variants[1].dimensions.height_mm", "must be at most 10000 mm")
        );
        assert!(Dimensions::new("d", 10_000, 10_000, 10_000).unwrap().volume_mm3() == 1_000_000_000_000);
        assert!(Dimensions::new("d", i64::MAX, 1, 1).is_err());
        assert!(
            serde_json::from_value::<Dimensions>(json!({"length_mm": 1, "width_mm": 2, "height_mm": -3}))
                .unwrap_err()
                .to_string()
                .contains("height_mm")
        );
        assert_eq!(weight_g("weight_g", 1), Ok(1));
        assert_eq!(weight_g("weight_g", 1_000_000), Ok(1_000_000));
        assert_eq!(weight_g("weight_g", 0).unwrap_err().message, "must be at least 1 g");
        assert_eq!(weight_g("weight_g", -5).unwrap_err().message, "must be at least 1 g");
        assert_eq!(weight_g("weight_g", 1_000_001).unwrap_err().message, "must be at most 1000000 g");
    }
}
