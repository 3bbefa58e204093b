//! Domain events from the data itself. A committed write is the event: the table's stream
//! (DynamoDB Streams, new and old images) carries every change, and `route-table-events` turns the
//! changes that matter to another area into messages on that area's queue. No handler writes an
//! event beside its data, so none can be lost between a commit and a publish, and a change that
//! did not commit announces nothing.
//!
//! Delivery is at least once: the stream re-delivers a batch from the first record its function
//! could not route. Every event therefore carries the business id its consumer deduplicates on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::catalog::ProductStatus;
use stockyard_domain::channel::SaleRecord;
use stockyard_domain::exchange::ExchangeRates;
use stockyard_domain::ids::{ProductId, VariantId, VendorId};
use stockyard_domain::image::ProductImage;
use stockyard_domain::product::{ProductTranslation, Variant};
use stockyard_domain::purchasing::{PurchaseOrder, PurchaseOrderStatus};
use stockyard_domain::stock::{self, StockAlert, StockItem};
use stockyard_domain::vendor::Vendor;

use crate::StoreError;
use crate::account_mail::AccountMailRecord;
use crate::entity::Entity;
use crate::products::ProductRecord;
use crate::vendors::InvitationRecord;

/// A change another area acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainEvent {
    /// A vendor invited someone: the invitee gets an email.
    InvitationCreated(InvitationRecord),
    /// An account email was requested (a link to verify or reset, a notice of a change).
    AccountMailRequested(AccountMailRecord),
    /// A purchase order went from draft to sent: its supplier gets it by email, as a PDF.
    PurchaseOrderSent(Box<PurchaseOrder>),
    /// Something shoppers see of the catalog changed: the search index and, later, inventory,
    /// recommendations and reports act on it.
    Catalog(CatalogEvent),
    /// A stock item crossed below its reorder point or ran out: the vendor hears of it.
    StockAlert(StockAlert),
    /// A channel reported a sale or a return: the sales history counts it.
    Sale(SaleRecord),
}

/// A change to what the catalog shows. It names what changed, not its new state: a consumer
/// reads the current state, so duplicates and reordering cannot make it act on a stale one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CatalogEvent {
    #[serde(rename = "product.created")]
    ProductCreated { product_id: ProductId, vendor_id: VendorId },
    /// Its text, category, brand, tags, attributes, a translation or a variant changed. The
    /// vendor is absent when a translation changed (its item does not name the vendor).
    #[serde(rename = "product.changed")]
    ProductChanged {
        product_id: ProductId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vendor_id: Option<VendorId>,
    },
    #[serde(rename = "product.published")]
    ProductPublished { product_id: ProductId, vendor_id: VendorId },
    #[serde(rename = "product.archived")]
    ProductArchived { product_id: ProductId, vendor_id: VendorId },
    /// Published back to a draft: no longer on sale.
    #[serde(rename = "product.unpublished")]
    ProductUnpublished { product_id: ProductId, vendor_id: VendorId },
    #[serde(rename = "product.price_changed")]
    PriceChanged { product_id: ProductId, vendor_id: VendorId, variant_id: VariantId },
    /// The vendor was suspended or reinstated, or changed its name or base currency.
    #[serde(rename = "vendor.changed")]
    VendorChanged { vendor_id: VendorId },
    /// Admin changed the exchange rates: every converted price moves.
    #[serde(rename = "exchange_rates.changed")]
    ExchangeRatesChanged,
}

impl CatalogEvent {
    /// The product the event is about, if it is about one.
    pub fn product_id(&self) -> Option<ProductId> {
        match self {
            CatalogEvent::ProductCreated { product_id, .. }
            | CatalogEvent::ProductChanged { product_id, .. }
            | CatalogEvent::ProductPublished { product_id, .. }
            | CatalogEvent::ProductArchived { product_id, .. }
            | CatalogEvent::ProductUnpublished { product_id, .. }
            | CatalogEvent::PriceChanged { product_id, .. } => Some(*product_id),
            CatalogEvent::VendorChanged { .. } | CatalogEvent::ExchangeRatesChanged => None,
        }
    }
}

/// A catalog event as it travels on the catalog queue: the stream record's id (unique per
/// change; a consumer that must act once deduplicates on it) and when the change was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogMessage {
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: CatalogEvent,
}

/// What kind of change a stream record is (its `eventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Insert,
    Modify,
    Remove,
}

