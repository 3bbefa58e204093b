//! Access tokens: Ed25519-signed JWTs carrying the user, their platform roles and their vendor.
//! Only the token-issuing functions hold the signing key; every function holds the verifying key.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{TokenFamilyId, UserId, VendorId};
use stockyard_domain::roles::{PlatformRole, VendorRole};
use stockyard_domain::values::Email;

use crate::ApiError;
use crate::api_keys::{ApiKeyHasher, ApiKeyToken};
use crate::context::Caller;
use crate::request::header;

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    /// The session (refresh-token family) the token was issued in: revoking it ends the token.
    pub sid: TokenFamilyId,
    /// The account's credentials version when issued: a password change ends the token.
    #[serde(default)]
    pub ver: u64,
    pub email: Email,
    pub roles: Vec<PlatformRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_role: Option<VendorRole>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user_id: UserId,
    pub email: Email,
    /// The platform roles the token carries (checked against the account on privileged routes).
    pub roles: Vec<PlatformRole>,
    pub session: TokenFamilyId,
    /// The account's credentials version the token was issued under.
    pub credentials_version: u64,
}

impl Principal {
    pub fn has(&self, role: PlatformRole) -> bool {
        self.roles.contains(&role)
    }

    /// Refuses the request unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[PlatformRole]) -> Result<(), ApiError> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs one of the roles: {}",
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }

    /// Admin and support may read every account.
    pub fn reads_all_accounts(&self) -> bool {
        self.roles.iter().any(|r| r.reads_all_accounts())
    }
}

fn pem_from_env(value: &str) -> Vec<u8> {
    // Environment variables sometimes carry PEM with literal "\n" sequences.
    value.replace("\\n", "\n").into_bytes()
}

/// Checks access tokens, and where the function is given the hash key, API keys' secrets. Built
/// once per process.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    api_keys: Option<ApiKeyHasher>,
}

impl TokenVerifier {
    pub fn new(verifying_key_pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key = DecodingKey::from_ed_pem(&pem_from_env(verifying_key_pem))
            .map_err(|e| anyhow::anyhow!("JWT verifying key is not an Ed25519 public key in PEM: {e}"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self { key, validation, api_keys: None })
    }

    /// From `JWT_VERIFYING_KEY`, `JWT_ISSUER` and `JWT_AUDIENCE`; API keys with `API_KEY_HASH_KEY`
    /// when the function is given it.
    pub fn from_env() -> anyhow::Result<Self> {
        let env = stockyard_platform_env;
        let verifier = Self::new(&env("JWT_VERIFYING_KEY")?, &env("JWT_ISSUER")?, &env("JWT_AUDIENCE")?)?;
        Ok(Self { api_keys: ApiKeyHasher::from_env()?, ..verifier })
    }

    /// The same verifier, checking API keys with `hasher`.
    pub fn with_api_keys(self, hasher: ApiKeyHasher) -> Self {
        Self { api_keys: Some(hasher), ..self }
    }

    /// What checks API keys' secrets here, if this function takes or issues keys.
    pub fn api_keys(&self) -> Option<&ApiKeyHasher> {
        self.api_keys.as_ref()
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map(|d| d.claims).map_err(|e| {
            ApiError::Unauthorized(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "access token has expired; refresh it",
                    ErrorKind::InvalidAudience => "access token is for another audience",
                    ErrorKind::InvalidIssuer => "access token is from another issuer",
                    _ => "access token is invalid",
                }
                .into(),
            )
        })
    }

    /// The caller, from `Authorization: Bearer <access token>` (a person) or `Bearer syk_...` (an
    /// API key, whose secret is checked where a route takes keys).
    pub fn authenticate(&self, req: &Request) -> Result<Caller, ApiError> {
        let value = header(req, "authorization")
            .ok_or_else(|| ApiError::Unauthorized("sign in: send Authorization: Bearer <access token>".into()))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be Bearer <access token>".into()))?
            .trim();
        if ApiKeyToken::looks_like(token) {
            return ApiKeyToken::parse(token)
                .map(Caller::ApiKey)
                .ok_or_else(|| ApiError::Unauthorized("this API key is malformed".into()));
        }
        let claims = self.verify(token)?;
        Ok(Caller::Person(Principal {
            user_id: claims.sub,
            email: claims.email,
            roles: claims.roles,
            session: claims.sid,
            credentials_version: claims.ver,
        }))
    }
}

