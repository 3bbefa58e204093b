//! The emails of an order group's life, as text and HTML, in English, French or German (the
//! group's locale for the customer, the vendor's default locale for the vendor; any other language
//! reads English), with amounts written the way that language writes them:
//! - the customer's order confirmation once the group is paid, with each vendor's invoice and the
//!   payment receipt attached as PDFs, and for a guest the signed link to the order;
//! - each vendor's new-order email;
//! - a vendor's notice of a dispute (chargeback) naming the order and the amount held;
//! - the customer's notice that an unpaid order expired or was cancelled and its items released;
//! - the customer's notices that a parcel left (with its carrier and tracking number) and arrived.
//!
//! Each email's id derives from the group, the event and the recipient ([`EmailId::derived`]), so
//! every delivery of one event names the same email and the mailer sends it once.

use chrono::{DateTime, Utc};
use stockyard_domain::Money;
use stockyard_domain::billing::{Lang, format_date, format_money};
use stockyard_domain::fulfilment::Shipment;
use stockyard_domain::ids::{EmailId, OrderGroupId, OrderId};
use stockyard_domain::order::{OrderGroup, VendorOrder};

use crate::EmailMessage;
use crate::email::Attachment;

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One vendor's part of a group as the customer's confirmation lists it.
pub struct Part<'a> {
    pub vendor_name: &'a str,
    pub order: &'a VendorOrder,
    /// Its invoice's number, once issued.
    pub invoice_number: Option<&'a str>,
}

/// What the customer's order confirmation says.
pub struct Confirmation<'a> {
    pub group: &'a OrderGroup,
    pub customer_name: Option<&'a str>,
    pub parts: Vec<Part<'a>>,
    /// For a guest: the signed link to the order (`<AppUrl>/orders/<id>?token=..`) and until when
    /// it works.
    pub guest_link: Option<(&'a str, DateTime<Utc>)>,
    /// The invoices and the receipt, as PDFs.
    pub attachments: Vec<Attachment>,
}

struct Texts {
    hello: &'static str,
    hello_named: &'static str,
    thanks_subject: &'static str,
    thanks: &'static str,
    order_from: &'static str,
    invoice: &'static str,
    total_paid: &'static str,
    attached: &'static str,
    guest_link: &'static str,
    link_until: &'static str,
    signature: &'static str,
    new_order_subject: &'static str,
    new_order: &'static str,
    ship_by: &'static str,
    order_total: &'static str,
    customer: &'static str,
    dispute_subject: &'static str,
    dispute: &'static str,
    held: &'static str,
    reason: &'static str,
    dispute_next: &'static str,
    released_subject: &'static str,
    expired: &'static str,
    cancelled: &'static str,
    released_next: &'static str,
}

const EN: Texts = Texts {
    hello: "Hello,",
    hello_named: "Hello {name},",
    thanks_subject: "Your order {order} is confirmed",
    thanks: "Thank you for your order. We received your payment, and your order {order} is confirmed.",
    order_from: "From {vendor} (order {order}):",
    invoice: "Invoice",
    total_paid: "Total paid",
    attached: "Your invoices (one per seller) and the payment receipt are attached as PDF files.",
    guest_link: "Follow your order here:",
    link_until: "The link works until {date}.",
    signature: "The Stockyard team",
    new_order_subject: "New order {order}",
    new_order: "You have a new paid order, {order}. Please prepare it for shipping.",
    ship_by: "Ship by",
    order_total: "Order total",
    customer: "Customer",
    dispute_subject: "Chargeback on order {order}",
    dispute: "The customer's bank has disputed the payment of order {order} (a chargeback).",
    held: "Amount held until the dispute is decided",
    reason: "Reason given",
    dispute_next: "Keep the proof of delivery and your correspondence with the customer: they are your evidence.",
    released_subject: "Your order {order} was not completed",
    expired: "Your order {order} was not paid in time, so it expired.",
    cancelled: "Your order {order} was cancelled.",
    released_next: "The items we were holding for you have been released, and you have not been charged. You are welcome to order again.",
};

