//! The store against DynamoDB Local, through the real SDK: records, conditions, transactions,
//! pagination cursors, filtered pages, sharded listings, idempotency records, sent-email claims and
//! sign-in counting.
//!
//! An in-crate test module, so it reaches the crate-private table operations. It needs DynamoDB
//! Local and the table from template.yaml: run it through `make test` or
//! `target/debug/stockyard-local exec -- cargo test -p stockyard-store --lib` (which start the
//! emulators and export `STOCKYARD_TABLE_NAME` and `AWS_ENDPOINT_URL_DYNAMODB`). Every test writes
//! under fresh ULID keys, so they share the one table and run in parallel and in any order.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{EmailId, UserId};
use ulid::Ulid;

use crate::entity::{Collection, Entity, Sharded};
use crate::idempotency::{self, IdempotencyRecord};
use crate::keys::{self, IndexKey, Key};
use crate::sent_emails::{self, Claim, SentEmailRecord};
use crate::sign_in;
use crate::table::{Change, Expr, FILTERED_READS, to_item};
use crate::{Page, PageRequest, StoreError, Table};

// ---- helpers ------------------------------------------------------------------------------------

fn required_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{name} is not set. The store's emulator tests need DynamoDB Local and the table from \
             template.yaml: run them via `make test` (or `target/debug/stockyard-local exec -- \
             cargo test -p stockyard-store --lib`)."
        ),
    }
}

/// The stack's table, reached through the SDK configuration every function uses.
/// The stack's table, through the real SDK (every emulator test module's).
pub(crate) async fn table() -> Table {
    let name = required_env("STOCKYARD_TABLE_NAME");
    // Never let these tests reach a real AWS account.
    required_env("AWS_ENDPOINT_URL_DYNAMODB");
    let sdk = stockyard_platform::aws_config().await;
    Table::new(aws_sdk_dynamodb::Client::new(&sdk), name)
}

/// A partition key no other test (or run) uses.
fn fresh_partition() -> String {
    format!("STORETEST#{}", Ulid::new())
}

/// What identifies a widget: its partition and sort key, chosen freely by each test.
type WidgetId = (String, String);

fn at(pk: &str, sk: &str) -> WidgetId {
    (pk.to_string(), sk.to_string())
}

/// Where a widget is listed on the secondary index (GSI1), if it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Listing {
    pk: String,
    sk: String,
}

/// A test record with a bit of everything serde_dynamo has to carry, stored under whatever key
/// the test gives it (it carries its own key, so any partition and sort key will do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Widget {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listing: Option<Listing>,
    name: String,
    count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
}

impl Entity for Widget {
    type Id = WidgetId;
    const NAME: &'static str = "widget";
    fn key((pk, sk): &WidgetId) -> Key {
        Key { pk: pk.clone(), sk: sk.clone() }
    }
    fn key_of(&self) -> Key {
        Key { pk: self.pk.clone(), sk: self.sk.clone() }
    }
    fn index_key(&self) -> Option<IndexKey> {
        self.listing.as_ref().map(|l| IndexKey { pk: l.pk.clone(), sk: l.sk.clone() })
    }
}

fn widget(id: &WidgetId, name: &str, count: i64) -> Widget {
    Widget {
        pk: id.0.clone(),
        sk: id.1.clone(),
        listing: None,
        name: name.to_string(),
        count,
        note: None,
        tags: vec![],
        created_at: Utc::now(),
    }
}

/// `ADD #count :n`.
fn add_count(n: i64) -> Expr {
    Expr::new("ADD #count :n").name("#count", "count").val(":n", &n)
}

/// `#count = :expected`.
fn count_is(expected: i64) -> Expr {
    Expr::new("#count = :expected").name("#count", "count").val(":expected", &expected)
}

async fn get_widget(table: &Table, id: &WidgetId) -> Option<Widget> {
    table.get::<Widget>(id).await.expect("get")
}

/// Follows cursors to the end, checking every page respects the limit.
async fn all_pages<E: Entity>(
    table: &Table,
    collection: &Collection<E>,
    limit: i32,
    newest_first: bool,
) -> (Vec<E>, usize) {
    let mut page = PageRequest { limit, cursor: None, newest_first };
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let next: Page<E> = table.query(collection, &page).await.expect("query");
        pages += 1;
        assert!(next.items.len() <= limit as usize, "a page holds at most `limit` items");
        assert!(!next.partial, "an unfiltered page is never partial");
        assert!(pages <= 1000, "the cursor does not advance");
        items.extend(next.items);
        match next.next_cursor {
            Some(cursor) => {
                assert_ne!(page.cursor.as_deref(), Some(cursor.as_str()), "the cursor must advance");
                page.cursor = Some(cursor);
            }
            None => return (items, pages),
        }
    }
}

fn cursor_of(plain: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(plain.to_string())
}

fn decoded(cursor: &str) -> serde_json::Map<String, serde_json::Value> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).expect("an issued cursor is base64url");
    serde_json::from_slice(&bytes).expect("an issued cursor is a JSON object")
}

// ---- single items -------------------------------------------------------------------------------

#[tokio::test]
async fn a_record_round_trips_through_put_and_get() {
    let table = table().await;
    let pk = fresh_partition();
    let full = Widget {
        note: Some("with a note".into()),
        tags: vec!["b".into(), "a".into(), "b".into()],
        ..widget(&at(&pk, "FULL"), "Spanner ünïcödé ✓", -42)
    };
    let bare = widget(&at(&pk, "BARE"), "bare", 0);

    table.put(&full, None).await.expect("put full");
    table.put(&bare, None).await.expect("put bare");

    assert_eq!(get_widget(&table, &at(&pk, "FULL")).await, Some(full.clone()));
    assert_eq!(get_widget(&table, &at(&pk, "BARE")).await, Some(bare));
    // Same partition, another sort key; and another partition: nothing there.
    assert_eq!(get_widget(&table, &at(&pk, "MISSING")).await, None);
    assert_eq!(get_widget(&table, &at(&fresh_partition(), "FULL")).await, None);

    // A put without a condition replaces the whole item (the note disappears).
    let replaced = Widget { note: None, count: 7, ..full };
    table.put(&replaced, None).await.expect("replace");
    assert_eq!(get_widget(&table, &at(&pk, "FULL")).await, Some(replaced));
}

#[tokio::test]
async fn a_record_written_with_an_index_key_is_found_through_the_index() {
    let table = table().await;
    let pk = fresh_partition();
    let index_pk = fresh_partition();
    let record = Widget {
        listing: Some(Listing { pk: index_pk.clone(), sk: "W#1".into() }),
        ..widget(&at(&pk, "W"), "indexed", 1)
    };
    table.put(&record, None).await.expect("put");
    table.put(&widget(&at(&pk, "UNLISTED"), "unlisted", 2), None).await.expect("put");

    let listed: Vec<Widget> = table.query_all(&Collection::<Widget>::index(index_pk, "W#")).await.unwrap();
    assert_eq!(listed, vec![record]);
}

