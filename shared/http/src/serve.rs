//! Running an API handler as a Lambda: errors become JSON responses, never Lambda errors
//! (which API Gateway would turn into an opaque 502).

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};

use crate::ApiError;
use crate::request::request_id;

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
    let id = request_id(&req);
    respond(handler(req).await, &id)
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
        let id = request_id(&req);
        Ok::<_, Infallible>(respond(handler(deps, req).await, &id))
    }))
    .await
}
