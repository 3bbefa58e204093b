//! The cart routes. Every answer is the cart priced again now ([`PricedCart`]): each line with its
//! unit price, what can be bought of it and what changed since it was added or last set.
//!
//! A change is decided on the cart as read and written on that version; when another change got
//! there first (two tabs), the request decides again on the cart as it is now, a few times, and
//! then answers 409 `changed_meanwhile`. Setting a line's quantity is absolute, so deciding again
//! is what the shopper meant.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use stockyard_domain::cart::{
    Cart, CartFacts, CartOwner, LineRefusal, MAX_LINE_QUANTITY, MAX_LINES, MergeReport, PricedCart, UnavailableReason,
    price, token_hash,
};
use stockyard_domain::ids::{CartId, ProductId, VariantId, VendorId};
use stockyard_domain::locale::{Locale, wanted};
use stockyard_domain::money::Currency;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{header, json_body, path};
use stockyard_http::response::{created, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Request, Response};
use stockyard_store::carts::{CART_STEP, CUSTOMER_CART_STEP, GUEST_CART_STEP};
use stockyard_store::{StoreError, carts, products};
use utoipa::ToSchema;

use crate::access::{CartToken, Shopper, new_token, parse_token};

/// How many times a change is decided again after losing a race, before 409.
const TRIES: usize = 4;

fn changed_meanwhile() -> ApiError {
    ApiError::conflict("changed_meanwhile", "the cart kept changing meanwhile; read it again and retry")
}

fn lost_race(e: &StoreError) -> bool {
    matches!(e, StoreError::ConditionFailed)
        || e.failed_at(CART_STEP)
        || e.failed_at(CUSTOMER_CART_STEP)
        || e.failed_at(GUEST_CART_STEP)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartRequest {
    /// What the cart is priced in. A signed-in customer's existing cart moves to it.
    #[schema(value_type = Currency)]
    pub currency: String,
    /// What the cart's titles are in; default the first language of `Accept-Language`, else `en`
    /// (an existing cart keeps its own unless one is sent).
    #[schema(value_type = Option<Locale>)]
    pub locale: Option<String>,
}

/// A cart as `POST /carts` answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedCart {
    #[serde(flatten)]
    pub cart: PricedCart,
    /// A guest cart's token, shown this once: send it as `X-Cart-Token` on every later call for
    /// this cart. Absent for a customer's cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<CartToken>)]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLineRequest {
    /// Units of the variant the line holds, 1 to 99 (at most the variant's `max_per_customer`, and
    /// at most what is available).
    #[schema(minimum = 1, maximum = 99, example = 2)]
    pub quantity: i64,
}

// The schema's bounds are the domain's.
const _: () = assert!(MAX_LINE_QUANTITY == 99 && MAX_LINES == 25);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCartRequest {
    /// The guest cart to merge.
    #[schema(value_type = CartId)]
    pub cart_id: String,
    /// Its token.
    #[schema(value_type = CartToken)]
    pub token: String,
}

/// The customer's cart after a merge, and what the merge could not take whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct MergedCart {
    pub cart: PricedCart,
    #[serde(flatten)]
    pub report: MergeReport,
}

fn currency_of(raw: &str) -> Result<Currency, ApiError> {
    Ok(Currency::parse("currency", raw)?)
}

fn default_locale() -> Locale {
    Locale::parse("locale", "en").expect("en is a language tag")
}

/// The lines' variants, as the loader takes them.
fn items(cart: &Cart) -> Vec<(VendorId, ProductId, VariantId)> {
    cart.lines.iter().map(|l| (l.vendor_id, l.product_id, l.variant_id)).collect()
}

/// Make a cart, or get mine. Signed in: the customer's one cart (201 when made now, 200 when it
/// exists; a different `currency` moves it there and prices it again, a `locale` sent replaces
/// its own). Anonymous: a new guest cart, whose `token` the answer carries this once; send it as
/// `X-Cart-Token` on every later call. Guest carts expire 7 days after their last change,
/// customers' 60 days.
#[utoipa::path(post, path = "/carts", tag = "cart", security((), ("bearer" = [])),
    request_body = CreateCartRequest,
    params(("Accept-Language" = Option<String>, Header, description = "The default locale of a new cart")),
    responses((status = 201, description = "A new cart (a guest's with its token)", body = CreatedCart),
              (status = 200, description = "The signed-in customer's existing cart", body = CreatedCart),
              (status = 403, description = "forbidden: an API key cannot use carts", body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody)))]
