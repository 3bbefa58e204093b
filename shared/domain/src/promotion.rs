//! Coupons: a code a shopper enters at checkout and the promotion behind it, the platform's or one
//! vendor's. The rules here are pure: what an admin or a vendor may create, and what a coupon takes
//! off a cart. How often a coupon has been used is counted by the store under concurrency; here
//! [`may_use`] only compares the counts it is given with the coupon's limits.
//!
//! # Who a customer is
//! Per-customer limits count a signed-in customer by their user id and a guest by the contact
//! email of the checkout, lower-cased ([`customer_key`]): every caller that counts or reads a
//! customer's uses must name the customer the same way.
//!
//! # Exact amounts
//! Money is integer minor units and a percentage has at most two decimal places, so every discount
//! is a fraction of integers worked out exactly. The discount of the cart is rounded once (half
//! away from zero) and then shared out over the eligible lines by the largest remainder, so the
//! lines always add up to the total shown: three lines of 3.33 at 10% take off 1.00 in all
//! (0.34 + 0.33 + 0.33), not three times 0.33.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{CouponId, UserId, VendorId};
use crate::values::Email;
use crate::{Currency, FieldError, Money};

/// The shortest code a coupon may have.
pub const MIN_CODE_LEN: usize = 3;
/// The longest code a coupon may have.
pub const MAX_CODE_LEN: usize = 32;
/// The most decimal places a percentage may have.
pub const MAX_PERCENT_DECIMALS: u32 = 2;
/// The highest usage limit, in all or per customer (well within what every client's integers hold).
pub const MAX_LIMIT: u32 = 1_000_000_000;

/// Whose items a coupon discounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponScope {
    /// The platform's coupon: every line of the cart.
    Platform,
    /// A vendor's coupon: that vendor's lines only.
    Vendor { vendor_id: VendorId },
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", from = "KindAsSent")]
pub enum CouponKind {
    /// A share of the eligible lines: more than 0, at most 100, at most two decimal places.
    Percentage {
        /// Written as a decimal string so no digit is lost.
        percent: Decimal,
    },
    /// An amount off the eligible lines, never more than they come to.
    FixedAmount { amount: Money },
    /// The eligible vendors ship for free.
    FreeShipping,
}

impl utoipa::PartialSchema for CouponKind {
    /// One object per kind, each with exactly its own fields (as the parser takes them).
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let kind = |name: &str, description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description))
                .property("type", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name])))
                .required("type")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        let percent = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A decimal string, so no digit is lost: more than 0, at most 100, at most two decimal places.",
            ))
            .pattern(Some(r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"))
            .examples([serde_json::json!("12.5")]);
        OneOfBuilder::new()
            .description(Some("What a coupon takes off."))
            .item(kind("percentage", "A share of the eligible lines.").property("percent", percent).required("percent"))
            .item(
                kind("fixed_amount", "An amount off the eligible lines, never more than they come to.")
                    .property("amount", utoipa::openapi::Ref::from_schema_name("Money"))
                    .required("amount"),
            )
            .item(kind("free_shipping", "The eligible vendors ship for free."))
            .into()
    }
}

impl ToSchema for CouponKind {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push(("Money".into(), <Money as utoipa::PartialSchema>::schema()));
        <Money as ToSchema>::schemas(schemas);
    }
}

/// [`CouponKind`] as read: an unknown field is refused, also beside `free_shipping` (serde lets a
/// unit variant of an internally tagged enum ignore them, where a variant with fields refuses).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum KindAsSent {
    Percentage { percent: Decimal },
    FixedAmount { amount: Money },
    FreeShipping {},
}

impl From<KindAsSent> for CouponKind {
    fn from(kind: KindAsSent) -> Self {
        match kind {
            KindAsSent::Percentage { percent } => CouponKind::Percentage { percent },
            KindAsSent::FixedAmount { amount } => CouponKind::FixedAmount { amount },
            KindAsSent::FreeShipping {} => CouponKind::FreeShipping,
        }
    }
}

/// A coupon as stored: checked by [`CouponInput::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Coupon {
    pub id: CouponId,
    /// Upper-case; shoppers may type it in any case.
    #[schema(example = "SUMMER-10", pattern = "^[A-Z0-9-]{3,32}$")]
    pub code: String,
    pub scope: CouponScope,
    pub kind: CouponKind,
    /// The eligible lines must come to at least this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_spend: Option<Money>,
    /// Valid from this moment on.
    pub starts_at: DateTime<Utc>,
    /// Valid until just before this moment; open-ended when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// How many orders may use it in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub usage_limit: Option<u32>,
    /// How many orders of one customer may use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub per_customer_limit: Option<u32>,
    /// Whether shoppers may use it: a deactivated coupon is refused (`inactive`) until it is
    /// reactivated.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// How many orders are using it: counted when a checkout commits, given back when its order
    /// expires unpaid or is cancelled before payment.
    #[serde(default)]
    pub used: u32,
    /// Moves by one on every change of the coupon (not on uses).
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn active_by_default() -> bool {
    true
}

/// A coupon as an admin (platform coupons) or a vendor (their own) sends it. The scope is not part
/// of the body: it follows from who creates the coupon, so a vendor cannot create a platform one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CouponInput {
    /// 3–32 letters, digits and '-', any case (stored upper-case).
    #[schema(example = "summer-10")]
    pub code: String,
    pub kind: CouponKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_spend: Option<Money>,
    pub starts_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer_limit: Option<u32>,
}

