//! Key builders: every partition and sort key Stockyard writes is made here, nowhere else, and
//! only this crate sees them. One table; generic attributes PK/SK and GSI1PK/GSI1SK (see
//! infra/data-model.md). Collections are typed by the record they hold.
//!
//! The global listings (all users, all vendors, vendors with demand data) would each sit in one
//! index partition; they are spread over [`LISTING_SHARDS`] partitions (`USERS#<n>`) by a stable
//! hash of the listed id ([`listing_shard`]) and read back by scatter-gather
//! (`Table::query_sharded`).

use stockyard_domain::category::Category;
use stockyard_domain::channel::{Channel, SaleRecord};
use stockyard_domain::gtin::Gtin;
use stockyard_domain::ids::{
    AddressId, ApiKeyId, CartId, CategoryId, ChannelId, CouponId, EmailId, ExportId, ForecastRunId, ImageId, ImportId,
    InvitationId, LocationId, OrderGroupId, OrderId, ProductId, PurchaseOrderId, RefundId, ReturnId, StockAlertId,
    StockTransferId, SupplierId, TokenFamilyId, UserId, VariantId, VendorId, WebhookEndpointId, WebhookEventId,
};
use stockyard_domain::image::ProductImage;
use stockyard_domain::locale::Locale;
use stockyard_domain::location::Location;
use stockyard_domain::order::{OrderGroup, VendorOrder};
use stockyard_domain::product::{ProductTranslation, Variant};
use stockyard_domain::promotion::{Coupon, CouponScope};
use stockyard_domain::purchasing::{PurchaseOrder, ReceivedLine, Supplier};
use stockyard_domain::returns::{CreditNote, Refund, ReturnRequest};
use stockyard_domain::scan::Unit;
use stockyard_domain::slug::Slug;
use stockyard_domain::stock::{Movement, StockAlert, StockItem, StockTransfer};
use stockyard_domain::values::Email;
use stockyard_domain::vendor::{Member, Vendor};

use crate::Entity;
use crate::coupons::{CouponUse, LimitedPurchase};
use crate::demand::{
    DemandMarkerRecord, DemandSettingsRecord, ForecastRecord, ForecastRunRecord, NightlyRunRecord, SalesHistoryRecord,
    VendorDayRecord,
};
pub(crate) use crate::entity::{Collection, Sharded};
use crate::products::ProductRecord;
use crate::users::UserRecord;
use crate::vendors::InvitationRecord;
use crate::webhooks::{WebhookDeliveryRecord, WebhookEndpointRecord};
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

// Sharded global listings
/// Index partitions each global listing is spread over. A GSI partition takes about 1,000 writes/s
/// and the listings are sorted by ULID (new items always at the end, where splitting a partition
/// for heat does not help): 16 take 16,000/s, 8× the sign-up peak planned for (see "Hot spots and
/// limits" in infra/data-model.md), while a page costs 16 parallel Queries. Fixed: changing it
/// moves every listed item to another partition, so a new count means rewriting them all.
pub(crate) const LISTING_SHARDS: usize = 16;

const USERS: &str = "USERS";
const VENDORS: &str = "VENDORS";
const DEMAND_VENDORS: &str = "DEMANDVENDORS";

/// The shard (`0..LISTING_SHARDS`) of a listed id: 64-bit FNV-1a of the id's text, mixed by
/// MurmurHash3's 64-bit finaliser, modulo the shard count. The same on every machine, build and
/// run, unlike std's randomly seeded hasher, so an item's shard never moves. The finaliser matters:
/// ids made in one burst differ only in their last characters, which plain FNV-1a barely carries
/// into its high bits (a burst would land in one or two shards).
pub(crate) fn listing_shard(id: &str) -> usize {
    (fmix64(fnv1a(id.as_bytes())) % LISTING_SHARDS as u64) as usize
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME))
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Where `id` is listed in the sharded listing `listing`: `<listing>#<shard>`, `<prefix><id>`.
fn sharded_listing(listing: &str, prefix: &str, id: &str) -> IndexKey {
    IndexKey { pk: format!("{listing}#{}", listing_shard(id)), sk: format!("{prefix}{id}") }
}

/// Every shard of a sharded listing, in shard order.
fn sharded<E: Entity>(listing: &'static str, prefix: &str) -> Sharded<E> {
    Sharded::new(listing, (0..LISTING_SHARDS).map(|n| Collection::index(format!("{listing}#{n}"), prefix)).collect())
}

