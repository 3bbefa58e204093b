//! Checkout: `POST /checkout/quote` prices a cart for a destination (every vendor's shipping
//! options, the coupon, the tax explained) without writing anything; `POST /checkout` places it.
//!
//! Placing is one DynamoDB transaction (`stockyard_store::orders::place_with`): every line's
//! stock reserved at the locations the vendor's rule chose (available ≥ quantity, under the
//! versions read), the order group with one order per vendor, the group's reservation timer, the
//! cart emptied under the version priced, the coupon's use and each limited variant's units
//! counted against their limits, and the idempotency record naming the group. Either all of it
//! is written or nothing: a short line is named with what is available, a coupon used up
//! meanwhile is refused, a cart changed meanwhile is refused.
//!
//! Then the payment is opened with the provider the customer chose (the card provider's client
//! secret, or the wallet provider's approval link), named by the group so a retry opens no second
//! one, and recorded on the group. A retry with the same `Idempotency-Key` answers from the group
//! as it is now (and opens the payment if the first attempt could not); the same key with another
//! body is refused. The group is unpaid until the provider's webhook says otherwise; unpaid at
//! `expires_at`, the reservation is given back by `expire-reservations`.

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use lambda_http::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stockyard_cart::access::Shopper;
use stockyard_domain::address::{AddressInput, PostalAddress};
use stockyard_domain::allocation::LocationStock;
use stockyard_domain::cart::{self, Cart, CartFacts, PricedCart};
use stockyard_domain::checkout::{self, CheckoutInput, CheckoutLine, CheckoutPlan, CheckoutRefusal, VendorFacts};
use stockyard_domain::ids::{AddressId, CartId, OrderGroupId, OrderId, UserId, VendorId};
use stockyard_domain::order::{
    CouponUse, LimitedPurchase, OrderGroup, OrderStatus, PaymentSession, TimelineEntry, VendorOrder,
};
use stockyard_domain::order_link;
use stockyard_domain::payment::Provider;
use stockyard_domain::promotion::{self, Coupon, coupon_code};
use stockyard_domain::stock::Actor;
use stockyard_domain::tax::TaxError;
use stockyard_domain::values::Email;
use stockyard_domain::{FieldError, Money};
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::{Idempotency, remember};
use stockyard_http::request::json_body;
use stockyard_http::response::json;
use stockyard_http::{ApiDeps, ApiError, Body, Request, Response};
use stockyard_store::reservations::ReserveError;
use stockyard_store::{
    StoreError, Table, addresses, carts, coupons, idempotency, locations, orders, shipping, tax_rates,
};
use utoipa::ToSchema;

use crate::providers::{ProviderError, Providers};

/// How long an unpaid order holds its stock, unless configured otherwise.
pub const DEFAULT_PAYMENT_WINDOW_MINUTES: i64 = 15;
/// How often checkout plans again when the stock it allocated changed before it could reserve it.
const PLAN_TRIES: u32 = 3;

/// What checkout needs: the table and the caller's verification, the payment providers, the
/// platform's commission and how long an unpaid order holds its stock.
pub struct CheckoutDeps {
    pub api: ApiDeps,
    pub providers: Providers,
    pub commission_rate: Decimal,
    pub payment_window: TimeDelta,
    /// The key guest links are signed with (`ORDER_LINK_SECRET`): a guest's checkout answers
    /// with a token for its group.
    pub link_key: Option<Vec<u8>>,
}

impl CheckoutDeps {
    /// `STOCKYARD_COMMISSION_RATE` (a fraction, default 0.10) and
    /// `STOCKYARD_PAYMENT_WINDOW_MINUTES` (default 15), with the providers' settings.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let rate = stockyard_platform::env_opt("STOCKYARD_COMMISSION_RATE").filter(|v| !v.is_empty());
        let commission_rate = match rate {
            Some(raw) => raw.parse::<Decimal>().map_err(|e| anyhow::anyhow!("STOCKYARD_COMMISSION_RATE: {e}"))?,
            None => Decimal::new(10, 2),
        };
        let minutes = stockyard_platform::env_opt("STOCKYARD_PAYMENT_WINDOW_MINUTES")
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|m| (1..=24 * 60).contains(m))
            .unwrap_or(DEFAULT_PAYMENT_WINDOW_MINUTES);
        Ok(Self {
            api: ApiDeps::from_env(sdk).await?,
            providers: Providers::from_env(),
            commission_rate,
            payment_window: TimeDelta::minutes(minutes),
            link_key: stockyard_platform::env_opt("ORDER_LINK_SECRET")
                .filter(|v| !v.is_empty())
                .map(String::into_bytes),
        })
    }
}

