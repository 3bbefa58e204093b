//! The store against a mocked DynamoDB: the failures DynamoDB Local never produces (a transaction
//! cancelled by a concurrent one, throttling, unprocessed batch writes, a commit whose answer is
//! lost), and what the store makes of them.
//!
//! The client is the SDK's own (`aws-smithy-mocks`) with the SDK's standard retries, as every
//! function's client has them (`aws_config::defaults`): a failure the SDK retries by itself is
//! counted once per attempt it sends. Errors are answered on the wire (status and JSON body, as
//! DynamoDB sends them), so they pass through the SDK's own parsing and retry classification
//! before the store sees them. Time is paused: the backoffs of both retry layers are skipped, not
//! waited for. No emulator is needed: `cargo test -p stockyard-store --lib fault_tests`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition};
use aws_sdk_dynamodb::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::entity::Entity;
use crate::idempotency::{self, IdempotencyRecord};
use crate::keys::Key;
use crate::retry;
use crate::table::{Expr, Item};
use crate::{StoreError, Table, Tx};

// ---- a mocked table -------------------------------------------------------------------------------

/// Attempts the SDK makes of one request in its standard mode (the functions' configuration).
fn sdk_attempts() -> usize {
    RetryConfig::standard().max_attempts() as usize
}

/// The `ClientRequestToken` of every TransactWriteItems attempt sent, in order.
#[derive(Debug, Clone, Default)]
struct SentTokens(Arc<Mutex<Vec<String>>>);

impl SentTokens {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Intercept for SentTokens {
    fn name(&self) -> &'static str {
        "SentTokens"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let body: serde_json::Value = serde_json::from_slice(context.request().body().bytes().unwrap_or_default())?;
        if let Some(token) = body["ClientRequestToken"].as_str() {
            self.0.lock().unwrap().push(token.to_string());
        }
        Ok(())
    }
}

/// A table named `t` whose client answers from `rules`, in order. The client is configured as the
/// functions' clients are (standard retries, a random `ClientRequestToken` for every request) but for
/// its mocked transport, its test credentials, and a retry quota (token bucket) of its own, so tests
/// running at once cannot drain each other's. (`mock_client!` would also fix one idempotency token
/// for every request, which would hide what the lost-answer tests are about.)
fn mocked(rules: &[&Rule]) -> (Table, SentTokens) {
    static CLIENTS: AtomicUsize = AtomicUsize::new(0);
    let mut answers = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for rule in rules {
        answers = answers.with_rule(rule);
    }
    let tokens = SentTokens::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .http_client(create_mock_http_client())
        .interceptor(answers)
        .interceptor(tokens.clone())
        .retry_config(RetryConfig::standard())
        .retry_partition(RetryPartition::new(format!("fault-tests-{}", CLIENTS.fetch_add(1, Ordering::Relaxed))))
        .build();
    (Table::new(Client::from_conf(config), "t"), tokens)
}

// ---- DynamoDB's answers, as it sends them ---------------------------------------------------------

fn error_body(kind: &str, message: &str) -> String {
    json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message }).to_string()
}

/// A TransactionCanceledException with one reason code per step (`"None"` for a step that was fine).
fn cancelled(codes: &[&str]) -> String {
    let reasons: Vec<_> = codes
        .iter()
        .map(|&code| match code {
            "None" => json!({ "Code": "None" }),
            "ConditionalCheckFailed" => json!({ "Code": code, "Message": "The conditional request failed" }),
            _ => json!({ "Code": code, "Message": format!("{code} (mocked)") }),
        })
        .collect();
    json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
        "CancellationReasons": reasons,
    })
    .to_string()
}

fn throughput_exceeded() -> String {
    error_body(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )
}

fn internal_server_error() -> String {
    error_body("InternalServerError", "Internal server error")
}

fn committed() -> TransactWriteItemsOutput {
    TransactWriteItemsOutput::builder().build()
}

// ---- records ----------------------------------------------------------------------------------------

