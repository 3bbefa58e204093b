//! The email outbox: a message committed to the outbox but never published (the writing function
//! stopped between commit and publish) is published by `relay-outbox` and sent by `send-email`,
//! exactly once however many times it is delivered.

use chrono::Utc;
use stockyard_domain::ids::EmailId;
use stockyard_messaging::{EmailMessage, Publisher};
use stockyard_store::outbox::{self, OutboxRecord};
use stockyard_store::{PageRequest, Table};
use stockyard_tests::{SentEmail, TestApp, eventually, unique_email, unique_tag};

/// The scheduled function, as its binary is named in template.yaml (`RelayOutboxFunction`).
const RELAY: &str = "relay-outbox";

/// Older than the relay's grace period (`relay::GRACE`, 30 s), which leaves younger messages
/// to the function that wrote them.
const LEFT_BEHIND_FOR: chrono::Duration = chrono::Duration::minutes(5);

async fn table(app: &TestApp) -> Table {
    Table::new(app.dynamodb().await, app.table_name())
}

/// The emails queue, which `send-email` consumes, as the writing functions publish to it.
async fn emails_queue() -> Publisher {
    let queue_url =
        std::env::var("STOCKYARD_EMAILS_QUEUE_URL").expect("STOCKYARD_EMAILS_QUEUE_URL (run via make test)");
    Publisher::new(aws_sdk_sqs::Client::new(&stockyard_platform::aws_config().await), queue_url)
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
    let mut tx = table.tx();
    outbox::enqueue(&mut tx, &record).expect("outbox write");
    table.commit(tx).await.expect("outbox commit");
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

/// Waits until `message` reaches its address, and checks that what arrived is `message`.
async fn arrives(app: &TestApp, message: &EmailMessage) -> SentEmail {
    let emails = app.emails_to(&message.to[0]).await;
    let email = emails[0].clone();
    assert_is(&email, message);
    email
}

#[track_caller]
fn assert_is(email: &SentEmail, message: &EmailMessage) {
    assert_eq!(email.to, message.to, "{email:#?}");
    assert_eq!(email.subject, message.subject, "{email:#?}");
    assert_eq!(email.text.as_deref(), Some(message.text.as_str()), "{email:#?}");
}

/// Asserts exactly one email with `message`'s content reached its address, counted once `later`
/// (published after every copy of `message`, to the same queue) has arrived.
async fn assert_sent_once(app: &TestApp, message: &EmailMessage, later: &EmailMessage) {
    let address = &message.to[0];
    let emails = app.emails_to_after_marker(address, &later.to[0]).await;
    assert_eq!(emails.len(), 1, "exactly one email to {address}, got {emails:#?}");
    assert_is(&emails[0], message);
}

async fn wait_until_marked_sent(table: &Table, id: EmailId) {
    eventually(format!("email {id} marked sent"), move || async move {
        outbox::was_sent(table, id).await.expect("sent marker").then_some(())
    })
    .await;
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
    assert_eq!(outbox::find(&table, record.id).await.unwrap(), None);
    arrives(&app, &message).await;
    wait_until_marked_sent(&table, record.id).await;

    // Another run finds nothing of it to publish again. It relays a later message instead, whose
    // arrival shows everything published before it has been through the queue.
    let later = email_to(&unique_email());
    leave_in_outbox(&table, &later).await;
    run_relay(&app).await;
    assert!(!is_pending(&table, later.email_id).await, "the later message was relayed");
    assert_sent_once(&app, &message, &later).await;
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
    let mut tx = table.tx();
    outbox::enqueue(&mut tx, &record).unwrap();
    table.commit(tx).await.unwrap();

    let report = run_relay(&app).await;
    assert!(report["waiting"].as_u64().unwrap() >= 1, "the young message is counted as waiting: {report}");
    assert!(is_pending(&table, record.id).await, "within the grace period the relay leaves it alone");

    // A message old enough to relay, relayed by a later run: once it has arrived, anything the
    // first run published would have arrived too.
    let later = email_to(&unique_email());
    leave_in_outbox(&table, &later).await;
    run_relay(&app).await;
    arrives(&app, &later).await;
    assert!(app.sent_emails_to(&message.to[0]).await.is_empty(), "and sends nothing");

    // Its writer publishes it and removes it (as invite-staff does after commit).
    outbox::remove(&table, record.id).await.unwrap();
}

#[tokio::test]
async fn a_message_both_published_after_commit_and_relayed_is_sent_once() {
    let app = TestApp::new();
    let table = table(&app).await;
    let emails = emails_queue().await;

    // The writer published right after commit, but stopped before removing the outbox record ...
    let message = email_to(&unique_email());
    let record = leave_in_outbox(&table, &message).await;
    emails.publish_raw(&record.body).await.expect("publish after commit");
    arrives(&app, &message).await;
    wait_until_marked_sent(&table, message.email_id).await;

    // ... so the relay publishes it a second time.
    run_relay(&app).await;
    assert!(!is_pending(&table, record.id).await, "the relay published the copy and removed it");

    // A later message, relayed by a later run, tells when the queue got past the second copy.
    let later = email_to(&unique_email());
    leave_in_outbox(&table, &later).await;
    run_relay(&app).await;
    assert!(!is_pending(&table, later.email_id).await);
    arrives(&app, &later).await;
    assert_sent_once(&app, &message, &later).await;
}

/// Copies of one message handled by concurrent invocations (the local stack runs up to 4 batches
/// at once, as Lambda does): one claims the email and sends it, the others find it claimed or sent.
#[tokio::test]
async fn copies_of_a_message_delivered_at_the_same_time_are_sent_once() {
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
    arrives(&app, &message).await;

    // A later message on the same queue, published after every copy.
    let later = email_to(&unique_email());
    emails.publish_raw(&serde_json::to_string(&later).unwrap()).await.expect("publish the later message");
    assert_sent_once(&app, &message, &later).await;
}
