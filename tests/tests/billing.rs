//! After payment (issue 13): a group placed through the store (what checkout calls) and paid
//! through the local card provider's signed webhook is invoiced per vendor order with each
//! vendor's next numbers, gets one payment receipt, one confirmation email to the customer with
//! the PDFs (and a guest's signed link), one new-order email per vendor, and its sales in the
//! consolidated sales record; the same order event delivered again changes nothing and sends
//! nothing; an expired group never enters the sales record; a batch with a failing message hands
//! back only that message, and the message delivered again after the cause is gone completes.

use chrono::Utc;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use stockyard_domain::ids::{LocationId, OrderGroupId, OrderId, ProductId, UserId, VariantId, VendorId};
use stockyard_domain::money::{Currency, Money};
use stockyard_domain::order::{
    HeldStock, LineAllocation, OrderGroup, OrderLine, OrderStatus, OrderTotals, VendorOrder,
};
use stockyard_domain::order_link;
use stockyard_domain::stock::Actor;
use stockyard_store::objects::Bucket;
use stockyard_store::order_events::{OrderEventMessage, OrderEventType};
use stockyard_store::{Table, billing, orders};
use stockyard_tests::{SentEmail, TestApp, TestVendor, eventually, pdf_text, today, unique_email};

/// The consumer, as its binary is named in template.yaml (`ProcessOrderEventsFunction`).
const CONSUMER: &str = "process-order-events";

/// One vendor's stocked variant: (vendor, sku, variant, product, location).
struct Stocked {
    vendor: TestVendor,
    sku: String,
    variant: VariantId,
    product: ProductId,
    location: LocationId,
}

async fn stocked(app: &TestApp, units: u32) -> Stocked {
    let vendor = app.vendor_owner().await;
    let (sku, location) = app.variant_and_location(&vendor, None).await;
    let body = json!({ "sku": sku, "location_id": location, "quantity": units, "reason": "received" });
    app.adjust_stock(vendor.owner.token(), &vendor.id, &body).await.expect(201);
    let view = app.sku_stock(vendor.owner.token(), &vendor.id, &sku).await.expect(200).clone();
    Stocked {
        variant: VariantId::parse("variant_id", view["variant_id"].as_str().unwrap()).unwrap(),
        product: ProductId::parse("product_id", view["product_id"].as_str().unwrap()).unwrap(),
        location: LocationId::parse("location_id", &location).unwrap(),
        vendor,
        sku,
    }
}

async fn table(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("currency", "EUR").unwrap())
}

fn vendor_id(s: &Stocked) -> VendorId {
    VendorId::parse("vendor_id", &s.vendor.id).unwrap()
}