#[tokio::test]
async fn an_item_that_is_not_the_record_asked_for_is_malformed() {
    /// Stored under the same keys as a widget, but its `name` is a number.
    #[derive(Debug, Serialize, Deserialize)]
    struct NotAWidget {
        pk: String,
        sk: String,
        name: i64,
    }
    impl Entity for NotAWidget {
        type Id = WidgetId;
        const NAME: &'static str = "not a widget";
        fn key((pk, sk): &WidgetId) -> Key {
            Key { pk: pk.clone(), sk: sk.clone() }
        }
        fn key_of(&self) -> Key {
            Key { pk: self.pk.clone(), sk: self.sk.clone() }
        }
    }
    let table = table().await;
    let id = at(&fresh_partition(), "W");
    table.put(&widget(&id, "text, not a number", 1), None).await.unwrap();
    let err = table.get::<NotAWidget>(&id).await.unwrap_err();
    assert!(matches!(err, StoreError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn a_conditional_put_that_fails_is_condition_failed_and_changes_nothing() {
    let table = table().await;
    let id = at(&fresh_partition(), "W");
    let first = widget(&id, "first", 1);
    table.put(&first, Some(Expr::not_exists())).await.expect("the first put creates it");

    let err = table.put(&widget(&id, "second", 2), Some(Expr::not_exists())).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(get_widget(&table, &id).await, Some(first.clone()));

    // A condition with placeholders: only the expected version may be replaced.
    let err = table.put(&widget(&id, "third", 3), Some(count_is(99))).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(get_widget(&table, &id).await, Some(first));
    let third = widget(&id, "third", 3);
    table.put(&third, Some(count_is(1))).await.expect("the condition holds");
    assert_eq!(get_widget(&table, &id).await, Some(third));

    // `exists` refuses to create an item.
    let missing = at(&fresh_partition(), "W");
    let err = table.put(&widget(&missing, "ghost", 0), Some(Expr::exists())).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(get_widget(&table, &missing).await, None);
}

#[tokio::test]
async fn conditional_updates_and_deletes_apply_only_when_their_condition_holds() {
    let table = table().await;
    let id = at(&fresh_partition(), "W");
    table.put(&widget(&id, "counter", 5), None).await.unwrap();

    let after: Widget = table.update(&id, Change::new(add_count(2)).when(count_is(5))).await.expect("update");
    assert_eq!(after.count, 7, "update returns the record as it is afterwards");
    assert_eq!((after.name.as_str(), &after.pk, &after.sk), ("counter", &id.0, &id.1), "and the whole record");
    let err = table.update::<Widget>(&id, Change::new(add_count(2)).when(count_is(5))).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert_eq!(get_widget(&table, &id).await.unwrap().count, 7);

    // An update conditioned on existence does not create a missing item (not even a fragment of
    // one, which would read back as a malformed widget).
    let missing = at(&fresh_partition(), "W");
    let err = table.update::<Widget>(&missing, Change::new(add_count(1)).when(Expr::exists())).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    let there = table.get::<Widget>(&missing).await;
    assert!(matches!(there, Ok(None)), "nothing was created: {there:?}");

    let err = table.delete::<Widget>(&id, Some(count_is(5))).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed), "{err:?}");
    assert!(get_widget(&table, &id).await.is_some(), "a refused delete leaves the item");
    table.delete::<Widget>(&id, Some(count_is(7))).await.expect("delete");
    assert_eq!(get_widget(&table, &id).await, None);
}

// ---- transactions -------------------------------------------------------------------------------

#[tokio::test]
async fn a_transaction_with_a_failed_condition_reports_that_write_and_applies_none() {
    let table = table().await;
    // Four kinds of write, each its own step; in each round exactly the step at `failing` has a
    // condition that fails, and the error must name that step.
    const STEPS: [&str; 4] = ["create new", "update counter", "delete old", "check guard"];
    for (failing, failing_step) in STEPS.iter().copied().enumerate() {
        let pk = fresh_partition();
        let (new, updated, deleted, checked) = (at(&pk, "NEW"), at(&pk, "UPD"), at(&pk, "DEL"), at(&pk, "CHK"));
        for (id, count) in [(&updated, 10), (&deleted, 20), (&checked, 30)] {
            table.put(&widget(id, "before", count), None).await.unwrap();
        }
        let mut tx = table.tx();
        tx.put(STEPS[0], &widget(&new, "new", 1), Some(if failing == 0 { Expr::exists() } else { Expr::not_exists() }))
            .unwrap()
            .update::<Widget>(
                STEPS[1],
                &updated,
                Change::new(add_count(1)).when(count_is(if failing == 1 { 11 } else { 10 })),
            )
            .unwrap()
            .delete::<Widget>(STEPS[2], &deleted, Some(count_is(if failing == 2 { 21 } else { 20 })))
            .unwrap()
            .check::<Widget>(STEPS[3], &checked, if failing == 3 { Expr::not_exists() } else { Expr::exists() })
            .unwrap();
        assert_eq!(tx.step_names(), STEPS.to_vec());
        let err = table.commit(tx).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { step } if step == failing_step),
            "step {:?} failed its condition, got {err:?}",
            failing_step
        );
        assert!(err.failed_at(failing_step), "{err:?}");
        for (other, name) in STEPS.iter().enumerate().filter(|(i, _)| *i != failing) {
            assert!(!err.failed_at(name), "round {failing}: step {other} did not fail: {err:?}");
        }
        assert_eq!(get_widget(&table, &new).await, None, "round {failing}: the put was not applied");
        assert_eq!(get_widget(&table, &updated).await.unwrap().count, 10, "round {failing}: nor the update");
        assert!(get_widget(&table, &deleted).await.is_some(), "round {failing}: nor the delete");
        assert_eq!(get_widget(&table, &checked).await.unwrap().count, 30);
    }
}

#[tokio::test]
async fn a_transaction_whose_conditions_hold_applies_every_write() {
    let table = table().await;
    let pk = fresh_partition();
    let (new, updated, deleted, checked) = (at(&pk, "NEW"), at(&pk, "UPD"), at(&pk, "DEL"), at(&pk, "CHK"));
    for (id, count) in [(&updated, 10), (&deleted, 20), (&checked, 30)] {
        table.put(&widget(id, "before", count), None).await.unwrap();
    }
    let created = widget(&new, "new", 1);
    let mut tx = table.tx();
    tx.put("create", &created, Some(Expr::not_exists()))
        .unwrap()
        .update::<Widget>("update", &updated, Change::new(add_count(5)).when(count_is(10)))
        .unwrap()
        .delete::<Widget>("delete", &deleted, Some(Expr::exists()))
        .unwrap()
        .check::<Widget>("check", &checked, count_is(30))
        .unwrap();
    table.commit(tx).await.expect("every condition holds");
    assert_eq!(get_widget(&table, &new).await, Some(created));
    assert_eq!(get_widget(&table, &updated).await.unwrap().count, 15);
    assert_eq!(get_widget(&table, &deleted).await, None);
    assert_eq!(get_widget(&table, &checked).await.unwrap().count, 30);
}

/// A fresh partition holding one counter at 0.
async fn zeroed_counter(table: &Table) -> (String, WidgetId) {
    let pk = fresh_partition();
    let counter = at(&pk, "COUNTER");
    table.put(&widget(&counter, "counter", 0), None).await.unwrap();
    (pk, counter)
}

