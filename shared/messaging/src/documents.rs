//! Documents people print or file, as PDF: a purchase order as its supplier receives it (the
//! page helpers here also write the invoices and receipts of `crate::invoices`).
//!
//! Written with `pdf-writer` in the standard Helvetica fonts (every PDF reader has them, so
//! nothing is embedded: 2.2 KB for a one-line order, 23 KB for 99 lines on three pages, content
//! streams left uncompressed). Text is encoded in WinAnsi, which
//! covers Latin-1 and the euro sign; any other character is printed as '?'.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};
use stockyard_domain::Money;
use stockyard_domain::purchasing::PurchaseOrder;

pub(crate) const PAGE_WIDTH: f32 = 595.0;
pub(crate) const PAGE_HEIGHT: f32 = 842.0;
pub(crate) const MARGIN: f32 = 50.0;
pub(crate) const ROW: f32 = 16.0;
/// Table rows on the first page (below the header block) and on the pages after it.
const FIRST_PAGE_ROWS: usize = 34;
const NEXT_PAGE_ROWS: usize = 44;

pub(crate) const REGULAR: Name<'static> = Name(b"F1");
pub(crate) const BOLD: Name<'static> = Name(b"F2");

/// Text as WinAnsi bytes: ASCII and Latin-1 as they are, the euro sign, '?' for the rest.
pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            _ => b'?',
        })
        .collect()
}

/// One page being written.
pub(crate) struct PageText {
    content: Content,
}

impl PageText {
    pub(crate) fn new() -> Self {
        Self { content: Content::new() }
    }

    pub(crate) fn text(&mut self, font: Name<'_>, size: f32, x: f32, y: f32, text: &str) {
        let bytes = win_ansi(text);
        self.content.begin_text();
        self.content.set_font(font, size);
        self.content.next_line(x, y);
        self.content.show(Str(&bytes));
        self.content.end_text();
    }

    /// Text ending at `right` (Helvetica's average width is close enough for numbers).
    pub(crate) fn right(&mut self, font: Name<'_>, size: f32, right: f32, y: f32, text: &str) {
        let width = text.chars().count() as f32 * size * 0.556;
        self.text(font, size, right - width, y, text);
    }

    /// A filled dark rectangle (a barcode's bar).
    pub(crate) fn bar(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.content.rect(x, y, width, height);
        self.content.fill_nonzero();
    }

    pub(crate) fn rule(&mut self, y: f32) {
        self.content.set_line_width(0.5);
        self.content.move_to(MARGIN, y);
        self.content.line_to(PAGE_WIDTH - MARGIN, y);
        self.content.stroke();
    }
}

fn money(amount: i64, order: &PurchaseOrder) -> String {
    Money::new(amount, order.currency).to_string()
}

/// Columns: SKU, units, packs, unit cost, line total (right edges for the numbers).
const COL_SKU: f32 = MARGIN;
const COL_UNITS: f32 = 330.0;
const COL_PACKS: f32 = 385.0;
const COL_COST: f32 = 465.0;
const COL_TOTAL: f32 = PAGE_WIDTH - MARGIN;

fn table_header(page: &mut PageText, y: f32) {
    page.text(BOLD, 9.0, COL_SKU, y, "SKU");
    page.right(BOLD, 9.0, COL_UNITS, y, "Units");
    page.right(BOLD, 9.0, COL_PACKS, y, "Packs");
    page.right(BOLD, 9.0, COL_COST, y, "Unit cost");
    page.right(BOLD, 9.0, COL_TOTAL, y, "Line total");
    page.rule(y - 5.0);
}

/// The purchase order as the PDF its supplier receives: number, buyer, supplier, delivery
/// location, dates, one row per line (SKU, units, packs, unit cost, line total) and the total.
pub fn purchase_order_pdf(order: &PurchaseOrder) -> Vec<u8> {
    let mut pages = Vec::new();
    let mut page = PageText::new();
    let mut y = PAGE_HEIGHT - MARGIN - 10.0;
    page.text(BOLD, 18.0, MARGIN, y, &format!("Purchase order {}", order.number));
    y -= 28.0;
    let buyer = order.vendor_name.as_deref().unwrap_or("");
    let date = order.sent_at.unwrap_or(order.created_at).format("%Y-%m-%d").to_string();
    let supplier = &order.supplier;
    let to = &order.deliver_to;
    let facts = [
        ("Buyer", buyer.to_string()),
        ("Supplier", format!("{} ({})", supplier.name, supplier.code)),
        ("Supplier email", supplier.email.clone()),
        ("Deliver to", format!("{} ({})", to.name, to.code)),
        ("Date", date),
        ("Currency", order.currency.to_string()),
        ("Pack size", format!("{} units", supplier.pack_size)),
    ];
    for (label, value) in facts {
        page.text(BOLD, 10.0, MARGIN, y, label);
        page.text(REGULAR, 10.0, MARGIN + 100.0, y, &value);
        y -= ROW;
    }
    if let Some(note) = &order.note {
        page.text(BOLD, 10.0, MARGIN, y, "Note");
        page.text(REGULAR, 10.0, MARGIN + 100.0, y, &note.replace('\n', " "));
        y -= ROW;
    }
    y -= 12.0;
    table_header(&mut page, y);
    y -= ROW + 2.0;
    let mut room = FIRST_PAGE_ROWS;
    for line in &order.lines {
        if room == 0 {
            pages.push(page);
            page = PageText::new();
            y = PAGE_HEIGHT - MARGIN - 10.0;
            page.text(BOLD, 10.0, MARGIN, y, &format!("Purchase order {} (continued)", order.number));
            y -= 24.0;
            table_header(&mut page, y);
            y -= ROW + 2.0;
            room = NEXT_PAGE_ROWS;
        }
        let packs = line.quantity / supplier.pack_size.max(1);
        let line_total = line.unit_cost.saturating_mul(i64::from(line.quantity));
        page.text(REGULAR, 9.0, COL_SKU, y, &line.sku);
        page.right(REGULAR, 9.0, COL_UNITS, y, &line.quantity.to_string());
        page.right(REGULAR, 9.0, COL_PACKS, y, &packs.to_string());
        page.right(REGULAR, 9.0, COL_COST, y, &money(line.unit_cost, order));
        page.right(REGULAR, 9.0, COL_TOTAL, y, &money(line_total, order));
        y -= ROW;
        room -= 1;
    }
    page.rule(y + ROW - 5.0);
    page.text(BOLD, 10.0, COL_COST - 60.0, y - 4.0, "Total");
    page.right(BOLD, 10.0, COL_TOTAL, y - 4.0, &money(order.total, order));
    page.text(
        REGULAR,
        8.0,
        MARGIN,
        MARGIN,
        &format!("Please quote {} on your delivery note and invoice.", order.number),
    );
    pages.push(page);
    write(pages)
}