pub async fn create_cart(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Shopper::new(deps, &req)?;
    let body: CreateCartRequest = json_body(&req)?;
    let currency = currency_of(&body.currency)?;
    let sent_locale = body.locale.as_deref().map(|raw| Locale::parse("locale", raw)).transpose()?;
    let locale = sent_locale
        .clone()
        .or_else(|| wanted(header(&req, "accept-language")).into_iter().next())
        .unwrap_or_else(default_locale);
    let table = shopper.table().await?;
    let Some(customer) = shopper.customer() else {
        let token = new_token()?;
        let cart = Cart::new(CartOwner::Guest { token_hash: token_hash(&token) }, currency, locale, Utc::now());
        carts::create(table, &cart).await?;
        let cart = price(&cart, &CartFacts::default(), Utc::now());
        return Ok(created(&CreatedCart { cart, token: Some(token) }));
    };
    for _ in 0..TRIES {
        let now = Utc::now();
        let Some(cart) = carts::of_customer(table, customer).await? else {
            let cart = Cart::new(CartOwner::Customer { customer_id: customer }, currency, locale.clone(), now);
            match carts::create(table, &cart).await {
                Ok(()) => {
                    let cart = price(&cart, &CartFacts::default(), now);
                    return Ok(created(&CreatedCart { cart, token: None }));
                }
                Err(e) if lost_race(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        let mut next = cart.clone();
        if let Some(locale) = &sent_locale {
            next.locale = locale.clone();
        }
        let facts = carts::current(table, &next).await?;
        if next.currency == currency && next.locale == cart.locale {
            return Ok(ok(&CreatedCart { cart: price(&cart, &facts, now), token: None }));
        }
        next.rebase(currency, &facts, now);
        next.touch(now);
        match carts::save(table, &next, cart.version).await {
            Ok(()) => return Ok(ok(&CreatedCart { cart: price(&next, &facts, now), token: None })),
            Err(e) if lost_race(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(changed_meanwhile())
}

/// A cart priced again now: each line's unit price now, what can be bought of it, and what
/// changed since it was added or last set (`price_changed`, `unavailable`, `quantity_reduced`);
/// the totals count what can be bought. The cart's customer, or a guest with its token; 404 for
/// anyone else, and for a cart that is gone or expired.
#[utoipa::path(get, path = "/carts/{cartId}", tag = "cart", security((), ("bearer" = [])),
    params(("cartId" = CartId, Path),
           ("X-Cart-Token" = Option<String>, Header, min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$",
            description = "A guest cart's token, as `POST /carts` gave it")),
    responses((status = 200, body = PricedCart),
              (status = 403, description = "forbidden: an API key cannot use carts", body = ErrorBody)))]
pub async fn get_cart(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Shopper::new(deps, &req)?;
    let id = path(&req, "cartId", CartId::parse)?;
    let cart = shopper.cart(id).await?;
    let facts = carts::current(shopper.table().await?, &cart).await?;
    Ok(ok(&price(&cart, &facts, Utc::now())))
}

fn refusal(refused: LineRefusal, new_line: bool) -> ApiError {
    match refused {
        // A variant not on sale is not shown to shoppers: a new line names nothing they may see.
        LineRefusal::Unavailable(reason) if new_line && reason != UnavailableReason::NoPrice => {
            ApiError::NotFound("variant")
        }
        LineRefusal::Unavailable(reason) => {
            ApiError::unprocessable("variant_unavailable", Some("variantId"), reason.describe())
        }
        LineRefusal::TooManyLines => ApiError::unprocessable(
            "too_many_lines",
            Some("variantId"),
            format!("a cart holds at most {MAX_LINES} lines: remove one first"),
        ),
        LineRefusal::OverLimit { max, available } => {
            let why = if max < MAX_LINE_QUANTITY {
                format!("the vendor sells at most {max} per customer")
            } else {
                format!("a line holds at most {max}")
            };
            let possible = max.min(available);
            ApiError::invalid("quantity", format!("must be at most {possible}: {why}, and {available} are available"))
        }
        LineRefusal::OverStock { available } => ApiError::unprocessable(
            "insufficient_stock",
            Some("quantity"),
            format!("must be at most {available}: only {available} are available"),
        ),
    }
}

/// Put a variant in the cart, or set how many its line holds (1 to 99). The line remembers the
/// unit price now. Refused, changing nothing: a variant not on sale (404), one with no price in the
/// cart's currency (422 `variant_unavailable`), a 26th line (422 `too_many_lines`), a quantity
/// over 99 or the variant's `max_per_customer` (422 `invalid_field`) or over what is available
/// (422 `insufficient_stock`); each names its field and what is possible.
#[utoipa::path(put, path = "/carts/{cartId}/lines/{variantId}", tag = "cart", security((), ("bearer" = [])),
    request_body = SetLineRequest,
    params(("cartId" = CartId, Path), ("variantId" = VariantId, Path),
           ("X-Cart-Token" = Option<String>, Header, min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$",
            description = "A guest cart's token, as `POST /carts` gave it")),
    responses((status = 200, body = PricedCart),
              (status = 403, description = "forbidden: an API key cannot use carts", body = ErrorBody),
              (status = 404, description = "not_found: no such cart for this caller, or the variant is not on sale", body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody),
              (status = 422, description = "invalid_field (`quantity`), insufficient_stock (`quantity`), too_many_lines, variant_unavailable", body = ErrorBody)))]
pub async fn put_cart_line(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Shopper::new(deps, &req)?;
    let id = path(&req, "cartId", CartId::parse)?;
    let variant = path(&req, "variantId", VariantId::parse)?;
    let body: SetLineRequest = json_body(&req)?;
    let quantity = u32::try_from(body.quantity)
        .ok()
        .filter(|q| (1..=MAX_LINE_QUANTITY).contains(q))
        .ok_or_else(|| ApiError::invalid("quantity", format!("must be from 1 to {MAX_LINE_QUANTITY}")))?;
    let table = shopper.table().await?;
    for _ in 0..TRIES {
        let cart = shopper.cart(id).await?;
        let mut variants = items(&cart);
        let new_line = cart.line(variant).is_none();
        if new_line {
            let found = products::variant_by_id(table, variant).await?.ok_or(ApiError::NotFound("variant"))?;
            variants.push((found.vendor_id, found.product_id, found.id));
        }
        let facts = carts::facts(table, &variants, &cart.locale).await?;
        let now = Utc::now();
        let mut next = cart.clone();
        next.set_line(variant, quantity, &facts, now).map_err(|r| refusal(r, new_line))?;
        next.touch(now);
        match carts::save(table, &next, cart.version).await {
            Ok(()) => return Ok(ok(&price(&next, &facts, now))),
            Err(e) if lost_race(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(changed_meanwhile())
}

/// Take a variant's line out of the cart (404 when the cart has none).
#[utoipa::path(delete, path = "/carts/{cartId}/lines/{variantId}", tag = "cart", security((), ("bearer" = [])),
    params(("cartId" = CartId, Path), ("variantId" = VariantId, Path),
           ("X-Cart-Token" = Option<String>, Header, min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$",
            description = "A guest cart's token, as `POST /carts` gave it")),
    responses((status = 200, body = PricedCart),
              (status = 403, description = "forbidden: an API key cannot use carts", body = ErrorBody),
              (status = 404, description = "not_found: no such cart for this caller, or no line of this variant in it", body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody)))]
pub async fn delete_cart_line(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Shopper::new(deps, &req)?;
    let id = path(&req, "cartId", CartId::parse)?;
    let variant = path(&req, "variantId", VariantId::parse)?;
    let table = shopper.table().await?;
    for _ in 0..TRIES {
        let cart = shopper.cart(id).await?;
        let mut next = cart.clone();
        if !next.remove_line(variant) {
            return Err(ApiError::NotFound("cart line"));
        }
        let now = Utc::now();
        next.touch(now);
        match carts::save(table, &next, cart.version).await {
            Ok(()) => {
                let facts = carts::current(table, &next).await?;
                return Ok(ok(&price(&next, &facts, now)));
            }
            Err(e) if lost_race(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(changed_meanwhile())
}

/// At sign-in: merge a guest cart (its id and token) into the customer's cart, made if they have
/// none. The guest cart's currency and locale are taken; quantities of a variant in both add up
/// within the line's limit (`capped` lists those held at it); guest lines that do not fit the 25
/// are left out (`dropped`). The guest cart is deleted. Sending the same merge again changes
/// nothing and answers the customer's cart: it remembers the guest carts merged into it.
#[utoipa::path(post, path = "/carts/merge", tag = "cart", security(("bearer" = [])),
    request_body = MergeCartRequest,
    responses((status = 200, body = MergedCart),
              (status = 403, description = "forbidden: an API key cannot use carts", body = ErrorBody),
              (status = 404, description = "not_found: no guest cart with this id and token", body = ErrorBody),
              (status = 409, description = "changed_meanwhile", body = ErrorBody)))]
pub async fn merge_cart(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let shopper = Shopper::new(deps, &req)?;
    let customer = shopper.signed_in()?;
    let body: MergeCartRequest = json_body(&req)?;
    let guest_id = CartId::parse("cart_id", &body.cart_id)?;
    let token = parse_token("token", &body.token)?;
    let table = shopper.table().await?;
    for _ in 0..TRIES {
        let (mine, guest) = tokio::try_join!(carts::of_customer(table, customer), carts::get(table, guest_id))?;
        let Some(guest) = guest.filter(|g| g.is_guest() && g.may_use(None, Some(&token))) else {
            // Merged already: the same merge again answers the cart it went into.
            if let Some(mine) = mine.filter(|m| m.merged_carts.contains(&guest_id)) {
                let facts = carts::current(table, &mine).await?;
                let cart = price(&mine, &facts, Utc::now());
                return Ok(ok(&MergedCart { cart, report: MergeReport::default() }));
            }
            return Err(ApiError::NotFound("cart"));
        };
        let now = Utc::now();
        let read_version = mine.as_ref().map(|m| m.version);
        let mut merged = mine.unwrap_or_else(|| {
            Cart::new(CartOwner::Customer { customer_id: customer }, guest.currency, guest.locale.clone(), now)
        });
        let mut variants = items(&merged);
        variants.extend(items(&guest).into_iter().filter(|(_, _, v)| merged.line(*v).is_none()));
        let facts = carts::facts(table, &variants, &guest.locale).await?;
        let report = merged.merge(&guest, &facts, now);
        if read_version.is_some() {
            merged.touch(now);
        }
        match carts::merge(table, &guest, &merged, read_version).await {
            Ok(()) => return Ok(ok(&MergedCart { cart: price(&merged, &facts, now), report })),
            Err(e) if lost_race(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(changed_meanwhile())
}

#[cfg(test)]
mod tests {
    use lambda_http::http::HeaderValue;
    use serde_json::{Value, json};
    use stockyard_http::serve::handle;
    use stockyard_testkit::{customer_token, error_of, request, unreachable_api_deps};

    use super::*;

    const CART: &str = "01JD2Z8Q4Y6W3V5T7R9P1N3M5K";
    const VARIANT: &str = "01JD2Z8Q4Y6W3V5T7R9P1N3M5M";

    /// Answers a request against a store nobody listens on: a 4xx proves nothing was read.
    async fn refused<F, Fut>(handler: F, req: Request) -> (u16, Value)
    where
        F: FnOnce(&'static ApiDeps, Request) -> Fut,
        Fut: Future<Output = Result<Response<Body>, ApiError>>,
    {
        let deps: &'static ApiDeps = Box::leak(Box::new(unreachable_api_deps()));
        let resp = handle(req, |r| handler(deps, r)).await;
        (resp.status().as_u16(), error_of(&resp))
    }

    fn with_token(mut req: Request, token: &str) -> Request {
        req.headers_mut().insert("x-cart-token", HeaderValue::from_str(token).unwrap());
        req
    }

    fn line(body: &str) -> Request {
        let params = json!({ "cartId": CART, "variantId": VARIANT });
        request("PUT", "/carts/{cartId}/lines/{variantId}", params, Value::Null, Some(body), None)
    }

    #[tokio::test]
    async fn bad_cart_bodies_are_refused_naming_the_field_before_anything_is_read() {
        let cases = [
            (r#"{"currency":"EUR","colour":"red"}"#, 400, "colour"),
            (r#"{"currency":978}"#, 400, "currency"),
            (r#"{"locale":"en"}"#, 400, "currency"),
            (r#"{"currency":"XYZ"}"#, 422, "currency"),
            (r#"{"currency":"EUR","locale":"not a locale"}"#, 422, "locale"),
        ];
        for (body, status, field) in cases {
            let req = request("POST", "/carts", Value::Null, Value::Null, Some(body), None);
            let (got, error) = refused(create_cart, req).await;
            assert_eq!((got, error["field"].as_str()), (status, Some(field)), "{body}: {error}");
        }
    }

    #[tokio::test]
    async fn a_line_quantity_outside_1_to_99_or_of_the_wrong_type_is_refused_before_anything_is_read() {
        let token = crate::access::new_token().unwrap();
        let cases = [
            (r#"{"quantity":0}"#, 422, "quantity"),
            (r#"{"quantity":100}"#, 422, "quantity"),
            (r#"{"quantity":-1}"#, 422, "quantity"),
            (r#"{"quantity":"2"}"#, 400, "quantity"),
            (r#"{"quantity":2.5}"#, 400, "quantity"),
            (r#"{"quantity":2,"price":1}"#, 400, "price"),
            (r#"{}"#, 400, "quantity"),
        ];
        for (body, status, field) in cases {
            let (got, error) = refused(put_cart_line, with_token(line(body), &token)).await;
            assert_eq!((got, error["field"].as_str()), (status, Some(field)), "{body}: {error}");
        }
    }

    #[tokio::test]
    async fn a_malformed_cart_token_or_id_is_refused_and_a_bad_access_token_is_401() {
        for bad in ["not-a-token", "", " "] {
            let (status, error) = refused(put_cart_line, with_token(line(r#"{"quantity":1}"#), bad)).await;
            assert_eq!((status, error["field"].as_str()), (422, Some("X-Cart-Token")), "{bad:?}: {error}");
        }
        let params = json!({ "cartId": "not-an-id" });
        let req = request("GET", "/carts/{cartId}", params, Value::Null, None, None);
        let (status, error) = refused(get_cart, req).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("cartId")), "{error}");
        let params = json!({ "cartId": CART });
        let req = request("GET", "/carts/{cartId}", params, Value::Null, None, Some("not.a.jwt"));
        assert_eq!(refused(get_cart, req).await.0, 401);
        let req = request("GET", "/carts/{cartId}", json!({ "cartId": CART }), Value::Null, None, Some("syk_x_y"));
        assert_eq!(refused(get_cart, req).await.0, 401, "a malformed API key");
    }

    #[tokio::test]
    async fn merging_needs_a_signed_in_customer_and_a_well_formed_guest_cart() {
        let body = json!({ "cart_id": CART, "token": crate::access::new_token().unwrap() }).to_string();
        let req = request("POST", "/carts/merge", Value::Null, Value::Null, Some(&body), None);
        assert_eq!(refused(merge_cart, req).await.0, 401);
        let token = customer_token("ada@example.com");
        let cases = [
            (json!({ "cart_id": "nope", "token": crate::access::new_token().unwrap() }), 422, "cart_id"),
            (json!({ "cart_id": CART, "token": "short" }), 422, "token"),
            (json!({ "cart_id": CART }), 400, "token"),
            (json!({ "cart_id": CART, "token": crate::access::new_token().unwrap(), "x": 1 }), 400, "x"),
        ];
        for (body, status, field) in cases {
            let body = body.to_string();
            let req = request("POST", "/carts/merge", Value::Null, Value::Null, Some(&body), Some(&token));
            let (got, error) = refused(merge_cart, req).await;
            assert_eq!((got, error["field"].as_str()), (status, Some(field)), "{body}: {error}");
        }
    }

    #[test]
    fn the_documented_token_pattern_is_the_one_tokens_are_checked_against() {
        use utoipa::OpenApi;
        let document = serde_json::to_value(crate::openapi::CartApi::openapi()).unwrap();
        let params = &document["paths"]["/carts/{cartId}"]["get"]["parameters"];
        let header = params.as_array().unwrap().iter().find(|p| p["name"] == "X-Cart-Token").unwrap();
        assert_eq!(header["schema"]["pattern"], stockyard_domain::cart::TOKEN_PATTERN);
        assert_eq!(header["required"], false);
        for _ in 0..64 {
            let token = crate::access::new_token().unwrap();
            let last = token.chars().last().unwrap();
            assert!("AEIMQUYcgkosw048".contains(last), "{token}");
        }
    }

    #[test]
    fn refusals_name_the_field_and_what_is_possible() {
        let over = refusal(LineRefusal::OverLimit { max: 2, available: 10 }, true);
        assert_eq!((over.code(), over.field()), ("invalid_field", Some("quantity")));
        assert!(over.to_string().contains("at most 2"), "{over}");
        let over = refusal(LineRefusal::OverLimit { max: 99, available: 40 }, false);
        assert!(over.to_string().starts_with("quantity: must be at most 40"), "{over}");
        let short = refusal(LineRefusal::OverStock { available: 3 }, false);
        assert_eq!((short.code(), short.field()), ("insufficient_stock", Some("quantity")));
        assert!(short.to_string().contains("at most 3"));
        let many = refusal(LineRefusal::TooManyLines, true);
        assert_eq!((many.code(), many.field()), ("too_many_lines", Some("variantId")));
        let hidden = refusal(LineRefusal::Unavailable(UnavailableReason::ProductUnpublished), true);
        assert_eq!(hidden.code(), "not_found");
        let gone = refusal(LineRefusal::Unavailable(UnavailableReason::ProductUnpublished), false);
        assert_eq!((gone.code(), gone.field()), ("variant_unavailable", Some("variantId")));
        let unpriced = refusal(LineRefusal::Unavailable(UnavailableReason::NoPrice), true);
        assert_eq!(unpriced.code(), "variant_unavailable");
    }
}
