//! The payment-provider interface: opening a payment for an order group, and capturing an
//! approved wallet payment. Two providers, shaped like the real ones: a card provider in Stripe's
//! style (a payment intent, confirmed by the shop's page with its client secret) and a wallet
//! provider in PayPal's style (an order the customer approves at the provider, then captured).
//! Stockyard keeps only the provider's references; card details never reach it.
//!
//! Each call names the order group to the provider twice: as the idempotency key (a retried call
//! opens no second payment) and in the payment's own metadata, which comes back in every webhook.
//! Locally the providers are the stack's stand-in (`/_local/payments`, infra/local/src/payments.rs).

use std::time::Duration;

use serde_json::Value;
use stockyard_domain::Money;
use stockyard_domain::ids::OrderGroupId;
use stockyard_domain::order::PaymentSession;
use stockyard_domain::payment::Provider;
use stockyard_domain::returns::{ProviderRefundState, Refund};

/// How long one call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a provider call failed: nothing was opened that Stockyard knows of.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("the {0} payment provider is not configured")]
    NotConfigured(&'static str),
    #[error("the payment provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the payment provider refused the request ({status}): {body}")]
    Refused { status: u16, body: String },
}

/// One provider's API: where it is and the secret key Stockyard calls it with.
#[derive(Debug, Clone)]
struct Api {
    url: String,
    key: String,
}

/// The providers Stockyard pays through.
#[derive(Debug, Clone)]
pub struct Providers {
    http: reqwest::Client,
    card: Option<Api>,
    wallet: Option<Api>,
}

fn major(amount: Money) -> String {
    // `Money` prints "19.99 EUR": the number is what a provider taking decimal amounts wants.
    amount.to_string().split(' ').next().unwrap_or_default().to_string()
}

impl Providers {
    /// `STOCKYARD_CARD_API_URL` and `STOCKYARD_CARD_API_KEY`; `STOCKYARD_WALLET_API_URL` and
    /// `STOCKYARD_WALLET_API_KEY`. A provider without its URL is not offered.
    pub fn from_env() -> Self {
        let api = |url: &str, key: &str| {
            let var = |name| stockyard_platform::env_opt(name).filter(|v: &String| !v.is_empty());
            var(url).map(|url| Api { url: url.trim_end_matches('/').to_string(), key: var(key).unwrap_or_default() })
        };
        Self {
            http: reqwest::Client::builder().timeout(CALL_TIMEOUT).build().unwrap_or_default(),
            card: api("STOCKYARD_CARD_API_URL", "STOCKYARD_CARD_API_KEY"),
            wallet: api("STOCKYARD_WALLET_API_URL", "STOCKYARD_WALLET_API_KEY"),
        }
    }

    /// Whether Stockyard can take payments through `provider`.
    pub fn offers(&self, provider: Provider) -> bool {
        match provider {
            Provider::Card => self.card.is_some(),
            Provider::Wallet => self.wallet.is_some(),
        }
    }

    /// Opens the payment of `total` for `group` (at most once per group: the provider replays its
    /// first answer to a retry).
    pub async fn open(
        &self,
        provider: Provider,
        group: OrderGroupId,
        total: Money,
    ) -> Result<PaymentSession, ProviderError> {
        match provider {
            Provider::Card => self.open_card(group, total).await,
            Provider::Wallet => self.open_wallet(group, total).await,
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = request.send().await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            return Err(ProviderError::Refused { status: status.as_u16(), body: text.chars().take(500).collect() });
        }
        serde_json::from_str(&text).map_err(|e| ProviderError::Unreachable(format!("an answer that is not JSON: {e}")))
    }

