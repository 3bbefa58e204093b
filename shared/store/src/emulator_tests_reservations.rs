//! Reservations against DynamoDB Local: never more promised than is available under concurrency,
//! all lines or none, given back exactly.

use chrono::Utc;
use stockyard_domain::ids::{LocationId, VariantId, VendorId};
use stockyard_domain::stock::{Actor, MovementReason, StockItem};

use crate::emulator_tests::{stocked, table};
use crate::reservations::{self, Hold, ItemId, ReserveError};
use crate::table::Expr;
use crate::{StoreError, Table};

fn actor() -> Actor {
    Actor::System { name: "checkout test".into() }
}

async fn item(table: &Table, id: ItemId) -> StockItem {
    table.get::<StockItem>(&id).await.unwrap().unwrap()
}

fn today() -> chrono::NaiveDate {
    Utc::now().date_naive()
}

#[tokio::test]
async fn two_hundred_concurrent_checkouts_of_fifty_units_hold_exactly_fifty_and_the_ledger_agrees() {
    let table = table().await;
    let id = stocked(&table, VendorId::generate(), 50).await;
    let tasks = (0..200).map(|n| {
        let table = table.clone();
        tokio::spawn(async move {
            let holds = [Hold::of(id, 1)];
            loop {
                match reservations::reserve(&table, &holds, &format!("order:{n}"), &actor(), today(), |_, _| Ok(()))
                    .await
                {
                    // Busy: a client sends it again, as it would after a 503.
                    Err(ReserveError::Store(StoreError::Throttled(_))) => continue,
                    other => return other,
                }
            }
        })
    });
    let outcomes = futures_util::future::join_all(tasks).await;
    let held = outcomes.iter().filter(|o| matches!(o, Ok(Ok(())))).count();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Err(ReserveError::Short { index: 0, requested: 1, available: 0 }))))
        .count();
    assert_eq!((held, refused), (50, 150), "every checkout is held or refused as short, never both ways wrong");
    let after = item(&table, id).await;
    assert_eq!((after.on_hand, after.reserved, after.version), (50, 50, 51));
    let ledger = crate::stock::all_movements(&table, id.0, id.1, id.2).await.unwrap();
    let reservations: Vec<_> = ledger.iter().filter(|m| m.reason == MovementReason::Reserved).collect();
    assert_eq!(reservations.len(), 50);
    assert!(reservations.iter().all(|m| m.quantity == 0 && m.reserved_change == 1 && m.on_hand_after == 50));
    assert_eq!(ledger.iter().map(|m| m.reserved_change).sum::<i64>(), 50);
    let versions: Vec<u64> = ledger.iter().map(|m| m.version).collect();
    assert_eq!(versions, (1..=51).collect::<Vec<_>>(), "one movement per version");
}

#[tokio::test]
async fn a_reservation_holds_every_line_or_none_and_gives_back_exactly_what_it_held() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (a, b) = (stocked(&table, vendor, 3).await, stocked(&table, vendor, 2).await);

    // The second line is short: nothing is held on the first either, and the line is named.
    let short = [Hold::of(a, 3), Hold::of(b, 3)];
    let error =
        reservations::reserve(&table, &short, "order:short", &actor(), today(), |_, _| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 1, requested: 3, available: 2 }), "{error:?}");
    assert_eq!((item(&table, a).await.version, item(&table, b).await.version), (1, 1));

    // Another step of the same transaction fails (an order record's condition, say): nothing held.
    let fits = [Hold::of(a, 2), Hold::of(b, 2), Hold::of(a, 1)];
    let missing = (vendor, VariantId::generate(), LocationId::generate());
    let error = reservations::reserve(&table, &fits, "order:blocked", &actor(), today(), |tx, _| {
        tx.check::<StockItem>("order_record", &missing, Expr::exists())?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(matches!(&error, ReserveError::Store(e) if e.failed_at("order_record")), "{error:?}");
    assert_eq!((item(&table, a).await.reserved, item(&table, b).await.reserved), (0, 0));

    // Two lines of one item count together; everything is held in one go.
    reservations::reserve(&table, &fits, "order:1", &actor(), today(), |_, _| Ok(())).await.unwrap();
    let (held_a, held_b) = (item(&table, a).await, item(&table, b).await);
    assert_eq!((held_a.reserved, held_a.version, held_b.reserved, held_b.version), (3, 2, 2, 2));
    let more = [Hold::of(b, 1)];
    let error = reservations::reserve(&table, &more, "order:2", &actor(), today(), |_, _| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 0, requested: 1, available: 0 }), "{error:?}");

    // Given back: never more than is held, and then exactly what was held.
    let too_much = [Hold::of(a, 4)];
    let error = reservations::release(&table, &too_much, "order:1", &actor(), |_| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 0, requested: 4, available: 3 }), "{error:?}");
    let back = [Hold::of(a, 3), Hold::of(b, 2)];
    reservations::release(&table, &back, "order:1", &actor(), |_| Ok(())).await.unwrap();
    let (free_a, free_b) = (item(&table, a).await, item(&table, b).await);
    assert_eq!((free_a.on_hand, free_a.reserved, free_b.on_hand, free_b.reserved), (3, 0, 2, 0));
    let ledger = crate::stock::all_movements(&table, a.0, a.1, a.2).await.unwrap();
    let last = ledger.last().unwrap();
    assert_eq!(
        (last.reason, last.reserved_change, last.reference.as_deref()),
        (MovementReason::ReservationReleased, -3, Some("order:1"))
    );
}

