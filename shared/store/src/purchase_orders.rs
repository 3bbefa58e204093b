//! Purchase orders and their receipts.
//!
//! An order is one item in its vendor's partition, its lines inline (at most 99, a few KB). Every
//! change writes the whole order with the condition that it is still at the version that was read
//! (step [`ORDER_CHANGED`]), so two transitions, or two receipts of one line, can never both
//! apply. The stock side of a transition (`incoming` when sent or cancelled, on hand when
//! received) is added by the caller to the same transaction through `stock`. Each line of a
//! receipt is claimed under the receipt's id in the transaction that posts it (step
//! [`ALREADY_RECEIVED`]), so a retried receipt never posts a line twice.

use serde::{Deserialize, Serialize};
use stockyard_domain::ids::{PurchaseOrderId, SupplierId, VendorId};
use stockyard_domain::purchasing::{PurchaseOrder, PurchaseOrderStatus, ReceivedLine};

use crate::entity::Entity;
use crate::table::{Change, Expr};
use crate::tx::Tx;
use crate::{Page, PageRequest, StoreError, Table, keys};

impl Entity for PurchaseOrder {
    type Id = (VendorId, PurchaseOrderId);
    const NAME: &'static str = "purchase order";
    fn key((vendor, id): &Self::Id) -> keys::Key {
        keys::purchase_order(*vendor, *id)
    }
    fn key_of(&self) -> keys::Key {
        keys::purchase_order(self.vendor_id, self.id)
    }
}

impl Entity for ReceivedLine {
    type Id = (VendorId, PurchaseOrderId, String, String);
    const NAME: &'static str = "purchase order receipt line";
    fn key((vendor, order, receipt, sku): &Self::Id) -> keys::Key {
        keys::received_line(*vendor, *order, receipt, sku)
    }
    fn key_of(&self) -> keys::Key {
        keys::received_line(self.vendor_id, self.purchase_order_id, &self.receipt_id, &self.sku)
    }
}

/// The vendor's running order number: the last one handed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSequenceRecord {
    pub vendor_id: VendorId,
    pub next: u64,
}

impl Entity for OrderSequenceRecord {
    type Id = VendorId;
    const NAME: &'static str = "purchase order sequence";
    fn key(vendor: &VendorId) -> keys::Key {
        keys::purchase_order_sequence(*vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::purchase_order_sequence(self.vendor_id)
    }
}

/// The step that fails when the order changed since it was read.
pub const ORDER_CHANGED: &str = "purchase_order";
/// The step of [`record_receipt`] that fails when this receipt already posted this line.
pub const ALREADY_RECEIVED: &str = "receipt_line";

/// Hands out `count` order numbers of the vendor at once (one UpdateItem ADD): the first of them.
/// A number taken by a request that then fails is not reused (numbers may have gaps).
pub async fn take_numbers(table: &Table, vendor: VendorId, count: u64) -> Result<u64, StoreError> {
    let change = Change::new(
        Expr::new("SET vendor_id = :vendor ADD #next :count")
            .name("#next", "next")
            .val(":vendor", &vendor)
            .val(":count", &count),
    );
    let after = table.update::<OrderSequenceRecord>(&vendor, change).await?;
    Ok(after.next + 1 - count)
}

/// Adds new orders (drafts) to `tx`.
pub fn create(table: &Table, orders: &[PurchaseOrder]) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    for order in orders {
        tx.put("purchase_order_new", order, Some(Expr::not_exists()))?;
    }
    Ok(tx)
}

/// A transaction writing `after` over the order as it was at `read_version` (step
/// [`ORDER_CHANGED`] when it has moved on since).
pub fn replace(table: &Table, read_version: u64, after: &PurchaseOrder) -> Result<Tx, StoreError> {
    let mut tx = table.tx();
    tx.put(ORDER_CHANGED, after, Some(Expr::new("version = :read").val(":read", &read_version)))?;
    Ok(tx)
}

/// [`replace`] with, for each `(line index, units)` of `changes`, the units added to (or, when
/// negative, taken off) the incoming stock of that line at the order's destination, the stock item
/// created when absent (at most 99 lines: 100 items, one transaction).
pub fn replace_with_incoming(
    table: &Table,
    read_version: u64,
    after: &PurchaseOrder,
    changes: &[(usize, i64)],
) -> Result<Tx, StoreError> {
    let mut tx = replace(table, read_version, after)?;
    for (i, units) in changes {
        let line = &after.lines[*i];
        let item = stockyard_domain::stock::StockItem::empty(
            after.vendor_id,
            line.variant_id,
            line.product_id,
            &line.sku,
            after.deliver_to.location_id,
            line.perishable,
            chrono::Utc::now(),
        );
        tx = tx.and(crate::stock::add_incoming(table, &item, *units)?);
    }
    Ok(tx)
}

/// Adds to `tx` (the transaction posting one received line to stock) the order after the receipt,
/// conditioned on the version it was read at, and the claim of the line under its receipt's id.
pub fn record_receipt(
    tx: &mut Tx,
    read_version: u64,
    after: &PurchaseOrder,
    line: &ReceivedLine,
) -> Result<(), StoreError> {
    tx.put(ORDER_CHANGED, after, Some(Expr::new("version = :read").val(":read", &read_version)))?;
    tx.put(ALREADY_RECEIVED, line, Some(Expr::not_exists()))?;
    Ok(())
}

pub async fn get(table: &Table, vendor: VendorId, id: PurchaseOrderId) -> Result<Option<PurchaseOrder>, StoreError> {
    table.get::<PurchaseOrder>(&(vendor, id)).await
}

/// The vendor's orders, newest first by default, optionally only those in one status and of one
/// supplier. A filtered page reads on until it is full (within the budget of filtered lists).
pub async fn list(
    table: &Table,
    vendor: VendorId,
    status: Option<PurchaseOrderStatus>,
    supplier: Option<SupplierId>,
    page: &PageRequest,
) -> Result<Page<PurchaseOrder>, StoreError> {
    let mut parts = Vec::new();
    let mut filter = Expr::default();
    if let Some(status) = status {
        parts.push("#status = :status");
        filter = filter.name("#status", "status").val(":status", &status);
    }
    if let Some(supplier) = supplier {
        parts.push("#supplier.#supplier_id = :supplier");
        filter = filter.name("#supplier", "supplier").name("#supplier_id", "supplier_id").val(":supplier", &supplier);
    }
    filter.expression = parts.join(" AND ");
    let filter = (!parts.is_empty()).then_some(filter);
    table.query_filtered(&keys::purchase_orders_of(vendor), page, filter, |_| true).await
}

/// One line of one receipt, if that receipt posted it.
pub async fn received_line(
    table: &Table,
    vendor: VendorId,
    order: PurchaseOrderId,
    receipt: &str,
    sku: &str,
) -> Result<Option<ReceivedLine>, StoreError> {
    table.get::<ReceivedLine>(&(vendor, order, receipt.to_string(), sku.to_string())).await
}

/// Every line received on the order, by receipt then SKU.
pub async fn received_lines(
    table: &Table,
    vendor: VendorId,
    order: PurchaseOrderId,
) -> Result<Vec<ReceivedLine>, StoreError> {
    table.query_all(&keys::received_lines_of(vendor, order)).await
}