// ---- the request --------------------------------------------------------------------------------

/// A postal address given at checkout.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutAddress {
    #[schema(example = "Ada Lovelace")]
    pub recipient: String,
    #[schema(example = "12 rue de Rivoli")]
    pub line1: String,
    pub line2: Option<String>,
    #[schema(example = "Paris")]
    pub city: String,
    /// The ISO 3166-2 subdivision (without the country) where taxes or shipping depend on it.
    pub region: Option<String>,
    #[schema(example = "75001")]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "FR")]
    pub country: String,
    pub phone: Option<String>,
}

/// What to check out, where to, and how to pay.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The cart to check out (a guest sends its token in `X-Cart-Token`).
    pub cart_id: String,
    /// Where confirmations go: required for a guest; a signed-in customer's account email when
    /// absent.
    #[schema(example = "ada@example.com")]
    pub email: Option<String>,
    /// The address to ship to, given here ...
    pub shipping_address: Option<CheckoutAddress>,
    /// ... or one from the signed-in customer's address book.
    pub shipping_address_id: Option<String>,
    /// The billing address (the shipping address when neither is given).
    pub billing_address: Option<CheckoutAddress>,
    pub billing_address_id: Option<String>,
    /// The shipping option chosen per vendor (vendor id → option code); the cheapest otherwise.
    #[serde(default)]
    #[schema(example = json!({}))]
    pub shipping_options: BTreeMap<String, String>,
    /// A coupon code, any case.
    #[schema(example = "SUMMER-10")]
    pub coupon: Option<String>,
    /// `card` (the default) or `wallet`.
    pub payment_provider: Option<Provider>,
    /// The total the customer was shown (by the quote), in minor units: when given and the
    /// total is now different (a price or a rate changed), nothing is placed (409 `total_changed`).
    pub expected_total: Option<i64>,
}

/// A quote: everything a checkout would place, priced.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteResponse {
    pub cart_id: CartId,
    #[serde(flatten)]
    pub plan: CheckoutPlan,
    /// The coupon's code as applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<String>,
}

/// A placed checkout: the order group, its vendor orders, and how to pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutResponse {
    pub order_group: OrderGroup,
    pub orders: Vec<VendorOrder>,
    /// What the client completes the payment with: the card provider's `client_secret`, or the
    /// wallet provider's `approval_url`.
    pub payment: PaymentSession,
    /// A guest's key to the group: `GET /orders/{id}?token=` follows its payment, `POST
    /// /orders/{id}/cancel?token=` cancels it unpaid. Valid 90 days from placing, like the
    /// confirmation email's link; a signed-in customer's checkout has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_token: Option<String>,
}

/// What the idempotency record of a checkout holds: the group it placed.
#[derive(Debug, Serialize, Deserialize)]
struct Placed {
    order_group_id: OrderGroupId,
}

// ---- who is checking out ----------------------------------------------------------------------------

/// A signed-in customer (with the email confirmations go to) or a guest.
enum Buyer {
    Customer { id: UserId, email: String },
    Guest,
}

impl Buyer {
    fn customer_id(&self) -> Option<UserId> {
        match self {
            Buyer::Customer { id, .. } => Some(*id),
            Buyer::Guest => None,
        }
    }
}

/// The caller as the cart routes read it (a valid access token or none; a well-formed cart token
/// or none), and who that makes the buyer.
async fn buyer<'r>(deps: &'r ApiDeps, req: &'r Request) -> Result<(Shopper<'r>, Buyer), ApiError> {
    let shopper = Shopper::new(deps, req)?;
    let buyer = match shopper.customer() {
        Some(id) => Buyer::Customer { id, email: shopper.account_email().await?.unwrap_or_default() },
        None => Buyer::Guest,
    };
    Ok((shopper, buyer))
}

