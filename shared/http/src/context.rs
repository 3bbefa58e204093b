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
use stockyard_domain::api_key::ApiKey;
use stockyard_domain::ids::VendorId;
use stockyard_domain::roles::PlatformRole;
use stockyard_domain::stock::Actor;
use stockyard_store::users::UserRecord;
use stockyard_store::{PageRequest, Table, api_keys, users, vendors};
use tokio::sync::OnceCell;

use crate::api_keys::ApiKeyToken;
use crate::idempotency::{Idempotency, idempotent};
use crate::request::{json_body, page_request, path, query};
use crate::vendor_access::{Need, VendorAccess, decide, decide_key};
use crate::{ApiDeps, ApiError, Principal};

/// Who is calling: a person with an access token, or a device or integration with an API key.
#[derive(Debug, Clone)]
pub enum Caller {
    Person(Principal),
    /// Not yet checked against the store: [`Ctx::vendor`] does that, on routes that take keys.
    ApiKey(ApiKeyToken),
}

/// What a route that only people may use answers an API key, without looking the key up.
fn people_only() -> ApiError {
    ApiError::Forbidden("an API key cannot do this: it needs a person signed in".into())
}

/// A signed-in caller's request.
///
/// The access token is checked at once (no I/O). Before the handler reaches the store, the session
/// is checked against the account (one GetItem of the user, made once per request and, on vendor
/// routes, in parallel with the vendor reads): a revoked session, a token from before a password
/// change or a deleted account is refused, and the account's current roles and address replace
/// the token's, so signing out, a stolen refresh token, a new password, a role taken away and a
/// changed address take effect at once rather than when the token expires. Bad input is still
/// refused before any read.
///
/// An API key is a caller too, but only where a route says so ([`Need::or_api_key`]): there
/// [`Ctx::vendor`] reads the key (one GetItem by its id, in parallel with the vendor), checks its
/// secret, that it is not revoked, and that its vendor, permissions and scope cover the request.
/// Everywhere else (every other vendor route, the account routes, the admin routes) a key is
/// refused with 403 before anything is read, so a route that says nothing about keys never takes one.
pub struct Ctx<'r> {
    deps: &'r ApiDeps,
    req: &'r Request,
    caller: Caller,
    account: OnceCell<UserRecord>,
    /// The API key, once [`Ctx::vendor`] has found it may act here.
    key: OnceCell<ApiKey>,
}

