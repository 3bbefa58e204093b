//! `route-table-events`: reads the table's stream and puts each domain event on the queue of the
//! area that acts on it: invitation and account emails on the emails queue (account emails get
//! their signed links here), catalog changes on the catalog queue (the search indexer reads it),
//! stock items crossing below their reorder point or running out on the alerts queue, channel
//! sales and returns on the sales events queue (the sales history counts them), and webhook events
//! (stock availability, low stock, purchase order lines received) on the webhook events queue,
//! which turns them into deliveries to the vendor's endpoints, and order groups placed, paid,
//! expired, cancelled, disputed or refunded on the order events queue (`process-order-events`
//! invoices paid groups and sends the order emails).
//!
//! Records are routed in stream order. At the first record that cannot be routed the function
//! stops and reports that record (`ReportBatchItemFailures`): the stream delivers it and everything
//! after it again, so no event is lost. Records before it may be routed twice across such retries;
//! consumers deduplicate on the business id each message carries (an email's id is its
//! invitation's id), so no side effect happens twice.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::LambdaEvent;
use stockyard_http::links::{LinkPurpose, LinkSigner, LinkSubject};
use stockyard_messaging::templates::{self, AccountNotice, Invitation};
use stockyard_messaging::{EmailMessage, Publisher};
use stockyard_store::account_mail::{AccountMailKind, AccountMailRecord};
use stockyard_store::events::{self, CatalogMessage, Change, DomainEvent};
use stockyard_store::order_events::{self, OrderEventMessage};

/// Signs the links of account emails and makes them URLs of the shop's front end.
pub struct Links {
    pub signer: LinkSigner,
    /// The front end's base URL (`APP_URL`): a link is `<APP_URL>/account/<purpose>?token=..`.
    pub app_url: String,
}

impl Links {
    fn url(
        &self,
        purpose: LinkPurpose,
        path: &str,
        mail: &AccountMailRecord,
        to: &stockyard_domain::values::Email,
    ) -> anyhow::Result<String> {
        let token = self.signer.sign(
            purpose,
            &LinkSubject {
                user_id: mail.user_id,
                email: to,
                credentials_version: mail.credentials_version,
                previous_email: (purpose == LinkPurpose::ChangeEmail).then_some(&mail.email),
                requested_at: mail.created_at,
                email_id: mail.id,
            },
        )?;
        Ok(format!("{}/account/{path}?token={token}", self.app_url.trim_end_matches('/')))
    }

    /// The email an account-mail request asks for.
    fn render(&self, mail: &AccountMailRecord) -> anyhow::Result<EmailMessage> {
        let link = |purpose: LinkPurpose, path: &str| self.url(purpose, path, mail, &mail.to);
        let expires_at = |purpose: LinkPurpose| mail.created_at + purpose.ttl();
        let notice_link;
        let notice = match mail.kind {
            AccountMailKind::VerifyEmail => {
                notice_link = link(LinkPurpose::VerifyEmail, "verify-email")?;
                AccountNotice::VerifyEmail { link: &notice_link, expires_at: expires_at(LinkPurpose::VerifyEmail) }
            }
            AccountMailKind::PasswordReset => {
                notice_link = link(LinkPurpose::ResetPassword, "reset-password")?;
                AccountNotice::PasswordReset { link: &notice_link, expires_at: expires_at(LinkPurpose::ResetPassword) }
            }
            AccountMailKind::ConfirmEmailChange => {
                notice_link = link(LinkPurpose::ChangeEmail, "confirm-email")?;
                AccountNotice::ConfirmEmailChange {
                    link: &notice_link,
                    expires_at: expires_at(LinkPurpose::ChangeEmail),
                    old_email: &mail.email,
                }
            }
            AccountMailKind::EmailChanged => {
                let new_email = mail
                    .new_email
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("an email change without its new address"))?;
                AccountNotice::EmailChanged { new_email }
            }
            AccountMailKind::PasswordChanged => AccountNotice::PasswordChanged,
        };
        Ok(templates::account(mail.id, &mail.to, &mail.name, &notice))
    }
}

