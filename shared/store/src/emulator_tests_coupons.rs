//! Coupons and limited purchases against DynamoDB Local: codes unique whatever their case, uses
//! counted exactly once per order and never beyond a limit under concurrent checkouts, given back
//! exactly once.

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use stockyard_domain::ids::{CouponId, OrderGroupId, VariantId, VendorId};
use stockyard_domain::promotion::{Coupon, CouponChange, CouponInput, CouponKind, CouponScope};

use crate::coupons::{self, Usage};
use crate::emulator_tests::table;
use crate::{PageRequest, StoreError, Table};

fn input(code: &str, usage_limit: Option<u32>, per_customer_limit: Option<u32>) -> CouponInput {
    CouponInput {
        code: code.into(),
        kind: CouponKind::Percentage { percent: Decimal::TEN },
        minimum_spend: None,
        starts_at: Utc::now() - Duration::days(1),
        ends_at: None,
        usage_limit,
        per_customer_limit,
    }
}

/// A fresh code: 3–32 letters, digits and '-', unique to this run.
fn fresh_code() -> String {
    format!("T-{}", &ulid::Ulid::new().to_string()[10..])
}

async fn created(table: &Table, scope: CouponScope, usage: Option<u32>, per_customer: Option<u32>) -> Coupon {
    let coupon = input(&fresh_code(), usage, per_customer).check(CouponId::generate(), scope, Utc::now()).unwrap();
    table.commit(coupons::create(table, &coupon).unwrap()).await.unwrap();
    coupon
}

/// Counts one use for a new order group, as a checkout would in its transaction.
async fn count(table: &Table, coupon: &Coupon, customer: &str, order: OrderGroupId) -> Result<(), StoreError> {
    let mut tx = table.tx();
    coupons::count_use(&mut tx, coupon, customer, order)?;
    table.commit(tx).await
}

async fn give_back(table: &Table, coupon: CouponId, customer: &str, order: OrderGroupId) -> Result<(), StoreError> {
    let mut tx = table.tx();
    coupons::give_back(&mut tx, coupon, customer, order)?;
    table.commit(tx).await
}

async fn usage(table: &Table, coupon: CouponId, customer: &str) -> Usage {
    coupons::usage(table, coupon, customer).await.unwrap()
}

#[tokio::test]
async fn a_code_is_unique_whatever_its_case_and_finds_its_coupon_typed_in_any_case() {
    let table = table().await;
    let code = fresh_code();
    let first =
        input(&code.to_lowercase(), None, None).check(CouponId::generate(), CouponScope::Platform, Utc::now()).unwrap();
    table.commit(coupons::create(&table, &first).unwrap()).await.unwrap();
    let vendor = CouponScope::Vendor { vendor_id: VendorId::generate() };
    let second = input(&code, None, None).check(CouponId::generate(), vendor, Utc::now()).unwrap();
    let taken = table.commit(coupons::create(&table, &second).unwrap()).await.unwrap_err();
    assert!(taken.failed_at(coupons::CODE_TAKEN), "{taken:?}");
    assert_eq!(coupons::get(&table, second.id).await.unwrap(), None, "nothing of the second was written");

    let found = coupons::by_code(&table, &format!("  {}  ", code.to_lowercase())).await.unwrap();
    assert_eq!(found.as_ref(), Some(&first));
    assert_eq!(coupons::by_code(&table, &fresh_code()).await.unwrap(), None);
    assert_eq!(coupons::by_code(&table, "not a code!").await.unwrap(), None);
}

