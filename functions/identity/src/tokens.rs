//! Refresh tokens: random, single-use, stored only as a SHA-256 hash, rotated on every refresh.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use sha2::{Digest, Sha256};

/// How long a session lasts without being refreshed.
pub const REFRESH_TTL: Duration = Duration::days(30);

/// A new refresh token (256 random bits) and the hash to store.
pub fn new_refresh_token() -> anyhow::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    Ok((token, hash))
}

pub fn hash_refresh_token(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_unique_and_stored_only_as_hashes() {
        let (a, a_hash) = new_refresh_token().unwrap();
        let (b, _) = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a_hash, hash_refresh_token(&a));
        assert!(!a_hash.contains(&a));
        assert_eq!(a_hash.len(), 64);
    }
}
