//! The payment providers' webhooks: `POST /webhooks/payments/card` (Stripe-style signature) and
//! `POST /webhooks/payments/wallet` (PayPal-style transmission headers).
//!
//! A delivery is checked before anything is read from it: sent as JSON (415 otherwise), the
//! signature over the raw body, made
//! within 5 minutes of now (400 naming the header otherwise). Then the event is parsed (422 naming
//! the field), and one the provider delivered before is answered as a duplicate without being
//! applied again. A payment's amount and currency must be the group's total: otherwise the payment
//! is recorded as a refund due and the group stays unpaid. Every other event goes through the
//! order status machine (`stockyard_store::orders::apply_event`), which takes duplicates, stale
//! and out-of-order events in its stride and flags a payment for an expired group for refund.
//! Every accepted delivery answers 200 (the provider stops retrying) with what it came to.

use chrono::Utc;
use serde::Serialize;
use stockyard_domain::ids::OrderGroupId;
use stockyard_domain::order::{Dispute, DisputeStatus, OrderEvent, Outcome, check_amount};
use stockyard_domain::payment::{
    self, CARD_SIGNATURE_HEADER, DEFAULT_TOLERANCE, EventKind, Provider, ProviderEvent, WALLET_TRANSMISSION_ID_HEADER,
    WALLET_TRANSMISSION_SIG_HEADER, WALLET_TRANSMISSION_TIME_HEADER, WalletHeaders,
};
use stockyard_domain::returns::RefundStatus;
use stockyard_domain::stock::Actor;
use stockyard_http::error::ErrorBody;
use stockyard_http::request::{header, require_json_media_type};
use stockyard_http::response::ok;
use stockyard_http::{ApiError, Body, Request, Response};
use stockyard_store::Table;
use stockyard_store::orders::{self, PaymentEventRecord};
use stockyard_store::returns::{self, Settled};
use utoipa::ToSchema;

use crate::providers::Providers;

/// The longest provider event id kept (providers' ids are a few dozen characters).
const MAX_EVENT_ID: usize = 255;

/// The table and the providers' webhook secrets (each function is given its own provider's).
pub struct PaymentDeps {
    pub table: Table,
    pub card_secret: Option<String>,
    pub wallet_secret: Option<String>,
    pub wallet_webhook_id: Option<String>,
    /// The wallet receiver captures approved payments through the provider's API.
    pub providers: Providers,
}

impl PaymentDeps {
    /// `STOCKYARD_CARD_WEBHOOK_SECRET`, or `STOCKYARD_WALLET_WEBHOOK_SECRET` and
    /// `STOCKYARD_WALLET_WEBHOOK_ID`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let var = |name| stockyard_platform::env_opt(name).filter(|v| !v.is_empty());
        Ok(Self {
            table: Table::from_env(sdk)?,
            card_secret: var("STOCKYARD_CARD_WEBHOOK_SECRET"),
            wallet_secret: var("STOCKYARD_WALLET_WEBHOOK_SECRET"),
            wallet_webhook_id: var("STOCKYARD_WALLET_WEBHOOK_ID"),
            providers: Providers::from_env(),
        })
    }
}

/// What a delivery came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentEventAck {
    pub received: bool,
    /// Delivered before: answered from its record, not applied again.
    pub duplicate: bool,
    /// `moved`, `already_applied`, `stale`, `refund_due`, `not_allowed`, `amount_mismatch`,
    /// `dispute_recorded`, `captured` (a wallet approval taken), `refund_recorded` and
    /// `refund_failed` (a return's refund settled), `refund_pending`, `unknown_refund`,
    /// `unknown_group` or `ignored` (a type Stockyard does not act on).
    #[schema(example = "moved")]
    pub outcome: String,
}

/// A card provider's event (payment intents, disputes, refunds), signed with `Stripe-Signature`.
#[utoipa::path(post, path = "/webhooks/payments/card", tag = "orders",
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    request_body(content = serde_json::Value, description = "The provider's event, verified over the raw bytes"),
    responses((status = 200, body = PaymentEventAck),
              (status = 400, description = "malformed_request: the signature is missing, wrong or too old (names the header), or the body is not JSON", body = ErrorBody),
              (status = 422, description = "invalid_field: a signed event without a field it needs (names it)", body = ErrorBody)))]
