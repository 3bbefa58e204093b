//! A vendor order's invoice and an order group's payment receipt as PDF, in the order's language
//! (English, French or German), with amounts written the way that language writes them.
//!
//! Same writer and fonts as the purchase orders (`crate::documents`): standard Helvetica, WinAnsi
//! text (Latin-1 and the euro sign; other characters print as '?'), nothing embedded, about 3 KB
//! for an invoice of a few lines. The bytes depend only on the record, so rendering a record again
//! (a redelivered message) writes the same file.

use stockyard_domain::billing::{Invoice, Lang, Receipt, format_date, format_money};
use stockyard_domain::returns::CreditNote;

use crate::documents::{BOLD, MARGIN, PAGE_HEIGHT, PAGE_WIDTH, PageText, REGULAR, ROW, write};

/// Table rows on the first page (below the header block) and on the pages after it.
const FIRST_PAGE_ROWS: usize = 24;
const NEXT_PAGE_ROWS: usize = 42;
/// Longest product title printed in full (the column is narrow).
const TITLE_CHARS: usize = 34;

/// The words of the documents, per language.
struct Words {
    invoice: &'static str,
    receipt: &'static str,
    continued: &'static str,
    number: &'static str,
    date: &'static str,
    order: &'static str,
    seller: &'static str,
    buyer: &'static str,
    tax_id: &'static str,
    sku: &'static str,
    item: &'static str,
    qty: &'static str,
    unit: &'static str,
    net: &'static str,
    tax: &'static str,
    total: &'static str,
    grand_total: &'static str,
    breakdown: &'static str,
    shipping_tax: &'static str,
    subtotal: &'static str,
    discount: &'static str,
    shipping: &'static str,
    paid: &'static str,
    seller_of_record: &'static str,
    vendor: &'static str,
    amount_paid: &'static str,
    credit_note: &'static str,
    corrects: &'static str,
    refunded: &'static str,
}

const EN: Words = Words {
    invoice: "Invoice",
    receipt: "Payment receipt",
    continued: "continued",
    number: "Number",
    date: "Date",
    order: "Order",
    seller: "Seller",
    buyer: "Buyer",
    tax_id: "VAT number",
    sku: "SKU",
    item: "Item",
    qty: "Qty",
    unit: "Unit price",
    net: "Net",
    tax: "Tax",
    total: "Total",
    grand_total: "Total",
    breakdown: "Tax breakdown",
    shipping_tax: "Shipping",
    subtotal: "Subtotal",
    discount: "Discount",
    shipping: "Shipping",
    paid: "Paid in full. Payment reference",
    seller_of_record: "The seller named above issues this invoice; Stockyard is the marketplace.",
    vendor: "Vendor",
    amount_paid: "Amount paid",
    credit_note: "Credit note",
    corrects: "Invoice corrected",
    refunded: "Total refunded",
};

const FR: Words = Words {
    invoice: "Facture",
    receipt: "Reçu de paiement",
    continued: "suite",
    number: "Numéro",
    date: "Date",
    order: "Commande",
    seller: "Vendeur",
    buyer: "Acheteur",
    tax_id: "N° de TVA",
    sku: "Réf.",
    item: "Article",
    qty: "Qté",
    unit: "Prix unitaire",
    net: "HT",
    tax: "TVA",
    total: "TTC",
    grand_total: "Total TTC",
    breakdown: "Détail de la TVA",
    shipping_tax: "Livraison",
    subtotal: "Sous-total",
    discount: "Remise",
    shipping: "Livraison",
    paid: "Payée intégralement. Référence du paiement",
    seller_of_record: "Le vendeur nommé ci-dessus émet cette facture ; Stockyard est la place de marché.",
    vendor: "Vendeur",
    amount_paid: "Montant payé",
    credit_note: "Avoir",
    corrects: "Facture rectifiée",
    refunded: "Total remboursé",
};

