//! The packing slip that goes into a parcel: who sent it, where it goes, what is in it (SKU, item,
//! units, and for perishable goods the lots and their expiry dates), with the vendor order's id
//! as a Code 128 barcode a warehouse scanner reads. One A4 page per 30 lines (a parcel holds at
//! most 20), in the page helpers and fonts of [`crate::documents`].

use barcoders::sym::code128::Code128;
use stockyard_domain::address::PostalAddress;
use stockyard_domain::fulfilment::Shipment;

use crate::documents::{BOLD, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, PageText, REGULAR, ROW, write};

/// What a packing slip shows beside its parcel.
pub struct PackingSlip<'a> {
    pub shipment: &'a Shipment,
    pub vendor_name: &'a str,
    pub ship_to: Option<&'a PostalAddress>,
}

/// The bar pattern of `text` in Code 128 (set B: printable ASCII), one flag per module (dark:
/// true); `None` if it cannot be encoded.
pub fn code128_modules(text: &str) -> Option<Vec<bool>> {
    let encoded = Code128::new(format!("Ɓ{text}")).ok()?.encode();
    Some(encoded.into_iter().map(|m| m == 1).collect())
}

const COL_SKU: f32 = MARGIN;
const COL_ITEM: f32 = 190.0;
const COL_UNITS: f32 = PAGE_WIDTH - MARGIN;
const MODULE: f32 = 1.0;
const BAR_HEIGHT: f32 = 40.0;

fn address_lines(address: &PostalAddress) -> Vec<String> {
    let mut lines = vec![address.recipient.clone(), address.line1.clone()];
    lines.extend(address.line2.clone());
    let mut city = format!("{} {}", address.postal_code, address.city);
    if let Some(region) = &address.region {
        city.push_str(&format!(", {region}"));
    }
    lines.push(city);
    lines.push(address.country.clone());
    lines
}

