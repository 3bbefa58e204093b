use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
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
}

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error("could not publish to the queue: {0}")]
    Publish(String),
    #[error("could not send the email: {0}")]
    Send(String),
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

    pub async fn send(&self, email: &EmailMessage) -> Result<(), MessagingError> {
        let mut body = Body::builder().text(content(&email.text)?);
        if let Some(html) = &email.html {
            body = body.html(content(html)?);
        }
        let message = Message::builder().subject(content(&email.subject)?).body(body.build()).build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().set_to_addresses(Some(email.to.clone())).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| MessagingError::Send(aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string()))?;
        Ok(())
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
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(serde_json::from_str::<EmailMessage>(&json).unwrap(), message);
    }
}
