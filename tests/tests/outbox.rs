//! The email outbox: a message committed to the outbox but never published (the writing function
//! stopped between commit and publish) is published by `relay-outbox` and sent by `send-email`,
//! exactly once however many times it is delivered.

use std::time::{Duration, Instant};

use chrono::Utc;
use stockyard_domain::ids::EmailId;
use stockyard_messaging::{EmailMessage, Publisher};
use stockyard_store::outbox::{self, OutboxRecord};
use stockyard_store::{PageRequest, Table, keys};
use stockyard_tests::{EVENTUALLY, SentEmail, TestApp, unique_email, unique_tag};

/// The scheduled function, as its binary is named in template.yaml (`RelayOutboxFunction`).
const RELAY: &str = "relay-outbox";

/// Older than the relay's grace period (`relay::GRACE`, 30 s), which leaves younger messages
/// to the function that wrote them.
const LEFT_BEHIND_FOR: chrono::Duration = chrono::Duration::minutes(5);

/// How long to keep watching for a duplicate after the expected email arrived.
const SETTLE: Duration = Duration::from_secs(2);

async fn table(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

fn email_to(address: &str) -> EmailMessage {
    let tag = unique_tag();
    EmailMessage {
        email_id: EmailId::generate(),
        to: vec![address.to_string()],
        subject: format!("Outbox test {tag}"),
        text: format!("Relayed by the outbox ({tag})."),
        html: None,
    }
}

/// Commits `message` to the outbox the way identity's invite-staff does, dated `LEFT_BEHIND_FOR` ago.
async fn leave_in_outbox(table: &Table, message: &EmailMessage) -> OutboxRecord {
    let record = OutboxRecord {
        id: message.email_id,
        queue: "EMAILS_QUEUE_URL".into(),
        body: serde_json::to_string(message).expect("an email message is JSON"),
        created_at: Utc::now() - LEFT_BEHIND_FOR,
    };
    table.transact(vec![outbox::put(table, &record).expect("outbox write")]).await.expect("outbox commit");
    record
}

async fn is_pending(table: &Table, id: EmailId) -> bool {
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let next = outbox::pending(table, &page).await.expect("pending outbox");
        if next.items.iter().any(|r| r.id == id) {
            return true;
        }
        match next.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return false,
        }
    }
}

async fn run_relay(app: &TestApp) -> serde_json::Value {
    let resp = app.run_schedule(RELAY).await;
    let report = resp.expect(200).clone();
    for field in ["published", "failed", "waiting"] {
        assert!(report[field].is_u64(), "the relay reports how many were {field}: {resp}");
    }
    report
}

/// Asserts exactly one email with `message`'s subject reached its address, and no second one
/// follows within `SETTLE`.
async fn assert_sent_once(app: &TestApp, message: &EmailMessage) -> SentEmail {
    let address = &message.to[0];
    let first = app.emails_to(address).await;
    tokio::time::sleep(SETTLE).await;
    let emails = app.sent_emails_to(address).await;
    assert_eq!(emails.len(), 1, "exactly one email to {address}, got {emails:#?} (first seen {first:#?})");
    let email = emails.into_iter().next().unwrap();
    assert_eq!(email.subject, message.subject);
    assert_eq!(email.text.as_deref(), Some(message.text.as_str()));
    email
}

async fn wait_until_marked_sent(table: &Table, id: EmailId) {
    let started = Instant::now();
    while !outbox::was_sent(table, id).await.expect("sent marker") {
        assert!(started.elapsed() < EVENTUALLY, "email {id} never marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_message_left_in_the_outbox_is_relayed_sent_once_and_removed() {
    let app = TestApp::new();
    let table = table(&app).await;
    let message = email_to(&unique_email());
    let record = leave_in_outbox(&table, &message).await;
    assert!(is_pending(&table, record.id).await, "the message waits in the outbox");
    assert!(app.sent_emails_to(&message.to[0]).await.is_empty(), "nothing sent before the relay runs");

    run_relay(&app).await;

    // Published and removed by the time the run returns.
    assert!(!is_pending(&table, record.id).await, "the relayed message left the outbox");
    assert_eq!(table.get::<OutboxRecord>(&keys::outbox(record.id)).await.unwrap(), None);
    let email = assert_sent_once(&app, &message).await;
    assert_eq!(email.to, message.to);
    wait_until_marked_sent(&table, record.id).await;

    // Another run finds nothing of it to publish again.
    run_relay(&app).await;
    assert_sent_once(&app, &message).await;
}

#[tokio::test]
async fn a_young_message_is_left_to_the_function_that_wrote_it() {
    let app = TestApp::new();
    let table = table(&app).await;
    let message = email_to(&unique_email());
    let record = OutboxRecord {
        id: message.email_id,
        queue: "EMAILS_QUEUE_URL".into(),
        body: serde_json::to_string(&message).unwrap(),
        created_at: Utc::now(),
    };
    table.transact(vec![outbox::put(&table, &record).unwrap()]).await.unwrap();

    let report = run_relay(&app).await;
    assert!(report["waiting"].as_u64().unwrap() >= 1, "the young message is counted as waiting: {report}");
    assert!(is_pending(&table, record.id).await, "within the grace period the relay leaves it alone");
    tokio::time::sleep(SETTLE).await;
    assert!(app.sent_emails_to(&message.to[0]).await.is_empty(), "and sends nothing");

    // Its writer publishes it and removes it (as invite-staff does after commit).
    outbox::remove(&table, record.id).await.unwrap();
}

#[tokio::test]
async fn a_message_both_published_after_commit_and_relayed_is_sent_once() {
    let app = TestApp::new();
    let table = table(&app).await;
    let queue_url =
        std::env::var("STOCKYARD_EMAILS_QUEUE_URL").expect("STOCKYARD_EMAILS_QUEUE_URL (run via make test)");
    let emails = Publisher::new(aws_sdk_sqs::Client::new(&stockyard_platform::aws_config().await), queue_url);

    // The writer published right after commit, but stopped before removing the outbox record ...
    let message = email_to(&unique_email());
    let record = leave_in_outbox(&table, &message).await;
    emails.publish_raw(&record.body).await.expect("publish after commit");
    assert_sent_once(&app, &message).await;
    wait_until_marked_sent(&table, message.email_id).await;

    // ... so the relay publishes it a second time. A later message tells when the queue got that far.
    let later = email_to(&unique_email());
    leave_in_outbox(&table, &later).await;
    run_relay(&app).await;
    assert!(!is_pending(&table, record.id).await);
    assert!(!is_pending(&table, later.email_id).await);

    assert_sent_once(&app, &later).await;
    assert_sent_once(&app, &message).await;
}

/// Copies of one message handled by concurrent invocations (the local stack runs up to 4 batches
/// at once, as Lambda does): one claims the email and sends it, the others find it claimed or sent.
#[tokio::test]
async fn copies_of_a_message_delivered_at_the_same_time_are_sent_once() {
    let app = TestApp::new();
    let queue_url =
        std::env::var("STOCKYARD_EMAILS_QUEUE_URL").expect("STOCKYARD_EMAILS_QUEUE_URL (run via make test)");
    let emails = Publisher::new(aws_sdk_sqs::Client::new(&stockyard_platform::aws_config().await), queue_url);
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
    assert_sent_once(&app, &message).await;
}
