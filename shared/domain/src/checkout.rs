//! Checkout: from a cart's priced lines, a destination and the vendors' settings to the order
//! group a checkout places, with every figure the customer is shown explained.
//!
//! One pure function, [`plan`], does it in this order, each step with its own rules module:
//! 1. per vendor, the parcel of its lines and its shipping options to the destination
//!    ([`crate::shipping`]); the chosen option (the cheapest unless the customer names one) gives
//!    the fee and the promised ship date;
//! 2. the coupon, if any, over the lines and the fees ([`crate::promotion::apply`]): its share of
//!    each eligible line, or the eligible vendors' shipping waived;
//! 3. per vendor, the tax on its discounted lines and its fee at the destination
//!    ([`crate::tax::compute`]): each line rounded on its own;
//! 4. per vendor, the locations that serve each line under the vendor's rule
//!    ([`crate::allocation::allocate`]), and the stock to hold.
//!
//! The amounts: a line's `total` is what the customer pays for it (tax included), so a vendor
//! order's total is its lines' totals plus its shipping with its tax, and the group's total is the
//! sum of its vendor orders' totals (what the payment must be). In a tax-inclusive country the
//! tax is part of the prices; in a tax-exclusive one it is added to them.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::allocation::{self, AllocationRule, LocationStock};
use crate::catalog::TaxClass;
use crate::ids::{LocationId, ProductId, VariantId, VendorId};
use crate::money::{Currency, Money};
use crate::order::{HeldStock, LineAllocation, OrderLine, OrderTotals};
use crate::promotion::{self, CartLine, Coupon, CouponRefusal, Discount};
use crate::shipping::{NoShipping, Parcel, Quote, ShippingOption, VendorShipping};
use crate::tax::{self, TaxBreakdown, TaxError, TaxTable, TaxableLine};

/// The most lines one checkout takes: each line may be served from two locations at most before
/// the reservation's limit of stock items is reached (see the README's arithmetic), and the rest
/// of the transaction (the group, one order per vendor, the timer, the cart, the coupon's use and
/// the idempotency record) fits in DynamoDB's 100 writes.
pub const MAX_LINES: usize = 25;

/// One cart line at the price it has now, with what shipping and tax need to know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckoutLine {
    pub vendor_id: VendorId,
    pub product_id: ProductId,
    pub variant_id: VariantId,
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub tax_class: TaxClass,
    pub weight_g: Option<u32>,
    pub size_mm: Option<[u32; 3]>,
}

/// What checkout knows of one vendor of the cart.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorFacts {
    /// Its shipping settings; a vendor without any cannot ship.
    pub shipping: Option<VendorShipping>,
    pub allocation: AllocationRule,
    /// What each of its locations has available of the cart's variants.
    pub stock: Vec<LocationStock>,
    /// The platform's commission, a fraction (0.10), frozen on the order.
    pub commission_rate: Decimal,
}

/// Everything [`plan`] works from.
#[derive(Debug, Clone)]
pub struct CheckoutInput<'a> {
    pub currency: Currency,
    pub lines: &'a [CheckoutLine],
    /// Country (ISO 3166-1 alpha-2) and region of the shipping address.
    pub destination: (&'a str, Option<&'a str>),
    pub vendors: &'a BTreeMap<VendorId, VendorFacts>,
    pub tax: &'a TaxTable,
    pub coupon: Option<&'a Coupon>,
    /// The shipping option the customer chose per vendor (by code); the cheapest otherwise.
    pub chosen: &'a BTreeMap<VendorId, String>,
    pub now: DateTime<Utc>,
}

/// One vendor's part of a planned checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VendorPlan {
    pub vendor_id: VendorId,
    pub lines: Vec<OrderLine>,
    /// Every option the vendor offers to the destination, with the cheapest and the fastest named.
    pub shipping_options: Quote,
    /// The option this order ships with.
    pub shipping: ShippingOption,
    /// The shipping fee charged (zero when a coupon waives it), as the customer sees it.
    pub shipping_fee: Money,
    pub tax: TaxBreakdown,
    pub totals: OrderTotals,
    #[schema(value_type = String, example = "0.10")]
    pub commission_rate: Decimal,
}