pub async fn receive_card(deps: &PaymentDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let secret = deps.card_secret.as_deref().ok_or_else(|| not_configured("STOCKYARD_CARD_WEBHOOK_SECRET"))?;
    require_json_media_type(&req)?;
    let body: &[u8] = req.body().as_ref();
    let signature = header(&req, CARD_SIGNATURE_HEADER).unwrap_or_default();
    payment::verify_card(secret, signature, body, Utc::now(), DEFAULT_TOLERANCE)
        .map_err(|e| refused(CARD_SIGNATURE_HEADER, e))?;
    let event = payment::parse_card_event(body).map_err(ApiError::Invalid)?;
    receive(deps, event).await
}

/// A wallet provider's event (approvals, captures, disputes, refunds), signed with the
/// `Paypal-Transmission-*` headers.
#[utoipa::path(post, path = "/webhooks/payments/wallet", tag = "orders",
    params(("Paypal-Transmission-Id" = String, Header), ("Paypal-Transmission-Time" = String, Header, description = "RFC 3339"),
           ("Paypal-Transmission-Sig" = String, Header, description = "hex HMAC-SHA256 of \"id|time|webhook id|hex SHA-256 of the body\"")),
    request_body(content = serde_json::Value, description = "The provider's event, verified over the raw bytes"),
    responses((status = 200, body = PaymentEventAck),
              (status = 400, description = "malformed_request: a transmission header is missing, wrong or too old (names it), or the body is not JSON", body = ErrorBody),
              (status = 422, description = "invalid_field: a signed event without a field it needs (names it)", body = ErrorBody)))]
pub async fn receive_wallet(deps: &PaymentDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let secret = deps.wallet_secret.as_deref().ok_or_else(|| not_configured("STOCKYARD_WALLET_WEBHOOK_SECRET"))?;
    let webhook_id = deps.wallet_webhook_id.as_deref().ok_or_else(|| not_configured("STOCKYARD_WALLET_WEBHOOK_ID"))?;
    require_json_media_type(&req)?;
    let body: &[u8] = req.body().as_ref();
    let headers = WalletHeaders {
        transmission_id: header(&req, WALLET_TRANSMISSION_ID_HEADER).unwrap_or_default(),
        transmission_time: header(&req, WALLET_TRANSMISSION_TIME_HEADER).unwrap_or_default(),
        transmission_sig: header(&req, WALLET_TRANSMISSION_SIG_HEADER).unwrap_or_default(),
    };
    payment::verify_wallet(secret, webhook_id, &headers, body, Utc::now(), DEFAULT_TOLERANCE).map_err(|e| {
        let named = match &e {
            payment::SignatureError::Malformed { header, .. } => header,
            _ => WALLET_TRANSMISSION_SIG_HEADER,
        };
        refused(named, e)
    })?;
    let event = payment::parse_wallet_event(body).map_err(ApiError::Invalid)?;
    receive(deps, event).await
}

fn not_configured(variable: &str) -> ApiError {
    ApiError::internal(anyhow::anyhow!("{variable} is not set: this function cannot verify its provider's webhooks"))
}

fn refused(header: &str, error: payment::SignatureError) -> ApiError {
    ApiError::Malformed { message: format!("{header}: {error}"), field: Some(header.to_string()) }
}

fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Card => "card",
        Provider::Wallet => "wallet",
    }
}

/// A verified, parsed event: answered from its record when delivered before, applied otherwise.
async fn receive(deps: &PaymentDeps, event: ProviderEvent) -> Result<Response<Body>, ApiError> {
    let table = &deps.table;
    if event.event_id.is_empty() || event.event_id.len() > MAX_EVENT_ID {
        return Err(ApiError::invalid("id", format!("must be 1 to {MAX_EVENT_ID} characters")));
    }
    let provider = provider_name(event.provider);
    if let Some(seen) = orders::payment_event(table, provider, &event.event_id).await? {
        return Ok(ok(&PaymentEventAck { received: true, duplicate: true, outcome: seen.outcome }));
    }
    let (outcome, group_id) = apply(deps, &event).await?;
    tracing::info!(provider, event = event.event_id, kind = ?event.kind, group = ?group_id, outcome, "payment event");
    let record = PaymentEventRecord {
        provider: provider.to_string(),
        event_id: event.event_id.clone(),
        kind: format!("{:?}", event.kind),
        group_id,
        outcome: outcome.to_string(),
        received_at: Utc::now(),
    };
    orders::record_payment_event(table, &record).await?;
    Ok(ok(&PaymentEventAck { received: true, duplicate: false, outcome: outcome.to_string() }))
}

