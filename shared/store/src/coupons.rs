//! Coupons, and how often they (and limited items) have been used.
//!
//! A coupon has a partition of its own (`COUPON#<id>`), listed on GSI1 under its scope (a vendor's
//! coupons, or the platform's); its code is unique platform-wide through a claim item written in
//! the same transaction as the coupon. The coupon item carries `used`, the number of orders using
//! it; each customer's uses are counted on an item of their own.
//!
//! # Counting inside a checkout's transaction
//! A checkout adds [`count_use`] (and [`count_purchase`] per limited variant) to the one
//! transaction that places its order, so a use is counted exactly when the order exists. Every
//! increment is conditional on the limit in force, so concurrent checkouts can never overshoot it;
//! a use record per order group must not exist yet, so an order counts a coupon once. An order
//! that expires unpaid or is cancelled before payment gives its uses back with [`give_back`] (and
//! [`give_back_purchase`]) in the transaction that releases it, conditional on that use record,
//! which the give-back deletes: giving back twice is impossible. [`uses_of`] and [`purchases_of`]
//! find what an order group counted, and [`give_back_counted`] gives all of it back.
//!
//! # Who a customer is
//! `customer` is the user id of a signed-in customer and the checkout's contact email, lower-cased,
//! of a guest (`stockyard_domain::promotion::customer_key` makes it). Every function here takes it
//! as given: counting and reading must name a customer the same way.
//!
//! # What a failed step means (`StoreError::Conflict { step }`)
//! - `coupon_total`: the coupon has been used as often as it may be, or it was deactivated or
//!   changed (limits, window) since it was read: read it again ([`by_code`], [`usage`]) and judge
//!   with `promotion::may_use` and `promotion::apply` to tell the customer which.
//! - `coupon_customer`: this customer has used it as often as one customer may.
//! - `coupon_use`: this order group already counts this coupon.
//! - `purchase_limit#<variantId>`: the customer would buy more of the variant than its limit.
//! - `purchase_use#<variantId>`: this order group already counts this variant.
//! - `coupon_give_back_*`, `purchase_give_back*#<variantId>`: nothing to give back (never counted
//!   for this order and customer, or given back already).
//!
//! A transaction may touch an item once: count one coupon once, and each variant once with the
//! order's whole quantity of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{CouponId, OrderGroupId, VariantId};
use stockyard_domain::promotion::{self, Coupon, CouponScope};

use crate::entity::Entity;
use crate::keys::{self, ENTITY};
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table};

/// The step of [`create`] that fails when another coupon has the code.
pub const CODE_TAKEN: &str = "coupon_code";
/// The step of [`create`] that writes the coupon.
pub const COUPON: &str = "coupon";
/// The steps [`count_use`] adds.
pub const COUPON_TOTAL: &str = "coupon_total";
pub const COUPON_CUSTOMER: &str = "coupon_customer";
pub const COUPON_USE: &str = "coupon_use";
/// The steps [`give_back`] adds.
pub const GIVE_BACK_TOTAL: &str = "coupon_give_back_total";
pub const GIVE_BACK_CUSTOMER: &str = "coupon_give_back_customer";
pub const GIVE_BACK_USE: &str = "coupon_give_back_use";

impl Entity for Coupon {
    type Id = CouponId;
    const NAME: &'static str = "coupon";
    fn key(id: &Self::Id) -> keys::Key {
        keys::coupon(*id)
    }
    fn key_of(&self) -> keys::Key {
        keys::coupon(self.id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::coupon_listing(&self.scope, self.id))
    }
}

/// Reserves a code platform-wide and names the coupon that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CouponCodeRecord {
    pub code: String,
    pub coupon_id: CouponId,
}

impl Entity for CouponCodeRecord {
    type Id = String;
    const NAME: &'static str = "coupon code";
    fn key(code: &Self::Id) -> keys::Key {
        keys::coupon_code(code)
    }
    fn key_of(&self) -> keys::Key {
        keys::coupon_code(&self.code)
    }
}