/// One vendor's order of `quantity` units at 19.99 EUR (20% VAT included) for `group`.
fn vendor_order(group: OrderGroupId, customer: Option<UserId>, s: &Stocked, quantity: u32) -> VendorOrder {
    let now = Utc::now();
    let total = eur(1_999 * i64::from(quantity));
    let tax = eur((1_999 * i64::from(quantity) + 3) / 6);
    VendorOrder {
        id: OrderId::generate(),
        group_id: group,
        vendor_id: vendor_id(s),
        customer_id: customer,
        status: OrderStatus::PendingPayment,
        lines: vec![OrderLine {
            variant_id: s.variant,
            product_id: s.product,
            sku: s.sku.clone(),
            title: "Wool jumper".into(),
            quantity,
            unit_price: eur(1_999),
            discount: eur(0),
            tax,
            total,
            allocations: vec![LineAllocation { location_id: s.location, quantity, shipped: 0 }],
            returned: 0,
        }],
        totals: OrderTotals {
            subtotal: total,
            discount: eur(0),
            shipping: eur(0),
            tax,
            total,
            refunded: None,
            refunded_shipping: None,
        },
        commission_rate: Decimal::new(10, 2),
        promised_ship_by: None,
        shipping: None,
        tax: None,
        timeline: Vec::new(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Places a group of one order per `(vendor, units)` for `email` in `locale`, as checkout will.
async fn place(
    app: &TestApp,
    parts: &[(&Stocked, u32)],
    (email, locale, customer): (&str, &str, Option<UserId>),
    expires_at: chrono::DateTime<Utc>,
) -> (OrderGroup, Vec<VendorOrder>) {
    let (id, now) = (OrderGroupId::generate(), Utc::now());
    let orders: Vec<VendorOrder> = parts.iter().map(|(s, q)| vendor_order(id, customer, s, *q)).collect();
    let total = orders.iter().fold(eur(0), |sum, o| sum.checked_add(o.totals.total).unwrap());
    let group = OrderGroup {
        id,
        customer_id: customer,
        email: email.into(),
        currency: total.currency,
        locale: locale.into(),
        orders: orders.iter().map(|o| (o.vendor_id, o.id)).collect(),
        total,
        status: OrderStatus::PendingPayment,
        holds: parts
            .iter()
            .map(|(s, q)| HeldStock {
                vendor_id: vendor_id(s),
                variant_id: s.variant,
                location_id: s.location,
                shard: None,
                quantity: *q,
            })
            .collect(),
        expires_at,
        payment_reference: None,
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
    };
    let actor = Actor::System { name: "billing test".into() };
    orders::place(&table(app).await, &group, &orders, &actor, now.date_naive()).await.expect("the group is placed");
    (group, orders)
}

fn soon() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(15)
}

async fn simulator(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Value {
    let resp = app.request(method, &format!("/_local/payments{path}"), None, body, &[]).await;
    assert!(resp.status < 300, "{path}: {} {}", resp.status, resp.json);
    resp.json
}

/// Pays the group in full through the card provider's stand-in (its signed webhook).
async fn pay(app: &TestApp, group: &OrderGroup) -> String {
    let body = json!({ "amount": group.total.amount, "currency": "eur",
                       "metadata": { "order_group_id": group.id.to_string() } });
    let intent = simulator(app, Method::POST, "/card/v1/payment_intents", Some(&body)).await;
    let pi = intent["id"].as_str().expect("an intent id").to_string();
    simulator(app, Method::POST, &format!("/card/payment_intents/{pi}/approve"), None).await;
    pi
}

/// The customer's confirmation of `group`, once it arrived.
async fn confirmation(app: &TestApp, to: &str, group: OrderGroupId) -> SentEmail {
    let id = group.to_string();
    app.eventually_email(to, |e| e.subject.contains(&id) && !e.attachments.is_empty()).await
}

fn new_order_emails(emails: &[SentEmail], order: OrderId) -> usize {
    emails.iter().filter(|e| e.subject == format!("New order {order}")).count()
}

/// The consolidated sales record of the vendor today, as its owner reads it.
async fn sales_today(app: &TestApp, vendor: &TestVendor) -> Vec<Value> {
    app.all_pages(vendor.owner.token(), &format!("/vendors/{}/sales?date={}", vendor.id, today())).await
}

fn sales_of(sales: &[Value], order: OrderId) -> Vec<&Value> {
    sales.iter().filter(|s| s["sale_id"].as_str().is_some_and(|id| id.starts_with(&order.to_string()))).collect()
}

async fn order_events_queue() -> (aws_sdk_sqs::Client, String) {
    let url = std::env::var("STOCKYARD_ORDER_EVENTS_QUEUE_URL").expect("the stack's order events queue");
    (aws_sdk_sqs::Client::new(&stockyard_platform::aws_config().await), url)
}

fn paid_event(group: OrderGroupId) -> OrderEventMessage {
    OrderEventMessage {
        event: OrderEventType::OrderPaid,
        group_id: group,
        version: 2,
        occurred_at: Utc::now(),
        dispute: None,
        shipment: None,
        refund: None,
    }
}

#[tokio::test]
async fn a_paid_group_is_invoiced_per_vendor_order_confirmed_with_its_pdfs_and_counted_as_sales() {
    let app = TestApp::new();
    let (a, b) = (stocked(&app, 10).await, stocked(&app, 10).await);
    // Vendor A's owner sets the seller details its invoices print.
    let details = json!({ "invoicing": { "line1": "3 rue des Tisserands", "city": "Lyon", "postal_code": "69001",
                                         "country": "fr", "tax_id": "fr 12 345678901" } });
    let path = format!("/vendors/{}", a.vendor.id);
    let patched = app.request(Method::PATCH, &path, Some(a.vendor.owner.token()), Some(&details), &[]).await;
    assert_eq!(patched.expect(200)["invoicing"]["tax_id"], "FR12345678901", "{patched}");
    let guest = unique_email();
    let (group, orders) = place(&app, &[(&a, 2), (&b, 1)], (&guest, "fr-FR", None), soon()).await;
    let paid_at = Utc::now();
    let pi = pay(&app, &group).await;

    // The customer's confirmation, in French, with both invoices and the receipt attached.
    let email = confirmation(&app, &guest, group.id).await;
    assert_eq!(email.subject, format!("Votre commande {} est confirmée", group.id));
    let text = email.text.clone().unwrap_or_default();
    assert!(text.contains("Total payé") && text.contains("59,97\u{a0}€"), "{text}");
    assert!(email.html.as_deref().is_some_and(|h| h.contains("<html lang=\"fr\">")), "an HTML part");
    assert_eq!(email.attachments.len(), 3, "{:?}", email.attachments.iter().map(|a| &a.filename).collect::<Vec<_>>());
    let pdfs: Vec<String> = email.attachments.iter().map(|a| pdf_text(&a.bytes()).replace('\u{a0}', " ")).collect();
    let invoice_a = pdfs.iter().find(|t| t.contains(&a.vendor.name)).expect("vendor A's invoice");
    let seller = ["3 rue des Tisserands", "69001 Lyon", "N° de TVA FR12345678901"];
    for expected in ["Facture INV-000001", "Vendeur", a.vendor.name.as_str(), guest.as_str(), "39,98 €", pi.as_str()]
        .into_iter()
        .chain(seller)
    {
        assert!(invoice_a.contains(expected), "{expected} not in {invoice_a}");
    }
    let receipt = pdfs.iter().find(|t| t.contains("Reçu de paiement")).expect("the receipt");
    assert!(receipt.contains(&format!("R-{}", group.id)) && receipt.contains("59,97 €"), "{receipt}");

    // A guest reads the order through the signed link, valid 90 days.
    let marker = format!("/orders/{}?token=", group.id);
    let token = text.split(&marker).nth(1).and_then(|t| t.split_whitespace().next()).expect("a guest link");
    let secret = std::env::var("STOCKYARD_PARAM_ORDER_LINK_SECRET").expect("the stack's order link secret");
    assert_eq!(order_link::verify(secret.as_bytes(), group.id, token, Utc::now()), Ok(()));
    let expires: i64 = token.split('.').next().unwrap().parse().unwrap();
    assert!((expires - (paid_at + chrono::Duration::days(90)).timestamp()).abs() < 120, "about 90 days");
    assert!(order_link::verify(secret.as_bytes(), OrderGroupId::generate(), token, Utc::now()).is_err());

    // One new-order email to each vendor's owner.
    for (s, order) in [(&a, &orders[0]), (&b, &orders[1])] {
        let got = app.eventually_email(&s.vendor.owner.email, |e| e.subject.contains(&order.id.to_string())).await;
        assert!(got.text.as_deref().is_some_and(|t| t.contains(&s.sku) && t.contains(&guest)), "{got:#?}");
    }

    // The invoices and the receipt are kept, their PDFs in the documents bucket behind presigned GETs.
    let t = table(&app).await;
    let invoices = billing::invoices_of_group(&t, group.id).await.unwrap();
    assert_eq!(invoices.len(), 2);
    assert!(invoices.iter().all(|i| i.number == "INV-000001" && i.payment_reference.as_deref() == Some(pi.as_str())));
    assert!(billing::receipt(&t, group.id).await.unwrap().is_some());
    let bucket_name = std::env::var("STOCKYARD_ORDER_DOCUMENTS_BUCKET_NAME").expect("the documents bucket");
    let bucket = Bucket::new(&stockyard_platform::aws_config().await, bucket_name);
    let documents =
        billing::downloadable_documents(&t, &bucket, group.id, std::time::Duration::from_secs(300)).await.unwrap();
    assert_eq!(documents.len(), 3);
    let url = &documents[0].download.url;
    let pdf = app.client.get(url).send().await.unwrap().bytes().await.unwrap();
    assert!(pdf_text(&pdf).contains(&documents[0].document.number), "the presigned GET serves the invoice");

    // The paid units are in each vendor's consolidated sales record, as online (storefront) sales.
    let sales = eventually("vendor A's paid sale", || async {
        let all = sales_today(&app, &a.vendor).await;
        (!sales_of(&all, orders[0].id).is_empty()).then_some(all)
    })
    .await;
    let sale = sales_of(&sales, orders[0].id)[0];
    assert_eq!((sale["quantity"].as_i64(), sale["channel_kind"].as_str()), (Some(2), Some("storefront")), "{sale}");
    assert_eq!((sale["sku"].as_str(), sale["unit_price"].as_i64()), (Some(a.sku.as_str()), Some(1_999)));
    let channels = app
        .request(Method::GET, &format!("/vendors/{}/channels", a.vendor.id), Some(a.vendor.owner.token()), None, &[])
        .await;
    assert!(channels.items().iter().any(|c| c["code"] == "ONLINE" && c["kind"] == "storefront"), "{channels}");

    // The vendor's next paid order (a signed-in customer's, in English) takes its next number.
    let customer = app.customer().await;
    let customer_id = UserId::parse("id", &customer.id).unwrap();
    let (second, _) = place(&app, &[(&a, 1)], (&customer.email, "en-GB", Some(customer_id)), soon()).await;
    pay(&app, &second).await;
    let email = confirmation(&app, &customer.email, second.id).await;
    let text = email.text.unwrap_or_default();
    assert!(text.starts_with("Hello Casey Customer,") && text.contains("€19.99"), "{text}");
    assert!(!text.contains("token="), "a customer with an account gets no guest link");
    let next = billing::invoice(&t, second.id, vendor_id(&a)).await.unwrap().expect("the second invoice");
    assert_eq!(next.number, "INV-000002", "consecutive per vendor");
    assert_eq!(billing::last_invoice_number(&t, vendor_id(&b)).await.unwrap(), 1, "vendor B's own sequence");
}

#[tokio::test]
async fn an_order_event_delivered_again_changes_nothing_and_an_expired_group_never_counts_as_a_sale() {
    let app = TestApp::new();
    let s = stocked(&app, 10).await;
    let guest = unique_email();
    let (group, orders) = place(&app, &[(&s, 3)], (&guest, "de-DE", None), soon()).await;
    pay(&app, &group).await;
    let email = confirmation(&app, &guest, group.id).await;
    assert!(email.subject.contains("ist bestätigt"), "{}", email.subject);
    app.eventually_email(&s.vendor.owner.email, |e| e.subject.contains(&orders[0].id.to_string())).await;

    // The same message twice more on the queue, as SQS may deliver it.
    let (sqs, url) = order_events_queue().await;
    let body = serde_json::to_string(&paid_event(group.id)).unwrap();
    for _ in 0..2 {
        sqs.send_message().queue_url(&url).message_body(&body).send().await.expect("sent to the queue");
    }
    // An unpaid group that expires, for another guest: its release notice comes through the same
    // queue and consumer after the duplicates, and is the marker.
    let marker = unique_email();
    let gone = Utc::now() - chrono::Duration::seconds(1);
    let (expired, expired_orders) = place(&app, &[(&s, 1)], (&marker, "en", None), gone).await;
    app.run_schedule("expire-reservations").await.expect(200);
    let notice = app.eventually_email(&marker, |e| e.subject.contains(&expired.id.to_string())).await;
    assert!(notice.text.as_deref().is_some_and(|t| t.contains("not paid in time")), "{notice:#?}");

    let to_guest = app.sent_emails_to(&guest).await;
    assert_eq!(to_guest.len(), 1, "one confirmation however often the event comes: {to_guest:#?}");
    let to_owner = app.sent_emails_to(&s.vendor.owner.email).await;
    assert_eq!(new_order_emails(&to_owner, orders[0].id), 1);
    let t = table(&app).await;
    assert_eq!(billing::last_invoice_number(&t, vendor_id(&s)).await.unwrap(), 1, "one invoice, one number");
    let sales = sales_today(&app, &s.vendor).await;
    assert_eq!(sales_of(&sales, orders[0].id).len(), 1, "one sale: {sales:#?}");
    assert!(sales_of(&sales, expired_orders[0].id).is_empty(), "an expired group is never demand");
    assert_eq!(orders::group(&t, expired.id).await.unwrap().unwrap().status, OrderStatus::Expired);
    assert!(billing::invoices_of_group(&t, expired.id).await.unwrap().is_empty());
}

/// A batch of order events as SQS hands it to the consumer: (message id, event).
fn batch(messages: &[(&str, &OrderEventMessage)]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, m)| {
            json!({ "messageId": id, "receiptHandle": format!("r-{id}"), "body": serde_json::to_string(m).unwrap(),
                    "md5OfBody": "", "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:order-events",
                    "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {} })
        })
        .collect();
    json!({ "Records": records })
}

async fn failures(app: &TestApp, event: &Value) -> Vec<String> {
    let resp = app.invoke(CONSUMER, event).await;
    resp.expect(200)["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("a batch response: {resp}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().expect("a message id").to_string())
        .collect()
}

#[tokio::test]
async fn a_batch_with_a_failing_message_hands_back_only_that_one_and_its_redelivery_completes() {
    let app = TestApp::new();
    let s = stocked(&app, 10).await;
    let (paid_guest, waiting_guest) = (unique_email(), unique_email());
    let (paid, _) = place(&app, &[(&s, 1)], (&paid_guest, "en", None), soon()).await;
    pay(&app, &paid).await;
    confirmation(&app, &paid_guest, paid.id).await;
    // Told it was paid before it was (the worker's read and the payment racing): it must fail,
    // not invoice an unpaid group, and its batch neighbour must still be handled.
    let (waiting, waiting_orders) = place(&app, &[(&s, 2)], (&waiting_guest, "en", None), soon()).await;
    let early = paid_event(waiting.id);
    let again = paid_event(paid.id);
    let failed = failures(&app, &batch(&[("m-early", &early), ("m-again", &again)])).await;
    assert_eq!(failed, ["m-early"], "only the failing message goes back to the queue");
    let t = table(&app).await;
    assert!(billing::invoices_of_group(&t, waiting.id).await.unwrap().is_empty(), "nothing half done");
    assert!(billing::receipt(&t, waiting.id).await.unwrap().is_none());

    // Paid now; the message that failed comes again (as SQS redelivers it) and completes, once.
    pay(&app, &waiting).await;
    eventually("the group paid", || async {
        let now = orders::group(&t, waiting.id).await.unwrap().unwrap();
        (now.status == OrderStatus::Paid).then_some(())
    })
    .await;
    assert!(failures(&app, &batch(&[("m-early", &early)])).await.is_empty());
    let invoice = billing::invoice(&t, waiting.id, vendor_id(&s)).await.unwrap().expect("invoiced");
    assert_eq!(invoice.number, "INV-000002");
    confirmation(&app, &waiting_guest, waiting.id).await;
    app.eventually_email(&s.vendor.owner.email, |e| e.subject.contains(&waiting_orders[0].id.to_string())).await;
    // A later expiry's notice through the same queue and consumer is the marker.
    let marker = unique_email();
    let gone = Utc::now() - chrono::Duration::seconds(1);
    let (expired, _) = place(&app, &[(&s, 1)], (&marker, "en", None), gone).await;
    app.run_schedule("expire-reservations").await.expect(200);
    app.eventually_email(&marker, |e| e.subject.contains(&expired.id.to_string())).await;
    assert_eq!(app.sent_emails_to(&waiting_guest).await.len(), 1, "one confirmation");
    let owner = app.sent_emails_to(&s.vendor.owner.email).await;
    assert_eq!(new_order_emails(&owner, waiting_orders[0].id), 1, "one new-order email");
    assert_eq!(billing::last_invoice_number(&t, vendor_id(&s)).await.unwrap(), 2, "no number lost or repeated");
}

#[tokio::test]
async fn seller_details_are_checked_field_by_field_and_null_removes_them() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let path = format!("/vendors/{}", vendor.id);
    let owner = Some(vendor.owner.token());
    let valid = json!({ "line1": "1 Orchard Lane", "city": "Ludlow", "postal_code": "SY8 1AA", "country": "GB" });
    for (change, field) in [
        (json!({ "line1": " " }), "invoicing.line1"),
        (json!({ "postal_code": "" }), "invoicing.postal_code"),
        (json!({ "country": "XX" }), "invoicing.country"),
        (json!({ "tax_id": "GB/1" }), "invoicing.tax_id"),
        (json!({ "tax_id": "GB1" }), "invoicing.tax_id"),
    ] {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        let resp = app.request(Method::PATCH, &path, owner, Some(&json!({ "invoicing": body })), &[]).await;
        resp.expect_invalid_field(field);
    }
    let mut unknown = valid.clone();
    unknown["iban"] = json!("GB00");
    let resp = app.request(Method::PATCH, &path, owner, Some(&json!({ "invoicing": unknown })), &[]).await;
    assert_eq!(resp.status, 400, "{resp}");
    let unchanged = app.get_vendor(vendor.owner.token(), &vendor.id).await;
    assert!(unchanged.expect(200).get("invoicing").is_none(), "nothing changed: {unchanged}");

    let staff = app.staff(&vendor, "inventory_manager").await;
    let resp = app.request(Method::PATCH, &path, Some(staff.token()), Some(&json!({ "invoicing": valid })), &[]).await;
    assert_eq!(resp.status, 403, "only the owner: {resp}");
    let set = app.request(Method::PATCH, &path, owner, Some(&json!({ "invoicing": valid })), &[]).await;
    assert_eq!(set.expect(200)["invoicing"]["postal_code"], "SY8 1AA");
    assert!(set.json["invoicing"].get("tax_id").is_none());
    let removed = app.request(Method::PATCH, &path, owner, Some(&json!({ "invoicing": null })), &[]).await;
    assert!(removed.expect(200).get("invoicing").is_none(), "{removed}");
}

/// Records a dispute on the group item as the payment webhook's recording keeps it (`disputes`,
/// a list of `stockyard_domain::order::Dispute`), straight in the table.
async fn record_dispute(app: &TestApp, group: OrderGroupId, dispute_id: &str, amount: i64) {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let s = |v: &str| A::S(v.to_string());
    let dispute = A::M(
        [
            ("provider_dispute_id".to_string(), s(dispute_id)),
            (
                "amount".to_string(),
                A::M([("amount".to_string(), A::N(amount.to_string())), ("currency".to_string(), s("EUR"))].into()),
            ),
            ("reason".to_string(), s("product_not_received")),
            ("status".to_string(), s("open")),
            ("opened_at".to_string(), s(&Utc::now().to_rfc3339())),
        ]
        .into(),
    );
    app.dynamodb()
        .await
        .update_item()
        .table_name(app.table_name())
        .key("PK", s(&format!("ORDERGROUP#{group}")))
        .key("SK", s("GROUP"))
        .update_expression("SET disputes = list_append(if_not_exists(disputes, :none), :one), version = version + :inc")
        .expression_attribute_values(":none", A::L(Vec::new()))
        .expression_attribute_values(":one", A::L(vec![dispute]))
        .expression_attribute_values(":inc", A::N("1".into()))
        .send()
        .await
        .expect("the dispute is recorded");
}

#[tokio::test]
async fn a_dispute_recorded_on_a_paid_group_is_told_to_its_vendor_with_the_amount_held_once() {
    let app = TestApp::new();
    let s = stocked(&app, 5).await;
    let guest = unique_email();
    let (group, orders) = place(&app, &[(&s, 1)], (&guest, "en", None), soon()).await;
    pay(&app, &group).await;
    confirmation(&app, &guest, group.id).await;
    record_dispute(&app, group.id, "dp_test_1", 1_999).await;
    let subject = format!("Chargeback on order {}", orders[0].id);
    let email = app.eventually_email(&s.vendor.owner.email, |e| e.subject == subject).await;
    let text = email.text.unwrap_or_default();
    assert!(text.contains("€19.99") && text.contains("product_not_received"), "{text}");
    // A second dispute is its own notice; the first is not told again.
    record_dispute(&app, group.id, "dp_test_2", 500).await;
    let second =
        app.eventually_email(&s.vendor.owner.email, |e| e.text.as_deref().is_some_and(|t| t.contains("€5.00"))).await;
    assert_eq!(second.subject, subject);
    let notices = app.sent_emails_to(&s.vendor.owner.email).await;
    assert_eq!(notices.iter().filter(|e| e.subject == subject).count(), 2, "one email per dispute");
}