/// Upper-cases and checks a coupon code, as typed by an admin, a vendor or a shopper.
pub fn coupon_code(field: &str, raw: &str) -> Result<String, FieldError> {
    let code = raw.trim();
    let allowed = code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !allowed || !(MIN_CODE_LEN..=MAX_CODE_LEN).contains(&code.len()) {
        return Err(FieldError::new(
            field,
            format!("must be {MIN_CODE_LEN} to {MAX_CODE_LEN} characters of letters A-Z, digits 0-9 and '-'"),
        ));
    }
    Ok(code.to_ascii_uppercase())
}

/// How per-customer limits name a customer: the user id of a signed-in customer, the checkout's
/// contact email (lower-cased, as [`Email`] holds it) of a guest. A user id has no `@`, so the two
/// never meet.
pub fn customer_key(user: Option<UserId>, email: &Email) -> String {
    match user {
        Some(user) => user.to_string(),
        None => email.as_str().to_string(),
    }
}

/// The checks a coupon's validity window and limits must pass, on creation and on every change:
/// an end after the start (else `window_field` is named), limits of at least 1, and a customer's
/// limit within the total (else `limits_field`).
fn check_window_and_limits(
    (starts_at, ends_at): (DateTime<Utc>, Option<DateTime<Utc>>),
    (usage_limit, per_customer_limit): (Option<u32>, Option<u32>),
    window_field: &str,
    limits_field: &str,
) -> Result<(), FieldError> {
    if let Some(ends_at) = ends_at
        && ends_at <= starts_at
    {
        return Err(FieldError::new(window_field, "the end (ends_at) must be after the start (starts_at)"));
    }
    for (field, limit) in [("usage_limit", usage_limit), ("per_customer_limit", per_customer_limit)] {
        if limit.is_some_and(|l| !(1..=MAX_LIMIT).contains(&l)) {
            return Err(FieldError::new(field, format!("must be 1 to {MAX_LIMIT} (no value means no limit)")));
        }
    }
    if let (Some(usage_limit), Some(per_customer_limit)) = (usage_limit, per_customer_limit)
        && per_customer_limit > usage_limit
    {
        return Err(FieldError::new(limits_field, "per_customer_limit must not be more than usage_limit"));
    }
    Ok(())
}

impl CouponInput {
    /// Checks every field and makes the coupon `id` of `scope`, made at `now` (active, unused, at
    /// version 1); the first invalid field is named.
    pub fn check(&self, id: CouponId, scope: CouponScope, now: DateTime<Utc>) -> Result<Coupon, FieldError> {
        let code = coupon_code("code", &self.code)?;
        let kind = match self.kind {
            CouponKind::Percentage { percent } => {
                let percent = percent.normalize();
                if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
                    return Err(FieldError::new("kind.percent", "must be more than 0 and at most 100"));
                }
                if percent.scale() > MAX_PERCENT_DECIMALS {
                    return Err(FieldError::new(
                        "kind.percent",
                        format!("must have at most {MAX_PERCENT_DECIMALS} decimal places"),
                    ));
                }
                CouponKind::Percentage { percent }
            }
            CouponKind::FixedAmount { amount } if amount.amount <= 0 => {
                return Err(FieldError::new("kind.amount", "must be more than zero"));
            }
            kind => kind,
        };
        if let Some(minimum) = self.minimum_spend {
            if minimum.amount <= 0 {
                return Err(FieldError::new("minimum_spend", "must be more than zero (leave it out for no minimum)"));
            }
            if let CouponKind::FixedAmount { amount } = kind
                && amount.currency != minimum.currency
            {
                return Err(FieldError::new(
                    "minimum_spend",
                    format!("must be in {}, the currency of the amount off", amount.currency),
                ));
            }
        }
        check_window_and_limits(
            (self.starts_at, self.ends_at),
            (self.usage_limit, self.per_customer_limit),
            "ends_at",
            "per_customer_limit",
        )?;
        Ok(Coupon {
            id,
            code,
            scope,
            kind,
            minimum_spend: self.minimum_spend,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            usage_limit: self.usage_limit,
            per_customer_limit: self.per_customer_limit,
            active: true,
            used: 0,
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }
}

/// What may change of a coupon once it exists: whether it is active, its validity window and its
/// limits (its code, scope and what it takes off stay as shoppers were told). `None` leaves a field
/// as it is; `Some(None)` removes an optional one (no end, no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CouponChange {
    pub active: Option<bool>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub usage_limit: Option<Option<u32>>,
    pub per_customer_limit: Option<Option<u32>>,
}

impl CouponChange {
    /// What can be told of a change without the coupon: limits of at least 1, a customer's limit
    /// within the total and an end after the start when both are sent. [`Coupon::amended`]
    /// checks the rest against the coupon.
    pub fn check(&self) -> Result<(), FieldError> {
        let window = match (self.starts_at, self.ends_at.flatten()) {
            (Some(starts_at), Some(ends_at)) => (starts_at, Some(ends_at)),
            _ => (DateTime::<Utc>::MIN_UTC, None),
        };
        let limits = (self.usage_limit.flatten(), self.per_customer_limit.flatten());
        check_window_and_limits(window, limits, "ends_at", "per_customer_limit")
    }
}