/// How many orders of one customer use one coupon (written by counting, never whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerUses {
    pub coupon_id: CouponId,
    pub customer: String,
    pub used: u32,
}

impl Entity for CustomerUses {
    type Id = (CouponId, String);
    const NAME: &'static str = "coupon customer uses";
    fn key((coupon, customer): &Self::Id) -> keys::Key {
        keys::coupon_customer(*coupon, customer)
    }
    fn key_of(&self) -> keys::Key {
        keys::coupon_customer(self.coupon_id, &self.customer)
    }
}

/// One order group's use of a coupon: it exists exactly while the use is counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponUse {
    pub order_group_id: OrderGroupId,
    pub coupon_id: CouponId,
    pub customer: String,
    pub counted_at: DateTime<Utc>,
}

impl Entity for CouponUse {
    type Id = (OrderGroupId, CouponId);
    const NAME: &'static str = "coupon use";
    fn key((group, coupon): &Self::Id) -> keys::Key {
        keys::coupon_use(*group, *coupon)
    }
    fn key_of(&self) -> keys::Key {
        keys::coupon_use(self.order_group_id, self.coupon_id)
    }
}

/// Units of a limited variant one customer has bought (written by counting, never whole).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purchases {
    pub variant_id: VariantId,
    pub customer: String,
    pub bought: u32,
}

impl Entity for Purchases {
    type Id = (VariantId, String);
    const NAME: &'static str = "limited purchases";
    fn key((variant, customer): &Self::Id) -> keys::Key {
        keys::purchases(*variant, customer)
    }
    fn key_of(&self) -> keys::Key {
        keys::purchases(self.variant_id, &self.customer)
    }
}

/// One order group's units of a limited variant: it exists exactly while they are counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitedPurchase {
    pub order_group_id: OrderGroupId,
    pub variant_id: VariantId,
    pub customer: String,
    pub quantity: u32,
    pub counted_at: DateTime<Utc>,
}

impl Entity for LimitedPurchase {
    type Id = (OrderGroupId, VariantId);
    const NAME: &'static str = "limited purchase";
    fn key((group, variant): &Self::Id) -> keys::Key {
        keys::limited_purchase(*group, *variant)
    }
    fn key_of(&self) -> keys::Key {
        keys::limited_purchase(self.order_group_id, self.variant_id)
    }
}

/// Adds a coupon and claims its code (step [`CODE_TAKEN`] fails when another coupon has it).
pub fn create(table: &Table, coupon: &Coupon) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    let claim = CouponCodeRecord { code: coupon.code.clone(), coupon_id: coupon.id };
    tx.put(CODE_TAKEN, &claim, Some(Expr::not_exists()))?;
    tx.put(COUPON, coupon, Some(Expr::not_exists()))?;
    Ok(tx)
}

pub async fn get(table: &Table, id: CouponId) -> Result<Option<Coupon>, StoreError> {
    table.get::<Coupon>(&id).await
}

/// The coupon a shopper's code names, in any case and with surrounding space, active or not
/// (`promotion::apply` refuses an inactive one as `inactive`); `None` for a code no coupon has (or
/// one that could not be a code).
pub async fn by_code(table: &Table, code: &str) -> Result<Option<Coupon>, StoreError> {
    let Ok(code) = promotion::coupon_code("code", code) else { return Ok(None) };
    let Some(claim) = table.get::<CouponCodeRecord>(&code).await? else { return Ok(None) };
    get(table, claim.coupon_id).await
}

/// The coupons of one scope (a vendor's, or the platform's), oldest first unless the page asks for
/// newest first; with `active`, only those that are (or are not) active, read on until the page is
/// full within the filtered lists' budget.
pub async fn list(
    table: &Table,
    scope: &CouponScope,
    active: Option<bool>,
    page: &PageRequest,
) -> Result<Page<Coupon>, StoreError> {
    let coupons = keys::coupons_of(scope);
    match active {
        None => table.query(&coupons, page).await,
        Some(active) => {
            let filter = Expr::new("#active = :active").name("#active", "active").val(":active", &active);
            table.query_filtered(&coupons, page, Some(filter), |c: &Coupon| c.active == active).await
        }
    }
}

