//! The request context: a handler gets its caller, path, query, body and vendor access from one
//! value, so its body reads parse → authorise → decide → store → respond.
//!
//! ```ignore
//! pub async fn list_staff(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
//!     let cx = Ctx::new(deps, &req)?;                       // the signed-in caller
//!     let page = cx.page(false)?;                            // parse
//!     let vendor = cx.vendor(VendorPermission::Read).await?; // authorise
//!     let members = vendors::members(cx.store().await?, vendor.id(), &page).await?; // store
//!     Ok(ok(&ListResponse::from(members)))                   // respond
//! }
//! ```

use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use stockyard_domain::FieldError;
use stockyard_domain::account::User;
use stockyard_domain::ids::VendorId;
use stockyard_domain::roles::{PlatformRole, VendorPermission};
use stockyard_store::users::UserRecord;
use stockyard_store::{PageRequest, Table, users, vendors};
use tokio::sync::OnceCell;

use crate::idempotency::{Idempotency, idempotent};
use crate::request::{json_body, page_request, path, query};
use crate::vendor_access::{VendorAccess, decide};
use crate::{ApiDeps, ApiError, Principal};

/// A signed-in caller's request.
///
/// The access token is checked at once (no I/O). Before the handler reaches the store, the session
/// is checked against the account (one GetItem of the user, made once per request and, on vendor
/// routes, in parallel with the vendor reads): a revoked session, a token from before a password
/// change or a deleted account is refused, and the account's current roles and address replace
/// the token's, so signing out, a stolen refresh token, a new password, a role taken away and a
/// changed address take effect at once rather than when the token expires. Bad input is still
/// refused before any read.
pub struct Ctx<'r> {
    deps: &'r ApiDeps,
    req: &'r Request,
    pub caller: Principal,
    account: OnceCell<UserRecord>,
}

impl<'r> Ctx<'r> {
    /// Authenticates the caller (401 without a valid access token) and names them in the request's span.
    pub fn new(deps: &'r ApiDeps, req: &'r Request) -> Result<Self, ApiError> {
        let caller = deps.verifier.authenticate(req)?;
        tracing::Span::current().record("caller", tracing::field::display(caller.user_id));
        Ok(Self { deps, req, caller, account: OnceCell::new() })
    }

    /// The caller's account as it is now, once the session is known to be alive (read once per
    /// request; see the type's documentation).
    pub async fn account(&self) -> Result<&User, ApiError> {
        Ok(&self.account_record().await?.user)
    }

    /// The caller's account with its credentials, for the routes that check or change them.
    pub async fn account_record(&self) -> Result<&UserRecord, ApiError> {
        self.account
            .get_or_try_init(|| async {
                let account = users::get(&self.deps.table, self.caller.user_id).await?;
                match account {
                    None => Err(ApiError::Unauthorized("this account no longer exists".into())),
                    Some(a) if a.revoked_sessions.contains(&self.caller.session) => {
                        Err(ApiError::Unauthorized("this session was signed out; sign in again".into()))
                    }
                    Some(a) if a.credentials_version != self.caller.credentials_version => {
                        Err(ApiError::Unauthorized("the password of this account was changed; sign in again".into()))
                    }
                    Some(a) => Ok(a),
                }
            })
            .await
    }

    async fn live_roles(&self) -> Result<&[PlatformRole], ApiError> {
        Ok(&self.account().await?.roles)
    }

    /// The store, once the caller's session is known to be alive (see the type's documentation).
    pub async fn store(&self) -> Result<&'r Table, ApiError> {
        self.account().await?;
        Ok(&self.deps.table)
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

    /// A query parameter as sent, if present (blank included).
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
    /// when there is no such vendor); names the vendor in the request's span. The session check and
    /// the vendor reads run at once.
    pub async fn vendor(&self, permission: VendorPermission) -> Result<VendorAccess, ApiError> {
        let vendor_id = self.vendor_id()?;
        tracing::Span::current().record("vendor", tracing::field::display(vendor_id));
        let reads =
            async { Ok::<_, ApiError>(vendors::with_member(&self.deps.table, vendor_id, self.caller.user_id).await?) };
        let (roles, (vendor, member)) = tokio::try_join!(self.live_roles(), reads)?;
        let vendor = vendor.ok_or(ApiError::NotFound("vendor"))?;
        let caller = Principal { roles: roles.to_vec(), ..self.caller.clone() };
        let role = member.map(|m| m.role);
        decide(&caller, &vendor, role, permission)?;
        Ok(VendorAccess { vendor, role })
    }

    /// Refuses the request unless the caller holds one of `roles`: the token must carry it (403
    /// without a read), and so must the account now (a role taken away counts at once).
    pub async fn require_any(&self, roles: &[PlatformRole]) -> Result<(), ApiError> {
        self.caller.require_any(roles)?;
        let live = Principal { roles: self.live_roles().await?.to_vec(), ..self.caller.clone() };
        live.require_any(roles)
    }

    /// Runs a create at most once per `Idempotency-Key` of this caller (see [`idempotent`]).
    pub async fn idempotent(
        &self,
        work: impl AsyncFnOnce(Option<&Idempotency>) -> Result<Response<Body>, ApiError>,
    ) -> Result<Response<Body>, ApiError> {
        idempotent(self.req, &self.caller.user_id.to_string(), self.store().await?, work).await
    }
}
