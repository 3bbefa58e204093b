//! Shopping carts: a customer's (one per customer) or a guest's (reached with a random cart token,
//! of which only the SHA-256 is kept). A line remembers the unit price it was added or last set
//! at; every read prices the cart again from the catalog, the stock and the exchange rates as they
//! are now ([`price`]), and says per line what changed since (`price_changed`, `unavailable`,
//! `quantity_reduced`). Checkout prices a cart with the same function, so what the shopper saw on
//! the last read is what checkout charges, unless something changed in between.
//!
//! # Prices
//! A line's unit price is the variant's price in the cart's currency (its sale price while the
//! sale runs). A variant with no price in that currency is priced as the catalog shows it: its
//! price in the vendor's base currency, converted at the exchange rates in force (half away from
//! zero, see [`crate::exchange`]). A variant with neither, or whose converted price is not a
//! price the catalog could hold (0, or above [`MAX_AMOUNT`]), is `unavailable` with `no_price`.
//!
//! # Limits
//! A line holds at most [`MAX_LINE_QUANTITY`] units, and at most the variant's
//! `max_per_customer` when the vendor limits it; a cart holds at most [`MAX_LINES`] lines. What a
//! line can be bought in now is also bounded by the units available over the vendor's locations.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::catalog::ProductStatus;
use crate::exchange::{ExchangeRates, convert};
use crate::ids::{CartId, LocationId, ProductId, UserId, VariantId, VendorId};
use crate::locale::Locale;
use crate::money::{Currency, Money};
use crate::product::{MAX_AMOUNT, Product, Variant};
use crate::vendor::{Vendor, VendorStatus};

/// The most distinct lines one cart holds (what one checkout takes).
pub const MAX_LINES: usize = 25;
/// The most units of one variant one line holds.
pub const MAX_LINE_QUANTITY: u32 = 99;
/// A guest's cart expires this many days after its last change.
pub const GUEST_CART_DAYS: i64 = 7;
/// A customer's cart expires this many days after its last change.
pub const CUSTOMER_CART_DAYS: i64 = 60;
/// How many merged guest carts a customer's cart remembers (a retried merge is recognised by them).
pub const MAX_MERGED_CARTS: usize = 20;
/// Random bytes in a cart token.
pub const TOKEN_BYTES: usize = 32;
/// A cart token as sent: 32 bytes in unpadded base64url, 43 characters; the last one carries 4
/// bits, so its 2 low bits are zero (one spelling per token).
pub const TOKEN_PATTERN: &str = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$";

/// Whose cart it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CartOwner {
    /// A signed-in customer's (their one cart).
    Customer { customer_id: UserId },
    /// A guest's: the hex SHA-256 of the cart token handed out once, when the cart was made.
    Guest { token_hash: String },
}

/// One variant in a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub vendor_id: VendorId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub quantity: u32,
    /// The unit price when the line was added or its quantity last set: what changes are told
    /// against.
    pub unit_price: Money,
    pub added_at: DateTime<Utc>,
}

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub id: CartId,
    pub owner: CartOwner,
    pub currency: Currency,
    pub locale: Locale,
    #[serde(default)]
    pub lines: Vec<CartLine>,
    /// Moves with every change; every write is made on the version it was decided on.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Kept as epoch seconds: it is the table's TTL attribute. A cart past it reads as absent.
    #[serde(with = "chrono::serde::ts_seconds")]
    pub expires_at: DateTime<Utc>,
    /// Guest carts merged into this one (the latest [`MAX_MERGED_CARTS`]): a merge sent again
    /// after the guest cart is gone is recognised and changes nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_carts: Vec<CartId>,
}

/// The hex SHA-256 of a cart token: what a guest cart keeps of it.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Equal byte strings, compared in time that depends only on their length.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// When a cart of `owner` changed at `at` expires (whole seconds, as the TTL attribute keeps it).
pub fn expiry(owner: &CartOwner, at: DateTime<Utc>) -> DateTime<Utc> {
    let days = match owner {
        CartOwner::Customer { .. } => CUSTOMER_CART_DAYS,
        CartOwner::Guest { .. } => GUEST_CART_DAYS,
    };
    let until = at + Duration::days(days);
    DateTime::from_timestamp(until.timestamp(), 0).unwrap_or(until)
}

impl Cart {
    /// A new, empty cart of `owner`, made at `now` (version 1).
    pub fn new(owner: CartOwner, currency: Currency, locale: Locale, now: DateTime<Utc>) -> Self {
        let expires_at = expiry(&owner, now);
        Self {
            id: CartId::generate(),
            owner,
            currency,
            locale,
            lines: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
            expires_at,
            merged_carts: Vec::new(),
        }
    }

    /// The customer whose cart this is (none for a guest's).
    pub fn customer(&self) -> Option<UserId> {
        match self.owner {
            CartOwner::Customer { customer_id } => Some(customer_id),
            CartOwner::Guest { .. } => None,
        }
    }

    pub fn is_guest(&self) -> bool {
        matches!(self.owner, CartOwner::Guest { .. })
    }