/// A record claiming a unique name (an email, a handle): whoever writes it first owns the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct NameClaim {
    name: String,
    owner: String,
}

impl Entity for NameClaim {
    type Id = String;
    const NAME: &'static str = "name claim";
    fn key(name: &String) -> Key {
        Key { pk: format!("FAULTTEST#CLAIM#{name}"), sk: "CLAIM".into() }
    }
    fn key_of(&self) -> Key {
        Self::key(&self.name)
    }
}

/// A record that a create-type request makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Thing {
    id: String,
    name: String,
}

impl Entity for Thing {
    type Id = String;
    const NAME: &'static str = "thing";
    fn key(id: &String) -> Key {
        Key { pk: format!("FAULTTEST#THING#{id}"), sk: "THING".into() }
    }
    fn key_of(&self) -> Key {
        Self::key(&self.id)
    }
}

/// The transaction of creating a thing under a unique name, with the response recorded under the
/// request's idempotency key, as `stockyard_http::idempotency::commit` builds it: steps `claim`,
/// `thing`, `idempotency`.
fn create_thing(table: &Table) -> Tx {
    let thing = Thing { id: "thing-1".into(), name: "anvil".into() };
    let claim = NameClaim { name: thing.name.clone(), owner: thing.id.clone() };
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let response = IdempotencyRecord::new(
        "user-1:POST /things".into(),
        "key-1".into(),
        "request-hash".into(),
        201,
        r#"{"id":"thing-1"}"#.into(),
        at,
    );
    let mut tx = table.tx();
    tx.put("claim", &claim, Some(Expr::not_exists())).unwrap();
    tx.put("thing", &thing, Some(Expr::not_exists())).unwrap();
    idempotency::record(&mut tx, &response).unwrap();
    assert_eq!(tx.step_names(), ["claim", "thing", idempotency::STEP]);
    tx
}

/// A checkout-like transaction of three named steps, the second a reservation of stock.
fn checkout(table: &Table) -> Tx {
    let mut tx = table.tx();
    let order = Thing { id: "order-1".into(), name: "order".into() };
    tx.put("order", &order, Some(Expr::not_exists())).unwrap();
    tx.check::<Thing>("line:sku-2", &"sku-2".to_string(), Expr::new("stock >= :n").val(":n", &3)).unwrap();
    tx.check::<Thing>("line:sku-3", &"sku-3".to_string(), Expr::new("stock >= :n").val(":n", &1)).unwrap();
    assert_eq!(tx.step_names(), ["order", "line:sku-2", "line:sku-3"]);
    tx
}

fn item(n: usize) -> Item {
    HashMap::from([
        ("PK".to_string(), AttributeValue::S(format!("FAULTTEST#BATCH#{n}"))),
        ("SK".to_string(), AttributeValue::S("ROW".into())),
        ("n".to_string(), AttributeValue::N(n.to_string())),
    ])
}

fn writes_to_t(input: &aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput) -> Vec<WriteRequest> {
    input.request_items().and_then(|m| m.get("t")).cloned().unwrap_or_default()
}

// ---- transactions -------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_transaction_cancelled_by_a_concurrent_transaction_is_tried_again_and_commits() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["None", "TransactionConflict", "None"])))
        .output(committed)
        .build();
    let (table, _) = mocked(&[&rule]);

    table.commit(checkout(&table)).await.expect("the second attempt commits");

    // The SDK does not retry a cancellation; the store's policy does, once.
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_transaction_whose_token_is_refused_as_reused_is_sent_again_as_a_new_request_and_commits() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(error_body("IdempotentParameterMismatchException", "")))
        .output(committed)
        .build();
    let (table, tokens) = mocked(&[&rule]);

    table.commit(checkout(&table)).await.expect("the new request commits");

    assert_eq!(rule.num_calls(), 2);
    let tokens = tokens.all();
    assert!(tokens.len() == 2 && tokens[0] != tokens[1], "a new request has a new token: {tokens:?}");
}

