//! `process-order-events`: consumes the order events queue (order groups placed, paid, expired,
//! cancelled, disputed, refunded; routed from the table's stream by `route-table-events`).
//!
//! - `order_paid`: each vendor order gets its invoice (numbered by its vendor, gapless: see
//!   `stockyard_store::billing::issue_invoice`) and the group its payment receipt, both written
//!   as PDFs to the order documents bucket; the customer gets the order confirmation with the
//!   invoices and the receipt attached (and, as a guest, the signed link to the order, valid 90
//!   days); each vendor's owner gets a new-order email; each line's units enter the consolidated
//!   sales record through the vendor's storefront channel (registered as `ONLINE` when the
//!   vendor has none), so paid orders count as demand and expired ones never do.
//! - `order_disputed`: each vendor of the group is told which order is disputed and the amount
//!   held.
//! - `order_expired`, `order_cancelled`: the customer is told the items were released.
//! - `parcel_shipped`, `parcel_delivered`: the parcel's packing slip (a PDF with the order's
//!   barcode) is written to the order documents bucket; the customer is told a parcel left (its lines, carrier,
//!   tracking number and expected delivery, and whether more will follow) or arrived, in the
//!   group's language.
//! - `refund_issued`: the refund's credit note is written as a PDF to the order documents bucket
//!   and the customer is told what was refunded, with the credit note attached, in the group's
//!   language.
//! - `order_placed`, `order_refunded`: nothing customer-facing (a placed group is unpaid; the
//!   confirmation waits for the payment).
//!
//! Every step is idempotent on the group and the event: an invoice, a receipt and a sale are
//! written once (conditions), a PDF is the same bytes again, and every email's id derives from the
//! group, the event and the recipient, so the email sender sends it once. A message delivered
//! twice therefore changes nothing the second time; once all of an event's work is done it is
//! marked handled and later copies stop at that mark. A message that fails is reported alone
//! (partial batch failure) and retried, then dead-lettered; the rest of its batch goes on.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use stockyard_domain::billing::{Buyer, Invoice, Lang, Receipt, Seller};
use stockyard_domain::channel::{ChannelKind, SaleRecord};
use stockyard_domain::ids::OrderGroupId;
use stockyard_domain::order::{OrderGroup, OrderStatus, VendorOrder};
use stockyard_domain::order_link;
use stockyard_domain::vendor::Vendor;
use stockyard_messaging::order_mail::{self, Confirmation, DisputeNotice, Part};
use stockyard_messaging::{Attachment, EmailMessage, Publisher, invoices, packing};
use stockyard_platform::runner;
use stockyard_store::objects::Bucket;
use stockyard_store::order_events::{OrderEventMessage, OrderEventType};
use stockyard_store::{Table, billing, fulfilment, orders, returns, users, vendors};

pub struct BillingDeps {
    pub table: Table,
    /// The emails queue: every email goes through `send-email`, which sends each id once.
    pub emails: Publisher,
    /// The private order documents bucket (invoices and receipts).
    pub documents: Bucket,
    /// What guests' order links are signed with (`ORDER_LINK_SECRET`).
    pub link_secret: Vec<u8>,
    /// The shop's front end: a guest's link is `<APP_URL>/orders/<group>?token=..`.
    pub app_url: String,
}

impl BillingDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let link_secret = stockyard_platform::env("ORDER_LINK_SECRET")?;
        anyhow::ensure!(link_secret.len() >= 32, "ORDER_LINK_SECRET must be at least 32 bytes");
        Ok(Self {
            table: Table::from_env(sdk)?,
            emails: Publisher::from_env(sdk, "EMAILS_QUEUE_URL")?,
            documents: Bucket::from_env(sdk, "ORDER_DOCUMENTS_BUCKET")?,
            link_secret: link_secret.into_bytes(),
            app_url: stockyard_platform::env("APP_URL")?,
        })
    }
}

/// Messages of one batch handled at once (each paid group writes a few items, PDFs and emails).
const CONCURRENCY: usize = 4;

