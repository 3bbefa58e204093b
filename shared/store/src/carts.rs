//! Carts: each in a partition of its own (`CART#<id>`), read by id; a customer's one cart is
//! claimed in the customer's partition (`USER#<id>` / `CART`, holding the cart's id), written in
//! the transaction that makes the cart, so a customer never has two. Every change is written on
//! the version it was decided on. A cart carries its expiry as the table's TTL attribute
//! (`expires_at`, epoch seconds); DynamoDB deletes expired items within days, so a read also
//! treats a cart past its expiry as absent. A claim outlives its cart: one whose cart is gone or
//! expired is replaced, on the cart id it holds, when the customer's next cart is made.
//!
//! [`current`] reads what pricing a cart needs (each line's product, variant, translation, vendor
//! and stock over the vendor's locations, and the exchange rates), for
//! [`stockyard_domain::cart::price`]: a cart read and checkout price a cart the same way.

use chrono::Utc;
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use stockyard_domain::cart::{Cart, CartFacts, CartLine, LineFacts};
use stockyard_domain::ids::{CartId, ProductId, UserId, VariantId, VendorId};
use stockyard_domain::locale::Locale;
use stockyard_domain::stock::availability;

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{StoreError, Table, exchange_rates, keys, products, stock, vendors};

/// The step that writes the cart: it fails when the cart changed (or appeared) since it was read.
pub const CART_STEP: &str = "cart";
/// The step that claims a customer's cart: it fails when the customer has a live cart already.
pub const CUSTOMER_CART_STEP: &str = "customer_cart";
/// The step of a merge that deletes the guest's cart: it fails when that cart changed or is gone.
pub const GUEST_CART_STEP: &str = "guest_cart";

impl Entity for Cart {
    type Id = CartId;
    const NAME: &'static str = "cart";
    fn key(id: &CartId) -> keys::Key {
        keys::cart(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::cart(self.id)
    }
}

/// Which cart is the customer's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerCartRecord {
    pub customer_id: UserId,
    pub cart_id: CartId,
}

impl Entity for CustomerCartRecord {
    type Id = UserId;
    const NAME: &'static str = "customer cart";
    fn key(customer: &UserId) -> keys::Key {
        keys::customer_cart(*customer)
    }
    fn key_of(&self) -> keys::Key {
        keys::customer_cart(self.customer_id)
    }
}

fn at_version(read: u64) -> Expr {
    Expr::new("#version = :read").name("#version", "version").val(":read", &read)
}

/// The cart, strongly consistent; `None` when it does not exist or has expired.
pub async fn get(table: &Table, id: CartId) -> Result<Option<Cart>, StoreError> {
    let now = Utc::now();
    Ok(table.get::<Cart>(&id).await?.filter(|cart| !cart.is_expired(now)))
}

/// The customer's cart, if they have one that has not expired.
pub async fn of_customer(table: &Table, customer: UserId) -> Result<Option<Cart>, StoreError> {
    let Some(claim) = table.get::<CustomerCartRecord>(&customer).await? else { return Ok(None) };
    Ok(get(table, claim.cart_id).await?.filter(|cart| cart.customer() == Some(customer)))
}

/// Adds to `tx` the claim that makes `cart` its customer's one cart (nothing for a guest's cart):
/// on no claim, or on a claim whose cart is gone or expired. [`StoreError::Conflict`] at
/// [`CUSTOMER_CART_STEP`] when the customer has a live cart, or (when committed) made one meanwhile.
async fn claim(table: &Table, tx: &mut Tx, cart: &Cart) -> Result<(), StoreError> {
    let Some(customer) = cart.customer() else { return Ok(()) };
    let condition = match table.get::<CustomerCartRecord>(&customer).await? {
        None => Expr::not_exists(),
        Some(claim) => {
            if get(table, claim.cart_id).await?.is_some_and(|c| c.customer() == Some(customer)) {
                return Err(StoreError::Conflict { step: CUSTOMER_CART_STEP.into() });
            }
            Expr::new("cart_id = :stale").val(":stale", &claim.cart_id)
        }
    };
    tx.put(CUSTOMER_CART_STEP, &CustomerCartRecord { customer_id: customer, cart_id: cart.id }, Some(condition))?;
    Ok(())
}

/// Stores a new cart; a customer's is claimed as theirs in the same transaction
/// ([`StoreError::Conflict`] at [`CUSTOMER_CART_STEP`] when they have one: read it instead).
pub async fn create(table: &Table, cart: &Cart) -> Result<(), StoreError> {
    if cart.customer().is_none() {
        return table.put(cart, Some(Expr::not_exists())).await;
    }
    let mut tx = table.tx();
    tx.put(CART_STEP, cart, Some(Expr::not_exists()))?;
    claim(table, &mut tx, cart).await?;
    table.commit(tx).await
}