const FR: Texts = Texts {
    hello: "Bonjour,",
    hello_named: "Bonjour {name},",
    thanks_subject: "Votre commande {order} est confirmée",
    thanks: "Merci pour votre commande. Nous avons bien reçu votre paiement et votre commande {order} est confirmée.",
    order_from: "Chez {vendor} (commande {order}) :",
    invoice: "Facture",
    total_paid: "Total payé",
    attached: "Vos factures (une par vendeur) et le reçu de paiement sont joints en PDF.",
    guest_link: "Suivez votre commande ici :",
    link_until: "Le lien est valable jusqu'au {date}.",
    signature: "L'équipe Stockyard",
    new_order_subject: "Nouvelle commande {order}",
    new_order: "Vous avez une nouvelle commande payée, {order}. Merci de la préparer pour l'expédition.",
    ship_by: "À expédier avant le",
    order_total: "Total de la commande",
    customer: "Client",
    dispute_subject: "Contestation de paiement sur la commande {order}",
    dispute: "La banque du client conteste le paiement de la commande {order} (rétrofacturation).",
    held: "Montant retenu jusqu'à la décision",
    reason: "Motif indiqué",
    dispute_next: "Conservez la preuve de livraison et vos échanges avec le client : ce sont vos justificatifs.",
    released_subject: "Votre commande {order} n'a pas abouti",
    expired: "Votre commande {order} n'a pas été payée à temps et a expiré.",
    cancelled: "Votre commande {order} a été annulée.",
    released_next: "Les articles réservés pour vous ont été remis en vente et vous n'avez pas été débité. N'hésitez pas à commander de nouveau.",
};

const DE: Texts = Texts {
    hello: "Hallo,",
    hello_named: "Hallo {name},",
    thanks_subject: "Ihre Bestellung {order} ist bestätigt",
    thanks: "Vielen Dank für Ihre Bestellung. Ihre Zahlung ist eingegangen, und Ihre Bestellung {order} ist bestätigt.",
    order_from: "Von {vendor} (Bestellung {order}):",
    invoice: "Rechnung",
    total_paid: "Bezahlt insgesamt",
    attached: "Ihre Rechnungen (eine je Verkäufer) und der Zahlungsbeleg liegen als PDF bei.",
    guest_link: "Ihre Bestellung verfolgen Sie hier:",
    link_until: "Der Link gilt bis zum {date}.",
    signature: "Ihr Stockyard-Team",
    new_order_subject: "Neue Bestellung {order}",
    new_order: "Sie haben eine neue bezahlte Bestellung, {order}. Bitte bereiten Sie den Versand vor.",
    ship_by: "Versand bis",
    order_total: "Bestellsumme",
    customer: "Kunde",
    dispute_subject: "Rückbuchung zur Bestellung {order}",
    dispute: "Die Bank des Kunden hat die Zahlung der Bestellung {order} angefochten (Rückbuchung).",
    held: "Bis zur Entscheidung einbehaltener Betrag",
    reason: "Angegebener Grund",
    dispute_next: "Bewahren Sie den Zustellnachweis und Ihre Korrespondenz mit dem Kunden auf: Sie sind Ihre Belege.",
    released_subject: "Ihre Bestellung {order} wurde nicht abgeschlossen",
    expired: "Ihre Bestellung {order} wurde nicht rechtzeitig bezahlt und ist verfallen.",
    cancelled: "Ihre Bestellung {order} wurde storniert.",
    released_next: "Die für Sie reservierten Artikel wurden freigegeben, und Ihnen wurde nichts berechnet. Sie können gern erneut bestellen.",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
        Lang::De => &DE,
    }
}

/// `template` with each `{name}` of `values` filled in.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// An email as text and as HTML: paragraphs (a paragraph's lines kept), the HTML escaped.
struct Body {
    text: String,
    html: String,
}

impl Body {
    fn new() -> Self {
        Self { text: String::new(), html: String::new() }
    }

    fn para(&mut self, text: &str) {
        self.text.push_str(text);
        self.text.push_str("\n\n");
        self.html.push_str(&format!("<p>{}</p>\n", escape(text).replace('\n', "<br>")));
    }

    fn link(&mut self, label: &str, url: &str) {
        self.text.push_str(&format!("{label}\n{url}\n\n"));
        self.html.push_str(&format!("<p>{}<br><a href=\"{}\">{}</a></p>\n", escape(label), escape(url), escape(url)));
    }

