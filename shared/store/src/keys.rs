//! Key builders: every partition and sort key Stockyard writes is made here, nowhere else.
//! One table; generic attributes PK/SK and GSI1PK/GSI1SK (see infra/data-model.md).

use stockyard_domain::ids::{
    AddressId, EmailId, ForecastRunId, InvitationId, LocationId, TokenFamilyId, UserId, VendorId,
};
use stockyard_domain::values::Email;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// The table's TTL attribute: epoch seconds after which DynamoDB may delete the item.
pub const EXPIRES_AT: &str = "expires_at";

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// A secondary-index key (sparse: only items that belong in the index carry one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

/// All items in one partition whose sort key starts with `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub index: Option<&'static str>,
    pub pk: String,
    pub prefix: String,
}

fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

// Users
pub fn user(id: UserId) -> Key {
    key(format!("USER#{id}"), "PROFILE")
}
pub fn user_listing(id: UserId) -> IndexKey {
    IndexKey { pk: "USERS".into(), sk: format!("USER#{id}") }
}
pub fn all_users() -> Collection {
    Collection { index: Some(GSI1), pk: "USERS".into(), prefix: "USER#".into() }
}
/// Makes an email address unique across accounts and finds the account at login.
pub fn user_email(email: &Email) -> Key {
    key(format!("USEREMAIL#{email}"), "USEREMAIL")
}
pub fn failed_sign_ins(email: &Email) -> Key {
    key(format!("SIGNIN#{email}"), "FAILURES")
}
pub fn address(user: UserId, id: AddressId) -> Key {
    key(format!("USER#{user}"), format!("ADDRESS#{id}"))
}
pub fn addresses_of(user: UserId) -> Collection {
    Collection { index: None, pk: format!("USER#{user}"), prefix: "ADDRESS#".into() }
}

// Tokens
pub fn refresh_token(token_hash: &str) -> Key {
    key(format!("REFRESH#{token_hash}"), "REFRESH")
}
pub fn token_family(id: TokenFamilyId) -> Key {
    key(format!("TOKENFAMILY#{id}"), "TOKENFAMILY")
}

// Vendors
pub fn vendor(id: VendorId) -> Key {
    key(format!("VENDOR#{id}"), "PROFILE")
}
pub fn vendor_listing(id: VendorId) -> IndexKey {
    IndexKey { pk: "VENDORS".into(), sk: format!("VENDOR#{id}") }
}
pub fn all_vendors() -> Collection {
    Collection { index: Some(GSI1), pk: "VENDORS".into(), prefix: "VENDOR#".into() }
}
pub fn member(vendor: VendorId, user: UserId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("MEMBER#{user}"))
}
pub fn members_of(vendor: VendorId) -> Collection {
    Collection { index: None, pk: format!("VENDOR#{vendor}"), prefix: "MEMBER#".into() }
}
pub fn invitation(vendor: VendorId, id: InvitationId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("INVITE#{id}"))
}
pub fn invitations_of(vendor: VendorId) -> Collection {
    Collection { index: None, pk: format!("VENDOR#{vendor}"), prefix: "INVITE#".into() }
}
pub fn invitation_for_invitee(email: &Email, id: InvitationId) -> IndexKey {
    IndexKey { pk: format!("INVITEE#{email}"), sk: format!("INVITE#{id}") }
}
pub fn invitations_for(email: &Email) -> Collection {
    Collection { index: Some(GSI1), pk: format!("INVITEE#{email}"), prefix: "INVITE#".into() }
}
/// At most one pending invitation per vendor and email.
pub fn pending_invitation_guard(vendor: VendorId, email: &Email) -> Key {
    key(format!("VENDOR#{vendor}"), format!("INVITEE#{email}"))
}

// Inventory locations
pub fn location(vendor: VendorId, id: LocationId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("LOCATION#{id}"))
}
pub fn locations_of(vendor: VendorId) -> Collection {
    Collection { index: None, pk: format!("VENDOR#{vendor}"), prefix: "LOCATION#".into() }
}
/// Location codes are unique within a vendor.
pub fn location_code(vendor: VendorId, code: &str) -> Key {
    key(format!("VENDOR#{vendor}"), format!("LOCATIONCODE#{code}"))
}

