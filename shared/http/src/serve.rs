//! Running an API handler as a Lambda: errors become JSON responses, never Lambda errors
//! (which API Gateway would turn into an opaque 502).

use std::convert::Infallible;
use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use tracing::Instrument;

use crate::ApiError;
use crate::request::request_id;

/// The span every request runs in: what a reader greps for. `caller` and `vendor` are filled in
/// by the request context once known.
pub fn request_span(req: &Request) -> tracing::Span {
    let route = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
    .unwrap_or_else(|| format!("{} {}", req.method(), req.uri().path()));
    let trace_id = req.lambda_context_ref().and_then(|c| c.xray_trace_id.clone()).unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id = %request_id(req),
        route = %route,
        trace_id = %trace_id,
        caller = tracing::field::Empty,
        vendor = tracing::field::Empty,
    )
}

/// Turns a handler's result into the response the client sees.
pub fn respond(result: Result<Response<Body>, ApiError>, request_id: &str) -> Response<Body> {
    result.unwrap_or_else(|e| e.into_response(request_id))
}

/// Calls `handler` with the request and renders its error, if any, as the runtime would.
/// Tests call this directly: `handle(req, |r| register(&deps, r))`.
pub async fn handle<F, Fut>(req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let (id, span) = (request_id(&req), request_span(&req));
    respond(handler(req).instrument(span).await, &id)
}

/// Serves `handler` on the Lambda runtime with dependencies built once at start.
pub async fn serve<D, F, Fut>(deps: D, handler: F) -> Result<(), lambda_http::Error>
where
    D: Send + Sync + 'static,
    F: Fn(&'static D, Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send,
{
    // Lives as long as the process, like the execution environment it stands for.
    let deps: &'static D = Box::leak(Box::new(deps));
    lambda_http::run(service_fn(move |req: Request| async move {
        let (id, span) = (request_id(&req), request_span(&req));
        let result = handler(deps, req).instrument(span.clone()).await;
        let _entered = span.enter();
        Ok::<_, Infallible>(respond(result, &id))
    }))
    .await
}