/// Writes what may change of a coupon (active, window, limits, version, updated at) over it as it
/// was read (`before`), and returns it as stored now (with its current `used`).
/// [`StoreError::ConditionFailed`] when it changed meanwhile, or when more orders use it now than
/// `after`'s limit allows: nothing is written.
pub async fn update(table: &Table, before: &Coupon, after: &Coupon) -> Result<Coupon, StoreError> {
    let mut set = vec!["#active = :active", "#starts = :starts", "#version = :next", "#updated = :now"];
    let mut remove = Vec::new();
    let mut update = Expr::new("")
        .name("#active", "active")
        .name("#starts", "starts_at")
        .name("#version", "version")
        .name("#updated", "updated_at")
        .name("#ends", "ends_at")
        .name("#limit", "usage_limit")
        .name("#each", "per_customer_limit")
        .val(":active", &after.active)
        .val(":starts", &after.starts_at)
        .val(":next", &after.version)
        .val(":now", &after.updated_at);
    match after.ends_at {
        Some(ends) => {
            set.push("#ends = :ends");
            update = update.val(":ends", &ends);
        }
        None => remove.push("#ends"),
    }
    match after.usage_limit {
        Some(limit) => {
            set.push("#limit = :limit");
            update = update.val(":limit", &limit);
        }
        None => remove.push("#limit"),
    }
    match after.per_customer_limit {
        Some(each) => {
            set.push("#each = :each");
            update = update.val(":each", &each);
        }
        None => remove.push("#each"),
    }
    let update = update.set_remove(&set, &remove);
    let mut condition = Expr::new("attribute_exists(PK) AND #version = :read").val(":read", &before.version);
    if after.usage_limit.is_some() {
        condition.expression.push_str(" AND #used <= :limit");
        condition = condition.name("#used", "used");
    }
    table.update::<Coupon>(&before.id, Change::new(update).when(condition)).await
}

/// How often a coupon has been used: in all, and by one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub total: u32,
    pub by_customer: u32,
}

/// How often `coupon` has been used in all and by `customer` (strongly consistent reads), for
/// `promotion::may_use` to refuse clearly before a checkout's transaction (which counts under
/// conditions of its own). An unknown coupon has no uses.
pub async fn usage(table: &Table, coupon: CouponId, customer: &str) -> Result<Usage, StoreError> {
    let (stored, mine) = futures_util::future::try_join(
        table.get::<Coupon>(&coupon),
        table.get::<CustomerUses>(&(coupon, customer.to_string())),
    )
    .await?;
    Ok(Usage { total: stored.map_or(0, |c| c.used), by_customer: mine.map_or(0, |m| m.used) })
}

/// Counts one use of `coupon` by `customer` for the order group `order`, in `tx`:
/// - step [`COUPON_TOTAL`]: the coupon's `used` + 1, if it is still active and at the version read
///   (`coupon.version`) and, when it has a `usage_limit`, `used` is below it;
/// - step [`COUPON_CUSTOMER`]: the customer's uses + 1, if below `per_customer_limit` when set
///   (counted either way);
/// - step [`COUPON_USE`]: the order group's use record, which must not exist yet.
pub fn count_use(tx: &mut Tx, coupon: &Coupon, customer: &str, order: OrderGroupId) -> Result<(), StoreError> {
    let mut condition = Expr::new("attribute_exists(PK) AND #active = :yes AND #version = :read")
        .name("#active", "active")
        .name("#version", "version")
        .val(":yes", &true)
        .val(":read", &coupon.version);
    if let Some(limit) = coupon.usage_limit {
        condition.expression.push_str(" AND #used < :limit");
        condition = condition.val(":limit", &limit);
    }
    let increment = Expr::new("SET #used = if_not_exists(#used, :zero) + :one")
        .name("#used", "used")
        .val(":zero", &0u32)
        .val(":one", &1u32);
    tx.update::<Coupon>(COUPON_TOTAL, &coupon.id, Change::new(increment).when(condition))?;

    let mut mine = counter_update("#used", "used", 1)
        .name("#coupon", "coupon_id")
        .name("#customer", "customer")
        .val(":coupon", &coupon.id)
        .val(":customer", customer);
    mine.expression.push_str(", #coupon = :coupon, #customer = :customer, #entity = :entity");
    mine = mine.name("#entity", ENTITY).val(":entity", CustomerUses::NAME);
    let mut change = Change::new(mine);
    if let Some(limit) = coupon.per_customer_limit {
        change = change.when(Expr::new("attribute_not_exists(#used) OR #used < :limit").val(":limit", &limit));
    }
    tx.update::<CustomerUses>(COUPON_CUSTOMER, &(coupon.id, customer.to_string()), change)?;

    let record = CouponUse {
        order_group_id: order,
        coupon_id: coupon.id,
        customer: customer.to_string(),
        counted_at: Utc::now(),
    };
    tx.put(COUPON_USE, &record, Some(Expr::not_exists()))?;
    Ok(())
}

