//! Domain events from the table's stream: a committed invitation reaches `route-table-events`
//! through the stream and its email is sent by `send-email` exactly once, however often the event
//! is delivered, and a router that fails midway loses nothing.

use serde_json::{Value, json};
use stockyard_domain::ids::EmailId;
use stockyard_messaging::{EmailMessage, Publisher};
use stockyard_tests::{TestApp, TestVendor, unique_email, unique_tag};

/// The router, as its binary is named in template.yaml (`RouteTableEventsFunction`).
const ROUTER: &str = "route-table-events";

/// The emails queue, which `send-email` consumes.
async fn emails_queue() -> Publisher {
    let queue_url =
        std::env::var("STOCKYARD_EMAILS_QUEUE_URL").expect("STOCKYARD_EMAILS_QUEUE_URL (run via make test)");
    Publisher::new(aws_sdk_sqs::Client::new(&stockyard_platform::aws_config().await), queue_url)
}

/// A stream record of a new invitation, as the table's stream carries the store's item.
fn invitation_record(sequence: &str, invitation: &Value) -> Value {
    let s = |v: &Value| json!({ "S": v.as_str().expect("a string field") });
    let (vendor, id) = (&invitation["vendor_id"], &invitation["id"]);
    json!({
        "eventID": sequence, "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "Keys": {}, "SequenceNumber": sequence, "SizeBytes": 300, "StreamViewType": "NEW_AND_OLD_IMAGES",
            "NewImage": {
                "entity": {"S": "invitation"},
                "id": s(id), "vendor_id": s(vendor), "vendor_name": s(&invitation["vendor_name"]),
                "email": s(&invitation["email"]), "role": s(&invitation["role"]), "status": {"S": "pending"},
                "invited_by": s(&invitation["invited_by"]), "created_at": s(&invitation["created_at"]),
                "expires_on": s(&invitation["expires_at"]),
            },
        },
    })
}

/// An invitation item the router cannot read (its vendor name is missing).
fn unreadable_record(sequence: &str, invitation: &Value) -> Value {
    let mut record = invitation_record(sequence, invitation);
    record["dynamodb"]["NewImage"].as_object_mut().expect("an image").remove("vendor_name");
    record
}

async fn invite(app: &TestApp, vendor: &TestVendor) -> Value {
    let resp = app.invite(vendor.owner.token(), &vendor.id, &unique_email(), "viewer").await;
    resp.expect(201).clone()
}

/// Invokes the router with these stream records; answers the sequence numbers it reported.
async fn route(app: &TestApp, records: Vec<Value>) -> Vec<String> {
    let resp = app.invoke(ROUTER, &json!({ "Records": records })).await;
    let body = resp.expect(200);
    body["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("the router reports its failures: {resp}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().expect("a sequence number").to_string())
        .collect()
}

#[tokio::test]
async fn an_invitation_event_delivered_again_sends_no_second_email() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let invitation = invite(&app, &vendor).await;
    let invitee = invitation["email"].as_str().unwrap().to_string();
    let first = app.emails_to(&invitee).await;
    assert!(first[0].subject.contains(&vendor.name), "{first:#?}");

    // The stream delivers the same change again (as after a router that failed later in its batch).
    assert!(route(&app, vec![invitation_record("1", &invitation)]).await.is_empty());

    // A later invitation, through the same stream, router, queue and mailer, is the marker.
    let later = invite(&app, &vendor).await;
    let emails = app.emails_to_after_marker(&invitee, later["email"].as_str().unwrap()).await;
    assert_eq!(emails.len(), 1, "one email however often the event is delivered: {emails:#?}");
}

/// An invitation as its stream record would carry it, never written to the table: only the
/// router sees it, so only the router can make its email arrive.
fn unseen_invitation(vendor: &TestVendor) -> Value {
    let now = chrono::Utc::now();
    json!({
        "id": ulid::Ulid::new().to_string(), "vendor_id": vendor.id, "vendor_name": vendor.name,
        "email": unique_email(), "role": "viewer", "invited_by": vendor.owner.id,
        "created_at": now.to_rfc3339(), "expires_at": (now + chrono::Duration::days(7)).to_rfc3339(),
    })
}

#[tokio::test]
async fn a_router_failing_midway_reports_where_to_resume_and_loses_nothing_on_redelivery() {
    let app = TestApp::new();
    let vendor = app.vendor_owner().await;
    let (a, b, c) = (unseen_invitation(&vendor), unseen_invitation(&vendor), unseen_invitation(&vendor));
    let email_of = |i: &Value| i["email"].as_str().unwrap().to_string();

    // One batch: A routes, B cannot be read, C comes after the failure and is not routed yet.
    let failed =
        route(&app, vec![invitation_record("10", &a), unreadable_record("20", &b), invitation_record("30", &c)]).await;
    assert_eq!(failed, ["20"], "the stream resumes at the record that failed");
    let marker = invite(&app, &vendor).await;
    assert_eq!(app.emails_to_after_marker(&email_of(&a), &email_of(&marker)).await.len(), 1);
    assert!(app.sent_emails_to(&email_of(&c)).await.is_empty(), "nothing after the failed record was routed");

    // The stream delivers again from the reported record (B is readable this time), and A once
    // more, as a redelivery of the whole batch would.
    assert!(
        route(&app, vec![invitation_record("10", &a), invitation_record("20", &b), invitation_record("30", &c)])
            .await
            .is_empty()
    );
    let marker = invite(&app, &vendor).await;
    app.emails_to(&email_of(&marker)).await;
    for invitation in [&a, &b, &c] {
        let emails = app.emails_to(&email_of(invitation)).await;
        assert_eq!(emails.len(), 1, "{} got exactly one email: {emails:#?}", email_of(invitation));
    }
}

/// Copies of one message handled by concurrent invocations (the local stack runs up to 4 batches
/// at once, as Lambda does): one claims the email and sends it, the others find it claimed or sent.
#[tokio::test]
async fn copies_of_an_email_delivered_at_the_same_time_are_sent_once() {
    let app = TestApp::new();
    let emails = emails_queue().await;
    let message = email_to(&unique_email());
    let body = serde_json::to_string(&message).unwrap();
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (emails, body) = (emails.clone(), body.clone());
        deliveries.spawn(async move { emails.publish_raw(&body).await });
    }
    for delivery in deliveries.join_all().await {
        delivery.expect("publish");
    }
    let arrived = app.emails_to(&message.to[0]).await;
    assert_eq!(arrived[0].subject, message.subject);

    // A later message on the same queue, published after every copy.
    let later = email_to(&unique_email());
    emails.publish_raw(&serde_json::to_string(&later).unwrap()).await.expect("publish the later message");
    let all = app.emails_to_after_marker(&message.to[0], &later.to[0]).await;
    assert_eq!(all.len(), 1, "exactly one email: {all:#?}");
}

fn email_to(address: &str) -> EmailMessage {
    let tag = unique_tag();
    EmailMessage {
        email_id: EmailId::generate(),
        to: vec![address.to_string()],
        subject: format!("Delivery test {tag}"),
        text: format!("Sent once ({tag})."),
        html: None,
        attachments: Vec::new(),
    }
}
