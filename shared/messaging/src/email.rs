use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, RawMessage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use stockyard_domain::ids::EmailId;

/// An email to send, as carried on the emails queue. `email_id` makes sending idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub email_id: EmailId,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    /// Files sent with the email (a purchase order's PDF). An email with attachments goes out as
    /// a raw MIME message. The queue carries them base64-encoded (SQS takes 256 KB a message;
    /// the message of a purchase order of 99 lines is 36 KB).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Shown to the recipient (ASCII letters, digits, '.', '-' and '_'; others become '_').
    pub filename: String,
    pub content_type: String,
    /// The bytes, base64 (standard alphabet, padded).
    pub data_base64: String,
}

impl Attachment {
    pub fn new(filename: &str, content_type: &str, bytes: &[u8]) -> Self {
        let filename =
            filename.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
        Self { filename, content_type: content_type.to_string(), data_base64: STANDARD.encode(bytes) }
    }
}

/// A header value as MIME wants it: ASCII as it is, anything else as one UTF-8 encoded word.
fn header_text(text: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.is_ascii() { clean } else { format!("=?UTF-8?B?{}?=", STANDARD.encode(clean.as_bytes())) }
}

/// Base64 in lines of 76 characters, as MIME bodies are written.
fn wrapped(base64: &str) -> String {
    let bytes = base64.as_bytes();
    bytes.chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// The email as one MIME message (RFC 5322 / 2045): `multipart/mixed` of the body (text, or text
/// and HTML as `multipart/alternative`) and each attachment, every part base64-encoded.
pub fn raw_message(from: &str, email: &EmailMessage) -> String {
    let boundary = format!("stockyard-mixed-{}", email.email_id);
    let alternative = format!("stockyard-alt-{}", email.email_id);
    let part = |content_type: &str, body: &str| {
        format!(
            "Content-Type: {content_type}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            wrapped(&STANDARD.encode(body.as_bytes()))
        )
    };
    let mut out = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n",
        to = email.to.join(", "),
        subject = header_text(&email.subject),
    );
    out.push_str(&format!("--{boundary}\r\n"));
    match &email.html {
        None => out.push_str(&part("text/plain", &email.text)),
        Some(html) => {
            out.push_str(&format!("Content-Type: multipart/alternative; boundary=\"{alternative}\"\r\n\r\n"));
            out.push_str(&format!("--{alternative}\r\n{}", part("text/plain", &email.text)));
            out.push_str(&format!("--{alternative}\r\n{}", part("text/html", html)));
            out.push_str(&format!("--{alternative}--\r\n"));
        }
    }
    for a in &email.attachments {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; \
             filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{data}\r\n",
            ct = a.content_type,
            name = a.filename,
            data = wrapped(&a.data_base64),
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error("could not publish to the queue: {0}")]
    Publish(String),
    #[error("could not send the email: {0}")]
    Send(String),
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
}

/// The value of environment variable `name` (a queue URL, a sender), refused when unset or blank.
fn env(name: &str) -> Result<String, MessagingError> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or_else(|| MessagingError::MissingEnv(name.into()))
}

/// Puts messages on one SQS queue.
#[derive(Clone, Debug)]
pub struct Publisher {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl Publisher {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }

    /// A publisher to the queue whose URL is in environment variable `queue_url_var`, so a
    /// function's wiring names the queue and never the SDK.
    pub fn from_env(sdk: &aws_config::SdkConfig, queue_url_var: &str) -> Result<Self, MessagingError> {
        Ok(Self::new(aws_sdk_sqs::Client::new(sdk), env(queue_url_var)?))
    }