    /// A table of rows: the first cell left, the others right-aligned; a bold last row when asked.
    fn table(&mut self, rows: &[Vec<String>], total: Option<(&str, String)>) {
        for row in rows {
            self.text.push_str(&format!("  {}\n", row.join("  ")));
        }
        if let Some((label, amount)) = &total {
            self.text.push_str(&format!("  {label}: {amount}\n"));
        }
        self.text.push('\n');
        self.html.push_str("<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n");
        for row in rows {
            self.html.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let align = if i == 0 { "left" } else { "right" };
                self.html.push_str(&format!("<td style=\"text-align:{align}\">{}</td>", escape(cell)));
            }
            self.html.push_str("</tr>\n");
        }
        if let Some((label, amount)) = total {
            let span = rows.first().map_or(1, |r| r.len().max(2) - 1);
            self.html.push_str(&format!(
                "<tr><th colspan=\"{span}\" style=\"text-align:left\">{}</th><th style=\"text-align:right\">{}</th></tr>\n",
                escape(label),
                escape(&amount)
            ));
        }
        self.html.push_str("</table>\n");
    }

    fn finish(self, lang: Lang) -> (String, String) {
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"></head>\n<body style=\"font-family:sans-serif\">\n{}</body></html>\n",
            lang.code(),
            self.html
        );
        (self.text, html)
    }
}

fn greeting(t: &Texts, name: Option<&str>) -> String {
    match name {
        Some(name) if !name.trim().is_empty() => fill(t.hello_named, &[("name", name)]),
        _ => t.hello.to_string(),
    }
}

/// The rows of an order's lines: quantity × title (SKU), amount.
fn line_rows(order: &VendorOrder, lang: Lang) -> Vec<Vec<String>> {
    order
        .lines
        .iter()
        .map(|l| vec![format!("{} × {} ({})", l.quantity, l.title, l.sku), format_money(l.total, lang)])
        .collect()
}

/// The order's short name in emails: its group's id (what the customer's account lists).
fn short(group: OrderGroupId) -> String {
    group.to_string()
}

/// The customer's order confirmation, sent once the group is paid.
pub fn confirmation(c: &Confirmation<'_>) -> EmailMessage {
    let group = c.group;
    let lang = Lang::of(&group.locale);
    let t = texts(lang);
    let order = short(group.id);
    let mut body = Body::new();
    body.para(&greeting(t, c.customer_name));
    body.para(&fill(t.thanks, &[("order", &order)]));
    for part in &c.parts {
        let mut heading = fill(t.order_from, &[("vendor", part.vendor_name), ("order", &part.order.id.to_string())]);
        if let Some(number) = part.invoice_number {
            heading.push_str(&format!("\n{}: {number}", t.invoice));
        }
        body.para(&heading);
        body.table(&line_rows(part.order, lang), None);
    }
    body.table(&[], Some((t.total_paid, format_money(group.total, lang))));
    if !c.attachments.is_empty() {
        body.para(t.attached);
    }
    if let Some((link, until)) = c.guest_link {
        body.link(t.guest_link, link);
        body.para(&fill(t.link_until, &[("date", &format_date(until, lang))]));
    }
    body.para(t.signature);
    let (text, html) = body.finish(lang);
    EmailMessage {
        email_id: EmailId::derived(&[&group.id.to_string(), "order_paid", "customer"]),
        to: vec![group.email.clone()],
        subject: fill(t.thanks_subject, &[("order", &order)]),
        text,
        html: Some(html),
        attachments: c.attachments.clone(),
    }
}

/// A vendor's new-order email for its part of a paid group, in `lang` (the vendor's).
pub fn vendor_new_order(group: &OrderGroup, order: &VendorOrder, to: &str, lang: Lang) -> EmailMessage {
    let t = texts(lang);
    let id = order.id.to_string();
    let mut body = Body::new();
    body.para(t.hello);
    body.para(&fill(t.new_order, &[("order", &id)]));
    let mut facts = vec![format!("{}: {}", t.customer, group.email)];
    if let Some(by) = order.promised_ship_by {
        facts.push(format!("{}: {}", t.ship_by, by.format("%Y-%m-%d")));
    }
    body.para(&facts.join("\n"));
    body.table(&line_rows(order, lang), Some((t.order_total, format_money(order.totals.total, lang))));
    body.para(t.signature);
    let (text, html) = body.finish(lang);
    EmailMessage {
        email_id: EmailId::derived(&[&group.id.to_string(), "order_paid", "vendor", &order.vendor_id.to_string()]),
        to: vec![to.to_string()],
        subject: fill(t.new_order_subject, &[("order", &id)]),
        text,
        html: Some(html),
        attachments: Vec::new(),
    }
}

