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
            let holds = [Hold { item: id, quantity: 1 }];
            loop {
                match reservations::reserve(&table, &holds, &format!("order:{n}"), &actor(), today(), |_| Ok(())).await
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
    let short = [Hold { item: a, quantity: 3 }, Hold { item: b, quantity: 3 }];
    let error = reservations::reserve(&table, &short, "order:short", &actor(), today(), |_| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 1, requested: 3, available: 2 }), "{error:?}");
    assert_eq!((item(&table, a).await.version, item(&table, b).await.version), (1, 1));

    // Another step of the same transaction fails (an order record's condition, say): nothing held.
    let fits = [Hold { item: a, quantity: 2 }, Hold { item: b, quantity: 2 }, Hold { item: a, quantity: 1 }];
    let missing = (vendor, VariantId::generate(), LocationId::generate());
    let error = reservations::reserve(&table, &fits, "order:blocked", &actor(), today(), |tx| {
        tx.check::<StockItem>("order_record", &missing, Expr::exists())?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(matches!(&error, ReserveError::Store(e) if e.failed_at("order_record")), "{error:?}");
    assert_eq!((item(&table, a).await.reserved, item(&table, b).await.reserved), (0, 0));

    // Two lines of one item count together; everything is held in one go.
    reservations::reserve(&table, &fits, "order:1", &actor(), today(), |_| Ok(())).await.unwrap();
    let (held_a, held_b) = (item(&table, a).await, item(&table, b).await);
    assert_eq!((held_a.reserved, held_a.version, held_b.reserved, held_b.version), (3, 2, 2, 2));
    let more = [Hold { item: b, quantity: 1 }];
    let error = reservations::reserve(&table, &more, "order:2", &actor(), today(), |_| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 0, requested: 1, available: 0 }), "{error:?}");

    // Given back: never more than is held, and then exactly what was held.
    let too_much = [Hold { item: a, quantity: 4 }];
    let error = reservations::release(&table, &too_much, "order:1", &actor(), |_| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 0, requested: 4, available: 3 }), "{error:?}");
    let back = [Hold { item: a, quantity: 3 }, Hold { item: b, quantity: 2 }];
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
        .map(|_| Hold { item: (vendor, VariantId::generate(), LocationId::generate()), quantity: 1 })
        .collect();
    let error = reservations::reserve(&table, &holds, "order:big", &actor(), today(), |_| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::TooManyItems), "{error:?}");
    let error =
        reservations::reserve(&table, &holds[..2], "order:none", &actor(), today(), |_| Ok(())).await.unwrap_err();
    assert!(matches!(error, ReserveError::Short { index: 0, requested: 1, available: 0 }), "{error:?}");
}
