//! Who may use a cart: its customer, signed in, or whoever holds a guest cart's token (sent as
//! `X-Cart-Token`). Nobody else, whatever their role: a vendor, support or an administrator is
//! answered 404 for a cart that is not theirs, as is a wrong or missing token, so a cart's
//! existence is never told to someone who may not use it. API keys have no business with carts
//! (403).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use stockyard_domain::FieldError;
use stockyard_domain::cart::{Cart, TOKEN_BYTES, TOKEN_PATTERN};
use stockyard_domain::ids::{CartId, UserId};
use stockyard_http::request::header;
use stockyard_http::{ApiDeps, ApiError, Ctx, Request};
use stockyard_store::{Table, carts};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// The header a guest sends its cart token in.
pub const CART_TOKEN_HEADER: &str = "X-Cart-Token";

/// A cart token as the API documents it: 32 random bytes in unpadded base64url.
pub struct CartToken;

impl utoipa::PartialSchema for CartToken {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A guest cart's token: 32 random bytes in unpadded base64url (43 characters), handed out once when \
                 the cart is made",
            ))
            .min_length(Some(43))
            .max_length(Some(43))
            .pattern(Some(TOKEN_PATTERN))
            .examples([serde_json::json!("q6w3hZrJmS1pVx0yT9kLcN2bE4fG7aH8uD5iO0jK1lM")])
            .into()
    }
}

impl utoipa::ToSchema for CartToken {}

/// A new cart token from the operating system's random source.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("no random bytes for a cart token: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A cart token exactly as [`new_token`] writes them (one spelling per token), naming `field`.
pub fn parse_token(field: &str, raw: &str) -> Result<String, FieldError> {
    let decoded = URL_SAFE_NO_PAD.decode(raw).ok().filter(|bytes| bytes.len() == TOKEN_BYTES);
    match decoded {
        Some(bytes) if URL_SAFE_NO_PAD.encode(&bytes) == raw => Ok(raw.to_string()),
        _ => Err(FieldError::new(field, "is not a cart token (43 characters of base64url, as POST /carts gave it)")),
    }
}

/// The caller of a cart route: a signed-in person (their session checked before the store is
/// reached), a guest's cart token, both, or neither.
pub struct Shopper<'r> {
    deps: &'r ApiDeps,
    cx: Option<Ctx<'r>>,
    token: Option<String>,
}

impl<'r> Shopper<'r> {
    /// Reads the caller: an `Authorization` header must be a valid access token (401) of a person
    /// (an API key: 403); an `X-Cart-Token` must be well formed (422). Neither is needed.
    pub fn new(deps: &'r ApiDeps, req: &'r Request) -> Result<Self, ApiError> {
        let cx = match header(req, "authorization") {
            Some(_) => {
                let cx = Ctx::new(deps, req)?;
                cx.person()?;
                Some(cx)
            }
            None => None,
        };
        // Present means sent: an empty or unreadable token is refused, never taken for none.
        let token = req
            .headers()
            .get(CART_TOKEN_HEADER)
            .map(|raw| parse_token(CART_TOKEN_HEADER, raw.to_str().unwrap_or_default().trim()))
            .transpose()?;
        Ok(Self { deps, cx, token })
    }

    /// The signed-in customer, if any (their session is checked by [`Shopper::table`]).
    pub fn customer(&self) -> Option<UserId> {
        self.cx.as_ref().and_then(|cx| cx.person().ok()).map(|p| p.user_id)
    }

    /// The signed-in customer's email as their account has it now (`None` for a guest).
    pub async fn account_email(&self) -> Result<Option<String>, ApiError> {
        match &self.cx {
            Some(cx) => Ok(Some(cx.account().await?.email.as_str().to_string())),
            None => Ok(None),
        }
    }

    /// The signed-in customer, or 401.
    pub fn signed_in(&self) -> Result<UserId, ApiError> {
        self.customer()
            .ok_or_else(|| ApiError::Unauthorized("sign in: send Authorization: Bearer <access token>".into()))
    }

    /// The store, once a signed-in caller's session is known to be alive.
    pub async fn table(&self) -> Result<&'r Table, ApiError> {
        match &self.cx {
            Some(cx) => cx.store().await,
            None => Ok(&self.deps.table),
        }
    }

    /// The cart `id`, if this caller may use it; 404 otherwise (and when it is gone or expired).
    pub async fn cart(&self, id: CartId) -> Result<Cart, ApiError> {
        let table = self.table().await?;
        carts::get(table, id)
            .await?
            .filter(|cart| cart.may_use(self.customer(), self.token.as_deref()))
            .ok_or(ApiError::NotFound("cart"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_43_characters_of_base64url_and_reads_back_only_as_written() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), 43);
        let pattern_chars = |t: &str| t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        assert!(pattern_chars(&token));
        assert_eq!(parse_token("t", &token).unwrap(), token);
        assert_ne!(new_token().unwrap(), token);
        for bad in ["", "abc", &format!("{token}="), &token[..42], &format!("{token}A"), &token.replace('A', "+")] {
            if bad != token {
                assert_eq!(parse_token("token", bad).unwrap_err().field, "token", "{bad:?}");
            }
        }
        // 43 characters carry 258 bits: a last character with stray low bits is another spelling.
        let mut stray = token[..42].to_string();
        stray.push('B');
        let mut clean = token[..42].to_string();
        clean.push('A');
        assert!(parse_token("t", &clean).is_ok());
        assert!(parse_token("t", &stray).is_err());
    }
}
