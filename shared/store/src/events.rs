//! Domain events from the data itself. A committed write is the event: the table's stream
//! (DynamoDB Streams, new and old images) carries every change, and `route-table-events` turns the
//! changes that matter to another area into messages on that area's queue. No handler writes an
//! event beside its data, so none can be lost between a commit and a publish, and a change that
//! did not commit announces nothing.
//!
//! Delivery is at least once: the stream re-delivers a batch from the first record its function
//! could not route. Every event therefore carries the business id its consumer deduplicates on.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stockyard_domain::catalog::ProductStatus;
use stockyard_domain::channel::SaleRecord;
use stockyard_domain::exchange::ExchangeRates;
use stockyard_domain::ids::{ProductId, StockAlertId, VariantId, VendorId};
use stockyard_domain::image::ProductImage;
use stockyard_domain::product::{ProductTranslation, Variant};
use stockyard_domain::purchasing::{PurchaseOrder, PurchaseOrderStatus, ReceivedLine};
use stockyard_domain::stock::{self, StockAlert, StockItem};
use stockyard_domain::vendor::Vendor;
use stockyard_domain::webhook::{self, WebhookEvent, WebhookEventData, WebhookEventType};

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

/// The webhook events a change of one item means (see `stockyard_domain::webhook`): a stock
/// item whose available units moved (`stock.availability_changed`), one that crossed to or below
/// its reorder point or ran out (`stock.low`, the crossing stock alerts use), a purchase order
/// line received (`purchase_order.received`). Each event's id derives from the change (the stock
/// item's version, the receipt and line), so a record delivered twice yields the same events.
pub fn webhook_events(
    change: Change,
    new_image: serde_dynamo::Item,
    old_image: serde_dynamo::Item,
) -> Result<Vec<WebhookEvent>, StoreError> {
    if change == Change::Remove {
        return Ok(Vec::new());
    }
    let kind: EntityName = serde_dynamo::from_item(new_image.clone())?;
    match (change, kind.entity.as_deref()) {
        (Change::Insert | Change::Modify, Some(StockItem::NAME)) => {
            let new: StockItem = serde_dynamo::from_item(new_image)?;
            let old: Option<StockItem> =
                if change == Change::Modify { Some(serde_dynamo::from_item(old_image)?) } else { None };
            Ok(stock_webhook_events(old.as_ref(), &new, Utc::now().date_naive()))
        }
        (Change::Insert, Some(ReceivedLine::NAME)) => {
            let line: ReceivedLine = serde_dynamo::from_item(new_image)?;
            let (vendor, order) = (line.vendor_id.to_string(), line.purchase_order_id.to_string());
            let id = webhook::event_id(
                WebhookEventType::PurchaseOrderReceived,
                &[vendor.as_str(), order.as_str(), line.receipt_id.as_str(), line.sku.as_str()],
                line.received_at,
            );
            Ok(vec![WebhookEvent {
                id,
                created_at: line.received_at,
                vendor_id: line.vendor_id,
                data: WebhookEventData::PurchaseOrderReceived(webhook::PurchaseOrderReceived {
                    purchase_order_id: line.purchase_order_id,
                    receipt_id: line.receipt_id,
                    sku: line.sku,
                    quantity: line.quantity,
                    location_id: line.location_id,
                    lot: line.lot,
                    expires_on: line.expires_on,
                    stock_version: line.movement_version,
                    received_at: line.received_at,
                }),
            }])
        }
        _ => Ok(Vec::new()),
    }
}

/// The webhook events of a stock item going from `before` (none: a new item) to `after`.
///
/// A sharded item tells nothing: its shards' sales never pass through it (see
/// [`stock::crossing`]); it speaks again from the state it is in when the shards are merged back.
pub fn stock_webhook_events(before: Option<&StockItem>, after: &StockItem, today: NaiveDate) -> Vec<WebhookEvent> {
    let mut events = Vec::new();
    if after.shards > 0 {
        return events;
    }
    let now = stock::availability(after, today);
    let available_before = before.map_or(0, |b| stock::availability(b, today).available);
    let parts = [
        after.vendor_id.to_string(),
        after.variant_id.to_string(),
        after.location_id.to_string(),
        after.version.to_string(),
    ];
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    if now.available != available_before {
        events.push(WebhookEvent {
            id: webhook::event_id(WebhookEventType::StockAvailabilityChanged, &parts, after.updated_at),
            created_at: after.updated_at,
            vendor_id: after.vendor_id,
            data: WebhookEventData::StockAvailabilityChanged(webhook::StockAvailabilityChanged {
                sku: after.sku.clone(),
                variant_id: after.variant_id,
                product_id: after.product_id,
                location_id: after.location_id,
                available_before,
                available: now.available,
                on_hand: now.on_hand,
                reserved: now.reserved,
                stock_version: after.version,
            }),
        });
    }
    if let Some(kind) = stock::crossing(before, after, today) {
        events.push(WebhookEvent {
            id: webhook::event_id(WebhookEventType::StockLow, &parts, after.updated_at),
            created_at: after.updated_at,
            vendor_id: after.vendor_id,
            data: WebhookEventData::StockLow(webhook::StockLow {
                sku: after.sku.clone(),
                variant_id: after.variant_id,
                product_id: after.product_id,
                location_id: after.location_id,
                kind,
                available: now.available,
                reorder_point: after.reorder_point,
                stock_version: after.version,
                alert_id: StockAlertId::of_change(after.variant_id, after.location_id, after.version),
            }),
        });
    }
    events
}