pub(crate) fn write(pages: Vec<PageText>) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let ids: Vec<(Ref, Ref)> = (0..pages.len() as i32).map(|i| (Ref::new(5 + 2 * i), Ref::new(6 + 2 * i))).collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(ids.iter().map(|(page, _)| *page)).count(pages.len() as i32);
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    for (page, (page_id, content_id)) in pages.into_iter().zip(ids) {
        {
            let mut writer = pdf.page(page_id);
            writer.parent(tree).media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT)).contents(content_id);
            writer.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
        }
        let data = page.content.finish();
        pdf.stream(content_id, &data);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stockyard_domain::Currency;
    use stockyard_domain::ids::{LocationId, ProductId, PurchaseOrderId, SupplierId, VariantId, VendorId};
    use stockyard_domain::purchasing::{
        DeliverTo, OrderOrigin, OrderedFrom, PurchaseOrderLine, PurchaseOrderStatus, order_number, order_total,
    };
    use stockyard_domain::stock::Actor;

    pub(crate) fn order(lines: usize) -> PurchaseOrder {
        let eur = Currency::parse("currency", "EUR").unwrap();
        let lines: Vec<PurchaseOrderLine> = (0..lines)
            .map(|i| PurchaseOrderLine {
                sku: format!("SKU-{i:03}"),
                variant_id: VariantId::generate(),
                product_id: ProductId::generate(),
                quantity: 12 * (i as u32 + 1),
                received: 0,
                unit_cost: 85,
                perishable: false,
            })
            .collect();
        PurchaseOrder {
            id: PurchaseOrderId::generate(),
            vendor_id: VendorId::generate(),
            number: order_number(7),
            status: PurchaseOrderStatus::Sent,
            supplier: OrderedFrom {
                supplier_id: SupplierId::generate(),
                code: "ACME".into(),
                name: "Acmé Dairy".into(),
                email: "orders@acme.example".into(),
                currency: eur,
                pack_size: 12,
                minimum_order: None,
            },
            deliver_to: DeliverTo { location_id: LocationId::generate(), code: "WH-1".into(), name: "Main".into() },
            currency: eur,
            total: order_total(&lines).unwrap(),
            lines,
            note: Some("Back door (yard)".into()),
            origin: OrderOrigin::Manual,
            version: 2,
            vendor_name: Some("Corner Shop".into()),
            created_by: Actor::System { name: "test".into() },
            created_at: Utc::now(),
            updated_at: Utc::now(),
            sent_at: Some(Utc::now()),
            closed_at: None,
        }
    }

    fn text_of(pdf: &[u8]) -> (usize, String) {
        let doc = lopdf::Document::load_mem(pdf).unwrap();
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        (pages.len(), doc.extract_text(&pages).unwrap())
    }

    #[test]
    fn a_purchase_order_reads_back_with_its_number_supplier_skus_quantities_and_total() {
        let pdf = purchase_order_pdf(&order(2));
        assert!(pdf.starts_with(b"%PDF-"));
        let (pages, text) = text_of(&pdf);
        assert_eq!(pages, 1);
        for expected in [
            "PO-000007",
            "Acmé Dairy (ACME)",
            "orders@acme.example",
            "Corner Shop",
            "Main (WH-1)",
            "SKU-000",
            "SKU-001",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        assert!(text.contains("24"), "{text}");
        assert!(text.contains("30.60 EUR"), "the total 36 × 0.85: {text}");
        assert!(text.contains("Back door (yard)"), "{text}");
    }

    #[test]
    fn a_long_order_goes_on_over_several_pages() {
        let (pages, text) = text_of(&purchase_order_pdf(&order(99)));
        assert_eq!(pages, 3);
        assert!(text.contains("SKU-098") && text.contains("(continued)"));
    }

    #[test]
    fn text_outside_win_ansi_is_replaced_not_dropped() {
        assert_eq!(win_ansi("Café €5 ✓"), b"Caf\xe9 \x805 ?".to_vec());
    }
}