fn address(field: &str, sent: &CheckoutAddress) -> Result<PostalAddress, ApiError> {
    PostalAddress::parse(AddressInput {
        label: None,
        recipient: &sent.recipient,
        line1: &sent.line1,
        line2: sent.line2.as_deref(),
        city: &sent.city,
        region: sent.region.as_deref(),
        postal_code: &sent.postal_code,
        country: &sent.country,
        phone: sent.phone.as_deref(),
    })
    .map_err(|e| ApiError::Invalid(FieldError::new(format!("{field}.{}", e.field), e.message)))
}

/// An address given inline, or from the customer's book, or neither.
async fn resolve_address(
    table: &Table,
    buyer: &Buyer,
    (field, sent): (&str, Option<&CheckoutAddress>),
    (id_field, id): (&str, Option<&str>),
) -> Result<Option<PostalAddress>, ApiError> {
    match (sent, id) {
        (Some(_), Some(_)) => Err(ApiError::invalid(id_field, format!("give {field} or {id_field}, not both"))),
        (Some(sent), None) => Ok(Some(address(field, sent)?)),
        (None, Some(raw)) => {
            let Buyer::Customer { id: user, .. } = buyer else {
                return Err(ApiError::invalid(id_field, "only a signed-in customer has an address book"));
            };
            let wanted = AddressId::parse(id_field, raw)?;
            let book = addresses::list(table, *user).await?;
            let found = book
                .into_iter()
                .find(|a| a.id == wanted)
                .ok_or_else(|| ApiError::invalid(id_field, "is not an address in your address book"))?;
            Ok(Some(PostalAddress {
                label: found.label,
                recipient: found.recipient,
                line1: found.line1,
                line2: found.line2,
                city: found.city,
                region: found.region,
                postal_code: found.postal_code,
                country: found.country,
                phone: found.phone,
            }))
        }
        (None, None) => Ok(None),
    }
}

// ---- planning -----------------------------------------------------------------------------------

/// A checkout worked out from the request and what the store holds now.
struct Planned {
    cart: Cart,
    priced: PricedCart,
    lines: Vec<CheckoutLine>,
    /// Per line: the customer's limit of the variant, if it has one.
    limits: Vec<Option<u32>>,
    plan: CheckoutPlan,
    coupon: Option<Coupon>,
    ship_to: PostalAddress,
    bill_to: PostalAddress,
    email: String,
    /// Whose coupon uses and limited purchases this checkout counts.
    customer_key: String,
}

fn refusal(refused: CheckoutRefusal, lines: &[CheckoutLine]) -> ApiError {
    let message = refused.to_string();
    match refused {
        CheckoutRefusal::Empty => ApiError::unprocessable("cart_empty", Some("cart_id"), message),
        CheckoutRefusal::TooManyLines { .. } => ApiError::unprocessable("too_many_lines", Some("cart_id"), message),
        CheckoutRefusal::Currency { line } => {
            ApiError::conflict_on("cart_changed", &format!("lines[{line}]"), "the line is not in the cart's currency")
        }
        CheckoutRefusal::Short { line, requested, available, .. } => {
            let sku = lines.get(line).map(|l| l.sku.as_str()).unwrap_or_default();
            ApiError::conflict_on(
                "insufficient_stock",
                &format!("lines[{line}]"),
                format!("{sku}: {requested} asked for, {available} available"),
            )
        }
        CheckoutRefusal::NoShipping { vendor, reason } => ApiError::unprocessable(
            "no_shipping",
            Some("shipping_address.country"),
            format!("vendor {vendor}: {reason}"),
        ),
        CheckoutRefusal::UnknownOption { vendor, .. } | CheckoutRefusal::NotInCart { vendor } => {
            ApiError::invalid(&format!("shipping_options.{vendor}"), message)
        }
        CheckoutRefusal::Coupon(refused) => {
            ApiError::unprocessable(refused.code(), Some("coupon"), refused.to_string())
        }
        CheckoutRefusal::Tax(TaxError::NoRates { .. }) => {
            ApiError::unprocessable("no_tax_rates", Some("shipping_address.country"), message)
        }
        CheckoutRefusal::Tax(other) => ApiError::internal(anyhow::anyhow!("tax: {other}")),
        CheckoutRefusal::OutOfRange => ApiError::unprocessable("out_of_range", Some("cart_id"), message),
    }
}