    /// Whether a caller may read and change this cart: its customer, signed in, or whoever holds
    /// a guest cart's token (compared by hash, in constant time). Nobody else, whatever their role.
    pub fn may_use(&self, customer: Option<UserId>, token: Option<&str>) -> bool {
        match &self.owner {
            CartOwner::Customer { customer_id } => customer == Some(*customer_id),
            CartOwner::Guest { token_hash: kept } => {
                token.is_some_and(|token| same_bytes(token_hash(token).as_bytes(), kept.as_bytes()))
            }
        }
    }

    /// Whether the cart has expired by `now` (it then reads as absent).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    pub fn line(&self, variant: VariantId) -> Option<&CartLine> {
        self.lines.iter().find(|l| l.variant_id == variant)
    }

    /// Records a change made at `now`: the next version, and the expiry moved on.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now.max(self.updated_at);
        self.expires_at = expiry(&self.owner, self.updated_at);
    }

    /// Sets the quantity of `variant`'s line, adding the line if the cart has none, at the price
    /// it can be bought at now (which the line then remembers). `facts` must describe `variant`.
    /// Refused, changing nothing, when the variant is not on sale in the cart's currency, when a
    /// new line would be one too many, or when `quantity` is over the line's limit or the stock.
    pub fn set_line(
        &mut self,
        variant: VariantId,
        quantity: u32,
        facts: &CartFacts,
        now: DateTime<Utc>,
    ) -> Result<(), LineRefusal> {
        let line_facts = facts.of(variant).ok_or(LineRefusal::Unavailable(UnavailableReason::VariantDeleted))?;
        let offer = offer(line_facts, self.currency, facts.rates.as_ref(), now).map_err(LineRefusal::Unavailable)?;
        let existing = self.lines.iter().position(|l| l.variant_id == variant);
        if existing.is_none() && self.lines.len() >= MAX_LINES {
            return Err(LineRefusal::TooManyLines);
        }
        if quantity > offer.limit {
            return Err(LineRefusal::OverLimit { max: offer.limit, available: offer.available });
        }
        if quantity > offer.available {
            return Err(LineRefusal::OverStock { available: offer.available });
        }
        match existing {
            Some(i) => {
                let line = &mut self.lines[i];
                line.quantity = quantity;
                line.unit_price = offer.unit_price;
            }
            None => self.lines.push(CartLine {
                vendor_id: offer.vendor_id,
                product_id: offer.product_id,
                variant_id: variant,
                quantity,
                unit_price: offer.unit_price,
                added_at: now,
            }),
        }
        Ok(())
    }

    /// Takes `variant`'s line out; whether the cart had one.
    pub fn remove_line(&mut self, variant: VariantId) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| l.variant_id != variant);
        self.lines.len() != before
    }

    /// Moves the cart to `currency`: each line priced in another currency remembers its price in
    /// `currency` now, where it has one (a line without one keeps its old price and reads as
    /// `unavailable`, `no_price`). Lines already priced in `currency` keep what they remember.
    pub fn rebase(&mut self, currency: Currency, facts: &CartFacts, now: DateTime<Utc>) {
        self.currency = currency;
        for line in self.lines.iter_mut().filter(|l| l.unit_price.currency != currency) {
            let offered = facts.of(line.variant_id).and_then(|f| offer(f, currency, facts.rates.as_ref(), now).ok());
            if let Some(offer) = offered {
                line.unit_price = offer.unit_price;
            }
        }
    }

    /// Merges a guest's cart into this one: the guest cart's currency and locale (the shopper's
    /// latest choice) are taken and this cart's lines priced in it ([`Cart::rebase`]); a variant in
    /// both adds up, within the line's limit; a variant only in the guest's cart is added while
    /// there is room for lines. Lines keep the prices they remember. The guest cart is remembered
    /// so that the same merge sent again is recognised.
    pub fn merge(&mut self, guest: &Cart, facts: &CartFacts, now: DateTime<Utc>) -> MergeReport {
        let mut report = MergeReport::default();
        self.locale = guest.locale.clone();
        if guest.currency != self.currency {
            self.rebase(guest.currency, facts, now);
        }
        for line in &guest.lines {
            let limit = facts.of(line.variant_id).map_or(MAX_LINE_QUANTITY, LineFacts::limit);
            let room = self.lines.len() < MAX_LINES;
            match self.lines.iter_mut().find(|l| l.variant_id == line.variant_id) {
                Some(own) => {
                    let wanted = own.quantity.saturating_add(line.quantity);
                    own.quantity = wanted.min(limit.max(own.quantity));
                    if own.quantity < wanted {
                        report.capped.push(line.variant_id);
                    }
                }
                None if room => {
                    let mut added = line.clone();
                    if added.quantity > limit {
                        added.quantity = limit;
                        report.capped.push(line.variant_id);
                    }
                    self.lines.push(added);
                }
                None => report.dropped.push(line.variant_id),
            }
        }
        self.merged_carts.retain(|id| *id != guest.id);
        self.merged_carts.push(guest.id);
        if self.merged_carts.len() > MAX_MERGED_CARTS {
            let extra = self.merged_carts.len() - MAX_MERGED_CARTS;
            self.merged_carts.drain(..extra);
        }
        report
    }
}

