//! `route-table-events`: reads the table's stream and puts each domain event on the queue of the
//! area that acts on it (today: invitation emails on the emails queue).
//!
//! Records are routed in stream order. At the first record that cannot be routed the function
//! stops and reports that record (`ReportBatchItemFailures`): the stream delivers it and everything
//! after it again, so no event is lost. Records before it may be routed twice across such retries;
//! consumers deduplicate on the business id each message carries (an email's id is its
//! invitation's id), so no side effect happens twice.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::LambdaEvent;
use stockyard_messaging::templates::{self, Invitation};
use stockyard_messaging::{EmailMessage, Publisher};
use stockyard_store::events::{self, Change, DomainEvent};

pub struct RouterDeps {
    pub emails: Publisher,
}

impl RouterDeps {
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        Ok(Self { emails: Publisher::new(aws_sdk_sqs::Client::new(sdk), stockyard_platform::env("EMAILS_QUEUE_URL")?) })
    }
}

/// A message for another area's queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Email(EmailMessage),
}

/// What one stream record asks to send, if anything.
pub fn route(record: &EventRecord) -> anyhow::Result<Option<Outgoing>> {
    let Some(change) = Change::parse(&record.event_name) else { return Ok(None) };
    let event = events::from_change(change, record.change.new_image.clone())?;
    Ok(event.map(|event| match event {
        DomainEvent::InvitationCreated(i) => Outgoing::Email(templates::invitation(&Invitation {
            id: i.id,
            vendor_name: &i.vendor_name,
            to: &i.email,
            role: i.role,
            expires_on: i.expires_on,
        })),
    }))
}

/// Routes the records in order with `send`, stopping at the first failure and reporting it.
pub async fn route_all<F, Fut>(records: &[EventRecord], mut send: F) -> DynamoDbEventResponse
where
    F: FnMut(Outgoing) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut response = DynamoDbEventResponse::default();
    for record in records {
        let routed = match route(record) {
            Ok(Some(message)) => send(message).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = routed {
            let sequence = record.change.sequence_number.clone();
            tracing::error!(sequence = ?sequence, event = %record.event_name, error = format!("{e:#}"), "stream record not routed; the stream delivers it again");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

pub async fn handle(
    deps: &RouterDeps,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    Ok(route_all(&event.payload.records, |message| async {
        match message {
            Outgoing::Email(email) => {
                let body = serde_json::to_string(&email)?;
                deps.emails.publish_raw(&body).await?;
                tracing::info!(email_id = %email.email_id, "email queued");
            }
        }
        Ok(())
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A stream batch as Lambda delivers it: an invitation, an item of another kind, another invitation.
    fn batch() -> Event {
        serde_json::from_value(serde_json::json!({ "Records": [
            record("1", "INSERT", invitation_image("01JDB0000000000000000000A1", "ada@example.com")),
            record("2", "INSERT", serde_json::json!({ "PK": {"S": "VENDOR#x"}, "SK": {"S": "LOCATION#y"}, "entity": {"S": "location"} })),
            record("3", "INSERT", invitation_image("01JDB0000000000000000000A3", "grace@example.com")),
        ]}))
        .expect("a DynamoDB stream event")
    }

    fn record(sequence: &str, name: &str, image: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "eventID": sequence, "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": { "Keys": {}, "NewImage": image, "SequenceNumber": sequence, "SizeBytes": 10,
                          "StreamViewType": "NEW_AND_OLD_IMAGES" },
        })
    }

    fn invitation_image(id: &str, email: &str) -> serde_json::Value {
        serde_json::json!({
            "PK": {"S": "VENDOR#01JDB0000000000000000000V1"}, "SK": {"S": format!("INVITE#{id}")}, "entity": {"S": "invitation"},
            "id": {"S": id}, "vendor_id": {"S": "01JDB0000000000000000000V1"}, "vendor_name": {"S": "Green Valley"},
            "email": {"S": email}, "role": {"S": "viewer"}, "status": {"S": "pending"},
            "invited_by": {"S": "01JDB0000000000000000000W1"}, "created_at": {"S": "2026-11-30T00:00:00Z"},
            "expires_on": {"S": "2026-12-07T00:00:00Z"},
        })
    }

    fn recipients(sent: &Mutex<Vec<Outgoing>>) -> Vec<String> {
        sent.lock().unwrap().iter().map(|Outgoing::Email(e)| e.to[0].clone()).collect()
    }

    #[tokio::test]
    async fn every_invitation_in_a_batch_becomes_its_email_and_other_items_are_skipped() {
        let sent = Mutex::new(Vec::new());
        let response = route_all(&batch().records, |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(recipients(&sent), ["ada@example.com", "grace@example.com"]);
        let Outgoing::Email(first) = &sent.lock().unwrap()[0];
        assert_eq!(first.email_id.to_string(), "01JDB0000000000000000000A1", "the email's id is the invitation's");
    }

    #[tokio::test]
    async fn a_failure_midway_reports_that_record_and_routes_nothing_after_it_until_redelivery() {
        let sent = Mutex::new(Vec::new());
        let records = batch().records;
        // Publishing the second invitation (record 3) fails once.
        let mut calls = 0;
        let response = route_all(&records, |m| {
            calls += 1;
            let fail = calls == 2;
            if !fail {
                sent.lock().unwrap().push(m);
            }
            async move { if fail { anyhow::bail!("queue unavailable") } else { Ok(()) } }
        })
        .await;
        let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
        assert_eq!(failed, [Some("3".to_string())], "the stream resumes at the record that failed");
        assert_eq!(recipients(&sent), ["ada@example.com"]);

        // The stream delivers record 3 again (as Lambda does from the reported sequence number).
        let again = route_all(&records[2..], |m| {
            sent.lock().unwrap().push(m);
            async { Ok(()) }
        })
        .await;
        assert!(again.batch_item_failures.is_empty());
        assert_eq!(recipients(&sent), ["ada@example.com", "grace@example.com"], "nothing lost");
    }

    #[tokio::test]
    async fn an_unreadable_invitation_is_reported_instead_of_being_dropped() {
        let mut event = batch();
        event.records[0].change.new_image.remove("vendor_name");
        let response = route_all(&event.records, |_| async { Ok(()) }).await;
        assert_eq!(response.batch_item_failures[0].item_identifier.as_deref(), Some("1"));
    }
}