pub struct RouterDeps {
    pub emails: Publisher,
    pub catalog: Publisher,
    pub alerts: Publisher,
    pub sales: Publisher,
    pub webhooks: Publisher,
    pub orders: Publisher,
    pub links: Links,
}

impl RouterDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self {
            emails: Publisher::from_env(sdk, "EMAILS_QUEUE_URL")?,
            catalog: Publisher::from_env(sdk, "CATALOG_EVENTS_QUEUE_URL")?,
            alerts: Publisher::from_env(sdk, "ALERTS_QUEUE_URL")?,
            sales: Publisher::from_env(sdk, "SALES_EVENTS_QUEUE_URL")?,
            webhooks: Publisher::from_env(sdk, "WEBHOOK_EVENTS_QUEUE_URL")?,
            orders: Publisher::from_env(sdk, "ORDER_EVENTS_QUEUE_URL")?,
            links: Links { signer: LinkSigner::from_env()?, app_url: stockyard_platform::env("APP_URL")? },
        })
    }
}

/// A message for another area's queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Email(EmailMessage),
    Catalog(CatalogMessage),
    StockAlert(stockyard_domain::stock::StockAlert),
    Sale(stockyard_domain::channel::SaleRecord),
    Webhook(stockyard_domain::webhook::WebhookEvent),
    Order(OrderEventMessage),
}

/// What one stream record asks to send: its domain event's message, if any, then its webhook
/// events, then its order events.
pub fn route(record: &EventRecord, links: &Links) -> anyhow::Result<Vec<Outgoing>> {
    let Some(change) = Change::parse(&record.event_name) else { return Ok(Vec::new()) };
    let images = (record.change.new_image.clone(), record.change.old_image.clone());
    let mut out: Vec<Outgoing> = events::from_change(change, images.0.clone(), images.1.clone())?
        .map(|event| domain_message(record, links, event))
        .transpose()?
        .into_iter()
        .collect();
    out.extend(events::webhook_events(change, images.0.clone(), images.1.clone())?.into_iter().map(Outgoing::Webhook));
    out.extend(order_events::order_events(change, images.0, images.1)?.into_iter().map(Outgoing::Order));
    Ok(out)
}

fn domain_message(record: &EventRecord, links: &Links, event: DomainEvent) -> anyhow::Result<Outgoing> {
    Ok(match event {
        DomainEvent::InvitationCreated(i) => Outgoing::Email(templates::invitation(&Invitation {
            id: i.id,
            vendor_name: &i.vendor_name,
            to: &i.email,
            role: i.role,
            expires_on: i.expires_on,
        })),
        DomainEvent::AccountMailRequested(mail) => Outgoing::Email(links.render(&mail)?),
        DomainEvent::PurchaseOrderSent(order) => Outgoing::Email(templates::purchase_order(&order)),
        DomainEvent::Catalog(event) => Outgoing::Catalog(CatalogMessage {
            event_id: record.event_id.clone(),
            occurred_at: record.change.approximate_creation_date_time,
            event,
        }),
        DomainEvent::StockAlert(alert) => Outgoing::StockAlert(alert),
        DomainEvent::Sale(sale) => Outgoing::Sale(sale),
    })
}

