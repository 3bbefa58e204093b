//! Reading requests: JSON bodies, path and query parameters, pagination — each failure naming its field.

use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use stockyard_domain::FieldError;
use stockyard_store::PageRequest;

use crate::ApiError;

/// The API Gateway request id (or the Lambda one when invoked directly).
pub fn request_id(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
    .unwrap_or_default()
}

/// The body as UTF-8 text (empty when there is none).
pub fn body_text(req: &Request) -> Result<&str, ApiError> {
    match req.body() {
        Body::Empty => Ok(""),
        Body::Text(t) => Ok(t),
        Body::Binary(b) => std::str::from_utf8(b)
            .map_err(|_| ApiError::Malformed { message: "request body must be UTF-8 JSON".into(), field: None }),
        _ => Ok(""),
    }
}

/// Whether a `Content-Type` names JSON (`application/json`, or a `+json` type), parameters aside.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Refuses (415) a request whose body is not sent as JSON, before anything reads the body (a
/// webhook verified over its raw bytes).
pub fn require_json_media_type(req: &Request) -> Result<(), ApiError> {
    if header(req, "content-type").is_some_and(is_json_media_type) {
        return Ok(());
    }
    Err(ApiError::UnsupportedMediaType("send the request body as JSON, with Content-Type: application/json".into()))
}

/// Decodes the JSON body, which must be present (400), sent as `Content-Type: application/json`
/// (415 otherwise) and be exactly one JSON object: an array, a scalar, trailing data or a second value is a 400
/// `malformed_request`. A wrong type, a missing or an unknown field is reported by name.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let text = body_text(req)?;
    if text.trim().is_empty() {
        return Err(ApiError::Malformed { message: "request body must be a JSON object".into(), field: None });
    }
    require_json_media_type(req)?;
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::Malformed { message: "request body must be a JSON object".into(), field: None });
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    let JsonValue(mut value) = serde::Deserialize::deserialize(&mut *de).map_err(|err| ApiError::Malformed {
        message: format!("request body is not valid JSON: {err}"),
        field: None,
    })?;
    de.end().map_err(|_| ApiError::Malformed {
        message: "request body must be exactly one JSON object, with nothing after it".into(),
        field: None,
    })?;
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        let field = if path != "." {
            Some(path)
        } else {
            // "missing field `email`" / "unknown field `x`": the field is named in backticks.
            message.split('`').nth(1).map(String::from)
        };
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("request body is not valid JSON: {message}")
            }
            _ => message.split(" at line ").next().unwrap_or(&message).to_string(),
        };
        ApiError::Malformed { message, field }
    })
}