#[tokio::test]
async fn a_reservation_refuses_more_stock_items_than_one_transaction_holds_and_an_unknown_item_is_short() {
    let table = table().await;
    let vendor = VendorId::generate();
    let holds: Vec<Hold> = (0..=reservations::MAX_ITEMS)
        .map(|_| Hold::of((vendor, VariantId::generate(), LocationId::generate()), 1))
        .collect();
    let error = reservations::reserve(&table, &holds, "order:big", &actor(), today(), |_, _| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::TooManyItems), "{error:?}");
    let error =
        reservations::reserve(&table, &holds[..2], "order:none", &actor(), today(), |_, _| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 0, requested: 1, available: 0 }), "{error:?}");
}

#[tokio::test]
async fn a_hundred_concurrent_checkouts_of_fifty_units_in_four_shards_hold_exactly_fifty_and_every_ledger_agrees() {
    let table = table().await;
    let id = stocked(&table, VendorId::generate(), 52).await;
    // 2 units stay on the item (reserved to an order before the split), 50 go to four shards.
    reservations::reserve(&table, &[Hold::of(id, 2)], "order:early", &actor(), today(), |_, _| Ok(())).await.unwrap();
    let (split, shards) = crate::stock::rebalance(&table, id, 4, &actor(), today()).await.unwrap();
    assert_eq!((split.reserved, split.allotted, split.shards), (52, 50, 4));
    assert_eq!(shards.iter().map(|s| s.allotted).collect::<Vec<_>>(), vec![13, 13, 12, 12]);
    let tasks = (0..100).map(|n| {
        let table = table.clone();
        tokio::spawn(async move {
            let holds = [Hold::of(id, 1)];
            loop {
                let placed = |_: &mut crate::tx::Tx, placed: &[Hold]| Ok(placed.to_vec());
                match reservations::reserve(&table, &holds, &format!("order:{n}"), &actor(), today(), placed).await {
                    Err(ReserveError::Store(StoreError::Throttled(_))) => continue,
                    other => return other,
                }
            }
        })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let placed: Vec<&Vec<Hold>> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Err(ReserveError::Short { index: 0, requested: 1, available: 0 })))
        .count();
    assert_eq!((placed.len(), refused), (50, 50));
    assert!(placed.iter().all(|p| p.len() == 1 && p[0].shard.is_some() && p[0].quantity == 1));
    let per_shard = |n: u8| placed.iter().filter(|p| p[0].shard == Some(n)).count();
    assert_eq!((0..4).map(per_shard).collect::<Vec<_>>(), vec![13, 13, 12, 12], "each shard sold out, none over");
    // The item was not written by a single checkout: its version is the split's.
    let after = item(&table, id).await;
    assert_eq!((after.on_hand, after.reserved, after.allotted, after.version), (52, 52, 50, split.version));
    for shard in crate::stock::active_shards(&table, &after).await.unwrap() {
        assert_eq!(shard.reserved, shard.allotted, "shard {} sold out exactly", shard.shard);
        let ledger = crate::stock::all_shard_movements(&table, id, shard.shard).await.unwrap();
        let versions: Vec<u64> = ledger.iter().map(|m| m.version).collect();
        assert_eq!(
            versions,
            (1..=shard.version).collect::<Vec<_>>(),
            "one movement per version of shard {}",
            shard.shard
        );
        assert_eq!(ledger.iter().map(|m| m.quantity).sum::<i64>(), i64::from(shard.allotted));
        assert_eq!(ledger.iter().map(|m| m.reserved_change).sum::<i64>(), i64::from(shard.reserved));
    }

    // An order gives its unit back to its shard; merged back, the free unit returns to the item,
    // and an order released after that gives its unit straight back to the item.
    let first = placed[0][0].clone();
    let second = placed.iter().map(|p| p[0].clone()).find(|h| h.shard != first.shard).unwrap();
    reservations::release(&table, std::slice::from_ref(&first), "order:x", &actor(), |_| Ok(())).await.unwrap();
    let id_of = |h: &Hold| (h.item.0, h.item.1, h.item.2, h.shard.unwrap());
    let back: stockyard_domain::stock::StockShard = table.get(&id_of(&first)).await.unwrap().unwrap();
    assert_eq!(back.free(), 1);
    let (merged, active) = crate::stock::rebalance(&table, id, 0, &actor(), today()).await.unwrap();
    assert!(active.is_empty());
    assert_eq!((merged.reserved, merged.allotted, merged.shards), (51, 49, 0));
    assert_eq!(stockyard_domain::stock::availability(&merged, today()).available, 1);
    reservations::release(&table, std::slice::from_ref(&second), "order:y", &actor(), |_| Ok(())).await.unwrap();
    let after = item(&table, id).await;
    assert_eq!((after.reserved, after.allotted, after.version), (50, 48, merged.version + 1));
    let retired: stockyard_domain::stock::StockShard = table.get(&id_of(&second)).await.unwrap().unwrap();
    assert_eq!(
        (retired.allotted, retired.reserved),
        (second_allotted(&shards, &second) - 1, second_allotted(&shards, &second) - 1)
    );
    let ledger = crate::stock::all_movements(&table, id.0, id.1, id.2).await.unwrap();
    assert_eq!(ledger.iter().map(|m| m.reserved_change).sum::<i64>(), i64::from(after.reserved));
    let versions: Vec<u64> = ledger.iter().map(|m| m.version).collect();
    assert_eq!(versions, (1..=after.version).collect::<Vec<_>>());
}

/// What `hold`'s shard was allotted at the split.
fn second_allotted(shards: &[stockyard_domain::stock::StockShard], hold: &Hold) -> u32 {
    shards.iter().find(|s| Some(s.shard) == hold.shard).map_or(0, |s| s.allotted)
}
