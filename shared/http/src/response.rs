use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response. Serialising our own types cannot fail; if it ever did, say so as a 500.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":{"code":"internal_error","message":"response could not be encoded","request_id":""}}"#.into(),
        ),
    };
    let mut resp = Response::new(Body::Text(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert("content-type", lambda_http::http::HeaderValue::from_static("application/json"));
    resp
}

pub fn ok<T: Serialize>(body: &T) -> Response<Body> {
    json(StatusCode::OK, body)
}

pub fn created<T: Serialize>(body: &T) -> Response<Body> {
    json(StatusCode::CREATED, body)
}

pub fn no_content() -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// A page of a list: `{ "items": [...], "next_cursor": "..." | null }`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Present and true when a filtered list stopped at its read budget before the page was full:
    /// fewer items than asked for, and `next_cursor` goes on from where reading stopped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl<T> ListResponse<T> {
    /// A whole list in one page.
    pub fn all(items: Vec<T>) -> Self {
        Self { items, next_cursor: None, partial: false }
    }
}

impl<T> From<stockyard_store::Page<T>> for ListResponse<T> {
    fn from(page: stockyard_store::Page<T>) -> Self {
        Self { items: page.items, next_cursor: page.next_cursor, partial: page.partial }
    }
}