#[tokio::test]
async fn concurrent_increments_of_one_item_are_each_applied_exactly_once() {
    const TASKS: usize = 8;
    let table = table().await;
    let (pk, counter) = zeroed_counter(&table).await;

    // Each task increments the counter and writes its own receipt in one transaction, all at
    // once. DynamoDB may cancel some as conflicting (`TransactionConflict`); the store retries
    // those, and none may be lost or applied twice. (DynamoDB Local serialises transactions and
    // does not produce such cancellations, so here this checks the outcome, not the retry path.)
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let (table, counter, receipt) = (table.clone(), counter.clone(), at(&pk, &format!("RECEIPT#{i}")));
        tasks.spawn(async move {
            let mut tx = table.tx();
            tx.update::<Widget>("counter", &counter, Change::new(add_count(1)).when(Expr::exists()))
                .unwrap()
                .put("receipt", &widget(&receipt, "receipt", i as i64), Some(Expr::not_exists()))
                .unwrap();
            table.commit(tx).await
        });
    }
    let results = tasks.join_all().await;
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "every increment commits (conflicts are retried): {failed:?}");

    assert_eq!(get_widget(&table, &counter).await.unwrap().count, TASKS as i64, "no update lost or doubled");
    let receipts: Vec<Widget> = table.query_all(&Collection::<Widget>::table(pk.clone(), "RECEIPT#")).await.unwrap();
    assert_eq!(receipts.len(), TASKS);
}

#[tokio::test]
async fn concurrent_compare_and_set_transactions_never_lose_an_update() {
    const TASKS: usize = 8;
    let table = table().await;
    let (pk, counter) = zeroed_counter(&table).await;

    // Optimistic read-modify-write: read n, write n + 1 only if it is still n. A lost race is a
    // failed condition at the `counter` step (re-read and try again); anything else is an error.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let (table, counter, receipt) = (table.clone(), counter.clone(), at(&pk, &format!("RECEIPT#{i}")));
        tasks.spawn(async move {
            for _ in 0..200 {
                let seen = table.get::<Widget>(&counter).await?.expect("the counter exists").count;
                let mut tx = table.tx();
                tx.update::<Widget>("counter", &counter, Change::new(add_count(1)).when(count_is(seen)))?.put(
                    "receipt",
                    &widget(&receipt, "receipt", seen),
                    Some(Expr::not_exists()),
                )?;
                match table.commit(tx).await {
                    Ok(()) => return Ok(seen),
                    Err(StoreError::Conflict { step }) if step == "counter" => continue,
                    Err(e) => return Err(e),
                }
            }
            panic!("task {i} never won the race");
        });
    }
    let mut seen: Vec<i64> = tasks.join_all().await.into_iter().collect::<Result<_, _>>().expect("every task commits");
    seen.sort();
    // Each task moved the counter from a distinct value: 0 -> 1, 1 -> 2, ... with no value skipped.
    assert_eq!(seen, (0..TASKS as i64).collect::<Vec<_>>());
    assert_eq!(get_widget(&table, &counter).await.unwrap().count, TASKS as i64);
}

// ---- pagination ---------------------------------------------------------------------------------

#[tokio::test]
async fn query_pages_visit_every_item_of_the_collection_once_in_order() {
    const ITEMS: usize = 23;
    let table = table().await;
    let pk = fresh_partition();
    let mut tx = table.tx();
    for i in 0..ITEMS {
        tx.put("item", &widget(&at(&pk, &format!("ITEM#{i:03}")), &format!("item {i}"), i as i64), None).unwrap();
    }
    // Same partition, other prefixes (before and after ITEM#): not part of the collection.
    for sk in ["AAA#1", "ITEM", "ITEMS#1", "ZZZ#1"] {
        tx.put("outsider", &widget(&at(&pk, sk), "outsider", -1), None).unwrap();
    }
    table.commit(tx).await.unwrap();
    let collection = Collection::<Widget>::table(pk.clone(), "ITEM#");

    let expected: Vec<i64> = (0..ITEMS as i64).collect();
    for limit in [1, 5, 23, 100] {
        let (items, pages) = all_pages(&table, &collection, limit, false).await;
        assert_eq!(items.iter().map(|w| w.count).collect::<Vec<_>>(), expected, "oldest first, limit {limit}");
        assert!(pages >= ITEMS.div_ceil(limit as usize) && pages <= ITEMS.div_ceil(limit as usize) + 1);

        let (items, _) = all_pages(&table, &collection, limit, true).await;
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(items.iter().map(|w| w.count).collect::<Vec<_>>(), reversed, "newest first, limit {limit}");
    }

    // query_all reads the same collection through the same cursors.
    let all: Vec<Widget> = table.query_all(&collection).await.unwrap();
    assert_eq!(all.len(), ITEMS);
}

#[tokio::test]
async fn query_pages_on_the_secondary_index_visit_every_item_once_in_order() {
    const ITEMS: usize = 12;
    let table = table().await;
    let pk = fresh_partition();
    let index_pk = fresh_partition();
    let mut tx = table.tx();
    for i in 0..ITEMS {
        let listing = Listing { pk: index_pk.clone(), sk: format!("W#{i:03}") };
        // Base-table sort keys in the opposite order, so the index order is the one that counts.
        let record =
            Widget { listing: Some(listing), ..widget(&at(&pk, &format!("ITEM#{:03}", ITEMS - i)), "w", i as i64) };
        tx.put("item", &record, None).unwrap();
    }
    table.commit(tx).await.unwrap();
    let collection = Collection::<Widget>::index(index_pk.clone(), "W#");

    let first = table.query(&collection, &PageRequest::first(5)).await.unwrap();
    assert_eq!(first.items.len(), 5);
    let cursor = first.next_cursor.expect("more pages");
    let plain = decoded(&cursor);
    assert_eq!(plain.get(keys::GSI1PK).and_then(|v| v.as_str()), Some(index_pk.as_str()));

    let (items, _) = all_pages(&table, &collection, 5, false).await;
    assert_eq!(items.iter().map(|w| w.count).collect::<Vec<_>>(), (0..ITEMS as i64).collect::<Vec<_>>());
    let (items, _) = all_pages(&table, &collection, 5, true).await;
    assert_eq!(items.iter().map(|w| w.count).collect::<Vec<_>>(), (0..ITEMS as i64).rev().collect::<Vec<_>>());
}

/// Writes `items` widgets `ITEM#0000`.. into a fresh partition, `count` given by `count_of(i)`.
async fn many_widgets(table: &Table, items: usize, count_of: impl Fn(usize) -> i64) -> String {
    let pk = fresh_partition();
    let records: Vec<_> = (0..items)
        .map(|i| to_item(&widget(&at(&pk, &format!("ITEM#{i:04}")), &format!("item {i}"), count_of(i))).unwrap())
        .collect();
    assert_eq!(table.put_batch(records, 4).await.unwrap(), items);
    pk
}

/// Follows the cursors of a filtered list to the end: the pages, each checked to be full unless
/// it is the last one, and never partial.
async fn all_filtered_pages(
    table: &Table,
    collection: &Collection<Widget>,
    limit: i32,
    newest_first: bool,
    filter: Option<Expr>,
    keep: impl Fn(&Widget) -> bool + Copy,
) -> Vec<Vec<String>> {
    let mut page = PageRequest { limit, cursor: None, newest_first };
    let mut pages = Vec::new();
    loop {
        let next = table.query_filtered(collection, &page, filter.clone(), keep).await.expect("filtered query");
        assert!(!next.partial, "page {} of a filtered list stayed within its read budget", pages.len());
        assert!(next.items.iter().all(|w| w.count == 7 && keep(w)), "only matching items: {:?}", next.items);
        assert!(pages.len() < 100, "the cursor does not advance");
        pages.push(next.items.into_iter().map(|w| w.sk).collect::<Vec<_>>());
        match next.next_cursor {
            Some(cursor) => {
                assert_eq!(pages.last().unwrap().len(), limit as usize, "only a full page has a next page");
                page.cursor = Some(cursor);
            }
            None => return pages,
        }
    }
}