/// What a vendor is told of a dispute.
pub struct DisputeNotice<'a> {
    pub group_id: OrderGroupId,
    pub order_id: OrderId,
    pub dispute_id: &'a str,
    pub held: Money,
    pub reason: &'a str,
}

/// A vendor's notice that the payment of its order is disputed and the amount held, in `lang`.
pub fn vendor_dispute(notice: &DisputeNotice<'_>, vendor: &str, to: &str, lang: Lang) -> EmailMessage {
    let t = texts(lang);
    let id = notice.order_id.to_string();
    let mut body = Body::new();
    body.para(t.hello);
    body.para(&fill(t.dispute, &[("order", &id)]));
    body.table(
        &[vec![t.held.to_string(), format_money(notice.held, lang)], vec![t.reason.to_string(), notice.reason.into()]],
        None,
    );
    body.para(t.dispute_next);
    body.para(t.signature);
    let (text, html) = body.finish(lang);
    EmailMessage {
        email_id: EmailId::derived(&[&notice.group_id.to_string(), "order_disputed", notice.dispute_id, vendor]),
        to: vec![to.to_string()],
        subject: fill(t.dispute_subject, &[("order", &id)]),
        text,
        html: Some(html),
        attachments: Vec::new(),
    }
}

/// The customer's notice that an unpaid group expired (`expired`) or was cancelled, and its held
/// items released.
pub fn released(group: &OrderGroup, expired: bool, customer_name: Option<&str>) -> EmailMessage {
    let lang = Lang::of(&group.locale);
    let t = texts(lang);
    let order = short(group.id);
    let event = if expired { "order_expired" } else { "order_cancelled" };
    let mut body = Body::new();
    body.para(&greeting(t, customer_name));
    body.para(&fill(if expired { t.expired } else { t.cancelled }, &[("order", &order)]));
    body.para(t.released_next);
    body.para(t.signature);
    let (text, html) = body.finish(lang);
    EmailMessage {
        email_id: EmailId::derived(&[&group.id.to_string(), event, "customer"]),
        to: vec![group.email.clone()],
        subject: fill(t.released_subject, &[("order", &order)]),
        text,
        html: Some(html),
        attachments: Vec::new(),
    }
}

struct ParcelTexts {
    shipped_subject: &'static str,
    shipped: &'static str,
    delivered_subject: &'static str,
    delivered: &'static str,
    carrier: &'static str,
    tracking: &'static str,
    expected: &'static str,
    rest_follows: &'static str,
}

const PARCEL_EN: ParcelTexts = ParcelTexts {
    shipped_subject: "Your parcel from {vendor} is on its way",
    shipped: "Good news: {vendor} has shipped a parcel of your order {order}.",
    delivered_subject: "Your parcel from {vendor} has arrived",
    delivered: "Your parcel from {vendor} (order {order}) was delivered on {date}.",
    carrier: "Carrier",
    tracking: "Tracking number",
    expected: "Expected delivery",
    rest_follows: "The rest of your order will follow in another parcel.",
};

const PARCEL_FR: ParcelTexts = ParcelTexts {
    shipped_subject: "Votre colis de {vendor} est en route",
    shipped: "Bonne nouvelle : {vendor} a expédié un colis de votre commande {order}.",
    delivered_subject: "Votre colis de {vendor} est arrivé",
    delivered: "Votre colis de {vendor} (commande {order}) a été livré le {date}.",
    carrier: "Transporteur",
    tracking: "Numéro de suivi",
    expected: "Livraison prévue",
    rest_follows: "Le reste de votre commande suivra dans un autre colis.",
};

const PARCEL_DE: ParcelTexts = ParcelTexts {
    shipped_subject: "Ihr Paket von {vendor} ist unterwegs",
    shipped: "Gute Nachricht: {vendor} hat ein Paket Ihrer Bestellung {order} versandt.",
    delivered_subject: "Ihr Paket von {vendor} ist angekommen",
    delivered: "Ihr Paket von {vendor} (Bestellung {order}) wurde am {date} zugestellt.",
    carrier: "Versanddienst",
    tracking: "Sendungsnummer",
    expected: "Voraussichtliche Zustellung",
    rest_follows: "Der Rest Ihrer Bestellung folgt in einem weiteren Paket.",
};

