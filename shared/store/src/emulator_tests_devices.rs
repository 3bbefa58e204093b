//! API keys and what scans leave behind, against DynamoDB Local through the real SDK: a key read
//! by its id and listed by its vendor, revoked once and only by its vendor; a reader's window on a
//! tag claimed once under concurrency, lapsing, kept by the scan that holds it and given back; a
//! unit received once; a stock change that lost its race learns the state it lost to. Run like
//! `emulator_tests`; every test uses a fresh vendor.

use chrono::Utc;
use stockyard_domain::api_key::{ApiKey, ApiKeyScope, ApiKeyStatus, KeyPermission};
use stockyard_domain::ids::{ApiKeyId, LocationId, UserId, VariantId, VendorId};
use stockyard_domain::scan::Unit;

use crate::api_keys::{self, RevokeRefusal};
use crate::scans::{self, TagReadRecord, UnitRecord};
use crate::{PageRequest, Table};

use crate::emulator_tests::table;

fn key(vendor: VendorId) -> ApiKey {
    ApiKey {
        id: ApiKeyId::generate(),
        vendor_id: vendor,
        name: "Till".into(),
        scope: ApiKeyScope::Vendor {},
        permissions: vec![KeyPermission::ChannelSales],
        hint: "syk_…abcd".into(),
        status: ApiKeyStatus::Active,
        created_at: Utc::now(),
        created_by: UserId::generate(),
        revoked_at: None,
        revoked_by: None,
    }
}

#[tokio::test]
async fn a_key_is_read_by_its_id_listed_by_its_vendor_and_revoked_once_by_that_vendor_only() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (first, second) = (key(vendor), key(vendor));
    api_keys::create(&table, &first, "aa").await.unwrap();
    api_keys::create(&table, &second, "bb").await.unwrap();
    assert!(api_keys::create(&table, &first, "cc").await.is_err(), "an id is issued once");
    let read = api_keys::get(&table, first.id).await.unwrap().unwrap();
    assert_eq!((read.key, read.secret_hash.as_str()), (first.clone(), "aa"));
    let listed = api_keys::list(&table, vendor, &PageRequest { newest_first: true, ..PageRequest::first(10) }).await;
    assert_eq!(listed.unwrap().items.iter().map(|k| k.id).collect::<Vec<_>>(), [second.id, first.id]);

    let stranger = VendorId::generate();
    let by_another = api_keys::revoke(&table, stranger, first.id, UserId::generate(), Utc::now()).await.unwrap();
    assert_eq!(by_another, Err(RevokeRefusal::NotFound), "another vendor's key looks like no key");
    let owner = UserId::generate();
    // two revocations at once: one revokes, the other finds it revoked
    let (a, b) = tokio::join!(
        api_keys::revoke(&table, vendor, first.id, owner, Utc::now()),
        api_keys::revoke(&table, vendor, first.id, owner, Utc::now()),
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().any(|o| matches!(o, Err(RevokeRefusal::AlreadyRevoked(_)))));
    let now = api_keys::get(&table, first.id).await.unwrap().unwrap().key;
    assert_eq!((now.status, now.revoked_by), (ApiKeyStatus::Revoked, Some(owner)));
    assert_eq!(api_keys::get(&table, second.id).await.unwrap().unwrap().key.status, ApiKeyStatus::Active);
}

fn read(vendor: VendorId, unit: &Unit, scan: &str, until_ms: i64) -> TagReadRecord {
    TagReadRecord {
        vendor_id: vendor,
        reader_id: "PORTAL-1".into(),
        gtin14: unit.gtin14.clone(),
        serial: unit.serial.clone(),
        scan_id: scan.into(),
        until_ms,
        expires_at: until_ms / 1000 + 3600,
    }
}

#[tokio::test]
async fn a_readers_window_on_a_tag_counts_one_scan_until_it_lapses_or_is_given_back() {
    let table = table().await;
    let vendor = VendorId::generate();
    let unit = Unit { gtin14: "04006381333931".into(), serial: "77".into() };
    let now = Utc::now().timestamp_millis();
    let window = |scan: &str| read(vendor, &unit, scan, now + 5_000);

    let table = &table;
    // eight scans read the tag at once: one counts it
    let claims = futures_util::future::join_all(
        (0..8).map(|i| async move { scans::claim_read(table, &window(&format!("s{i}")), now).await }),
    );
    let claims: Vec<bool> = claims.await.into_iter().map(Result::unwrap).collect();
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
    let holder = format!("s{}", claims.iter().position(|c| *c).unwrap());

    assert!(
        scans::claim_read(table, &window(&holder), now).await.unwrap(),
        "the scan that holds it, sent again, counts"
    );
    assert!(!scans::claim_read(table, &window("later"), now + 4_000).await.unwrap(), "within the window: a repeat");
    // another reader has a window of its own
    let other_reader = TagReadRecord { reader_id: "PORTAL-2".into(), ..window("elsewhere") };
    assert!(scans::claim_read(table, &other_reader, now).await.unwrap());
    // given back by another scan: nothing happens; by the holder: the next read counts
    scans::release_read(table, vendor, "PORTAL-1", &unit, "later").await.unwrap();
    assert!(!scans::claim_read(table, &window("later"), now).await.unwrap());
    scans::release_read(table, vendor, "PORTAL-1", &unit, &holder).await.unwrap();
    assert!(scans::claim_read(table, &window("later"), now).await.unwrap());
    // once lapsed, any scan's read counts again
    assert!(scans::claim_read(table, &window("much-later"), now + 5_001).await.unwrap());
}