#[tokio::test]
async fn a_vendors_coupons_and_the_platforms_are_listed_apart_and_filtered_by_active_in_full_pages() {
    let table = table().await;
    let vendor = CouponScope::Vendor { vendor_id: VendorId::generate() };
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(created(&table, vendor, None, None).await);
    }
    // the second and fourth are deactivated
    for i in [1, 3] {
        let off = made[i].amended(&CouponChange { active: Some(false), ..Default::default() }, Utc::now()).unwrap();
        made[i] = coupons::update(&table, &made[i], &off).await.unwrap();
        assert!(!made[i].active);
    }
    let platform = created(&table, CouponScope::Platform, None, None).await;

    let all = coupons::list(&table, &vendor, None, &PageRequest::first(100)).await.unwrap();
    assert_eq!(all.items, made, "oldest first, only the vendor's");
    let first = coupons::list(&table, &vendor, Some(true), &PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items, vec![made[0].clone(), made[2].clone()], "a full page of active ones");
    let next = PageRequest { cursor: first.next_cursor.clone(), ..PageRequest::first(2) };
    let rest = coupons::list(&table, &vendor, Some(true), &next).await.unwrap();
    assert_eq!(rest.items, vec![made[4].clone()]);
    let inactive = coupons::list(&table, &vendor, Some(false), &PageRequest::first(10)).await.unwrap();
    assert_eq!(inactive.items, vec![made[1].clone(), made[3].clone()]);
    let platform_page = PageRequest { newest_first: true, ..PageRequest::first(100) };
    let platforms = coupons::list(&table, &CouponScope::Platform, None, &platform_page).await.unwrap();
    // Platform coupons are everyone's: other tests add theirs meanwhile, so this one is found among
    // them, in an order that is newest first throughout.
    assert!(platforms.items.contains(&platform), "the platform's coupon is listed");
    assert!(platforms.items.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert!(platforms.items.iter().all(|c| c.scope == CouponScope::Platform));
}