pub async fn handle(
    deps: &BillingDeps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(runner::sqs_batch(event.payload, CONCURRENCY, |message: OrderEventMessage| process(deps, message)).await)
}

/// Handles one order event, once however often it is delivered.
pub async fn process(deps: &BillingDeps, message: OrderEventMessage) -> anyhow::Result<()> {
    let (group_id, key) = (message.group_id, message.key());
    if matches!(message.event, OrderEventType::OrderPlaced | OrderEventType::OrderRefunded) {
        tracing::info!(group = %group_id, event = key, "nothing to send for this event");
        return Ok(());
    }
    if billing::event_done(&deps.table, group_id, &key).await? {
        tracing::info!(group = %group_id, event = key, "handled before; skipping the duplicate");
        return Ok(());
    }
    let Some(group) = orders::group(&deps.table, group_id).await? else {
        // Nothing to act on: an event of a group that does not exist is not worth retrying.
        tracing::warn!(group = %group_id, event = key, "no such order group; the event is dropped");
        return Ok(());
    };
    match message.event {
        OrderEventType::OrderPaid => paid(deps, &group, message.occurred_at).await?,
        OrderEventType::OrderDisputed => disputed(deps, &group, &message).await?,
        OrderEventType::OrderExpired | OrderEventType::OrderCancelled => {
            let expired = message.event == OrderEventType::OrderExpired;
            let name = customer_name(&deps.table, &group).await?;
            publish(&deps.emails, &order_mail::released(&group, expired, name.as_deref())).await?;
        }
        OrderEventType::ParcelShipped | OrderEventType::ParcelDelivered => parcel(deps, &group, &message).await?,
        OrderEventType::RefundIssued => refund_issued(deps, &group, &message).await?,
        OrderEventType::OrderPlaced | OrderEventType::OrderRefunded => {}
    }
    billing::mark_event_done(&deps.table, group_id, &key).await?;
    tracing::info!(group = %group_id, event = key, "order event handled");
    Ok(())
}

/// A refund that succeeded: its credit note's PDF is written to the order documents bucket, and
/// the customer is told, with the credit note attached.
async fn refund_issued(deps: &BillingDeps, group: &OrderGroup, message: &OrderEventMessage) -> anyhow::Result<()> {
    let refund = message.refund.as_ref().ok_or_else(|| anyhow::anyhow!("a refund event without its refund"))?;
    let table = &deps.table;
    let notes = returns::credit_notes_of_group(table, group.id).await?;
    let Some(note) = notes.into_iter().find(|n| n.refund_id == refund.refund_id) else {
        // Written in the transaction that made the refund succeed: not there is not worth retrying.
        tracing::warn!(group = %group.id, refund = %refund.refund_id, "no credit note for the refund; the event is dropped");
        return Ok(());
    };
    let pdf = invoices::credit_note_pdf(&note);
    billing::store_pdf(&deps.documents, &billing::credit_note_object(group.id, note.refund_id), pdf.clone()).await?;
    let vendor_name =
        vendors::get(table, note.vendor_id).await?.map(|v| v.name).unwrap_or_else(|| note.seller.name.clone());
    let name = customer_name(table, group).await?;
    publish(&deps.emails, &order_mail::refund(group, &note, &vendor_name, name.as_deref(), &pdf)).await
}