// Users
pub(crate) fn user(id: UserId) -> Key {
    key(format!("USER#{id}"), "PROFILE")
}
/// Lists the user in `USERS#<shard>`.
pub(crate) fn user_listing(id: UserId) -> IndexKey {
    sharded_listing(USERS, "USER#", &id.to_string())
}
pub(crate) fn all_users() -> Sharded<UserRecord> {
    sharded(USERS, "USER#")
}
/// Makes an email address unique across accounts and finds the account at login.
pub(crate) fn user_email(email: &Email) -> Key {
    key(format!("USEREMAIL#{email}"), "USEREMAIL")
}
pub(crate) fn failed_sign_ins(email: &Email) -> Key {
    key(format!("SIGNIN#{email}"), "FAILURES")
}
/// Requests counted per purpose and subject (an email address, a user id).
pub(crate) fn throttle(purpose: &str, subject: &str) -> Key {
    key(format!("THROTTLE#{purpose}#{subject}"), "THROTTLE")
}
/// An account email requested (verify, reset, confirm a change, notices).
pub(crate) fn account_mail(id: EmailId) -> Key {
    key(format!("ACCOUNTMAIL#{id}"), "ACCOUNTMAIL")
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
/// Lists the vendor in `VENDORS#<shard>`.
pub(crate) fn vendor_listing(id: VendorId) -> IndexKey {
    sharded_listing(VENDORS, "VENDOR#", &id.to_string())
}
pub(crate) fn all_vendors() -> Sharded<Vendor> {
    sharded(VENDORS, "VENDOR#")
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

// API keys
/// A key in a partition of its own: a request presenting it reads it by its id alone.
pub(crate) fn api_key(id: ApiKeyId) -> Key {
    key(format!("APIKEY#{id}"), "APIKEY")
}
/// Lists the key under its vendor, by creation.
pub(crate) fn api_key_listing(vendor: VendorId, id: ApiKeyId) -> IndexKey {
    IndexKey { pk: format!("APIKEYS#{vendor}"), sk: format!("APIKEY#{id}") }
}
pub(crate) fn api_keys_of(vendor: VendorId) -> Collection<crate::api_keys::ApiKeyRecord> {
    Collection::index(format!("APIKEYS#{vendor}"), "APIKEY#")
}

// Scans
/// A change one scan made; the scan's own partition.
pub(crate) fn scan_line(vendor: VendorId, scan_id: &str, line: &str) -> Key {
    key(format!("SCAN#{vendor}#{scan_id}"), format!("LINE#{line}"))
}
/// A serialised unit received (GTIN-14 digits; serials are GS1 set 82, which has no `#`).
pub(crate) fn received_unit(vendor: VendorId, unit: &Unit) -> Key {
    key(format!("UNIT#{vendor}#{}#{}", unit.gtin14, unit.serial), "UNIT")
}
/// A reader's last counted read of a tag (reader ids are codes: no `#`).
pub(crate) fn tag_read(vendor: VendorId, reader: &str, unit: &Unit) -> Key {
    key(format!("TAGREAD#{vendor}#{reader}#{}#{}", unit.gtin14, unit.serial), "TAGREAD")
}

// Inventory locations
pub(crate) fn location(vendor: VendorId, id: LocationId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("LOCATION#{id}"))
}
pub(crate) fn locations_of(vendor: VendorId) -> Collection<Location> {
    Collection::table(format!("VENDOR#{vendor}"), "LOCATION#")
}
// Channels and sales
pub(crate) fn channel(vendor: VendorId, id: ChannelId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("CHANNEL#{id}"))
}
pub(crate) fn channels_of(vendor: VendorId) -> Collection<Channel> {
    Collection::table(format!("VENDOR#{vendor}"), "CHANNEL#")
}
pub(crate) fn channel_claim(vendor: VendorId, claim: &str) -> Key {
    key(format!("VENDOR#{vendor}"), format!("CHANNELCLAIM#{claim}"))
}
pub(crate) fn sale(vendor: VendorId, channel: ChannelId, is_return: bool, id: &str) -> Key {
    let kind = if is_return { "RETURN" } else { "SALE" };
    key(format!("CHANNELSALES#{vendor}#{channel}"), format!("{kind}#{id}"))
}
/// The day's sales of a vendor are spread over this many index partitions (a flash sale writes
/// them at the rate it sells).
pub(crate) const SALES_SHARDS: usize = 4;
pub(crate) fn sales_of_day(sale: &SaleRecord) -> IndexKey {
    let day = sale.sold_at.date_naive();
    let kind = if sale.quantity < 0 { "RETURN" } else { "SALE" };
    let shard = listing_shard(&format!("{}#{}", sale.channel_id, sale.sale_id)) % SALES_SHARDS;
    IndexKey {
        pk: format!("SALES#{}#{day}#{shard}", sale.vendor_id),
        sk: format!("AT#{}#{}#{kind}#{}", sale.sold_at.format("%H:%M:%S%.6f"), sale.channel_id, sale.sale_id),
    }
}
pub(crate) fn sales_of_vendor_day(vendor: VendorId, day: chrono::NaiveDate) -> Sharded<SaleRecord> {
    let shards = (0..SALES_SHARDS).map(|s| Collection::index(format!("SALES#{vendor}#{day}#{s}"), "AT#")).collect();
    Sharded::new(format!("SALES#{vendor}#{day}"), shards)
}

// Stock alerts
pub(crate) fn stock_alert(vendor: VendorId, id: StockAlertId) -> Key {
    key(format!("STOCKALERT#{vendor}#{id}"), "ALERT")
}
pub(crate) fn stock_alert_listing(alert: &StockAlert) -> IndexKey {
    IndexKey {
        pk: format!("STOCKALERTS#{}", alert.vendor_id),
        sk: format!("ALERT#{}#{}", alert.raised_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), alert.id),
    }
}
pub(crate) fn stock_alerts_of(vendor: VendorId) -> Collection<StockAlert> {
    Collection::index(format!("STOCKALERTS#{vendor}"), "ALERT#")
}

