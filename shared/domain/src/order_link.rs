//! Signed links to one order group, for guests: the confirmation email carries
//! `<AppUrl>/orders/<group id>?token=<token>`, and whoever holds the token may read that group
//! (and only that one) until the link expires.
//!
//! A token is `<expiry, Unix seconds>.<MAC>`: the MAC is HMAC-SHA256 under the platform's order
//! link secret over `stockyard-order-link|<group id>|<expiry>`, written in unpadded URL-safe
//! base64, so the token needs no escaping in a query string. The group is not in the token: the
//! verifier checks it against the group the URL names, so a token of one group opens no other.
//! The MAC is compared in constant time; an expired link is refused whatever its MAC.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::OrderGroupId;

/// How long a link in a confirmation email works.
pub const VALIDITY_DAYS: i64 = 90;

/// What the MAC covers besides the group and the expiry: a purpose of its own, so a MAC made
/// under the same secret for anything else never passes for an order link.
const PURPOSE: &str = "stockyard-order-link";

/// The length of a SHA-256 MAC in bytes.
const MAC_LEN: usize = 32;

/// Why a link does not open the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token this module makes: no expiry, a MAC that is not base64 of 32 bytes.
    #[error("the link is malformed")]
    Malformed,
    /// Made for another group, under another secret, or altered.
    #[error("the link is not valid for this order")]
    Mismatch,
    /// Valid, but its time is over.
    #[error("the link has expired")]
    Expired,
}

fn mac(key: &[u8], group: OrderGroupId, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(format!("{PURPOSE}|{group}|{expires}").as_bytes());
    mac
}

/// The token of a link to `group` that works until `expires_at` (to the second).
pub fn sign(key: &[u8], group: OrderGroupId, expires_at: DateTime<Utc>) -> String {
    let expires = expires_at.timestamp();
    let tag = mac(key, group, expires).finalize().into_bytes();
    format!("{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The expiry of a link made at `now`: [`VALIDITY_DAYS`] later.
pub fn expiry_from(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::days(VALIDITY_DAYS)
}

/// Checks that `token` opens `group` at `now`: made by [`sign`] under `key` for this group, and
/// not expired (a link expiring at `now` exactly has expired).
pub fn verify(key: &[u8], group: OrderGroupId, token: &str, now: DateTime<Utc>) -> Result<(), LinkError> {
    let (expires, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
    if expires.is_empty() || expires.len() > 12 || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LinkError::Malformed);
    }
    let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Malformed)?;
    if tag.len() != MAC_LEN {
        return Err(LinkError::Malformed);
    }
    // The MAC first, in constant time: an altered expiry is a mismatch, not "expired".
    mac(key, group, expires).verify_slice(&tag).map_err(|_| LinkError::Mismatch)?;
    if now.timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"order-link-secret-for-tests-only-0123456789";

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
    }

    fn group() -> OrderGroupId {
        OrderGroupId::parse("group", "01JDB0000000000000000000G1").unwrap()
    }

    #[test]
    fn a_signed_link_opens_its_group_until_it_expires() {
        let now = at("2026-12-01T10:00:00Z");
        let token = sign(KEY, group(), expiry_from(now));
        assert_eq!(verify(KEY, group(), &token, now), Ok(()));
        assert_eq!(verify(KEY, group(), &token, at("2027-02-28T09:59:59Z")), Ok(()), "89 days later");
        assert_eq!(verify(KEY, group(), &token, at("2027-03-01T10:00:00Z")), Err(LinkError::Expired), "90 days");
    }

    #[test]
    fn a_token_is_url_safe_and_the_same_for_the_same_group_and_expiry() {
        let expires = at("2027-03-01T10:00:00Z");
        let token = sign(KEY, group(), expires);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{token}");
        assert!(token.starts_with(&format!("{}.", expires.timestamp())));
        assert_eq!(token, sign(KEY, group(), expires));
    }

    #[test]
    fn a_link_of_another_group_or_under_another_key_opens_nothing() {
        let now = at("2026-12-01T10:00:00Z");
        let token = sign(KEY, group(), expiry_from(now));
        let other = OrderGroupId::parse("group", "01JDB0000000000000000000G2").unwrap();
        assert_eq!(verify(KEY, other, &token, now), Err(LinkError::Mismatch));
        assert_eq!(verify(b"another secret", group(), &token, now), Err(LinkError::Mismatch));
    }

    #[test]
    fn an_altered_expiry_or_mac_is_a_mismatch_even_when_the_new_expiry_is_later() {
        let now = at("2026-12-01T10:00:00Z");
        let token = sign(KEY, group(), now + Duration::days(1));
        let (_, tag) = token.split_once('.').unwrap();
        let later = format!("{}.{tag}", (now + Duration::days(400)).timestamp());
        assert_eq!(verify(KEY, group(), &later, now), Err(LinkError::Mismatch));
        let mut bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
        bytes[0] ^= 1;
        let flipped = format!("{}.{}", (now + Duration::days(1)).timestamp(), URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(verify(KEY, group(), &flipped, now), Err(LinkError::Mismatch));
        // Expired and altered: the MAC is judged first.
        let old = sign(KEY, group(), now - Duration::days(1));
        assert_eq!(verify(KEY, group(), &old, now), Err(LinkError::Expired));
    }

    #[test]
    fn tokens_that_are_not_tokens_are_malformed() {
        let now = at("2026-12-01T10:00:00Z");
        let good = sign(KEY, group(), now + Duration::days(1));
        let (expires, tag) = good.split_once('.').unwrap();
        for bad in [
            "".to_string(),
            "nodot".to_string(),
            format!(".{tag}"),
            format!("-5.{tag}"),
            format!("+{expires}.{tag}"),
            format!("{expires}."),
            format!("{expires}.{}", &tag[..tag.len() - 2]),
            format!("{expires}.{tag}="),
            format!("{expires}.{}", tag.replace(|c: char| c.is_ascii_alphanumeric(), "+")),
            format!("99999999999999999999.{tag}"),
        ] {
            assert_eq!(verify(KEY, group(), &bad, now), Err(LinkError::Malformed), "{bad:?}");
        }
    }
}