/// The customer's email about a parcel that left or arrived.
async fn parcel(deps: &BillingDeps, group: &OrderGroup, message: &OrderEventMessage) -> anyhow::Result<()> {
    let parcel = message.shipment.as_ref().ok_or_else(|| anyhow::anyhow!("a parcel event without its parcel"))?;
    let table = &deps.table;
    let shipments = fulfilment::shipments_of(table, group.id, parcel.vendor_id).await?;
    let order = orders::orders_of(table, group.id).await?.into_iter().find(|o| o.vendor_id == parcel.vendor_id);
    let vendor = vendors::get(table, parcel.vendor_id).await?;
    let name = customer_name(table, group).await?;
    let Some(shipment) = shipments.into_iter().find(|s| s.id == parcel.shipment_id) else {
        tracing::warn!(group = %group.id, shipment = %parcel.shipment_id, "no such parcel; the event is dropped");
        return Ok(());
    };
    let vendor_name = vendor.map(|v| v.name).unwrap_or_default();
    let more_to_come = order.is_some_and(|o| !matches!(o.status, OrderStatus::Shipped | OrderStatus::Delivered));
    let notice = order_mail::ParcelNotice {
        group,
        shipment: &shipment,
        vendor_name: &vendor_name,
        customer_name: name.as_deref(),
        more_to_come,
    };
    let delivered = message.event == OrderEventType::ParcelDelivered;
    if !delivered {
        // The slip goes into the parcel: the same bytes however often this runs.
        let slip = packing::PackingSlip {
            shipment: &shipment,
            vendor_name: &vendor_name,
            ship_to: group.shipping_address.as_ref(),
        };
        let object = billing::packing_slip_object(group.id, shipment.id);
        billing::store_pdf(&deps.documents, &object, packing::packing_slip_pdf(&slip)).await?;
    }
    publish(&deps.emails, &order_mail::parcel(&notice, delivered)).await
}

async fn publish(queue: &Publisher, email: &EmailMessage) -> anyhow::Result<()> {
    queue.publish_raw(&serde_json::to_string(email)?).await?;
    tracing::info!(email_id = %email.email_id, subject = %email.subject, "email queued");
    Ok(())
}

async fn customer_name(table: &Table, group: &OrderGroup) -> anyhow::Result<Option<String>> {
    Ok(match group.customer_id {
        Some(id) => users::get(table, id).await?.map(|u| u.user.name),
        None => None,
    })
}

/// Whether the group was paid: it carries the payment and its status is paid or after it.
fn was_paid(group: &OrderGroup) -> bool {
    group.payment_reference.is_some()
        && !group.status.is_awaiting_payment()
        && !matches!(group.status, OrderStatus::Cancelled | OrderStatus::Expired)
}

/// The seller of record as the vendor's profile names it: its invoicing details (registered
/// name, address, country, tax number) when the owner set them, otherwise its name and country.
fn seller(vendor: &Vendor) -> Seller {
    match &vendor.invoicing {
        Some(details) => Seller {
            vendor_id: vendor.id,
            name: details.legal_name.clone().unwrap_or_else(|| vendor.name.clone()),
            country: Some(details.country.clone()),
            address: details.address_lines(),
            tax_id: details.tax_id.clone(),
        },
        None => Seller {
            vendor_id: vendor.id,
            name: vendor.name.clone(),
            country: vendor.country.clone(),
            address: Vec::new(),
            tax_id: None,
        },
    }
}

/// A vendor and the address its order emails go to (its owner's).
async fn vendor_and_contact(table: &Table, order: &VendorOrder) -> anyhow::Result<(Vendor, Option<String>)> {
    let vendor = vendors::get(table, order.vendor_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("vendor {} of order {} not found", order.vendor_id, order.id))?;
    let owner = users::get(table, vendor.owner_id).await?.map(|u| u.user.email.to_string());
    Ok((vendor, owner))
}

/// The PDF attachment's file name: the number and the seller (two sellers may both be at
/// `INV-000001`).
fn invoice_filename(invoice: &Invoice) -> String {
    format!("{}-{}.pdf", invoice.number, invoice.seller.name)
}

