//! Returns and refunds (issue 14): a delivered line sent back, approved, inspected (restocked
//! through the ledger, or written off) and refunded through the card provider exactly once, with
//! a credit note in the vendor's sequence; bad input and strangers change nothing.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use stockyard_domain::ids::OrderGroupId;
use stockyard_tests::{TestApp, eventually, unique_tag};

use crate::checkout::{on_sale, ships_to_france, table, taxed};
use crate::fulfilment::{carrier_reports, parcel, pay, placed, tracking};

fn keyed(key: &str) -> Vec<(&str, &str)> {
    vec![("idempotency-key", key)]
}

#[tokio::test]
async fn a_delivered_line_comes_back_is_restocked_and_written_off_and_is_refunded_once_with_a_credit_note() {
    let app = TestApp::new();
    let _tax = taxed(&app).await;
    let vendor = app.vendor_owner().await;
    let owner = vendor.owner.token();
    let (jumper, sku, at) = on_sale(&app, &vendor, 1999, 5).await;
    ships_to_france(&app, &vendor).await;
    let (customer, placed) = placed(&app, &[(&jumper, 3)]).await;
    pay(&app, &placed).await;
    let group_id = placed["order_group"]["id"].as_str().unwrap().to_string();
    let order = placed["orders"][0]["id"].as_str().unwrap().to_string();
    let returns_path = format!("/orders/{group_id}/returns");
    let ask = |lines: Value| json!({ "order_id": order, "lines": lines, "comment": "The seams came apart" });

    // Nothing shipped yet: nothing to return.
    let early = ask(json!([{ "sku": sku, "quantity": 1, "reason": "damaged" }]));
    let refused = app.request(Method::POST, &returns_path, Some(customer.token()), Some(&early), &[]).await;
    refused.expect_error(409, "order_not_returnable");

    let number = tracking("R");
    let ship_path = format!("/vendors/{}/orders/{order}/shipments", vendor.id);
    let one = parcel(&at, &[(&sku, 3)], &number);
    app.request(Method::POST, &ship_path, Some(owner), Some(&one), &[]).await.expect(201);
    carrier_reports(&app, &number, json!({ "statuses": ["delivered"] })).await;
    assert_eq!(app.stock_at(&vendor, &sku, &at).await.unwrap()["on_hand"].as_u64(), Some(2));

    // Bad requests, other customers and other vendors change nothing.
    let c = customer.token();
    let post = |token: String, body: Value, key: Option<String>| {
        let (app, path) = (&app, returns_path.clone());
        async move {
            let headers: Vec<(&str, &str)> = key.as_deref().map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
            app.request(Method::POST, &path, Some(&token), Some(&body), &headers).await
        }
    };
    let too_many = ask(json!([{ "sku": sku, "quantity": 4, "reason": "damaged" }]));
    post(c.into(), too_many, None).await.expect_invalid_field("lines[0].quantity");
    let unknown = ask(json!([{ "sku": "NOT-OURS", "quantity": 1, "reason": "damaged" }]));
    post(c.into(), unknown, None).await.expect_invalid_field("lines[0].sku");
    let twice = ask(
        json!([{ "sku": sku, "quantity": 1, "reason": "damaged" }, { "sku": sku, "quantity": 1, "reason": "other" }]),
    );
    post(c.into(), twice, None).await.expect_invalid_field("lines[1].sku");
    let mut elsewhere = ask(json!([{ "sku": sku, "quantity": 1, "reason": "damaged" }]));
    elsewhere["order_id"] = json!(stockyard_domain::ids::OrderId::generate().to_string());
    post(c.into(), elsewhere, None).await.expect_invalid_field("order_id");
    let odd_reason = ask(json!([{ "sku": sku, "quantity": 1, "reason": "bored" }]));
    assert_eq!(post(c.into(), odd_reason, None).await.status, 400);
    let stranger = app.customer().await;
    let good = ask(json!([{ "sku": sku, "quantity": 2, "reason": "damaged" }]));
    post(stranger.token().into(), good.clone(), None).await.expect_error(404, "not_found");

    // Two of the three come back: asked once, however often the request is retried.
    let key = format!("return-{}", unique_tag());
    let asked = post(c.into(), good.clone(), Some(key.clone())).await.expect(201).clone();
    assert_eq!((asked["status"].as_str(), asked["lines"][0]["quantity"].as_u64()), (Some("requested"), Some(2)));
    let again = post(c.into(), good.clone(), Some(key)).await;
    assert_eq!(again.expect(201)["id"], asked["id"]);
    let more = ask(json!([{ "sku": sku, "quantity": 2, "reason": "other" }]));
    post(c.into(), more, None).await.expect_invalid_field("lines[0].quantity");
    let return_id = asked["id"].as_str().unwrap().to_string();
    let vendor_path = format!("/vendors/{}/returns/{return_id}", vendor.id);

    // The vendor sees it waiting; customers and other vendors do not.
    let list = format!("/vendors/{}/returns?status=requested", vendor.id);
    let waiting = app.request(Method::GET, &list, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!(waiting["items"][0]["id"], return_id.as_str(), "{waiting}");
    let other = app.vendor_owner().await;
    let theirs = format!("/vendors/{}/returns/{return_id}", other.id);
    app.request(Method::GET, &theirs, Some(other.owner.token()), None, &[]).await.expect_error(404, "not_found");
    app.request(Method::GET, &vendor_path, Some(c), None, &[]).await.expect_error(403, "forbidden");
    let bad_status = format!("/vendors/{}/returns?status=lost", vendor.id);
    app.request(Method::GET, &bad_status, Some(owner), None, &[]).await.expect_invalid_field("status");

    // Not yet approved: nothing can be received. Approved once.
    let receipt_path = format!("{vendor_path}/receipt");
    let receipt = json!({ "lines": [{ "sku": sku, "restocked": 1, "written_off": 1 }], "refund_shipping": true });
    let early = app.request(Method::POST, &receipt_path, Some(owner), Some(&receipt), &[]).await;
    early.expect_error(409, "return_state");
    let decision_path = format!("{vendor_path}/decision");
    let approve = json!({ "decision": "approve", "note": "Send it to the Paris warehouse" });
    let approved = app.request(Method::POST, &decision_path, Some(owner), Some(&approve), &[]).await;
    assert_eq!(approved.expect(200)["status"], "approved");
    app.request(Method::POST, &decision_path, Some(owner), Some(&approve), &[]).await.expect_error(409, "return_state");

    // What arrived: more than was asked, or a line not in the return, changes nothing.
    let over = json!({ "lines": [{ "sku": sku, "restocked": 2, "written_off": 1 }] });
    app.request(Method::POST, &receipt_path, Some(owner), Some(&over), &[]).await.expect_invalid_field("lines[0]");
    let stray = json!({ "lines": [{ "sku": "NOT-OURS", "restocked": 1 }] });
    app.request(Method::POST, &receipt_path, Some(owner), Some(&stray), &[]).await.expect_invalid_field("lines[0].sku");
    let nothing = json!({ "lines": [{ "sku": sku }] });
    app.request(Method::POST, &receipt_path, Some(owner), Some(&nothing), &[]).await.expect_invalid_field("lines");
    assert_eq!(app.stock_at(&vendor, &sku, &at).await.unwrap()["on_hand"].as_u64(), Some(2));

    // The invoice is issued on payment (the credit note corrects it): wait for it.
    let group = OrderGroupId::parse("id", &group_id).unwrap();
    let vendor_id = stockyard_domain::ids::VendorId::parse("id", &vendor.id).unwrap();
    let invoice = eventually("the invoice is issued", || async {
        stockyard_store::billing::invoice(&table(&app).await, group, vendor_id).await.unwrap()
    })
    .await;

    // One restocked, one written off, and the shipping: refunded through the card provider.
    let order_path = format!("/vendors/{}/orders/{order}", vendor.id);
    let before = app.request(Method::GET, &order_path, Some(owner), None, &[]).await.expect(200).clone();
    let line_total = before["lines"][0]["total"]["amount"].as_i64().unwrap();
    let shipping = before["totals"]["shipping"]["amount"].as_i64().unwrap();
    let key = format!("receipt-{}", unique_tag());
    let received =
        app.request(Method::POST, &receipt_path, Some(owner), Some(&receipt), &keyed(&key)).await.expect(201).clone();
    let expected = line_total * 2 / 3 + shipping;
    assert_eq!(received["refund"]["amount"]["amount"].as_i64(), Some(expected), "{received}");
    // The provider answered at once: the answer settled the refund before the response.
    assert_eq!(
        (received["return"]["status"].as_str(), received["refund"]["status"].as_str()),
        (Some("refunded"), Some("succeeded"))
    );
    let replay = app.request(Method::POST, &receipt_path, Some(owner), Some(&receipt), &keyed(&key)).await;
    assert_eq!(replay.expect(201)["refund"]["id"], received["refund"]["id"], "a retry never refunds twice");
    app.request(Method::POST, &receipt_path, Some(owner), Some(&receipt), &[]).await.expect_error(409, "return_state");

    let refunded = eventually("the refund succeeds", || async {
        let read = app.request(Method::GET, &vendor_path, Some(owner), None, &[]).await;
        (read.json["refund"]["status"] == "succeeded").then(|| read.json.clone())
    })
    .await;
    assert_eq!(refunded["status"], "refunded", "{refunded}");
    let credit_note = format!("CN-{:06}", invoice.sequence + 1);
    assert_eq!(refunded["refund"]["credit_note"], credit_note.as_str(), "the next number of the vendor's sequence");
    assert!(refunded["refund"]["provider_refund_id"].as_str().unwrap().starts_with("re_"));

    // The restocked unit is back on hand through the ledger; the written-off one is not.
    let level = app.stock_at(&vendor, &sku, &at).await.unwrap();
    assert_eq!(level["on_hand"].as_u64(), Some(3));
    let movements = app.movements(owner, &vendor.id, &sku, &at).await;
    let back: Vec<&Value> = movements.iter().filter(|m| m["reason"] == "customer_return").collect();
    assert_eq!(back.len(), 1, "{movements:?}");
    assert_eq!(
        (back[0]["quantity"].as_i64(), back[0]["reference"].as_str()),
        (Some(1), Some(&*format!("RETURN#{return_id}")))
    );

    // The order counts the refund; it is not refunded in full, so it stays delivered.
    let after = app.request(Method::GET, &order_path, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!(after["totals"]["refunded"]["amount"].as_i64(), Some(expected), "{after}");
    assert_eq!((after["status"].as_str(), after["lines"][0]["returned"].as_u64()), (Some("delivered"), Some(2)));

    // The provider's webhook told five more times (fresh event ids, at once): recorded once.
    let secret = std::env::var("STOCKYARD_CARD_WEBHOOK_SECRET").expect("the stack's card webhook secret");
    let refund_id = received["refund"]["id"].as_str().unwrap();
    let tell = |n: usize| {
        let event = json!({ "id": format!("evt_{n}_{}", unique_tag()), "type": "refund.updated", "created": Utc::now().timestamp(),
            "data": { "object": { "id": refunded["refund"]["provider_refund_id"], "object": "refund", "amount": expected,
                "currency": "eur", "status": "succeeded",
                "metadata": { "order_group_id": group_id, "refund_id": refund_id } } } })
        .to_string();
        let signature = stockyard_domain::payment::sign_card(&secret, event.as_bytes(), Utc::now().timestamp());
        let app = &app;
        async move {
            app.request_raw(
                Method::POST,
                "/webhooks/payments/card",
                None,
                Some(event),
                &[("Stripe-Signature", &signature)],
            )
            .await
        }
    };
    let told = futures_util::future::join_all((0..5).map(tell)).await;
    for resp in &told {
        assert_eq!((resp.status, resp.json["outcome"].as_str()), (200, Some("already_applied")), "{}", resp.json);
    }
    let notes = stockyard_store::returns::credit_notes_of_group(&table(&app).await, group).await.unwrap();
    assert_eq!(notes.len(), 1, "one credit note: {notes:?}");
    assert_eq!((notes[0].number.as_str(), notes[0].total.amount), (credit_note.as_str(), expected));
    let once = app.request(Method::GET, &order_path, Some(owner), None, &[]).await.expect(200).clone();
    assert_eq!(once["totals"]["refunded"], after["totals"]["refunded"]);
    // The simulator's own refund.created was taken once too, whichever came first.
    let deliveries = app.request(Method::GET, "/_local/payments/deliveries?type=refund.created", None, None, &[]).await;
    let ours: Vec<&Value> = deliveries
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["event"]["data"]["object"]["metadata"]["refund_id"] == refund_id)
        .collect();
    assert_eq!(ours.len(), 1, "{deliveries}");

    // The customer is told once, in the order's language, with the credit note; it is among the
    // order's documents, a PDF that names the invoice it corrects.
    let about = |e: &stockyard_tests::SentEmail| e.subject.starts_with("Your refund from");
    let first = app.eventually_email(&customer.email, about).await;
    assert!(first.text.as_deref().is_some_and(|t| t.contains(&credit_note)), "{first:?}");
    let documents = format!("/orders/{group_id}/documents");
    let listed = eventually("the credit note is listed", || async {
        let read = app.request(Method::GET, &documents, Some(c), None, &[]).await;
        read.json["items"].as_array().and_then(|items| items.iter().find(|d| d["kind"] == "credit_note").cloned())
    })
    .await;
    assert_eq!(listed["number"], credit_note.as_str(), "{listed}");
    let pdf = eventually("the credit note's PDF is written", || async {
        let got = app.client.get(listed["download"]["url"].as_str().unwrap()).send().await.ok()?;
        got.status().is_success().then_some(())?;
        got.bytes().await.ok()
    })
    .await;
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.starts_with("%PDF-") && text.contains(&credit_note) && text.contains(&invoice.number), "the PDF");

    // The customer sees the return and its refund; the shipping is not refunded twice.
    let mine = app.request(Method::GET, &returns_path, Some(c), None, &[]).await.expect(200).clone();
    assert_eq!(mine["items"][0]["refund"]["status"], "succeeded", "{mine}");
    app.request(Method::GET, &returns_path, Some(stranger.token()), None, &[]).await.expect_error(404, "not_found");
    let last = ask(json!([{ "sku": sku, "quantity": 1, "reason": "no_longer_needed" }]));
    let last_id = post(c.into(), last, None).await.expect(201)["id"].as_str().unwrap().to_string();
    let last_path = format!("/vendors/{}/returns/{last_id}", vendor.id);
    let go = json!({ "decision": "approve" });
    app.request(Method::POST, &format!("{last_path}/decision"), Some(owner), Some(&go), &[]).await.expect(200);
    let shipping_again = json!({ "lines": [{ "sku": sku, "restocked": 1 }], "refund_shipping": true });
    let twice =
        app.request(Method::POST, &format!("{last_path}/receipt"), Some(owner), Some(&shipping_again), &[]).await;
    twice.expect_invalid_field("refund_shipping");
    // The last unit back: the order is refunded in full, and so is its group.
    let rest = json!({ "lines": [{ "sku": sku, "restocked": 1 }] });
    app.request(Method::POST, &format!("{last_path}/receipt"), Some(owner), Some(&rest), &[]).await.expect(201);
    let full = eventually("the order is refunded in full", || async {
        let read = app.request(Method::GET, &order_path, Some(owner), None, &[]).await;
        (read.json["status"] == "refunded").then(|| read.json.clone())
    })
    .await;
    assert_eq!(full["totals"]["refunded"], full["totals"]["total"], "{full}");
    let group_now = crate::checkout::group(&app, &group_id).await;
    assert_eq!(group_now.status, stockyard_domain::order::OrderStatus::Refunded);
    let notes = stockyard_store::returns::credit_notes_of_group(&table(&app).await, group).await.unwrap();
    let numbers: Vec<u64> =
        notes.iter().map(|n| n.sequence).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    assert_eq!(numbers, [invoice.sequence + 1, invoice.sequence + 2]);
    let second = format!("CN-{:06}", invoice.sequence + 2);
    app.eventually_email(&customer.email, |e| about(e) && e.text.as_deref().is_some_and(|t| t.contains(&second))).await;
    let told = app.sent_emails_to(&customer.email).await.into_iter().filter(|e| about(e)).count();
    assert_eq!(told, 2, "one email per refund");
}