/// Routes the records in order with `send`, stopping at the first failure and reporting it.
pub async fn route_all<F, Fut>(records: &[EventRecord], links: &Links, mut send: F) -> DynamoDbEventResponse
where
    F: FnMut(Outgoing) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut response = DynamoDbEventResponse::default();
    for record in records {
        let routed = match route(record, links) {
            Ok(messages) => {
                let mut sent = Ok(());
                for message in messages {
                    sent = send(message).await;
                    if sent.is_err() {
                        break;
                    }
                }
                sent
            }
            Err(e) => Err(e),
        };
        if let Err(e) = routed {
            let sequence = record.change.sequence_number.clone();
            tracing::error!(sequence = ?sequence, event = %record.event_name, error = format!("{e:#}"), "stream record not routed; the stream delivers it again");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

pub async fn handle(
    deps: &RouterDeps,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    Ok(route_all(&event.payload.records, &deps.links, |message| async {
        match message {
            Outgoing::Email(email) => {
                let body = serde_json::to_string(&email)?;
                deps.emails.publish_raw(&body).await?;
                tracing::info!(email_id = %email.email_id, "email queued");
            }
            Outgoing::Catalog(message) => {
                deps.catalog.publish_raw(&serde_json::to_string(&message)?).await?;
                tracing::info!(event_id = %message.event_id, event = ?message.event, "catalog event queued");
            }
            Outgoing::StockAlert(alert) => {
                deps.alerts.publish_raw(&serde_json::to_string(&alert)?).await?;
                tracing::info!(alert_id = %alert.id, kind = ?alert.kind, sku = alert.sku, "stock alert queued");
            }
            Outgoing::Sale(sale) => {
                deps.sales.publish_raw(&serde_json::to_string(&sale)?).await?;
                tracing::debug!(sale_id = sale.sale_id, sku = sale.sku, "sale queued for the sales history");
            }
            Outgoing::Webhook(event) => {
                deps.webhooks.publish_raw(&serde_json::to_string(&event)?).await?;
                tracing::debug!(event_id = %event.id, event_type = %event.event_type(), "webhook event queued");
            }
            Outgoing::Order(event) => {
                deps.orders.publish_raw(&serde_json::to_string(&event)?).await?;
                tracing::info!(group = %event.group_id, event = event.event.as_str(), "order event queued");
            }
        }
        Ok(())
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A stream batch as Lambda delivers it: an invitation, an item of another kind, another invitation.
    fn batch() -> Event {
        serde_json::from_value(serde_json::json!({ "Records": [
            record("1", "INSERT", invitation_image("01JDB0000000000000000000A1", "ada@example.com")),
            record("2", "INSERT", serde_json::json!({ "PK": {"S": "VENDOR#x"}, "SK": {"S": "LOCATION#y"}, "entity": {"S": "location"} })),
            record("3", "INSERT", invitation_image("01JDB0000000000000000000A3", "grace@example.com")),
        ]}))
        .expect("a DynamoDB stream event")
    }

    fn record(sequence: &str, name: &str, image: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "eventID": sequence, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": { "Keys": {}, "NewImage": image, "SequenceNumber": sequence, "SizeBytes": 10,
                          "StreamViewType": "NEW_AND_OLD_IMAGES" },
        })
    }

    fn invitation_image(id: &str, email: &str) -> serde_json::Value {
        serde_json::json!({
            "PK": {"S": "VENDOR#01JDB0000000000000000000V1"}, "SK": {"S": format!("INVITE#{id}")}, "entity": {"S": "invitation"},
            "id": {"S": id}, "vendor_id": {"S": "01JDB0000000000000000000V1"}, "vendor_name": {"S": "Green Valley"},
            "email": {"S": email}, "role": {"S": "viewer"}, "status": {"S": "pending"},
            "invited_by": {"S": "01JDB0000000000000000000W1"}, "created_at": {"S": "2026-11-30T00:00:00Z"},
            "expires_on": {"S": "2026-12-07T00:00:00Z"},
        })
    }

    const SIGNING: &str = include_str!("../../../infra/local/dev/jwt-signing-key.pem");
    const VERIFYING: &str = include_str!("../../../infra/local/dev/jwt-verifying-key.pem");

    fn links() -> Links {
        Links {
            signer: LinkSigner::new(SIGNING, "stockyard", "stockyard-test").unwrap(),
            app_url: "https://shop.test/".into(),
        }
    }

    fn reset_request_image(version: u64) -> serde_json::Value {
        serde_json::json!({
            "PK": {"S": "ACCOUNTMAIL#01JDB0000000000000000000M1"}, "SK": {"S": "ACCOUNTMAIL"}, "entity": {"S": "account_mail"},
            "id": {"S": "01JDB0000000000000000000M1"}, "kind": {"S": "password_reset"},
            "user_id": {"S": "01JDB0000000000000000000K1"}, "to": {"S": "ada@example.com"}, "name": {"S": "Ada"},
            "email": {"S": "ada@example.com"}, "credentials_version": {"N": version.to_string()},
            "created_at": {"S": chrono::Utc::now().to_rfc3339()}, "expires_at": {"N": "1900000000"},
        })
    }

    #[tokio::test]
    async fn a_reset_request_becomes_an_email_whose_link_names_the_account_and_its_password_version() {
        let event: Event = serde_json::from_value(serde_json::json!({ "Records": [
            record("1", "INSERT", reset_request_image(4)),
        ]}))
        .unwrap();
        route(&event.records[0], &links()).expect("the request is routed");
        let sent = Mutex::new(Vec::new());
        let response = route_all(&event.records, &links(), |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        let Outgoing::Email(email) = &sent.lock().unwrap()[0] else { panic!("an email") };
        assert_eq!(email.to, ["ada@example.com"]);
        assert_eq!(email.email_id.to_string(), "01JDB0000000000000000000M1", "the email's id is the request's");
        let token = email.text.split("https://shop.test/account/reset-password?token=").nth(1).expect("a reset link");
        let token = token.split_whitespace().next().unwrap();
        let verifier = stockyard_http::links::LinkVerifier::new(VERIFYING, "stockyard", "stockyard-test").unwrap();
        let claims = verifier.verify(LinkPurpose::ResetPassword, token).unwrap();
        assert_eq!((claims.sub.to_string().as_str(), claims.ver), ("01JDB0000000000000000000K1", 4));
        assert!(verifier.verify(LinkPurpose::VerifyEmail, token).is_err(), "a reset link verifies nothing else");
    }

    fn recipients(sent: &Mutex<Vec<Outgoing>>) -> Vec<String> {
        sent.lock()
            .unwrap()
            .iter()
            .filter_map(|m| match m {
                Outgoing::Email(e) => Some(e.to[0].clone()),
                Outgoing::Catalog(_)
                | Outgoing::StockAlert(_)
                | Outgoing::Sale(_)
                | Outgoing::Webhook(_)
                | Outgoing::Order(_) => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn every_invitation_in_a_batch_becomes_its_email_and_other_items_are_skipped() {
        let sent = Mutex::new(Vec::new());
        let response = route_all(&batch().records, &links(), |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(recipients(&sent), ["ada@example.com", "grace@example.com"]);
        let Outgoing::Email(first) = &sent.lock().unwrap()[0] else { panic!("an email") };
        assert_eq!(first.email_id.to_string(), "01JDB0000000000000000000A1", "the email's id is the invitation's");
    }

    #[tokio::test]
    async fn a_failure_midway_reports_that_record_and_routes_nothing_after_it_until_redelivery() {
        let sent = Mutex::new(Vec::new());
        let records = batch().records;
        // Publishing the second invitation (record 3) fails once.
        let mut calls = 0;
        let response = route_all(&records, &links(), |m| {
            calls += 1;
            let fail = calls == 2;
            if !fail {
                sent.lock().unwrap().push(m);
            }
            async move { if fail { anyhow::bail!("queue unavailable") } else { Ok(()) } }
        })
        .await;
        let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        assert_eq!(failed, [Some("3".to_string())], "the stream resumes at the record that failed");
        assert_eq!(recipients(&sent), ["ada@example.com"]);

        // The stream delivers record 3 again (as Lambda does from the reported sequence number).
        let again = route_all(&records[2..], &links(), |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(again.batch_item_failures.is_empty());
        assert_eq!(recipients(&sent), ["ada@example.com", "grace@example.com"], "nothing lost");
    }

    #[tokio::test]
    async fn an_unreadable_invitation_is_reported_instead_of_being_dropped() {
        let mut event = batch();
        event.records[0].change.new_image.remove("vendor_name");
        let response = route_all(&event.records, &links(), |_| async { Ok(()) }).await;
        assert_eq!(response.batch_item_failures[0].item_identifier.as_deref(), Some("1"));
    }

    fn product_image(status: &str, version: u64, title: &str) -> serde_json::Value {
        serde_json::json!({
            "PK": {"S": "PRODUCT#01JDB0000000000000000000P1"}, "SK": {"S": "PRODUCT"}, "entity": {"S": "product"},
            "id": {"S": "01JDB0000000000000000000P1"}, "vendor_id": {"S": "01JDB0000000000000000000V1"},
            "category_id": {"S": "01JDB0000000000000000000C1"}, "status": {"S": status}, "locale": {"S": "en"},
            "title": {"S": title}, "description": {"S": ""}, "slug": {"S": "jumper"}, "tags": {"L": []},
            "version": {"N": version.to_string()}, "created_at": {"S": "2026-11-30T00:00:00Z"},
            "updated_at": {"S": "2026-11-30T00:00:00Z"}, "variant_count": {"N": "0"},
        })
    }

    fn modify(sequence: &str, old: serde_json::Value, new: serde_json::Value) -> serde_json::Value {
        let mut r = record(sequence, "MODIFY", new);
        r["dynamodb"]["OldImage"] = old;
        r
    }

    #[tokio::test]
    async fn product_changes_become_catalog_events_named_by_what_changed() {
        let event: Event = serde_json::from_value(serde_json::json!({ "Records": [
            record("1", "INSERT", product_image("draft", 1, "Jumper")),
            modify("2", product_image("draft", 1, "Jumper"), product_image("draft", 2, "Wool jumper")),
            modify("3", product_image("draft", 2, "Wool jumper"), product_image("published", 3, "Wool jumper")),
            modify("4", product_image("published", 3, "Wool jumper"), product_image("archived", 4, "Wool jumper")),
        ]}))
        .unwrap();
        let sent = Mutex::new(Vec::new());
        let response = route_all(&event.records, &links(), |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        let kinds: Vec<(String, String)> = sent
            .lock()
            .unwrap()
            .iter()
            .map(|m| match m {
                Outgoing::Catalog(c) => {
                    let json = serde_json::to_value(c).unwrap();
                    (json["type"].as_str().unwrap().to_string(), c.event_id.clone())
                }
                Outgoing::Email(_)
                | Outgoing::StockAlert(_)
                | Outgoing::Sale(_)
                | Outgoing::Webhook(_)
                | Outgoing::Order(_) => panic!("only catalog events"),
            })
            .collect();
        let expected =
            [("product.created", "1"), ("product.changed", "2"), ("product.published", "3"), ("product.archived", "4")];
        assert_eq!(kinds, expected.map(|(k, id)| (k.to_string(), id.to_string())));
    }

    fn stock_image(on_hand: u32, version: u64) -> serde_json::Value {
        serde_json::json!({
            "PK": {"S": "STOCK#01JDB0000000000000000000V1#01JDB0000000000000000000A1"}, "SK": {"S": "AT#01JDB0000000000000000000C1"},
            "entity": {"S": "stock item"}, "vendor_id": {"S": "01JDB0000000000000000000V1"},
            "variant_id": {"S": "01JDB0000000000000000000A1"}, "product_id": {"S": "01JDB0000000000000000000P1"},
            "sku": {"S": "MILK-1L"}, "location_id": {"S": "01JDB0000000000000000000C1"},
            "on_hand": {"N": on_hand.to_string()}, "reserved": {"N": "0"}, "incoming": {"N": "0"},
            "version": {"N": version.to_string()}, "perishable": {"BOOL": false}, "reorder_point": {"N": "5"},
            "updated_at": {"S": "2026-11-30T00:00:00Z"},
        })
    }

    fn stock_change(before: u32, after: u32) -> EventRecord {
        let event: Event = serde_json::from_value(serde_json::json!({ "Records": [{
            "eventID": "9", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": { "Keys": {}, "NewImage": stock_image(after, 8), "OldImage": stock_image(before, 7),
                          "SequenceNumber": "9", "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES" },
        }]}))
        .unwrap();
        event.records.into_iter().next().unwrap()
    }

    fn alerts(messages: Vec<Outgoing>) -> Vec<stockyard_domain::stock::StockAlert> {
        messages
            .into_iter()
            .filter_map(|m| match m {
                Outgoing::StockAlert(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_stock_item_crossing_its_reorder_point_becomes_one_alert_and_a_sale_below_it_none() {
        match &alerts(route(&stock_change(6, 4), &links()).unwrap())[..] {
            [alert] => {
                assert_eq!((alert.available, alert.version, alert.sku.as_str()), (4, 8, "MILK-1L"));
                assert_eq!(alert.kind, stockyard_domain::stock::StockAlertKind::Low);
            }
            other => panic!("expected an alert, got {other:?}"),
        }
        assert!(alerts(route(&stock_change(4, 3), &links()).unwrap()).is_empty(), "already below: no alert");
        let again = |r: Vec<Outgoing>| match &alerts(r)[..] {
            [a] => a.id,
            other => panic!("expected an alert, got {other:?}"),
        };
        assert_eq!(
            again(route(&stock_change(6, 4), &links()).unwrap()),
            again(route(&stock_change(6, 4), &links()).unwrap()),
            "a record delivered twice is one alert"
        );
    }

    #[test]
    fn a_stock_change_is_also_queued_as_webhook_events_after_its_alert() {
        let messages = route(&stock_change(6, 4), &links()).unwrap();
        let kinds: Vec<&str> = messages
            .iter()
            .map(|m| match m {
                Outgoing::StockAlert(_) => "alert",
                Outgoing::Webhook(e) => e.event_type().as_str(),
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["alert", "stock.availability_changed", "stock.low"]);
    }
    fn group_image(status: &str, version: u64) -> serde_json::Value {
        serde_json::json!({
            "PK": {"S": "ORDERGROUP#01JDB0000000000000000000G1"}, "SK": {"S": "GROUP"}, "entity": {"S": "order group"},
            "id": {"S": "01JDB0000000000000000000G1"}, "email": {"S": "guest@example.com"}, "currency": {"S": "EUR"},
            "locale": {"S": "fr-FR"}, "orders": {"L": []}, "total": {"M": {"amount": {"N": "1999"}, "currency": {"S": "EUR"}}},
            "status": {"S": status}, "holds": {"L": []}, "expires_at": {"S": "2026-12-01T10:15:00Z"},
            "version": {"N": version.to_string()}, "created_at": {"S": "2026-12-01T10:00:00Z"},
            "updated_at": {"S": "2026-12-01T10:05:00Z"},
        })
    }

    #[tokio::test]
    async fn a_group_placed_then_paid_goes_to_the_order_events_queue_as_typed_events() {
        let event: Event = serde_json::from_value(serde_json::json!({ "Records": [
            record("1", "INSERT", group_image("pending_payment", 1)),
            modify("2", group_image("pending_payment", 1), group_image("paid", 2)),
            modify("3", group_image("paid", 2), group_image("paid", 3)),
        ]}))
        .unwrap();
        let sent = Mutex::new(Vec::new());
        let response = route_all(&event.records, &links(), |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        let orders: Vec<(String, u64)> = sent
            .lock()
            .unwrap()
            .iter()
            .map(|m| match m {
                Outgoing::Order(e) => {
                    (serde_json::to_value(e).unwrap()["type"].as_str().unwrap().to_string(), e.version)
                }
                other => panic!("only order events, got {other:?}"),
            })
            .collect();
        assert_eq!(orders, [("order_placed".to_string(), 1), ("order_paid".to_string(), 2)]);
    }
}
