//! The emails the platform sends, rendered from the facts they announce. Each email's id is the
//! id of what it announces, so every delivery of the same event sends the same email once.

use chrono::{DateTime, Utc};
use stockyard_domain::ids::{EmailId, InvitationId};
use stockyard_domain::roles::VendorRole;
use stockyard_domain::values::Email;

use crate::EmailMessage;

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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