// Orders
/// An order group: its own partition, with its vendor orders beside it.
pub(crate) fn order_group(id: OrderGroupId) -> Key {
    key(format!("ORDERGROUP#{id}"), "GROUP")
}
pub(crate) fn customer_order_listing(customer: UserId, id: OrderGroupId) -> IndexKey {
    IndexKey { pk: format!("CUSTOMERORDERS#{customer}"), sk: format!("GROUP#{id}") }
}
pub(crate) fn customer_orders(customer: UserId) -> Collection<OrderGroup> {
    Collection::index(format!("CUSTOMERORDERS#{customer}"), "GROUP#")
}
pub(crate) fn vendor_order(group: OrderGroupId, vendor: VendorId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("ORDER#{vendor}"))
}
pub(crate) fn vendor_orders_of_group(group: OrderGroupId) -> Collection<VendorOrder> {
    Collection::table(format!("ORDERGROUP#{group}"), "ORDER#")
}
pub(crate) fn vendor_order_listing(vendor: VendorId, id: OrderId) -> IndexKey {
    IndexKey { pk: format!("VENDORORDERS#{vendor}"), sk: format!("ORDER#{id}") }
}
pub(crate) fn vendor_orders(vendor: VendorId) -> Collection<VendorOrder> {
    Collection::index(format!("VENDORORDERS#{vendor}"), "ORDER#")
}
/// One vendor order of a vendor, found by its id on the vendor's listing.
pub(crate) fn vendor_order_by_id(vendor: VendorId, id: OrderId) -> Collection<VendorOrder> {
    Collection::index(format!("VENDORORDERS#{vendor}"), format!("ORDER#{id}"))
}
/// A parcel of a vendor order, beside the order in its group's partition.
pub(crate) fn shipment(group: OrderGroupId, vendor: VendorId, id: stockyard_domain::ids::ShipmentId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("SHIPMENT#{vendor}#{id}"))
}
pub(crate) fn group_shipments(group: OrderGroupId) -> Collection<stockyard_domain::fulfilment::Shipment> {
    Collection::table(format!("ORDERGROUP#{group}"), "SHIPMENT#")
}
pub(crate) fn shipments_of(
    group: OrderGroupId,
    vendor: VendorId,
) -> Collection<stockyard_domain::fulfilment::Shipment> {
    Collection::table(format!("ORDERGROUP#{group}"), format!("SHIPMENT#{vendor}#"))
}
/// The shipment a tracking number belongs to.
pub(crate) fn tracking_number(number: &str) -> Key {
    key(format!("TRACKING#{number}"), "SHIPMENT".to_string())
}
/// A vendor order waiting to be picked at one location, sorted by promised ship date (orders
/// without one last), then by order id.
pub(crate) fn awaiting_pick(
    vendor: VendorId,
    location: LocationId,
    by: Option<chrono::NaiveDate>,
    order: OrderId,
) -> Key {
    let by = by.map_or_else(|| "9999-12-31".to_string(), |d| d.format("%Y-%m-%d").to_string());
    key(format!("PICK#{vendor}#{location}"), format!("BY#{by}#ORDER#{order}"))
}
pub(crate) fn awaiting_picks(vendor: VendorId, location: LocationId) -> Collection<crate::fulfilment::AwaitingPick> {
    Collection::table(format!("PICK#{vendor}#{location}"), "BY#")
}
/// Partitions of the reservation timer: a flash sale's checkouts spread over them.
pub(crate) const EXPIRY_SHARDS: usize = 8;
/// A group's reservation timer, sorted by when it runs out (fixed-width UTC time, then the id).
pub(crate) fn reservation_expiry(at: chrono::DateTime<chrono::Utc>, group: OrderGroupId) -> Key {
    let shard = listing_shard(&group.to_string()) % EXPIRY_SHARDS;
    key(format!("EXPIRING#{shard}"), format!("AT#{}#{group}", at.format("%Y-%m-%dT%H:%M:%S%.3fZ")))
}
/// A payment provider's webhook event, once per provider and event id (provider ids are opaque
/// text: kept whole, a '#' in one cannot reach another's key, which ends the sort key).
pub(crate) fn payment_event(provider: &str, event: &str) -> Key {
    key(format!("PAYMENTEVENT#{provider}#{event}"), "EVENT")
}
pub(crate) fn reservations_expiring(shard: usize) -> Collection<crate::orders::ReservationExpiry> {
    Collection::table(format!("EXPIRING#{shard}"), "AT#")
}

