//! Returns and refunds: a customer asks to send back shipped units of a vendor order (with a
//! reason, within the return window), the vendor's owner or order handlers approve or reject,
//! record what arrived (restocked through the ledger, or written off), and the refund goes to the
//! payment provider that took the payment. The provider's answer and its webhook settle the
//! refund, once; a refund that succeeded gets a credit note numbered in the vendor's sequence.

use chrono::{NaiveDate, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{LocationId, OrderGroupId, OrderId, ReturnId, VendorId};
use stockyard_domain::order::OrderStatus;
use stockyard_domain::returns::{
    self, MAX_RETURN_LINES, ProviderRefundState, Refund, RefundStatus, ReturnError, ReturnReason, ReturnRequest,
    ReturnStatus,
};
use stockyard_domain::roles::{PlatformRole, VendorPermission};
use stockyard_domain::stock::MAX_QUANTITY;
use stockyard_http::error::ErrorBody;
use stockyard_http::idempotency::remember;
use stockyard_http::openapi::IdempotencyParams;
use stockyard_http::response::{ListResponse, json, ok};
use stockyard_http::{ApiDeps, ApiError, Body, Ctx, Request, Response};
use stockyard_store::returns::{self as store, ArrivedLine, ReceiveFailure, Received, Settled};
use stockyard_store::{Table, orders};
use utoipa::ToSchema;

use crate::providers::Providers;

/// The API's dependencies and the payment providers refunds go through.
pub struct RefundDeps {
    pub api: ApiDeps,
    pub providers: Providers,
}

impl RefundDeps {
    /// The API's dependencies and `STOCKYARD_CARD_API_*` / `STOCKYARD_WALLET_API_*`.
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { api: ApiDeps::from_env(sdk).await?, providers: Providers::from_env() })
    }
}

/// A return with its refund, once there is one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView {
    #[serde(flatten)]
    pub ret: ReturnRequest,
    /// The refund of what came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<Refund>,
}

fn refused(error: ReturnError) -> ApiError {
    match error {
        ReturnError::NotReturnable(status) => ApiError::conflict(
            "order_not_returnable",
            format!("an order that is {status} has nothing to return: only shipped units can be sent back"),
        ),
        ReturnError::WindowClosed(day) => ApiError::conflict(
            "return_window_closed",
            format!(
                "returns of this order could be asked for until {day} ({} days after its delivery)",
                returns::RETURN_WINDOW_DAYS
            ),
        ),
        ReturnError::State(status, step) => {
            ApiError::conflict("return_state", format!("a return that is {status} cannot be {step}"))
        }
        ReturnError::Field(e) => ApiError::Invalid(e),
        ReturnError::Money(e) => ApiError::internal(anyhow::anyhow!("{e}")),
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    /// The SKU of one of the order's lines.
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units to send back: 1 up to those shipped and not yet returned.
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 1)]
    pub quantity: i64,
    pub reason: ReturnReason,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    /// The vendor order (of this group) the units come from.
    pub order_id: OrderId,
    /// 1 to 20 lines, each SKU once.
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Vec<ReturnLineBody>,
    /// Up to 1,000 characters for the vendor.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Ask to return shipped units of one of the group's vendor orders (the group's customer, signed
/// in): each line once, with a reason, within 30 days of the order's delivery (units of a parcel
/// that arrived may be sent back before the rest of the order is delivered). Units in another
/// open return, or refunded, cannot be asked for again. The vendor approves or rejects it. With an
/// `Idempotency-Key`, a retry answers the same return.
#[utoipa::path(post, path = "/orders/{groupId}/returns", tag = "returns", security(("bearer" = ["customer"])),
    request_body = ReturnBody,
    params(("groupId" = OrderGroupId, Path), IdempotencyParams),
    responses((status = 201, body = ReturnRequest), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, description = "not_found: no such order, or not the caller's", body = ErrorBody),
              (status = 409, description = "order_not_returnable (nothing shipped, or refunded); return_window_closed", body = ErrorBody),
              (status = 422, description = "invalid_field (names it: an order not of this group, a SKU not in the order or twice, more units than may be returned, the comment)", body = ErrorBody)))]
