//! The signed links of account emails: verify an address, reset a password, confirm a new
//! address. Each is a JWT signed with the access tokens' Ed25519 key, for an audience of its own
//! (`<audience>/<purpose>`), so a link is never an access token, nor a link of another purpose.
//! `route-table-events` signs them when it sends the email; the functions that act on a link hold
//! only the verifying key every function has. A link says whom and which address it is for, and
//! expires; a reset link also names the credentials version it was made under, so it works once.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{EmailId, UserId};
use stockyard_domain::values::Email;

use crate::ApiError;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
}

impl LinkPurpose {
    fn name(self) -> &'static str {
        match self {
            LinkPurpose::VerifyEmail => "verify-email",
            LinkPurpose::ResetPassword => "reset-password",
            LinkPurpose::ChangeEmail => "change-email",
        }
    }

    /// How long a link stays valid after it was requested.
    pub fn ttl(self) -> Duration {
        match self {
            LinkPurpose::VerifyEmail => Duration::days(2),
            LinkPurpose::ResetPassword => Duration::hours(1),
            LinkPurpose::ChangeEmail => Duration::days(1),
        }
    }
}

/// What a link says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The account.
    pub sub: UserId,
    /// The address the link was sent to (to verify, or to make the account's).
    pub email: Email,
    /// The account's credentials version when the link was requested.
    pub ver: u64,
    /// The account's address when an address change was requested (the link works only while it
    /// still is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Email>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The email that carried the link.
    pub jti: EmailId,
}

fn audience_for(audience: &str, purpose: LinkPurpose) -> String {
    format!("{audience}/{}", purpose.name())
}

fn pem(value: &str) -> Vec<u8> {
    value.replace("\\n", "\n").into_bytes()
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("environment variable {name} is not set"))
}

/// What a link is made for.
pub struct LinkSubject<'a> {
    pub user_id: UserId,
    pub email: &'a Email,
    pub credentials_version: u64,
    /// The account's address, for a link that changes it.
    pub previous_email: Option<&'a Email>,
    /// When the link was requested (it expires [`LinkPurpose::ttl`] later).
    pub requested_at: DateTime<Utc>,
    pub email_id: EmailId,
}

/// Signs links (only the function that sends account emails holds one).
pub struct LinkSigner {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl LinkSigner {
    pub fn new(signing_key_pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ed_pem(&pem(signing_key_pem))
            .map_err(|e| anyhow::anyhow!("JWT signing key is not an Ed25519 private key in PEM: {e}"))?;
        Ok(Self { key, issuer: issuer.into(), audience: audience.into() })
    }

    /// From `JWT_SIGNING_KEY`, `JWT_ISSUER` and `JWT_AUDIENCE`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::new(&env("JWT_SIGNING_KEY")?, &env("JWT_ISSUER")?, &env("JWT_AUDIENCE")?)
    }

    /// The link's token. The same request always signs the same token (every claim comes from
    /// the request), so a re-delivered event sends the same email.
    pub fn sign(&self, purpose: LinkPurpose, subject: &LinkSubject<'_>) -> anyhow::Result<String> {
        let claims = LinkClaims {
            sub: subject.user_id,
            email: subject.email.clone(),
            ver: subject.credentials_version,
            previous: subject.previous_email.cloned(),
            iss: self.issuer.clone(),
            aud: audience_for(&self.audience, purpose),
            iat: subject.requested_at.timestamp(),
            exp: (subject.requested_at + purpose.ttl()).timestamp(),
            jti: subject.email_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .map_err(|e| anyhow::anyhow!("signing a {} link: {e}", purpose.name()))
    }
}

/// Checks links.
pub struct LinkVerifier {
    key: DecodingKey,
    issuer: String,
    audience: String,
}

/// The one answer to a link that does not work, whatever the reason.
pub fn invalid_link() -> ApiError {
    ApiError::unprocessable(
        "invalid_link",
        Some("token"),
        "this link is invalid, has expired or was already used; ask for a new one",
    )
}

impl LinkVerifier {
    pub fn new(verifying_key_pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key = DecodingKey::from_ed_pem(&pem(verifying_key_pem))
            .map_err(|e| anyhow::anyhow!("JWT verifying key is not an Ed25519 public key in PEM: {e}"))?;
        Ok(Self { key, issuer: issuer.into(), audience: audience.into() })
    }