/// Writes `cart` over the cart as it was read at `read_version` ([`StoreError::ConditionFailed`]
/// when it changed or went meanwhile: nothing is written). `cart` carries its next version
/// ([`Cart::touch`]).
pub async fn save(table: &Table, cart: &Cart, read_version: u64) -> Result<(), StoreError> {
    table.put(cart, Some(at_version(read_version))).await
}

/// Adds to `tx` the emptying of `cart` by a checkout (step [`CART_STEP`]): its lines cleared and
/// its version moved on, provided it is still at `cart.version`, so a cart changed since it was
/// priced fails the checkout's transaction instead of being ordered as it was.
pub fn checked_out(tx: &mut Tx, cart: &Cart) -> Result<(), StoreError> {
    let now = Utc::now().max(cart.updated_at);
    let update = Expr::new("SET #lines = :none, #version = :next, #updated = :now")
        .name("#lines", "lines")
        .name("#version", "version")
        .name("#updated", "updated_at")
        .val(":none", &Vec::<CartLine>::new())
        .val(":next", &(cart.version + 1))
        .val(":now", &now);
    let unchanged = Expr::new("#version = :read").name("#version", "version").val(":read", &cart.version);
    tx.update::<Cart>(CART_STEP, &cart.id, Change::new(update).when(unchanged))?;
    Ok(())
}

/// Merges a guest's cart into a customer's in one transaction: the guest's cart is deleted as it
/// was read (step [`GUEST_CART_STEP`]) and `merged` written over the customer's cart as read at
/// `read_version` (step [`CART_STEP`]), or made and claimed when the customer had none
/// (`read_version` `None`; step [`CUSTOMER_CART_STEP`] when they made one meanwhile).
pub async fn merge(table: &Table, guest: &Cart, merged: &Cart, read_version: Option<u64>) -> Result<(), StoreError> {
    let mut tx = table.tx();
    tx.delete::<Cart>(GUEST_CART_STEP, &guest.id, Some(at_version(guest.version)))?;
    match read_version {
        Some(read) => {
            tx.put(CART_STEP, merged, Some(at_version(read)))?;
        }
        None => {
            tx.put(CART_STEP, merged, Some(Expr::not_exists()))?;
            claim(table, &mut tx, merged).await?;
        }
    }
    table.commit(tx).await
}

/// What pricing `cart` needs, read now (see [`facts`]).
pub async fn current(table: &Table, cart: &Cart) -> Result<CartFacts, StoreError> {
    let items: Vec<_> = cart.lines.iter().map(|l| (l.vendor_id, l.product_id, l.variant_id)).collect();
    facts(table, &items, &cart.locale).await
}

/// What pricing lines of these variants needs, read at once: per variant its product (with its
/// title in `locale`), the variant, its vendor and the units available over the vendor's
/// locations; and the exchange rates in force. Items, reads and rates are read in parallel.
pub async fn facts(
    table: &Table,
    items: &[(VendorId, ProductId, VariantId)],
    locale: &Locale,
) -> Result<CartFacts, StoreError> {
    let today = Utc::now().date_naive();
    let mut vendor_ids: Vec<VendorId> = items.iter().map(|(vendor, _, _)| *vendor).collect();
    vendor_ids.sort();
    vendor_ids.dedup();
    let vendors = try_join_all(vendor_ids.iter().map(|id| vendors::get(table, *id)));
    let lines = try_join_all(items.iter().map(|&(vendor, product, variant)| async move {
        let (product, found, held, translation) = tokio::try_join!(
            products::get(table, product),
            products::variant(table, product, variant),
            stock::of_variant(table, vendor, variant),
            products::translation(table, product, locale),
        )?;
        let product = product.map(|record| record.product);
        let title = translation.map(|t| t.title).or_else(|| product.as_ref().map(|p| p.title.clone()));
        // A flash-sale item's shards hold what it has beyond its own units.
        let in_shards = stock::free_in_shards(table, &held).await?;
        let by_location: Vec<_> = held
            .iter()
            .zip(in_shards)
            .map(|(item, free)| (item.location_id, availability(item, today).available.saturating_add(free)))
            .collect();
        let available = by_location.iter().fold(0u32, |sum, (_, units)| sum.saturating_add(*units));
        Ok::<_, StoreError>((
            vendor,
            LineFacts { variant_id: variant, product, variant: found, vendor: None, title, available, by_location },
        ))
    }));
    let (vendors, lines, rates) = tokio::try_join!(vendors, lines, exchange_rates::current(table))?;
    let lines = lines
        .into_iter()
        .map(|(vendor_id, mut line)| {
            line.vendor = vendors.iter().flatten().find(|v| v.id == vendor_id).cloned();
            line
        })
        .collect();
    Ok(CartFacts { lines, rates })
}