impl<'r> Ctx<'r> {
    /// Authenticates the caller (401 without a valid access token or a well-formed API key) and
    /// names them in the request's span.
    pub fn new(deps: &'r ApiDeps, req: &'r Request) -> Result<Self, ApiError> {
        let caller = deps.verifier.authenticate(req)?;
        let name = match &caller {
            Caller::Person(person) => person.user_id.to_string(),
            Caller::ApiKey(token) => format!("key:{}", token.id),
        };
        tracing::Span::current().record("caller", tracing::field::display(name));
        Ok(Self { deps, req, caller, account: OnceCell::new(), key: OnceCell::new() })
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The signed-in person; an API key is refused (403) without a read.
    pub fn person(&self) -> Result<&Principal, ApiError> {
        match &self.caller {
            Caller::Person(person) => Ok(person),
            Caller::ApiKey(_) => Err(people_only()),
        }
    }

    /// Who the ledger says made a change: the person, or the API key.
    pub fn actor(&self) -> Actor {
        match &self.caller {
            Caller::Person(person) => Actor::User { id: person.user_id },
            Caller::ApiKey(token) => Actor::ApiKey { id: token.id },
        }
    }

    /// The caller's account as it is now, once the session is known to be alive (read once per
    /// request; see the type's documentation).
    pub async fn account(&self) -> Result<&User, ApiError> {
        Ok(&self.account_record().await?.user)
    }

    /// The caller's account with its credentials, for the routes that check or change them.
    pub async fn account_record(&self) -> Result<&UserRecord, ApiError> {
        let person = self.person()?;
        self.account
            .get_or_try_init(|| async {
                let account = users::get(&self.deps.table, person.user_id).await?;
                match account {
                    None => Err(ApiError::Unauthorized("this account no longer exists".into())),
                    Some(a) if a.revoked_sessions.contains(&person.session) => {
                        Err(ApiError::Unauthorized("this session was signed out; sign in again".into()))
                    }
                    Some(a) if a.credentials_version != person.credentials_version => {
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

    /// The store, once the caller's session is known to be alive (see the type's documentation);
    /// for an API key, once [`Ctx::vendor`] has let it act here.
    pub async fn store(&self) -> Result<&'r Table, ApiError> {
        match &self.caller {
            Caller::Person(_) => {
                self.account().await?;
            }
            Caller::ApiKey(_) if self.key.get().is_some() => {}
            Caller::ApiKey(_) => return Err(people_only()),
        }
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

    /// The vendor of the path, if the caller may act on it as `need` says (403 otherwise, 404
    /// when there is no such vendor); names the vendor in the request's span. A person needs
    /// `need`'s member permission: the session check and the vendor reads run at once. An API key
    /// needs a route that takes keys: the key and the vendor are read at once, and an unknown or
    /// revoked key is refused with 401.
    pub async fn vendor(&self, need: impl Into<Need>) -> Result<VendorAccess, ApiError> {
        self.vendor_named(self.vendor_id()?, need).await
    }

    /// The vendor `vendor_id`, named by the query or the body rather than the path (`?vendor_id=`),
    /// if the caller may act on it as `need` says: the same checks and answers as [`Ctx::vendor`].
    pub async fn vendor_named(&self, vendor_id: VendorId, need: impl Into<Need>) -> Result<VendorAccess, ApiError> {
        let need = need.into();
        tracing::Span::current().record("vendor", tracing::field::display(vendor_id));
        let person = match &self.caller {
            Caller::Person(person) => person,
            Caller::ApiKey(token) => return self.key_on_vendor(token, vendor_id, need).await,
        };
        let reads =
            async { Ok::<_, ApiError>(vendors::with_member(&self.deps.table, vendor_id, person.user_id).await?) };
        let (roles, (vendor, member)) = tokio::try_join!(self.live_roles(), reads)?;
        let vendor = vendor.ok_or(ApiError::NotFound("vendor"))?;
        let caller = Principal { roles: roles.to_vec(), ..person.clone() };
        let role = member.map(|m| m.role);
        decide(&caller, &vendor, role, need.member())?;
        Ok(VendorAccess { vendor, role })
    }

    async fn key_on_vendor(
        &self,
        token: &ApiKeyToken,
        vendor_id: VendorId,
        need: Need,
    ) -> Result<VendorAccess, ApiError> {
        let (permission, target) = need.api_key().ok_or_else(people_only)?;
        let hasher = self.deps.verifier.api_keys().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!("this route takes API keys but the function has no API_KEY_HASH_KEY"))
        })?;
        let table = &self.deps.table;
        let (record, vendor) =
            tokio::try_join!(async { Ok::<_, ApiError>(api_keys::get(table, token.id).await?) }, async {
                Ok::<_, ApiError>(vendors::get(table, vendor_id).await?)
            },)?;
        let key = match record {
            Some(record) if hasher.verify(token, &record.secret_hash) => record.key,
            _ => return Err(ApiError::Unauthorized("this API key is not valid".into())),
        };
        if !key.is_active() {
            return Err(ApiError::Unauthorized("this API key was revoked".into()));
        }
        decide_key(&key, vendor_id, vendor.as_ref(), permission, target)?;
        let vendor = vendor.ok_or(ApiError::NotFound("vendor"))?;
        let _ = self.key.set(key);
        Ok(VendorAccess { vendor, role: None })
    }

    /// Refuses the request unless the caller holds one of `roles`: the token must carry it (403
    /// without a read), and so must the account now (a role taken away counts at once).
    pub async fn require_any(&self, roles: &[PlatformRole]) -> Result<(), ApiError> {
        let person = self.person()?;
        person.require_any(roles)?;
        let live = Principal { roles: self.live_roles().await?.to_vec(), ..person.clone() };
        live.require_any(roles)
    }

    /// Runs a create at most once per `Idempotency-Key` of this caller (see [`idempotent`]).
    pub async fn idempotent(
        &self,
        work: impl AsyncFnOnce(Option<&Idempotency>) -> Result<Response<Body>, ApiError>,
    ) -> Result<Response<Body>, ApiError> {
        let scope = match &self.caller {
            Caller::Person(person) => person.user_id.to_string(),
            Caller::ApiKey(token) => format!("key:{}", token.id),
        };
        idempotent(self.req, &scope, self.store().await?, work).await
    }
}
