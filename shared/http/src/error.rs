use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use stockyard_domain::FieldError;
use stockyard_store::StoreError;

/// Every way a request can fail, each with its status and a stable machine-readable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON or not of the expected shape.
    #[error("{message}")]
    Malformed { message: String, field: Option<String> },
    /// A field's value breaks a rule.
    #[error("{}", .0)]
    Invalid(FieldError),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A specific refusal (vendor suspended, ...), with its own code.
    #[error("{message}")]
    ForbiddenBecause { code: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// No route has this method and path (the API's `$default` route answers it).
    #[error("{0}")]
    RouteNotFound(String),
    /// The path is served, but not with this method; `allowed` are the methods it takes (sent as `Allow`).
    #[error("{message}")]
    MethodNotAllowed { message: String, allowed: Vec<String> },
    /// The body is not sent as JSON (`Content-Type` is not `application/json`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String, field: Option<String> },
    /// The request is understood but breaks a business rule.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String, field: Option<String> },
    /// Too many attempts; try again after `retry_after` seconds (also sent as `Retry-After`).
    #[error("{message}")]
    TooManyRequests { code: &'static str, message: String, retry_after: u64 },
    /// The store asked us to slow down (throttling, or a record that kept changing under a
    /// retried write): nothing was changed, and the same request may succeed in a moment.
    #[error("the service is busy; retry in a moment")]
    ServiceBusy { retry_after: u64 },
    /// A service Stockyard depends on (a payment provider) did not answer as it should; what was
    /// done before is kept, and the same request may complete later.
    #[error("{message}")]
    BadGateway { code: &'static str, message: String },
    /// Something on our side; logged with its cause, never shown to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The one error shape of the API.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code such as `invalid_field` or `email_taken`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Quote this when asking for help.
    pub request_id: String,
}

impl ApiError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into(), field: None }
    }
    pub fn conflict_on(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into(), field: Some(field.into()) }
    }
    pub fn unprocessable(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError::Unprocessable { code, message: message.into(), field: field.map(Into::into) }
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(FieldError::new(field, message))
    }
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::ForbiddenBecause { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ServiceBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed { .. } => "malformed_request",
            ApiError::Invalid(_) => "invalid_field",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::ForbiddenBecause { code, .. } => code,
            ApiError::NotFound(_) => "not_found",
            ApiError::RouteNotFound(_) => "route_not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooManyRequests { code, .. }
            | ApiError::BadGateway { code, .. } => code,
            ApiError::ServiceBusy { .. } => "service_busy",
            ApiError::Internal(_) => "internal_error",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Invalid(e) => Some(&e.field),
            ApiError::Malformed { field, .. }
            | ApiError::Conflict { field, .. }
            | ApiError::Unprocessable { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The JSON response; internal errors are logged here with their whole chain.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(request_id, error = format!("{cause:#}"), "request failed");
        }
        let message = match &self {
            ApiError::Internal(_) => {
                "Something went wrong on our side. Quote the request id if you contact support.".into()
            }
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().into(),
                message,
                field: self.field().map(Into::into),
                request_id: request_id.into(),
            },
        };
        let mut response = crate::response::json(self.status(), &body);
        if let ApiError::TooManyRequests { retry_after, .. } | ApiError::ServiceBusy { retry_after } = &self {
            response.headers_mut().insert("retry-after", (*retry_after).into());
        }
        if let ApiError::MethodNotAllowed { allowed, .. } = &self
            && let Ok(value) = allowed.join(", ").parse()
        {
            response.headers_mut().insert("allow", value);
        }
        response
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor => ApiError::invalid("cursor", "is not a cursor this list issued"),
            StoreError::Conflict { step } if step == stockyard_store::idempotency::STEP => ApiError::conflict(
                "idempotent_request_done",
                "a request with this Idempotency-Key was completed at the same moment",
            ),
            StoreError::Throttled(cause) => {
                tracing::warn!(cause, "store busy; answered 503");
                ApiError::ServiceBusy { retry_after: 1 }
            }
            other => ApiError::Internal(anyhow::Error::new(other).context("store request failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(resp: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(resp.body().as_ref()).unwrap()
    }

    #[test]
    fn a_busy_store_is_a_503_that_says_when_to_retry() {
        let resp = ApiError::from(StoreError::Throttled("ProvisionedThroughputExceeded".into())).into_response("req-1");
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["retry-after"], "1");
        let json = body(&resp);
        assert_eq!(json["error"]["code"], "service_busy");
        assert!(!json["error"]["message"].as_str().unwrap().contains("Provisioned"), "the cause stays in the log");
    }

    #[test]
    fn a_validation_error_names_the_field_and_carries_the_request_id() {
        let resp = ApiError::invalid("email", "is required").into_response("req-1");
        assert_eq!(resp.status(), 422);
        let json = body(&resp);
        assert_eq!(json["error"]["code"], "invalid_field");
        assert_eq!(json["error"]["field"], "email");
        assert_eq!(json["error"]["request_id"], "req-1");
    }

    #[test]
    fn too_many_attempts_says_when_to_come_back() {
        let error =
            ApiError::TooManyRequests { code: "too_many_attempts", message: "slow down".into(), retry_after: 42 };
        let resp = error.into_response("req-3");
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "42");
    }

    #[test]
    fn an_internal_error_hides_its_cause() {
        let resp = ApiError::internal(anyhow::anyhow!("table secret-name throttled")).into_response("req-2");
        assert_eq!(resp.status(), 500);
        let text = String::from_utf8(resp.body().to_vec()).unwrap();
        assert!(!text.contains("secret-name"));
        assert!(body(&resp)["error"].get("field").is_none());
    }
}