pub async fn request_return(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let group_id = cx.path("groupId", OrderGroupId::parse)?;
    let body: ReturnBody = cx.body()?;
    let comment = returns::text("comment", body.comment.as_deref())?;
    if body.lines.is_empty() || body.lines.len() > MAX_RETURN_LINES {
        return Err(ApiError::invalid("lines", format!("must hold 1 to {MAX_RETURN_LINES} lines")));
    }
    for (i, line) in body.lines.iter().enumerate() {
        if !(1..=i64::from(MAX_QUANTITY)).contains(&line.quantity) {
            return Err(ApiError::invalid(
                &format!("lines[{i}].quantity"),
                format!("must be from 1 to {MAX_QUANTITY}"),
            ));
        }
    }
    let me = cx.person()?.user_id;
    let table = cx.store().await?;
    let group = orders::group(table, group_id).await?.filter(|g| g.customer_id == Some(me));
    let group = group.ok_or(ApiError::NotFound("order"))?;
    cx.idempotent(async |key| {
        // Checked on the state as it is now (a retry is answered before this, from its record).
        let (vendor_orders, others) =
            tokio::try_join!(orders::orders_of(table, group.id), store::of_group(table, group.id))?;
        let order = vendor_orders
            .into_iter()
            .find(|o| o.id == body.order_id)
            .ok_or_else(|| ApiError::invalid("order_id", "is not an order of this group"))?;
        let mut asked = Vec::with_capacity(body.lines.len());
        for (i, line) in body.lines.iter().enumerate() {
            let found = order.lines.iter().find(|l| l.sku.eq_ignore_ascii_case(line.sku.trim()));
            let found =
                found.ok_or_else(|| ApiError::invalid(&format!("lines[{i}].sku"), "is not a line of this order"))?;
            asked.push((found.variant_id, line.quantity as u32, line.reason));
        }
        let lines = returns::request(&order, &others, &asked, today()).map_err(refused)?;
        let ret = ReturnRequest::new(&order, Some(me), lines, comment, Utc::now());
        store::open(table, &ret, |tx| remember(key, StatusCode::CREATED, &ret, tx)).await?;
        tracing::info!(group = %group.id, order = %order.id, ret = %ret.id, "return requested");
        Ok(json(StatusCode::CREATED, &ret))
    })
    .await
}

/// A group's returns, with their refunds.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnList {
    pub items: Vec<ReturnView>,
}

async fn with_refunds(
    table: &Table,
    group: OrderGroupId,
    rets: Vec<ReturnRequest>,
) -> Result<Vec<ReturnView>, ApiError> {
    let refunds = store::refunds_of_group(table, group).await?;
    Ok(rets
        .into_iter()
        .map(|ret| {
            let refund = ret.refund_id.and_then(|id| refunds.iter().find(|r| r.id == id).cloned());
            ReturnView { ret, refund }
        })
        .collect())
}

/// The returns of an order group, oldest first, each with its refund: its customer's, admin's and
/// support's.
#[utoipa::path(get, path = "/orders/{groupId}/returns", tag = "returns", security(("bearer" = ["customer", "admin", "support"])),
    params(("groupId" = OrderGroupId, Path)),
    responses((status = 200, body = ReturnList), (status = 401, body = ErrorBody),
              (status = 404, description = "not_found: no such order, or not the caller's", body = ErrorBody)))]
pub async fn list_order_returns(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let group_id = cx.path("groupId", OrderGroupId::parse)?;
    let me = cx.person()?.user_id;
    let table = cx.store().await?;
    let group = orders::group(table, group_id).await?.ok_or(ApiError::NotFound("order"))?;
    let staff = cx.account().await?.roles.iter().any(|r| matches!(r, PlatformRole::Admin | PlatformRole::Support));
    if group.customer_id != Some(me) && !staff {
        return Err(ApiError::NotFound("order"));
    }
    let rets = store::of_group(table, group.id).await?;
    Ok(ok(&ReturnList { items: with_refunds(table, group.id, rets).await? }))
}

/// The vendor's returns, newest first (`order=asc` for oldest first), only those at `status`
/// when given (the owner and order handlers).
#[utoipa::path(get, path = "/vendors/{vendorId}/returns", tag = "returns", security(("bearer" = ["vendor_owner", "order_handler"])),
    params(("vendorId" = VendorId, Path),
           ("status" = Option<ReturnStatus>, Query, description = "requested, approved, rejected, received or refunded"),
           ("limit" = Option<u32>, Query, description = "1 to 100, default 20"), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<ReturnRequest>), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such vendor", body = ErrorBody)))]
pub async fn list_vendor_returns(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let page = cx.page(true)?;
    let status = cx.query_as("status", ReturnStatus::parse)?;
    let vendor = cx.vendor(VendorPermission::OrdersWrite).await?.id();
    let found = store::of_vendor(cx.store().await?, vendor, status, &page).await?;
    Ok(ok(&ListResponse::from(found)))
}