/// The cart's lines as checkout takes them: every line buyable in full, or 409 naming the line.
fn checkout_lines(priced: &PricedCart, facts: &CartFacts) -> Result<(Vec<CheckoutLine>, Vec<Option<u32>>), ApiError> {
    let mut lines = Vec::with_capacity(priced.lines.len());
    let mut limits = Vec::with_capacity(priced.lines.len());
    for (i, line) in priced.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let fact = facts.of(line.variant_id);
        let variant = fact.and_then(|f| f.variant.as_ref());
        // Too few in stock (none at all, or fewer than the line): the stock is short, not the cart
        // changed, and the answer is the one a checkout that lost the last units to a race gets.
        let stock_short = line
            .changes
            .iter()
            .any(|c| matches!(c, cart::LineChange::QuantityReduced { reason: cart::ReductionReason::Stock, .. }));
        if let (true, Some(variant), Some(_)) = (stock_short, variant, line.unit_price) {
            return Err(ApiError::conflict_on(
                "insufficient_stock",
                &field,
                format!("{}: {} asked for, {} available", variant.sku, line.quantity, line.purchasable_quantity),
            ));
        }
        let (Some(unit_price), Some(variant), true) = (line.unit_price, variant, line.available) else {
            let why = line
                .changes
                .iter()
                .find_map(|c| match c {
                    cart::LineChange::Unavailable { reason } => Some(reason.describe()),
                    _ => None,
                })
                .unwrap_or("the line cannot be bought now");
            return Err(ApiError::conflict_on("cart_changed", &field, why));
        };
        if line.purchasable_quantity < line.quantity {
            return Err(ApiError::conflict_on(
                "cart_changed",
                &field,
                format!(
                    "{}: only {} of the {} units can be bought now; change the line's quantity",
                    variant.sku, line.purchasable_quantity, line.quantity
                ),
            ));
        }
        lines.push(CheckoutLine {
            vendor_id: line.vendor_id,
            product_id: line.product_id,
            variant_id: line.variant_id,
            sku: variant.sku.clone(),
            title: line.title.clone().unwrap_or_else(|| variant.sku.clone()),
            quantity: line.quantity,
            unit_price,
            tax_class: variant.tax_class,
            weight_g: variant.weight_g,
            size_mm: variant.dimensions.as_ref().map(|d| [d.length_mm, d.width_mm, d.height_mm]),
        });
        limits.push(variant.max_per_customer);
    }
    Ok((lines, limits))
}

/// What each vendor of the lines has: shipping settings, allocation rule, and the stock per
/// location the cart's facts already read (with each location's country).
async fn vendor_facts(
    table: &Table,
    lines: &[CheckoutLine],
    facts: &CartFacts,
    commission_rate: Decimal,
) -> Result<BTreeMap<VendorId, VendorFacts>, ApiError> {
    let mut vendors: Vec<VendorId> = lines.iter().map(|l| l.vendor_id).collect();
    vendors.sort();
    vendors.dedup();
    let read = futures_util::future::try_join_all(
        vendors.iter().map(|v| async move { tokio::try_join!(shipping::get(table, *v), locations::all(table, *v)) }),
    )
    .await?;
    let mut out = BTreeMap::new();
    for (vendor, (settings, places)) in vendors.into_iter().zip(read) {
        let mut stock_here = Vec::new();
        for line in lines.iter().filter(|l| l.vendor_id == vendor) {
            let held = facts.of(line.variant_id).map(|f| f.by_location.as_slice()).unwrap_or_default();
            for &(location, available) in held {
                if stock_here.iter().any(|s: &LocationStock| s.location == location && s.variant == line.variant_id) {
                    continue;
                }
                let country = places.iter().find(|p| p.id == location).and_then(|p| p.country.clone());
                stock_here.push(LocationStock { location, country, variant: line.variant_id, available });
            }
        }
        let allocation = settings.as_ref().map(|s| s.allocation.clone()).unwrap_or_default();
        out.insert(vendor, VendorFacts { shipping: settings, allocation, stock: stock_here, commission_rate });
    }
    Ok(out)
}