async fn paid(deps: &BillingDeps, group: &OrderGroup, paid_at: DateTime<Utc>) -> anyhow::Result<()> {
    anyhow::ensure!(was_paid(group), "order group {} is {} without a payment: not invoiced", group.id, group.status);
    let table = &deps.table;
    let orders = orders::orders_of(table, group.id).await?;
    let customer = customer_name(table, group).await?;
    let buyer = Buyer { name: customer.clone(), email: group.email.clone() };
    let now = Utc::now();
    let mut issued = Vec::with_capacity(orders.len());
    for order in &orders {
        let (vendor, contact) = vendor_and_contact(table, order).await?;
        let parties = (seller(&vendor), buyer.clone());
        let invoice =
            billing::issue_invoice(table, group.id, vendor.id, |n| Invoice::of(group, order, parties.clone(), n, now))
                .await?
                .map_err(|e| anyhow::anyhow!("order {} cannot be invoiced: {e}", order.id))?;
        let pdf = invoices::invoice_pdf(&invoice);
        billing::store_pdf(&deps.documents, &billing::invoice_object(group.id, vendor.id), pdf.clone()).await?;
        tracing::info!(group = %group.id, vendor = %vendor.id, number = invoice.number, "invoice issued");
        issued.push((vendor, contact, order, invoice, pdf));
    }
    let invoices: Vec<Invoice> = issued.iter().map(|(_, _, _, i, _)| i.clone()).collect();
    let receipt = billing::issue_receipt(table, &Receipt::of(group, buyer, &invoices, now)).await?;
    let receipt_pdf = invoices::receipt_pdf(&receipt);
    billing::store_pdf(&deps.documents, &billing::receipt_object(group.id), receipt_pdf.clone()).await?;

    record_sales(table, group, &orders, paid_at).await?;

    let mut attachments: Vec<Attachment> = issued
        .iter()
        .map(|(_, _, _, invoice, pdf)| Attachment::new(&invoice_filename(invoice), "application/pdf", pdf))
        .collect();
    attachments.push(Attachment::new(&format!("receipt-{}.pdf", group.id), "application/pdf", &receipt_pdf));
    let link = guest_link((&deps.link_secret, &deps.app_url), group.id, group.customer_id.is_none(), paid_at);
    let confirmation = order_mail::confirmation(&Confirmation {
        group,
        customer_name: customer.as_deref(),
        parts: issued
            .iter()
            .map(|(vendor, _, order, invoice, _)| Part {
                vendor_name: &vendor.name,
                order,
                invoice_number: Some(&invoice.number),
            })
            .collect(),
        guest_link: link.as_ref().map(|(url, until)| (url.as_str(), *until)),
        attachments,
    });
    publish(&deps.emails, &confirmation).await?;
    for (vendor, contact, order, _, _) in &issued {
        match contact {
            Some(to) => {
                let lang = Lang::of(vendor.default_locale.as_str());
                publish(&deps.emails, &order_mail::vendor_new_order(group, order, to, lang)).await?;
            }
            None => tracing::warn!(vendor = %vendor.id, "the vendor's owner has no account: no new-order email"),
        }
    }
    Ok(())
}

/// A guest's link to the order (valid 90 days from the payment), none for a customer with an
/// account (they read it signed in).
fn guest_link(
    (secret, app_url): (&[u8], &str),
    group: OrderGroupId,
    guest: bool,
    paid_at: DateTime<Utc>,
) -> Option<(String, DateTime<Utc>)> {
    guest.then(|| {
        let until = order_link::expiry_from(paid_at);
        let token = order_link::sign(secret, group, until);
        (format!("{}/orders/{group}?token={token}", app_url.trim_end_matches('/')), until)
    })
}

/// Each line's units, location by location, as sales of the vendor's storefront channel, sold
/// when the group was paid. The sale id is the order's and the line's and the location's
/// position, so a second delivery names the same sales.
async fn record_sales(
    table: &Table,
    group: &OrderGroup,
    orders: &[VendorOrder],
    paid_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    for order in orders {
        let Some(first) = order.lines.iter().flat_map(|l| l.allocations.first()).next() else { continue };
        let channel = billing::online_channel(table, order.vendor_id, first.location_id).await?;
        for (i, line) in order.lines.iter().enumerate() {
            for (j, allocation) in line.allocations.iter().enumerate() {
                let sale = SaleRecord {
                    vendor_id: order.vendor_id,
                    channel_id: channel.id,
                    channel_kind: ChannelKind::Storefront,
                    sale_id: format!("{}-{i}-{j}", order.id),
                    location_id: allocation.location_id,
                    variant_id: line.variant_id,
                    product_id: line.product_id,
                    sku: line.sku.clone(),
                    quantity: i64::from(allocation.quantity),
                    unit_price: Some(line.unit_price.amount),
                    currency: Some(group.currency),
                    country: None,
                    region: None,
                    sold_at: paid_at,
                    recorded_at: Utc::now(),
                    stock_version: None,
                    restocked: None,
                    returns_sale_id: None,
                    returned: 0,
                };
                billing::record_paid_sale(table, &sale).await?;
            }
        }
    }
    Ok(())
}