/// A JSON value in which an object names each member once (`{"a":1,"a":2}` is refused, not read
/// as one of the two).
struct JsonValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for JsonValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl<'de> serde::de::Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonValue, E> {
        Ok(JsonValue(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonValue, E> {
        Ok(JsonValue(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonValue, E> {
        Ok(JsonValue(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JsonValue, E> {
        Ok(JsonValue(v.into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonValue, E> {
        Ok(JsonValue(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<JsonValue, E> {
        Ok(JsonValue(v.into()))
    }
    fn visit_unit<E>(self) -> Result<JsonValue, E> {
        Ok(JsonValue(serde_json::Value::Null))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(JsonValue(items.into()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some((key, JsonValue(value))) = map.next_entry::<String, JsonValue>()? {
            if fields.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            fields.insert(key, value);
        }
        Ok(JsonValue(fields.into()))
    }
}

/// JSON has one kind of number: `3.0` is the integer 3 (as JSON Schema says), so a whole number
/// written with a fraction or an exponent is read as an integer wherever one is expected.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Within ±2^53 every whole f64 is exact, so nothing is rounded on the way.
            if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                *n = serde_json::Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// A path parameter parsed by `parse`, e.g. `path(&req, "vendorId", VendorId::parse)`.
pub fn path<T>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, FieldError>,
) -> Result<T, ApiError> {
    let params = req.path_parameters();
    let raw = params.first(name).ok_or_else(|| ApiError::invalid(name, "is required in the path"))?;
    parse(name, raw).map_err(ApiError::from)
}

/// A query-string parameter as sent, if present: a blank value is a value (which the parameter's
/// parser refuses or takes as it is), never taken for an absent parameter.
pub fn query(req: &Request, name: &str) -> Option<String> {
    raw_query(req, name).map(String::from)
}

/// A query-string parameter as sent, blank or not.
fn raw_query<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name))
}

/// `?limit=` (1–100, default 20; present but empty is refused), `?cursor=` (not empty) and
/// `?order=newest|oldest` (default `default_order`), as [`crate::openapi::PageParams`] documents them.
pub fn page_request(req: &Request, newest_first_by_default: bool) -> Result<PageRequest, ApiError> {
    let limit = match raw_query(req, "limit").map(str::trim) {
        None => PageRequest::DEFAULT_LIMIT,
        Some(raw) => match raw.parse::<i32>() {
            Ok(n) if (1..=PageRequest::MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::invalid("limit", "must be a whole number from 1 to 100")),
        },
    };
    let newest_first = match raw_query(req, "order") {
        None => newest_first_by_default,
        Some("newest") => true,
        Some("oldest") => false,
        Some(_) => return Err(ApiError::invalid("order", "must be newest or oldest")),
    };
    let cursor = match raw_query(req, "cursor") {
        Some("") => return Err(ApiError::invalid("cursor", "is not a cursor this list issued")),
        other => other.map(String::from),
    };
    Ok(PageRequest { limit, cursor, newest_first })
}

/// A header's value, if present and valid text.
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// For `#[serde(default, deserialize_with = "present")]` on an `Option<Option<T>>` field: a field
/// sent as `null` is `Some(None)` (remove it), one left out is `None` (leave it as it is).
pub fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        age: u32,
    }

    fn with_body(body: &str) -> Request {
        with_typed_body(body, Some("application/json"))
    }

    fn with_typed_body(body: &str, content_type: Option<&str>) -> Request {
        let mut req = Request::new(Body::Text(body.into()));
        *req.method_mut() = lambda_http::http::Method::POST;
        if let Some(t) = content_type {
            req.headers_mut().insert("content-type", t.parse().unwrap());
        }
        req
    }

    #[test]
    fn an_array_a_scalar_trailing_data_or_a_second_object_is_a_malformed_request() {
        for bad in [
            r#"["a@b.co", 3]"#,
            "3",
            r#""text""#,
            r#"{"email":"a@b.co","age":3} garbage"#,
            r#"{"email":"a@b.co","age":3}{"email":"x@y.co","age":4}"#,
        ] {
            let err = json_body::<Login>(&with_body(bad)).unwrap_err();
            assert_eq!((err.status().as_u16(), err.code()), (400, "malformed_request"), "{bad}");
        }
        assert!(
            json_body::<Login>(&with_body(" {\"email\":\"a@b.co\",\"age\":3}\n ")).is_ok(),
            "surrounding white space is fine"
        );
    }

    #[test]
    fn a_body_not_sent_as_json_is_an_unsupported_media_type() {
        let body = r#"{"email":"a@b.co","age":3}"#;
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/xml"),
            Some("multipart/form-data; boundary=x"),
        ] {
            let err = json_body::<Login>(&with_typed_body(body, content_type)).unwrap_err();
            assert_eq!((err.status().as_u16(), err.code()), (415, "unsupported_media_type"), "{content_type:?}");
        }
        for content_type in
            ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"]
        {
            assert!(json_body::<Login>(&with_typed_body(body, Some(content_type))).is_ok(), "{content_type}");
        }
    }

    fn field_of(err: ApiError) -> Option<String> {
        err.field().map(String::from)
    }

    #[test]
    fn a_member_named_twice_is_a_malformed_request() {
        let err = json_body::<Login>(&with_body(r#"{"email":"a@b.co","age":3,"age":4}"#)).unwrap_err();
        assert_eq!(err.code(), "malformed_request");
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_an_integer() {
        assert!(json_body::<Login>(&with_body(r#"{"email":"a@b.co","age":3.0}"#)).is_ok());
        assert!(json_body::<Login>(&with_body(r#"{"email":"a@b.co","age":3e1}"#)).is_ok());
        let err = json_body::<Login>(&with_body(r#"{"email":"a@b.co","age":3.5}"#)).unwrap_err();
        assert_eq!((err.status().as_u16(), err.field()), (400, Some("age")));
        // Parsed exactly (serde_json's float_roundtrip): the fast parse read this one ULP off,
        // as a fraction.
        for (text, whole) in
            [("2251799813685247.0", 2_251_799_813_685_247i64), ("-9007199254740991.0", -9_007_199_254_740_991)]
        {
            let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
            integral_numbers_as_integers(&mut value);
            assert_eq!(value.as_i64(), Some(whole), "{text}");
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = json_body::<Login>(&with_body(r#"{"age":3}"#)).unwrap_err();
        assert_eq!(field_of(err), Some("email".into()));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        let err = json_body::<Login>(&with_body(r#"{"email":"a@b.co","age":"three"}"#)).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(field_of(err), Some("age".into()));
    }

    #[test]
    fn an_unknown_field_is_named() {
        let err = json_body::<Login>(&with_body(r#"{"email":"a@b.co","age":3,"admin":true}"#)).unwrap_err();
        assert_eq!(field_of(err), Some("admin".into()));
    }

    #[test]
    fn broken_json_and_empty_bodies_are_malformed_requests() {
        assert_eq!(json_body::<Login>(&with_body("{")).unwrap_err().code(), "malformed_request");
        assert_eq!(json_body::<Login>(&with_body("")).unwrap_err().code(), "malformed_request");
    }

    #[test]
    fn page_limits_outside_one_to_a_hundred_are_refused() {
        let req = |limit: &str| {
            Request::default().with_query_string_parameters(HashMap::from([("limit".to_string(), limit.to_string())]))
        };
        assert_eq!(page_request(&req("5"), false).unwrap().limit, 5);
        for bad in ["0", "101", "ten", "", " "] {
            assert_eq!(field_of(page_request(&req(bad), false).unwrap_err()), Some("limit".into()));
        }
        assert_eq!(
            page_request(&Request::default(), true).unwrap(),
            PageRequest { limit: 20, cursor: None, newest_first: true }
        );
    }
}