#[tokio::test]
async fn a_unit_is_received_once_and_its_record_says_by_which_scan() {
    let table = table().await;
    let vendor = VendorId::generate();
    let units: Vec<Unit> =
        (1..=3).map(|s| Unit { gtin14: "09506000134352".into(), serial: format!("A-{s}") }).collect();
    let record = |unit: &Unit, scan: &str| UnitRecord {
        vendor_id: vendor,
        gtin14: unit.gtin14.clone(),
        serial: unit.serial.clone(),
        variant_id: VariantId::generate(),
        sku: "MILK".into(),
        location_id: LocationId::generate(),
        scan_id: scan.into(),
        received_at: Utc::now(),
    };
    let mut tx = table.tx();
    scans::claim_unit(&mut tx, 0, &record(&units[1], "first")).unwrap();
    table.commit(tx).await.unwrap();
    // a transaction claiming it again fails at that unit's step, naming its index
    let mut tx = table.tx();
    scans::claim_unit(&mut tx, 0, &record(&units[0], "second")).unwrap();
    scans::claim_unit(&mut tx, 1, &record(&units[1], "second")).unwrap();
    let error = table.commit(tx).await.unwrap_err();
    assert_eq!(scans::unit_step(&error), Some(1), "{error}");
    let found = scans::units(&table, vendor, units.clone()).await.unwrap();
    assert_eq!(
        found.iter().map(|r| r.as_ref().map(|r| r.scan_id.as_str())).collect::<Vec<_>>(),
        [None, Some("first"), None]
    );
}

/// One stock change of `quantity` on `before` (its item at the next version, and the movement).
fn stock_change(table: &Table, before: &stockyard_domain::stock::StockItem, quantity: i64) -> crate::Tx {
    use stockyard_domain::stock::{Actor, Movement, MovementReason};
    let mut after = before.clone();
    after.apply(quantity, &[], Utc::now()).unwrap();
    let movement = Movement {
        vendor_id: after.vendor_id,
        variant_id: after.variant_id,
        location_id: after.location_id,
        shard: None,
        sku: after.sku.clone(),
        version: after.version,
        reason: MovementReason::Correction,
        quantity,
        on_hand_after: after.on_hand,
        reserved_change: 0,
        batches: Vec::new(),
        reference: None,
        note: None,
        actor: Actor::System { name: "test".into() },
        at: Utc::now(),
    };
    let known = (before.version > 0).then_some(before);
    crate::stock::change(table, known, &after, &movement, 0).unwrap()
}

#[tokio::test]
async fn a_stock_change_that_lost_the_race_hands_back_the_item_the_winner_left() {
    use stockyard_domain::ids::ProductId;
    use stockyard_domain::stock::StockItem;
    let table = table().await;
    let id = (VendorId::generate(), VariantId::generate(), LocationId::generate());
    let empty = StockItem::empty(id.0, id.1, ProductId::generate(), "MILK", id.2, false, Utc::now());
    table.commit_once_seeing(stock_change(&table, &empty, 10), crate::stock::STOCK_CHANGED).await.unwrap();
    let first = table.get::<StockItem>(&id).await.unwrap().unwrap();
    // Two changes planned on the same state: the second loses, and learns the state it lost to.
    table.commit_once_seeing(stock_change(&table, &first, -3), crate::stock::STOCK_CHANGED).await.unwrap();
    let (error, seen) =
        table.commit_once_seeing(stock_change(&table, &first, -4), crate::stock::STOCK_CHANGED).await.unwrap_err();
    assert!(error.failed_at(crate::stock::STOCK_CHANGED), "{error:?}");
    let seen: StockItem = crate::table::from_item(seen.expect("the item comes back with the lost race")).unwrap();
    assert_eq!((seen.on_hand, seen.version), (7, 2));
    // Planned on what came back, it applies.
    table.commit_once_seeing(stock_change(&table, &seen, -4), crate::stock::STOCK_CHANGED).await.unwrap();
    let last = table.get::<StockItem>(&id).await.unwrap().unwrap();
    assert_eq!((last.on_hand, last.version), (3, 3));
}