    async fn open_card(&self, group: OrderGroupId, total: Money) -> Result<PaymentSession, ProviderError> {
        let api = self.card.as_ref().ok_or(ProviderError::NotConfigured("card"))?;
        let form = [
            ("amount", total.amount.to_string()),
            ("currency", total.currency.to_string().to_ascii_lowercase()),
            ("metadata[order_group_id]", group.to_string()),
            ("automatic_payment_methods[enabled]", "true".to_string()),
        ];
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let request = self
            .http
            .post(format!("{}/v1/payment_intents", api.url))
            .bearer_auth(&api.key)
            .header("idempotency-key", format!("order-group-{group}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        let intent = self.call(request).await?;
        let text = |name: &str| intent.get(name).and_then(Value::as_str).map(str::to_string);
        let reference =
            text("id").ok_or_else(|| ProviderError::Unreachable("a payment intent without an id".into()))?;
        Ok(PaymentSession {
            provider: Provider::Card,
            reference,
            client_secret: text("client_secret"),
            approval_url: None,
        })
    }

    async fn open_wallet(&self, group: OrderGroupId, total: Money) -> Result<PaymentSession, ProviderError> {
        let api = self.wallet.as_ref().ok_or(ProviderError::NotConfigured("wallet"))?;
        let body = serde_json::json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": group.to_string(),
                "custom_id": group.to_string(),
                "amount": {"currency_code": total.currency.to_string(), "value": major(total)},
            }],
        });
        let request = self
            .http
            .post(format!("{}/v2/checkout/orders", api.url))
            .bearer_auth(&api.key)
            .header("paypal-request-id", format!("order-group-{group}"))
            .json(&body);
        let order = self.call(request).await?;
        let reference = order
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Unreachable("a wallet order without an id".into()))?
            .to_string();
        let approval_url = order.get("links").and_then(Value::as_array).and_then(|links| {
            links.iter().find(|l| l["rel"] == "approve" || l["rel"] == "payer-action")?["href"]
                .as_str()
                .map(str::to_string)
        });
        Ok(PaymentSession { provider: Provider::Wallet, reference, client_secret: None, approval_url })
    }

    /// Captures a wallet order the customer approved (the provider answers a second capture with
    /// an error that names the order as captured already, which counts as done).
    pub async fn capture_wallet(&self, order: &str) -> Result<(), ProviderError> {
        let api = self.wallet.as_ref().ok_or(ProviderError::NotConfigured("wallet"))?;
        let request = self
            .http
            .post(format!("{}/v2/checkout/orders/{}/capture", api.url, urlencode(order)))
            .bearer_auth(&api.key)
            .header("paypal-request-id", format!("capture-{order}"))
            .header("content-type", "application/json")
            .body("{}");
        match self.call(request).await {
            Ok(_) => Ok(()),
            Err(ProviderError::Refused { status: 422, body }) if body.contains("ORDER_ALREADY_CAPTURED") => Ok(()),
            Err(other) => Err(other),
        }
    }
}

impl Providers {
    /// Withdraws the payment of a group cancelled before it was paid, so the customer can no
    /// longer pay it. A card intent is cancelled at the provider; a wallet order needs no call (an
    /// order never approved lapses at the provider, and an approval that still comes is not
    /// captured for a group no longer awaiting payment). A payment that succeeded meanwhile makes
    /// the provider refuse: its own webhook then flags the group for refund.
    pub async fn withdraw(&self, session: &PaymentSession) -> Result<(), ProviderError> {
        if session.provider != Provider::Card {
            return Ok(());
        }
        let api = self.card.as_ref().ok_or(ProviderError::NotConfigured("card"))?;
        let reference = &session.reference;
        let request = self
            .http
            .post(format!("{}/v1/payment_intents/{}/cancel", api.url, urlencode(reference)))
            .bearer_auth(&api.key)
            .header("idempotency-key", format!("cancel-{reference}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("cancellation_reason=requested_by_customer");
        let refused = match self.call(request).await {
            Ok(_) => return Ok(()),
            Err(refused @ ProviderError::Refused { status: 400, .. }) => refused,
            Err(other) => return Err(other),
        };
        // Refused for its state: cancelled before (a retried cancel) is done; anything else stands.
        let intent = self
            .call(
                self.http.get(format!("{}/v1/payment_intents/{}", api.url, urlencode(reference))).bearer_auth(&api.key),
            )
            .await?;
        if intent.get("status").and_then(Value::as_str) == Some("canceled") { Ok(()) } else { Err(refused) }
    }
}

/// What a provider answered a refund with: its id, and how far it got (its webhook settles it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAnswer {
    pub provider_id: String,
    pub state: ProviderRefundState,
}

impl Providers {
    /// Asks the provider that took `refund`'s payment to give its amount back: a card refund of
    /// the payment intent, or a wallet refund of the capture. The refund's attempt names the
    /// provider's idempotency key (a retried send makes no second refund), and Stockyard's refund
    /// id travels in the refund (card `metadata[refund_id]`, wallet `invoice_id`), so the
    /// provider's webhook names it.
    pub async fn refund(&self, refund: &Refund) -> Result<RefundAnswer, ProviderError> {
        match refund.provider {
            Provider::Card => self.refund_card(refund).await,
            Provider::Wallet => self.refund_wallet(refund).await,
        }
    }

