//! Suppliers and purchase orders against DynamoDB Local, through the real SDK: code claims, the
//! order's version condition, receipt-line claims and running numbers. Run like `emulator_tests`;
//! every test uses a fresh vendor.

use chrono::Utc;
use stockyard_domain::Currency;
use stockyard_domain::ids::{LocationId, ProductId, PurchaseOrderId, SupplierId, VariantId, VendorId};
use stockyard_domain::purchasing::{
    DeliverTo, OrderOrigin, OrderedFrom, PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, ReceivedLine, Supplier,
};
use stockyard_domain::stock::Actor;

use crate::{PageRequest, StoreError, purchase_orders, suppliers};

use crate::emulator_tests::table;

pub(crate) fn supplier(vendor: VendorId, code: &str) -> Supplier {
    Supplier {
        id: SupplierId::generate(),
        vendor_id: vendor,
        code: code.into(),
        name: "Acme".into(),
        email: "orders@acme.example".into(),
        currency: Currency::parse("currency", "EUR").unwrap(),
        lead_time_days: 3,
        minimum_order: None,
        pack_size: 1,
        version: 1,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

pub(crate) fn order(vendor: VendorId, supplier: &Supplier) -> PurchaseOrder {
    PurchaseOrder {
        id: PurchaseOrderId::generate(),
        vendor_id: vendor,
        number: "PO-000001".into(),
        status: PurchaseOrderStatus::Sent,
        supplier: OrderedFrom::from(supplier),
        deliver_to: DeliverTo { location_id: LocationId::generate(), code: "WH".into(), name: "Warehouse".into() },
        currency: supplier.currency,
        lines: vec![PurchaseOrderLine {
            sku: "MILK".into(),
            variant_id: VariantId::generate(),
            product_id: ProductId::generate(),
            quantity: 10,
            received: 0,
            unit_cost: 50,
            perishable: false,
        }],
        total: 500,
        note: None,
        origin: OrderOrigin::Manual,
        version: 2,
        vendor_name: Some("Shop".into()),
        created_by: Actor::System { name: "test".into() },
        created_at: Utc::now(),
        updated_at: Utc::now(),
        sent_at: Some(Utc::now()),
        closed_at: None,
    }
}

fn line(order: &PurchaseOrder, receipt: &str, quantity: u32) -> ReceivedLine {
    ReceivedLine {
        vendor_id: order.vendor_id,
        purchase_order_id: order.id,
        receipt_id: receipt.into(),
        sku: "MILK".into(),
        quantity,
        lot: None,
        expires_on: None,
        location_id: order.deliver_to.location_id,
        movement_version: 1,
        received_by: Actor::System { name: "test".into() },
        received_at: Utc::now(),
    }
}

#[tokio::test]
async fn a_supplier_code_is_taken_once_per_vendor_and_moves_with_a_change_of_code() {
    let table = table().await;
    let vendor = VendorId::generate();
    let acme = supplier(vendor, "ACME");
    table.commit(suppliers::create(&table, &acme).unwrap()).await.unwrap();
    let twin = table.commit(suppliers::create(&table, &supplier(vendor, "ACME")).unwrap()).await;
    assert!(matches!(twin, Err(StoreError::Conflict { step }) if step == suppliers::CODE_TAKEN));
    table.commit(suppliers::create(&table, &supplier(VendorId::generate(), "ACME")).unwrap()).await.unwrap();

    let renamed = Supplier { code: "ACME-2".into(), version: 2, ..acme.clone() };
    table.commit(suppliers::replace(&table, &acme, &renamed).unwrap()).await.unwrap();
    assert_eq!(suppliers::by_code(&table, vendor, "ACME-2").await.unwrap().map(|s| s.id), Some(acme.id));
    assert!(suppliers::by_code(&table, vendor, "ACME").await.unwrap().is_none(), "the old code is free again");
    let stale = table.commit(suppliers::replace(&table, &acme, &renamed).unwrap()).await;
    assert!(matches!(stale, Err(StoreError::Conflict { step }) if step == suppliers::SUPPLIER_CHANGED));
    let page = suppliers::list(&table, vendor, &PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn an_order_is_written_only_at_the_version_read_and_a_receipt_line_is_claimed_once() {
    let table = table().await;
    let vendor = VendorId::generate();
    let acme = supplier(vendor, "ACME");
    let sent = order(vendor, &acme);
    table.commit(purchase_orders::create(&table, std::slice::from_ref(&sent)).unwrap()).await.unwrap();

    let mut after = sent.clone();
    after.receive("MILK", 4, Utc::now()).unwrap();
    let mut tx = table.tx();
    purchase_orders::record_receipt(&mut tx, sent.version, &after, &line(&sent, "R1", 4)).unwrap();
    table.commit(tx).await.unwrap();

    // Another receipt planned on the same version loses: the order moved on.
    let mut tx = table.tx();
    purchase_orders::record_receipt(&mut tx, sent.version, &after, &line(&sent, "R2", 4)).unwrap();
    let lost = table.commit(tx).await;
    assert!(matches!(lost, Err(StoreError::Conflict { step }) if step == purchase_orders::ORDER_CHANGED));

    // The same receipt's line again, even on the current version: already posted.
    let mut again = after.clone();
    again.receive("MILK", 4, Utc::now()).unwrap();
    let mut tx = table.tx();
    purchase_orders::record_receipt(&mut tx, after.version, &again, &line(&sent, "R1", 4)).unwrap();
    let twice = table.commit(tx).await;
    assert!(matches!(twice, Err(StoreError::Conflict { step }) if step == purchase_orders::ALREADY_RECEIVED));

    let stored = purchase_orders::get(&table, vendor, sent.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.lines[0].received), (after.version, 4));
    assert_eq!(purchase_orders::received_lines(&table, vendor, sent.id).await.unwrap().len(), 1);
    let five = PageRequest::first(5);
    let sent_only = purchase_orders::list(&table, vendor, Some(PurchaseOrderStatus::Sent), None, &five).await.unwrap();
    assert!(sent_only.items.is_empty(), "it is partially received now");
    let of_acme = purchase_orders::list(&table, vendor, None, Some(acme.id), &five).await.unwrap();
    assert_eq!(of_acme.items.len(), 1);
}

#[tokio::test]
async fn order_numbers_are_handed_out_once_each_even_when_taken_at_once() {
    let table = table().await;
    let vendor = VendorId::generate();
    let firsts =
        futures_util::future::join_all((0..10).map(|_| purchase_orders::take_numbers(&table, vendor, 3))).await;
    let mut numbers: Vec<u64> = firsts
        .into_iter()
        .flat_map(|f| {
            let first = f.unwrap();
            first..first + 3
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=30).collect::<Vec<_>>());
}