/// A whole checkout, priced and allocated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutPlan {
    pub currency: Currency,
    /// By vendor id.
    pub vendors: Vec<VendorPlan>,
    /// What the coupon takes off, lines by their index in the cart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub discount: Option<Discount<usize>>,
    /// What the customer pays: every vendor order's total.
    pub total: Money,
    /// The stock to hold, in line order.
    pub holds: Vec<HeldStock>,
}

/// Why a checkout cannot be placed as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckoutRefusal {
    /// No line.
    Empty,
    /// More than [`MAX_LINES`] lines.
    TooManyLines {
        lines: usize,
    },
    /// A line not in the checkout's currency.
    Currency {
        line: usize,
    },
    /// The vendor's locations together have too little of the line's variant.
    Short {
        line: usize,
        variant: VariantId,
        requested: u32,
        available: u32,
    },
    /// The vendor cannot ship the parcel to the destination.
    NoShipping {
        vendor: VendorId,
        reason: NoShipping,
    },
    /// The customer named an option the vendor does not offer to the destination.
    UnknownOption {
        vendor: VendorId,
        code: String,
    },
    /// The customer named a shipping option for a vendor with no line in the cart.
    NotInCart {
        vendor: VendorId,
    },
    Coupon(CouponRefusal),
    Tax(TaxError),
    /// An amount beyond the range of minor units.
    OutOfRange,
}

impl fmt::Display for CheckoutRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckoutRefusal::Empty => f.write_str("the cart is empty"),
            CheckoutRefusal::TooManyLines { lines } => {
                write!(f, "a checkout takes at most {MAX_LINES} lines; this cart has {lines}")
            }
            CheckoutRefusal::Currency { line } => write!(f, "line {line} is not priced in the checkout's currency"),
            CheckoutRefusal::Short { requested, available, .. } => {
                write!(f, "only {available} available, {requested} asked for")
            }
            CheckoutRefusal::NoShipping { reason, .. } => write!(f, "{reason}"),
            CheckoutRefusal::UnknownOption { code, .. } => {
                write!(f, "the vendor offers no shipping option {code} to this address")
            }
            CheckoutRefusal::NotInCart { .. } => f.write_str("the cart has nothing from this vendor"),
            CheckoutRefusal::Coupon(refusal) => write!(f, "{refusal}"),
            CheckoutRefusal::Tax(error) => write!(f, "{error}"),
            CheckoutRefusal::OutOfRange => f.write_str("the cart's total is out of range"),
        }
    }
}

impl std::error::Error for CheckoutRefusal {}

fn add(a: Money, b: Money) -> Result<Money, CheckoutRefusal> {
    a.checked_add(b).map_err(|_| CheckoutRefusal::OutOfRange)
}