async fn disputed(deps: &BillingDeps, group: &OrderGroup, message: &OrderEventMessage) -> anyhow::Result<()> {
    let dispute = message.dispute.as_ref().ok_or_else(|| anyhow::anyhow!("a dispute event without its dispute"))?;
    for order in orders::orders_of(&deps.table, group.id).await? {
        let (vendor, contact) = vendor_and_contact(&deps.table, &order).await?;
        let Some(to) = contact else {
            tracing::warn!(vendor = %vendor.id, "the vendor's owner has no account: no dispute email");
            continue;
        };
        let notice = DisputeNotice {
            group_id: group.id,
            order_id: order.id,
            dispute_id: &dispute.provider_dispute_id,
            held: dispute.held(),
            reason: &dispute.reason,
        };
        let lang = Lang::of(vendor.default_locale.as_str());
        publish(&deps.emails, &order_mail::vendor_dispute(&notice, &vendor.id.to_string(), &to, lang)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stockyard_domain::Currency;
    use stockyard_domain::money::Money;

    fn group(status: OrderStatus, payment: Option<&str>) -> OrderGroup {
        let now = Utc::now();
        let eur = Currency::parse("currency", "EUR").unwrap();
        OrderGroup {
            id: OrderGroupId::generate(),
            customer_id: None,
            email: "guest@example.com".into(),
            currency: eur,
            locale: "en".into(),
            orders: Vec::new(),
            total: Money::new(100, eur),
            status,
            holds: Vec::new(),
            expires_at: now,
            payment_reference: payment.map(str::to_string),
            refunds_due: Vec::new(),
            disputes: Vec::new(),
            shipping_address: None,
            billing_address: None,
            payment: None,
            payment_provider: None,
            coupon: None,
            limited: Vec::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn only_a_group_that_carries_its_payment_and_reached_paid_is_invoiced() {
        assert!(was_paid(&group(OrderStatus::Paid, Some("pi_1"))));
        assert!(was_paid(&group(OrderStatus::Shipped, Some("pi_1"))));
        assert!(was_paid(&group(OrderStatus::Refunded, Some("pi_1"))), "refunded after payment: still invoiced");
        assert!(!was_paid(&group(OrderStatus::PendingPayment, None)));
        assert!(!was_paid(&group(OrderStatus::Paid, None)));
        assert!(!was_paid(&group(OrderStatus::Expired, Some("pi_late"))), "a late payment is refunded, not kept");
    }

    #[test]
    fn a_guests_link_names_the_group_and_verifies_for_ninety_days_and_a_customer_gets_none() {
        let secret = b"order-link-secret-for-tests-only-0123456789";
        let group = OrderGroupId::generate();
        let paid_at = Utc::now();
        let (url, until) = guest_link((secret, "https://shop.test/"), group, true, paid_at).expect("a guest's link");
        assert_eq!(until, paid_at + chrono::Duration::days(90));
        let token = url.strip_prefix(&format!("https://shop.test/orders/{group}?token=")).expect("the group's URL");
        assert_eq!(order_link::verify(secret, group, token, paid_at + chrono::Duration::days(89)), Ok(()));
        assert!(order_link::verify(secret, group, token, paid_at + chrono::Duration::days(91)).is_err());
        assert!(order_link::verify(secret, OrderGroupId::generate(), token, paid_at).is_err());
        assert_eq!(guest_link((secret, "https://shop.test"), group, false, paid_at), None);
    }
}