/// Gives back the use of `coupon` that `customer`'s order group `order` counted, in `tx`: deletes
/// the use record if it exists for this customer (step [`GIVE_BACK_USE`]) and takes one off the
/// coupon's and the customer's counts (steps [`GIVE_BACK_TOTAL`], [`GIVE_BACK_CUSTOMER`]). A use
/// never counted, or given back already, fails the transaction.
pub fn give_back(tx: &mut Tx, coupon: CouponId, customer: &str, order: OrderGroupId) -> Result<(), StoreError> {
    let positive = || Expr::new("#used >= :n");
    tx.update::<Coupon>(GIVE_BACK_TOTAL, &coupon, Change::new(decrement("#used", "used", 1)).when(positive()))?;
    tx.update::<CustomerUses>(
        GIVE_BACK_CUSTOMER,
        &(coupon, customer.to_string()),
        Change::new(decrement("#used", "used", 1)).when(positive()),
    )?;
    let mine = Expr::new("attribute_exists(PK) AND #customer = :customer")
        .name("#customer", "customer")
        .val(":customer", customer);
    tx.delete::<CouponUse>(GIVE_BACK_USE, &(order, coupon), Some(mine))?;
    Ok(())
}

/// The coupon uses an order group counted (what to give back when it expires or is cancelled).
pub async fn uses_of(table: &Table, order: OrderGroupId) -> Result<Vec<CouponUse>, StoreError> {
    table.query_all(&keys::coupon_uses_of(order)).await
}

/// Gives back, in `tx`, everything an order group counted: each coupon use ([`give_back`]) and each
/// limited purchase ([`give_back_purchase`]), as read by [`uses_of`] and [`purchases_of`] before
/// the transaction. For the move that releases an expired or cancelled order's stock:
///
/// ```ignore
/// let (uses, bought) = tokio::try_join!(coupons::uses_of(table, id), coupons::purchases_of(table, id))?;
/// reservations::release(table, &holds, &reference, actor, |tx| {
///     move_steps(tx, ..)?;
///     coupons::give_back_counted(tx, &uses, &bought)
/// })
/// ```
pub fn give_back_counted(tx: &mut Tx, uses: &[CouponUse], purchases: &[LimitedPurchase]) -> Result<(), StoreError> {
    for used in uses {
        give_back(tx, used.coupon_id, &used.customer, used.order_group_id)?;
    }
    for bought in purchases {
        give_back_purchase(tx, bought.variant_id, &bought.customer, bought.quantity, bought.order_group_id)?;
    }
    Ok(())
}

/// The step of a limited variant's count.
pub fn purchase_step(variant: VariantId) -> String {
    format!("purchase_limit#{variant}")
}

/// The step of a limited variant's use record for one order group.
pub fn purchase_use_step(variant: VariantId) -> String {
    format!("purchase_use#{variant}")
}

/// Units of a limited `variant` that `customer` has bought so far (a strongly consistent read).
pub async fn bought(table: &Table, variant: VariantId, customer: &str) -> Result<u32, StoreError> {
    Ok(table.get::<Purchases>(&(variant, customer.to_string())).await?.map_or(0, |p| p.bought))
}