const DE: Words = Words {
    invoice: "Rechnung",
    receipt: "Zahlungsbeleg",
    continued: "Fortsetzung",
    number: "Nummer",
    date: "Datum",
    order: "Bestellung",
    seller: "Verkäufer",
    buyer: "Käufer",
    tax_id: "USt-IdNr.",
    sku: "Art.-Nr.",
    item: "Artikel",
    qty: "Menge",
    unit: "Einzelpreis",
    net: "Netto",
    tax: "USt.",
    total: "Brutto",
    grand_total: "Gesamtbetrag",
    breakdown: "Steueraufstellung",
    shipping_tax: "Versand",
    subtotal: "Zwischensumme",
    discount: "Rabatt",
    shipping: "Versand",
    paid: "Vollständig bezahlt. Zahlungsreferenz",
    seller_of_record: "Der oben genannte Verkäufer stellt diese Rechnung aus; Stockyard ist der Marktplatz.",
    vendor: "Verkäufer",
    amount_paid: "Bezahlter Betrag",
    credit_note: "Gutschrift",
    corrects: "Berichtigte Rechnung",
    refunded: "Erstattet gesamt",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

/// Columns of the invoice's table: SKU and item at their left edge, numbers at their right edge.
const COL_SKU: f32 = MARGIN;
const COL_ITEM: f32 = 130.0;
const COL_QTY: f32 = 305.0;
const COL_UNIT: f32 = 395.0;
const COL_NET: f32 = 450.0;
const COL_TAX: f32 = 500.0;
const COL_TOTAL: f32 = PAGE_WIDTH - MARGIN;

fn table_header(page: &mut PageText, w: &Words, y: f32) {
    page.text(BOLD, 9.0, COL_SKU, y, w.sku);
    page.text(BOLD, 9.0, COL_ITEM, y, w.item);
    page.right(BOLD, 9.0, COL_QTY, y, w.qty);
    page.right(BOLD, 9.0, COL_UNIT, y, w.unit);
    page.right(BOLD, 9.0, COL_NET, y, w.net);
    page.right(BOLD, 9.0, COL_TAX, y, w.tax);
    page.right(BOLD, 9.0, COL_TOTAL, y, w.total);
    page.rule(y - 5.0);
}

fn shortened(text: &str, max: usize) -> String {
    let text = text.replace('\n', " ");
    if text.chars().count() <= max { text } else { format!("{}...", text.chars().take(max - 3).collect::<String>()) }
}

/// Label-and-value rows from `y` down; returns where the next row goes.
fn facts(page: &mut PageText, x: f32, mut y: f32, rows: &[(&str, String)]) -> f32 {
    for (label, value) in rows {
        page.text(BOLD, 10.0, x, y, label);
        page.text(REGULAR, 10.0, x + 95.0, y, value);
        y -= ROW;
    }
    y
}

/// The invoice of one vendor order: number, date, order, seller (the vendor: name, address,
/// country, VAT number as its profile has them), buyer, one row per line (SKU, item, quantity,
/// unit price, net, tax, gross), the tax breakdown by rate, the totals and the payment.
pub fn invoice_pdf(invoice: &Invoice) -> Vec<u8> {
    let lang = invoice.lang;
    let w = words(lang);
    let money = |m| format_money(m, lang);
    let mut pages = Vec::new();
    let mut page = PageText::new();
    let mut y = PAGE_HEIGHT - MARGIN - 10.0;
    page.text(BOLD, 18.0, MARGIN, y, &format!("{} {}", w.invoice, invoice.number));
    y -= 28.0;
    y = facts(
        &mut page,
        MARGIN,
        y,
        &[
            (w.number, invoice.number.clone()),
            (w.date, format_date(invoice.issued_at, lang)),
            (w.order, invoice.order_id.to_string()),
        ],
    );
    y -= 8.0;
    let top = y;
    page.text(BOLD, 10.0, MARGIN, y, w.seller);
    page.text(BOLD, 10.0, 320.0, y, w.buyer);
    y -= ROW;
    let seller = &invoice.seller;
    let mut left: Vec<String> = vec![seller.name.clone()];
    left.extend(seller.address.iter().cloned());
    left.extend(seller.country.iter().cloned());
    if let Some(tax_id) = &seller.tax_id {
        left.push(format!("{} {tax_id}", w.tax_id));
    }
    let right: Vec<String> = invoice.buyer.name.iter().cloned().chain([invoice.buyer.email.clone()]).collect();
    for (i, text) in left.iter().enumerate() {
        page.text(REGULAR, 10.0, MARGIN, y - ROW * i as f32, text);
    }
    for (i, text) in right.iter().enumerate() {
        page.text(REGULAR, 10.0, 320.0, y - ROW * i as f32, text);
    }
    y = top - ROW * (1 + left.len().max(right.len())) as f32 - 14.0;
    table_header(&mut page, w, y);
    y -= ROW + 2.0;
    let mut room = FIRST_PAGE_ROWS;
    for line in &invoice.lines {
        if room == 0 {
            pages.push(page);
            page = PageText::new();
            y = PAGE_HEIGHT - MARGIN - 10.0;
            page.text(BOLD, 10.0, MARGIN, y, &format!("{} {} ({})", w.invoice, invoice.number, w.continued));
            y -= 24.0;
            table_header(&mut page, w, y);
            y -= ROW + 2.0;
            room = NEXT_PAGE_ROWS;
        }
        page.text(REGULAR, 9.0, COL_SKU, y, &shortened(&line.sku, 14));
        page.text(REGULAR, 9.0, COL_ITEM, y, &shortened(&line.title, TITLE_CHARS));
        page.right(REGULAR, 9.0, COL_QTY, y, &line.quantity.to_string());
        page.right(REGULAR, 9.0, COL_UNIT, y, &money(line.unit_price));
        page.right(REGULAR, 9.0, COL_NET, y, &money(line.net));
        page.right(REGULAR, 9.0, COL_TAX, y, &money(line.tax));
        page.right(REGULAR, 9.0, COL_TOTAL, y, &money(line.gross));
        y -= ROW;
        room -= 1;
    }
    page.rule(y + ROW - 5.0);
    // The breakdown and the totals need about 14 rows: a new page when they would not fit.
    if y < MARGIN + ROW * 14.0 {
        pages.push(page);
        page = PageText::new();
        y = PAGE_HEIGHT - MARGIN - 10.0;
        page.text(BOLD, 10.0, MARGIN, y, &format!("{} {} ({})", w.invoice, invoice.number, w.continued));
        y -= 24.0;
    } else {
        y -= 10.0;
    }
    page.text(BOLD, 10.0, MARGIN, y, w.breakdown);
    page.right(BOLD, 9.0, COL_NET, y, w.net);
    page.right(BOLD, 9.0, COL_TAX, y, w.tax);
    y -= ROW;
    for row in &invoice.tax_breakdown {
        let label = match &row.rate {
            Some(rate) => format!("{} {rate} %", w.tax),
            None => format!("{} ({})", w.tax, w.shipping_tax),
        };
        page.text(REGULAR, 9.0, MARGIN, y, &label);
        page.right(REGULAR, 9.0, COL_NET, y, &money(row.net));
        page.right(REGULAR, 9.0, COL_TAX, y, &money(row.tax));
        y -= ROW;
    }
    y -= 8.0;
    let t = &invoice.totals;
    let mut sums = vec![(w.subtotal, t.subtotal)];
    if t.discount.amount != 0 {
        sums.push((w.discount, t.discount));
    }
    sums.push((w.shipping, t.shipping));
    sums.push((w.tax, t.tax));
    for (label, amount) in sums {
        page.text(REGULAR, 10.0, COL_UNIT - 60.0, y, label);
        page.right(REGULAR, 10.0, COL_TOTAL, y, &money(amount));
        y -= ROW;
    }
    page.text(BOLD, 11.0, COL_UNIT - 60.0, y, w.grand_total);
    page.right(BOLD, 11.0, COL_TOTAL, y, &money(t.total));
    y -= ROW * 2.0;
    if let Some(reference) = &invoice.payment_reference {
        page.text(REGULAR, 9.0, MARGIN, y, &format!("{}: {reference}", w.paid));
    }
    page.text(REGULAR, 8.0, MARGIN, MARGIN, w.seller_of_record);
    pages.push(page);
    write(pages)
}

/// The credit note of a refund: its number, date, the order and the invoice it corrects, seller
/// and buyer as the invoice names them, one row per refunded line (SKU, item, quantity, net, tax,
/// gross), the shipping when refunded, and the total refunded. One page: a refund has at most 20
/// lines.
pub fn credit_note_pdf(note: &CreditNote) -> Vec<u8> {
    let lang = note.lang;
    let w = words(lang);
    let money = |m| format_money(m, lang);
    let mut page = PageText::new();
    let mut y = PAGE_HEIGHT - MARGIN - 10.0;
    page.text(BOLD, 18.0, MARGIN, y, &format!("{} {}", w.credit_note, note.number));
    y -= 28.0;
    y = facts(
        &mut page,
        MARGIN,
        y,
        &[
            (w.number, note.number.clone()),
            (w.date, format_date(note.issued_at, lang)),
            (w.order, note.order_id.to_string()),
            (w.corrects, note.invoice_number.clone()),
        ],
    );
    y -= 8.0;
    page.text(BOLD, 10.0, MARGIN, y, w.seller);
    page.text(BOLD, 10.0, 320.0, y, w.buyer);
    y -= ROW;
    let mut left: Vec<String> = vec![note.seller.name.clone()];
    left.extend(note.seller.address.iter().cloned());
    left.extend(note.seller.country.iter().cloned());
    if let Some(tax_id) = &note.seller.tax_id {
        left.push(format!("{} {tax_id}", w.tax_id));
    }
    let right: Vec<String> = note.buyer.name.iter().cloned().chain([note.buyer.email.clone()]).collect();
    for (i, text) in left.iter().enumerate() {
        page.text(REGULAR, 10.0, MARGIN, y - ROW * i as f32, text);
    }
    for (i, text) in right.iter().enumerate() {
        page.text(REGULAR, 10.0, 320.0, y - ROW * i as f32, text);
    }
    y -= ROW * left.len().max(right.len()) as f32 + 14.0;
    table_header(&mut page, w, y);
    y -= ROW + 2.0;
    for line in note.lines.iter().take(FIRST_PAGE_ROWS) {
        let net = line.amount.checked_sub(line.tax).unwrap_or(line.amount);
        page.text(REGULAR, 9.0, COL_SKU, y, &shortened(&line.sku, 14));
        page.text(REGULAR, 9.0, COL_ITEM, y, &shortened(&line.title, TITLE_CHARS));
        page.right(REGULAR, 9.0, COL_QTY, y, &line.quantity.to_string());
        page.right(REGULAR, 9.0, COL_NET, y, &money(net));
        page.right(REGULAR, 9.0, COL_TAX, y, &money(line.tax));
        page.right(REGULAR, 9.0, COL_TOTAL, y, &money(line.amount));
        y -= ROW;
    }
    if note.shipping.amount != 0 {
        page.text(REGULAR, 9.0, COL_ITEM, y, w.shipping);
        page.right(REGULAR, 9.0, COL_TOTAL, y, &money(note.shipping));
        y -= ROW;
    }
    page.rule(y + ROW - 5.0);
    y -= 10.0;
    page.text(REGULAR, 10.0, COL_UNIT - 60.0, y, w.tax);
    page.right(REGULAR, 10.0, COL_TOTAL, y, &money(note.tax));
    y -= ROW;
    page.text(BOLD, 11.0, COL_UNIT - 60.0, y, w.refunded);
    page.right(BOLD, 11.0, COL_TOTAL, y, &money(note.total));
    page.text(REGULAR, 8.0, MARGIN, MARGIN, w.seller_of_record);
    write(vec![page])
}

/// The payment receipt of an order group: its number, date, buyer, one row per vendor order
/// (vendor, order, invoice number, amount) and the amount paid.
pub fn receipt_pdf(receipt: &Receipt) -> Vec<u8> {
    let lang = receipt.lang;
    let w = words(lang);
    let money = |m| format_money(m, lang);
    let mut pages = Vec::new();
    let mut page = PageText::new();
    let mut y = PAGE_HEIGHT - MARGIN - 10.0;
    page.text(BOLD, 18.0, MARGIN, y, w.receipt);
    y -= 28.0;
    let mut rows = vec![
        (w.number, receipt.number.clone()),
        (w.date, format_date(receipt.issued_at, lang)),
        (w.buyer, receipt.buyer.email.clone()),
    ];
    if let Some(reference) = &receipt.payment_reference {
        rows.push((w.paid, reference.clone()));
    }
    y = facts(&mut page, MARGIN, y, &rows) - 14.0;
    let header = |page: &mut PageText, y: f32| {
        page.text(BOLD, 9.0, MARGIN, y, w.vendor);
        page.text(BOLD, 9.0, 220.0, y, w.order);
        page.text(BOLD, 9.0, 390.0, y, w.invoice);
        page.right(BOLD, 9.0, COL_TOTAL, y, w.total);
        page.rule(y - 5.0);
    };
    header(&mut page, y);
    y -= ROW + 2.0;
    let mut room = FIRST_PAGE_ROWS + 6;
    for part in &receipt.parts {
        if room == 0 {
            pages.push(page);
            page = PageText::new();
            y = PAGE_HEIGHT - MARGIN - 10.0;
            page.text(BOLD, 10.0, MARGIN, y, &format!("{} ({})", w.receipt, w.continued));
            y -= 24.0;
            header(&mut page, y);
            y -= ROW + 2.0;
            room = NEXT_PAGE_ROWS;
        }
        page.text(REGULAR, 9.0, MARGIN, y, &shortened(&part.vendor_name, 30));
        page.text(REGULAR, 9.0, 220.0, y, &part.order_id.to_string());
        page.text(REGULAR, 9.0, 390.0, y, &part.invoice_number);
        page.right(REGULAR, 9.0, COL_TOTAL, y, &money(part.total));
        y -= ROW;
        room -= 1;
    }
    page.rule(y + ROW - 5.0);
    page.text(BOLD, 11.0, COL_UNIT - 60.0, y - 6.0, w.amount_paid);
    page.right(BOLD, 11.0, COL_TOTAL, y - 6.0, &money(receipt.total));
    pages.push(page);
    write(pages)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use stockyard_domain::billing::{Buyer, InvoiceLine, InvoiceTotals, ReceiptPart, Seller, TaxRow};
    use stockyard_domain::ids::{OrderGroupId, OrderId, VendorId};
    use stockyard_domain::{Currency, Money};

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "EUR").unwrap())
    }

    pub(crate) fn invoice(lang: Lang, lines: usize) -> Invoice {
        let line = |i: usize| InvoiceLine {
            sku: format!("SKU-{i:03}"),
            title: format!("Wool jumper number {i}"),
            quantity: 2,
            unit_price: eur(12_000),
            discount: eur(0),
            net: eur(20_000),
            tax: eur(4_000),
            gross: eur(24_000),
            tax_rate: Some(rust_decimal::Decimal::from(20)),
        };
        let total = eur(24_000 * lines as i64 + 600);
        Invoice {
            group_id: OrderGroupId::generate(),
            order_id: OrderId::generate(),
            vendor_id: VendorId::generate(),
            sequence: 7,
            number: "INV-000007".into(),
            issued_at: DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().with_timezone(&Utc),
            currency: eur(0).currency,
            lang,
            seller: Seller {
                vendor_id: VendorId::generate(),
                name: "Maison Lainière".into(),
                country: Some("FR".into()),
                address: vec!["3 rue des Tisserands".into(), "69001 Lyon".into()],
                tax_id: Some("FR12345678901".into()),
            },
            buyer: Buyer { name: Some("Ada Lovelace".into()), email: "ada@example.com".into() },
            lines: (0..lines).map(line).collect(),
            tax_breakdown: vec![
                TaxRow {
                    rate: Some(rust_decimal::Decimal::from(20)),
                    net: eur(20_000 * lines as i64),
                    tax: eur(4_000 * lines as i64),
                },
                TaxRow { rate: None, net: eur(500), tax: eur(100) },
            ],
            totals: InvoiceTotals {
                subtotal: eur(24_000 * lines as i64),
                discount: eur(0),
                shipping: eur(600),
                tax: eur(4_000 * lines as i64 + 100),
                total,
            },
            payment_reference: Some("pi_3Nx".into()),
        }
    }

    fn text_of(pdf: &[u8]) -> (usize, String) {
        let doc = lopdf::Document::load_mem(pdf).unwrap();
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        (pages.len(), doc.extract_text(&pages).unwrap().replace('\u{a0}', " "))
    }

    #[test]
    fn an_invoice_reads_back_with_its_number_the_vendor_as_seller_its_lines_taxes_and_totals() {
        let pdf = invoice_pdf(&invoice(Lang::En, 2));
        assert!(pdf.starts_with(b"%PDF-"));
        let (pages, text) = text_of(&pdf);
        assert_eq!(pages, 1);
        for expected in [
            "Invoice INV-000007",
            "Seller",
            "Maison Lainière",
            "3 rue des Tisserands",
            "VAT number FR12345678901",
            "Buyer",
            "Ada Lovelace",
            "ada@example.com",
            "SKU-001",
            "Wool jumper number 1",
            "€120.00",
            "Tax 20 %",
            "€400.00",
            "€80.00",
            "€6.00",
            "€486.00",
            "pi_3Nx",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
    }

    pub(crate) fn credit_note(lang: Lang) -> CreditNote {
        let invoice = invoice(lang, 1);
        let line = stockyard_domain::returns::RefundLine {
            variant_id: stockyard_domain::ids::VariantId::generate(),
            sku: "SKU-000".into(),
            title: "Wool jumper number 0".into(),
            quantity: 1,
            amount: eur(12_000),
            tax: eur(2_000),
        };
        CreditNote {
            group_id: invoice.group_id,
            order_id: invoice.order_id,
            vendor_id: invoice.vendor_id,
            refund_id: stockyard_domain::ids::RefundId::generate(),
            sequence: 8,
            number: "CN-000008".into(),
            invoice_number: invoice.number.clone(),
            issued_at: invoice.issued_at,
            currency: invoice.currency,
            lang,
            seller: invoice.seller.clone(),
            buyer: invoice.buyer.clone(),
            lines: vec![line],
            shipping: eur(600),
            tax: eur(2_000),
            total: eur(12_600),
        }
    }

    #[test]
    fn a_credit_note_names_the_invoice_it_corrects_and_the_total_refunded_in_the_orders_language() {
        let note = credit_note(Lang::Fr);
        let pdf = credit_note_pdf(&note);
        assert_eq!(pdf, credit_note_pdf(&note), "the same bytes again");
        let (pages, text) = text_of(&pdf);
        assert_eq!(pages, 1);
        for expected in [
            "Avoir CN-000008",
            "Facture rectifiée",
            "INV-000007",
            "Maison Lainière",
            "SKU-000",
            "Livraison",
            "126,00 €",
            "Total remboursé",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
    }

    #[test]
    fn an_invoice_is_written_in_the_orders_language_with_its_money_formatting() {
        let (_, fr) = text_of(&invoice_pdf(&invoice(Lang::Fr, 1)));
        for expected in
            ["Facture INV-000007", "Vendeur", "N° de TVA FR12345678901", "TVA 20 %", "246,00 €", "01/12/2026"]
        {
            assert!(fr.contains(expected), "{expected} not in {fr}");
        }
        let (_, de) = text_of(&invoice_pdf(&invoice(Lang::De, 1)));
        for expected in ["Rechnung INV-000007", "Verkäufer", "USt-IdNr. FR12345678901", "246,00 €", "01.12.2026"] {
            assert!(de.contains(expected), "{expected} not in {de}");
        }
    }

    #[test]
    fn a_long_invoice_goes_on_over_several_pages_and_renders_the_same_bytes_again() {
        let long = invoice(Lang::En, 80);
        let pdf = invoice_pdf(&long);
        let (pages, text) = text_of(&pdf);
        assert_eq!(pages, 3);
        assert!(text.contains("SKU-079") && text.contains("(continued)") && text.contains("€19,206.00"));
        assert_eq!(pdf, invoice_pdf(&long), "the same record renders the same file");
    }

    #[test]
    fn a_receipt_lists_each_vendor_order_with_its_invoice_and_the_amount_paid() {
        let receipt = Receipt {
            group_id: OrderGroupId::generate(),
            number: "R-01JDB0000000000000000000G1".into(),
            issued_at: Utc::now(),
            lang: Lang::De,
            buyer: Buyer { name: None, email: "ada@example.com".into() },
            parts: vec![
                ReceiptPart {
                    vendor_id: VendorId::generate(),
                    vendor_name: "Maison Lainière".into(),
                    order_id: OrderId::generate(),
                    invoice_number: "INV-000007".into(),
                    total: eur(24_600),
                },
                ReceiptPart {
                    vendor_id: VendorId::generate(),
                    vendor_name: "Corner Shop".into(),
                    order_id: OrderId::generate(),
                    invoice_number: "INV-000001".into(),
                    total: eur(1_000),
                },
            ],
            total: eur(25_600),
            payment_reference: Some("pi_3Nx".into()),
        };
        let (_, text) = text_of(&receipt_pdf(&receipt));
        for expected in [
            "Zahlungsbeleg",
            "R-01JDB0000000000000000000G1",
            "Maison Lainière",
            "INV-000007",
            "Corner Shop",
            "256,00 €",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
    }
}
