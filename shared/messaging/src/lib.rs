//! Queue message contracts and the clients that carry them: SQS for publishing, SES for mail.

pub mod documents;
pub mod email;
pub mod invoices;
pub mod order_mail;
pub mod packing;
pub mod templates;

pub use email::{Attachment, EmailMessage, Mailer, Publisher};