#[tokio::test]
async fn fifty_concurrent_checkouts_of_a_coupon_limited_to_ten_uses_commit_exactly_ten() {
    let table = table().await;
    let coupon = created(&table, CouponScope::Platform, Some(10), None).await;
    let tasks = (0..50).map(|n| {
        let (table, coupon) = (table.clone(), coupon.clone());
        tokio::spawn(async move {
            let order = OrderGroupId::generate();
            loop {
                match count(&table, &coupon, &format!("shopper-{n}@example.com"), order).await {
                    // Busy: a client sends it again, as it would after a 503.
                    Err(StoreError::Throttled(_)) => continue,
                    other => return (order, other),
                }
            }
        })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
    let committed: Vec<OrderGroupId> = outcomes.iter().filter(|(_, o)| o.is_ok()).map(|(order, _)| *order).collect();
    let refused = outcomes.iter().filter(|(_, o)| matches!(o, Err(e) if e.failed_at(coupons::COUPON_TOTAL))).count();
    assert_eq!((committed.len(), refused), (10, 40), "{outcomes:?}");
    assert_eq!(coupons::get(&table, coupon.id).await.unwrap().unwrap().used, 10);
    // exactly the committed orders have a use record
    for (order, outcome) in &outcomes {
        let uses = coupons::uses_of(&table, *order).await.unwrap();
        assert_eq!(uses.len(), usize::from(outcome.is_ok()), "{order}");
    }
    // a refused customer counted nothing either
    let refused_customer = outcomes.iter().position(|(_, o)| o.is_err()).unwrap();
    let who = format!("shopper-{refused_customer}@example.com");
    assert_eq!(usage(&table, coupon.id, &who).await, Usage { total: 10, by_customer: 0 });
}

#[tokio::test]
async fn a_customer_uses_a_coupon_at_most_their_limit_while_others_still_may() {
    let table = table().await;
    let coupon = created(&table, CouponScope::Platform, Some(100), Some(2)).await;
    let (ada, bob) = ("01JD2Z8Q4Y6W3V5T7R9P1N3M5K", "bob@example.com");
    // Ada's three checkouts at once: two are counted.
    let tries = (0..3).map(|_| {
        let (table, coupon) = (table.clone(), coupon.clone());
        tokio::spawn(async move {
            loop {
                match count(&table, &coupon, ada, OrderGroupId::generate()).await {
                    Err(StoreError::Throttled(_)) => continue,
                    other => return other,
                }
            }
        })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(tries).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 2, "{outcomes:?}");
    let refusal = outcomes.into_iter().find_map(Result::err).unwrap();
    assert!(refusal.failed_at(coupons::COUPON_CUSTOMER), "{refusal:?}");
    assert_eq!(usage(&table, coupon.id, ada).await, Usage { total: 2, by_customer: 2 });
    count(&table, &coupon, bob, OrderGroupId::generate()).await.unwrap();
    assert_eq!(usage(&table, coupon.id, bob).await, Usage { total: 3, by_customer: 1 });

    // Without limits every use is still counted, in all and per customer.
    let open = created(&table, CouponScope::Platform, None, None).await;
    for _ in 0..3 {
        count(&table, &open, bob, OrderGroupId::generate()).await.unwrap();
    }
    assert_eq!(usage(&table, open.id, bob).await, Usage { total: 3, by_customer: 3 });
}

#[tokio::test]
async fn an_order_counts_a_coupon_once_and_gives_it_back_once() {
    let table = table().await;
    let coupon = created(&table, CouponScope::Platform, Some(1), Some(1)).await;
    let (customer, order) = ("ada@example.com", OrderGroupId::generate());
    count(&table, &coupon, customer, order).await.unwrap();
    // The same order again: refused, nothing counted twice. (The limits are raised first, so only
    // the use record can refuse it.)
    let raised = coupon
        .amended(
            &CouponChange { usage_limit: Some(Some(5)), per_customer_limit: Some(Some(5)), ..Default::default() },
            Utc::now(),
        )
        .unwrap();
    let raised = coupons::update(&table, &coupon, &raised).await.unwrap();
    let twice = count(&table, &raised, customer, order).await.unwrap_err();
    assert!(twice.failed_at(coupons::COUPON_USE), "{twice:?}");
    assert_eq!(usage(&table, coupon.id, customer).await, Usage { total: 1, by_customer: 1 });
    let uses = coupons::uses_of(&table, order).await.unwrap();
    assert_eq!((uses.len(), uses[0].customer.as_str(), uses[0].coupon_id), (1, customer, coupon.id));

    // Giving it back for another customer is refused; for the right one it restores both counts.
    let wrong = give_back(&table, coupon.id, "bob@example.com", order).await.unwrap_err();
    assert!(matches!(&wrong, StoreError::Conflict { step } if step.starts_with("coupon_give_back_")), "{wrong:?}");
    give_back(&table, coupon.id, customer, order).await.unwrap();
    assert_eq!(usage(&table, coupon.id, customer).await, Usage { total: 0, by_customer: 0 });
    assert!(coupons::uses_of(&table, order).await.unwrap().is_empty());
    let again = give_back(&table, coupon.id, customer, order).await.unwrap_err();
    assert!(matches!(&again, StoreError::Conflict { step } if step.starts_with("coupon_give_back_")), "{again:?}");
    assert_eq!(usage(&table, coupon.id, customer).await, Usage { total: 0, by_customer: 0 }, "nothing given twice");

    // The use given back is free again: the same customer may use it (on a new order).
    count(&table, &raised, customer, OrderGroupId::generate()).await.unwrap();
    assert_eq!(usage(&table, coupon.id, customer).await, Usage { total: 1, by_customer: 1 });
}

#[tokio::test]
async fn a_coupon_deactivated_or_changed_after_it_was_read_is_not_counted() {
    let table = table().await;
    let coupon = created(&table, CouponScope::Platform, None, None).await;
    let off = coupon.amended(&CouponChange { active: Some(false), ..Default::default() }, Utc::now()).unwrap();
    let off = coupons::update(&table, &coupon, &off).await.unwrap();
    let stale = count(&table, &coupon, "ada@example.com", OrderGroupId::generate()).await.unwrap_err();
    assert!(stale.failed_at(coupons::COUPON_TOTAL), "{stale:?}");
    let inactive = count(&table, &off, "ada@example.com", OrderGroupId::generate()).await.unwrap_err();
    assert!(inactive.failed_at(coupons::COUPON_TOTAL), "{inactive:?}");
    assert_eq!(usage(&table, coupon.id, "ada@example.com").await, Usage::default());
}

#[tokio::test]
async fn a_limit_is_never_lowered_below_the_uses_counted_meanwhile_and_a_stale_change_is_refused() {
    let table = table().await;
    let coupon = created(&table, CouponScope::Platform, Some(10), None).await;
    for _ in 0..3 {
        count(&table, &coupon, "ada@example.com", OrderGroupId::generate()).await.unwrap();
    }
    // Read when no use was counted: a limit of 2 looked fine then, but 3 are counted now.
    let lowered = coupon.amended(&CouponChange { usage_limit: Some(Some(2)), ..Default::default() }, Utc::now());
    let lowered = lowered.unwrap();
    let refused = coupons::update(&table, &coupon, &lowered).await.unwrap_err();
    assert!(matches!(refused, StoreError::ConditionFailed), "{refused:?}");
    let now = coupons::get(&table, coupon.id).await.unwrap().unwrap();
    assert_eq!((now.usage_limit, now.used, now.version), (Some(10), 3, 1));
    let three = now.amended(&CouponChange { usage_limit: Some(Some(3)), ..Default::default() }, Utc::now()).unwrap();
    let stored = coupons::update(&table, &now, &three).await.unwrap();
    assert_eq!((stored.usage_limit, stored.used, stored.version), (Some(3), 3, 2));
    // a change made on the version before is refused
    let stale = now.amended(
        &CouponChange { ends_at: Some(Some(Utc::now() + Duration::days(9))), ..Default::default() },
        Utc::now(),
    );
    assert!(matches!(coupons::update(&table, &now, &stale.unwrap()).await, Err(StoreError::ConditionFailed)));
    // the exhausted coupon takes no more uses
    let full = count(&table, &stored, "bob@example.com", OrderGroupId::generate()).await.unwrap_err();
    assert!(full.failed_at(coupons::COUPON_TOTAL), "{full:?}");
}

async fn purchase(
    table: &Table,
    variant: VariantId,
    customer: &str,
    quantity: u32,
    order: OrderGroupId,
) -> Result<(), StoreError> {
    let mut tx = table.tx();
    coupons::count_purchase(&mut tx, variant, customer, quantity, 3, order)?;
    table.commit(tx).await
}

#[tokio::test]
async fn a_limited_variant_is_bought_up_to_its_limit_per_customer_once_per_order_and_given_back_once() {
    let table = table().await;
    let variant = VariantId::generate();
    let (ada, bob) = ("ada@example.com", "bob@example.com");
    let first = OrderGroupId::generate();
    purchase(&table, variant, ada, 2, first).await.unwrap();
    let step = coupons::purchase_step(variant);
    let over = purchase(&table, variant, ada, 2, OrderGroupId::generate()).await.unwrap_err();
    assert!(over.failed_at(&step), "{over:?}");
    let too_many = purchase(&table, variant, bob, 4, OrderGroupId::generate()).await.unwrap_err();
    assert!(too_many.failed_at(&step), "more than the limit at once: {too_many:?}");
    let twice = purchase(&table, variant, ada, 1, first).await.unwrap_err();
    assert!(twice.failed_at(&coupons::purchase_use_step(variant)), "{twice:?}");
    assert_eq!(coupons::bought(&table, variant, ada).await.unwrap(), 2);
    purchase(&table, variant, ada, 1, OrderGroupId::generate()).await.unwrap();
    assert_eq!(coupons::bought(&table, variant, ada).await.unwrap(), 3);
    assert_eq!(coupons::bought(&table, variant, bob).await.unwrap(), 0);

    let recorded = coupons::purchases_of(&table, first).await.unwrap();
    assert_eq!((recorded.len(), recorded[0].quantity, recorded[0].variant_id), (1, 2, variant));
    let give_back = |quantity| {
        let table = table.clone();
        async move {
            let mut tx = table.tx();
            coupons::give_back_purchase(&mut tx, variant, ada, quantity, first)?;
            table.commit(tx).await
        }
    };
    let wrong = give_back(1).await.unwrap_err();
    assert!(matches!(&wrong, StoreError::Conflict { step } if step.starts_with("purchase_give_back")), "{wrong:?}");
    give_back(2).await.unwrap();
    assert_eq!(coupons::bought(&table, variant, ada).await.unwrap(), 1);
    assert!(give_back(2).await.is_err(), "given back once");
    assert_eq!(coupons::bought(&table, variant, ada).await.unwrap(), 1);
    assert!(coupons::purchases_of(&table, first).await.unwrap().is_empty());
}

#[tokio::test]
async fn everything_an_order_counted_is_given_back_in_one_transaction() {
    let table = table().await;
    let coupon = created(&table, CouponScope::Platform, Some(5), Some(1)).await;
    let (customer, order, variant) = ("ada@example.com", OrderGroupId::generate(), VariantId::generate());
    let mut tx = table.tx();
    coupons::count_use(&mut tx, &coupon, customer, order).unwrap();
    coupons::count_purchase(&mut tx, variant, customer, 2, 3, order).unwrap();
    table.commit(tx).await.unwrap();
    let (uses, bought) =
        (coupons::uses_of(&table, order).await.unwrap(), coupons::purchases_of(&table, order).await.unwrap());
    assert_eq!((uses.len(), bought.len()), (1, 1));
    let mut tx = table.tx();
    coupons::give_back_counted(&mut tx, &uses, &bought).unwrap();
    table.commit(tx.clone()).await.unwrap();
    assert_eq!(usage(&table, coupon.id, customer).await, Usage::default());
    assert_eq!(coupons::bought(&table, variant, customer).await.unwrap(), 0);
    assert!(table.commit(tx).await.is_err(), "the same give-back again changes nothing");
    assert_eq!(usage(&table, coupon.id, customer).await, Usage::default());
}