// Demand forecasting (SKUs and supplier codes are codes: never a '#')
/// Marks a vendor as having demand data; carries the sparse `DEMANDVENDORS` listing.
pub fn demand_marker(vendor: VendorId) -> Key {
    key(format!("DEMAND#{vendor}"), "VENDOR")
}
pub fn demand_vendor_listing(vendor: VendorId) -> IndexKey {
    IndexKey { pk: "DEMANDVENDORS".into(), sk: format!("VENDOR#{vendor}") }
}
pub fn demand_vendors() -> Collection {
    Collection { index: Some(GSI1), pk: "DEMANDVENDORS".into(), prefix: "VENDOR#".into() }
}
pub fn demand_settings(vendor: VendorId, location: LocationId, sku: &str) -> Key {
    key(format!("DEMAND#{vendor}"), format!("SETTINGS#{location}#{sku}"))
}
pub fn demand_settings_of(vendor: VendorId) -> Collection {
    Collection { index: None, pk: format!("DEMAND#{vendor}"), prefix: "SETTINGS#".into() }
}
/// One calendar year of a SKU-location's daily units.
pub fn sales_history(vendor: VendorId, location: LocationId, sku: &str, year: i32) -> Key {
    key(format!("DEMAND#{vendor}"), format!("HISTORY#{location}#{sku}#{year}"))
}
/// Every year of every SKU at one location.
pub fn sales_history_at(vendor: VendorId, location: LocationId) -> Collection {
    Collection { index: None, pk: format!("DEMAND#{vendor}"), prefix: format!("HISTORY#{location}#") }
}
pub fn forecast_run(vendor: VendorId, run: ForecastRunId) -> Key {
    key(format!("DEMAND#{vendor}"), format!("RUN#{run}"))
}
pub fn forecast_runs_of(vendor: VendorId) -> Collection {
    Collection { index: None, pk: format!("DEMAND#{vendor}"), prefix: "RUN#".into() }
}
pub fn forecast(vendor: VendorId, location: LocationId, sku: &str) -> Key {
    key(format!("FORECAST#{vendor}"), format!("FORECAST#{location}#{sku}"))
}
/// A vendor's forecasts by location then SKU, optionally of one location.
pub fn forecasts_of(vendor: VendorId, location: Option<LocationId>) -> Collection {
    let prefix = match location {
        Some(location) => format!("FORECAST#{location}#"),
        None => "FORECAST#".into(),
    };
    Collection { index: None, pk: format!("FORECAST#{vendor}"), prefix }
}
/// Only forecasts that order or are at risk carry this index key.
pub fn replenishment_listing(vendor: VendorId, supplier: &str, location: LocationId, sku: &str) -> IndexKey {
    IndexKey { pk: format!("REPLENISH#{vendor}"), sk: format!("SUPPLIER#{supplier}#{location}#{sku}") }
}
pub fn replenishment_of(vendor: VendorId, supplier: Option<&str>) -> Collection {
    let prefix = match supplier {
        Some(supplier) => format!("SUPPLIER#{supplier}#"),
        None => "SUPPLIER#".into(),
    };
    Collection { index: Some(GSI1), pk: format!("REPLENISH#{vendor}"), prefix }
}

// Idempotency and messaging
pub fn idempotency(scope: &str, idempotency_key: &str) -> Key {
    key(format!("IDEMPOTENCY#{scope}#{idempotency_key}"), "IDEMPOTENCY")
}
pub fn outbox(id: EmailId) -> Key {
    key(format!("OUTBOX#{id}"), "OUTBOX")
}
pub fn outbox_listing(id: EmailId) -> IndexKey {
    IndexKey { pk: "OUTBOX".into(), sk: format!("OUTBOX#{id}") }
}
pub fn pending_outbox() -> Collection {
    Collection { index: Some(GSI1), pk: "OUTBOX".into(), prefix: "OUTBOX#".into() }
}
pub fn sent_email(id: EmailId) -> Key {
    key(format!("SENTEMAIL#{id}"), "SENTEMAIL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendors_members_invitations_and_locations_share_its_partition_under_distinct_prefixes() {
        let vendor_id = VendorId::generate();
        let user_id = UserId::generate();
        let member = member(vendor_id, user_id);
        assert_eq!(member.pk, super::vendor(vendor_id).pk);
        assert!(member.sk.starts_with(&members_of(vendor_id).prefix));
        let invite = invitation(vendor_id, InvitationId::generate());
        assert!(!invite.sk.starts_with(&members_of(vendor_id).prefix));
        assert!(invite.sk.starts_with(&invitations_of(vendor_id).prefix));
        let guard = pending_invitation_guard(vendor_id, &Email::parse("e", "a@b.co").unwrap());
        assert!(!guard.sk.starts_with(&invitations_of(vendor_id).prefix));
        let code = location_code(vendor_id, "WH-1");
        assert!(!code.sk.starts_with(&locations_of(vendor_id).prefix));
    }

    #[test]
    fn email_uniqueness_keys_ignore_case() {
        let a = Email::parse("email", "Ada@Example.com").unwrap();
        let b = Email::parse("email", "ada@example.com").unwrap();
        assert_eq!(user_email(&a), user_email(&b));
    }

    #[test]
    fn a_skus_history_years_settings_and_runs_never_fall_under_each_others_prefixes() {
        let (vendor, location) = (VendorId::generate(), LocationId::generate());
        let history = sales_history(vendor, location, "MILK-1L", 2026);
        assert!(history.sk.starts_with(&sales_history_at(vendor, location).prefix));
        assert!(!history.sk.starts_with(&demand_settings_of(vendor).prefix));
        assert!(!history.sk.starts_with(&forecast_runs_of(vendor).prefix));
        assert!(
            !sales_history(vendor, LocationId::generate(), "MILK-1L", 2026)
                .sk
                .starts_with(&sales_history_at(vendor, location).prefix)
        );
        assert_eq!(demand_marker(vendor).pk, history.pk);
        let listing = replenishment_listing(vendor, "ACME", location, "MILK-1L");
        assert!(listing.sk.starts_with(&replenishment_of(vendor, Some("ACME")).prefix));
        assert!(!listing.sk.starts_with(&replenishment_of(vendor, Some("ACM")).prefix));
        assert!(forecast(vendor, location, "MILK-1L").sk.starts_with(&forecasts_of(vendor, Some(location)).prefix));
    }
}
