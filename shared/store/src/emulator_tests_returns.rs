//! Refunds against DynamoDB Local: a refund the provider confirms five times at once, while the
//! vendor's other orders are invoiced, is recorded once, with one credit note whose number takes
//! its place in the vendor's one gapless sequence.

use chrono::Utc;
use stockyard_domain::billing::{Buyer, Invoice, InvoiceTotals, Lang, Seller, invoice_number};
use stockyard_domain::ids::{LocationId, RefundId, VariantId, VendorId};
use stockyard_domain::money::Money;
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

/// A refund of `amount` of `order`, pending, through `provider`.
fn pending_refund(order: &VendorOrder, provider: Provider, amount: Money, lines: Vec<RefundLine>) -> Refund {
    Refund {
        id: RefundId::generate(),
        group_id: order.group_id,
        order_id: order.id,
        vendor_id: order.vendor_id,
        return_id: None,
        provider,
        payment_reference: "pi_test".into(),
        lines,
        shipping: amount.checked_sub(amount).unwrap(),
        amount,
        status: RefundStatus::Pending,
        attempts: 0,
        provider_refund_id: None,
        failure: None,
        credit_note: None,
        created_at: Utc::now(),
        settled_at: None,
        version: 1,
    }
}

#[tokio::test]
async fn a_refund_confirmed_five_times_at_once_is_recorded_once_with_one_credit_note_in_the_vendors_sequence() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (group, order) = delivered(&table, vendor, 2).await;
    let unit = order.lines[0].unit_price;
    let line = RefundLine {
        variant_id: order.lines[0].variant_id,
        sku: order.lines[0].sku.clone(),
        title: order.lines[0].title.clone(),
        quantity: 1,
        amount: unit,
        tax: unit.checked_sub(unit).unwrap(),
    };
    let refund = pending_refund(&order, Provider::Card, unit, vec![line]);
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

#[tokio::test]
async fn a_refund_the_provider_refuses_is_failed_with_its_reason_and_sent_again_as_a_new_attempt() {
    let table = table().await;
    let vendor = VendorId::generate();
    let (group, order) = delivered(&table, vendor, 1).await;
    let unit = order.lines[0].unit_price;
    let refund = pending_refund(&order, Provider::Wallet, unit, Vec::new());
    table.put(&refund, None).await.unwrap();
    // The first send counts attempt 1; sending the same attempt again (no answer yet) keeps it.
    let first = returns::begin_attempt(&table, &refund, false).await.unwrap().expect("a pending refund is sent");
    assert_eq!((first.attempts, first.provider_key()), (1, format!("refund-{}-1", refund.id)));
    let same = returns::begin_attempt(&table, &first, false).await.unwrap().unwrap();
    assert_eq!(same.attempts, 1);
    let still = returns::settle(&table, (group.id, refund.id), ProviderRefundState::Pending, None, None);
    assert_eq!(still.await.unwrap(), Settled::StillPending);

    let refused =
        returns::settle(&table, (group.id, refund.id), ProviderRefundState::Failed, None, Some("card expired"));
    let Settled::Recorded(failed) = refused.await.unwrap() else { panic!("the failure is recorded") };
    assert_eq!((failed.status, failed.failure.as_deref()), (RefundStatus::Failed, Some("card expired")));
    let again = returns::settle(&table, (group.id, refund.id), ProviderRefundState::Failed, None, Some("card expired"));
    assert_eq!(again.await.unwrap(), Settled::AlreadySettled);
    let stored = returns::refund(&table, group.id, refund.id).await.unwrap().unwrap();
    assert!(returns::credit_notes_of_group(&table, group.id).await.unwrap().is_empty(), "no money moved, no note");

    // Sent again: a new attempt (a new refund at the provider), pending, without the old reason.
    let second = returns::begin_attempt(&table, &stored, true).await.unwrap().expect("a failed refund is sent again");
    assert_eq!((second.attempts, second.status), (2, RefundStatus::Pending));
    let reread = returns::refund(&table, group.id, refund.id).await.unwrap().unwrap();
    assert_eq!((reread.attempts, reread.status, reread.failure.clone()), (2, RefundStatus::Pending, None));
    // A stale copy cannot count another attempt.
    assert!(returns::begin_attempt(&table, &stored, true).await.unwrap().is_none());
    returns::note_provider_id(&table, &reread, "REF-2").await.unwrap();
    let ok = returns::settle(&table, (group.id, refund.id), ProviderRefundState::Succeeded, Some("REF-2"), None);
    let Settled::Recorded(done) = ok.await.unwrap() else { panic!("the success is recorded") };
    assert_eq!((done.status, done.provider_refund_id.as_deref()), (RefundStatus::Succeeded, Some("REF-2")));
    let counted = table.get::<VendorOrder>(&(group.id, vendor)).await.unwrap().unwrap();
    assert_eq!((counted.status, counted.totals.refunded), (OrderStatus::Refunded, Some(unit)), "refunded in full");
    let group_now = table.get::<OrderGroup>(&group.id).await.unwrap().unwrap();
    assert_eq!(group_now.status, OrderStatus::Refunded, "its only order refunded: the group follows");
}