#[cfg(test)]
pub(crate) mod tests {
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
    pub(crate) fn image<E: Entity>(record: &E) -> serde_dynamo::Item {
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

    fn stock_item(on_hand: u32, version: u64, reorder_point: Option<u32>) -> StockItem {
        let mut item = StockItem::empty(
            VendorId::parse("v", "01JDB0000000000000000000V1").unwrap(),
            stockyard_domain::ids::VariantId::parse("v", "01JDB0000000000000000000A1").unwrap(),
            stockyard_domain::ids::ProductId::parse("p", "01JDB0000000000000000000P1").unwrap(),
            "MILK-1L",
            stockyard_domain::ids::LocationId::parse("l", "01JDB0000000000000000000C1").unwrap(),
            false,
            chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z").unwrap().with_timezone(&Utc),
        );
        item.on_hand = on_hand;
        item.version = version;
        item.reorder_point = reorder_point;
        item
    }

    fn types(events: &[WebhookEvent]) -> Vec<&'static str> {
        events.iter().map(|e| e.event_type().as_str()).collect()
    }

    #[test]
    fn a_stock_item_whose_available_units_move_is_an_availability_event_with_both_counts() {
        let (before, after) = (stock_item(10, 3, None), stock_item(7, 4, None));
        let events = webhook_events(Change::Modify, image(&after), image(&before)).unwrap();
        assert_eq!(types(&events), ["stock.availability_changed"]);
        let WebhookEventData::StockAvailabilityChanged(data) = &events[0].data else { panic!("availability") };
        assert_eq!((data.available_before, data.available, data.stock_version), (10, 7, 4));
        let again = webhook_events(Change::Modify, image(&after), image(&before)).unwrap();
        assert_eq!(again[0].id, events[0].id, "a record delivered twice is the same event");
        let new = webhook_events(Change::Insert, image(&stock_item(5, 1, None)), Default::default()).unwrap();
        let WebhookEventData::StockAvailabilityChanged(data) = &new[0].data else { panic!("availability") };
        assert_eq!((data.available_before, data.available), (0, 5), "a new item starts from nothing");
    }

    #[test]
    fn crossing_the_reorder_point_is_also_a_low_stock_event_and_settings_alone_are_nothing() {
        let (before, after) = (stock_item(6, 3, Some(5)), stock_item(4, 4, Some(5)));
        let events = webhook_events(Change::Modify, image(&after), image(&before)).unwrap();
        assert_eq!(types(&events), ["stock.availability_changed", "stock.low"]);
        let WebhookEventData::StockLow(low) = &events[1].data else { panic!("low") };
        assert_eq!(low.kind, stock::StockAlertKind::Low);
        assert_eq!(low.alert_id, StockAlertId::of_change(after.variant_id, after.location_id, 4), "the alert's id");
        let below = webhook_events(Change::Modify, image(&stock_item(3, 5, Some(5))), image(&after)).unwrap();
        assert_eq!(types(&below), ["stock.availability_changed"], "already below: no second low event");
        let mut moved = after.clone();
        moved.reorder_point = Some(2);
        moved.version = 5;
        assert!(webhook_events(Change::Modify, image(&moved), image(&after)).unwrap().is_empty());
    }

    #[test]
    fn a_received_line_is_a_purchase_order_received_event() {
        use crate::emulator_tests_purchasing::{order, supplier};
        let vendor = VendorId::generate();
        let po = order(vendor, &supplier(vendor, "ACME"));
        let line = ReceivedLine {
            vendor_id: vendor,
            purchase_order_id: po.id,
            receipt_id: "r-1".into(),
            sku: "MILK".into(),
            quantity: 4,
            lot: None,
            expires_on: None,
            location_id: po.deliver_to.location_id,
            movement_version: 9,
            received_by: stockyard_domain::stock::Actor::System { name: "test".into() },
            received_at: Utc::now(),
        };
        let events = webhook_events(Change::Insert, image(&line), Default::default()).unwrap();
        assert_eq!(types(&events), ["purchase_order.received"]);
        assert_eq!(events[0].vendor_id, vendor);
        let WebhookEventData::PurchaseOrderReceived(data) = &events[0].data else { panic!("received") };
        assert_eq!((data.quantity, data.stock_version, data.receipt_id.as_str()), (4, 9, "r-1"));
    }
}