impl Coupon {
    /// The coupon with `change` applied, checked as a new one is, and never limited below the
    /// uses it has already (`used`): the first invalid field is named (`ends_at`, or `starts_at`
    /// when only the start moved past the end). The same coupon when nothing changes; otherwise at
    /// the next version, changed at `now`.
    pub fn amended(&self, change: &CouponChange, now: DateTime<Utc>) -> Result<Coupon, FieldError> {
        let mut after = self.clone();
        after.active = change.active.unwrap_or(after.active);
        after.starts_at = change.starts_at.unwrap_or(after.starts_at);
        after.ends_at = change.ends_at.unwrap_or(after.ends_at);
        after.usage_limit = change.usage_limit.unwrap_or(after.usage_limit);
        after.per_customer_limit = change.per_customer_limit.unwrap_or(after.per_customer_limit);
        let window = if change.ends_at.is_none() && change.starts_at.is_some() { "starts_at" } else { "ends_at" };
        let limits = if change.per_customer_limit.is_some() { "per_customer_limit" } else { "usage_limit" };
        check_window_and_limits(
            (after.starts_at, after.ends_at),
            (after.usage_limit, after.per_customer_limit),
            window,
            limits,
        )?;
        if let Some(limit) = after.usage_limit
            && limit < self.used
        {
            return Err(FieldError::new(
                "usage_limit",
                format!("must be at least {}, the number of orders that have used this coupon", self.used),
            ));
        }
        if after != *self {
            after.version = self.version + 1;
            after.updated_at = now;
        }
        Ok(after)
    }
}

/// One line of a cart as a coupon sees it. `L` is whatever names the line to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartLine<L> {
    pub id: L,
    pub vendor: VendorId,
    /// The line's total after its price, before tax (never negative; a negative one counts as 0).
    pub amount: Money,
}

/// What a coupon takes off one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineDiscount<L> {
    pub line: L,
    pub amount: Money,
}

/// The shipping a coupon waives for one vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingWaiver {
    pub vendor_id: VendorId,
    pub amount: Money,
}

/// What a coupon takes off a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Discount<L> {
    /// Every eligible line in cart order, with its share (possibly zero); empty for free shipping.
    pub per_line: Vec<LineDiscount<L>>,
    /// The eligible vendors' shipping, now zero; empty unless the coupon is free shipping.
    pub shipping_waived: Vec<ShippingWaiver>,
    /// Everything taken off: the lines' shares and the shipping waived.
    pub total: Money,
}

/// Why a coupon cannot be used. Each has a machine code ([`CouponRefusal::code`]) and a message
/// for the shopper (its `Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponRefusal {
    /// The coupon was deactivated.
    Inactive,
    /// Before the coupon's start.
    NotStarted { starts_at: DateTime<Utc> },
    /// At or after the coupon's end.
    Expired { ended_at: DateTime<Utc> },
    /// The eligible lines come to less than the minimum spend.
    MinimumNotMet { needed: Money, have: Money },
    /// The coupon's amounts are in another currency than the cart.
    WrongCurrency { coupon: Currency, cart: Currency },
    /// No line of the cart is one the coupon covers.
    NothingEligible,
    /// The coupon has been used as often as it may be.
    UsageLimitReached,
    /// This customer has used the coupon as often as one customer may.
    CustomerLimitReached,
    /// The cart's amounts do not fit in minor units.
    OutOfRange,
}

impl CouponRefusal {
    /// The machine-readable code, stable for clients.
    pub fn code(&self) -> &'static str {
        match self {
            CouponRefusal::Inactive => "inactive",
            CouponRefusal::NotStarted { .. } => "not_started",
            CouponRefusal::Expired { .. } => "expired",
            CouponRefusal::MinimumNotMet { .. } => "minimum_not_met",
            CouponRefusal::WrongCurrency { .. } => "wrong_currency",
            CouponRefusal::NothingEligible => "nothing_eligible",
            CouponRefusal::UsageLimitReached => "usage_limit_reached",
            CouponRefusal::CustomerLimitReached => "customer_limit_reached",
            CouponRefusal::OutOfRange => "out_of_range",
        }
    }
}

impl fmt::Display for CouponRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CouponRefusal::Inactive => f.write_str("this coupon is not active"),
            CouponRefusal::NotStarted { starts_at } => {
                write!(f, "this coupon can be used from {}", starts_at.format("%Y-%m-%d %H:%M UTC"))
            }
            CouponRefusal::Expired { ended_at } => {
                write!(f, "this coupon expired on {}", ended_at.format("%Y-%m-%d %H:%M UTC"))
            }
            CouponRefusal::MinimumNotMet { needed, have } => {
                write!(f, "this coupon needs a spend of at least {needed} on the items it covers; they come to {have}")
            }
            CouponRefusal::WrongCurrency { coupon, cart } => {
                write!(f, "this coupon is for carts in {coupon}; this cart is in {cart}")
            }
            CouponRefusal::NothingEligible => f.write_str("this coupon covers none of the items in the cart"),
            CouponRefusal::UsageLimitReached => f.write_str("this coupon has been used as often as it may be"),
            CouponRefusal::CustomerLimitReached => f.write_str("you have used this coupon as often as you may"),
            CouponRefusal::OutOfRange => f.write_str("the cart's total is out of range"),
        }
    }
}

impl std::error::Error for CouponRefusal {}

impl Coupon {
    /// Whether the coupon covers a line of `vendor`.
    pub fn covers(&self, vendor: VendorId) -> bool {
        match self.scope {
            CouponScope::Platform => true,
            CouponScope::Vendor { vendor_id } => vendor_id == vendor,
        }
    }
}

/// Whether the coupon may be used once more, given how often it has been used in all and by this
/// customer (the store counts both and makes the use atomic).
pub fn may_use(coupon: &Coupon, used_total: u32, used_by_customer: u32) -> Result<(), CouponRefusal> {
    if coupon.usage_limit.is_some_and(|limit| used_total >= limit) {
        return Err(CouponRefusal::UsageLimitReached);
    }
    if coupon.per_customer_limit.is_some_and(|limit| used_by_customer >= limit) {
        return Err(CouponRefusal::CustomerLimitReached);
    }
    Ok(())
}

