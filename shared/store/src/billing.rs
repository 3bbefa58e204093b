//! Billing of paid order groups: each vendor's invoices in its own gapless sequence, each group's
//! payment receipt, the PDF files of both in the order documents bucket, the paid sales in the
//! consolidated sales record, and which order events were handled.
//!
//! An invoice is issued in one transaction that moves its vendor's sequence from the number read
//! to the next (step [`SEQUENCE_MOVED`] when another invoice took it meanwhile) and writes the
//! invoice, which must not exist yet (step [`INVOICE_EXISTS`]): a number is used exactly when an
//! invoice is written with it, so the numbers of a vendor have no gaps and no repeats, and one
//! vendor order never gets two invoices however often its payment is handled. Invoices and the
//! receipt live in the group's partition beside its orders; a vendor's invoices are also listed
//! by number (`VENDORINVOICES#<vendor>` on GSI1).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::billing::{DocumentKind, Invoice, Receipt};
use stockyard_domain::channel::{Channel, ChannelKind, SaleRecord};
use stockyard_domain::ids::{ChannelId, LocationId, OrderGroupId, VendorId};

use crate::channels::{self, ChannelClaimRecord};
use crate::entity::Entity;
use crate::objects::{Bucket, Presigned};
use crate::table::{Change, Expr};
use crate::{Page, PageRequest, StoreError, Table, keys};

/// The step of [`issue_invoice`] that fails when the vendor order has its invoice already.
pub const INVOICE_EXISTS: &str = "invoice";
/// The step of [`issue_invoice`] that fails when another invoice took the number meanwhile.
pub const SEQUENCE_MOVED: &str = "invoice_sequence";
/// Tries of an invoice that keeps losing its number to concurrent ones (each after a pause).
const ISSUE_TRIES: u32 = 12;

impl Entity for Invoice {
    type Id = (OrderGroupId, VendorId);
    const NAME: &'static str = "invoice";
    fn key((group, vendor): &Self::Id) -> keys::Key {
        keys::invoice(*group, *vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::invoice(self.group_id, self.vendor_id)
    }
    fn index_key(&self) -> Option<keys::IndexKey> {
        Some(keys::vendor_invoice_listing(self.vendor_id, self.sequence))
    }
}

/// A vendor's invoice sequence: the last number it handed out (none yet: no item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoiceSequenceRecord {
    pub vendor_id: VendorId,
    pub last: u64,
}

impl Entity for InvoiceSequenceRecord {
    type Id = VendorId;
    const NAME: &'static str = "invoice sequence";
    fn key(vendor: &VendorId) -> keys::Key {
        keys::invoice_sequence(*vendor)
    }
    fn key_of(&self) -> keys::Key {
        keys::invoice_sequence(self.vendor_id)
    }
}

impl Entity for Receipt {
    type Id = OrderGroupId;
    const NAME: &'static str = "payment receipt";
    fn key(group: &OrderGroupId) -> keys::Key {
        keys::payment_receipt(*group)
    }
    fn key_of(&self) -> keys::Key {
        keys::payment_receipt(self.group_id)
    }
}

/// The invoice of one vendor order, if it was issued.
pub async fn invoice(table: &Table, group: OrderGroupId, vendor: VendorId) -> Result<Option<Invoice>, StoreError> {
    table.get::<Invoice>(&(group, vendor)).await
}

/// The invoices of a group, by vendor id.
pub async fn invoices_of_group(table: &Table, group: OrderGroupId) -> Result<Vec<Invoice>, StoreError> {
    table.query_all(&keys::invoices_of_group(group)).await
}

/// A vendor's invoices by number, first first unless the page asks for newest first.
pub async fn invoices_of_vendor(
    table: &Table,
    vendor: VendorId,
    page: &PageRequest,
) -> Result<Page<Invoice>, StoreError> {
    table.query(&keys::vendor_invoices(vendor), page).await
}

/// The last invoice number the vendor handed out (0: none yet).
pub async fn last_invoice_number(table: &Table, vendor: VendorId) -> Result<u64, StoreError> {
    Ok(table.get::<InvoiceSequenceRecord>(&vendor).await?.map_or(0, |s| s.last))
}