#[tokio::test]
async fn a_filtered_list_reads_past_non_matching_items_to_fill_its_pages() {
    let table = table().await;
    // 200 widgets of which 1 in 50 matches (`count = 7`): one DynamoDB page of 3 evaluated items
    // would hold none of them.
    let pk = many_widgets(&table, 200, |i| if i % 50 == 49 { 7 } else { (i % 7) as i64 }).await;
    let collection = Collection::<Widget>::table(pk.clone(), "ITEM#");
    let matching: Vec<String> = (0..200).filter(|i| i % 50 == 49).map(|i| format!("ITEM#{i:04}")).collect();
    let seven = || Some(count_is(7));

    // Filtered by DynamoDB: the first page holds exactly 3 matches, the next the last one.
    let first = table.query_filtered(&collection, &PageRequest::first(3), seven(), |_| true).await.unwrap();
    assert_eq!(first.items.iter().map(|w| w.sk.clone()).collect::<Vec<_>>(), matching[..3].to_vec());
    assert!(!first.partial);
    assert!(first.next_cursor.is_some(), "a full page says there may be more");
    let pages = all_filtered_pages(&table, &collection, 3, false, seven(), |_| true).await;
    assert_eq!(pages, vec![matching[..3].to_vec(), matching[3..].to_vec()], "no duplicates, no misses");

    // Filtered here (`keep`) instead: the same pages.
    let kept = all_filtered_pages(&table, &collection, 3, false, None, |w| w.count == 7).await;
    assert_eq!(kept, pages);

    // Newest first, a page at a time: every match once, in reverse.
    let newest: Vec<String> =
        all_filtered_pages(&table, &collection, 1, true, seven(), |_| true).await.into_iter().flatten().collect();
    assert_eq!(newest, matching.iter().rev().cloned().collect::<Vec<_>>());

    // Both filters at once narrow further: `keep` sees only what DynamoDB let through.
    let last_only: Vec<String> = all_filtered_pages(&table, &collection, 3, false, seven(), |w| w.sk == matching[3])
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(last_only, vec![matching[3].clone()]);
}

#[tokio::test]
async fn a_filtered_list_that_matches_nothing_is_one_empty_final_page() {
    let table = table().await;
    // More than two read chunks of non-matching items, but well within the read budget.
    const ITEMS: usize = 450;
    const { assert!(ITEMS < FILTERED_READS * 200) };
    let pk = many_widgets(&table, ITEMS, |i| (i % 7) as i64 + 100).await;
    let collection = Collection::<Widget>::table(pk, "ITEM#");
    for (filter, newest_first) in [(Some(count_is(7)), false), (Some(count_is(7)), true), (None, false)] {
        let page = PageRequest { limit: 3, cursor: None, newest_first };
        let found = table.query_filtered(&collection, &page, filter.clone(), |w| w.count == 7).await.unwrap();
        assert!(found.items.is_empty(), "{:?}", found.items);
        assert_eq!(found.next_cursor, None, "nothing more to read: no cursor");
        assert!(!found.partial, "the whole collection was read within the budget");
    }
    // The same collection unfiltered is all there.
    assert_eq!(table.query_all(&collection).await.unwrap().len(), ITEMS);
}

#[tokio::test]
async fn a_filtered_page_cut_short_by_its_read_budget_says_so_and_its_cursor_goes_on() {
    let table = table().await;
    // The only match sits behind more non-matching items than one page may read.
    const ITEMS: usize = FILTERED_READS * 200 + 100;
    let pk = many_widgets(&table, ITEMS, |i| if i == ITEMS - 1 { 7 } else { 100 }).await;
    let collection = Collection::<Widget>::table(pk, "ITEM#");
    let first = table.query_filtered(&collection, &PageRequest::first(5), Some(count_is(7)), |_| true).await.unwrap();
    assert!(first.items.is_empty(), "the budget ran out before the match: {:?}", first.items);
    assert!(first.partial, "a short page says it was cut short");
    let cursor = first.next_cursor.expect("a partial page carries a cursor");
    let page = PageRequest { cursor: Some(cursor), ..PageRequest::first(5) };
    let second = table.query_filtered(&collection, &page, Some(count_is(7)), |_| true).await.unwrap();
    assert_eq!(second.items.iter().map(|w| w.count).collect::<Vec<_>>(), vec![7], "the match comes next");
    assert!(!second.partial);
    assert_eq!(second.next_cursor, None);
}

#[tokio::test]
async fn a_cursor_this_store_did_not_issue_for_the_collection_is_refused() {
    let table = table().await;
    let pk = fresh_partition();
    let other_pk = fresh_partition();
    let mut tx = table.tx();
    for partition in [&pk, &other_pk] {
        for i in 0..3 {
            tx.put("item", &widget(&at(partition, &format!("ITEM#{i}")), "w", i), None).unwrap();
        }
    }
    table.commit(tx).await.unwrap();
    let collection = Collection::<Widget>::table(pk.clone(), "ITEM#");
    let other = Collection::<Widget>::table(other_pk.clone(), "ITEM#");

    let issued = table.query(&other, &PageRequest::first(1)).await.unwrap().next_cursor.unwrap();
    // The issued cursor works for its own collection ...
    let next =
        table.query(&other, &PageRequest { cursor: Some(issued.clone()), ..PageRequest::first(1) }).await.unwrap();
    assert_eq!(next.items.iter().map(|w| w.count).collect::<Vec<_>>(), vec![1]);

    // ... and nothing else is accepted.
    let truncated = issued[..issued.len() - 4].to_string();
    let mut flipped = issued.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let cursors = [
        ("truncated", truncated),
        ("a flipped character", flipped),
        ("not base64", "%%%".to_string()),
        ("empty", String::new()),
        ("base64 of not JSON", URL_SAFE_NO_PAD.encode("hello")),
        ("a JSON array", cursor_of(&serde_json::json!(["PK", pk]))),
        ("a JSON object of numbers", cursor_of(&serde_json::json!({ "PK": 1, "SK": 2 }))),
        ("another partition's cursor", issued.clone()),
        ("no partition key", cursor_of(&serde_json::json!({ "SK": "ITEM#0" }))),
        ("the partition key under the index name", cursor_of(&serde_json::json!({ "GSI1PK": pk, "SK": "ITEM#0" }))),
        (
            "too many attributes",
            cursor_of(&serde_json::json!({ "PK": pk, "SK": "ITEM#0", "GSI1PK": "x", "GSI1SK": "y", "extra": "z" })),
        ),
    ];
    for (what, cursor) in cursors {
        let page = PageRequest { cursor: Some(cursor.clone()), ..PageRequest::first(10) };
        let result = table.query(&collection, &page).await;
        assert!(matches!(result, Err(StoreError::InvalidCursor)), "{what} ({cursor:?}): {result:?}");
        // The filtered path decodes cursors the same way.
        let result = table.query_filtered(&collection, &page, None, |_| true).await;
        assert!(matches!(result, Err(StoreError::InvalidCursor)), "filtered, {what} ({cursor:?}): {result:?}");
    }

    // A cursor written by hand for this partition that is a valid start key is just a position in it.
    let handmade = cursor_of(&serde_json::json!({ "PK": pk, "SK": "ITEM#0" }));
    let page = PageRequest { cursor: Some(handmade), ..PageRequest::first(10) };
    let rest = table.query(&collection, &page).await.unwrap();
    assert_eq!(rest.items.iter().map(|w| w.count).collect::<Vec<_>>(), vec![1, 2]);
}