/// The coupon named, checked against its limits for this customer (the use itself is counted
/// when the order is placed).
async fn coupon(table: &Table, raw: Option<&str>, customer_key: &str) -> Result<Option<Coupon>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let code = coupon_code("coupon", raw)?;
    let unknown = || ApiError::unprocessable("coupon_unknown", Some("coupon"), "no coupon has this code");
    let coupon = coupons::by_code(table, &code).await?.ok_or_else(unknown)?;
    let used = coupons::usage(table, coupon.id, customer_key).await?;
    promotion::may_use(&coupon, used.total, used.by_customer)
        .map_err(|r| ApiError::unprocessable(r.code(), Some("coupon"), r.to_string()))?;
    Ok(Some(coupon))
}

async fn plan(
    deps: &CheckoutDeps,
    (shopper, buyer): (&Shopper<'_>, &Buyer),
    body: &CheckoutRequest,
) -> Result<Planned, ApiError> {
    let table = &deps.api.table;
    let now = Utc::now();
    let email = match (buyer, body.email.as_deref()) {
        (_, Some(raw)) => Email::parse("email", raw)?,
        (Buyer::Customer { email, .. }, None) => Email::parse("email", email)?,
        (Buyer::Guest, None) => return Err(ApiError::invalid("email", "is required to check out as a guest")),
    };
    let mut chosen = BTreeMap::new();
    for (vendor, code) in &body.shipping_options {
        let field = format!("shipping_options.{vendor}");
        chosen.insert(VendorId::parse(&field, vendor)?, code.clone());
    }
    let provider = body.payment_provider.unwrap_or(Provider::Card);
    if !deps.providers.offers(provider) {
        return Err(ApiError::invalid("payment_provider", "this payment provider is not available"));
    }
    let ship_to = resolve_address(
        table,
        buyer,
        ("shipping_address", body.shipping_address.as_ref()),
        ("shipping_address_id", body.shipping_address_id.as_deref()),
    )
    .await?
    .ok_or_else(|| ApiError::invalid("shipping_address", "give shipping_address or shipping_address_id"))?;
    let bill_to = resolve_address(
        table,
        buyer,
        ("billing_address", body.billing_address.as_ref()),
        ("billing_address_id", body.billing_address_id.as_deref()),
    )
    .await?
    .unwrap_or_else(|| ship_to.clone());

    let cart = shopper.cart(CartId::parse("cart_id", &body.cart_id)?).await?;
    if cart.lines.is_empty() {
        return Err(refusal(CheckoutRefusal::Empty, &[]));
    }
    let facts = carts::current(table, &cart).await?;
    let priced = cart::price(&cart, &facts, now);
    let (lines, limits) = checkout_lines(&priced, &facts)?;
    let customer_key = promotion::customer_key(buyer.customer_id(), &email);
    let email = email.as_str().to_string();
    let (vendors, tax, coupon) = tokio::try_join!(
        vendor_facts(table, &lines, &facts, deps.commission_rate),
        async { Ok(tax_rates::current(table).await?) },
        coupon(table, body.coupon.as_deref(), &customer_key),
    )?;
    let input = CheckoutInput {
        currency: cart.currency,
        lines: &lines,
        destination: (&ship_to.country, ship_to.region.as_deref()),
        vendors: &vendors,
        tax: &tax.table,
        coupon: coupon.as_ref(),
        chosen: &chosen,
        now,
    };
    let plan = checkout::plan(&input).map_err(|r| refusal(r, &lines))?;
    if checkout::items_held(&plan.holds) > stockyard_store::reservations::MAX_ITEMS {
        return Err(ApiError::unprocessable(
            "too_many_locations",
            Some("cart_id"),
            format!(
                "the cart's lines come from more than {} stock locations; check out fewer lines at once",
                stockyard_store::reservations::MAX_ITEMS
            ),
        ));
    }
    for (i, (line, limit)) in lines.iter().zip(&limits).enumerate() {
        if let Some(limit) = limit
            && line.quantity > *limit
        {
            return Err(ApiError::unprocessable(
                "limit_exceeded",
                Some(&format!("lines[{i}]")),
                format!("{}: at most {limit} per customer", line.sku),
            ));
        }
    }
    if let Some(expected) = body.expected_total
        && expected != plan.total.amount
    {
        return Err(ApiError::conflict_on(
            "total_changed",
            "expected_total",
            format!("the total is now {} (a price, a rate or the stock changed); quote again", plan.total),
        ));
    }
    Ok(Planned { cart, priced, lines, limits, plan, coupon, ship_to, bill_to, email, customer_key })
}

// ---- the routes ---------------------------------------------------------------------------------------

/// Price a cart for a destination: per vendor the shipping options (the cheapest and the fastest
/// named, each with its ship-by date and delivery window), the chosen one (the cheapest unless
/// `shipping_options` names another), the coupon's share of each line, the tax line by line and
/// per rate, and the totals, exactly as `POST /checkout` would place them now. Writes nothing.
/// A guest sends the cart's token in `X-Cart-Token`.
#[utoipa::path(post, path = "/checkout/quote", tag = "checkout",
    request_body = CheckoutRequest,
    params(("X-Cart-Token" = Option<String>, Header, description = "A guest's cart token")),
    responses((status = 200, body = QuoteResponse),
              (status = 400, description = "malformed_request", body = ErrorBody),
              (status = 401, description = "an Authorization header whose token is not valid", body = ErrorBody),
              (status = 404, description = "not_found: no such cart, or not the caller's", body = ErrorBody),
              (status = 409, description = "insufficient_stock (names the line, with what is available), cart_changed, total_changed", body = ErrorBody),
              (status = 422, description = "invalid_field, cart_empty, no_shipping, no_tax_rates, a coupon's refusal (names `coupon`), limit_exceeded, too_many_locations", body = ErrorBody)))]
