//! The emails the platform sends, rendered from the facts they announce. Each email's id is the
//! id of what it announces, so every delivery of the same event sends the same email once.

use chrono::{DateTime, Utc};
use stockyard_domain::ids::{EmailId, InvitationId};
use stockyard_domain::roles::VendorRole;
use stockyard_domain::values::Email;

use crate::EmailMessage;
use crate::email::Attachment;

/// An invitation to join a vendor's staff.
pub struct Invitation<'a> {
    pub id: InvitationId,
    pub vendor_name: &'a str,
    pub to: &'a Email,
    pub role: VendorRole,
    pub expires_on: DateTime<Utc>,
}

pub fn invitation(i: &Invitation<'_>) -> EmailMessage {
    let role = i.role.as_str().replace('_', " ");
    EmailMessage {
        email_id: EmailId::from(i.id),
        to: vec![i.to.to_string()],
        subject: format!("You're invited to join {} on Stockyard", i.vendor_name),
        text: format!(
            "Hello,\n\n{vendor} has invited you to join their team on Stockyard as {role}.\n\n\
             Sign in with this email address (or register with it), then accept the invitation:\n\
             POST /invitations/{id}/accept\n\nThe invitation expires on {expires}.\n",
            vendor = i.vendor_name,
            id = i.id,
            expires = i.expires_on.format("%Y-%m-%d %H:%M UTC"),
        ),
        html: None,
        attachments: Vec::new(),
    }
}

/// What an account email is about; the links are full URLs the recipient opens.
pub enum AccountNotice<'a> {
    /// Prove the address is the owner's.
    VerifyEmail { link: &'a str, expires_at: DateTime<Utc> },
    /// Choose a new password.
    PasswordReset { link: &'a str, expires_at: DateTime<Utc> },
    /// Make this (new) address the account's.
    ConfirmEmailChange { link: &'a str, expires_at: DateTime<Utc>, old_email: &'a Email },
    /// The account's address is now `new_email` (sent to the old one).
    EmailChanged { new_email: &'a Email },
    /// The password was changed.
    PasswordChanged,
}

/// An email about the account to `to`, greeting `name`; `id` is the request's.
pub fn account(id: EmailId, to: &Email, name: &str, notice: &AccountNotice<'_>) -> EmailMessage {
    let until = |at: &DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let not_you = "If this wasn't you, reset your password at once and contact support.";
    let (subject, body) = match notice {
        AccountNotice::VerifyEmail { link, expires_at } => (
            "Confirm your email address".to_string(),
            format!(
                "Please confirm that this is your email address by opening this link:\n{link}\n\n\
                 The link works until {}. If you did not create a Stockyard account, ignore this email.",
                until(expires_at)
            ),
        ),
        AccountNotice::PasswordReset { link, expires_at } => (
            "Reset your password".to_string(),
            format!(
                "Someone asked to reset the password of your Stockyard account. To choose a new \
                 password, open this link:\n{link}\n\nThe link works once, until {}. Choosing a new \
                 password signs you out everywhere. If you did not ask, ignore this email: your \
                 password stays as it is.",
                until(expires_at)
            ),
        ),
        AccountNotice::ConfirmEmailChange { link, expires_at, old_email } => (
            "Confirm your new email address".to_string(),
            format!(
                "You asked to change the email address of your Stockyard account from {old_email} to \
                 this one. To confirm, open this link:\n{link}\n\nThe link works until {}. If you did \
                 not ask, ignore this email.",
                until(expires_at)
            ),
        ),
        AccountNotice::EmailChanged { new_email } => (
            "Your email address was changed".to_string(),
            format!(
                "The email address of your Stockyard account was changed to {new_email}. From now \
                 on, sign in with that address. {not_you}"
            ),
        ),
        AccountNotice::PasswordChanged => (
            "Your password was changed".to_string(),
            format!(
                "The password of your Stockyard account was changed, and every other session was \
                 signed out. {not_you}"
            ),
        ),
    };
    EmailMessage {
        email_id: id,
        to: vec![to.to_string()],
        subject,
        text: format!("Hello {name},\n\n{body}\n"),
        html: None,
        attachments: Vec::new(),
    }
}

/// A purchase order sent to its supplier, with the order as a PDF attached. The email's id is the
/// order's (an order is sent once).
pub fn purchase_order(order: &stockyard_domain::purchasing::PurchaseOrder) -> EmailMessage {
    let buyer = order.vendor_name.as_deref().unwrap_or("A Stockyard vendor");
    let lines: String = order.lines.iter().map(|l| format!("  {:<24} {:>10} units\n", l.sku, l.quantity)).collect();
    EmailMessage {
        email_id: EmailId::from(order.id),
        to: vec![order.supplier.email.clone()],
        subject: format!("Purchase order {} from {buyer}", order.number),
        text: format!(
            "Hello {supplier},\n\n{buyer} orders the following for delivery to {to} ({code}):\n\n{lines}\n             Total: {total}\n\nThe purchase order is attached ({number}.pdf). Please quote {number} on your \
             delivery note and invoice.\n",
            supplier = order.supplier.name,
            to = order.deliver_to.name,
            code = order.deliver_to.code,
            total = stockyard_domain::Money::new(order.total, order.currency),
            number = order.number,
        ),
        html: None,
        attachments: vec![Attachment::new(
            &format!("{}.pdf", order.number),
            "application/pdf",
            &crate::documents::purchase_order_pdf(order),
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_email_carries_its_link_and_says_when_it_ends() {
        let to = Email::parse("email", "ada@example.com").unwrap();
        let id = EmailId::generate();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let email = account(
            id,
            &to,
            "Ada",
            &AccountNotice::PasswordReset { link: "https://x.test/r?token=abc", expires_at: at },
        );
        assert_eq!((email.email_id, email.to.as_slice()), (id, ["ada@example.com".to_string()].as_slice()));
        assert!(email.text.starts_with("Hello Ada,"));
        assert!(email.text.contains("https://x.test/r?token=abc") && email.text.contains("2027-01-15 08:00 UTC"));
        let old = Email::parse("email", "old@example.com").unwrap();
        let notice = account(id, &old, "Ada", &AccountNotice::EmailChanged { new_email: &to });
        assert!(notice.text.contains("ada@example.com") && !notice.text.contains("token"));
    }

    #[test]
    fn an_invitation_email_is_addressed_to_the_invitee_and_carries_the_invitations_id() {
        let to = Email::parse("email", "grace@example.com").unwrap();
        let id = InvitationId::generate();
        let notice = Invitation {
            id,
            vendor_name: "Green Valley",
            to: &to,
            role: VendorRole::InventoryManager,
            expires_on: Utc::now(),
        };
        let email = invitation(&notice);
        assert_eq!(email.to, ["grace@example.com"]);
        assert_eq!(email.email_id.to_string(), id.to_string());
        assert!(email.subject.contains("Green Valley"));
        assert!(email.text.contains("inventory manager") && email.text.contains(&format!("/invitations/{id}/accept")));
        assert_eq!(invitation(&notice), email, "the same invitation renders the same email");
    }
}