/// What a merge could not take whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct MergeReport {
    /// Variants whose quantities added up to more than the line's limit: the line holds the limit.
    pub capped: Vec<VariantId>,
    /// Variants of the guest's cart left out: the cart already held [`MAX_LINES`] lines.
    pub dropped: Vec<VariantId>,
}

/// Why a line's quantity could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRefusal {
    /// The variant is not on sale (or not in the cart's currency).
    Unavailable(UnavailableReason),
    /// The cart holds [`MAX_LINES`] lines already.
    TooManyLines,
    /// More than a line may hold: [`MAX_LINE_QUANTITY`], or the variant's `max_per_customer`.
    /// `available` is the stock, so the client can be told what is possible.
    OverLimit { max: u32, available: u32 },
    /// More than the vendor has available over its locations.
    OverStock { available: u32 },
}

/// What is known now about a line's variant, read for pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFacts {
    pub variant_id: VariantId,
    /// `None`: the product is gone.
    pub product: Option<Product>,
    /// `None`: the variant is gone.
    pub variant: Option<Variant>,
    /// `None`: the vendor is gone.
    pub vendor: Option<Vendor>,
    /// The product's title in the cart's locale (its translation there, else its own).
    pub title: Option<String>,
    /// Units available now, over every location of the vendor.
    pub available: u32,
    /// Units available now at each of the vendor's locations that hold the variant (what
    /// `available` sums; checkout allocates from them without reading the stock again).
    pub by_location: Vec<(LocationId, u32)>,
}

impl LineFacts {
    /// The most units the line may hold: [`MAX_LINE_QUANTITY`], or less where the vendor limits
    /// the variant per customer.
    pub fn limit(&self) -> u32 {
        let per_customer = self.variant.as_ref().and_then(|v| v.max_per_customer);
        per_customer.map_or(MAX_LINE_QUANTITY, |max| max.min(MAX_LINE_QUANTITY))
    }
}

/// Everything pricing a cart reads: each line's facts and the exchange rates in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CartFacts {
    pub lines: Vec<LineFacts>,
    pub rates: Option<ExchangeRates>,
}

impl CartFacts {
    pub fn of(&self, variant: VariantId) -> Option<&LineFacts> {
        self.lines.iter().find(|f| f.variant_id == variant)
    }
}

/// Why a line cannot be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnavailableReason {
    /// The product was deleted.
    ProductDeleted,
    /// The product is not published (a draft again, or archived).
    ProductUnpublished,
    /// The variant was deleted.
    VariantDeleted,
    /// The vendor is suspended (or gone).
    VendorUnavailable,
    /// The variant has no price in the cart's currency, and none that converts to it.
    NoPrice,
}

impl UnavailableReason {
    pub fn describe(self) -> &'static str {
        match self {
            UnavailableReason::ProductDeleted => "the product no longer exists",
            UnavailableReason::ProductUnpublished => "the product is not on sale",
            UnavailableReason::VariantDeleted => "the variant no longer exists",
            UnavailableReason::VendorUnavailable => "the vendor is not selling at the moment",
            UnavailableReason::NoPrice => "the variant has no price in the cart's currency",
        }
    }
}

/// Why a line can be bought in fewer units than it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReductionReason {
    /// Fewer units are available.
    Stock,
    /// The vendor limits the variant per customer below the line's quantity.
    Limit,
}

/// What changed about a line since it was added or last set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineChange {
    /// The unit price is not what the line was added at.
    PriceChanged { was: Money, now: Money },
    /// The line cannot be bought now.
    Unavailable { reason: UnavailableReason },
    /// Only `to` units can be bought now (0: none in stock).
    QuantityReduced { to: u32, reason: ReductionReason },
}

/// A line as the shopper sees it now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PricedLine {
    pub vendor_id: VendorId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    /// The variant's SKU (absent when the variant is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The product's title in the cart's locale (absent when the product is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Units in the cart.
    pub quantity: u32,
    /// Units that can be bought now: the quantity, less what stock or the vendor's limit allows
    /// (0 when the line is unavailable). Totals count these.
    pub purchasable_quantity: u32,
    /// The most units the line may hold (99, or the vendor's limit per customer).
    pub max_quantity: u32,
    /// The unit price now (absent when the line is unavailable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    /// True when the unit price was converted from the vendor's base currency.
    pub price_converted: bool,
    /// The unit price when the line was added or its quantity last set.
    pub added_unit_price: Money,
    /// Unit price × purchasable quantity (0 when unavailable).
    pub line_total: Money,
    /// Whether the line can be bought now (not unavailable, at least one unit purchasable).
    pub available: bool,
    /// What changed since the line was added or last set; empty when nothing did.
    pub changes: Vec<LineChange>,
    pub added_at: DateTime<Utc>,
}