/// Reads a required variable (kept here so the HTTP crate needs no platform dependency).
fn stockyard_platform_env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("environment variable {name} is not set"))
}

/// What a token is issued for.
pub struct TokenSubject<'a> {
    pub user_id: UserId,
    pub session: TokenFamilyId,
    pub credentials_version: u64,
    pub email: &'a Email,
    pub roles: &'a [PlatformRole],
    pub vendor_id: Option<VendorId>,
    pub vendor_role: Option<VendorRole>,
}

/// Signs access tokens. Only the login and refresh functions build one.
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
    pub ttl: Duration,
}

impl TokenIssuer {
    pub const DEFAULT_TTL: Duration = Duration::minutes(15);

    pub fn new(signing_key_pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(&pem_from_env(signing_key_pem))
            .map_err(|e| anyhow::anyhow!("JWT signing key is not an Ed25519 private key in PEM: {e}"))?;
        Ok(Self { key, issuer: issuer.into(), audience: audience.into(), ttl: Self::DEFAULT_TTL })
    }

    /// From `JWT_SIGNING_KEY`, `JWT_ISSUER` and `JWT_AUDIENCE`.
    pub fn from_env() -> anyhow::Result<Self> {
        let env = stockyard_platform_env;
        Self::new(&env("JWT_SIGNING_KEY")?, &env("JWT_ISSUER")?, &env("JWT_AUDIENCE")?)
    }

    /// A signed access token valid for `ttl` from `now`.
    pub fn issue(&self, subject: &TokenSubject<'_>, now: DateTime<Utc>) -> Result<String, ApiError> {
        let claims = Claims {
            sub: subject.user_id,
            sid: subject.session,
            ver: subject.credentials_version,
            email: subject.email.clone(),
            roles: subject.roles.to_vec(),
            vendor_id: subject.vendor_id,
            vendor_role: subject.vendor_role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            jti: ulid::Ulid::new().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("signing an access token: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNING: &str = include_str!("../../../infra/local/dev/jwt-signing-key.pem");
    const VERIFYING: &str = include_str!("../../../infra/local/dev/jwt-verifying-key.pem");

    fn subject(email: &Email) -> TokenSubject<'_> {
        TokenSubject {
            user_id: UserId::generate(),
            session: TokenFamilyId::generate(),
            credentials_version: 0,
            email,
            roles: &[PlatformRole::Customer],
            vendor_id: None,
            vendor_role: None,
        }
    }

    #[test]
    fn a_token_issued_here_verifies_with_its_claims() {
        let email = Email::parse("email", "ada@example.com").unwrap();
        let issuer = TokenIssuer::new(SIGNING, "stockyard", "stockyard-test").unwrap();
        let token = issuer.issue(&subject(&email), Utc::now()).unwrap();
        let claims = TokenVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap().verify(&token).unwrap();
        assert_eq!(claims.email, email);
        assert_eq!(claims.roles, vec![PlatformRole::Customer]);
    }

    #[test]
    fn expired_tampered_and_foreign_audience_tokens_are_refused() {
        let email = Email::parse("email", "ada@example.com").unwrap();
        let issuer = TokenIssuer::new(SIGNING, "stockyard", "stockyard-test").unwrap();
        let verifier = TokenVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap();

        let expired = issuer.issue(&subject(&email), Utc::now() - Duration::hours(1)).unwrap();
        assert!(verifier.verify(&expired).unwrap_err().to_string().contains("expired"));

        let good = issuer.issue(&subject(&email), Utc::now()).unwrap();
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(verifier.verify(&parts.join(".")).is_err());

        let other = TokenIssuer::new(SIGNING, "stockyard", "stockyard-prod").unwrap();
        let foreign = other.issue(&subject(&email), Utc::now()).unwrap();
        assert!(verifier.verify(&foreign).unwrap_err().to_string().contains("audience"));
    }
}
