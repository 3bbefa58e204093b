//! The request context: a handler gets its caller, path, query, body and vendor access from one
//! value, so its body reads parse → authorise → decide → store → respond.
//!
//! ```ignore
//! pub async fn list_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
//!     let cx = Ctx::new(deps, &req)?;                       // the signed-in caller
//!     let page = cx.page(false)?;                            // parse
//!     let vendor = cx.vendor(VendorPermission::Read).await?; // authorise
//!     let members = vendors::members(cx.table(), vendor.id(), &page).await?; // store
//!     Ok(ok(&ListResponse::from(members)))                   // respond
//! }
//! ```

use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use stockyard_domain::FieldError;
use stockyard_domain::ids::VendorId;
use stockyard_domain::roles::{PlatformRole, VendorPermission};
use stockyard_store::{PageRequest, Table};

use crate::idempotency::{Idempotency, idempotent};
use crate::request::{json_body, page_request, path, query};
use crate::vendor_access::{VendorAccess, authorize};
use crate::{ApiDeps, ApiError, Principal};

/// A signed-in caller's request.
pub struct Ctx<'r> {
    deps: &'r ApiDeps,
    req: &'r Request,
    pub caller: Principal,
}

impl<'r> Ctx<'r> {
    /// Authenticates the caller (401 without a valid access token) and names them in the request's span.
    pub fn new(deps: &'r ApiDeps, req: &'r Request) -> Result<Self, ApiError> {
        let caller = deps.verifier.authenticate(req)?;
        tracing::Span::current().record("caller", tracing::field::display(caller.user_id));
        Ok(Self { deps, req, caller })
    }

    pub fn table(&self) -> &'r Table {
        &self.deps.table
    }

    pub fn request(&self) -> &'r Request {
        self.req
    }

    /// The JSON body as `T`; a wrong shape is a 400 naming the field.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        json_body(self.req)
    }

    /// A path parameter parsed by `parse`: `cx.path("userId", UserId::parse)`.
    pub fn path<T>(&self, name: &str, parse: impl FnOnce(&str, &str) -> Result<T, FieldError>) -> Result<T, ApiError> {
        path(self.req, name, parse)
    }

    /// A query parameter, if present and not blank.
    pub fn query(&self, name: &str) -> Option<String> {
        query(self.req, name)
    }

    /// A query parameter parsed by `parse`, if present.
    pub fn query_as<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str, &str) -> Result<T, FieldError>,
    ) -> Result<Option<T>, ApiError> {
        self.query(name).map(|raw| parse(name, &raw)).transpose().map_err(ApiError::from)
    }

    /// `?limit=`, `?cursor=` and `?order=`.
    pub fn page(&self, newest_first_by_default: bool) -> Result<PageRequest, ApiError> {
        page_request(self.req, newest_first_by_default)
    }

    /// The `{vendorId}` of the path.
    pub fn vendor_id(&self) -> Result<VendorId, ApiError> {
        self.path("vendorId", VendorId::parse)
    }

    /// The vendor of the path, if the caller may act on it with `permission` (403 otherwise, 404
    /// when there is no such vendor); names the vendor in the request's span.
    pub async fn vendor(&self, permission: VendorPermission) -> Result<VendorAccess, ApiError> {
        let vendor_id = self.vendor_id()?;
        tracing::Span::current().record("vendor", tracing::field::display(vendor_id));
        authorize(self.table(), &self.caller, vendor_id, permission).await
    }

    /// Refuses the request unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[PlatformRole]) -> Result<(), ApiError> {
        self.caller.require_any(roles)
    }

    /// Runs a create at most once per `Idempotency-Key` of this caller (see [`idempotent`]).
    pub async fn idempotent(
        &self,
        work: impl AsyncFnOnce(Option<&Idempotency>) -> Result<Response<Body>, ApiError>,
    ) -> Result<Response<Body>, ApiError> {
        idempotent(self.req, &self.caller.user_id.to_string(), self.table(), work).await
    }
}