// Coupons and limited purchases
/// A coupon, in a partition of its own: checkouts count its uses on it.
pub(crate) fn coupon(id: CouponId) -> Key {
    key(format!("COUPON#{id}"), "COUPON")
}
/// The partition of GSI1 that lists the coupons of one scope: a vendor's, or the platform's.
fn coupons_partition(scope: &CouponScope) -> String {
    match scope {
        CouponScope::Platform => "COUPONS#PLATFORM".into(),
        CouponScope::Vendor { vendor_id } => format!("COUPONS#{vendor_id}"),
    }
}
/// Lists the coupon under its scope, by creation.
pub(crate) fn coupon_listing(scope: &CouponScope, id: CouponId) -> IndexKey {
    IndexKey { pk: coupons_partition(scope), sk: format!("COUPON#{id}") }
}
pub(crate) fn coupons_of(scope: &CouponScope) -> Collection<Coupon> {
    Collection::index(coupons_partition(scope), "COUPON#")
}
/// Makes a coupon code unique platform-wide (codes are upper-case letters, digits and '-').
pub(crate) fn coupon_code(code: &str) -> Key {
    key(format!("COUPONCODE#{code}"), "COUPONCODE")
}
/// How many orders of one customer use a coupon. The customer (a user id, or a guest's lower-cased
/// email, which may hold any character) ends the partition key, after the fixed-length coupon id.
pub(crate) fn coupon_customer(coupon: CouponId, customer: &str) -> Key {
    key(format!("COUPONCUSTOMER#{coupon}#{customer}"), "USES")
}
/// One order group's use of a coupon, in the group's partition (outside its `ORDER#` prefix).
pub(crate) fn coupon_use(group: OrderGroupId, coupon: CouponId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("COUPONUSE#{coupon}"))
}
pub(crate) fn coupon_uses_of(group: OrderGroupId) -> Collection<CouponUse> {
    Collection::table(format!("ORDERGROUP#{group}"), "COUPONUSE#")
}
/// Units of a limited variant one customer has bought (customer as in [`coupon_customer`]).
pub(crate) fn purchases(variant: VariantId, customer: &str) -> Key {
    key(format!("PURCHASES#{variant}#{customer}"), "BOUGHT")
}
/// One order group's units of a limited variant, in the group's partition.
pub(crate) fn limited_purchase(group: OrderGroupId, variant: VariantId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("PURCHASE#{variant}"))
}
pub(crate) fn limited_purchases_of(group: OrderGroupId) -> Collection<LimitedPurchase> {
    Collection::table(format!("ORDERGROUP#{group}"), "PURCHASE#")
}
// Returns, refunds and credit notes: in the group's partition beside its orders; a vendor's
// returns are listed newest first by id, its credit notes by number.
pub(crate) fn return_request(group: OrderGroupId, vendor: VendorId, id: ReturnId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("RETURN#{vendor}#{id}"))
}
pub(crate) fn returns_of_group(group: OrderGroupId) -> Collection<ReturnRequest> {
    Collection::table(format!("ORDERGROUP#{group}"), "RETURN#")
}
pub(crate) fn vendor_return_listing(vendor: VendorId, id: ReturnId) -> IndexKey {
    IndexKey { pk: format!("VENDORRETURNS#{vendor}"), sk: format!("RETURN#{id}") }
}
pub(crate) fn vendor_returns(vendor: VendorId) -> Collection<ReturnRequest> {
    Collection::index(format!("VENDORRETURNS#{vendor}"), "RETURN#")
}
/// One return of a vendor, found by its id on the vendor's listing.
pub(crate) fn vendor_return_by_id(vendor: VendorId, id: ReturnId) -> Collection<ReturnRequest> {
    Collection::index(format!("VENDORRETURNS#{vendor}"), format!("RETURN#{id}"))
}
pub(crate) fn refund(group: OrderGroupId, id: RefundId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("REFUND#{id}"))
}
pub(crate) fn refunds_of_group(group: OrderGroupId) -> Collection<Refund> {
    Collection::table(format!("ORDERGROUP#{group}"), "REFUND#")
}
pub(crate) fn credit_note(group: OrderGroupId, refund: RefundId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("CREDITNOTE#{refund}"))
}
pub(crate) fn credit_notes_of_group(group: OrderGroupId) -> Collection<CreditNote> {
    Collection::table(format!("ORDERGROUP#{group}"), "CREDITNOTE#")
}
/// Sorted by number (shared with the vendor's invoices, twelve digits as theirs).
pub(crate) fn vendor_credit_note_listing(vendor: VendorId, sequence: u64) -> IndexKey {
    IndexKey { pk: format!("VENDORCREDITNOTES#{vendor}"), sk: format!("CREDITNOTE#{sequence:012}") }
}
pub(crate) fn vendor_credit_notes(vendor: VendorId) -> Collection<CreditNote> {
    Collection::index(format!("VENDORCREDITNOTES#{vendor}"), "CREDITNOTE#")
}
// Billing: a paid group's invoices (one per vendor order), its receipt and the events handled sit
// in the group's partition beside its orders; a vendor's invoices are listed by number.
pub(crate) fn invoice(group: OrderGroupId, vendor: VendorId) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("INVOICE#{vendor}"))
}
pub(crate) fn invoices_of_group(group: OrderGroupId) -> Collection<stockyard_domain::billing::Invoice> {
    Collection::table(format!("ORDERGROUP#{group}"), "INVOICE#")
}
/// Sorted by the invoice's number (twelve digits: a vendor's millionth invoice still sorts).
pub(crate) fn vendor_invoice_listing(vendor: VendorId, sequence: u64) -> IndexKey {
    IndexKey { pk: format!("VENDORINVOICES#{vendor}"), sk: format!("INVOICE#{sequence:012}") }
}
pub(crate) fn vendor_invoices(vendor: VendorId) -> Collection<stockyard_domain::billing::Invoice> {
    Collection::index(format!("VENDORINVOICES#{vendor}"), "INVOICE#")
}
/// The vendor's running invoice number.
pub(crate) fn invoice_sequence(vendor: VendorId) -> Key {
    key(format!("VENDOR#{vendor}"), "INVOICESEQUENCE")
}
pub(crate) fn payment_receipt(group: OrderGroupId) -> Key {
    key(format!("ORDERGROUP#{group}"), "RECEIPT")
}
/// An order event handled to the end (event keys are fixed names and provider dispute ids).
pub(crate) fn order_event_done(group: OrderGroupId, event: &str) -> Key {
    key(format!("ORDERGROUP#{group}"), format!("DONE#{event}"))
}

