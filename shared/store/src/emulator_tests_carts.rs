//! Carts against DynamoDB Local: every write on the version read, one cart per customer, expiry
//! on read, a checkout's emptying and a merge that cannot happen twice.

use chrono::{Duration, Utc};
use stockyard_domain::cart::{Cart, CartLine, CartOwner, token_hash};
use stockyard_domain::ids::{ProductId, UserId, VariantId, VendorId};
use stockyard_domain::locale::Locale;
use stockyard_domain::money::{Currency, Money};

use crate::StoreError;
use crate::carts::{self, CART_STEP, CUSTOMER_CART_STEP, CustomerCartRecord, GUEST_CART_STEP};
use crate::emulator_tests::{stocked, table};

fn eur() -> Currency {
    Currency::parse("currency", "EUR").unwrap()
}

fn new_cart(owner: CartOwner) -> Cart {
    Cart::new(owner, eur(), Locale::parse("locale", "en").unwrap(), Utc::now())
}

fn customer_cart(customer: UserId) -> Cart {
    new_cart(CartOwner::Customer { customer_id: customer })
}

fn guest_cart() -> Cart {
    new_cart(CartOwner::Guest { token_hash: token_hash("a guest's token") })
}

fn line(quantity: u32) -> CartLine {
    CartLine {
        vendor_id: VendorId::generate(),
        product_id: ProductId::generate(),
        variant_id: VariantId::generate(),
        quantity,
        unit_price: Money::new(1999, eur()),
        added_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_cart_write_on_a_stale_version_is_refused_and_changes_nothing() {
    let table = table().await;
    let cart = guest_cart();
    carts::create(&table, &cart).await.unwrap();
    assert_eq!(carts::get(&table, cart.id).await.unwrap(), Some(cart.clone()), "reads back as written");

    let mut first = cart.clone();
    first.lines.push(line(1));
    first.touch(Utc::now());
    carts::save(&table, &first, cart.version).await.unwrap();

    // A second writer decided on the same version: refused.
    let mut second = cart.clone();
    second.lines.push(line(5));
    second.touch(Utc::now());
    let refused = carts::save(&table, &second, cart.version).await;
    assert!(matches!(refused, Err(StoreError::ConditionFailed)), "{refused:?}");
    assert_eq!(carts::get(&table, cart.id).await.unwrap(), Some(first.clone()));
    // Making the same cart again is refused too.
    assert!(matches!(carts::create(&table, &cart).await, Err(StoreError::ConditionFailed)));
    // A cart that does not exist cannot be saved into being.
    let mut ghost = guest_cart();
    ghost.touch(Utc::now());
    assert!(matches!(carts::save(&table, &ghost, 1).await, Err(StoreError::ConditionFailed)));
    assert_eq!(carts::get(&table, ghost.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_customer_has_one_cart_until_it_expires_and_then_a_new_one_takes_its_place() {
    let table = table().await;
    let customer = UserId::generate();
    assert_eq!(carts::of_customer(&table, customer).await.unwrap(), None);
    let first = customer_cart(customer);
    carts::create(&table, &first).await.unwrap();
    assert_eq!(carts::of_customer(&table, customer).await.unwrap().map(|c| c.id), Some(first.id));

    let second = customer_cart(customer);
    let refused = carts::create(&table, &second).await;
    assert!(refused.as_ref().is_err_and(|e| e.failed_at(CUSTOMER_CART_STEP)), "{refused:?}");
    assert_eq!(carts::get(&table, second.id).await.unwrap(), None, "nothing of the second cart was written");

    // The first expires (TTL has not deleted it yet): it reads as absent, and a new cart replaces
    // the claim.
    let mut expired = first.clone();
    expired.expires_at = Utc::now() - Duration::seconds(1);
    expired.version += 1;
    carts::save(&table, &expired, first.version).await.unwrap();
    assert_eq!(carts::get(&table, first.id).await.unwrap(), None);
    assert_eq!(carts::of_customer(&table, customer).await.unwrap(), None);
    carts::create(&table, &second).await.unwrap();
    assert_eq!(carts::of_customer(&table, customer).await.unwrap().map(|c| c.id), Some(second.id));
    let claim = table.get::<CustomerCartRecord>(&customer).await.unwrap().unwrap();
    assert_eq!(claim.cart_id, second.id);
}

#[tokio::test]
async fn first_carts_made_at_once_for_one_customer_leave_exactly_one() {
    let table = table().await;
    let customer = UserId::generate();
    let attempts = (0..8).map(|_| {
        let (table, cart) = (table.clone(), customer_cart(customer));
        tokio::spawn(async move { carts::create(&table, &cart).await.map(|()| cart.id) })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(attempts).await.into_iter().map(Result::unwrap).collect();
    let made: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(made.len(), 1, "{outcomes:?}");
    assert!(outcomes.iter().filter_map(|o| o.as_ref().err()).all(|e| e.failed_at(CUSTOMER_CART_STEP)));
    assert_eq!(carts::of_customer(&table, customer).await.unwrap().map(|c| c.id).as_ref(), Some(made[0]));
}

#[tokio::test]
async fn a_checkout_empties_the_cart_it_priced_and_fails_at_the_cart_step_when_it_changed() {
    let table = table().await;
    let mut cart = customer_cart(UserId::generate());
    cart.lines.push(line(2));
    carts::create(&table, &cart).await.unwrap();

    // Changed after it was priced: the checkout's transaction fails at the cart step.
    let mut changed = cart.clone();
    changed.lines[0].quantity = 3;
    changed.touch(Utc::now());
    carts::save(&table, &changed, cart.version).await.unwrap();
    let mut tx = table.tx();
    carts::checked_out(&mut tx, &cart).unwrap();
    assert_eq!(tx.step_names(), vec![CART_STEP]);
    let refused = table.commit(tx).await;
    assert!(refused.as_ref().is_err_and(|e| e.failed_at(CART_STEP)), "{refused:?}");
    assert_eq!(carts::get(&table, cart.id).await.unwrap(), Some(changed.clone()));

    let mut tx = table.tx();
    carts::checked_out(&mut tx, &changed).unwrap();
    table.commit(tx).await.unwrap();
    let emptied = carts::get(&table, cart.id).await.unwrap().unwrap();
    assert!(emptied.lines.is_empty());
    assert_eq!(emptied.version, changed.version + 1);
    assert_eq!((emptied.owner, emptied.expires_at), (changed.owner, changed.expires_at));
}

#[tokio::test]
async fn a_merge_deletes_the_guest_cart_once_and_the_same_merge_again_changes_nothing() {
    let table = table().await;
    let customer = UserId::generate();
    let mut guest = guest_cart();
    guest.lines.push(line(1));
    carts::create(&table, &guest).await.unwrap();

    // No cart yet: the merged cart is made and claimed.
    let mut merged = customer_cart(customer);
    merged.lines = guest.lines.clone();
    merged.merged_carts.push(guest.id);
    carts::merge(&table, &guest, &merged, None).await.unwrap();
    assert_eq!(carts::get(&table, guest.id).await.unwrap(), None, "the guest cart is gone");
    assert_eq!(carts::of_customer(&table, customer).await.unwrap(), Some(merged.clone()));

    // The same merge again: the guest cart is gone, nothing is written.
    let mut again = merged.clone();
    again.lines[0].quantity = 2;
    again.touch(Utc::now());
    let refused = carts::merge(&table, &guest, &again, Some(merged.version)).await;
    assert!(refused.as_ref().is_err_and(|e| e.failed_at(GUEST_CART_STEP)), "{refused:?}");
    assert_eq!(carts::of_customer(&table, customer).await.unwrap(), Some(merged.clone()));

    // A guest cart merged into a customer's cart that changed meanwhile: the cart step fails and
    // the guest cart stays.
    let other = guest_cart();
    carts::create(&table, &other).await.unwrap();
    let mut stale = merged.clone();
    stale.touch(Utc::now());
    let mut moved = merged.clone();
    moved.touch(Utc::now());
    carts::save(&table, &moved, merged.version).await.unwrap();
    let refused = carts::merge(&table, &other, &stale, Some(merged.version)).await;
    assert!(refused.as_ref().is_err_and(|e| e.failed_at(CART_STEP)), "{refused:?}");
    assert!(carts::get(&table, other.id).await.unwrap().is_some());
}

#[tokio::test]
async fn pricing_facts_add_up_the_variants_stock_over_the_vendors_locations() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (_, variant, _) = stocked(&table, vendor, 4).await;
    // The same variant at a second location.
    let second = stocked(&table, vendor, 6).await;
    let mut at_second = table.get::<stockyard_domain::stock::StockItem>(&second).await.unwrap().unwrap();
    at_second.variant_id = variant;
    crate::table::Table::put(&table, &at_second, None).await.unwrap();
    let product = ProductId::generate();
    let facts = carts::facts(&table, &[(vendor, product, variant)], &Locale::parse("l", "en").unwrap()).await.unwrap();
    assert_eq!(facts.lines.len(), 1);
    let line = &facts.lines[0];
    assert_eq!((line.variant_id, line.available), (variant, 10));
    assert!(line.product.is_none() && line.variant.is_none() && line.vendor.is_none());
}
