//! Key builders: every partition and sort key Stockyard writes is made here, nowhere else, and
//! only this crate sees them. One table; generic attributes PK/SK and GSI1PK/GSI1SK (see
//! infra/data-model.md). Collections are typed by the record they hold.

use stockyard_domain::ids::{
    AddressId, EmailId, ForecastRunId, InvitationId, LocationId, TokenFamilyId, UserId, VendorId,
};
use stockyard_domain::location::Location;
use stockyard_domain::values::Email;
use stockyard_domain::vendor::{Member, Vendor};

use crate::demand::{DemandMarkerRecord, DemandSettingsRecord, ForecastRecord, ForecastRunRecord, SalesHistoryRecord};
pub(crate) use crate::entity::Collection;
use crate::users::UserRecord;
use crate::vendors::InvitationRecord;
use stockyard_domain::address::Address;

pub(crate) const PK: &str = "PK";
pub(crate) const SK: &str = "SK";
pub(crate) const GSI1: &str = "GSI1";
pub(crate) const GSI1PK: &str = "GSI1PK";
pub(crate) const GSI1SK: &str = "GSI1SK";
/// Every item written whole carries the name of its record type (`Entity::NAME`).
pub(crate) const ENTITY: &str = "entity";

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub(crate) pk: String,
    pub(crate) sk: String,
}

/// A secondary-index key (sparse: only items that belong in the index carry one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub(crate) pk: String,
    pub(crate) sk: String,
}

fn key(pk: String, sk: impl Into<String>) -> Key {
    Key { pk, sk: sk.into() }
}

// Users
pub(crate) fn user(id: UserId) -> Key {
    key(format!("USER#{id}"), "PROFILE")
}
pub(crate) fn user_listing(id: UserId) -> IndexKey {
    IndexKey { pk: "USERS".into(), sk: format!("USER#{id}") }
}
pub(crate) fn all_users() -> Collection<UserRecord> {
    Collection::index("USERS", "USER#")
}
/// Makes an email address unique across accounts and finds the account at login.
pub(crate) fn user_email(email: &Email) -> Key {
    key(format!("USEREMAIL#{email}"), "USEREMAIL")
}
pub(crate) fn failed_sign_ins(email: &Email) -> Key {
    key(format!("SIGNIN#{email}"), "FAILURES")
}
pub(crate) fn address(user: UserId, id: AddressId) -> Key {
    key(format!("USER#{user}"), format!("ADDRESS#{id}"))
}
/// Guards the address book's count and default.
pub(crate) fn address_book(user: UserId) -> Key {
    key(format!("USER#{user}"), "ADDRESSBOOK")
}
pub(crate) fn addresses_of(user: UserId) -> Collection<Address> {
    Collection::table(format!("USER#{user}"), "ADDRESS#")
}

// Tokens
pub(crate) fn refresh_token(token_hash: &str) -> Key {
    key(format!("REFRESH#{token_hash}"), "REFRESH")
}
pub(crate) fn token_family(id: TokenFamilyId) -> Key {
    key(format!("TOKENFAMILY#{id}"), "TOKENFAMILY")
}

// Vendors
pub(crate) fn vendor(id: VendorId) -> Key {
    key(format!("VENDOR#{id}"), "PROFILE")
}
pub(crate) fn vendor_listing(id: VendorId) -> IndexKey {
    IndexKey { pk: "VENDORS".into(), sk: format!("VENDOR#{id}") }
}
pub(crate) fn all_vendors() -> Collection<Vendor> {
    Collection::index("VENDORS", "VENDOR#")
}
pub(crate) fn member(vendor: VendorId, user: UserId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("MEMBER#{user}"))
}
pub(crate) fn members_of(vendor: VendorId) -> Collection<Member> {
    Collection::table(format!("VENDOR#{vendor}"), "MEMBER#")
}
pub(crate) fn invitation(vendor: VendorId, id: InvitationId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("INVITE#{id}"))
}
pub(crate) fn invitations_of(vendor: VendorId) -> Collection<InvitationRecord> {
    Collection::table(format!("VENDOR#{vendor}"), "INVITE#")
}
pub(crate) fn invitation_for_invitee(email: &Email, id: InvitationId) -> IndexKey {
    IndexKey { pk: format!("INVITEE#{email}"), sk: format!("INVITE#{id}") }
}
pub(crate) fn invitations_for(email: &Email) -> Collection<InvitationRecord> {
    Collection::index(format!("INVITEE#{email}"), "INVITE#")
}
/// At most one pending invitation per vendor and email.
pub(crate) fn pending_invitation_guard(vendor: VendorId, email: &Email) -> Key {
    key(format!("VENDOR#{vendor}"), format!("INVITEE#{email}"))
}