/// A cursor that names the right partition but is not a valid start key of the query must be
/// refused as `InvalidCursor` (a 422) before it reaches DynamoDB, whose ValidationException would
/// come back as `StoreError::Unavailable` (an HTTP 500 `internal_error`).
#[tokio::test]
async fn a_cursor_for_the_right_partition_that_is_not_a_start_key_of_the_collection_is_refused() {
    let table = table().await;
    let pk = fresh_partition();
    table.put(&widget(&at(&pk, "ITEM#0"), "w", 0), None).await.unwrap();
    let collection = Collection::<Widget>::table(pk.clone(), "ITEM#");
    let cursors = [
        ("no sort key", serde_json::json!({ "PK": pk })),
        ("a sort key outside the collection's prefix", serde_json::json!({ "PK": pk, "SK": "ZZZ" })),
        ("an attribute that is not a key", serde_json::json!({ "PK": pk, "SK": "ITEM#0", "x": "y" })),
        ("a misspelt sort key", serde_json::json!({ "PK": pk, "Sk": "ITEM#0" })),
    ];
    for (what, plain) in cursors {
        let page = PageRequest { cursor: Some(cursor_of(&plain)), ..PageRequest::first(10) };
        let result = table.query(&collection, &page).await;
        assert!(matches!(result, Err(StoreError::InvalidCursor)), "{what} ({plain}): {result:?}");
    }
}

// ---- sharded listings ---------------------------------------------------------------------------

/// A listing of widgets over `LISTING_SHARDS` fresh index partitions, each widget in the shard its
/// id hashes to (as users and vendors are listed), sort keys `W#<id>`. At least `items` widgets
/// and at least `per_shard` in every shard; `count` is 7 for every fifth. Returns the listing and
/// its sort keys in order (oldest first), each with its count.
async fn sharded_widgets(table: &Table, items: usize, per_shard: usize) -> (Sharded<Widget>, Vec<(String, i64)>) {
    let name = fresh_partition();
    let table_pk = fresh_partition();
    let mut in_shard = [0usize; keys::LISTING_SHARDS];
    let mut records = Vec::new();
    let mut expected = Vec::new();
    let mut i = 0;
    while i < items || in_shard.iter().any(|n| *n < per_shard) {
        let id = UserId::generate().to_string();
        let shard = keys::listing_shard(&id);
        in_shard[shard] += 1;
        let count = if i % 5 == 2 { 7 } else { (i % 5) as i64 };
        let listing = Listing { pk: format!("{name}#{shard}"), sk: format!("W#{id}") };
        expected.push((listing.sk.clone(), count));
        // Table keys in no particular order: the index's order is the one that counts.
        let record =
            Widget { listing: Some(listing), ..widget(&at(&table_pk, &format!("ITEM#{}", Ulid::new())), "w", count) };
        records.push(to_item(&record).unwrap());
        i += 1;
    }
    assert_eq!(table.put_batch(records, 4).await.unwrap(), expected.len());
    expected.sort();
    let shards = (0..keys::LISTING_SHARDS).map(|n| Collection::index(format!("{name}#{n}"), "W#")).collect();
    (Sharded::new(name, shards), expected)
}

/// How a walk over a sharded listing reads its pages.
#[derive(Debug, Clone, Copy)]
enum Read {
    /// `query_sharded`.
    Plain,
    /// `query_sharded_in` with this many items a Query and no filter: many rounds a page.
    Chunks(usize),
    /// `query_sharded_filtered` with DynamoDB's filter `count = 7`.
    Filtered,
    /// `query_sharded_filtered` keeping `count == 7` here.
    Kept,
    /// DynamoDB's filter `count = 7`, `chunk` items a Query and `rounds` rounds a page: pages cut
    /// short by the budget.
    Budget { chunk: usize, rounds: usize },
}

/// Follows the cursors of a sharded listing to the end, page `n` of `limits[n % len]` items,
/// checking each page: at most its limit, full unless it is the last or cut short by a budget
/// (`partial`, only with `Read::Budget`), and every cursor a new one. The sort keys read, and how
/// many pages were partial.
async fn walk_sharded(
    table: &Table,
    listing: &Sharded<Widget>,
    limits: &[i32],
    newest_first: bool,
    read: Read,
) -> (Vec<String>, usize) {
    let mut page = PageRequest { limit: limits[0], cursor: None, newest_first };
    let (mut seen, mut partial, mut pages) = (Vec::new(), 0, 0);
    loop {
        page.limit = limits[pages % limits.len()];
        let found = match read {
            Read::Plain => table.query_sharded(listing, &page).await,
            Read::Chunks(chunk) => table.query_sharded_in(listing, &page, None, |_| true, chunk, None).await,
            Read::Filtered => table.query_sharded_filtered(listing, &page, Some(count_is(7)), |_| true).await,
            Read::Kept => table.query_sharded_filtered(listing, &page, None, |w| w.count == 7).await,
            Read::Budget { chunk, rounds } => {
                table.query_sharded_in(listing, &page, Some(count_is(7)), |_| true, chunk, Some(rounds)).await
            }
        }
        .unwrap_or_else(|e| panic!("{read:?}, page {pages}: {e}"));
        pages += 1;
        assert!(pages < 2_000, "{read:?}: the cursor does not advance");
        assert!(found.items.len() <= page.limit as usize, "{read:?}: a page holds at most its limit");
        if !matches!(read, Read::Plain | Read::Chunks(_)) {
            assert!(found.items.iter().all(|w| w.count == 7), "{read:?}: only matches");
        }
        if found.partial {
            assert!(matches!(read, Read::Budget { .. }), "{read:?}: only a page out of budget is partial");
            assert!(found.next_cursor.is_some(), "a partial page goes on");
            partial += 1;
        } else if found.next_cursor.is_some() {
            assert_eq!(found.items.len(), page.limit as usize, "{read:?}: only a full page has a next page");
        }
        seen.extend(found.items.into_iter().map(|w| w.listing.expect("listed").sk));
        match found.next_cursor {
            Some(cursor) => {
                assert_ne!(page.cursor.as_deref(), Some(cursor.as_str()), "{read:?}: the cursor must advance");
                page.cursor = Some(cursor);
            }
            None => return (seen, partial),
        }
    }
}

fn in_order(expected: &[(String, i64)], newest_first: bool, only_sevens: bool) -> Vec<String> {
    let mut keys: Vec<String> =
        expected.iter().filter(|(_, count)| !only_sevens || *count == 7).map(|(sk, _)| sk.clone()).collect();
    if newest_first {
        keys.reverse();
    }
    keys
}

#[tokio::test]
async fn a_sharded_listing_reads_every_item_once_in_one_order_across_pages_of_any_size() {
    let table = table().await;
    let (listing, expected) = sharded_widgets(&table, 100, 2).await;
    let distinct: BTreeSet<&String> = expected.iter().map(|(sk, _)| sk).collect();
    assert_eq!(distinct.len(), expected.len());
    for newest_first in [false, true] {
        let all = in_order(&expected, newest_first, false);
        for limits in [&[1][..], &[7], &[16], &[100], &[1, 2, 5, 3, 16]] {
            let (seen, _) = walk_sharded(&table, &listing, limits, newest_first, Read::Plain).await;
            assert_eq!(seen, all, "newest first {newest_first}, limits {limits:?}");
        }
        // One item a Query: every page takes many rounds, shards read unevenly.
        for (limits, chunk) in [(&[5][..], 1), (&[16, 3][..], 2)] {
            let (seen, _) = walk_sharded(&table, &listing, limits, newest_first, Read::Chunks(chunk)).await;
            assert_eq!(seen, all, "newest first {newest_first}, limits {limits:?}, {chunk} a Query");
        }
    }
}