#[tokio::test(start_paused = true)]
async fn a_transaction_whose_second_step_fails_its_condition_is_not_retried_and_names_that_step() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["None", "ConditionalCheckFailed", "None"])))
        .repeatedly()
        .build();
    let (table, _) = mocked(&[&rule]);

    let err = table.commit(checkout(&table)).await.expect_err("the condition of line:sku-2 failed");

    assert!(matches!(&err, StoreError::Conflict { step } if step == "line:sku-2"), "{err:?}");
    assert!(err.failed_at("line:sku-2") && !err.is_transient());
    assert_eq!(rule.num_calls(), 1);
}

/// Throttling of an item inside a transaction comes back as a cancellation reason, which the SDK
/// does not retry: the store's policy does, for all its attempts.
#[tokio::test(start_paused = true)]
async fn a_transaction_cancelled_by_throttling_every_time_gives_up_after_the_policys_attempts_as_throttled() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["None", "ThrottlingError", "None"])))
        .repeatedly()
        .build();
    let (table, _) = mocked(&[&rule]);

    let err = table.commit(checkout(&table)).await.expect_err("throttled on every attempt");

    assert!(matches!(err, StoreError::Throttled(_)), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(rule.num_calls(), retry::ATTEMPTS);
}

/// Throttling answered as an exception (not as a cancellation reason) is retried by the SDK, which
/// then gives up; the store's policy does not start over on top of it (it used to: 3 x 6 = 18 calls).
#[tokio::test(start_paused = true)]
async fn a_transaction_throttled_on_every_call_is_retried_by_the_sdk_alone_and_gives_up_as_throttled() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(throughput_exceeded()))
        .repeatedly()
        .build();
    let (table, _) = mocked(&[&rule]);

    let err = table.commit(checkout(&table)).await.expect_err("throttled on every call");

    assert!(matches!(err, StoreError::Throttled(_)), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(rule.num_calls(), sdk_attempts(), "calls sent for one commit");
}

// ---- batch writes -------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn unprocessed_batch_writes_are_sent_again_alone_until_every_item_is_written() {
    let sent: Arc<Mutex<Vec<Vec<WriteRequest>>>> = Arc::default();
    let (log, log2) = (sent.clone(), sent.clone());
    let partial = mock!(Client::batch_write_item).then_compute_output(move |input| {
        let writes = writes_to_t(input);
        log.lock().unwrap().push(writes.clone());
        // DynamoDB got to some of the batch only: the 2nd and the 4th come back unprocessed.
        let unprocessed = vec![writes[1].clone(), writes[3].clone()];
        BatchWriteItemOutput::builder().unprocessed_items("t", unprocessed).build()
    });
    let rest = mock!(Client::batch_write_item).then_compute_output(move |input| {
        log2.lock().unwrap().push(writes_to_t(input));
        BatchWriteItemOutput::builder().build()
    });
    let (table, _) = mocked(&[&partial, &rest]);

    let written = table.put_batch((0..5).map(item).collect(), 2).await.unwrap();

    assert_eq!(written, 5);
    assert_eq!((partial.num_calls(), rest.num_calls()), (1, 1));
    let sent = sent.lock().unwrap();
    let items = |writes: &[WriteRequest]| -> Vec<Item> {
        writes.iter().map(|w| w.put_request().unwrap().item().clone()).collect()
    };
    assert_eq!(items(&sent[0]), (0..5).map(item).collect::<Vec<_>>());
    assert_eq!(items(&sent[1]), vec![item(1), item(3)], "the second call carries exactly the unprocessed ones");
}

