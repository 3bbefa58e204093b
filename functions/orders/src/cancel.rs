//! Cancelling an order group before it is paid: the customer changed their mind, or the payment
//! cannot be completed. Everything the checkout held comes back in one transaction, exactly as
//! when the payment window runs out: every line's stock, the coupon's use and the limited
//! variants' counts. Then the payment is withdrawn at the provider so it can no longer be paid; a
//! payment that still arrives is flagged for refund by the webhook receiver, never kept.
//!
//! A paid group is not cancelled here: once paid, goods come back through a return and money
//! through a refund.

use stockyard_domain::ids::OrderGroupId;
use stockyard_domain::order::{OrderEvent, OrderStatus, Outcome};
use stockyard_domain::stock::Actor;
use stockyard_http::error::ErrorBody;
use stockyard_http::response::ok;
use stockyard_http::{ApiError, Body, Request, Response};
use stockyard_store::orders;

use crate::providers::Providers;
use crate::reads::{self, ReadDeps};

/// The order reads' deps and the providers a payment is withdrawn from.
pub struct CancelDeps {
    pub reads: ReadDeps,
    pub providers: Providers,
}

impl CancelDeps {
    /// [`ReadDeps::from_env`] and [`Providers::from_env`].
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { reads: ReadDeps::from_env(sdk).await?, providers: Providers::from_env() })
    }
}

/// Cancel an unpaid order group (awaiting payment or 3-D Secure): its stock, coupon use and
/// limited-item counts are given back at once and its payment is withdrawn. The same callers as
/// `GET /orders/{groupId}`: its customer, a guest with the link's `token`, admin and support.
/// Cancelling a group already cancelled or expired answers it as it is. 409 `not_cancellable`
/// once paid (a paid order comes back through a return and a refund).
#[utoipa::path(post, path = "/orders/{groupId}/cancel", tag = "orders", security((), ("bearer" = ["customer", "admin", "support"])),
    params(("groupId" = OrderGroupId, Path), ("token" = Option<String>, Query, description = "The guest link's token")),
    responses((status = 200, body = reads::OrderGroupView), (status = 401, body = ErrorBody),
              (status = 404, description = "not_found: no such order, not the caller's, or a link that is wrong or expired", body = ErrorBody),
              (status = 409, description = "not_cancellable: the group is paid", body = ErrorBody)))]
pub async fn cancel_order(deps: &CancelDeps, req: Request) -> Result<Response<Body>, ApiError> {
    let (group, actor) = reads::reader(&deps.reads, &req).await?;
    let table = &deps.reads.api.table;
    let note = match &actor {
        Actor::User { id } if group.customer_id != Some(*id) => "cancelled by the marketplace",
        _ => "cancelled by the customer",
    };
    let outcome = orders::apply_event(table, group.id, OrderEvent::Cancelled, None, Some(note), &actor)
        .await
        .map_err(crate::move_error)?
        .ok_or(ApiError::NotFound("order"))?;
    let after = orders::group(table, group.id).await?.ok_or(ApiError::NotFound("order"))?;
    match outcome {
        Outcome::Moved { .. } | Outcome::AlreadyApplied => {
            // Withdrawn on every cancel of a cancelled group, so that a retry finishes what a
            // provider that did not answer left undone (the provider takes a second withdrawal
            // as done). The group is cancelled whatever the provider says: a payment that gets
            // through anyway is flagged for refund when its webhook arrives.
            if let (OrderStatus::Cancelled, Some(session)) = (after.status, &after.payment)
                && let Err(e) = deps.providers.withdraw(session).await
            {
                tracing::warn!(group = %after.id, reference = session.reference, error = %e, "withdrawing the payment failed");
            }
        }
        Outcome::NotAllowed | Outcome::Stale | Outcome::RefundDue => {
            return Err(ApiError::conflict(
                "not_cancellable",
                format!(
                    "the order is {}: only an order awaiting payment can be cancelled; a paid order comes back through a return and a refund",
                    after.status.as_str()
                ),
            ));
        }
    }
    Ok(ok(&reads::view(table, after).await?))
}