fn parcel_texts(lang: Lang) -> &'static ParcelTexts {
    match lang {
        Lang::En => &PARCEL_EN,
        Lang::Fr => &PARCEL_FR,
        Lang::De => &PARCEL_DE,
    }
}

/// What a parcel email is about.
pub struct ParcelNotice<'a> {
    pub group: &'a OrderGroup,
    pub shipment: &'a Shipment,
    pub vendor_name: &'a str,
    pub customer_name: Option<&'a str>,
    /// Whether the order has units still to ship after this parcel.
    pub more_to_come: bool,
}

/// The customer's notice that a parcel left the vendor (`delivered` false: with its carrier,
/// tracking number and expected delivery) or that its carrier delivered it, in the group's
/// language.
pub fn parcel(notice: &ParcelNotice<'_>, delivered: bool) -> EmailMessage {
    let (group, shipment) = (notice.group, notice.shipment);
    let lang = Lang::of(&group.locale);
    let (t, p) = (texts(lang), parcel_texts(lang));
    let order = short(group.id);
    let vendor = notice.vendor_name;
    let mut body = Body::new();
    body.para(&greeting(t, notice.customer_name));
    let event = if delivered {
        let day = shipment.delivered_at.unwrap_or(shipment.updated_at);
        body.para(&fill(p.delivered, &[("vendor", vendor), ("order", &order), ("date", &format_date(day, lang))]));
        "parcel_delivered"
    } else {
        body.para(&fill(p.shipped, &[("vendor", vendor), ("order", &order)]));
        "parcel_shipped"
    };
    let rows: Vec<Vec<String>> =
        shipment.lines.iter().map(|l| vec![format!("{} × {} ({})", l.quantity, l.title, l.sku)]).collect();
    body.table(&rows, None);
    if !delivered {
        let mut how = vec![format!(
            "{}: {}{}",
            p.carrier,
            shipment.carrier,
            shipment.service.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
        )];
        if let Some(number) = &shipment.tracking_number {
            how.push(format!("{}: {number}", p.tracking));
        }
        if let Some(day) = shipment.estimated_delivery {
            how.push(format!("{}: {}", p.expected, format_date(day.and_time(chrono::NaiveTime::MIN).and_utc(), lang)));
        }
        body.para(&how.join("\n"));
        if notice.more_to_come {
            body.para(p.rest_follows);
        }
    } else if let Some(number) = &shipment.tracking_number {
        body.para(&format!("{}: {number}", p.tracking));
    }
    body.para(t.signature);
    let (text, html) = body.finish(lang);
    let subject = if delivered { p.delivered_subject } else { p.shipped_subject };
    EmailMessage {
        email_id: EmailId::derived(&[&group.id.to_string(), &format!("{event}#{}", shipment.id), "customer"]),
        to: vec![group.email.clone()],
        subject: fill(subject, &[("vendor", vendor)]),
        text,
        html: Some(html),
        attachments: Vec::new(),
    }
}

struct RefundTexts {
    subject: &'static str,
    refunded: &'static str,
    lines: &'static str,
    credit_note: &'static str,
}

const REFUND_EN: RefundTexts = RefundTexts {
    subject: "Your refund from {vendor}",
    refunded: "{vendor} has refunded {amount} for your order {order}. It goes back to the card or account you paid with; your bank may take a few days to show it.",
    lines: "Refunded:",
    credit_note: "The credit note {number} is attached.",
};

const REFUND_FR: RefundTexts = RefundTexts {
    subject: "Votre remboursement de {vendor}",
    refunded: "{vendor} vous a remboursé {amount} pour votre commande {order}. Le montant revient sur la carte ou le compte utilisé pour payer ; votre banque peut mettre quelques jours à l'afficher.",
    lines: "Remboursé :",
    credit_note: "L'avoir {number} est joint.",
};