#[tokio::test]
async fn a_filtered_sharded_listing_reads_every_match_once_in_order_even_when_cut_short() {
    let table = table().await;
    let (listing, expected) = sharded_widgets(&table, 120, 2).await;
    for newest_first in [false, true] {
        let matches = in_order(&expected, newest_first, true);
        assert!(matches.len() >= 24);
        for limits in [&[1][..], &[4], &[100], &[3, 1, 10]] {
            let (seen, partial) = walk_sharded(&table, &listing, limits, newest_first, Read::Filtered).await;
            assert_eq!(seen, matches, "newest first {newest_first}, limits {limits:?}");
            assert_eq!(partial, 0, "within the budget");
        }
        let (seen, _) = walk_sharded(&table, &listing, &[4], newest_first, Read::Kept).await;
        assert_eq!(seen, matches, "kept here, newest first {newest_first}");
        // A budget of 2 rounds of 2 items a shard: pages end early, some with nothing in them, and
        // their cursors still go on exactly where reading stopped.
        let read = Read::Budget { chunk: 2, rounds: 2 };
        let (seen, partial) = walk_sharded(&table, &listing, &[5], newest_first, read).await;
        assert_eq!(seen, matches, "cut short, newest first {newest_first}");
        assert!(partial > 0, "the budget ran out");
    }
}

#[tokio::test]
async fn a_sharded_listing_with_empty_shards_or_none_and_cursors_it_did_not_issue() {
    let table = table().await;
    // Nothing listed: one empty final page.
    let (empty, _) = sharded_widgets(&table, 0, 0).await;
    for newest_first in [false, true] {
        let page = PageRequest { limit: 5, cursor: None, newest_first };
        let found = table.query_sharded(&empty, &page).await.unwrap();
        assert_eq!((found.items.len(), found.next_cursor, found.partial), (0, None, false));
        let found = table.query_sharded_filtered(&empty, &page, Some(count_is(7)), |_| true).await.unwrap();
        assert_eq!((found.items.len(), found.next_cursor, found.partial), (0, None, false));
    }
    // Three items in three shards, so most shards are empty.
    let (few, expected) = loop {
        let (few, expected) = sharded_widgets(&table, 3, 0).await;
        let shards: BTreeSet<usize> = expected.iter().map(|(sk, _)| keys::listing_shard(&sk[2..])).collect();
        if shards.len() == 3 {
            break (few, expected);
        }
    };
    for newest_first in [false, true] {
        for limits in [&[1][..], &[2], &[3], &[10]] {
            let (seen, _) = walk_sharded(&table, &few, limits, newest_first, Read::Plain).await;
            assert_eq!(seen, in_order(&expected, newest_first, false), "limits {limits:?}");
        }
    }
    // Newest first, a record added meanwhile behind the last one handed out is passed over, also in
    // a shard that has handed out nothing yet (and so is read again from its start).
    let first = table.query_sharded(&few, &PageRequest { limit: 1, cursor: None, newest_first: true }).await.unwrap();
    assert_eq!(first.items[0].listing.as_ref().unwrap().sk, expected[2].0);
    let cursor = first.next_cursor.expect("more");
    let unread = decoded(&cursor)["shards"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s.is_null())
        .expect("a shard read from its start");
    let newcomer = loop {
        let id = UserId::generate().to_string();
        if keys::listing_shard(&id) == unread {
            break id;
        }
    };
    let listing = Listing { pk: format!("{}#{unread}", few.name), sk: format!("W#{newcomer}") };
    let late = Widget { listing: Some(listing), ..widget(&at(&fresh_partition(), "ITEM#late"), "late", 7) };
    table.put(&late, None).await.unwrap();
    let rest =
        table.query_sharded(&few, &PageRequest { limit: 10, cursor: Some(cursor), newest_first: true }).await.unwrap();
    let rest: Vec<String> = rest.items.into_iter().map(|w| w.listing.unwrap().sk).collect();
    assert_eq!(rest, vec![expected[1].0.clone(), expected[0].0.clone()], "the newcomer is not among them");
    // A new walk sees it first; from now on the listing has 4.
    let fresh = table.query_sharded(&few, &PageRequest { limit: 10, cursor: None, newest_first: true }).await.unwrap();
    assert_eq!(fresh.items[0].listing.as_ref().unwrap().sk, format!("W#{newcomer}"));
    let expected: Vec<(String, i64)> = expected.into_iter().chain([(format!("W#{newcomer}"), 7)]).collect();

    // The whole listing in one page: no cursor, since every shard was read to its end.
    let all = table.query_sharded(&few, &PageRequest::first(10)).await.unwrap();
    assert_eq!((all.items.len(), all.next_cursor), (expected.len(), None));

    // A cursor is good only for its own listing, read in the same order.
    let (other, _) = sharded_widgets(&table, 30, 0).await;
    let issued = table.query_sharded(&few, &PageRequest::first(1)).await.unwrap().next_cursor.expect("more");
    let next = PageRequest { cursor: Some(issued.clone()), ..PageRequest::first(1) };
    assert_eq!(table.query_sharded(&few, &next).await.unwrap().items.len(), 1);
    let newest = PageRequest { newest_first: true, ..next.clone() };
    let one_collection = Collection::<Widget>::index(format!("{}#0", few.name), "W#");
    let refused = [
        ("another listing's", table.query_sharded(&other, &next).await),
        ("another listing's, filtered", table.query_sharded_filtered(&other, &next, None, |_| true).await),
        ("the other order's", table.query_sharded(&few, &newest).await),
        ("a one-collection list's", table.query(&one_collection, &next).await),
        (
            "a truncated one",
            table
                .query_sharded(&few, &PageRequest { cursor: Some(issued[..issued.len() - 3].into()), ..next.clone() })
                .await,
        ),
    ];
    for (what, result) in refused {
        assert!(matches!(result, Err(StoreError::InvalidCursor)), "{what}: {result:?}");
    }
    // A cursor written by hand with every shard done is the end of the listing.
    let mut plain = decoded(&issued);
    plain["shards"] = serde_json::Value::Array(vec![serde_json::Value::from("done"); keys::LISTING_SHARDS]);
    let done = PageRequest { cursor: Some(cursor_of(&serde_json::Value::Object(plain))), ..next };
    let found = table.query_sharded(&few, &done).await.unwrap();
    assert_eq!((found.items.len(), found.next_cursor), (0, None), "every shard done: nothing left");
}

// ---- idempotency --------------------------------------------------------------------------------

