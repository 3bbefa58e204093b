//! Time-ordered identifiers (ULID). Each entity has its own type so ids cannot be mixed up.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ulid::Ulid;

/// The next ULID of this process: later than every one made before it here, also within one
/// millisecond (the random part is incremented), so "oldest first" is the order of creation.
pub(crate) fn next_ulid() -> Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Fails only when 2^80 ids were made in one millisecond; a fresh random id is then fine.
    generator.generate().unwrap_or_else(|_| Ulid::new())
}

/// What [`parse_ulid`] accepts: 26 characters of Crockford's base 32 (either case, without the
/// letters I, L, O and U), the first at most 7 so that the value fits in 128 bits.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$";

/// A ULID exactly as written: no padding, and no first character that would overflow 128 bits
/// (which the decoder would silently wrap, so that two spellings named one id).
fn parse_ulid(raw: &str) -> Option<Ulid> {
    let first_fits = raw.as_bytes().first().is_some_and(|b| (b'0'..=b'7').contains(b));
    if raw.len() != ulid::ULID_LEN || !first_fits {
        return None;
    }
    Ulid::from_str(raw).ok()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Ulid);

        impl $name {
            /// A new id, ordered after every id made before it.
            pub fn generate() -> Self {
                Self($crate::ids::next_ulid())
            }

            /// Parses an id the client sent, naming `field` when it is not a valid id.
            pub fn parse(field: &str, raw: &str) -> Result<Self, crate::FieldError> {
                parse_ulid(raw).map(Self).ok_or_else(|| crate::FieldError::new(field, "is not a valid id"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some("ULID, time-ordered: 26 characters of Crockford base 32, the first 0-7"))
                    .min_length(Some(26))
                    .max_length(Some(26))
                    .pattern(Some(ULID_PATTERN))
                    .examples([serde_json::json!("01JD2Z8Q4Y6W3V5T7R9P1N3M5K")])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(/// A person with an account: customer, staff or platform operator.
    UserId);
id_type!(/// A vendor organisation selling on the marketplace.
    VendorId);
id_type!(/// A postal address in a user's address book.
    AddressId);
id_type!(/// An invitation for someone to join a vendor's staff.
    InvitationId);
id_type!(/// A vendor's stock location: warehouse or store.
    LocationId);
id_type!(/// A refresh-token family: every token rotated from one login.
    TokenFamilyId);
id_type!(/// An email the platform sends.
    EmailId);
id_type!(/// One run of the demand forecast for one vendor.
    ForecastRunId);
id_type!(/// A node of the catalog's category tree.
    CategoryId);
id_type!(/// A vendor's product: what shoppers browse, with one or more variants.
    ProductId);
id_type!(/// A product's image: one upload and the renditions made from it.
    ImageId);
id_type!(/// One sellable variant of a product (a size, a colour), with its own SKU and prices.
    VariantId);
id_type!(/// One CSV import of products into a vendor's catalog.
    ImportId);
id_type!(/// One CSV export of a vendor's catalog.
    ExportId);
id_type!(/// A transfer of stock from one of a vendor's locations to another.
    StockTransferId);
id_type!(/// A vendor's sales channel: storefront, point of sale or marketplace.
    ChannelId);
id_type!(/// A stock alert: one stock item crossing below its reorder point or running out.
    StockAlertId);

impl StockAlertId {
    /// The alert of the change that made `version` of the stock item of `variant` at `location`:
    /// the same whichever process derives it, so an alert raised from a change delivered twice is
    /// one alert (and one email).
    pub fn of_change(variant: VariantId, location: LocationId, version: u64) -> Self {
        // SplitMix64 over the three parts: deterministic, well spread, no allocation.
        fn mix(mut z: u64) -> u64 {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        let (v, l) = (u128::from(variant.0), u128::from(location.0));
        let hi = mix((v >> 64) as u64 ^ mix(v as u64) ^ mix(version));
        let lo = mix((l >> 64) as u64 ^ mix(l as u64 ^ hi));
        StockAlertId(Ulid::from((u128::from(hi) << 64) | u128::from(lo)))
    }

    /// The near-expiry alert of batch `lot` (expiring on `expires_on`) of the stock item of
    /// `variant` at `location`: the same every day the check finds it, so one alert and one email
    /// per batch. Derived like [`Self::of_change`], with the lot and date folded into the version
    /// part under a tag that no version reaches.
    pub fn of_batch(variant: VariantId, location: LocationId, lot: &str, expires_on: chrono::NaiveDate) -> Self {
        use std::hash::Hasher;
        // FNV-1a: stable across processes and releases (std's default hasher is not).
        struct Fnv(u64);
        impl Hasher for Fnv {
            fn finish(&self) -> u64 {
                self.0
            }
            fn write(&mut self, bytes: &[u8]) {
                for b in bytes {
                    self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        h.write(lot.as_bytes());
        h.write(expires_on.to_string().as_bytes());
        Self::of_change(variant, location, h.finish() | (1 << 63))
    }
}

impl From<StockAlertId> for EmailId {
    /// The email announcing an alert carries the alert's id: it is sent once per alert.
    fn from(id: StockAlertId) -> Self {
        EmailId(id.0)
    }
}
id_type!(/// A supplier a vendor buys from.
    SupplierId);
id_type!(/// An endpoint a vendor registered to receive webhooks.
    WebhookEndpointId);
id_type!(/// A webhook event: derived from the change that made it (see `webhook::event_id`), so a
    /// change delivered twice is one event.
    WebhookEventId);

impl WebhookEventId {
    /// The id whose time part is `at` (milliseconds) and whose random part is `digest`'s first
    /// 80 bits: the same whichever process derives it from the same change.
    pub fn from_parts(at_ms: u64, digest: [u8; 10]) -> Self {
        let mut random = [0u8; 16];
        random[6..].copy_from_slice(&digest);
        WebhookEventId(Ulid::from_parts(at_ms, u128::from_be_bytes(random)))
    }
}
id_type!(/// An API key a vendor's owner issued to a device or an integration.
    ApiKeyId);
id_type!(/// A purchase order placed with a supplier.
    PurchaseOrderId);
id_type!(/// A shopping cart: a customer's, or a guest's (reached through its cart token).
    CartId);
id_type!(/// What one checkout placed: the customer's payment covers it; it holds one order per vendor.
    OrderGroupId);
id_type!(/// One vendor's part of an order group: what that vendor sells, ships and invoices.
    OrderId);
id_type!(/// A parcel of one vendor order, packed at one location.
    ShipmentId);
id_type!(/// A customer's request to send back units of one vendor order.
    ReturnId);
id_type!(/// Money given back to a customer for part of one vendor order.
    RefundId);
id_type!(/// A coupon code and the promotion behind it (one vendor's or the platform's).
    CouponId);
id_type!(/// A payment attempt at a provider for one order group.
    PaymentId);
id_type!(/// A shipping zone of a vendor: the countries and regions its rates serve.
    ShippingZoneId);
id_type!(/// A tax rate admin keeps: one country (or region) and tax class.
    TaxRateId);

impl From<InvitationId> for EmailId {
    /// The email announcing an invitation carries the invitation's id, so every delivery of the
    /// invitation's event names the same email and the mailer sends it once.
    fn from(id: InvitationId) -> Self {
        EmailId(id.0)
    }
}

impl From<PurchaseOrderId> for EmailId {
    /// The email sending a purchase order to its supplier carries the order's id: an order is sent
    /// once, and every delivery of that event names the same email.
    fn from(id: PurchaseOrderId) -> Self {
        EmailId(id.0)
    }
}

impl EmailId {
    /// The email that `parts` name (what it announces and to whom: an order group, the event, the
    /// recipient's role): the first 128 bits of SHA-256 over the parts, so every process and every
    /// delivery of the same event derives the same id and the mailer sends the email once. The
    /// top bit is cleared so the id is a ULID as written (first character 0-7).
    pub fn derived(parts: &[&str]) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part.as_bytes());
            hash.update(b"|");
        }
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        EmailId(Ulid::from(u128::from_be_bytes(bytes) >> 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_the_same_millisecond_are_still_in_order() {
        let ids: Vec<UserId> = (0..1000).map(|_| UserId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1] && w[0].to_string() < w[1].to_string()));
    }

    #[test]
    fn a_derived_email_id_is_the_same_for_the_same_parts_and_a_valid_id() {
        let id = EmailId::derived(&["01JDB0000000000000000000G1", "order_paid", "customer"]);
        assert_eq!(id, EmailId::derived(&["01JDB0000000000000000000G1", "order_paid", "customer"]));
        assert_ne!(id, EmailId::derived(&["01JDB0000000000000000000G1", "order_paid", "vendor"]));
        assert_ne!(EmailId::derived(&["ab", "c"]), EmailId::derived(&["a", "bc"]), "parts are separated");
        assert_eq!(EmailId::parse("email_id", &id.to_string()), Ok(id), "{id}");
    }

    #[test]
    fn ids_made_later_sort_after_earlier_ones() {
        let first = UserId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = UserId::generate();
        assert!(second > first);
        assert!(second.to_string() > first.to_string());
    }

    #[test]
    fn an_id_round_trips_through_its_text_form() {
        let id = VendorId::generate();
        assert_eq!(VendorId::parse("vendorId", &id.to_string()), Ok(id));
    }

    #[test]
    fn a_malformed_id_is_rejected_naming_the_field() {
        let err = VendorId::parse("vendorId", "not-an-id").unwrap_err();
        assert_eq!(err.field, "vendorId");
    }

    #[test]
    fn only_ids_written_as_the_pattern_says_are_accepted() {
        let id = VendorId::generate().to_string();
        assert!(VendorId::parse("id", &id.to_lowercase()).is_ok());
        for bad in
            [format!(" {id}"), format!("{id} "), format!("8{}", &id[1..]), format!("{}U", &id[..25]), id[1..].into()]
        {
            assert!(VendorId::parse("id", &bad).is_err(), "{bad:?}");
        }
    }
}