/// What `coupon` takes off `cart` at `now`, with `shipping` the shipping each vendor charges.
///
/// The eligible lines are every line (a platform coupon) or the vendor's (a vendor coupon). The
/// coupon is refused, in this order, when it is not active, before its start, from its end, when no line is eligible, when
/// its amounts or the shipping are in another currency than the eligible lines, and when those
/// lines come to less than its minimum spend.
pub fn apply<L: Copy>(
    coupon: &Coupon,
    cart: &[CartLine<L>],
    shipping: &[(VendorId, Money)],
    now: DateTime<Utc>,
) -> Result<Discount<L>, CouponRefusal> {
    if !coupon.active {
        return Err(CouponRefusal::Inactive);
    }
    if now < coupon.starts_at {
        return Err(CouponRefusal::NotStarted { starts_at: coupon.starts_at });
    }
    if let Some(ended_at) = coupon.ends_at
        && now >= ended_at
    {
        return Err(CouponRefusal::Expired { ended_at });
    }
    let eligible: Vec<&CartLine<L>> = cart.iter().filter(|line| coupon.covers(line.vendor)).collect();
    let Some(first) = eligible.first() else {
        return Err(CouponRefusal::NothingEligible);
    };
    let currency = first.amount.currency;
    let wrong =
        |other: Currency| (other != currency).then_some(CouponRefusal::WrongCurrency { coupon: other, cart: currency });
    if let Some(refusal) = eligible.iter().find_map(|line| wrong(line.amount.currency)) {
        // A cart mixing currencies: name the line's currency against the first line's.
        return Err(refusal);
    }
    if let CouponKind::FixedAmount { amount } = coupon.kind
        && let Some(refusal) = wrong(amount.currency)
    {
        return Err(refusal);
    }
    if let Some(refusal) = coupon.minimum_spend.and_then(|m| wrong(m.currency)) {
        return Err(refusal);
    }
    let amounts: Vec<i128> = eligible.iter().map(|line| i128::from(line.amount.amount.max(0))).collect();
    let subtotal: i128 = amounts.iter().sum();
    let money =
        |amount: i128| i64::try_from(amount).map(|a| Money::new(a, currency)).map_err(|_| CouponRefusal::OutOfRange);
    if let Some(needed) = coupon.minimum_spend
        && subtotal < i128::from(needed.amount)
    {
        return Err(CouponRefusal::MinimumNotMet { needed, have: money(subtotal)? });
    }
    let shares = match coupon.kind {
        CouponKind::Percentage { percent } => {
            let basis_points = basis_points(percent);
            let numerators: Vec<i128> = amounts.iter().map(|a| a * basis_points).collect();
            let total = round_half_away(subtotal * basis_points, 10_000);
            largest_remainder(total, &numerators, 10_000)
        }
        CouponKind::FixedAmount { amount } => {
            let total = i128::from(amount.amount.max(0)).min(subtotal);
            let numerators: Vec<i128> = amounts.iter().map(|a| a * total).collect();
            largest_remainder(total, &numerators, subtotal)
        }
        CouponKind::FreeShipping => Vec::new(),
    };
    let per_line = eligible
        .iter()
        .zip(&shares)
        .map(|(line, share)| Ok(LineDiscount { line: line.id, amount: money(*share)? }))
        .collect::<Result<Vec<_>, CouponRefusal>>()?;
    let mut shipping_waived = Vec::new();
    if coupon.kind == CouponKind::FreeShipping {
        for (vendor_id, amount) in shipping {
            if amount.amount <= 0 || !eligible.iter().any(|line| line.vendor == *vendor_id) {
                continue;
            }
            if let Some(refusal) = wrong(amount.currency) {
                return Err(refusal);
            }
            shipping_waived.push(ShippingWaiver { vendor_id: *vendor_id, amount: *amount });
        }
    }
    let waived: i128 = shipping_waived.iter().map(|w| i128::from(w.amount.amount)).sum();
    let total = money(shares.iter().sum::<i128>() + waived)?;
    Ok(Discount { per_line, shipping_waived, total })
}

/// A percentage in hundredths of a percent (12.5% is 1250), clamped to 0..=100%. Checked coupons
/// have at most two decimal places; a stored one with more is rounded to two.
fn basis_points(percent: Decimal) -> i128 {
    let percent = percent.round_dp(MAX_PERCENT_DECIMALS).clamp(Decimal::ZERO, Decimal::ONE_HUNDRED);
    percent.mantissa() * 10i128.pow(MAX_PERCENT_DECIMALS - percent.scale())
}