/// A cart as the shopper sees it now: every line priced again, with what changed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PricedCart {
    pub id: CartId,
    /// The customer whose cart it is; absent for a guest's cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<UserId>,
    pub guest: bool,
    pub currency: Currency,
    #[schema(value_type = String, example = "en")]
    pub locale: Locale,
    pub lines: Vec<PricedLine>,
    /// Units that can be bought now, over every line.
    pub item_count: u32,
    /// The sum of the line totals, in the cart's currency.
    pub subtotal: Money,
    /// Whether any line changed since it was added or last set.
    pub has_changes: bool,
    /// Whether checkout can take the cart as it is: it has lines and none of them changed.
    pub ready_for_checkout: bool,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the cart will be gone unless it changes before (guests 7 days, customers 60 days after
    /// the last change).
    pub expires_at: DateTime<Utc>,
}

/// What a variant can be bought at now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Offer {
    vendor_id: VendorId,
    product_id: ProductId,
    unit_price: Money,
    converted: bool,
    limit: u32,
    available: u32,
}

/// The variant's price in `currency` at `now`: its own, else its base-currency price converted.
fn unit_price(
    variant: &Variant,
    base: Currency,
    currency: Currency,
    rates: Option<&ExchangeRates>,
    now: DateTime<Utc>,
) -> Option<(Money, bool)> {
    if let Some(own) = variant.prices.get(&currency) {
        return Some((Money::new(own.current(now), currency), false));
    }
    let from = variant.prices.get(&base)?;
    let converted = convert(Money::new(from.current(now), base), currency, rates?).ok()?.money;
    (1..=MAX_AMOUNT).contains(&converted.amount).then_some((converted, true))
}

/// Whether, and at what, the line's variant can be bought now in `currency`.
fn offer(
    facts: &LineFacts,
    currency: Currency,
    rates: Option<&ExchangeRates>,
    now: DateTime<Utc>,
) -> Result<Offer, UnavailableReason> {
    let product = facts.product.as_ref().ok_or(UnavailableReason::ProductDeleted)?;
    let variant = facts
        .variant
        .as_ref()
        .filter(|v| v.product_id == product.id && v.id == facts.variant_id)
        .ok_or(UnavailableReason::VariantDeleted)?;
    let vendor = facts
        .vendor
        .as_ref()
        .filter(|v| v.status == VendorStatus::Active && v.id == product.vendor_id)
        .ok_or(UnavailableReason::VendorUnavailable)?;
    if product.status != ProductStatus::Published {
        return Err(UnavailableReason::ProductUnpublished);
    }
    let (unit_price, converted) =
        unit_price(variant, vendor.base_currency, currency, rates, now).ok_or(UnavailableReason::NoPrice)?;
    Ok(Offer {
        vendor_id: product.vendor_id,
        product_id: product.id,
        unit_price,
        converted,
        limit: facts.limit(),
        available: facts.available,
    })
}

/// A line as it can be bought now.
fn price_line(
    line: &CartLine,
    facts: Option<&LineFacts>,
    cart: &Cart,
    rates: Option<&ExchangeRates>,
    now: DateTime<Utc>,
) -> PricedLine {
    let zero = Money::zero(cart.currency);
    let mut priced = PricedLine {
        vendor_id: line.vendor_id,
        product_id: line.product_id,
        variant_id: line.variant_id,
        sku: facts.and_then(|f| f.variant.as_ref()).map(|v| v.sku.clone()),
        title: facts.and_then(|f| f.title.clone()),
        quantity: line.quantity,
        purchasable_quantity: 0,
        max_quantity: facts.map_or(MAX_LINE_QUANTITY, LineFacts::limit),
        unit_price: None,
        price_converted: false,
        added_unit_price: line.unit_price,
        line_total: zero,
        available: false,
        changes: Vec::new(),
        added_at: line.added_at,
    };
    let offered = facts.ok_or(UnavailableReason::VariantDeleted).and_then(|f| offer(f, cart.currency, rates, now));
    let offer = match offered {
        Ok(offer) => offer,
        Err(reason) => {
            priced.changes.push(LineChange::Unavailable { reason });
            return priced;
        }
    };
    if offer.unit_price != line.unit_price {
        priced.changes.push(LineChange::PriceChanged { was: line.unit_price, now: offer.unit_price });
    }
    let purchasable = line.quantity.min(offer.limit).min(offer.available);
    if purchasable < line.quantity {
        // The tighter bound is the reason; stock when both bind equally.
        let reason = if offer.limit < line.quantity && offer.limit < offer.available {
            ReductionReason::Limit
        } else {
            ReductionReason::Stock
        };
        priced.changes.push(LineChange::QuantityReduced { to: purchasable, reason });
    }
    priced.purchasable_quantity = purchasable;
    priced.unit_price = Some(offer.unit_price);
    priced.price_converted = offer.converted;
    // Prices are at most MAX_AMOUNT and lines at most 99 units: far inside i64.
    priced.line_total = Money::new(offer.unit_price.amount.saturating_mul(i64::from(purchasable)), cart.currency);
    priced.available = purchasable > 0;
    priced
}