impl Change {
    pub fn parse(event_name: &str) -> Option<Self> {
        match event_name {
            "INSERT" => Some(Change::Insert),
            "MODIFY" => Some(Change::Modify),
            "REMOVE" => Some(Change::Remove),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct EntityName {
    #[serde(default)]
    entity: Option<String>,
}

/// The domain event a change of one item means, if any. `new_image` is the item after the change
/// (empty for a removal), `old_image` the item before it (empty for an insert). An item of a known
/// kind that cannot be read is an error (the router reports it and the stream retries, then parks
/// it); items of other kinds mean nothing.
pub fn from_change(
    change: Change,
    new_image: serde_dynamo::Item,
    old_image: serde_dynamo::Item,
) -> Result<Option<DomainEvent>, StoreError> {
    let image = if change == Change::Remove { &old_image } else { &new_image };
    let kind: EntityName = serde_dynamo::from_item(image.clone())?;
    let catalog = |event: CatalogEvent| Ok(Some(DomainEvent::Catalog(event)));
    match (change, kind.entity.as_deref()) {
        (Change::Insert, Some(InvitationRecord::NAME)) => {
            Ok(Some(DomainEvent::InvitationCreated(serde_dynamo::from_item(new_image)?)))
        }
        (Change::Insert, Some(AccountMailRecord::NAME)) => {
            Ok(Some(DomainEvent::AccountMailRequested(serde_dynamo::from_item(new_image)?)))
        }
        (Change::Insert | Change::Modify, Some(ProductRecord::NAME)) => {
            let new: ProductRecord = serde_dynamo::from_item(new_image)?;
            let (product_id, vendor_id) = (new.product.id, new.product.vendor_id);
            if change == Change::Insert {
                return catalog(CatalogEvent::ProductCreated { product_id, vendor_id });
            }
            let old: ProductRecord = serde_dynamo::from_item(old_image)?;
            if old.product == new.product {
                // Only the variant count moved: the variant's own item announces the variant.
                return Ok(None);
            }
            catalog(match (old.product.status, new.product.status) {
                (from, ProductStatus::Published) if from != ProductStatus::Published => {
                    CatalogEvent::ProductPublished { product_id, vendor_id }
                }
                (from, ProductStatus::Archived) if from != ProductStatus::Archived => {
                    CatalogEvent::ProductArchived { product_id, vendor_id }
                }
                (ProductStatus::Published, ProductStatus::Draft) => {
                    CatalogEvent::ProductUnpublished { product_id, vendor_id }
                }
                _ => CatalogEvent::ProductChanged { product_id, vendor_id: Some(vendor_id) },
            })
        }
        (Change::Insert | Change::Modify, Some(Variant::NAME)) => {
            let new: Variant = serde_dynamo::from_item(new_image)?;
            let (product_id, vendor_id, variant_id) = (new.product_id, new.vendor_id, new.id);
            let old: Option<Variant> =
                if change == Change::Modify { Some(serde_dynamo::from_item(old_image)?) } else { None };
            match old {
                Some(old) if old == new => Ok(None),
                Some(old) if old.prices != new.prices => {
                    catalog(CatalogEvent::PriceChanged { product_id, vendor_id, variant_id })
                }
                _ => catalog(CatalogEvent::ProductChanged { product_id, vendor_id: Some(vendor_id) }),
            }
        }
        (Change::Insert | Change::Modify | Change::Remove, Some(ProductTranslation::NAME)) => {
            #[derive(Deserialize)]
            struct Of {
                product_id: ProductId,
            }
            let of: Of = serde_dynamo::from_item(image.clone())?;
            catalog(CatalogEvent::ProductChanged { product_id: of.product_id, vendor_id: None })
        }
        (Change::Modify, Some(ProductImage::NAME)) => {
            let (new, old): (ProductImage, ProductImage) =
                (serde_dynamo::from_item(new_image)?, serde_dynamo::from_item(old_image)?);
            // Shoppers see an image once it is ready: only a decided upload changes the product.
            if new.status == old.status && new.renditions == old.renditions && new.alt == old.alt {
                Ok(None)
            } else {
                catalog(CatalogEvent::ProductChanged { product_id: new.product_id, vendor_id: Some(new.vendor_id) })
            }
        }
        (Change::Modify, Some(PurchaseOrder::NAME)) => {
            let (new, old): (PurchaseOrder, PurchaseOrder) =
                (serde_dynamo::from_item(new_image)?, serde_dynamo::from_item(old_image)?);
            let sent = old.status == PurchaseOrderStatus::Draft && new.status == PurchaseOrderStatus::Sent;
            Ok(sent.then(|| DomainEvent::PurchaseOrderSent(Box::new(new))))
        }
        (Change::Modify, Some(Vendor::NAME)) => {
            let (new, old): (Vendor, Vendor) =
                (serde_dynamo::from_item(new_image)?, serde_dynamo::from_item(old_image)?);
            let shown = |v: &Vendor| (v.status, v.name.clone(), v.base_currency, v.default_locale.clone());
            if shown(&new) == shown(&old) {
                Ok(None)
            } else {
                catalog(CatalogEvent::VendorChanged { vendor_id: new.id })
            }
        }
        (Change::Insert | Change::Modify, Some(ExchangeRates::NAME)) => catalog(CatalogEvent::ExchangeRatesChanged),
        (Change::Insert, Some(SaleRecord::NAME)) => Ok(Some(DomainEvent::Sale(serde_dynamo::from_item(new_image)?))),
        (Change::Modify, Some(StockItem::NAME)) => {
            let (new, old): (StockItem, StockItem) =
                (serde_dynamo::from_item(new_image)?, serde_dynamo::from_item(old_image)?);
            let now = Utc::now();
            let today = now.date_naive();
            Ok(stock::crossing(Some(&old), &new, today)
                .map(|kind| DomainEvent::StockAlert(StockAlert::of(&new, kind, today, now))))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stockyard_domain::ids::{InvitationId, UserId, VendorId};
    use stockyard_domain::roles::VendorRole;
    use stockyard_domain::values::Email;
    use stockyard_domain::vendor::InvitationStatus;

    fn invitation() -> InvitationRecord {
        InvitationRecord {
            id: InvitationId::generate(),
            vendor_id: VendorId::generate(),
            vendor_name: "Green Valley".into(),
            email: Email::parse("email", "grace@example.com").unwrap(),
            role: VendorRole::Viewer,
            status: InvitationStatus::Pending,
            invited_by: UserId::generate(),
            created_at: Utc::now(),
            expires_on: Utc::now(),
            accepted_at: None,
        }
    }

    /// The item exactly as the store writes it, as the stream's image carries it.
    fn image<E: Entity>(record: &E) -> serde_dynamo::Item {
        let item = crate::table::to_item(record).unwrap();
        let json = serde_json::to_value(
            item.into_iter()
                .map(|(k, v)| (k, serde_dynamo::AttributeValue::from(v)))
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .unwrap();
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_new_invitation_is_an_invitation_created_event_with_the_stored_record() {
        let record = invitation();
        let event = from_change(Change::Insert, image(&record), Default::default()).unwrap();
        assert_eq!(event, Some(DomainEvent::InvitationCreated(record)));
    }

    #[test]
    fn other_changes_and_other_items_mean_nothing() {
        let record = invitation();
        assert_eq!(
            from_change(Change::Modify, image(&record), image(&record)).unwrap(),
            None,
            "accepting is not a new invitation"
        );
        assert_eq!(
            from_change(Change::Remove, serde_dynamo::Item::default(), serde_dynamo::Item::default()).unwrap(),
            None
        );
        let location = stockyard_domain::location::Location {
            id: stockyard_domain::ids::LocationId::generate(),
            vendor_id: VendorId::generate(),
            code: "WH-1".into(),
            name: "Warehouse".into(),
            kind: stockyard_domain::location::LocationKind::Warehouse,
            country: None,
            created_at: Utc::now(),
        };
        assert_eq!(from_change(Change::Insert, image(&location), Default::default()).unwrap(), None);
    }

    #[test]
    fn a_purchase_order_sent_is_an_event_and_its_other_changes_are_not() {
        use crate::emulator_tests_purchasing::{order, supplier};
        let vendor = VendorId::generate();
        let sent = order(vendor, &supplier(vendor, "ACME"));
        let draft = PurchaseOrder { status: PurchaseOrderStatus::Draft, version: 1, sent_at: None, ..sent.clone() };
        let event = from_change(Change::Modify, image(&sent), image(&draft)).unwrap();
        assert_eq!(event, Some(DomainEvent::PurchaseOrderSent(Box::new(sent.clone()))));
        let mut received = sent.clone();
        received.receive("MILK", 4, Utc::now()).unwrap();
        assert_eq!(from_change(Change::Modify, image(&received), image(&sent)).unwrap(), None, "a receipt");
        assert_eq!(from_change(Change::Modify, image(&draft), image(&draft)).unwrap(), None, "a draft edited");
        assert_eq!(from_change(Change::Insert, image(&draft), Default::default()).unwrap(), None, "a new draft");
    }

    #[test]
    fn an_invitation_item_that_cannot_be_read_is_an_error_not_silence() {
        let mut item = image(&invitation());
        item.remove("vendor_name");
        assert!(from_change(Change::Insert, item, Default::default()).is_err());
    }
}