/// Plans a checkout (see the module's documentation). Nothing is read or written: the caller
/// reserves the holds and writes the orders.
pub fn plan(input: &CheckoutInput<'_>) -> Result<CheckoutPlan, CheckoutRefusal> {
    let lines = input.lines;
    if lines.is_empty() {
        return Err(CheckoutRefusal::Empty);
    }
    if lines.len() > MAX_LINES {
        return Err(CheckoutRefusal::TooManyLines { lines: lines.len() });
    }
    let currency = input.currency;
    if let Some(line) = lines.iter().position(|l| l.unit_price.currency != currency) {
        return Err(CheckoutRefusal::Currency { line });
    }
    let mut by_vendor: BTreeMap<VendorId, Vec<usize>> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        by_vendor.entry(line.vendor_id).or_default().push(i);
    }
    if let Some(vendor) = input.chosen.keys().find(|v| !by_vendor.contains_key(v)) {
        return Err(CheckoutRefusal::NotInCart { vendor: *vendor });
    }

    // 4 first: a short line is the refusal a customer most needs to see, whatever else is wrong.
    let mut allocations: BTreeMap<usize, Vec<LineAllocation>> = BTreeMap::new();
    let mut holds = Vec::new();
    for (vendor, indexes) in &by_vendor {
        let facts = input.vendors.get(vendor);
        let stock = facts.map(|f| f.stock.as_slice()).unwrap_or_default();
        let rule = facts.map(|f| f.allocation.clone()).unwrap_or(AllocationRule::Nearest);
        let wanted: Vec<(usize, VariantId, u32)> =
            indexes.iter().map(|&i| (i, lines[i].variant_id, lines[i].quantity)).collect();
        let allocated = allocation::allocate(&rule, &wanted, stock, input.destination.0).map_err(|s| {
            CheckoutRefusal::Short { line: s.line, variant: s.variant, requested: s.requested, available: s.available }
        })?;
        for a in allocated {
            allocations.entry(a.line).or_default().push(LineAllocation {
                location_id: a.location,
                quantity: a.quantity,
                shipped: 0,
            });
            holds.push(HeldStock {
                vendor_id: *vendor,
                variant_id: a.variant,
                location_id: a.location,
                shard: None,
                quantity: a.quantity,
            });
        }
    }
    holds.sort_by_key(|h| {
        let line = lines.iter().position(|l| l.variant_id == h.variant_id && l.vendor_id == h.vendor_id);
        (line, h.location_id)
    });

    // 1. Shipping per vendor.
    let mut options: BTreeMap<VendorId, (Quote, ShippingOption)> = BTreeMap::new();
    for (vendor, indexes) in &by_vendor {
        let settings =
            input.vendors.get(vendor).and_then(|f| f.shipping.as_ref()).ok_or_else(|| CheckoutRefusal::NoShipping {
                vendor: *vendor,
                reason: NoShipping::NoZone { destination: input.destination.0.trim().to_ascii_uppercase() },
            })?;
        let parcel: Vec<_> =
            indexes.iter().map(|&i| (lines[i].weight_g, lines[i].size_mm, lines[i].quantity)).collect();
        let quote = settings
            .quote(&Parcel::of(&parcel), input.destination, currency, input.now)
            .map_err(|reason| CheckoutRefusal::NoShipping { vendor: *vendor, reason })?;
        let code = input.chosen.get(vendor).map(|c| c.trim().to_ascii_uppercase()).unwrap_or(quote.cheapest.clone());
        let option = quote
            .options
            .iter()
            .find(|o| o.code == code)
            .cloned()
            .ok_or_else(|| CheckoutRefusal::UnknownOption { vendor: *vendor, code: code.clone() })?;
        options.insert(*vendor, (quote, option));
    }

    // 2. The coupon.
    let discount = match input.coupon {
        None => None,
        Some(coupon) => {
            let cart: Vec<CartLine<usize>> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let amount = l.unit_price.times(l.quantity).map_err(|_| CheckoutRefusal::OutOfRange)?;
                    Ok(CartLine { id: i, vendor: l.vendor_id, amount })
                })
                .collect::<Result<_, CheckoutRefusal>>()?;
            let fees: Vec<(VendorId, Money)> = options.iter().map(|(v, (_, o))| (*v, o.price)).collect();
            Some(promotion::apply(coupon, &cart, &fees, input.now).map_err(CheckoutRefusal::Coupon)?)
        }
    };
    let line_discount = |i: usize| {
        discount
            .as_ref()
            .and_then(|d| d.per_line.iter().find(|l| l.line == i).map(|l| l.amount))
            .unwrap_or(Money::zero(currency))
    };

    // 3. Tax, and the vendor orders.
    let zero = Money::zero(currency);
    let mut vendors = Vec::with_capacity(by_vendor.len());
    let mut total = zero;
    for (vendor, indexes) in &by_vendor {
        let (quote, option) = options.remove(vendor).expect("every vendor has its option");
        let waived = discount.as_ref().is_some_and(|d| d.shipping_waived.iter().any(|w| w.vendor_id == *vendor));
        let fee = if waived { zero } else { option.price };
        let taxable: Vec<TaxableLine> = indexes
            .iter()
            .map(|&i| TaxableLine {
                id: i.to_string(),
                unit_price: lines[i].unit_price,
                quantity: lines[i].quantity,
                discount: line_discount(i),
                tax_class: lines[i].tax_class,
            })
            .collect();
        let breakdown =
            tax::compute(input.tax, input.destination, currency, &taxable, Some(fee)).map_err(CheckoutRefusal::Tax)?;
        let mut order_lines = Vec::with_capacity(indexes.len());
        let (mut subtotal, mut discounted) = (zero, zero);
        for (&i, taxed) in indexes.iter().zip(&breakdown.lines) {
            let line = &lines[i];
            let gross = line.unit_price.times(line.quantity).map_err(|_| CheckoutRefusal::OutOfRange)?;
            subtotal = add(subtotal, gross)?;
            discounted = add(discounted, line_discount(i))?;
            order_lines.push(OrderLine {
                variant_id: line.variant_id,
                product_id: line.product_id,
                sku: line.sku.clone(),
                title: line.title.clone(),
                quantity: line.quantity,
                unit_price: line.unit_price,
                discount: line_discount(i),
                tax: taxed.tax,
                total: taxed.gross,
                allocations: allocations.remove(&i).unwrap_or_default(),
                returned: 0,
            });
        }
        let totals = OrderTotals {
            subtotal,
            discount: discounted,
            shipping: fee,
            tax: breakdown.totals.tax,
            total: breakdown.totals.gross,
            refunded: None,
            refunded_shipping: None,
        };
        total = add(total, totals.total)?;
        let commission_rate = input.vendors.get(vendor).map(|f| f.commission_rate).unwrap_or_default();
        vendors.push(VendorPlan {
            vendor_id: *vendor,
            lines: order_lines,
            shipping_options: quote,
            shipping: option,
            shipping_fee: fee,
            tax: breakdown,
            totals,
            commission_rate,
        });
    }
    Ok(CheckoutPlan { currency, vendors, discount, total, holds })
}