/// The slip as a PDF.
pub fn packing_slip_pdf(slip: &PackingSlip<'_>) -> Vec<u8> {
    let shipment = slip.shipment;
    let mut page = PageText::new();
    let mut y = PAGE_HEIGHT - MARGIN - 10.0;
    page.text(BOLD, 18.0, MARGIN, y, "Packing slip");
    // The order's id as a barcode, top right, its text under the bars.
    let order = shipment.order_id.to_string();
    if let Some(modules) = code128_modules(&order) {
        let width = modules.len() as f32 * MODULE;
        let left = PAGE_WIDTH - MARGIN - width;
        let bottom = y - BAR_HEIGHT + 14.0;
        // One filled rectangle per bar (a run of dark modules).
        let mut i = 0;
        while i < modules.len() {
            let run = modules[i..].iter().take_while(|dark| **dark).count();
            if run > 0 {
                page.bar(left + i as f32 * MODULE, bottom, run as f32 * MODULE, BAR_HEIGHT);
            }
            i += run.max(1);
        }
        page.text(REGULAR, 8.0, left, bottom - 10.0, &order);
    }
    y -= 28.0;
    let mut facts = vec![
        ("From", slip.vendor_name.to_string()),
        ("Order", order.clone()),
        ("Parcel", shipment.id.to_string()),
        ("Packed", shipment.created_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        (
            "Carrier",
            format!(
                "{}{}",
                shipment.carrier,
                shipment.service.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
            ),
        ),
    ];
    if let Some(number) = &shipment.tracking_number {
        facts.push(("Tracking", number.clone()));
    }
    for (label, value) in facts {
        page.text(BOLD, 10.0, MARGIN, y, label);
        page.text(REGULAR, 10.0, MARGIN + 70.0, y, &value);
        y -= ROW;
    }
    if let Some(to) = slip.ship_to {
        y -= 6.0;
        page.text(BOLD, 10.0, MARGIN, y, "Ship to");
        for line in address_lines(to) {
            page.text(REGULAR, 10.0, MARGIN + 70.0, y, &line);
            y -= ROW;
        }
    }
    y -= 12.0;
    page.text(BOLD, 9.0, COL_SKU, y, "SKU");
    page.text(BOLD, 9.0, COL_ITEM, y, "Item");
    page.right(BOLD, 9.0, COL_UNITS, y, "Units");
    page.rule(y - 5.0);
    y -= ROW + 2.0;
    let mut units = 0;
    for line in &shipment.lines {
        page.text(REGULAR, 9.0, COL_SKU, y, &line.sku);
        page.text(REGULAR, 9.0, COL_ITEM, y, &line.title.chars().take(60).collect::<String>());
        page.right(REGULAR, 9.0, COL_UNITS, y, &line.quantity.to_string());
        units += line.quantity;
        y -= ROW;
        for batch in &line.batches {
            let lot = format!("lot {} (expires {}): {}", batch.lot, batch.expires_on, batch.quantity);
            page.text(REGULAR, 8.0, COL_ITEM + 10.0, y, &lot);
            y -= ROW;
        }
    }
    page.rule(y + ROW - 5.0);
    page.text(BOLD, 10.0, COL_ITEM, y - 4.0, "Units in this parcel");
    page.right(BOLD, 10.0, COL_UNITS, y - 4.0, &units.to_string());
    write(vec![page])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};
    use stockyard_domain::fulfilment::{PickedBatch, ShipmentLine, ShipmentStatus};
    use stockyard_domain::ids::{LocationId, OrderGroupId, OrderId, ShipmentId, VariantId, VendorId};
    use stockyard_domain::stock::Actor;

    #[test]
    fn a_slip_lists_the_parcel_its_lots_and_its_address_under_the_orders_barcode() {
        let now = Utc::now();
        let shipment = Shipment {
            id: ShipmentId::generate(),
            order_id: OrderId::generate(),
            group_id: OrderGroupId::generate(),
            vendor_id: VendorId::generate(),
            location_id: LocationId::generate(),
            lines: vec![ShipmentLine {
                variant_id: VariantId::generate(),
                sku: "MILK-1L".into(),
                title: "Lait entier".into(),
                quantity: 4,
                batches: vec![PickedBatch {
                    lot: "SOON".into(),
                    expires_on: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
                    quantity: 3,
                }],
            }],
            carrier: "La Poste".into(),
            service: None,
            tracking_number: Some("6A123".into()),
            label_reference: None,
            status: ShipmentStatus::Packed,
            tracking: Vec::new(),
            estimated_delivery: None,
            delivered_at: None,
            created_by: Actor::System { name: "test".into() },
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let to = PostalAddress {
            label: None,
            recipient: "Ada Lovelace".into(),
            line1: "12 rue de Rivoli".into(),
            line2: None,
            city: "Paris".into(),
            region: None,
            postal_code: "75001".into(),
            country: "FR".into(),
            phone: None,
        };
        let pdf = packing_slip_pdf(&PackingSlip { shipment: &shipment, vendor_name: "Ferme", ship_to: Some(&to) });
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-"));
        for wanted in ["Packing slip", "MILK-1L", "lot SOON (expires 2026-12-09): 3", "75001 Paris", "6A123"] {
            assert!(text.contains(wanted), "{wanted} missing");
        }
        assert!(text.contains(&shipment.order_id.to_string()));
        // The barcode: Code 128 starts with a start symbol (dark 2, light 1, dark 1 ...) and
        // ends with the stop pattern's final two dark modules.
        let modules = code128_modules(&shipment.order_id.to_string()).unwrap();
        assert_eq!(&modules[..4], &[true, true, false, true]);
        assert_eq!(&modules[modules.len() - 2..], &[true, true]);
        let bars = modules.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(modules[0]);
        assert_eq!(text.matches(" re\nf").count(), bars, "one rectangle per bar");
    }
}