async fn apply(deps: &PaymentDeps, event: &ProviderEvent) -> Result<(&'static str, Option<OrderGroupId>), ApiError> {
    let table = &deps.table;
    if let (EventKind::DisputeOpened, Some(payment)) = (&event.kind, event.payment.as_ref()) {
        let Some(group_id) = payment.order_group else { return Ok(("unknown_group", None)) };
        let dispute = Dispute {
            provider_dispute_id: payment.reference.clone(),
            amount: payment.amount(),
            reason: payment.reason.clone().unwrap_or_else(|| "unknown".into()),
            status: DisputeStatus::Open,
            opened_at: event.occurred_at,
        };
        let known = orders::record_dispute(table, group_id, &dispute).await?;
        tracing::warn!(group = %group_id, dispute = dispute.provider_dispute_id, amount = %dispute.amount, "payment disputed: amount held");
        return Ok((if known { "dispute_recorded" } else { "unknown_group" }, Some(group_id)));
    }
    if let (EventKind::RefundUpdated, Some(payment)) = (&event.kind, event.payment.as_ref()) {
        let (Some(group_id), Some(notice)) = (payment.order_group, payment.refund.as_ref()) else {
            return Ok(("unknown_refund", payment.order_group));
        };
        let Some(refund) = returns::refund(table, group_id, notice.refund_id).await? else {
            return Ok(("unknown_refund", Some(group_id)));
        };
        if payment.amount() != refund.amount {
            tracing::error!(group = %group_id, refund = %refund.id, told = %payment.amount(), asked = %refund.amount,
                "the provider refunded another amount than was asked: left for review");
            return Ok(("amount_mismatch", Some(group_id)));
        }
        let settled = returns::settle(
            table,
            (group_id, notice.refund_id),
            notice.state,
            Some(&payment.reference),
            notice.failure.as_deref(),
        )
        .await?;
        let outcome = match settled {
            Settled::Unknown => "unknown_refund",
            Settled::AlreadySettled => "already_applied",
            Settled::StillPending => "refund_pending",
            Settled::Recorded(r) if r.status == RefundStatus::Succeeded => "refund_recorded",
            Settled::Recorded(_) => "refund_failed",
        };
        return Ok((outcome, Some(group_id)));
    }
    if let (EventKind::PaymentApproved, Some(payment)) = (&event.kind, event.payment.as_ref()) {
        // The customer approved the wallet payment: take it (the capture's own event pays the group).
        let Some(group_id) = payment.order_group else { return Ok(("unknown_group", None)) };
        let Some(group) = orders::group(table, group_id).await? else { return Ok(("unknown_group", Some(group_id))) };
        if !group.status.is_awaiting_payment() {
            return Ok(("stale", Some(group_id)));
        }
        deps.providers.capture_wallet(&payment.reference).await.map_err(|e| ApiError::BadGateway {
            code: "payment_provider_unavailable",
            message: format!("capturing the approved payment failed: {e}"),
        })?;
        return Ok(("captured", Some(group_id)));
    }
    let (Some(order_event), Some(payment)) = (event.order_event(), event.payment.as_ref()) else {
        return Ok(("ignored", event.payment.as_ref().and_then(|p| p.order_group)));
    };
    let Some(group_id) = payment.order_group else { return Ok(("unknown_group", None)) };
    if order_event == OrderEvent::PaymentSucceeded {
        let Some(group) = orders::group(table, group_id).await? else { return Ok(("unknown_group", Some(group_id))) };
        if let Err(mismatch) = check_amount(group.total, payment.amount_minor, payment.currency.code()) {
            tracing::error!(group = %group_id, reference = payment.reference, %mismatch, "payment does not match the order: refund due");
            orders::flag_refund(table, group_id, &payment.reference).await?;
            return Ok(("amount_mismatch", Some(group_id)));
        }
    }
    let note = match &event.kind {
        EventKind::PaymentFailed => Some("payment failed"),
        EventKind::PaymentRequiresAction => Some("waiting for the customer to authenticate the payment"),
        EventKind::Refunded => Some("refunded"),
        _ => None,
    };
    let actor = Actor::System { name: format!("{}-payments", provider_name(event.provider)) };
    let outcome = orders::apply_event(table, group_id, order_event, Some(&payment.reference), note, &actor)
        .await
        .map_err(crate::move_error)?;
    let outcome = match outcome {
        None => "unknown_group",
        Some(Outcome::Moved { .. }) => "moved",
        Some(Outcome::AlreadyApplied) => "already_applied",
        Some(Outcome::Stale) => "stale",
        Some(Outcome::RefundDue) => "refund_due",
        Some(Outcome::NotAllowed) => "not_allowed",
    };
    Ok((outcome, Some(group_id)))
}