#[tokio::test]
async fn an_idempotency_record_is_found_until_it_expires() {
    let table = table().await;
    let scope = format!("store-test-{}", Ulid::new());
    let idem_key = Ulid::new().to_string();
    // DynamoDB keeps what serde writes; whole seconds keep the comparison simple.
    let now = Utc::now().trunc_subsecs(0);
    assert_eq!(idempotency::find(&table, &scope, &idem_key, now).await.unwrap(), None);

    let record =
        IdempotencyRecord::new(scope.clone(), idem_key.clone(), "hash-1".into(), 201, r#"{"id":"1"}"#.into(), now);
    let mut tx = table.tx();
    idempotency::record(&mut tx, &record).unwrap();
    assert_eq!(tx.step_names(), vec![idempotency::STEP]);
    table.commit(tx).await.unwrap();

    assert_eq!(idempotency::find(&table, &scope, &idem_key, now).await.unwrap(), Some(record.clone()));
    let almost = now + idempotency::RETENTION - Duration::seconds(1);
    assert_eq!(idempotency::find(&table, &scope, &idem_key, almost).await.unwrap(), Some(record.clone()));
    assert_eq!(idempotency::find(&table, &scope, &idem_key, now + idempotency::RETENTION).await.unwrap(), None);
    let later = now + idempotency::RETENTION + Duration::hours(1);
    assert_eq!(idempotency::find(&table, &scope, &idem_key, later).await.unwrap(), None);

    // Keys are per scope.
    let other_scope = format!("store-test-{}", Ulid::new());
    assert_eq!(idempotency::find(&table, &other_scope, &idem_key, now).await.unwrap(), None);
}

#[tokio::test]
async fn a_used_idempotency_key_cancels_the_business_transaction_it_closes() {
    let table = table().await;
    let scope = format!("store-test-{}", Ulid::new());
    let idem_key = Ulid::new().to_string();
    let now = Utc::now();
    let first = IdempotencyRecord::new(scope.clone(), idem_key.clone(), "hash-1".into(), 201, "first".into(), now);
    let first_item = at(&fresh_partition(), "ITEM");
    let mut tx = table.tx();
    tx.put("item", &widget(&first_item, "first", 1), Some(Expr::not_exists())).unwrap();
    idempotency::record(&mut tx, &first).unwrap();
    table.commit(tx).await.unwrap();

    // A twin request under the same key: its record is the last step, and its condition fails.
    let twin = IdempotencyRecord::new(scope.clone(), idem_key.clone(), "hash-2".into(), 201, "second".into(), now);
    let twin_item = at(&fresh_partition(), "ITEM");
    let mut tx = table.tx();
    tx.put("item", &widget(&twin_item, "second", 2), Some(Expr::not_exists())).unwrap();
    idempotency::record(&mut tx, &twin).unwrap();
    let err = table.commit(tx).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { step } if step == idempotency::STEP), "{err:?}");
    assert!(err.failed_at(idempotency::STEP) && !err.failed_at("item"), "{err:?}");
    assert_eq!(get_widget(&table, &twin_item).await, None, "the twin's business write is not applied");
    assert!(get_widget(&table, &first_item).await.is_some());
    let stored = idempotency::find(&table, &scope, &idem_key, now).await.unwrap().unwrap();
    assert_eq!(stored.body, "first");
    assert_eq!(stored.request_hash, "hash-1");
}

// ---- sent emails -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_sent_email_is_remembered_by_its_id() {
    let table = table().await;
    let id = EmailId::generate();
    let other = EmailId::generate();
    assert!(!sent_emails::was_sent(&table, id).await.unwrap());

    let now = Utc::now();
    sent_emails::mark_sent(&table, id, now).await.unwrap();
    assert!(sent_emails::was_sent(&table, id).await.unwrap());
    assert!(!sent_emails::was_sent(&table, other).await.unwrap(), "only that email");
    let marker = table.get::<SentEmailRecord>(&id).await.unwrap().unwrap();
    assert_eq!(marker.email_id, id);
    assert_eq!(marker.sent_at, Some(now));
    assert_eq!(marker.expires_at, (now + Duration::days(7)).timestamp(), "kept a week (TTL)");

    // Marking it again is harmless, and a sent email can no longer be claimed.
    sent_emails::mark_sent(&table, id, now + Duration::seconds(5)).await.unwrap();
    assert!(sent_emails::was_sent(&table, id).await.unwrap());
    assert_eq!(
        sent_emails::claim(&table, id, now + Duration::hours(1), Duration::seconds(30)).await.unwrap(),
        Claim::AlreadySent
    );
}

#[tokio::test]
async fn one_worker_at_a_time_may_claim_an_email_until_its_claim_lapses() {
    let table = table().await;
    let id = EmailId::generate();
    let now = Utc::now();
    let lease = Duration::seconds(30);

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let table = table.clone();
        tasks.spawn(async move { sent_emails::claim(&table, id, now, lease).await });
    }
    let claims: Vec<Claim> = tasks.join_all().await.into_iter().collect::<Result<_, _>>().expect("every claim answers");
    let granted = claims.iter().filter(|c| **c == Claim::Granted).count();
    assert_eq!(granted, 1, "exactly one of eight concurrent claims wins: {claims:?}");
    assert!(claims.iter().all(|c| matches!(c, Claim::Granted | Claim::Busy)), "{claims:?}");
    assert!(!sent_emails::was_sent(&table, id).await.unwrap(), "claimed is not sent");

    // While the claim holds nobody else gets it; once it lapses the next delivery takes over.
    assert_eq!(sent_emails::claim(&table, id, now + Duration::seconds(29), lease).await.unwrap(), Claim::Busy);
    assert_eq!(sent_emails::claim(&table, id, now + Duration::seconds(31), lease).await.unwrap(), Claim::Granted);

    // A released claim (the send failed) is free again at once.
    sent_emails::release(&table, id).await.unwrap();
    assert_eq!(sent_emails::claim(&table, id, now + Duration::seconds(32), lease).await.unwrap(), Claim::Granted);
    sent_emails::mark_sent(&table, id, now + Duration::seconds(33)).await.unwrap();
    // Releasing after it was sent changes nothing.
    sent_emails::release(&table, id).await.unwrap();
    assert!(sent_emails::was_sent(&table, id).await.unwrap());
}

// ---- sign-in ------------------------------------------------------------------------------------

#[tokio::test]
async fn failed_sign_ins_are_counted_per_email_in_a_window_that_starts_again_once_over() {
    let table = table().await;
    let email = stockyard_domain::values::Email::parse("email", &format!("{}@example.com", Ulid::new())).unwrap();
    let window = Duration::minutes(15);
    let start = Utc::now().trunc_subsecs(0);
    assert_eq!(sign_in::find(&table, &email).await.unwrap(), None);

    for n in 1..=3 {
        let record = sign_in::record_failure(&table, &email, start + Duration::minutes(n), window).await.unwrap();
        assert_eq!(record.failures, n, "counted in the window that began with the first failure");
        assert_eq!(record.window_started, start.timestamp() + 60);
        assert_eq!(record.email, email);
    }
    let later = start + Duration::minutes(17);
    let fresh = sign_in::record_failure(&table, &email, later, window).await.unwrap();
    assert_eq!((fresh.failures, fresh.window_started), (1, later.timestamp()), "a new window after the old one ended");
    assert_eq!(sign_in::find(&table, &email).await.unwrap(), Some(fresh));

    sign_in::clear(&table, &email).await.unwrap();
    assert_eq!(sign_in::find(&table, &email).await.unwrap(), None);
}

fn session_started(
    at: DateTime<Utc>,
    user: UserId,
) -> (crate::sessions::TokenFamilyRecord, crate::sessions::RefreshTokenRecord) {
    use crate::sessions::{RefreshTokenRecord, RefreshTokenStatus, TokenFamilyRecord};
    use stockyard_domain::ids::TokenFamilyId;
    let family_id = TokenFamilyId::parse("sid", &Ulid::from_datetime(at.into()).to_string()).unwrap();
    let family = TokenFamilyRecord {
        family_id,
        user_id: user,
        revoked: false,
        credentials_version: 0,
        created_at: at,
        expires_at: (Utc::now() + Duration::days(1)).timestamp(),
    };
    let token = RefreshTokenRecord {
        token_hash: Ulid::new().to_string(),
        user_id: user,
        family_id,
        status: RefreshTokenStatus::Active,
        created_at: at,
        expires_at: family.expires_at,
    };
    (family, token)
}

