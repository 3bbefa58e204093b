//! Refunds against DynamoDB Local: a refund the provider confirms five times at once, while the
//! vendor's other orders are invoiced, is recorded once, with one credit note whose number takes
//! its place in the vendor's one gapless sequence.

use chrono::Utc;
use stockyard_domain::billing::{Buyer, Invoice, InvoiceTotals, Lang, Seller, invoice_number};
use stockyard_domain::ids::{LocationId, RefundId, VariantId, VendorId};
use stockyard_domain::order::{OrderGroup, OrderStatus, VendorOrder};
use stockyard_domain::payment::Provider;
use stockyard_domain::returns::{ProviderRefundState, Refund, RefundLine, RefundStatus};

use crate::emulator_tests::table;
use crate::emulator_tests_orders::group_of;
use crate::returns::{self, Settled};
use crate::{Table, billing};

fn invoice_of(order: &VendorOrder, sequence: u64) -> Invoice {
    let total = order.totals.total;
    Invoice {
        group_id: order.group_id,
        order_id: order.id,
        vendor_id: order.vendor_id,
        sequence,
        number: invoice_number(sequence),
        issued_at: Utc::now(),
        currency: total.currency,
        lang: Lang::Fr,
        seller: Seller {
            vendor_id: order.vendor_id,
            name: "Acme".into(),
            country: None,
            address: vec![],
            tax_id: None,
        },
        buyer: Buyer { name: None, email: "shopper@stockyard.example".into() },
        lines: Vec::new(),
        tax_breakdown: Vec::new(),
        totals: InvoiceTotals {
            subtotal: total,
            discount: total.checked_sub(total).unwrap(),
            shipping: total.checked_sub(total).unwrap(),
            tax: total.checked_sub(total).unwrap(),
            total,
        },
        payment_reference: None,
    }
}

/// A delivered group of one order of `units` of one variant of `vendor`, with its invoice.
async fn delivered(table: &Table, vendor: VendorId, units: u32) -> (OrderGroup, VendorOrder) {
    let item = (vendor, VariantId::generate(), LocationId::generate());
    let (mut group, mut orders) = group_of(stockyard_domain::ids::UserId::generate(), &[(item, units)], Utc::now());
    group.status = OrderStatus::Delivered;
    group.holds.clear();
    let mut order = orders.remove(0);
    order.status = OrderStatus::Delivered;
    order.lines[0].allocations[0].shipped = units;
    table.put(&group, None).await.unwrap();
    table.put(&order, None).await.unwrap();
    let issued = billing::issue_invoice(table, group.id, vendor, |n| Ok::<_, ()>(invoice_of(&order, n)));
    issued.await.unwrap().unwrap();
    (group, order)
}

#[tokio::test]
async fn a_refund_confirmed_five_times_at_once_is_recorded_once_with_one_credit_note_in_the_vendors_sequence() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (group, order) = delivered(&table, vendor, 2).await;
    let unit = order.lines[0].unit_price;
    let refund = Refund {
        id: RefundId::generate(),
        group_id: group.id,
        order_id: order.id,
        vendor_id: vendor,
        return_id: None,
        provider: Provider::Card,
        payment_reference: "pi_test".into(),
        lines: vec![RefundLine {
            variant_id: order.lines[0].variant_id,
            sku: order.lines[0].sku.clone(),
            title: order.lines[0].title.clone(),
            quantity: 1,
            amount: unit,
            tax: unit.checked_sub(unit).unwrap(),
        }],
        shipping: unit.checked_sub(unit).unwrap(),
        amount: unit,
        status: RefundStatus::Pending,
        attempts: 1,
        provider_refund_id: None,
        failure: None,
        credit_note: None,
        created_at: Utc::now(),
        settled_at: None,
        version: 1,
    };
    table.put(&refund, None).await.unwrap();

    // Five confirmations of the refund and four more orders of the vendor invoiced, all at once.
    let settles = (0..5).map(|n| {
        let table = table.clone();
        async move {
            let told =
                returns::settle(&table, (group.id, refund.id), ProviderRefundState::Succeeded, Some("re_1"), None);
            (n, told.await.expect("the store answers"))
        }
    });
    let others = (0..4).map(|_| {
        let table = table.clone();
        async move { delivered(&table, vendor, 1).await }
    });
    let (told, _) = tokio::join!(futures_util::future::join_all(settles), futures_util::future::join_all(others));
    let recorded: Vec<&Settled> = told.iter().map(|(_, s)| s).filter(|s| matches!(s, Settled::Recorded(_))).collect();
    assert_eq!(recorded.len(), 1, "recorded once: {told:?}");
    assert!(told.iter().all(|(_, s)| matches!(s, Settled::Recorded(_) | Settled::AlreadySettled)), "{told:?}");

    let notes = returns::credit_notes_of_group(&table, group.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    let settled = returns::refund(&table, group.id, refund.id).await.unwrap().unwrap();
    assert_eq!(settled.status, RefundStatus::Succeeded);
    assert_eq!(settled.credit_note.as_deref(), Some(notes[0].number.as_str()));
    assert_eq!(settled.provider_refund_id.as_deref(), Some("re_1"));
    let counted = table.get::<VendorOrder>(&(group.id, vendor)).await.unwrap().unwrap();
    assert_eq!(counted.totals.refunded, Some(unit), "counted once");
    assert_eq!(counted.status, OrderStatus::Delivered, "half refunded: still delivered");

    // Five invoices and one credit note share the vendor's numbers 1 to 6, each once.
    let mut numbers = vec![notes[0].sequence];
    let invoices = billing::invoices_of_vendor(&table, vendor, &crate::PageRequest::first(100)).await.unwrap();
    numbers.extend(invoices.items.iter().map(|i| i.sequence));
    numbers.sort();
    assert_eq!(numbers, (1..=6).collect::<Vec<u64>>());
    let listed = returns::credit_notes_of_vendor(&table, vendor, &crate::PageRequest::first(10)).await.unwrap();
    assert_eq!(listed.items.len(), 1);

    // A failure told after the success changes nothing; an unknown refund is unknown.
    let late = returns::settle(&table, (group.id, refund.id), ProviderRefundState::Failed, None, Some("expired card"));
    assert_eq!(late.await.unwrap(), Settled::AlreadySettled);
    let unknown = returns::settle(&table, (group.id, RefundId::generate()), ProviderRefundState::Succeeded, None, None);
    assert_eq!(unknown.await.unwrap(), Settled::Unknown);
    let (other_group, _) = delivered(&table, vendor, 1).await;
    let elsewhere = returns::settle(&table, (other_group.id, refund.id), ProviderRefundState::Succeeded, None, None);
    assert_eq!(elsewhere.await.unwrap(), Settled::Unknown, "a refund is found only under its own group");
}