    /// Publishes an already-encoded message body.
    pub async fn publish_raw(&self, body: &str) -> Result<(), MessagingError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| MessagingError::Publish(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    /// Publishes several encoded bodies, ten to a request; fails if any was not accepted (a retry
    /// publishes them all again: consumers deduplicate).
    pub async fn publish_all(&self, bodies: &[String]) -> Result<(), MessagingError> {
        for chunk in bodies.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(body)
                        .build()
                        .map_err(|e| MessagingError::Publish(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| MessagingError::Publish(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))?;
            if let Some(failed) = out.failed().first() {
                return Err(MessagingError::Publish(format!(
                    "{} of {} messages refused: {}",
                    out.failed().len(),
                    chunk.len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(())
    }

    /// Makes a received message of this queue visible again only after `seconds` (the wait before
    /// its next attempt; at most 12 hours from its receipt, as SQS allows).
    pub async fn retry_after(&self, receipt_handle: &str, seconds: u32) -> Result<(), MessagingError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(seconds.min(43_200)).unwrap_or(43_200))
            .send()
            .await
            .map_err(|e| MessagingError::Publish(aws_sdk_sqs::error::DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}

/// Sends email through SES from one verified sender.
#[derive(Clone, Debug)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

fn content(text: &str) -> Result<Content, MessagingError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| MessagingError::Send(e.to_string()))
}

impl Mailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self { client, from: from.into() }
    }

    /// A mailer sending from the address in environment variable `from_var`.
    pub fn from_env(sdk: &aws_config::SdkConfig, from_var: &str) -> Result<Self, MessagingError> {
        Ok(Self::new(aws_sdk_sesv2::Client::new(sdk), env(from_var)?))
    }

    /// Sends the email: as SES's simple content, or as a raw MIME message when it has attachments.
    pub async fn send(&self, email: &EmailMessage) -> Result<(), MessagingError> {
        let content = if email.attachments.is_empty() {
            EmailContent::builder().simple(self.simple(email)?).build()
        } else {
            let raw = RawMessage::builder()
                .data(Blob::new(raw_message(&self.from, email).into_bytes()))
                .build()
                .map_err(|e| MessagingError::Send(e.to_string()))?;
            EmailContent::builder().raw(raw).build()
        };
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().set_to_addresses(Some(email.to.clone())).build())
            .content(content)
            .send()
            .await
            .map_err(|e| MessagingError::Send(aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    fn simple(&self, email: &EmailMessage) -> Result<Message, MessagingError> {
        let mut body = Body::builder().text(content(&email.text)?);
        if let Some(html) = &email.html {
            body = body.html(content(html)?);
        }
        Ok(Message::builder().subject(content(&email.subject)?).body(body.build()).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_message_round_trips_through_its_queue_form() {
        let message = EmailMessage {
            email_id: EmailId::generate(),
            to: vec!["ada@example.com".into()],
            subject: "You're invited".into(),
            text: "Join us".into(),
            html: None,
            attachments: Vec::new(),
        };
        let json = serde_json::to_string(&message).unwrap();
        assert!(!json.contains("attachments"), "absent when there are none: {json}");
        assert_eq!(serde_json::from_str::<EmailMessage>(&json).unwrap(), message);
    }

    #[test]
    fn an_email_with_an_attachment_is_one_mime_message_with_every_part_base64() {
        let message = EmailMessage {
            email_id: EmailId::generate(),
            to: vec!["orders@acme.example".into(), "b@example.com".into()],
            subject: "Purchase order PO-000001 from Café Olé".into(),
            text: "Hello\nthere".into(),
            html: None,
            attachments: vec![Attachment::new("PO 000001.pdf", "application/pdf", b"%PDF-1.7 bytes")],
        };
        let raw = raw_message("no-reply@stockyard.example", &message);
        assert!(raw.contains("To: orders@acme.example, b@example.com\r\n"));
        assert!(raw.contains(&format!("Subject: =?UTF-8?B?{}?=\r\n", STANDARD.encode(message.subject.as_bytes()))));
        assert!(raw.contains("Content-Disposition: attachment; filename=\"PO_000001.pdf\""));
        assert!(raw.contains(&STANDARD.encode(b"%PDF-1.7 bytes")));
        assert!(raw.contains(&STANDARD.encode(b"Hello\nthere")));
        let boundary = format!("stockyard-mixed-{}", message.email_id);
        assert_eq!(raw.matches(&format!("--{boundary}\r\n")).count(), 2);
        assert!(raw.ends_with(&format!("--{boundary}--\r\n")));
        assert!(raw.lines().all(|l| l.len() <= 998), "no line longer than RFC 5322 allows");
    }
}