#[tokio::test]
async fn signing_out_drops_revoked_sessions_too_old_to_have_a_valid_token_and_keeps_recent_ones() {
    use crate::{sessions, users};
    let table = table().await;
    let now = Utc::now();
    let user = stockyard_domain::account::User {
        id: UserId::generate(),
        email: stockyard_domain::values::Email::parse("email", &format!("{}@example.com", Ulid::new()).to_lowercase())
            .unwrap(),
        email_verified: false,
        name: "Ada".into(),
        phone: None,
        roles: vec![],
        vendor_id: None,
        vendor_role: None,
        created_at: now,
        updated_at: now,
    };
    table.commit(users::create(&table, &users::UserRecord::new(user.clone(), "hash".into())).unwrap()).await.unwrap();
    let old = session_started(now - Duration::days(40), user.id);
    let recent = session_started(now - Duration::days(2), user.id);
    for (family, token) in [&old, &recent] {
        table.commit(sessions::start(&table, family, token).unwrap()).await.unwrap();
    }
    let cutoff = now - Duration::days(30);
    sessions::revoke(&table, user.id, old.0.family_id, now - Duration::days(60)).await.unwrap();
    let revoked = users::get(&table, user.id).await.unwrap().unwrap().revoked_sessions;
    assert_eq!(revoked, BTreeSet::from([old.0.family_id]), "kept while a token of it could be valid");

    sessions::revoke(&table, user.id, recent.0.family_id, cutoff).await.unwrap();
    let revoked = users::get(&table, user.id).await.unwrap().unwrap().revoked_sessions;
    assert_eq!(revoked, BTreeSet::from([recent.0.family_id]), "the 40-day-old session is dropped, the recent one kept");
    assert!(
        sessions::family(&table, old.0.family_id).await.unwrap().unwrap().revoked,
        "the session itself stays revoked"
    );
}

// ---- search index versions and image outcomes ----------------------------------------------------

#[tokio::test]
async fn of_two_writers_that_built_on_one_index_version_only_one_publishes() {
    use crate::search_index::{self, IndexVersion};
    let table = table().await;
    let name = format!("test-{}", Ulid::new());
    let version = |generation: u64| IndexVersion {
        name: name.clone(),
        generation,
        manifest_key: format!("{name}/manifests/{generation:012}.json"),
        documents: generation * 10,
        published_at: Utc::now(),
    };
    search_index::publish(&table, &version(1), None).await.expect("the first version");
    assert!(matches!(search_index::publish(&table, &version(1), None).await, Err(StoreError::ConditionFailed)));
    // Two writers both built on version 1: the first publishes 2, the second is refused.
    let (first, second) = (version(2), IndexVersion { documents: 99, ..version(2) });
    let (a, b) =
        tokio::join!(search_index::publish(&table, &first, Some(1)), search_index::publish(&table, &second, Some(1)));
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
    let current = search_index::current(&table, &name).await.unwrap().expect("a current version");
    assert_eq!(current.generation, 2);
    assert!(matches!(search_index::publish(&table, &version(3), Some(1)).await, Err(StoreError::ConditionFailed)));
    search_index::publish(&table, &version(3), Some(2)).await.expect("built on the current version");
}

#[tokio::test]
async fn an_image_outcome_is_recorded_once_and_a_product_holds_at_most_ten() {
    use stockyard_domain::ids::{CategoryId, ImageId, ProductId, VendorId};
    use stockyard_domain::image::{ImageStatus, MAX_IMAGES, ProductImage};
    let table = table().await;
    let now = Utc::now();
    let product = stockyard_domain::product::Product {
        id: ProductId::generate(),
        vendor_id: VendorId::generate(),
        category_id: CategoryId::generate(),
        status: stockyard_domain::catalog::ProductStatus::Draft,
        locale: stockyard_domain::locale::Locale::parse("locale", "en").unwrap(),
        title: "Lamp".into(),
        description: String::new(),
        slug: stockyard_domain::slug::Slug::parse("slug", &format!("lamp-{}", Ulid::new())).unwrap(),
        brand: None,
        tags: vec![],
        attributes: Default::default(),
        version: 1,
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    table.commit(crate::products::create(&table, &product).unwrap()).await.unwrap();
    let image = |position: u32| ProductImage {
        id: ImageId::generate(),
        product_id: product.id,
        vendor_id: product.vendor_id,
        status: ImageStatus::AwaitingUpload,
        alt: None,
        position,
        declared_type: "image/png".into(),
        renditions: vec![],
        rejection: None,
        created_at: now,
        updated_at: now,
    };
    let first = image(0);
    table.commit(crate::products::add_image(&table, &first).unwrap()).await.unwrap();
    for p in 1..MAX_IMAGES {
        table.commit(crate::products::add_image(&table, &image(p)).unwrap()).await.unwrap();
    }
    let eleventh = table.commit(crate::products::add_image(&table, &image(MAX_IMAGES)).unwrap()).await;
    assert!(eleventh.is_err_and(|e| e.failed_at(crate::products::IMAGE_ROOM)), "a product holds at most ten");

    let ready = ProductImage { status: ImageStatus::Ready, ..first.clone() };
    crate::products::finish_image(&table, &ready).await.expect("a pending image is decided");
    let again = ProductImage { status: ImageStatus::Rejected, ..first.clone() };
    assert!(matches!(crate::products::finish_image(&table, &again).await, Err(StoreError::ConditionFailed)));
    let stored = crate::products::image(&table, product.id, first.id).await.unwrap().unwrap();
    assert_eq!(stored.status, ImageStatus::Ready, "the first outcome stands");
    // A whole-product write made on a read from before the images were added is refused: it would
    // put back an older image count.
    let stale =
        crate::products::ProductRecord { product: product.clone(), variant_count: 0, image_count: 0, import_id: None };
    let next = stockyard_domain::product::Product { title: "Lamp (renamed)".into(), ..product.clone() };
    assert!(crate::products::update(&table, &stale, &next).await.is_err());
}

/// A stock item holding `on_hand` units (version 1, written as a received change).
pub(crate) async fn stocked(
    table: &Table,
    vendor: stockyard_domain::ids::VendorId,
    on_hand: u32,
) -> crate::reservations::ItemId {
    let id = (vendor, stockyard_domain::ids::VariantId::generate(), stockyard_domain::ids::LocationId::generate());
    let empty = stockyard_domain::stock::StockItem::empty(
        id.0,
        id.1,
        stockyard_domain::ids::ProductId::generate(),
        "JUMPER",
        id.2,
        false,
        Utc::now(),
    );
    let mut after = empty.clone();
    after.apply(i64::from(on_hand), &[], Utc::now()).unwrap();
    let movement = stockyard_domain::stock::Movement {
        vendor_id: after.vendor_id,
        variant_id: after.variant_id,
        location_id: after.location_id,
        shard: None,
        sku: after.sku.clone(),
        version: after.version,
        reason: stockyard_domain::stock::MovementReason::Received,
        quantity: i64::from(on_hand),
        on_hand_after: after.on_hand,
        reserved_change: 0,
        batches: Vec::new(),
        reference: None,
        note: None,
        actor: stockyard_domain::stock::Actor::System { name: "store test".into() },
        at: Utc::now(),
    };
    table.commit(crate::stock::change(table, None, &after, &movement, 0).unwrap()).await.unwrap();
    id
}
