//! Invoices against DynamoDB Local: a vendor's numbers stay gapless and unique when many of its
//! orders are invoiced at once, one order never gets two invoices however often it is invoiced,
//! and a group's receipt and handled events are kept once.

use chrono::Utc;
use stockyard_domain::billing::{Buyer, Invoice, InvoiceTotals, Lang, Receipt, Seller, invoice_number};
use stockyard_domain::ids::{OrderGroupId, OrderId, VendorId};
use stockyard_domain::money::{Currency, Money};

use crate::billing::{self, OrderDocument};
use crate::emulator_tests::table;
use crate::{PageRequest, Table};

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("currency", "EUR").unwrap())
}

fn invoice(group: OrderGroupId, vendor: VendorId, sequence: u64) -> Invoice {
    let total = eur(1_000);
    Invoice {
        group_id: group,
        order_id: OrderId::generate(),
        vendor_id: vendor,
        sequence,
        number: invoice_number(sequence),
        issued_at: Utc::now(),
        currency: total.currency,
        lang: Lang::En,
        seller: Seller { vendor_id: vendor, name: "Acme".into(), country: None, address: vec![], tax_id: None },
        buyer: Buyer { name: None, email: "guest@example.com".into() },
        lines: Vec::new(),
        tax_breakdown: Vec::new(),
        totals: InvoiceTotals { subtotal: total, discount: eur(0), shipping: eur(0), tax: eur(0), total },
        payment_reference: None,
    }
}

async fn issue(table: &Table, group: OrderGroupId, vendor: VendorId) -> Invoice {
    billing::issue_invoice(table, group, vendor, |n| Ok::<_, ()>(invoice(group, vendor, n)))
        .await
        .expect("the store answers")
        .expect("the invoice is built")
}

#[tokio::test]
async fn invoices_issued_at_once_for_one_vendor_take_consecutive_numbers_once_each() {
    let table = table().await;
    let vendor = VendorId::generate();
    let groups: Vec<OrderGroupId> = (0..12).map(|_| OrderGroupId::generate()).collect();
    // Every group twice, all at once: twelve invoices, each issued once.
    let issued = futures_util::future::join_all(groups.iter().chain(groups.iter()).map(|group| {
        let table = table.clone();
        async move { issue(&table, *group, vendor).await }
    }))
    .await;
    for group in &groups {
        let copies: Vec<u64> = issued.iter().filter(|i| i.group_id == *group).map(|i| i.sequence).collect();
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0], copies[1], "both copies answer the one invoice of {group}");
    }
    let mut numbers: Vec<u64> =
        groups.iter().map(|g| issued.iter().find(|i| i.group_id == *g).unwrap().sequence).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=12).collect::<Vec<u64>>(), "gapless and unique");
    assert_eq!(billing::last_invoice_number(&table, vendor).await.unwrap(), 12);
    let listed = billing::invoices_of_vendor(&table, vendor, &PageRequest::first(100)).await.unwrap();
    let listed: Vec<String> = listed.items.iter().map(|i| i.number.clone()).collect();
    assert_eq!(listed, (1..=12).map(invoice_number).collect::<Vec<_>>(), "listed by number");
}

#[tokio::test]
async fn a_vendors_numbers_are_its_own_and_a_group_lists_its_documents() {
    let table = table().await;
    let (a, b) = (VendorId::generate(), VendorId::generate());
    let group = OrderGroupId::generate();
    assert_eq!(issue(&table, group, a).await.number, "INV-000001");
    assert_eq!(issue(&table, group, b).await.number, "INV-000001", "another vendor starts its own sequence");
    assert_eq!(issue(&table, OrderGroupId::generate(), a).await.number, "INV-000002");
    assert!(
        billing::documents(&table, group)
            .await
            .unwrap()
            .iter()
            .all(|d| d.kind != stockyard_domain::billing::DocumentKind::Receipt)
    );

    let receipt = Receipt {
        group_id: group,
        number: format!("R-{group}"),
        issued_at: Utc::now(),
        lang: Lang::Fr,
        buyer: Buyer { name: None, email: "guest@example.com".into() },
        parts: Vec::new(),
        total: eur(2_000),
        payment_reference: Some("pi_1".into()),
    };
    let kept = billing::issue_receipt(&table, &receipt).await.unwrap();
    let again = billing::issue_receipt(&table, &Receipt { issued_at: Utc::now(), ..receipt.clone() }).await.unwrap();
    assert_eq!(again, kept, "the first receipt stays");
    let documents: Vec<OrderDocument> = billing::documents(&table, group).await.unwrap();
    let files: Vec<&str> = documents.iter().map(|d| d.filename.as_str()).collect();
    assert_eq!(files.len(), 3);
    assert_eq!(files.iter().filter(|f| **f == "INV-000001.pdf").count(), 2);
    assert_eq!(documents[2].object, billing::receipt_object(group));

    assert!(!billing::event_done(&table, group, "order_paid").await.unwrap());
    billing::mark_event_done(&table, group, "order_paid").await.unwrap();
    assert!(billing::event_done(&table, group, "order_paid").await.unwrap());
    assert!(!billing::event_done(&table, group, "order_disputed#dp_1").await.unwrap());
}