const REFUND_DE: RefundTexts = RefundTexts {
    subject: "Ihre Erstattung von {vendor}",
    refunded: "{vendor} hat Ihnen {amount} für Ihre Bestellung {order} erstattet. Der Betrag geht auf die Karte oder das Konto zurück, mit dem Sie bezahlt haben; Ihre Bank zeigt ihn eventuell erst nach einigen Tagen an.",
    lines: "Erstattet:",
    credit_note: "Die Gutschrift {number} ist beigefügt.",
};

/// The customer's notice of a refund that succeeded, with its credit note attached, in the
/// group's language; one per refund (its id derives from the refund).
pub fn refund(
    group: &OrderGroup,
    note: &stockyard_domain::returns::CreditNote,
    vendor_name: &str,
    customer_name: Option<&str>,
    pdf: &[u8],
) -> EmailMessage {
    let lang = Lang::of(&group.locale);
    let t = texts(lang);
    let r = match lang {
        Lang::En => &REFUND_EN,
        Lang::Fr => &REFUND_FR,
        Lang::De => &REFUND_DE,
    };
    let mut body = Body::new();
    body.para(&greeting(t, customer_name));
    let amount = format_money(note.total, lang);
    body.para(&fill(r.refunded, &[("vendor", vendor_name), ("amount", &amount), ("order", &short(group.id))]));
    body.para(r.lines);
    let mut rows: Vec<Vec<String>> = note
        .lines
        .iter()
        .map(|l| vec![format!("{} × {} ({})", l.quantity, l.title, l.sku), format_money(l.amount, lang)])
        .collect();
    if note.shipping.amount != 0 {
        rows.push(vec![words_shipping(lang).to_string(), format_money(note.shipping, lang)]);
    }
    body.table(&rows, None);
    body.para(&fill(r.credit_note, &[("number", &note.number)]));
    body.para(t.signature);
    let (text, html) = body.finish(lang);
    EmailMessage {
        email_id: EmailId::derived(&[&group.id.to_string(), &format!("refund_issued#{}", note.refund_id), "customer"]),
        to: vec![group.email.clone()],
        subject: fill(r.subject, &[("vendor", vendor_name)]),
        text,
        html: Some(html),
        attachments: vec![Attachment::new(&format!("credit-note-{}.pdf", note.number), "application/pdf", pdf)],
    }
}