/// Prices `cart` as it can be bought at `now` with what `facts` says of its lines: each line's
/// unit price now, what can be bought of it, what changed since it was added or last set, and the
/// totals. A line `facts` says nothing of reads as unavailable (`variant_deleted`).
pub fn price(cart: &Cart, facts: &CartFacts, now: DateTime<Utc>) -> PricedCart {
    let lines: Vec<PricedLine> =
        cart.lines.iter().map(|l| price_line(l, facts.of(l.variant_id), cart, facts.rates.as_ref(), now)).collect();
    let subtotal = lines.iter().fold(0i64, |sum, l| sum.saturating_add(l.line_total.amount));
    let has_changes = lines.iter().any(|l| !l.changes.is_empty());
    PricedCart {
        id: cart.id,
        customer_id: cart.customer(),
        guest: cart.is_guest(),
        currency: cart.currency,
        locale: cart.locale.clone(),
        item_count: lines.iter().map(|l| l.purchasable_quantity).sum(),
        subtotal: Money::new(subtotal, cart.currency),
        ready_for_checkout: !lines.is_empty() && !has_changes,
        has_changes,
        lines,
        version: cart.version,
        created_at: cart.created_at,
        updated_at: cart.updated_at,
        expires_at: cart.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;
    use crate::catalog::TaxClass;
    use crate::ids::CategoryId;
    use crate::product::{Price, Sale};
    use crate::slug::Slug;

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn eur(amount: i64) -> Money {
        Money::new(amount, cur("EUR"))
    }

    fn now() -> DateTime<Utc> {
        "2026-11-30T12:00:00Z".parse().unwrap()
    }

    /// A published product of an active EUR vendor with one variant at `price` EUR cents, and
    /// `available` units in stock.
    fn on_sale(price: i64, available: u32) -> LineFacts {
        let vendor = Vendor {
            id: VendorId::generate(),
            name: "Acme".into(),
            description: None,
            status: VendorStatus::Active,
            status_reason: None,
            owner_id: UserId::generate(),
            base_currency: cur("EUR"),
            default_locale: Locale::parse("locale", "en").unwrap(),
            country: None,
            near_expiry_days: 7,
            invoicing: None,
            created_at: now(),
            updated_at: now(),
        };
        let product = Product {
            id: ProductId::generate(),
            vendor_id: vendor.id,
            category_id: CategoryId::generate(),
            status: ProductStatus::Published,
            locale: Locale::parse("locale", "en").unwrap(),
            title: "Jumper".into(),
            description: String::new(),
            slug: Slug::parse("slug", "jumper").unwrap(),
            brand: None,
            tags: Vec::new(),
            attributes: BTreeMap::new(),
            version: 1,
            created_at: now(),
            updated_at: now(),
            published_at: Some(now()),
        };
        let variant = Variant {
            id: VariantId::generate(),
            product_id: product.id,
            vendor_id: vendor.id,
            sku: "JUMPER-M".into(),
            options: BTreeMap::new(),
            gtin: None,
            weight_g: None,
            dimensions: None,
            tax_class: TaxClass::Standard,
            shelf_life_days: None,
            max_per_customer: None,
            prices: BTreeMap::from([(cur("EUR"), Price { amount: price, compare_at: None, sale: None })]),
            created_at: now(),
            updated_at: now(),
        };
        LineFacts {
            variant_id: variant.id,
            title: Some(product.title.clone()),
            product: Some(product),
            variant: Some(variant),
            vendor: Some(vendor),
            available,
            by_location: vec![(LocationId::generate(), available)],
        }
    }

    fn facts(lines: &[&LineFacts]) -> CartFacts {
        CartFacts { lines: lines.iter().map(|l| (*l).clone()).collect(), rates: None }
    }

    fn guest_cart() -> (Cart, String) {
        let token = "t0k3n-of-forty-three-characters-xxxxxxxxxx".to_string();
        let owner = CartOwner::Guest { token_hash: token_hash(&token) };
        (Cart::new(owner, cur("EUR"), Locale::parse("locale", "en").unwrap(), now()), token)
    }

    fn customer_cart(customer: UserId) -> Cart {
        Cart::new(CartOwner::Customer { customer_id: customer }, cur("EUR"), Locale::parse("l", "en").unwrap(), now())
    }

    /// A cart holding `quantity` of the facts' variant, added at `price`.
    fn holding(facts: &LineFacts, quantity: u32, price: i64) -> Cart {
        let mut cart = customer_cart(UserId::generate());
        let product = facts.product.as_ref().unwrap();
        cart.lines.push(CartLine {
            vendor_id: product.vendor_id,
            product_id: product.id,
            variant_id: facts.variant_id,
            quantity,
            unit_price: eur(price),
            added_at: now(),
        });
        cart
    }

    #[test]
    fn a_guest_cart_is_used_with_its_token_only_and_a_customer_cart_by_its_customer_only() {
        let (cart, token) = guest_cart();
        assert!(cart.may_use(None, Some(&token)));
        assert!(cart.may_use(Some(UserId::generate()), Some(&token)), "signed in with the token");
        assert!(!cart.may_use(None, None));
        assert!(!cart.may_use(None, Some("t0k3n-of-forty-three-characters-xxxxxxxxxy")));
        assert!(!cart.may_use(None, Some(&token_hash(&token))), "the hash is not the token");
        let ada = UserId::generate();
        let cart = customer_cart(ada);
        assert!(cart.may_use(Some(ada), None));
        assert!(!cart.may_use(Some(UserId::generate()), None));
        assert!(!cart.may_use(None, Some(&token)));
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn guests_carts_expire_after_seven_days_and_customers_after_sixty_from_the_last_change() {
        let (mut guest, _) = guest_cart();
        assert_eq!(guest.expires_at, now() + Duration::days(7));
        assert!(!guest.is_expired(now() + Duration::days(7) - Duration::seconds(1)));
        assert!(guest.is_expired(now() + Duration::days(7)));
        let later = now() + Duration::days(3) + Duration::milliseconds(1500);
        guest.touch(later);
        assert_eq!((guest.version, guest.updated_at), (2, later));
        assert_eq!(guest.expires_at, "2026-12-10T12:00:01Z".parse::<DateTime<Utc>>().unwrap(), "whole seconds");
        let customer = customer_cart(UserId::generate());
        assert_eq!(customer.expires_at, now() + Duration::days(60));
    }

    #[test]
    fn a_line_is_added_at_the_price_now_and_setting_it_again_takes_the_new_price() {
        let jumper = on_sale(4999, 10);
        let mut cart = customer_cart(UserId::generate());
        cart.set_line(jumper.variant_id, 2, &facts(&[&jumper]), now()).unwrap();
        assert_eq!(cart.lines.len(), 1);
        assert_eq!((cart.lines[0].quantity, cart.lines[0].unit_price), (2, eur(4999)));
        let priced = price(&cart, &facts(&[&jumper]), now());
        assert!(priced.ready_for_checkout && !priced.has_changes);
        assert_eq!((priced.subtotal, priced.item_count), (eur(9998), 2));
        assert_eq!(priced.lines[0].sku.as_deref(), Some("JUMPER-M"));

        let mut cheaper = jumper.clone();
        cheaper.variant.as_mut().unwrap().prices.get_mut(&cur("EUR")).unwrap().amount = 3999;
        let priced = price(&cart, &facts(&[&cheaper]), now());
        assert_eq!(priced.lines[0].changes, vec![LineChange::PriceChanged { was: eur(4999), now: eur(3999) }]);
        assert_eq!(priced.subtotal, eur(7998), "totals are at the price now");
        assert!(priced.has_changes && !priced.ready_for_checkout);

        cart.set_line(jumper.variant_id, 3, &facts(&[&cheaper]), now()).unwrap();
        assert_eq!(cart.lines.len(), 1, "the same variant is one line");
        assert_eq!((cart.lines[0].quantity, cart.lines[0].unit_price), (3, eur(3999)));
        assert!(price(&cart, &facts(&[&cheaper]), now()).lines[0].changes.is_empty());
    }

    #[test]
    fn a_running_sale_is_the_price_and_its_end_is_a_price_change() {
        let mut jumper = on_sale(4999, 10);
        let sale = Sale { amount: 2999, starts_at: now() - Duration::days(1), ends_at: now() + Duration::days(1) };
        jumper.variant.as_mut().unwrap().prices.get_mut(&cur("EUR")).unwrap().sale = Some(sale);
        let mut cart = customer_cart(UserId::generate());
        cart.set_line(jumper.variant_id, 1, &facts(&[&jumper]), now()).unwrap();
        assert_eq!(cart.lines[0].unit_price, eur(2999));
        let after = price(&cart, &facts(&[&jumper]), now() + Duration::days(2));
        assert_eq!(after.lines[0].changes, vec![LineChange::PriceChanged { was: eur(2999), now: eur(4999) }]);
    }

    #[test]
    fn a_missing_price_converts_from_the_vendors_base_currency_or_makes_the_line_unavailable() {
        let jumper = on_sale(2000, 10);
        let mut cart = customer_cart(UserId::generate());
        cart.currency = cur("USD");
        let mut known = facts(&[&jumper]);
        let refused = cart.set_line(jumper.variant_id, 1, &known, now());
        assert_eq!(refused, Err(LineRefusal::Unavailable(UnavailableReason::NoPrice)), "no rates, no conversion");
        let rates =
            ExchangeRates::new(cur("EUR"), BTreeMap::from([(cur("USD"), Decimal::from_str("1.0825").unwrap())]), now())
                .unwrap();
        known.rates = Some(rates);
        cart.set_line(jumper.variant_id, 1, &known, now()).unwrap();
        assert_eq!(cart.lines[0].unit_price, Money::new(2165, cur("USD")), "20.00 EUR × 1.0825, half away from zero");
        let priced = price(&cart, &known, now());
        assert!(priced.lines[0].price_converted && priced.lines[0].changes.is_empty());
        known.rates = None;
        let priced = price(&cart, &known, now());
        assert_eq!(priced.lines[0].changes, vec![LineChange::Unavailable { reason: UnavailableReason::NoPrice }]);
        assert_eq!((priced.lines[0].unit_price, priced.subtotal), (None, Money::zero(cur("USD"))));
    }

    #[test]
    fn an_unpublished_deleted_or_suspended_line_is_unavailable_and_counts_for_nothing() {
        let jumper = on_sale(4999, 10);
        let socks = on_sale(999, 10);
        let cart = {
            let mut cart = holding(&jumper, 1, 4999);
            cart.set_line(socks.variant_id, 2, &facts(&[&socks]), now()).unwrap();
            cart
        };
        let reason_with = |change: &dyn Fn(&mut LineFacts)| {
            let mut changed = jumper.clone();
            change(&mut changed);
            let priced = price(&cart, &facts(&[&changed, &socks]), now());
            assert_eq!(priced.subtotal, eur(1998), "only the socks count");
            assert!(!priced.lines[0].available && priced.lines[0].purchasable_quantity == 0);
            match priced.lines[0].changes.as_slice() {
                [LineChange::Unavailable { reason }] => *reason,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            reason_with(&|f| f.product.as_mut().unwrap().status = ProductStatus::Draft),
            UnavailableReason::ProductUnpublished
        );
        assert_eq!(
            reason_with(&|f| f.product.as_mut().unwrap().status = ProductStatus::Archived),
            UnavailableReason::ProductUnpublished
        );
        assert_eq!(reason_with(&|f| f.product = None), UnavailableReason::ProductDeleted);
        assert_eq!(reason_with(&|f| f.variant = None), UnavailableReason::VariantDeleted);
        assert_eq!(
            reason_with(&|f| f.vendor.as_mut().unwrap().status = VendorStatus::Suspended),
            UnavailableReason::VendorUnavailable
        );
        assert_eq!(
            reason_with(&|f| {
                f.variant.as_mut().unwrap().prices.clear();
            }),
            UnavailableReason::NoPrice
        );
        // Facts that say nothing of a line: it reads as gone.
        let priced = price(&cart, &facts(&[&socks]), now());
        assert_eq!(
            priced.lines[0].changes,
            vec![LineChange::Unavailable { reason: UnavailableReason::VariantDeleted }]
        );
    }

    #[test]
    fn a_stock_drop_or_a_lower_limit_reduces_what_can_be_bought_and_says_why() {
        let jumper = on_sale(1000, 10);
        let cart = holding(&jumper, 5, 1000);
        let with = |available: u32, limit: Option<u32>| {
            let mut f = jumper.clone();
            f.available = available;
            f.variant.as_mut().unwrap().max_per_customer = limit;
            price(&cart, &facts(&[&f]), now())
        };
        let low = with(3, None);
        assert_eq!(low.lines[0].changes, vec![LineChange::QuantityReduced { to: 3, reason: ReductionReason::Stock }]);
        assert_eq!((low.lines[0].purchasable_quantity, low.subtotal, low.item_count), (3, eur(3000), 3));
        let limited = with(10, Some(2));
        assert_eq!(
            limited.lines[0].changes,
            vec![LineChange::QuantityReduced { to: 2, reason: ReductionReason::Limit }]
        );
        assert_eq!(limited.lines[0].max_quantity, 2);
        let both = with(1, Some(2));
        assert_eq!(both.lines[0].changes, vec![LineChange::QuantityReduced { to: 1, reason: ReductionReason::Stock }]);
        let none = with(0, None);
        assert_eq!(none.lines[0].changes, vec![LineChange::QuantityReduced { to: 0, reason: ReductionReason::Stock }]);
        assert!(!none.lines[0].available && !none.ready_for_checkout);
        assert!(with(5, Some(5)).lines[0].changes.is_empty(), "exactly enough is no change");
    }

    #[test]
    fn setting_a_line_refuses_what_is_over_the_limit_the_stock_or_the_line_count_and_changes_nothing() {
        let mut jumper = on_sale(1000, 4);
        let mut cart = customer_cart(UserId::generate());
        let known = facts(&[&jumper]);
        assert_eq!(
            cart.set_line(jumper.variant_id, 100, &known, now()),
            Err(LineRefusal::OverLimit { max: 99, available: 4 })
        );
        assert_eq!(cart.set_line(jumper.variant_id, 5, &known, now()), Err(LineRefusal::OverStock { available: 4 }));
        jumper.variant.as_mut().unwrap().max_per_customer = Some(2);
        let limited = facts(&[&jumper]);
        assert_eq!(
            cart.set_line(jumper.variant_id, 3, &limited, now()),
            Err(LineRefusal::OverLimit { max: 2, available: 4 })
        );
        assert!(cart.lines.is_empty(), "nothing changed");
        cart.set_line(jumper.variant_id, 2, &limited, now()).unwrap();

        let mut many = vec![jumper.clone()];
        for _ in 1..MAX_LINES {
            let other = on_sale(100, 5);
            cart.set_line(other.variant_id, 1, &facts(&[&other]), now()).unwrap();
            many.push(other);
        }
        assert_eq!(cart.lines.len(), MAX_LINES);
        let one_more = on_sale(100, 5);
        assert_eq!(cart.set_line(one_more.variant_id, 1, &facts(&[&one_more]), now()), Err(LineRefusal::TooManyLines));
        // An existing line can still be set at the cap.
        cart.set_line(jumper.variant_id, 1, &limited, now()).unwrap();
        let mut gone = jumper.clone();
        gone.product.as_mut().unwrap().status = ProductStatus::Archived;
        assert_eq!(
            cart.set_line(jumper.variant_id, 1, &facts(&[&gone]), now()),
            Err(LineRefusal::Unavailable(UnavailableReason::ProductUnpublished))
        );
        assert!(cart.remove_line(jumper.variant_id));
        assert!(!cart.remove_line(jumper.variant_id));
        assert_eq!(cart.lines.len(), MAX_LINES - 1);
    }

    #[test]
    fn merging_adds_quantities_within_limits_takes_the_guests_locale_and_remembers_the_guest_cart() {
        let jumper = on_sale(1000, 100);
        let mut socks = on_sale(200, 100);
        socks.variant.as_mut().unwrap().max_per_customer = Some(3);
        let hat = on_sale(500, 100);
        let known = facts(&[&jumper, &socks, &hat]);
        let mut mine = customer_cart(UserId::generate());
        mine.set_line(jumper.variant_id, 98, &known, now()).unwrap();
        mine.set_line(socks.variant_id, 2, &known, now()).unwrap();
        let (mut guest, _) = guest_cart();
        guest.locale = Locale::parse("locale", "fr").unwrap();
        guest.set_line(jumper.variant_id, 5, &known, now()).unwrap();
        guest.set_line(socks.variant_id, 1, &known, now()).unwrap();
        guest.set_line(hat.variant_id, 1, &known, now()).unwrap();
        let report = mine.merge(&guest, &known, now());
        let quantities: Vec<u32> = mine.lines.iter().map(|l| l.quantity).collect();
        assert_eq!(quantities, vec![99, 3, 1], "98 + 5 capped at 99; 2 + 1 within 3; the hat added");
        assert_eq!(report, MergeReport { capped: vec![jumper.variant_id], dropped: vec![] });
        assert_eq!(mine.locale.as_str(), "fr");
        assert_eq!(mine.merged_carts, vec![guest.id]);
        // Merged again (a retry): remembered once.
        mine.merge(&guest, &known, now());
        assert_eq!(mine.merged_carts, vec![guest.id]);
    }

    #[test]
    fn merging_into_a_full_cart_drops_the_guests_new_lines_and_keeps_what_fits() {
        let mut mine = customer_cart(UserId::generate());
        let mut all = Vec::new();
        for _ in 0..MAX_LINES {
            let f = on_sale(100, 10);
            mine.set_line(f.variant_id, 1, &facts(&[&f]), now()).unwrap();
            all.push(f);
        }
        let extra = on_sale(100, 10);
        let (mut guest, _) = guest_cart();
        guest.set_line(extra.variant_id, 1, &facts(&[&extra]), now()).unwrap();
        guest.set_line(all[0].variant_id, 2, &facts(&[&all[0]]), now()).unwrap();
        all.push(extra.clone());
        let report = mine.merge(&guest, &CartFacts { lines: all, rates: None }, now());
        assert_eq!(report.dropped, vec![extra.variant_id]);
        assert_eq!(mine.lines.len(), MAX_LINES);
        assert_eq!(mine.lines[0].quantity, 3);
    }

    #[test]
    fn a_new_currency_reprices_the_lines_that_have_a_price_in_it() {
        let mut jumper = on_sale(1000, 10);
        jumper.variant.as_mut().unwrap().prices.insert(cur("GBP"), Price { amount: 900, compare_at: None, sale: None });
        let socks = on_sale(200, 10);
        let known = facts(&[&jumper, &socks]);
        let mut cart = customer_cart(UserId::generate());
        cart.set_line(jumper.variant_id, 1, &known, now()).unwrap();
        cart.set_line(socks.variant_id, 1, &known, now()).unwrap();
        cart.rebase(cur("GBP"), &known, now());
        assert_eq!(cart.currency, cur("GBP"));
        assert_eq!(cart.lines[0].unit_price, Money::new(900, cur("GBP")));
        assert_eq!(cart.lines[1].unit_price, eur(200), "no GBP price and no rates: kept");
        let priced = price(&cart, &known, now());
        assert!(priced.lines[0].changes.is_empty());
        assert_eq!(priced.lines[1].changes, vec![LineChange::Unavailable { reason: UnavailableReason::NoPrice }]);
        assert_eq!(priced.subtotal, Money::new(900, cur("GBP")));
    }

    #[test]
    fn a_cart_reads_back_as_stored_with_its_expiry_in_epoch_seconds() {
        let jumper = on_sale(1000, 10);
        let mut cart = holding(&jumper, 1, 1000);
        cart.merged_carts.push(CartId::generate());
        let json = serde_json::to_value(&cart).unwrap();
        assert_eq!(json["expires_at"], serde_json::json!(cart.expires_at.timestamp()));
        assert_eq!(json["owner"]["kind"], "customer");
        let back: Cart = serde_json::from_value(json).unwrap();
        assert_eq!(back, cart);
        let priced = serde_json::to_value(price(&cart, &facts(&[&jumper]), now())).unwrap();
        assert_eq!(priced["lines"][0]["changes"], serde_json::json!([]));
        assert_eq!(priced["guest"], false);
        let changed = LineChange::QuantityReduced { to: 2, reason: ReductionReason::Limit };
        assert_eq!(
            serde_json::to_value(changed).unwrap(),
            serde_json::json!({"kind": "quantity_reduced", "to": 2, "reason": "limit"})
        );
    }
}
