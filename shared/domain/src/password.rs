//! Password hashing with Argon2id (the crate's defaults: 19 MiB, 2 passes): one implementation
//! for the sign-in functions and for tools that make hashes for configuration.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

pub use argon2::password_hash::Error;

/// An Argon2id PHC string of `password` with a random salt.
pub fn hash(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
}

/// Whether `stored` is a PHC string this module can verify against.
pub fn is_hash(stored: &str) -> Result<(), Error> {
    PasswordHash::new(stored).map(|_| ())
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Spends the same time as a real check when the account does not exist, so response times
/// do not reveal which emails have accounts.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: LazyLock<String> = LazyLock::new(|| hash("stockyard-timing-equaliser").unwrap_or_default());
    let _ = verify(password, &DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse battery!", &stored));
        assert!(!verify("anything", "not a hash"));
        assert!(is_hash(&stored).is_ok() && is_hash("not a hash").is_err());
    }
}
