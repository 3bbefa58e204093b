//! TEMPORARY: echo lambda for gateway testing (removed after).
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let p = event.payload;
    if p.get("Records").is_some() {
        // SQS: fail messages whose body contains "fail"
        let fails: Vec<Value> = p["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["body"].as_str().unwrap_or("").contains("fail"))
            .map(|r| json!({"itemIdentifier": r["messageId"]}))
            .collect();
        eprintln!("sqs batch {} failures {}", p["Records"].as_array().unwrap().len(), fails.len());
        return Ok(json!({"batchItemFailures": fails}));
    }
    let path = p["rawPath"].as_str().unwrap_or("").to_string();
    if path.contains("crash") {
        std::process::exit(3);
    }
    if path.contains("sleep") {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
    if path.contains("error") {
        return Err("boom".into());
    }
    Ok(json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "cookies": ["a=1"],
      "body": json!({"event": p, "env": {"fn": std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(), "table": std::env::var("TABLE_NAME").ok(), "q": std::env::var("EMAILS_QUEUE_URL").ok(), "aud": std::env::var("JWT_AUDIENCE").ok(), "pid": std::process::id()}}).to_string()}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