async fn vendor_return<'r>(
    cx: &Ctx<'r>,
    need: VendorPermission,
) -> Result<(&'r Table, VendorId, ReturnRequest), ApiError> {
    let id = cx.path("returnId", ReturnId::parse)?;
    let vendor = cx.vendor(need).await?.id();
    let table = cx.store().await?;
    let ret = store::of_vendor_by_id(table, vendor, id).await?.ok_or(ApiError::NotFound("return"))?;
    Ok((table, vendor, ret))
}

/// One of the vendor's returns with its refund (the owner and order handlers).
#[utoipa::path(get, path = "/vendors/{vendorId}/returns/{returnId}", tag = "returns", security(("bearer" = ["vendor_owner", "order_handler"])),
    params(("vendorId" = VendorId, Path), ("returnId" = ReturnId, Path)),
    responses((status = 200, body = ReturnView), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such return of this vendor", body = ErrorBody)))]
pub async fn get_vendor_return(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let (table, _, ret) = vendor_return(&cx, VendorPermission::OrdersWrite).await?;
    let refund = match ret.refund_id {
        Some(id) => store::refund(table, ret.group_id, id).await?,
        None => None,
    };
    Ok(ok(&ReturnView { ret, refund }))
}

/// What the vendor decides.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub decision: Decision,
    /// Up to 1,000 characters for the customer (where to send the goods, why not).
    #[serde(default)]
    pub note: Option<String>,
}

/// Approve or reject a requested return (the owner and order handlers); an approved return whose
/// goods never arrive may still be rejected. With an `Idempotency-Key`, a retry answers the same.
#[utoipa::path(post, path = "/vendors/{vendorId}/returns/{returnId}/decision", tag = "returns", security(("bearer" = ["vendor_owner", "order_handler"])),
    request_body = DecisionBody,
    params(("vendorId" = VendorId, Path), ("returnId" = ReturnId, Path), IdempotencyParams),
    responses((status = 200, body = ReturnRequest), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such return of this vendor", body = ErrorBody),
              (status = 409, description = "return_state: decided already, or its goods arrived", body = ErrorBody),
              (status = 422, description = "invalid_field: the note", body = ErrorBody)))]