// Stock
pub(crate) fn stock_item(vendor: VendorId, variant: VariantId, location: LocationId) -> Key {
    key(format!("STOCK#{vendor}#{variant}"), format!("AT#{location}"))
}
pub(crate) fn stock_of_variant(vendor: VendorId, variant: VariantId) -> Collection<StockItem> {
    Collection::table(format!("STOCK#{vendor}#{variant}"), "AT#")
}
pub(crate) fn stock_listing(vendor: VendorId, location: LocationId, variant: VariantId) -> IndexKey {
    IndexKey { pk: format!("STOCKS#{vendor}"), sk: format!("AT#{location}#{variant}") }
}
pub(crate) fn stock_of_vendor(vendor: VendorId, location: Option<LocationId>) -> Collection<StockItem> {
    let prefix = location.map_or_else(|| "AT#".to_string(), |l| format!("AT#{l}#"));
    Collection::index(format!("STOCKS#{vendor}"), prefix)
}
/// Batches expiring on `day`, one partition a day (a batch is received once, so a day's partition
/// takes a receipt's write per batch, never a sale's).
pub(crate) fn batch_expiry(
    day: chrono::NaiveDate,
    vendor: VendorId,
    variant: VariantId,
    location: LocationId,
    lot: &str,
) -> Key {
    key(format!("EXPIRIES#{day}"), format!("B#{vendor}#{variant}#{location}#{lot}"))
}
pub(crate) fn batch_expiries_on(day: chrono::NaiveDate) -> Collection<crate::stock::BatchExpiry> {
    Collection::table(format!("EXPIRIES#{day}"), "B#")
}
/// Versions are written with 12 digits so that the ledger sorts by version.
pub(crate) fn movement(vendor: VendorId, variant: VariantId, location: LocationId, version: u64) -> Key {
    key(format!("STOCKLEDGER#{vendor}#{variant}"), format!("AT#{location}#V#{version:012}"))
}
pub(crate) fn movements(vendor: VendorId, variant: VariantId, location: Option<LocationId>) -> Collection<Movement> {
    let prefix = location.map_or_else(|| "AT#".to_string(), |l| format!("AT#{l}#V#"));
    Collection::table(format!("STOCKLEDGER#{vendor}#{variant}"), prefix)
}
/// A stock shard is its own partition, and so is its ledger: a flash sale's checkouts spread over
/// the shards' partitions instead of queueing on the item's.
pub(crate) fn stock_shard(vendor: VendorId, variant: VariantId, location: LocationId, shard: u8) -> Key {
    key(format!("STOCKSHARD#{vendor}#{variant}#{location}#{shard}"), "SHARD")
}
pub(crate) fn shard_movement(
    vendor: VendorId,
    variant: VariantId,
    location: LocationId,
    shard: u8,
    version: u64,
) -> Key {
    key(format!("STOCKLEDGER#{vendor}#{variant}#{location}#S{shard}"), format!("V#{version:012}"))
}
pub(crate) fn shard_movements(
    vendor: VendorId,
    variant: VariantId,
    location: LocationId,
    shard: u8,
) -> Collection<Movement> {
    Collection::table(format!("STOCKLEDGER#{vendor}#{variant}#{location}#S{shard}"), "V#")
}
pub(crate) fn transfer(vendor: VendorId, id: StockTransferId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("TRANSFER#{id}"))
}
pub(crate) fn transfers_of(vendor: VendorId) -> Collection<StockTransfer> {
    Collection::table(format!("VENDOR#{vendor}"), "TRANSFER#")
}
/// Location codes are unique within a vendor.
pub(crate) fn location_code(vendor: VendorId, code: &str) -> Key {
    key(format!("VENDOR#{vendor}"), format!("LOCATIONCODE#{code}"))
}

// Purchasing: suppliers, purchase orders and their receipts live in the vendor's partition.
pub(crate) fn supplier(vendor: VendorId, id: SupplierId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("SUPPLIER#{id}"))
}
pub(crate) fn suppliers_of(vendor: VendorId) -> Collection<Supplier> {
    Collection::table(format!("VENDOR#{vendor}"), "SUPPLIER#")
}