/// Counts `quantity` units of `variant`, limited to `limit` per customer, bought by `customer` in
/// the order group `order`, in `tx`: the customer's count + `quantity` if it stays at most
/// `limit` (step `purchase_limit#<variant>`; more than `limit` at once fails at once with that
/// step, writing nothing), and the order group's record of it, which must not exist yet (step
/// `purchase_use#<variant>`). Nothing is added for no units.
pub fn count_purchase(
    tx: &mut Tx,
    variant: VariantId,
    customer: &str,
    quantity: u32,
    limit: u32,
    order: OrderGroupId,
) -> Result<(), StoreError> {
    if quantity == 0 {
        return Ok(());
    }
    let Some(room) = limit.checked_sub(quantity) else {
        return Err(StoreError::Conflict { step: purchase_step(variant).into() });
    };
    let mut count = counter_update("#bought", "bought", quantity)
        .name("#variant", "variant_id")
        .name("#customer", "customer")
        .val(":variant", &variant)
        .val(":customer", customer);
    count.expression.push_str(", #variant = :variant, #customer = :customer, #entity = :entity");
    count = count.name("#entity", ENTITY).val(":entity", Purchases::NAME);
    let room = Expr::new("attribute_not_exists(#bought) OR #bought <= :room").val(":room", &room);
    tx.update::<Purchases>(purchase_step(variant), &(variant, customer.to_string()), Change::new(count).when(room))?;
    let record = LimitedPurchase {
        order_group_id: order,
        variant_id: variant,
        customer: customer.to_string(),
        quantity,
        counted_at: Utc::now(),
    };
    tx.put(purchase_use_step(variant), &record, Some(Expr::not_exists()))?;
    Ok(())
}

/// Gives back the `quantity` units of `variant` that `customer`'s order group `order` counted, in
/// `tx`: deletes the order's record if it holds exactly that (step
/// `purchase_give_back_use#<variant>`) and takes them off the customer's count (step
/// `purchase_give_back#<variant>`). Units never counted, or given back already, fail the
/// transaction. Nothing is added for no units.
pub fn give_back_purchase(
    tx: &mut Tx,
    variant: VariantId,
    customer: &str,
    quantity: u32,
    order: OrderGroupId,
) -> Result<(), StoreError> {
    if quantity == 0 {
        return Ok(());
    }
    let enough = Expr::new("#bought >= :n");
    tx.update::<Purchases>(
        format!("purchase_give_back#{variant}"),
        &(variant, customer.to_string()),
        Change::new(decrement("#bought", "bought", quantity)).when(enough),
    )?;
    let mine = Expr::new("attribute_exists(PK) AND #customer = :customer AND #quantity = :n")
        .name("#customer", "customer")
        .name("#quantity", "quantity")
        .val(":customer", customer)
        .val(":n", &quantity);
    tx.delete::<LimitedPurchase>(format!("purchase_give_back_use#{variant}"), &(order, variant), Some(mine))?;
    Ok(())
}

/// The limited purchases an order group counted (what to give back when it expires or is cancelled).
pub async fn purchases_of(table: &Table, order: OrderGroupId) -> Result<Vec<LimitedPurchase>, StoreError> {
    table.query_all(&keys::limited_purchases_of(order)).await
}

/// `SET <name> = if_not_exists(<name>, 0) + by`, the name as placeholder `placeholder`.
fn counter_update(placeholder: &str, name: &str, by: u32) -> Expr {
    Expr::new(format!("SET {placeholder} = if_not_exists({placeholder}, :zero) + :by"))
        .name(placeholder, name)
        .val(":zero", &0u32)
        .val(":by", &by)
}

/// `SET <name> = <name> - :n`; the condition that goes with it may name `:n`.
fn decrement(placeholder: &str, name: &str, n: u32) -> Expr {
    Expr::new(format!("SET {placeholder} = {placeholder} - :n")).name(placeholder, name).val(":n", &n)
}