    /// From `JWT_VERIFYING_KEY`, `JWT_ISSUER` and `JWT_AUDIENCE`.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::new(&env("JWT_VERIFYING_KEY")?, &env("JWT_ISSUER")?, &env("JWT_AUDIENCE")?)
    }

    /// The claims of a link for `purpose`; [`invalid_link`] for anything else (expired, tampered,
    /// of another purpose, an access token).
    pub fn verify(&self, purpose: LinkPurpose, token: &str) -> Result<LinkClaims, ApiError> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[audience_for(&self.audience, purpose)]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        jsonwebtoken::decode::<LinkClaims>(token.trim(), &self.key, &validation)
            .map(|d| d.claims)
            .map_err(|_| invalid_link())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{TokenIssuer, TokenSubject};

    const SIGNING: &str = include_str!("../../../infra/local/dev/jwt-signing-key.pem");
    const VERIFYING: &str = include_str!("../../../infra/local/dev/jwt-verifying-key.pem");

    fn subject(email: &Email, requested_at: DateTime<Utc>) -> LinkSubject<'_> {
        LinkSubject {
            user_id: UserId::generate(),
            email,
            credentials_version: 3,
            previous_email: None,
            requested_at,
            email_id: EmailId::generate(),
        }
    }

    #[test]
    fn a_link_verifies_for_its_purpose_only_and_until_it_expires() {
        let email = Email::parse("email", "ada@example.com").unwrap();
        let signer = LinkSigner::new(SIGNING, "stockyard", "stockyard-test").unwrap();
        let verifier = LinkVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap();
        let made = subject(&email, Utc::now());
        let token = signer.sign(LinkPurpose::ResetPassword, &made).unwrap();
        let claims = verifier.verify(LinkPurpose::ResetPassword, &token).unwrap();
        assert_eq!((claims.sub, &claims.email, claims.ver), (made.user_id, &email, 3));
        assert_eq!(signer.sign(LinkPurpose::ResetPassword, &made).unwrap(), token, "the same request, the same link");
        assert_eq!(verifier.verify(LinkPurpose::VerifyEmail, &token).unwrap_err().code(), "invalid_link");

        let old = subject(&email, Utc::now() - Duration::hours(1) - Duration::seconds(1));
        let expired = signer.sign(LinkPurpose::ResetPassword, &old).unwrap();
        assert!(verifier.verify(LinkPurpose::ResetPassword, &expired).is_err(), "a reset link lasts an hour");
        let still = signer.sign(LinkPurpose::VerifyEmail, &old).unwrap();
        assert!(verifier.verify(LinkPurpose::VerifyEmail, &still).is_ok(), "a verification link lasts two days");
    }

    #[test]
    fn an_access_token_is_not_a_link_and_a_link_is_not_an_access_token() {
        let email = Email::parse("email", "ada@example.com").unwrap();
        let issuer = TokenIssuer::new(SIGNING, "stockyard", "stockyard-test").unwrap();
        let access = issuer
            .issue(
                &TokenSubject {
                    user_id: UserId::generate(),
                    session: stockyard_domain::ids::TokenFamilyId::generate(),
                    credentials_version: 0,
                    email: &email,
                    roles: &[],
                    vendor_id: None,
                    vendor_role: None,
                },
                Utc::now(),
            )
            .unwrap();
        let verifier = LinkVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap();
        assert!(verifier.verify(LinkPurpose::VerifyEmail, &access).is_err());

        let link = LinkSigner::new(SIGNING, "stockyard", "stockyard-test")
            .unwrap()
            .sign(LinkPurpose::VerifyEmail, &subject(&email, Utc::now()))
            .unwrap();
        let tokens = crate::TokenVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap();
        assert!(tokens.verify(&link).is_err());
    }
}