pub async fn quote(deps: &CheckoutDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: CheckoutRequest = json_body(&req)?;
    let (shopper, buyer) = buyer(&deps.api, &req).await?;
    let planned = plan(deps, (&shopper, &buyer), &body).await?;
    let coupon = planned.coupon.as_ref().map(|c| c.code.clone());
    Ok(json(StatusCode::OK, &QuoteResponse { cart_id: planned.cart.id, plan: planned.plan, coupon }))
}

/// Place the order: reserve every line's stock, split the group into one order per vendor
/// (commission and promised ship date frozen), count the coupon's use, empty the cart, and open
/// the payment: the response carries the card provider's `client_secret` or the wallet
/// provider's `approval_url`. Requires `Idempotency-Key`: a retry answers with the same group
/// (201, `Idempotent-Replayed: true`); the key with another body is refused. Unpaid, the order
/// gives its stock and coupon use back at `expires_at` (worst case a minute later).
#[utoipa::path(post, path = "/checkout", tag = "checkout",
    request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "Required: one key per checkout attempt"),
           ("X-Cart-Token" = Option<String>, Header, description = "A guest's cart token")),
    responses((status = 201, body = CheckoutResponse),
              (status = 400, description = "malformed_request; Idempotency-Key missing", body = ErrorBody),
              (status = 401, description = "an Authorization header whose token is not valid", body = ErrorBody),
              (status = 404, description = "not_found: no such cart, or not the caller's", body = ErrorBody),
              (status = 409, description = "insufficient_stock (names the line, with what is available), cart_changed, total_changed", body = ErrorBody),
              (status = 422, description = "invalid_field, cart_empty, no_shipping, no_tax_rates, a coupon's refusal (names `coupon`), limit_exceeded, too_many_locations, idempotency_key_reused", body = ErrorBody),
              (status = 502, description = "payment_provider_unavailable: the order is placed and its stock held; retry with the same Idempotency-Key to open its payment", body = ErrorBody),
              (status = 503, description = "service_busy: the stock is changing too fast; retry with the same Idempotency-Key", body = ErrorBody)))]