// Webhooks
pub(crate) fn webhook_endpoint(vendor: VendorId, id: WebhookEndpointId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("WEBHOOK#{id}"))
}
pub(crate) fn webhook_endpoints_of(vendor: VendorId) -> Collection<WebhookEndpointRecord> {
    Collection::table(format!("VENDOR#{vendor}"), "WEBHOOK#")
}
/// How many endpoints the vendor has (the guard of the limit); outside the `WEBHOOK#` prefix.
pub(crate) fn webhook_count(vendor: VendorId) -> Key {
    key(format!("VENDOR#{vendor}"), "WEBHOOKCOUNT")
}
/// One event's delivery to one endpoint: sorted by event id, which is time-ordered.
pub(crate) fn webhook_delivery(vendor: VendorId, endpoint: WebhookEndpointId, event: WebhookEventId) -> Key {
    key(format!("WEBHOOKDELIVERIES#{vendor}#{endpoint}"), format!("EVENT#{event}"))
}
pub(crate) fn webhook_deliveries_of(
    vendor: VendorId,
    endpoint: WebhookEndpointId,
) -> Collection<WebhookDeliveryRecord> {
    Collection::table(format!("WEBHOOKDELIVERIES#{vendor}#{endpoint}"), "EVENT#")
}
/// Supplier codes are unique within a vendor (codes never contain '#').
pub(crate) fn supplier_code(vendor: VendorId, code: &str) -> Key {
    key(format!("VENDOR#{vendor}"), format!("SUPPLIERCODE#{code}"))
}
pub(crate) fn purchase_order(vendor: VendorId, id: PurchaseOrderId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("PO#{id}"))
}
pub(crate) fn purchase_orders_of(vendor: VendorId) -> Collection<PurchaseOrder> {
    Collection::table(format!("VENDOR#{vendor}"), "PO#")
}
/// The vendor's running purchase-order number.
pub(crate) fn purchase_order_sequence(vendor: VendorId) -> Key {
    key(format!("VENDOR#{vendor}"), "POSEQUENCE")
}
/// One line of one receipt of a purchase order (receipt ids are ULIDs or hex digests, SKUs codes).
pub(crate) fn received_line(vendor: VendorId, order: PurchaseOrderId, receipt: &str, sku: &str) -> Key {
    key(format!("VENDOR#{vendor}"), format!("PORECEIPT#{order}#{receipt}#{sku}"))
}
pub(crate) fn received_lines_of(vendor: VendorId, order: PurchaseOrderId) -> Collection<ReceivedLine> {
    Collection::table(format!("VENDOR#{vendor}"), format!("PORECEIPT#{order}#"))
}