pub async fn decide_return(deps: &ApiDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(deps, &req)?;
    let body: DecisionBody = cx.body()?;
    let note = returns::text("note", body.note.as_deref())?;
    let (table, _, ret) = vendor_return(&cx, VendorPermission::OrdersWrite).await?;
    cx.idempotent(async |key| {
        let mut after = ret.clone();
        after.decide(matches!(body.decision, Decision::Approve), note.clone(), Utc::now()).map_err(refused)?;
        match store::write_decision(table, ret.version, &after, |tx| remember(key, StatusCode::OK, &after, tx)).await {
            Ok(()) => Ok(ok(&after)),
            Err(e) if e.failed_at(store::RETURN) => {
                Err(ApiError::conflict("return_state", "the return changed meanwhile: read it again"))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectedLineBody {
    /// The SKU of one of the return's lines.
    #[schema(example = "JUMPER-M-NAVY")]
    pub sku: String,
    /// Units back on hand, sellable again.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub restocked: i64,
    /// Units that came back unsellable.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub written_off: i64,
    /// Where restocked units go: one of the vendor's locations holding the variant (default:
    /// where the line shipped from).
    #[serde(default)]
    pub location_id: Option<LocationId>,
    /// Perishable variants: the lot restocked units go into, with `expires_on`.
    #[serde(default)]
    #[schema(example = "LOT-2026-11-A")]
    pub lot: Option<String>,
    #[serde(default)]
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    /// What came back, per line of the return (each once; a line not named came back empty).
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Vec<InspectedLineBody>,
    /// Refund the order's shipping too (once per order).
    #[serde(default)]
    pub refund_shipping: bool,
}

/// The goods recorded, the refund asked for, and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptResponse {
    #[serde(rename = "return")]
    pub ret: ReturnRequest,
    pub refund: Refund,
    /// The vendor order's status after it.
    pub order_status: OrderStatus,
}

/// Record what arrived of an approved return (the owner and order handlers): per line, units
/// restocked (back on hand through the ledger as `customer_return` movements, into the lot given
/// for perishable variants) and units written off; both are refunded (each line's share of what
/// the customer paid for it), and the shipping when `refund_shipping` says so. The refund is sent
/// to the provider that took the payment at once; `refund.status` says how far it got (`pending`
/// until the provider confirms; `POST .../refund` sends it again after a failure). Every line is
/// checked before anything is written. With an `Idempotency-Key`, a retry answers the same and
/// never refunds twice.
#[utoipa::path(post, path = "/vendors/{vendorId}/returns/{returnId}/receipt", tag = "returns", security(("bearer" = ["vendor_owner", "order_handler"])),
    request_body = ReceiptBody,
    params(("vendorId" = VendorId, Path), ("returnId" = ReturnId, Path), IdempotencyParams),
    responses((status = 201, body = ReceiptResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such return of this vendor", body = ErrorBody),
              (status = 409, description = "return_state: not approved, or recorded already; not_refundable: the order's payment has no provider reference", body = ErrorBody),
              (status = 422, description = "invalid_field (names it: a SKU not in the return or twice, more units than asked for, a location without the variant, a lot for a perishable variant, nothing to refund, the shipping refunded already)", body = ErrorBody),
              (status = 503, description = "service_busy: the order or its stock is changing too fast; retry with the same Idempotency-Key", body = ErrorBody)))]
pub async fn receive_return(deps: &RefundDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let body: ReceiptBody = cx.body()?;
    let (table, vendor, ret) = vendor_return(&cx, VendorPermission::OrdersWrite).await?;
    if body.lines.is_empty() || body.lines.len() > ret.lines.len() {
        let n = ret.lines.len();
        return Err(ApiError::invalid("lines", format!("must hold 1 to {n} lines (the return's)")));
    }
    let mut lines = Vec::with_capacity(body.lines.len());
    for (i, line) in body.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let index = ret
            .lines
            .iter()
            .position(|l| l.sku.eq_ignore_ascii_case(line.sku.trim()))
            .ok_or_else(|| ApiError::invalid(&field("sku"), "is not a line of this return"))?;
        for (name, value) in [("restocked", line.restocked), ("written_off", line.written_off)] {
            if !(0..=i64::from(MAX_QUANTITY)).contains(&value) {
                return Err(ApiError::invalid(&field(name), format!("must be from 0 to {MAX_QUANTITY}")));
            }
        }
        let batch = match (&line.lot, line.expires_on) {
            (None, None) => None,
            (Some(lot), Some(expires_on)) => {
                let lot = stockyard_domain::values::LotCode::parse(&field("lot"), lot)?;
                Some(returns::RestockBatch { lot, expires_on })
            }
            (Some(_), None) => return Err(ApiError::invalid(&field("expires_on"), "is needed with a lot")),
            (None, Some(_)) => return Err(ApiError::invalid(&field("lot"), "is needed with an expiry date")),
        };
        if let Some(location) = line.location_id {
            stockyard_store::locations::get(table, vendor, location)
                .await?
                .ok_or_else(|| ApiError::invalid(&field("location_id"), "is not a location of this vendor"))?;
        }
        lines.push(ArrivedLine {
            index,
            restocked: line.restocked as u32,
            written_off: line.written_off as u32,
            location: line.location_id,
            batch,
        });
    }
    let actor = cx.actor();
    let response =
        |r: &Received| ReceiptResponse { ret: r.ret.clone(), refund: r.refund.clone(), order_status: r.order.status };
    let received = cx
        .idempotent(async |key| {
            let received = store::receive(table, (vendor, ret.id), &lines, body.refund_shipping, &actor, |tx, r| {
                remember(key, StatusCode::CREATED, &response(r), tx)
            })
            .await
            .map_err(receive_error)?;
            tracing::info!(ret = %ret.id, refund = %received.refund.id, amount = %received.refund.amount, "return received; refund recorded");
            Ok(json(StatusCode::CREATED, &response(&received)))
        })
        .await?;
    // Recorded (now, or by the first of retried requests): the refund goes to the provider. A
    // replay sends only what was never sent, so nothing is refunded twice.
    if let Some(refund) = refund_of_return(table, &ret).await? {
        send(deps, table, &refund, false).await;
        if let Some(now) = store::refund(table, refund.group_id, refund.id).await? {
            let ret_now = store::of_vendor_by_id(table, vendor, ret.id).await?.unwrap_or(ret.clone());
            let order = orders::vendor_order(table, vendor, ret.order_id).await?;
            let status = order.map(|o| o.status).unwrap_or(OrderStatus::Delivered);
            return Ok(json(received.status(), &ReceiptResponse { ret: ret_now, refund: now, order_status: status }));
        }
    }
    Ok(received)
}

async fn refund_of_return(table: &Table, ret: &ReturnRequest) -> Result<Option<Refund>, ApiError> {
    let Some(now) = store::of_vendor_by_id(table, ret.vendor_id, ret.id).await? else { return Ok(None) };
    match now.refund_id {
        Some(id) => Ok(store::refund(table, now.group_id, id).await?),
        None => Ok(None),
    }
}

/// Sends a refund to its provider (a new attempt when `again`, after a failure) and settles it
/// with the provider's answer when that is final. A provider that cannot be reached leaves it
/// pending: its webhook, or sending it again, settles it later.
async fn send(deps: &RefundDeps, table: &Table, refund: &Refund, again: bool) {
    let attempt = match store::begin_attempt(table, refund, again).await {
        Ok(Some(attempt)) => attempt,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(refund = %refund.id, error = %e, "could not count the refund's attempt; not sent");
            return;
        }
    };
    match deps.providers.refund(&attempt).await {
        Ok(answer) => {
            let _ = store::note_provider_id(table, &attempt, &answer.provider_id).await;
            if answer.state != ProviderRefundState::Pending {
                match store::settle(
                    table,
                    (attempt.group_id, attempt.id),
                    answer.state,
                    Some(&answer.provider_id),
                    None,
                )
                .await
                {
                    Ok(Settled::Recorded(r)) => {
                        tracing::info!(refund = %r.id, status = ?r.status, "refund settled by the provider's answer")
                    }
                    Ok(_) => {}
                    // The webhook settles it.
                    Err(e) => tracing::warn!(refund = %attempt.id, error = %e, "refund not settled from the answer"),
                }
            }
        }
        Err(e) => {
            tracing::warn!(refund = %attempt.id, error = %e, "the provider did not take the refund; it stays pending")
        }
    }
}

/// Send a return's refund to the provider again (the owner and order handlers): after the
/// provider refused it (`failed`), or when it could not be reached (`pending`, not yet taken).
/// A refund that succeeded is answered as it is; nothing is ever refunded twice.
#[utoipa::path(post, path = "/vendors/{vendorId}/returns/{returnId}/refund", tag = "returns", security(("bearer" = ["vendor_owner", "order_handler"])),
    params(("vendorId" = VendorId, Path), ("returnId" = ReturnId, Path)),
    responses((status = 200, body = Refund), (status = 403, body = ErrorBody),
              (status = 404, description = "not_found: no such return of this vendor", body = ErrorBody),
              (status = 409, description = "return_state: its goods have not been recorded, so there is no refund yet", body = ErrorBody)))]