/// `numerator / denominator` rounded half away from zero, for a non-negative numerator and a
/// positive denominator.
fn round_half_away(numerator: i128, denominator: i128) -> i128 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// Shares `total` out over parts whose exact values are `numerators[i] / denominator` (summing to
/// about `total`): each part gets its value rounded down, and the units still missing go one each
/// to the parts with the largest remainders, ties to the earlier part. The shares add up to
/// `total` exactly when it lies between the rounded-down sum and that sum plus the number of parts.
fn largest_remainder(total: i128, numerators: &[i128], denominator: i128) -> Vec<i128> {
    if denominator <= 0 {
        return vec![0; numerators.len()];
    }
    let mut shares: Vec<i128> = numerators.iter().map(|n| n / denominator).collect();
    let mut order: Vec<usize> = (0..numerators.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(numerators[i] % denominator), i));
    let missing = usize::try_from(total - shares.iter().sum::<i128>()).unwrap_or(0);
    for &i in order.iter().take(missing) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::TimeZone;

    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse("currency", code).unwrap()
    }

    fn eur(amount: i64) -> Money {
        Money::new(amount, cur("EUR"))
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, 12, 0, 0).unwrap()
    }

    fn input(kind: CouponKind) -> CouponInput {
        CouponInput {
            code: " summer-10 ".into(),
            kind,
            minimum_spend: None,
            starts_at: at(1),
            ends_at: Some(at(30)),
            usage_limit: None,
            per_customer_limit: None,
        }
    }

    fn coupon(kind: CouponKind) -> Coupon {
        input(kind).check(CouponId::generate(), CouponScope::Platform, at(1)).unwrap()
    }

    fn percent(p: &str) -> CouponKind {
        CouponKind::Percentage { percent: dec(p) }
    }

    fn line(id: u32, vendor: VendorId, amount: Money) -> CartLine<u32> {
        CartLine { id, vendor, amount }
    }

    fn shares(discount: &Discount<u32>) -> Vec<(u32, i64)> {
        discount.per_line.iter().map(|d| (d.line, d.amount.amount)).collect()
    }

    #[test]
    fn a_valid_coupon_is_accepted_with_its_code_upper_cased() {
        let c = coupon(percent("12.50"));
        assert_eq!(c.code, "SUMMER-10");
        assert_eq!(c.kind, percent("12.5"));
        assert_eq!(coupon_code("code", "ab-9").unwrap(), "AB-9");
        for bad in ["ab", "a b c", "ÄBC", "SUMMER_10", "abc!", &"A".repeat(33), ""] {
            assert_eq!(coupon_code("code", bad).unwrap_err().field, "code", "{bad:?}");
        }
        assert!(coupon_code("code", &"A".repeat(32)).is_ok());
    }

    #[test]
    fn each_invalid_field_is_refused_by_its_name() {
        let check = |i: CouponInput| i.check(CouponId::generate(), CouponScope::Platform, at(1)).unwrap_err().field;
        assert_eq!(check(CouponInput { code: "x".into(), ..input(percent("10")) }), "code");
        for bad in ["0", "-5", "100.01", "12.345"] {
            assert_eq!(check(input(percent(bad))), "kind.percent", "{bad}");
        }
        assert!(input(percent("100")).check(CouponId::generate(), CouponScope::Platform, at(1)).is_ok());
        assert!(input(percent("0.01")).check(CouponId::generate(), CouponScope::Platform, at(1)).is_ok());
        assert_eq!(check(input(CouponKind::FixedAmount { amount: eur(0) })), "kind.amount");
        assert_eq!(check(input(CouponKind::FixedAmount { amount: eur(-100) })), "kind.amount");
        assert_eq!(check(CouponInput { ends_at: Some(at(1)), ..input(percent("10")) }), "ends_at");
        let usd_minimum = Some(Money::new(5000, cur("USD")));
        assert_eq!(
            check(CouponInput { minimum_spend: usd_minimum, ..input(CouponKind::FixedAmount { amount: eur(500) }) }),
            "minimum_spend"
        );
        assert!(
            CouponInput { minimum_spend: usd_minimum, ..input(percent("10")) }
                .check(CouponId::generate(), CouponScope::Platform, at(1))
                .is_ok(),
            "a percentage has no currency of its own"
        );
        assert_eq!(check(CouponInput { minimum_spend: Some(eur(0)), ..input(percent("10")) }), "minimum_spend");
        assert_eq!(check(CouponInput { usage_limit: Some(0), ..input(percent("10")) }), "usage_limit");
        assert_eq!(check(CouponInput { usage_limit: Some(MAX_LIMIT + 1), ..input(percent("10")) }), "usage_limit");
        let most =
            CouponInput { usage_limit: Some(MAX_LIMIT), per_customer_limit: Some(MAX_LIMIT), ..input(percent("10")) };
        assert!(most.check(CouponId::generate(), CouponScope::Platform, at(1)).is_ok());
        let each = CouponInput { per_customer_limit: Some(MAX_LIMIT + 1), ..input(percent("10")) };
        assert_eq!(check(each), "per_customer_limit");
        assert_eq!(check(CouponInput { per_customer_limit: Some(0), ..input(percent("10")) }), "per_customer_limit");
        assert_eq!(
            check(CouponInput { usage_limit: Some(2), per_customer_limit: Some(3), ..input(percent("10")) }),
            "per_customer_limit"
        );
    }

    #[test]
    fn a_coupon_is_refused_before_its_start_and_from_its_end() {
        let c = coupon(percent("10"));
        let cart = [line(1, VendorId::generate(), eur(1000))];
        let before = Utc.with_ymd_and_hms(2026, 6, 1, 11, 59, 59).unwrap();
        let refusal = apply(&c, &cart, &[], before).unwrap_err();
        assert_eq!(refusal, CouponRefusal::NotStarted { starts_at: at(1) });
        assert_eq!(refusal.code(), "not_started");
        assert!(refusal.to_string().contains("2026-06-01 12:00 UTC"), "{refusal}");
        assert!(apply(&c, &cart, &[], at(1)).is_ok(), "valid from its start");
        let refusal = apply(&c, &cart, &[], at(30)).unwrap_err();
        assert_eq!((refusal.code(), refusal), ("expired", CouponRefusal::Expired { ended_at: at(30) }));
        let open_ended = Coupon { ends_at: None, ..c };
        assert!(apply(&open_ended, &cart, &[], at(30) + chrono::Days::new(3650)).is_ok());
    }

    #[test]
    fn the_minimum_spend_is_measured_on_the_eligible_lines_only() {
        let (mine, other) = (VendorId::generate(), VendorId::generate());
        let c = Coupon {
            scope: CouponScope::Vendor { vendor_id: mine },
            minimum_spend: Some(eur(5000)),
            ..coupon(percent("10"))
        };
        let cart = [line(1, mine, eur(3000)), line(2, other, eur(9000))];
        let refusal = apply(&c, &cart, &[], at(2)).unwrap_err();
        assert_eq!(refusal, CouponRefusal::MinimumNotMet { needed: eur(5000), have: eur(3000) });
        assert_eq!(refusal.code(), "minimum_not_met");
        assert!(refusal.to_string().contains("50.00 EUR") && refusal.to_string().contains("30.00 EUR"), "{refusal}");
        let enough = [line(1, mine, eur(3000)), line(3, mine, eur(2000))];
        assert_eq!(apply(&c, &enough, &[], at(2)).unwrap().total, eur(500), "exactly the minimum is enough");
    }

    #[test]
    fn amounts_in_another_currency_than_the_cart_are_refused() {
        let vendor = VendorId::generate();
        let usd_cart = [line(1, vendor, Money::new(5000, cur("USD")))];
        let fixed = coupon(CouponKind::FixedAmount { amount: eur(500) });
        let refusal = apply(&fixed, &usd_cart, &[], at(2)).unwrap_err();
        assert_eq!(refusal, CouponRefusal::WrongCurrency { coupon: cur("EUR"), cart: cur("USD") });
        assert_eq!(refusal.code(), "wrong_currency");
        let minimum = Coupon { minimum_spend: Some(eur(100)), ..coupon(percent("10")) };
        assert_eq!(apply(&minimum, &usd_cart, &[], at(2)).unwrap_err().code(), "wrong_currency");
        assert!(apply(&coupon(percent("10")), &usd_cart, &[], at(2)).is_ok(), "a percentage fits any currency");
    }

    #[test]
    fn a_vendor_coupon_discounts_only_that_vendors_lines_and_a_platform_coupon_all() {
        let (mine, other) = (VendorId::generate(), VendorId::generate());
        let cart = [line(1, mine, eur(2000)), line(2, other, eur(4000)), line(3, mine, eur(1000))];
        let vendor_coupon = Coupon { scope: CouponScope::Vendor { vendor_id: mine }, ..coupon(percent("10")) };
        let d = apply(&vendor_coupon, &cart, &[], at(2)).unwrap();
        assert_eq!(shares(&d), vec![(1, 200), (3, 100)]);
        assert_eq!(d.total, eur(300));
        let d = apply(&coupon(percent("10")), &cart, &[], at(2)).unwrap();
        assert_eq!(shares(&d), vec![(1, 200), (2, 400), (3, 100)]);
        assert_eq!(d.total, eur(700));
        let theirs = Coupon { scope: CouponScope::Vendor { vendor_id: VendorId::generate() }, ..vendor_coupon };
        let refusal = apply(&theirs, &cart, &[], at(2)).unwrap_err();
        assert_eq!((refusal.code(), refusal), ("nothing_eligible", CouponRefusal::NothingEligible));
        assert_eq!(apply::<u32>(&coupon(percent("10")), &[], &[], at(2)).unwrap_err(), CouponRefusal::NothingEligible);
    }

    #[test]
    fn percentage_lines_add_up_to_the_rounded_total_where_rounding_each_line_would_not() {
        let v = VendorId::generate();
        // 10% of 3.33 is 0.333, which rounds to 0.33 a line, 0.99 in all; 10% of 9.99 rounds to 1.00.
        let cart = [line(1, v, eur(333)), line(2, v, eur(333)), line(3, v, eur(333))];
        let d = apply(&coupon(percent("10")), &cart, &[], at(2)).unwrap();
        assert_eq!(d.total, eur(100));
        assert_eq!(shares(&d), vec![(1, 34), (2, 33), (3, 33)], "the unit left over goes to the first tie");
        // The other way: 15% of 0.03 is 0.0045 a line (rounds to 0), 0.0135 in all (rounds to 0.01).
        let tiny = [line(1, v, eur(3)), line(2, v, eur(3)), line(3, v, eur(3))];
        let d = apply(&coupon(percent("15")), &tiny, &[], at(2)).unwrap();
        assert_eq!((d.total, shares(&d)), (eur(1), vec![(1, 1), (2, 0), (3, 0)]));
        // Half a cent rounds away from zero: 12.5% of 0.04 is 0.005.
        let d = apply(&coupon(percent("12.5")), &[line(1, v, eur(4))], &[], at(2)).unwrap();
        assert_eq!(d.total, eur(1));
        // The largest remainder gets the unit, not the first line: 10% of 1.01, 1.09, 1.05.
        let mixed = [line(1, v, eur(101)), line(2, v, eur(109)), line(3, v, eur(105))];
        let d = apply(&coupon(percent("10")), &mixed, &[], at(2)).unwrap();
        assert_eq!((d.total, shares(&d)), (eur(32), vec![(1, 10), (2, 11), (3, 11)]));
        let d = apply(&coupon(percent("100")), &mixed, &[], at(2)).unwrap();
        assert_eq!(d.total, eur(315), "100% takes off everything");
    }

    #[test]
    fn yen_have_no_minor_unit_so_discounts_are_whole_yen() {
        let v = VendorId::generate();
        let jpy = |a| Money::new(a, cur("JPY"));
        let cart = [line(1, v, jpy(999)), line(2, v, jpy(1001)), line(3, v, jpy(500))];
        let d = apply(&coupon(percent("10")), &cart, &[], at(2)).unwrap();
        assert_eq!(d.total, jpy(250));
        assert_eq!(shares(&d), vec![(1, 100), (2, 100), (3, 50)]);
        let fixed = coupon(CouponKind::FixedAmount { amount: jpy(1000) });
        let d = apply(&fixed, &cart, &[], at(2)).unwrap();
        assert_eq!(d.total, jpy(1000));
        assert_eq!(shares(&d), vec![(1, 400), (2, 400), (3, 200)]);
    }

    #[test]
    fn a_fixed_amount_is_spread_in_proportion_and_sums_exactly() {
        let v = VendorId::generate();
        let cart = [line(1, v, eur(1000)), line(2, v, eur(1000)), line(3, v, eur(1000))];
        let d = apply(&coupon(CouponKind::FixedAmount { amount: eur(1000) }), &cart, &[], at(2)).unwrap();
        assert_eq!((d.total, shares(&d)), (eur(1000), vec![(1, 334), (2, 333), (3, 333)]));
        let uneven = [line(1, v, eur(100)), line(2, v, eur(300)), line(3, v, eur(600))];
        let d = apply(&coupon(CouponKind::FixedAmount { amount: eur(99) }), &uneven, &[], at(2)).unwrap();
        // Exact shares 9.9, 29.7 and 59.4: the unit left over goes to the largest remainder, 0.9.
        assert_eq!(shares(&d), vec![(1, 10), (2, 30), (3, 59)]);
        assert_eq!(d.total, eur(99));
    }

    #[test]
    fn a_fixed_amount_larger_than_the_eligible_lines_takes_off_only_what_they_come_to() {
        let (mine, other) = (VendorId::generate(), VendorId::generate());
        let cart = [line(1, mine, eur(700)), line(2, other, eur(5000)), line(3, mine, eur(300))];
        let c = Coupon {
            scope: CouponScope::Vendor { vendor_id: mine },
            ..coupon(CouponKind::FixedAmount { amount: eur(2500) })
        };
        let d = apply(&c, &cart, &[], at(2)).unwrap();
        assert_eq!((d.total, shares(&d)), (eur(1000), vec![(1, 700), (3, 300)]));
        let free = [line(1, mine, eur(0))];
        let d = apply(&c, &free, &[], at(2)).unwrap();
        assert_eq!((d.total, shares(&d)), (eur(0), vec![(1, 0)]), "nothing to take off a free line");
    }

    #[test]
    fn free_shipping_waives_the_eligible_vendors_shipping_only() {
        let (mine, other) = (VendorId::generate(), VendorId::generate());
        let cart = [line(1, mine, eur(2000)), line(2, other, eur(4000))];
        let shipping = [(mine, eur(495)), (other, eur(695))];
        let vendor_coupon =
            Coupon { scope: CouponScope::Vendor { vendor_id: mine }, ..coupon(CouponKind::FreeShipping) };
        let d = apply(&vendor_coupon, &cart, &shipping, at(2)).unwrap();
        assert!(d.per_line.is_empty());
        assert_eq!(d.shipping_waived, vec![ShippingWaiver { vendor_id: mine, amount: eur(495) }]);
        assert_eq!(d.total, eur(495));
        let d = apply(&coupon(CouponKind::FreeShipping), &cart, &shipping, at(2)).unwrap();
        assert_eq!(d.shipping_waived.len(), 2);
        assert_eq!(d.total, eur(1190));
        let free_already = [(mine, eur(0))];
        let d = apply(&vendor_coupon, &cart, &free_already, at(2)).unwrap();
        assert_eq!((d.shipping_waived.len(), d.total), (0, eur(0)));
        let usd_shipping = [(mine, Money::new(495, cur("USD")))];
        assert_eq!(apply(&vendor_coupon, &cart, &usd_shipping, at(2)).unwrap_err().code(), "wrong_currency");
    }

    #[test]
    fn usage_limits_refuse_the_use_after_the_last_allowed() {
        let c = Coupon { usage_limit: Some(100), per_customer_limit: Some(1), ..coupon(percent("10")) };
        assert_eq!(may_use(&c, 99, 0), Ok(()));
        let refusal = may_use(&c, 100, 0).unwrap_err();
        assert_eq!((refusal.code(), refusal), ("usage_limit_reached", CouponRefusal::UsageLimitReached));
        let refusal = may_use(&c, 5, 1).unwrap_err();
        assert_eq!((refusal.code(), refusal), ("customer_limit_reached", CouponRefusal::CustomerLimitReached));
        assert_eq!(may_use(&coupon(percent("10")), u32::MAX, u32::MAX), Ok(()), "no limits");
    }

    #[test]
    fn a_new_coupon_is_active_unused_and_at_version_one() {
        let c = coupon(percent("10"));
        assert!(c.active);
        assert_eq!((c.used, c.version, c.created_at, c.updated_at), (0, 1, at(1), at(1)));
    }

    #[test]
    fn a_deactivated_coupon_is_refused_before_anything_else() {
        let cart = [line(1, VendorId::generate(), eur(1000))];
        let off = Coupon { active: false, ..coupon(percent("10")) };
        let refusal = apply(&off, &cart, &[], Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()).unwrap_err();
        assert_eq!((refusal.code(), &refusal), ("inactive", &CouponRefusal::Inactive));
        assert_eq!(refusal.to_string(), "this coupon is not active");
        assert!(apply(&Coupon { active: true, ..off }, &cart, &[], at(2)).is_ok());
    }

    #[test]
    fn unknown_fields_of_a_kind_are_refused_rather_than_ignored() {
        let misspelt = serde_json::json!({"type": "percentage", "percent": "10", "precent": "50"});
        assert!(serde_json::from_value::<CouponKind>(misspelt).is_err());
        let free_and_more = serde_json::json!({"type": "free_shipping", "percent": "10"});
        assert!(serde_json::from_value::<CouponKind>(free_and_more).is_err());
        let free = serde_json::json!({"type": "free_shipping"});
        assert_eq!(serde_json::from_value::<CouponKind>(free).unwrap(), CouponKind::FreeShipping);
    }

    #[test]
    fn a_customer_is_their_user_id_when_signed_in_and_their_lower_cased_email_as_a_guest() {
        let email = Email::parse("email", " Ada@Example.COM ").unwrap();
        assert_eq!(customer_key(None, &email), "ada@example.com");
        let user = UserId::generate();
        assert_eq!(customer_key(Some(user), &email), user.to_string());
    }

    #[test]
    fn a_change_moves_the_version_and_nothing_changed_keeps_it() {
        let c = Coupon { usage_limit: Some(10), ..coupon(percent("10")) };
        let same = c.amended(&CouponChange { active: Some(true), ..Default::default() }, at(5)).unwrap();
        assert_eq!(same, c, "nothing changed: same version, same time");
        let off = c.amended(&CouponChange { active: Some(false), ..Default::default() }, at(5)).unwrap();
        assert_eq!((off.active, off.version, off.updated_at), (false, 2, at(5)));
        let change = CouponChange {
            starts_at: Some(at(2)),
            ends_at: Some(None),
            usage_limit: Some(None),
            per_customer_limit: Some(Some(3)),
            ..Default::default()
        };
        let changed = c.amended(&change, at(5)).unwrap();
        assert_eq!(
            (changed.starts_at, changed.ends_at, changed.usage_limit, changed.per_customer_limit),
            (at(2), None, None, Some(3))
        );
        assert_eq!((changed.code, changed.kind, changed.created_at), (c.code.clone(), c.kind, c.created_at));
    }

    #[test]
    fn a_change_is_checked_as_a_new_coupon_is_and_never_limits_below_the_uses_so_far() {
        let c = Coupon { usage_limit: Some(10), per_customer_limit: Some(2), used: 4, ..coupon(percent("10")) };
        let field = |change: CouponChange| c.amended(&change, at(5)).unwrap_err().field;
        assert_eq!(field(CouponChange { ends_at: Some(Some(at(1))), ..Default::default() }), "ends_at");
        assert_eq!(field(CouponChange { starts_at: Some(at(30)), ..Default::default() }), "starts_at");
        assert_eq!(field(CouponChange { usage_limit: Some(Some(0)), ..Default::default() }), "usage_limit");
        assert_eq!(
            field(CouponChange { per_customer_limit: Some(Some(0)), ..Default::default() }),
            "per_customer_limit"
        );
        assert_eq!(
            field(CouponChange { per_customer_limit: Some(Some(11)), ..Default::default() }),
            "per_customer_limit"
        );
        let below = c.amended(&CouponChange { usage_limit: Some(Some(3)), ..Default::default() }, at(5)).unwrap_err();
        assert_eq!(below.field, "usage_limit");
        assert!(below.message.contains("at least 4"), "{}", below.message);
        let exactly = c.amended(&CouponChange { usage_limit: Some(Some(4)), ..Default::default() }, at(5)).unwrap();
        assert_eq!(exactly.usage_limit, Some(4), "a limit of exactly the uses so far closes the coupon");
        // lowering the total below the per-customer limit names the total, which is what was sent
        let unused = Coupon { used: 0, ..c.clone() };
        let lowered = unused.amended(&CouponChange { usage_limit: Some(Some(1)), ..Default::default() }, at(5));
        assert_eq!(lowered.unwrap_err().field, "usage_limit");
    }

    #[test]
    fn a_change_is_refused_without_the_coupon_when_its_own_fields_disagree() {
        let check = |change: CouponChange| change.check().map_err(|e| e.field);
        assert_eq!(check(CouponChange::default()), Ok(()));
        assert_eq!(check(CouponChange { usage_limit: Some(Some(0)), ..Default::default() }), Err("usage_limit".into()));
        let each = CouponChange { per_customer_limit: Some(Some(0)), ..Default::default() };
        assert_eq!(check(each), Err("per_customer_limit".into()));
        let both = CouponChange { usage_limit: Some(Some(2)), per_customer_limit: Some(Some(3)), ..Default::default() };
        assert_eq!(check(both), Err("per_customer_limit".into()));
        let window = CouponChange { starts_at: Some(at(5)), ends_at: Some(Some(at(5))), ..Default::default() };
        assert_eq!(check(window), Err("ends_at".into()));
        let open =
            CouponChange { starts_at: Some(at(5)), ends_at: Some(None), usage_limit: Some(None), ..Default::default() };
        assert_eq!(check(open), Ok(()));
    }

    #[test]
    fn a_coupon_is_written_with_snake_case_tags_and_a_decimal_string() {
        let vendor_id = VendorId::generate();
        let c = Coupon { scope: CouponScope::Vendor { vendor_id }, ..coupon(percent("12.5")) };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["scope"], serde_json::json!({"type": "vendor", "vendor_id": vendor_id.to_string()}));
        assert_eq!(json["kind"], serde_json::json!({"type": "percentage", "percent": "12.5"}));
        assert!(json.get("usage_limit").is_none());
        assert_eq!(serde_json::from_value::<Coupon>(json).unwrap(), c);
        let body = serde_json::json!({
            "code": "welcome",
            "kind": {"type": "fixed_amount", "amount": {"amount": 500, "currency": "EUR"}},
            "starts_at": "2026-06-01T00:00:00Z"
        });
        let request: CouponInput = serde_json::from_value(body).unwrap();
        let checked = request.check(CouponId::generate(), CouponScope::Platform, at(1)).unwrap();
        assert_eq!((checked.code.as_str(), checked.kind), ("WELCOME", CouponKind::FixedAmount { amount: eur(500) }));
    }
}