// Demand forecasting (SKUs and supplier codes are codes: never a '#')
/// Marks a vendor as having demand data; carries the sparse `DEMANDVENDORS#<shard>` listing.
pub(crate) fn demand_marker(vendor: VendorId) -> Key {
    key(format!("DEMAND#{vendor}"), "VENDOR")
}
pub(crate) fn demand_vendor_listing(vendor: VendorId) -> IndexKey {
    sharded_listing(DEMAND_VENDORS, "VENDOR#", &vendor.to_string())
}
pub(crate) fn demand_vendors() -> Sharded<DemandMarkerRecord> {
    sharded(DEMAND_VENDORS, "VENDOR#")
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
/// The nightly fan-out of one day: progress and counts over every vendor.
pub(crate) fn nightly_run(as_of: chrono::NaiveDate) -> Key {
    key("DEMANDNIGHTLY".into(), format!("NIGHTLY#{as_of}"))
}
pub(crate) fn nightly_runs() -> Collection<NightlyRunRecord> {
    Collection::table("DEMANDNIGHTLY".into(), "NIGHTLY#")
}
/// One vendor's forecast of one day: the claim that keeps it from being done twice.
pub(crate) fn vendor_day(vendor: VendorId, as_of: chrono::NaiveDate) -> Key {
    key(format!("DEMAND#{vendor}"), format!("DAY#{as_of}"))
}
/// Vendors whose forecast of the day failed (sparse: only failed claims carry it).
pub(crate) fn failed_vendor_day_listing(as_of: chrono::NaiveDate, vendor: VendorId) -> IndexKey {
    IndexKey { pk: format!("NIGHTLYFAILED#{as_of}"), sk: format!("VENDOR#{vendor}") }
}
pub(crate) fn failed_vendor_days(as_of: chrono::NaiveDate) -> Collection<VendorDayRecord> {
    Collection::index(format!("NIGHTLYFAILED#{as_of}"), "VENDOR#")
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
/// A forecast's supplier in the replenishment listing: its id, or `~` for none, which sorts after
/// every id so that unassigned suggestions come last.
fn replenishment_supplier(supplier: Option<SupplierId>) -> String {
    supplier.map_or_else(|| "~".to_string(), |s| s.to_string())
}
pub(crate) fn replenishment_listing(
    vendor: VendorId,
    supplier: Option<SupplierId>,
    location: LocationId,
    sku: &str,
) -> IndexKey {
    let supplier = replenishment_supplier(supplier);
    IndexKey { pk: format!("REPLENISH#{vendor}"), sk: format!("SUPPLIER#{supplier}#{location}#{sku}") }
}
pub(crate) fn replenishment_of(vendor: VendorId, supplier: Option<SupplierId>) -> Collection<ForecastRecord> {
    let prefix = match supplier {
        Some(supplier) => format!("SUPPLIER#{}#", replenishment_supplier(Some(supplier))),
        None => "SUPPLIER#".into(),
    };
    Collection::index(format!("REPLENISH#{vendor}"), prefix)
}

// Catalog
const CATEGORIES: &str = "CATEGORIES";
/// A category, in the one partition that holds the whole tree.
pub(crate) fn category(id: CategoryId) -> Key {
    key(CATEGORIES.into(), format!("CATEGORY#{id}"))
}
/// The tree's version guard.
pub(crate) fn category_tree() -> Key {
    key(CATEGORIES.into(), "VERSION")
}
pub(crate) fn all_categories() -> Collection<Category> {
    Collection::table(CATEGORIES.into(), "CATEGORY#")
}

/// A product: its own partition holds it, its variants and its translations.
pub(crate) fn product(id: ProductId) -> Key {
    key(format!("PRODUCT#{id}"), "PRODUCT")
}
/// Lists the product under its vendor (GSI1), newest last.
pub(crate) fn vendor_product_listing(vendor: VendorId, id: ProductId) -> IndexKey {
    IndexKey { pk: format!("VENDORPRODUCTS#{vendor}"), sk: format!("PRODUCT#{id}") }
}
pub(crate) fn products_of(vendor: VendorId) -> Collection<ProductRecord> {
    Collection::index(format!("VENDORPRODUCTS#{vendor}"), "PRODUCT#")
}
pub(crate) fn variant(product: ProductId, id: VariantId) -> Key {
    key(format!("PRODUCT#{product}"), format!("VARIANT#{id}"))
}
pub(crate) fn variants_of(product: ProductId) -> Collection<Variant> {
    Collection::table(format!("PRODUCT#{product}"), "VARIANT#")
}
/// Finds a variant by its id alone (a cart adds a line by variant id): every variant item carries it.
pub(crate) fn variant_listing(id: VariantId) -> IndexKey {
    IndexKey { pk: format!("VARIANT#{id}"), sk: "VARIANT".into() }
}
pub(crate) fn variant_by_id(id: VariantId) -> Collection<Variant> {
    Collection::index(format!("VARIANT#{id}"), "VARIANT")
}
pub(crate) fn product_translation(product: ProductId, locale: &Locale) -> Key {
    key(format!("PRODUCT#{product}"), format!("TRANSLATION#{locale}"))
}
pub(crate) fn translations_of(product: ProductId) -> Collection<ProductTranslation> {
    Collection::table(format!("PRODUCT#{product}"), "TRANSLATION#")
}
pub(crate) fn product_image(product: ProductId, image: ImageId) -> Key {
    key(format!("PRODUCT#{product}"), format!("IMAGE#{image}"))
}
pub(crate) fn images_of(product: ProductId) -> Collection<ProductImage> {
    Collection::table(format!("PRODUCT#{product}"), "IMAGE#")
}
/// One combination of option values within a product.
pub(crate) fn variant_options(product: ProductId, options: &str) -> Key {
    key(format!("PRODUCT#{product}"), format!("OPTIONS#{options}"))
}
pub(crate) fn product_slug(vendor: VendorId, locale: &Locale, slug: &Slug) -> Key {
    key(format!("PRODUCTSLUG#{vendor}#{locale}#{slug}"), "PRODUCTSLUG")
}
pub(crate) fn sku(vendor: VendorId, sku: &str) -> Key {
    key(format!("SKU#{vendor}#{sku}"), "SKU")
}
/// A GTIN's partition holds one claim per vendor selling it (as GTIN-14, so UPC-A and EAN-13
/// forms of one item meet).
pub(crate) fn gtin(gtin: &Gtin, vendor: VendorId) -> Key {
    key(format!("GTIN#{}", gtin.as_gtin14()), format!("VENDOR#{vendor}"))
}

/// Every vendor's claim of one GTIN.
pub(crate) fn gtin_claims(gtin: &Gtin) -> Collection<crate::products::GtinRecord> {
    Collection::table(format!("GTIN#{}", gtin.as_gtin14()), "VENDOR#")
}

/// A CSV import of a vendor's catalog, in the vendor's partition.
pub(crate) fn catalog_import(vendor: VendorId, id: ImportId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("IMPORT#{id}"))
}
/// A CSV export of a vendor's catalog, in the vendor's partition.
pub(crate) fn catalog_export(vendor: VendorId, id: ExportId) -> Key {
    key(format!("VENDOR#{vendor}"), format!("EXPORT#{id}"))
}

/// The published version of a search index (`products`).
pub(crate) fn search_index(name: &str) -> Key {
    key(format!("SEARCHINDEX#{name}"), "CURRENT")
}

/// The current exchange rates.
pub(crate) fn exchange_rates() -> Key {
    key("EXCHANGERATES".into(), "CURRENT")
}

/// The tax table in force.
pub(crate) fn tax_rates() -> Key {
    key("TAXRATES".into(), "CURRENT")
}

/// A vendor's shipping zones, services and ship-from calendar, in the vendor's partition.
pub(crate) fn vendor_shipping(vendor: VendorId) -> Key {
    key(format!("VENDOR#{vendor}"), "SHIPPING")
}

// Carts
/// A cart, in a partition of its own.
pub(crate) fn cart(id: CartId) -> Key {
    key(format!("CART#{id}"), "CART")
}
/// The customer's one cart: which cart it is, claimed in the customer's partition.
pub(crate) fn customer_cart(customer: UserId) -> Key {
    key(format!("USER#{customer}"), "CART")
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
    fn suppliers_orders_and_their_claims_have_distinct_prefixes_in_the_vendors_partition() {
        let (vendor, order) = (VendorId::generate(), PurchaseOrderId::generate());
        let suppliers = suppliers_of(vendor).prefix;
        let orders = purchase_orders_of(vendor).prefix;
        for k in
            [supplier_code(vendor, "ACME"), purchase_order_sequence(vendor), received_line(vendor, order, "R", "A")]
        {
            assert!(!k.sk.starts_with(&suppliers) && !k.sk.starts_with(&orders), "{}", k.sk);
        }
        assert!(purchase_order(vendor, order).sk.starts_with(&orders));
        assert!(supplier(vendor, SupplierId::generate()).sk.starts_with(&suppliers));
        assert!(received_line(vendor, order, "R", "A").sk.starts_with(&received_lines_of(vendor, order).prefix));
        let other = received_lines_of(vendor, PurchaseOrderId::generate()).prefix;
        assert!(!received_line(vendor, order, "R", "A").sk.starts_with(&other));
    }

    #[test]
    fn the_shard_hash_is_fnv1a_and_never_changes() {
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        // Stored items sit in these shards: a change here moves them.
        assert_eq!(fmix64(fnv1a(b"01JD2Z8Q4Y6W3V5T7R9P1N3M5K")), 0x8d26_8eec_7111_dbfc);
        assert_eq!(listing_shard("01JD2Z8Q4Y6W3V5T7R9P1N3M5K"), 12);
        assert_eq!(listing_shard("01JD2Z8Q4Y6W3V5T7R9P1N3M5M"), 8);
    }

    /// Within ±20% of an even share per shard.
    fn assert_even(counts: &[usize], total: usize) {
        let share = total / counts.len();
        for (shard, count) in counts.iter().enumerate() {
            assert!(count * 5 >= share * 4 && count * 5 <= share * 6, "shard {shard}: {count} of {total}: {counts:?}");
        }
    }

    #[test]
    fn ids_made_in_one_burst_spread_evenly_over_the_shards() {
        // Made back to back, so most share their millisecond and differ only in the last characters.
        const IDS: usize = 10_000;
        let mut users = [0usize; LISTING_SHARDS];
        let mut vendors = [0usize; LISTING_SHARDS];
        for _ in 0..IDS {
            users[listing_shard(&UserId::generate().to_string())] += 1;
            vendors[listing_shard(&VendorId::generate().to_string())] += 1;
        }
        assert_even(&users, IDS);
        assert_even(&vendors, IDS);
    }

    #[test]
    fn ids_made_at_random_times_spread_evenly_over_the_shards() {
        const IDS: usize = 10_000;
        let mut counts = [0usize; LISTING_SHARDS];
        for _ in 0..IDS {
            counts[listing_shard(&ulid::Ulid::new().to_string())] += 1;
        }
        assert_even(&counts, IDS);
    }

    #[test]
    fn a_listed_item_sits_in_one_shard_of_its_listing_under_its_prefix() {
        let user = UserId::generate();
        let listing = user_listing(user);
        let shards = all_users();
        assert_eq!(shards.shards.len(), LISTING_SHARDS);
        let shard = listing_shard(&user.to_string());
        assert_eq!(listing.pk, format!("USERS#{shard}"));
        assert_eq!(shards.shards[shard].pk, listing.pk);
        assert!(listing.sk.starts_with(shards.prefix()));
        assert_eq!(user_listing(user), listing, "the same id always lands in the same shard");

        let vendor = VendorId::generate();
        let (listed, demand) = (vendor_listing(vendor), demand_vendor_listing(vendor));
        assert_eq!(listed.sk, demand.sk);
        assert_eq!(all_vendors().shards.iter().filter(|s| s.pk == listed.pk).count(), 1);
        assert_eq!(demand_vendors().shards.iter().filter(|s| s.pk == demand.pk).count(), 1);
        assert_ne!(listed.pk, demand.pk, "two listings never share a partition");
        assert!(demand_vendors().shards.iter().all(|s| s.pk.starts_with("DEMANDVENDORS#")));
    }

    #[test]
    fn an_order_groups_coupon_uses_and_purchases_stay_out_of_its_vendor_orders() {
        let (group, coupon, variant) = (OrderGroupId::generate(), CouponId::generate(), VariantId::generate());
        let orders = vendor_orders_of_group(group).prefix;
        for k in [coupon_use(group, coupon), limited_purchase(group, variant)] {
            assert_eq!(k.pk, order_group(group).pk);
            assert!(!k.sk.starts_with(&orders) && k.sk != order_group(group).sk, "{}", k.sk);
        }
        assert!(coupon_use(group, coupon).sk.starts_with(&coupon_uses_of(group).prefix));
        assert!(!limited_purchase(group, variant).sk.starts_with(&coupon_uses_of(group).prefix));
        assert!(limited_purchase(group, variant).sk.starts_with(&limited_purchases_of(group).prefix));
        let vendor = VendorId::generate();
        let listed = coupon_listing(&CouponScope::Vendor { vendor_id: vendor }, coupon);
        assert_eq!(listed.pk, coupons_of(&CouponScope::Vendor { vendor_id: vendor }).pk);
        assert_ne!(listed.pk, coupons_of(&CouponScope::Platform).pk, "a vendor's coupons are not the platform's");
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
        let (acme, other) = (SupplierId::generate(), SupplierId::generate());
        let listing = replenishment_listing(vendor, Some(acme), location, "MILK-1L");
        assert!(listing.sk.starts_with(&replenishment_of(vendor, Some(acme)).prefix));
        assert!(!listing.sk.starts_with(&replenishment_of(vendor, Some(other)).prefix));
        let unassigned = replenishment_listing(vendor, None, location, "MILK-1L");
        assert!(unassigned.sk.starts_with(&replenishment_of(vendor, None).prefix));
        assert!(unassigned.sk > listing.sk, "a suggestion without a supplier is listed after every supplier's");
        assert!(forecast(vendor, location, "MILK-1L").sk.starts_with(&forecasts_of(vendor, Some(location)).prefix));
    }
}