pub async fn send_refund(deps: &RefundDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let cx = Ctx::new(&deps.api, &req)?;
    let (table, _, ret) = vendor_return(&cx, VendorPermission::OrdersWrite).await?;
    let refund = refund_of_return(table, &ret).await?.ok_or_else(|| {
        ApiError::conflict("return_state", format!("a return that is {} has no refund yet", ret.status))
    })?;
    match refund.status {
        RefundStatus::Succeeded => return Ok(ok(&refund)),
        RefundStatus::Failed => send(deps, table, &refund, true).await,
        // Taken by the provider already: its webhook settles it; otherwise, the same attempt again.
        RefundStatus::Pending if refund.provider_refund_id.is_some() => {}
        RefundStatus::Pending => send(deps, table, &refund, false).await,
    }
    let now = store::refund(table, refund.group_id, refund.id).await?.ok_or(ApiError::NotFound("refund"))?;
    Ok(ok(&now))
}

fn receive_error(error: ReceiveFailure) -> ApiError {
    match error {
        ReceiveFailure::NotFound => ApiError::NotFound("return"),
        ReceiveFailure::Refused(ReturnError::Field(e)) => {
            // The domain names lines by their place in the request, as the request does.
            ApiError::Invalid(e)
        }
        ReceiveFailure::Refused(other) => refused(other),
        ReceiveFailure::Stock { index, error } => {
            ApiError::invalid(&format!("lines[{index}].restocked"), error.to_string())
        }
        ReceiveFailure::NeedsLot(index) => ApiError::invalid(
            &format!("lines[{index}].lot"),
            "is needed: the variant is perishable and restocked into a lot",
        ),
        ReceiveFailure::NoStockHere(index) => ApiError::invalid(
            &format!("lines[{index}].location_id"),
            "the variant has no stock at this location: name one that holds it",
        ),
        ReceiveFailure::NotRefundable => {
            ApiError::conflict("not_refundable", "the order's payment has no provider reference to refund")
        }
        ReceiveFailure::Store(e) => e.into(),
    }
}