fn words_shipping(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Shipping",
        Lang::Fr => "Livraison",
        Lang::De => "Versand",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use stockyard_domain::Currency;
    use stockyard_domain::ids::{LocationId, ProductId, VariantId, VendorId};
    use stockyard_domain::order::{LineAllocation, OrderLine, OrderStatus, OrderTotals};

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "EUR").unwrap())
    }

    fn order(group: OrderGroupId) -> VendorOrder {
        let now = Utc::now();
        VendorOrder {
            id: OrderId::generate(),
            group_id: group,
            vendor_id: VendorId::generate(),
            customer_id: None,
            status: OrderStatus::Paid,
            lines: vec![OrderLine {
                variant_id: VariantId::generate(),
                product_id: ProductId::generate(),
                sku: "JUMPER-M".into(),
                title: "Pull <laine> & co".into(),
                quantity: 2,
                unit_price: eur(61_700),
                discount: eur(0),
                tax: eur(20_567),
                total: eur(123_400),
                allocations: vec![LineAllocation { location_id: LocationId::generate(), quantity: 2, shipped: 0 }],
                returned: 0,
            }],
            totals: OrderTotals {
                subtotal: eur(123_400),
                discount: eur(0),
                shipping: eur(0),
                tax: eur(20_567),
                total: eur(123_400),
                refunded: None,
                refunded_shipping: None,
            },
            commission_rate: Decimal::new(1, 1),
            promised_ship_by: chrono::NaiveDate::from_ymd_opt(2026, 12, 3),
            shipping: None,
            tax: None,
            timeline: Vec::new(),
            version: 2,
            created_at: now,
            updated_at: now,
        }
    }

    fn group(locale: &str, order: &VendorOrder) -> OrderGroup {
        let now = Utc::now();
        OrderGroup {
            id: order.group_id,
            customer_id: None,
            email: "guest@example.com".into(),
            currency: eur(0).currency,
            locale: locale.into(),
            orders: vec![(order.vendor_id, order.id)],
            total: order.totals.total,
            status: OrderStatus::Paid,
            holds: Vec::new(),
            expires_at: now,
            payment_reference: Some("pi_1".into()),
            refunds_due: Vec::new(),
            disputes: Vec::new(),
            shipping_address: None,
            billing_address: None,
            payment: None,
            payment_provider: None,
            coupon: None,
            limited: Vec::new(),
            version: 2,
            created_at: now,
            updated_at: now,
        }
    }

    fn confirmation_in(locale: &str) -> (OrderGroup, VendorOrder, EmailMessage) {
        let o = order(OrderGroupId::generate());
        let g = group(locale, &o);
        let until = DateTime::parse_from_rfc3339("2027-03-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let email = confirmation(&Confirmation {
            group: &g,
            customer_name: None,
            parts: vec![Part { vendor_name: "Maison Lainière", order: &o, invoice_number: Some("INV-000003") }],
            guest_link: Some(("https://shop.test/orders/X?token=1.abc", until)),
            attachments: vec![Attachment::new("INV-000003.pdf", "application/pdf", b"%PDF-")],
        });
        (g, o, email)
    }

    #[test]
    fn the_confirmation_in_english_lists_each_vendor_with_its_invoice_the_total_and_the_guest_link() {
        let (g, o, email) = confirmation_in("en-GB");
        assert_eq!(email.to, ["guest@example.com"]);
        assert_eq!(email.subject, format!("Your order {} is confirmed", g.id));
        assert_eq!(email.email_id, EmailId::derived(&[&g.id.to_string(), "order_paid", "customer"]));
        for expected in [
            "Hello,",
            "Maison Lainière",
            &o.id.to_string(),
            "Invoice: INV-000003",
            "2 × Pull <laine> & co (JUMPER-M)",
            "€1,234.00",
            "Total paid: €1,234.00",
            "attached as PDF",
            "https://shop.test/orders/X?token=1.abc",
            "until 2027-03-01",
        ] {
            assert!(email.text.contains(expected), "{expected} not in {}", email.text);
        }
        let html = email.html.as_deref().unwrap();
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("Pull &lt;laine&gt; &amp; co"), "escaped: {html}");
        assert!(!html.contains("<laine>"));
        assert!(html.contains("<a href=\"https://shop.test/orders/X?token=1.abc\">"));
        assert_eq!(email.attachments.len(), 1);
    }

    #[test]
    fn the_confirmation_is_written_in_french_or_german_and_any_other_language_reads_english() {
        let (g, _, fr) = confirmation_in("fr-FR");
        assert_eq!(fr.subject, format!("Votre commande {} est confirmée", g.id));
        for expected in [
            "Bonjour,",
            "Merci pour votre commande",
            "Facture: INV-000003",
            "1\u{a0}234,00\u{a0}€",
            "jusqu'au 01/03/2027",
        ] {
            assert!(fr.text.contains(expected), "{expected} not in {}", fr.text);
        }
        assert!(fr.html.as_deref().unwrap().contains("<html lang=\"fr\">"));
        let (_, _, de) = confirmation_in("de-AT");
        for expected in ["Hallo,", "Vielen Dank", "Rechnung: INV-000003", "1.234,00\u{a0}€", "bis zum 01.03.2027"] {
            assert!(de.text.contains(expected), "{expected} not in {}", de.text);
        }
        let (_, _, es) = confirmation_in("es-ES");
        assert!(es.text.starts_with("Hello,"), "{}", es.text);
    }

    #[test]
    fn a_vendor_hears_of_its_new_order_and_of_a_dispute_once_per_event() {
        let o = order(OrderGroupId::generate());
        let g = group("en", &o);
        let email = vendor_new_order(&g, &o, "owner@vendor.example", Lang::De);
        assert_eq!(email.subject, format!("Neue Bestellung {}", o.id));
        assert!(email.text.contains("Versand bis: 2026-12-03") && email.text.contains("Bestellsumme: 1.234,00\u{a0}€"));
        assert_eq!(email, vendor_new_order(&g, &o, "owner@vendor.example", Lang::De), "the same email again");
        let notice = DisputeNotice {
            group_id: g.id,
            order_id: o.id,
            dispute_id: "dp_1",
            held: eur(123_400),
            reason: "fraudulent",
        };
        let dispute = vendor_dispute(&notice, &o.vendor_id.to_string(), "owner@vendor.example", Lang::En);
        assert_eq!(dispute.subject, format!("Chargeback on order {}", o.id));
        assert!(dispute.text.contains("€1,234.00") && dispute.text.contains("fraudulent"), "{}", dispute.text);
        assert_ne!(dispute.email_id, email.email_id);
    }

    #[test]
    fn an_expired_or_cancelled_group_tells_the_customer_its_items_were_released() {
        let o = order(OrderGroupId::generate());
        let g = group("fr", &o);
        let expired = released(&g, true, Some("Ada"));
        assert!(expired.text.starts_with("Bonjour Ada,") && expired.text.contains("a expiré"), "{}", expired.text);
        let cancelled = released(&g, false, None);
        assert!(cancelled.text.contains("a été annulée"));
        assert_ne!(expired.email_id, cancelled.email_id);
    }

    #[test]
    fn a_refund_is_told_once_in_the_customers_language_with_its_credit_note() {
        let o = order(OrderGroupId::generate());
        let g = group("de-DE", &o);
        let note = crate::invoices::tests::credit_note(Lang::De);
        let email = refund(&g, &note, "Atelier", Some("Ada"), b"%PDF-1.7");
        assert_eq!(email.subject, "Ihre Erstattung von Atelier");
        let text = &email.text;
        for expected in ["126,00\u{a0}€", "CN-000008", "Versand", "Wool jumper number 0"] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert_eq!(email.attachments[0].filename, "credit-note-CN-000008.pdf");
        let again = refund(&g, &note, "Atelier", Some("Ada"), b"%PDF-1.7");
        assert_eq!(email.email_id, again.email_id, "one id per refund: sent once");
    }

    #[test]
    fn a_parcel_is_announced_with_its_tracking_and_its_delivery_in_the_customers_language() {
        let o = order(OrderGroupId::generate());
        let g = group("fr-FR", &o);
        let now = Utc::now();
        let line = &o.lines[0];
        let mut shipment = Shipment {
            id: stockyard_domain::ids::ShipmentId::generate(),
            order_id: o.id,
            group_id: g.id,
            vendor_id: o.vendor_id,
            location_id: LocationId::generate(),
            lines: vec![stockyard_domain::fulfilment::ShipmentLine {
                variant_id: line.variant_id,
                sku: line.sku.clone(),
                title: line.title.clone(),
                quantity: 1,
                batches: Vec::new(),
            }],
            carrier: "La Poste".into(),
            service: Some("Colissimo".into()),
            tracking_number: Some("6A123456789FR".into()),
            label_reference: None,
            status: stockyard_domain::fulfilment::ShipmentStatus::Packed,
            tracking: Vec::new(),
            estimated_delivery: chrono::NaiveDate::from_ymd_opt(2026, 12, 24),
            delivered_at: None,
            created_by: stockyard_domain::stock::Actor::System { name: "test".into() },
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let notice = |s: &Shipment| {
            parcel(
                &ParcelNotice {
                    group: &g,
                    shipment: s,
                    vendor_name: "Atelier",
                    customer_name: None,
                    more_to_come: true,
                },
                false,
            )
        };
        let shipped = notice(&shipment);
        assert_eq!(shipped.subject, "Votre colis de Atelier est en route");
        assert!(shipped.text.contains("Numéro de suivi: 6A123456789FR"), "{}", shipped.text);
        assert!(shipped.text.contains("Livraison prévue: 24/12/2026"), "{}", shipped.text);
        assert!(shipped.text.contains("1 × Pull <laine> & co (JUMPER-M)"), "{}", shipped.text);
        assert!(shipped.html.as_deref().unwrap().contains("Pull &lt;laine&gt; &amp; co"));
        assert!(shipped.text.contains("Le reste de votre commande suivra"));
        assert_eq!(notice(&shipment).email_id, shipped.email_id, "one email per parcel and event");
        shipment.delivered_at = Some(now);
        let arrived = parcel(
            &ParcelNotice {
                group: &g,
                shipment: &shipment,
                vendor_name: "Atelier",
                customer_name: Some("Ada"),
                more_to_come: false,
            },
            true,
        );
        assert_eq!(arrived.subject, "Votre colis de Atelier est arrivé");
        assert!(arrived.text.starts_with("Bonjour Ada,"), "{}", arrived.text);
        assert_ne!(arrived.email_id, shipped.email_id);
    }
}