    async fn refund_card(&self, refund: &Refund) -> Result<RefundAnswer, ProviderError> {
        let api = self.card.as_ref().ok_or(ProviderError::NotConfigured("card"))?;
        let form = [
            ("payment_intent", refund.payment_reference.clone()),
            ("amount", refund.amount.amount.to_string()),
            ("reason", "requested_by_customer".to_string()),
            ("metadata[refund_id]", refund.id.to_string()),
            ("metadata[order_group_id]", refund.group_id.to_string()),
        ];
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let request = self
            .http
            .post(format!("{}/v1/refunds", api.url))
            .bearer_auth(&api.key)
            .header("idempotency-key", refund.provider_key())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        let answer = self.call(request).await?;
        let state = match answer.get("status").and_then(Value::as_str) {
            Some("succeeded") => ProviderRefundState::Succeeded,
            Some("failed" | "canceled") => ProviderRefundState::Failed,
            _ => ProviderRefundState::Pending,
        };
        Ok(RefundAnswer { provider_id: id_of(&answer, "a refund")?, state })
    }

    async fn refund_wallet(&self, refund: &Refund) -> Result<RefundAnswer, ProviderError> {
        let api = self.wallet.as_ref().ok_or(ProviderError::NotConfigured("wallet"))?;
        let body = serde_json::json!({
            "amount": {"currency_code": refund.amount.currency.to_string(), "value": major(refund.amount)},
            "invoice_id": refund.id.to_string(),
            "custom_id": refund.group_id.to_string(),
            "note_to_payer": "Refund of returned items",
        });
        let request = self
            .http
            .post(format!("{}/v2/payments/captures/{}/refund", api.url, urlencode(&refund.payment_reference)))
            .bearer_auth(&api.key)
            .header("paypal-request-id", refund.provider_key())
            .json(&body);
        let answer = self.call(request).await?;
        let state = match answer.get("status").and_then(Value::as_str) {
            Some("COMPLETED") => ProviderRefundState::Succeeded,
            Some("FAILED" | "CANCELLED") => ProviderRefundState::Failed,
            _ => ProviderRefundState::Pending,
        };
        Ok(RefundAnswer { provider_id: id_of(&answer, "a wallet refund")?, state })
    }
}

fn id_of(answer: &Value, what: &str) -> Result<String, ProviderError> {
    answer
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ProviderError::Unreachable(format!("{what} without an id")))
}

/// Everything but the unreserved characters of RFC 3986, as form bodies and path segments want.
const RESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn urlencode(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, RESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_encoded_and_amounts_printed_in_major_units() {
        assert_eq!(urlencode("metadata[order_group_id]"), "metadata%5Border_group_id%5D");
        assert_eq!(urlencode("a b&c"), "a%20b%26c");
        let eur = stockyard_domain::Currency::parse("currency", "EUR").unwrap();
        let jpy = stockyard_domain::Currency::parse("currency", "JPY").unwrap();
        assert_eq!(major(Money::new(1999, eur)), "19.99");
        assert_eq!(major(Money::new(1500, jpy)), "1500");
    }
}