/// The stock items a plan holds, each once, for the reservation's limit.
pub fn items_held(holds: &[HeldStock]) -> usize {
    let mut items: Vec<(VendorId, VariantId, LocationId)> =
        holds.iter().map(|h| (h.vendor_id, h.variant_id, h.location_id)).collect();
    items.sort();
    items.dedup();
    items.len()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::TimeZone;

    use super::*;
    use crate::ids::{CouponId, ShippingZoneId, UserId};
    use crate::promotion::{CouponInput, CouponKind, CouponScope};
    use crate::shipping::{RateBracket, ShipCalendar, ShippingService, ShippingZone, VendorZone, WorkingDays};
    use crate::tax::{CountryTax, PricingMode, TaxRate};

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "EUR").unwrap())
    }

    fn now() -> DateTime<Utc> {
        // A Monday morning.
        Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }

    fn shipping(vendor: VendorId, standard: i64, express: i64) -> VendorShipping {
        let zone = ShippingZone {
            id: ShippingZoneId::generate(),
            name: "Europe".into(),
            countries: vec!["FR".into(), "DE".into()],
            regions: vec![],
        };
        let service = |code: &str, price: i64, days: u32| ShippingService {
            code: code.into(),
            carrier: "Parcelco".into(),
            name: format!("Parcelco {code}"),
            zone: zone.id,
            rates: vec![RateBracket { up_to_g: 30_000, price: eur(price) }],
            max_weight_g: 30_000,
            max_length_mm: 1000,
            max_girth_mm: None,
            transit_days_min: days,
            transit_days_max: days + 1,
            volumetric_divisor: None,
        };
        VendorShipping {
            vendor_id: vendor,
            zones: vec![VendorZone { code: "EU".into(), zone: zone.clone() }],
            services: vec![service("STANDARD", standard, 3), service("EXPRESS", express, 1)],
            calendar: ShipCalendar {
                utc_offset_minutes: 60,
                cutoff: chrono::NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
                working_days: WorkingDays {
                    monday: true,
                    tuesday: true,
                    wednesday: true,
                    thursday: true,
                    friday: true,
                    saturday: false,
                    sunday: false,
                },
                holidays: vec![],
            },
            allocation: AllocationRule::Nearest,
            version: 1,
            updated_at: now(),
            updated_by: UserId::generate(),
        }
    }

    fn table() -> TaxTable {
        TaxTable::new(vec![CountryTax {
            country: "FR".into(),
            pricing: PricingMode::TaxInclusive,
            shipping_tax_class: TaxClass::Standard,
            rates: vec![TaxRate {
                region: None,
                tax_class: TaxClass::Standard,
                rate: Decimal::from(20),
                name: "TVA 20%".into(),
            }],
        }])
        .unwrap()
    }

    struct Shop {
        vendors: BTreeMap<VendorId, VendorFacts>,
        lines: Vec<CheckoutLine>,
    }

    /// Two vendors: A sells a 19.99 jumper (2 units asked, 1 at each of two locations) and B a
    /// 5.00 scarf (3 asked, 10 at its one location).
    fn shop() -> (Shop, [VendorId; 2], [LocationId; 3]) {
        let (a, b) = (VendorId::generate(), VendorId::generate());
        let (a1, a2, b1) = (LocationId::generate(), LocationId::generate(), LocationId::generate());
        let (jumper, scarf) = (VariantId::generate(), VariantId::generate());
        let at =
            |location, variant, available| LocationStock { location, country: Some("FR".into()), variant, available };
        let facts = |vendor, stock, rule| VendorFacts {
            shipping: Some(shipping(vendor, 490, 990)),
            allocation: rule,
            stock,
            commission_rate: Decimal::from_str("0.10").unwrap(),
        };
        let mut vendors = BTreeMap::new();
        vendors.insert(
            a,
            facts(a, vec![at(a1, jumper, 1), at(a2, jumper, 1)], AllocationRule::Priority { locations: vec![a1, a2] }),
        );
        vendors.insert(b, facts(b, vec![at(b1, scarf, 10)], AllocationRule::Nearest));
        let line = |vendor, variant, sku: &str, quantity, price| CheckoutLine {
            vendor_id: vendor,
            product_id: ProductId::generate(),
            variant_id: variant,
            sku: sku.into(),
            title: sku.to_lowercase(),
            quantity,
            unit_price: eur(price),
            tax_class: TaxClass::Standard,
            weight_g: Some(400),
            size_mm: Some([300, 200, 50]),
        };
        let lines = vec![line(a, jumper, "JUMPER", 2, 1999), line(b, scarf, "SCARF", 3, 500)];
        (Shop { vendors, lines }, [a, b], [a1, a2, b1])
    }

    fn input<'a>(
        shop: &'a Shop,
        tax: &'a TaxTable,
        coupon: Option<&'a Coupon>,
        chosen: &'a BTreeMap<VendorId, String>,
    ) -> CheckoutInput<'a> {
        CheckoutInput {
            currency: eur(0).currency,
            lines: &shop.lines,
            destination: ("FR", None),
            vendors: &shop.vendors,
            tax,
            coupon,
            chosen,
            now: now(),
        }
    }

    #[test]
    fn a_two_vendor_cart_becomes_two_orders_with_the_cheapest_shipping_tax_included_and_a_split_line() {
        let (shop, [a, b], [a1, a2, b1]) = shop();
        let tax = table();
        let plan = plan(&input(&shop, &tax, None, &BTreeMap::new())).unwrap();
        assert_eq!(plan.vendors.iter().map(|v| v.vendor_id).collect::<Vec<_>>(), {
            let mut ids = vec![a, b];
            ids.sort();
            ids
        });
        let of = |v| plan.vendors.iter().find(|p| p.vendor_id == v).unwrap();
        let (pa, pb) = (of(a), of(b));
        assert_eq!(pa.shipping.code, "STANDARD");
        assert_eq!(pa.shipping_options.fastest, "EXPRESS");
        // 2 × 19.99 + 4.90 shipping, tax included: 44.88; VAT 20% of it, line by line.
        assert_eq!(pa.totals.subtotal, eur(3998));
        assert_eq!(pa.totals.shipping, eur(490));
        assert_eq!(pa.totals.total, eur(4488));
        // 3998 / 1.2 = 3331.67 → tax 666; 490 / 1.2 = 408.33 → tax 82.
        assert_eq!(pa.totals.tax, eur(666 + 82));
        assert_eq!(pa.lines[0].total, eur(3998));
        assert_eq!(
            pa.lines[0].allocations,
            vec![
                LineAllocation { location_id: a1, quantity: 1, shipped: 0 },
                LineAllocation { location_id: a2, quantity: 1, shipped: 0 }
            ]
        );
        assert_eq!(pb.totals.total, eur(1500 + 490));
        assert_eq!(pb.lines[0].allocations, vec![LineAllocation { location_id: b1, quantity: 3, shipped: 0 }]);
        assert_eq!(plan.total, eur(4488 + 1990));
        assert_eq!(plan.holds.len(), 3);
        assert_eq!(items_held(&plan.holds), 3);
        assert_eq!(pa.commission_rate, Decimal::from_str("0.10").unwrap());
        assert!(pa.shipping.ship_by >= now().date_naive());
    }

    #[test]
    fn a_chosen_option_is_used_and_an_unknown_one_or_a_vendor_not_in_the_cart_is_refused() {
        let (shop, [a, _], _) = shop();
        let tax = table();
        let chosen = BTreeMap::from([(a, "express".to_string())]);
        let plan = plan(&input(&shop, &tax, None, &chosen)).unwrap();
        let pa = plan.vendors.iter().find(|p| p.vendor_id == a).unwrap();
        assert_eq!((pa.shipping.code.as_str(), pa.shipping_fee), ("EXPRESS", eur(990)));

        let chosen = BTreeMap::from([(a, "PIGEON".to_string())]);
        assert_eq!(
            super::plan(&input(&shop, &tax, None, &chosen)).unwrap_err(),
            CheckoutRefusal::UnknownOption { vendor: a, code: "PIGEON".into() }
        );
        let stranger = VendorId::generate();
        let chosen = BTreeMap::from([(stranger, "STANDARD".to_string())]);
        assert_eq!(
            super::plan(&input(&shop, &tax, None, &chosen)).unwrap_err(),
            CheckoutRefusal::NotInCart { vendor: stranger }
        );
    }

    #[test]
    fn a_line_the_locations_cannot_serve_is_named_with_what_is_available() {
        let (mut shop, _, _) = shop();
        shop.lines[0].quantity = 3;
        let tax = table();
        let refusal = plan(&input(&shop, &tax, None, &BTreeMap::new())).unwrap_err();
        assert!(matches!(refusal, CheckoutRefusal::Short { line: 0, requested: 3, available: 2, .. }), "{refusal:?}");
    }

    #[test]
    fn a_percentage_coupon_is_shared_over_the_lines_before_tax_and_free_shipping_waives_the_fees() {
        let (shop, [a, b], _) = shop();
        let tax = table();
        let coupon = |kind| {
            CouponInput {
                code: "TEN".into(),
                kind,
                minimum_spend: None,
                starts_at: now() - chrono::Duration::days(1),
                ends_at: None,
                usage_limit: None,
                per_customer_limit: None,
            }
            .check(CouponId::generate(), CouponScope::Platform, now())
            .unwrap()
        };
        let ten = coupon(CouponKind::Percentage { percent: Decimal::from(10) });
        let plan = plan(&input(&shop, &tax, Some(&ten), &BTreeMap::new())).unwrap();
        let of = |v| plan.vendors.iter().find(|p| p.vendor_id == v).unwrap().clone();
        // 10% of 39.98 is 4.00 (3.998 rounded by the largest remainder), of 15.00 is 1.50.
        assert_eq!(of(a).totals.discount, eur(400));
        assert_eq!(of(a).lines[0].total, eur(3598));
        assert_eq!(of(a).totals.total, eur(3598 + 490));
        assert_eq!(of(b).totals.discount, eur(150));
        assert_eq!(plan.discount.as_ref().unwrap().total, eur(550));

        let free = coupon(CouponKind::FreeShipping);
        let plan = super::plan(&input(&shop, &tax, Some(&free), &BTreeMap::new())).unwrap();
        assert!(plan.vendors.iter().all(|v| v.shipping_fee == eur(0) && v.totals.shipping == eur(0)));
        assert_eq!(plan.total, eur(3998 + 1500));
        // The option keeps its price: the waiver is what the coupon took off.
        assert!(plan.vendors.iter().all(|v| v.shipping.price == eur(490)));
    }

    #[test]
    fn a_coupon_that_does_not_apply_is_refused_with_its_reason() {
        let (shop, _, _) = shop();
        let tax = table();
        let later = CouponInput {
            code: "LATER".into(),
            kind: CouponKind::FreeShipping,
            minimum_spend: None,
            starts_at: now() + chrono::Duration::days(1),
            ends_at: None,
            usage_limit: None,
            per_customer_limit: None,
        }
        .check(CouponId::generate(), CouponScope::Platform, now())
        .unwrap();
        let refusal = plan(&input(&shop, &tax, Some(&later), &BTreeMap::new())).unwrap_err();
        assert!(matches!(refusal, CheckoutRefusal::Coupon(CouponRefusal::NotStarted { .. })), "{refusal:?}");
    }

    #[test]
    fn a_destination_a_vendor_does_not_serve_or_without_tax_rates_is_refused() {
        let (shop, _, _) = shop();
        let tax = table();
        let chosen = BTreeMap::new();
        let mut to_spain = input(&shop, &tax, None, &chosen);
        to_spain.destination = ("ES", None);
        assert!(matches!(plan(&to_spain).unwrap_err(), CheckoutRefusal::NoShipping { .. }));
        let empty = TaxTable::new(vec![]).unwrap();
        let refusal = plan(&input(&shop, &empty, None, &BTreeMap::new())).unwrap_err();
        assert!(matches!(refusal, CheckoutRefusal::Tax(TaxError::NoRates { .. })), "{refusal:?}");
    }

    #[test]
    fn an_empty_cart_too_many_lines_or_a_line_in_another_currency_is_refused() {
        let (mut shop, _, _) = shop();
        let tax = table();
        let chosen = BTreeMap::new();
        let none: Vec<CheckoutLine> = Vec::new();
        let mut empty = input(&shop, &tax, None, &chosen);
        empty.lines = &none;
        assert_eq!(plan(&empty).unwrap_err(), CheckoutRefusal::Empty);
        shop.lines[1].unit_price = Money::new(500, Currency::parse("currency", "USD").unwrap());
        assert_eq!(plan(&input(&shop, &tax, None, &chosen)).unwrap_err(), CheckoutRefusal::Currency { line: 1 });
        let many: Vec<CheckoutLine> = std::iter::repeat_n(shop.lines[0].clone(), MAX_LINES + 1).collect();
        shop.lines = many;
        assert_eq!(
            plan(&input(&shop, &tax, None, &chosen)).unwrap_err(),
            CheckoutRefusal::TooManyLines { lines: MAX_LINES + 1 }
        );
    }
}