/// The invoice of the vendor order of `vendor` in `group`: the one issued before, or a new one
/// that `make` builds with the vendor's next number, written with that number in one transaction
/// (see the module's documentation). Under contention for the vendor's sequence it reads the
/// number again, after a short jittered pause, up to 12 times; then `Throttled`.
pub async fn issue_invoice<E>(
    table: &Table,
    group: OrderGroupId,
    vendor: VendorId,
    make: impl Fn(u64) -> Result<Invoice, E>,
) -> Result<Result<Invoice, E>, StoreError> {
    for attempt in 0..ISSUE_TRIES {
        if let Some(issued) = invoice(table, group, vendor).await? {
            return Ok(Ok(issued));
        }
        let last = last_invoice_number(table, vendor).await?;
        let invoice = match make(last + 1) {
            Ok(invoice) => invoice,
            Err(e) => return Ok(Err(e)),
        };
        if (invoice.group_id, invoice.vendor_id, invoice.sequence) != (group, vendor, last + 1) {
            return Err(StoreError::Malformed("an invoice built for another order or number".into()));
        }
        let taken = if last == 0 {
            Expr::new("attribute_not_exists(PK)")
        } else {
            Expr::new("#last = :read").name("#last", "last").val(":read", &last)
        };
        let change = Change::new(
            Expr::new("SET #last = :next, vendor_id = :vendor")
                .name("#last", "last")
                .val(":next", &(last + 1))
                .val(":vendor", &vendor),
        )
        .when(taken);
        let mut tx = table.tx();
        tx.update::<InvoiceSequenceRecord>(SEQUENCE_MOVED, &vendor, change)?;
        tx.put(INVOICE_EXISTS, &invoice, Some(Expr::not_exists()))?;
        match table.commit(tx).await {
            Ok(()) => return Ok(Ok(invoice)),
            Err(e) if e.failed_at(INVOICE_EXISTS) => continue,
            Err(e) if e.failed_at(SEQUENCE_MOVED) || e.is_transient() => {
                let pause = 5 + u64::from(attempt) * 10 + u64::from(ulid::Ulid::new().random() as u8 % 20);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Throttled("the vendor's invoice numbers are busy; try again".into()))
}

/// The group's payment receipt, if it was issued.
pub async fn receipt(table: &Table, group: OrderGroupId) -> Result<Option<Receipt>, StoreError> {
    table.get::<Receipt>(&group).await
}

/// Keeps the group's receipt: the first one written stays, and is what this returns.
pub async fn issue_receipt(table: &Table, receipt: &Receipt) -> Result<Receipt, StoreError> {
    match table.put(receipt, Some(Expr::not_exists())).await {
        Ok(()) => Ok(receipt.clone()),
        Err(StoreError::ConditionFailed) => self::receipt(table, receipt.group_id)
            .await?
            .ok_or_else(|| StoreError::Malformed("a receipt went missing after it was written".into())),
        Err(e) => Err(e),
    }
}

// ---- the documents' files -----------------------------------------------------------------------

/// Where an invoice's PDF is kept in the order documents bucket.
pub fn invoice_object(group: OrderGroupId, vendor: VendorId) -> String {
    format!("orders/{group}/invoice-{vendor}.pdf")
}

/// Where a parcel's packing slip is kept in the order documents bucket.
pub fn packing_slip_object(group: OrderGroupId, shipment: stockyard_domain::ids::ShipmentId) -> String {
    format!("orders/{group}/packing-slip-{shipment}.pdf")
}

/// Where a refund's credit note PDF is kept in the order documents bucket.
pub fn credit_note_object(group: OrderGroupId, refund: stockyard_domain::ids::RefundId) -> String {
    format!("orders/{group}/credit-note-{refund}.pdf")
}

/// Where a group's receipt's PDF is kept in the order documents bucket.
pub fn receipt_object(group: OrderGroupId) -> String {
    format!("orders/{group}/receipt.pdf")
}

/// Writes a document's PDF (the same bytes for the same record: writing again changes nothing).
pub async fn store_pdf(bucket: &Bucket, object: &str, pdf: Vec<u8>) -> Result<(), StoreError> {
    bucket.write(object, pdf, "application/pdf", Some("private, no-store")).await
}

/// One document of an order group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderDocument {
    pub kind: DocumentKind,
    /// As printed: `INV-000042`, `CN-000043` (the vendor's numbering), `R-<group id>`.
    #[schema(example = "INV-000042")]
    pub number: String,
    /// The seller, for an invoice or a credit note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<VendorId>,
    /// The file name a download should get.
    #[schema(example = "INV-000042.pdf")]
    pub filename: String,
    /// The object in the order documents bucket (never shown to clients).
    #[serde(skip)]
    pub object: String,
}

/// A document with a download link that works for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DownloadableDocument {
    #[serde(flatten)]
    pub document: OrderDocument,
    pub download: Presigned,
}