// Inventory locations
pub(crate) fn location(vendor: VendorId, id: LocationId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("LOCATION#{id}"))
}
pub(crate) fn locations_of(vendor: VendorId) -> Collection<Location> {
    Collection::table(format!("VENDOR#{vendor}"), "LOCATION#")
}
/// Location codes are unique within a vendor.
pub(crate) fn location_code(vendor: VendorId, code: &str) -> Key {
    key(format!("VENDOR#{vendor}"), format!("LOCATIONCODE#{code}"))
}

// Demand forecasting (SKUs and supplier codes are codes: never a '#')
/// Marks a vendor as having demand data; carries the sparse `DEMANDVENDORS` listing.
pub(crate) fn demand_marker(vendor: VendorId) -> Key {
    key(format!("DEMAND#{vendor}"), "VENDOR")
}
pub(crate) fn demand_vendor_listing(vendor: VendorId) -> IndexKey {
    IndexKey { pk: "DEMANDVENDORS".into(), sk: format!("VENDOR#{vendor}") }
}
pub(crate) fn demand_vendors() -> Collection<DemandMarkerRecord> {
    Collection::index("DEMANDVENDORS", "VENDOR#")
}
pub(crate) fn demand_settings(vendor: VendorId, location: LocationId, sku: &str) -> Key {
    key(format!("DEMAND#{vendor}"), format!("SETTINGS#{location}#{sku}"))
}
pub(crate) fn demand_settings_of(vendor: VendorId) -> Collection<DemandSettingsRecord> {
    Collection::table(format!("DEMAND#{vendor}"), "SETTINGS#")
}
/// One calendar year of a SKU-location's daily units.
pub(crate) fn sales_history(vendor: VendorId, location: LocationId, sku: &str, year: i32) -> Key {
    key(format!("DEMAND#{vendor}"), format!("HISTORY#{location}#{sku}#{year}"))
}
/// Every year of every SKU at one location.
pub(crate) fn sales_history_at(vendor: VendorId, location: LocationId) -> Collection<SalesHistoryRecord> {
    Collection::table(format!("DEMAND#{vendor}"), format!("HISTORY#{location}#"))
}
pub(crate) fn forecast_run(vendor: VendorId, run: ForecastRunId) -> Key {
    key(format!("DEMAND#{vendor}"), format!("RUN#{run}"))
}
pub(crate) fn forecast_runs_of(vendor: VendorId) -> Collection<ForecastRunRecord> {
    Collection::table(format!("DEMAND#{vendor}"), "RUN#")
}
pub(crate) fn forecast(vendor: VendorId, location: LocationId, sku: &str) -> Key {
    key(format!("FORECAST#{vendor}"), format!("FORECAST#{location}#{sku}"))
}
/// A vendor's forecasts by location then SKU, optionally of one location.
pub(crate) fn forecasts_of(vendor: VendorId, location: Option<LocationId>) -> Collection<ForecastRecord> {
    let prefix = match location {
        Some(location) => format!("FORECAST#{location}#"),
        None => "FORECAST#".into(),
    };
    Collection::table(format!("FORECAST#{vendor}"), prefix)
}
/// Only forecasts that order or are at risk carry this index key.
pub(crate) fn replenishment_listing(vendor: VendorId, supplier: &str, location: LocationId, sku: &str) -> IndexKey {
    IndexKey { pk: format!("REPLENISH#{vendor}"), sk: format!("SUPPLIER#{supplier}#{location}#{sku}") }
}
pub(crate) fn replenishment_of(vendor: VendorId, supplier: Option<&str>) -> Collection<ForecastRecord> {
    let prefix = match supplier {
        Some(supplier) => format!("SUPPLIER#{supplier}#"),
        None => "SUPPLIER#".into(),
    };
    Collection::index(format!("REPLENISH#{vendor}"), prefix)
}

// Idempotency and sent emails
pub(crate) fn idempotency(scope: &str, idempotency_key: &str) -> Key {
    key(format!("IDEMPOTENCY#{scope}#{idempotency_key}"), "IDEMPOTENCY")
}
pub(crate) fn sent_email(id: EmailId) -> Key {
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