pub async fn place(deps: &CheckoutDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let body: CheckoutRequest = json_body(&req)?;
    let (shopper, buyer) = buyer(&deps.api, &req).await?;
    let table = shopper.table().await?;
    let scope = match &buyer {
        Buyer::Customer { id, .. } => id.to_string(),
        Buyer::Guest => format!("guest:{}", body.cart_id.trim()),
    };
    let key = Idempotency::from_request(&req, &scope)?.ok_or_else(|| ApiError::Malformed {
        message: "Idempotency-Key: required, so that a retried checkout places one order".into(),
        field: Some("Idempotency-Key".into()),
    })?;
    if let Some(group) = placed_before(table, &key).await? {
        return respond(deps, group, true).await;
    }
    let provider = body.payment_provider.unwrap_or(Provider::Card);
    let mut tries = 0;
    let group = loop {
        tries += 1;
        let planned = plan(deps, (&shopper, &buyer), &body).await?;
        let (group, orders) = records(deps, &buyer, &planned, provider);
        match write(table, &planned, (&group, &orders), &key).await {
            Ok(()) => break group.id,
            Err(Written::Replay) => {
                let group = placed_before(table, &key).await?.ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("a concurrent checkout with this key left no record"))
                })?;
                return respond(deps, group, true).await;
            }
            // The stock moved between planning and reserving: plan again on what is there now.
            Err(Written::Short { .. }) if tries < PLAN_TRIES => continue,
            Err(Written::Short { hold, available }) => {
                let held = &planned.plan.holds[hold.min(planned.plan.holds.len().saturating_sub(1))];
                let line = planned.lines.iter().position(|l| l.variant_id == held.variant_id).unwrap_or(0);
                return Err(ApiError::conflict_on(
                    "insufficient_stock",
                    &format!("lines[{line}]"),
                    format!(
                        "{}: {} asked for, {available} available",
                        planned.lines[line].sku, planned.lines[line].quantity
                    ),
                ));
            }
            Err(Written::Refused(error)) => return Err(error),
        }
    };
    respond(deps, group, false).await
}

async fn placed_before(table: &Table, key: &Idempotency) -> Result<Option<OrderGroupId>, ApiError> {
    let Some((_, body)) = key.recorded(table).await? else { return Ok(None) };
    let placed: Placed = serde_json::from_str(&body).map_err(ApiError::internal)?;
    Ok(Some(placed.order_group_id))
}