/// The documents of a group issued so far: its invoices (by vendor id), its receipt, then its
/// credit notes (by refund id).
pub async fn documents(table: &Table, group: OrderGroupId) -> Result<Vec<OrderDocument>, StoreError> {
    let (invoices, receipt, credit_notes) = tokio::try_join!(
        invoices_of_group(table, group),
        self::receipt(table, group),
        crate::returns::credit_notes_of_group(table, group)
    )?;
    let mut out: Vec<OrderDocument> = invoices
        .into_iter()
        .map(|i| OrderDocument {
            kind: DocumentKind::Invoice,
            filename: format!("{}.pdf", i.number),
            number: i.number,
            vendor_id: Some(i.vendor_id),
            object: invoice_object(group, i.vendor_id),
        })
        .collect();
    if let Some(r) = receipt {
        out.push(OrderDocument {
            kind: DocumentKind::Receipt,
            filename: format!("receipt-{group}.pdf"),
            number: r.number,
            vendor_id: None,
            object: receipt_object(group),
        });
    }
    out.extend(credit_notes.into_iter().map(|n| OrderDocument {
        kind: DocumentKind::CreditNote,
        filename: format!("{}.pdf", n.number),
        object: credit_note_object(group, n.refund_id),
        number: n.number,
        vendor_id: Some(n.vendor_id),
    }));
    Ok(out)
}

/// The documents of a group, each with a presigned GET of its PDF that works for `ttl` (at most
/// 7 days, as S3 allows). What `GET /orders/{groupId}/documents` answers once the caller may read
/// the group.
pub async fn downloadable_documents(
    table: &Table,
    bucket: &Bucket,
    group: OrderGroupId,
    ttl: Duration,
) -> Result<Vec<DownloadableDocument>, StoreError> {
    let mut out = Vec::new();
    for document in documents(table, group).await? {
        let download = bucket.presign_get(&document.object, Some("application/pdf"), ttl).await?;
        out.push(DownloadableDocument { document, download });
    }
    Ok(out)
}

// ---- paid sales ---------------------------------------------------------------------------------

/// The code of the storefront channel Stockyard registers for a vendor whose paid orders need one.
pub const ONLINE_CHANNEL_CODE: &str = "ONLINE";

/// The vendor's storefront channel (where checkout sells), if it registered one.
pub async fn storefront(table: &Table, vendor: VendorId) -> Result<Option<Channel>, StoreError> {
    let Some(claim) = table.get::<ChannelClaimRecord>(&(vendor, "STOREFRONT".to_string())).await? else {
        return Ok(None);
    };
    channels::get(table, vendor, claim.channel_id).await
}

/// The vendor's storefront channel, registered now (code `ONLINE`, or `ONLINE-<n>` when the vendor
/// uses that code for another channel, selling from `location` by default) when it has none.
pub async fn online_channel(table: &Table, vendor: VendorId, location: LocationId) -> Result<Channel, StoreError> {
    for attempt in 0..4 {
        if let Some(channel) = storefront(table, vendor).await? {
            return Ok(channel);
        }
        let code =
            if attempt == 0 { ONLINE_CHANNEL_CODE.to_string() } else { format!("{ONLINE_CHANNEL_CODE}-{attempt}") };
        let channel = Channel {
            id: ChannelId::generate(),
            vendor_id: vendor,
            code,
            name: "Online store".into(),
            kind: ChannelKind::Storefront,
            location_id: location,
            created_at: Utc::now(),
        };
        match table.commit(channels::create(table, &channel)?).await {
            Ok(()) => return Ok(channel),
            // Another worker registered the storefront first: the next turn reads it.
            Err(e) if e.failed_at(channels::STOREFRONT_TAKEN) || e.failed_at(channels::CODE_TAKEN) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Malformed("the vendor's storefront channel could not be registered".into()))
}

/// Records a paid sale in the consolidated sales record, once per channel and sale id (a sale
/// recorded before is left as it is). Its stock is not touched: the order's reservation holds the
/// units until they ship.
pub async fn record_paid_sale(table: &Table, sale: &SaleRecord) -> Result<(), StoreError> {
    match table.put(sale, Some(Expr::not_exists())).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

// ---- order events handled ----------------------------------------------------------------------

/// An order event whose work is all done (its invoices, emails and sales): a later delivery of
/// the same event finds it and does nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEventDone {
    pub group_id: OrderGroupId,
    /// The event's key within its group (`order_paid`, `order_disputed#dp_1`).
    pub event: String,
    pub done_at: DateTime<Utc>,
}

impl Entity for OrderEventDone {
    type Id = (OrderGroupId, String);
    const NAME: &'static str = "order event done";
    fn key((group, event): &Self::Id) -> keys::Key {
        keys::order_event_done(*group, event)
    }
    fn key_of(&self) -> keys::Key {
        keys::order_event_done(self.group_id, &self.event)
    }
}

/// Whether the group's event `event` was handled to the end.
pub async fn event_done(table: &Table, group: OrderGroupId, event: &str) -> Result<bool, StoreError> {
    Ok(table.get::<OrderEventDone>(&(group, event.to_string())).await?.is_some())
}

/// Records that the group's event `event` was handled to the end.
pub async fn mark_event_done(table: &Table, group: OrderGroupId, event: &str) -> Result<(), StoreError> {
    let done = OrderEventDone { group_id: group, event: event.to_string(), done_at: Utc::now() };
    table.put(&done, None).await
}