/// A batch throttled as a whole: the SDK's attempts, then the batch fails (unlike writes handed back
/// unprocessed, which the store's policy sends again).
#[tokio::test(start_paused = true)]
async fn a_batch_write_throttled_on_every_call_is_retried_by_the_sdk_alone_and_gives_up_as_throttled() {
    let rule = mock!(Client::batch_write_item)
        .sequence()
        .http_status(400, Some(error_body("ThrottlingException", "Rate of requests exceeds the allowed throughput.")))
        .repeatedly()
        .build();
    let (table, _) = mocked(&[&rule]);

    let err = table.put_batch((0..3).map(item).collect(), 1).await.expect_err("throttled on every call");

    assert!(matches!(err, StoreError::Throttled(_)), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(rule.num_calls(), sdk_attempts(), "calls sent for one batch");
}

// ---- a commit whose answer is lost ----------------------------------------------------------------------

/// DynamoDB applied the transaction, but its answer never arrived: here an HTTP 500, which for
/// TransactWriteItems means "the transaction may or may not have been applied" (a timeout or a
/// dropped connection is the same case). The SDK sends the same request again, with the same
/// `ClientRequestToken`; DynamoDB answers a token it has already applied (within 10 minutes) with
/// success and applies nothing a second time. So the common case is an ordinary `Ok`.
#[tokio::test(start_paused = true)]
async fn a_commit_whose_answer_is_lost_is_sent_again_by_the_sdk_with_the_same_token_and_succeeds() {
    let rule = mock!(Client::transact_write_items)
        .sequence()
        .http_status(500, Some(internal_server_error()))
        .output(committed)
        .build();
    let (table, tokens) = mocked(&[&rule]);

    table.commit(create_thing(&table)).await.expect("the SDK's second attempt is answered with success");

    assert_eq!(rule.num_calls(), 2);
    let tokens = tokens.all();
    assert_eq!(tokens.len(), 2);
    assert!(!tokens[0].is_empty() && tokens[0] == tokens[1], "one idempotent request sent twice: {tokens:?}");
}

/// When every answer is lost, the store cannot know whether the create happened. It says so
/// (`Unavailable`, not transient, so its policy does not send the transaction again) rather than
/// guessing. That is safe because the write carries its own proof: the claim and the idempotency
/// record are written in the same transaction as the thing, each under `attribute_not_exists`. A
/// caller who tries again with the same Idempotency-Key is normally answered from that record
/// before anything is written (`stockyard_http::idempotency::idempotent`); a retry that reaches the
/// commit anyway (a new request, hence a new token) meets its own first attempt: the transaction is
/// cancelled at its claim step, which a caller treats as "already done" (`idempotent` then replays
/// the stored response). Either way the thing exists once.
#[tokio::test(start_paused = true)]
async fn a_create_whose_answers_were_all_lost_reports_unavailable_and_its_retry_meets_its_own_claim() {
    let lost = mock!(Client::transact_write_items)
        .sequence()
        .http_status(500, Some(internal_server_error()))
        .times(sdk_attempts())
        .build();
    let already_done = mock!(Client::transact_write_items)
        .sequence()
        .http_status(400, Some(cancelled(&["ConditionalCheckFailed", "None", "ConditionalCheckFailed"])))
        .repeatedly()
        .build();
    let (table, tokens) = mocked(&[&lost, &already_done]);

    let first = table.commit(create_thing(&table)).await.expect_err("no answer arrived");
    assert!(matches!(first, StoreError::Unavailable(_)), "{first:?}");
    assert!(!first.is_transient(), "an unknown outcome is not retried by the store's policy");
    assert_eq!((lost.num_calls(), already_done.num_calls()), (sdk_attempts(), 0));

    let again = table.commit(create_thing(&table)).await.expect_err("the first attempt did commit");
    assert!(matches!(&again, StoreError::Conflict { step } if step == "claim"), "{again:?}");
    assert_eq!(already_done.num_calls(), 1);

    let tokens = tokens.all();
    assert_eq!(tokens.len(), sdk_attempts() + 1);
    assert!(tokens[..sdk_attempts()].iter().all(|t| *t == tokens[0]), "the SDK resends one request: {tokens:?}");
    assert_ne!(tokens[sdk_attempts()], tokens[0], "the caller's retry is a new request");
}