/// The group and its vendor orders a plan makes.
fn records(
    deps: &CheckoutDeps,
    buyer: &Buyer,
    planned: &Planned,
    provider: Provider,
) -> (OrderGroup, Vec<VendorOrder>) {
    let now = Utc::now();
    let id = OrderGroupId::generate();
    let customer_id = buyer.customer_id();
    let entry = TimelineEntry { at: now, status: OrderStatus::PendingPayment, note: Some("placed".into()) };
    let orders: Vec<VendorOrder> = planned
        .plan
        .vendors
        .iter()
        .map(|v| VendorOrder {
            id: OrderId::generate(),
            group_id: id,
            vendor_id: v.vendor_id,
            customer_id,
            status: OrderStatus::PendingPayment,
            lines: v.lines.clone(),
            totals: v.totals.clone(),
            commission_rate: v.commission_rate,
            promised_ship_by: Some(v.shipping.ship_by),
            shipping: Some(v.shipping.clone()),
            tax: Some(v.tax.clone()),
            timeline: vec![entry.clone()],
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let coupon = planned.coupon.as_ref().map(|c| CouponUse {
        coupon_id: c.id,
        code: c.code.clone(),
        customer: planned.customer_key.clone(),
        amount: planned.plan.discount.as_ref().map(|d| d.total).unwrap_or(Money::zero(planned.plan.currency)),
    });
    let limited = planned
        .lines
        .iter()
        .zip(&planned.limits)
        .filter_map(|(line, limit)| {
            limit.map(|limit| LimitedPurchase {
                variant_id: line.variant_id,
                quantity: line.quantity,
                limit,
                customer: planned.customer_key.clone(),
            })
        })
        .collect();
    let group = OrderGroup {
        id,
        customer_id,
        email: planned.email.clone(),
        currency: planned.plan.currency,
        locale: planned.priced.locale.to_string(),
        orders: orders.iter().map(|o| (o.vendor_id, o.id)).collect(),
        total: planned.plan.total,
        status: OrderStatus::PendingPayment,
        holds: planned.plan.holds.clone(),
        expires_at: now + deps.payment_window,
        payment_reference: None,
        refunds_due: Vec::new(),
        disputes: Vec::new(),
        shipping_address: Some(planned.ship_to.clone()),
        billing_address: Some(planned.bill_to.clone()),
        payment: None,
        payment_provider: Some(provider),
        coupon,
        limited,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    (group, orders)
}

/// Why the placing transaction wrote nothing.
enum Written {
    /// A concurrent request with the same key placed the order.
    Replay,
    /// The hold at this index found too little available.
    Short {
        hold: usize,
        available: u32,
    },
    Refused(ApiError),
}

async fn write(
    table: &Table,
    planned: &Planned,
    (group, orders): (&OrderGroup, &[VendorOrder]),
    key: &Idempotency,
) -> Result<(), Written> {
    let actor = match group.customer_id {
        Some(id) => Actor::User { id },
        None => Actor::System { name: "guest-checkout".into() },
    };
    let placed = Placed { order_group_id: group.id };
    let result = orders::place_with(table, (group, orders), &actor, Utc::now().date_naive(), |tx| {
        carts::checked_out(tx, &planned.cart)?;
        if let Some(used) = &group.coupon
            && let Some(coupon) = &planned.coupon
        {
            coupons::count_use(tx, coupon, &used.customer, group.id)?;
        }
        for limited in &group.limited {
            coupons::count_purchase(
                tx,
                limited.variant_id,
                &limited.customer,
                limited.quantity,
                limited.limit,
                group.id,
            )?;
        }
        remember(Some(key), StatusCode::CREATED, &placed, tx)
    })
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(ReserveError::Short { index, available, .. }) => Err(Written::Short { hold: index, available }),
        Err(ReserveError::TooManyItems) => Err(Written::Refused(ApiError::unprocessable(
            "too_many_locations",
            Some("cart_id"),
            "the cart's lines come from too many stock locations; check out fewer lines at once",
        ))),
        Err(ReserveError::Store(StoreError::Conflict { step })) => Err(match step.as_ref() {
            s if s == idempotency::STEP => Written::Replay,
            "cart" => Written::Refused(ApiError::conflict_on(
                "cart_changed",
                "cart_id",
                "the cart changed while it was being checked out; read it and try again",
            )),
            "coupon_total" => Written::Refused(ApiError::unprocessable(
                "usage_limit_reached",
                Some("coupon"),
                "this coupon has been used as often as it may be",
            )),
            "coupon_customer" | "coupon_use" => Written::Refused(ApiError::unprocessable(
                "customer_limit_reached",
                Some("coupon"),
                "you have used this coupon as often as you may",
            )),
            s if s.starts_with("purchase_limit") => Written::Refused(ApiError::unprocessable(
                "limit_exceeded",
                Some("cart_id"),
                "a limited item: you have bought as many as one customer may",
            )),
            other => Written::Refused(ApiError::internal(anyhow::anyhow!("checkout failed at step {other}"))),
        }),
        Err(ReserveError::Store(other)) => Err(Written::Refused(other.into())),
    }
}

/// The group as it is now, with its payment opened (once) if it has none yet.
async fn respond(deps: &CheckoutDeps, id: OrderGroupId, replayed: bool) -> Result<Response<Body>, ApiError> {
    let table = &deps.api.table;
    let mut group = orders::group(table, id).await?.ok_or(ApiError::NotFound("order group"))?;
    if group.payment.is_none() {
        let provider = group_provider(&group);
        let session = deps.providers.open(provider, group.id, group.total).await.map_err(unavailable)?;
        if orders::set_payment(table, group.id, &session).await? {
            group.payment = Some(session);
        } else {
            // A concurrent retry recorded it first: answer with what is recorded.
            group = orders::group(table, id).await?.ok_or(ApiError::NotFound("order group"))?;
        }
    }
    let payment = group.payment.clone().ok_or_else(|| ApiError::internal(anyhow::anyhow!("no payment recorded")))?;
    let orders = orders::orders_of(table, id).await?;
    let order_token = match (&deps.link_key, group.customer_id) {
        (Some(key), None) => Some(order_link::sign(key, group.id, order_link::expiry_from(group.created_at))),
        _ => None,
    };
    let mut response =
        json(StatusCode::CREATED, &CheckoutResponse { order_group: group, orders, payment, order_token });
    if replayed {
        response.headers_mut().insert("idempotent-replayed", "true".parse().expect("static header"));
    }
    Ok(response)
}

fn group_provider(group: &OrderGroup) -> Provider {
    group.payment.as_ref().map(|p| p.provider).or(group.payment_provider).unwrap_or(Provider::Card)
}

fn unavailable(error: ProviderError) -> ApiError {
    tracing::warn!(%error, "opening a payment failed");
    ApiError::BadGateway {
        code: "payment_provider_unavailable",
        message: "the order is placed and its stock held, but the payment provider did not answer; retry with the same Idempotency-Key".into(),
    }
}
