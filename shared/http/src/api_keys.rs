//! API keys on the wire and at rest. A key is `syk_<key id>_<secret>`: the key's id (a ULID, so
//! the request finds its record with one GetItem) and 32 random bytes in unpadded base64url. The
//! table holds HMAC-SHA256 of the id and secret under a key from configuration
//! (`API_KEY_HASH_KEY`): the secret is random, so a fast keyed hash is enough (no password
//! stretching), and a copy of the table alone can neither recover a secret nor make one that
//! verifies.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use stockyard_domain::ids::ApiKeyId;

/// What every key starts with, so a key is told from an access token (and found by secret scanners).
pub const PREFIX: &str = "syk_";
/// Random bytes in a key's secret.
const SECRET_BYTES: usize = 32;
/// The shortest hash key accepted from configuration.
const MIN_HASH_KEY_BYTES: usize = 32;
/// Binds the hash to this use and format.
const DOMAIN: &[u8] = b"stockyard api key v1";

/// A key as a client presents it (or as it is made, before it is shown once).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyToken {
    pub id: ApiKeyId,
    secret: [u8; SECRET_BYTES],
}

impl std::fmt::Debug for ApiKeyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyToken").field("id", &self.id).finish_non_exhaustive()
    }
}

impl ApiKeyToken {
    /// A new key with a fresh id and a secret from the operating system's random source.
    pub fn generate() -> anyhow::Result<Self> {
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no random bytes for an API key: {e}"))?;
        Ok(Self { id: ApiKeyId::generate(), secret })
    }

    /// Whether a bearer credential is meant as an API key (it may still be malformed).
    pub fn looks_like(credential: &str) -> bool {
        credential.starts_with(PREFIX)
    }

    /// Reads `syk_<id>_<secret>`; `None` unless it is exactly that shape.
    pub fn parse(credential: &str) -> Option<Self> {
        let rest = credential.strip_prefix(PREFIX)?;
        let (id, text) = rest.split_once('_')?;
        let id = ApiKeyId::parse("key", id).ok()?;
        let secret: [u8; SECRET_BYTES] = URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()?;
        // one spelling per secret: the encoding must round-trip (no stray trailing bits)
        (URL_SAFE_NO_PAD.encode(secret) == text).then_some(Self { id, secret })
    }

    /// The key as the client keeps it (shown once, when it is made).
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.id, URL_SAFE_NO_PAD.encode(self.secret))
    }

    /// The start of the key and its last four characters, to recognise it by in a list.
    pub fn hint(&self) -> String {
        let secret = URL_SAFE_NO_PAD.encode(self.secret);
        format!("{PREFIX}{}_…{}", self.id, &secret[secret.len() - 4..])
    }
}

/// Hashes and checks keys' secrets with the configured hash key. Built once per process.
pub struct ApiKeyHasher {
    key: Vec<u8>,
}

impl ApiKeyHasher {
    pub fn new(key: &[u8]) -> anyhow::Result<Self> {
        if key.len() < MIN_HASH_KEY_BYTES {
            anyhow::bail!("the API key hash key must be at least {MIN_HASH_KEY_BYTES} bytes");
        }
        Ok(Self { key: key.to_vec() })
    }

    /// From `API_KEY_HASH_KEY`, when the function is given it (the functions that issue keys or
    /// take them); `None` otherwise.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        match std::env::var("API_KEY_HASH_KEY") {
            Ok(value) if !value.is_empty() => Self::new(value.as_bytes()).map(Some),
            _ => Ok(None),
        }
    }

    fn mac(&self, token: &ApiKeyToken) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(DOMAIN);
        mac.update(b"\0");
        mac.update(token.id.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(&token.secret);
        mac
    }

    /// The hash stored for a key (hex).
    pub fn digest(&self, token: &ApiKeyToken) -> String {
        self.mac(token).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `token` is the key `stored` was made from (compared in constant time).
    pub fn verify(&self, token: &ApiKeyToken, stored: &str) -> bool {
        let Some(expected) = hex(stored) else { return false };
        self.mac(token).verify_slice(&expected).is_ok()
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> ApiKeyHasher {
        ApiKeyHasher::new(b"a local hash key of thirty-two bytes or more").unwrap()
    }

    #[test]
    fn a_key_is_shown_as_prefix_id_and_secret_and_reads_back_the_same() {
        let token = ApiKeyToken::generate().unwrap();
        let shown = token.reveal();
        assert!(shown.starts_with(&format!("syk_{}_", token.id)));
        assert_eq!(shown.len(), 4 + 26 + 1 + 43);
        assert_eq!(ApiKeyToken::parse(&shown), Some(token.clone()));
        assert!(token.hint().ends_with(&shown[shown.len() - 4..]));
        assert!(!format!("{token:?}").contains(&shown[31..]), "debug output never shows the secret");
    }

    #[test]
    fn anything_not_exactly_a_key_is_refused() {
        let shown = ApiKeyToken::generate().unwrap().reveal();
        for bad in [
            shown[..shown.len() - 1].to_string(),
            format!("{shown}A"),
            shown.replacen("syk_", "sk_", 1),
            shown.replacen('_', "-", 2),
            format!("syk_not-an-id_{}", &shown[31..]),
            "eyJhbGciOiJFZERTQSJ9.e30.sig".into(),
        ] {
            assert_eq!(ApiKeyToken::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_hash_verifies_its_own_key_only() {
        let (a, b) = (ApiKeyToken::generate().unwrap(), ApiKeyToken::generate().unwrap());
        let hashed = hasher().digest(&a);
        assert_eq!(hashed.len(), 64);
        assert!(hasher().verify(&a, &hashed));
        assert!(!hasher().verify(&b, &hashed));
        let same_secret_other_id = ApiKeyToken { id: ApiKeyId::generate(), ..a.clone() };
        assert!(!hasher().verify(&same_secret_other_id, &hashed), "the id is part of what is hashed");
        let other_key = ApiKeyHasher::new(&[7u8; 32]).unwrap();
        assert!(!other_key.verify(&a, &hashed), "a hash from another deployment's key does not verify");
        assert!(!hasher().verify(&a, "not hex"));
    }

    #[test]
    fn the_hash_is_hmac_sha256_of_the_domain_id_and_secret() {
        // RFC 4231 test case 2 checks the HMAC itself; the key's framing is checked by recomputing it.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let rfc: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(rfc, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let token = ApiKeyToken { id: ApiKeyId::parse("id", "01JD2Z8Q4Y6W3V5T7R9P1N3M5K").unwrap(), secret: [1; 32] };
        let mut framed = Hmac::<Sha256>::new_from_slice(b"a local hash key of thirty-two bytes or more").unwrap();
        framed.update(b"stockyard api key v1\x0001JD2Z8Q4Y6W3V5T7R9P1N3M5K\x00");
        framed.update(&[1; 32]);
        let expected: String = framed.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hasher().digest(&token), expected);
    }

    #[test]
    fn a_short_hash_key_is_refused() {
        assert!(ApiKeyHasher::new(b"too short").is_err());
    }
}
