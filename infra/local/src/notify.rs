//! Bucket notifications: S3 tells a queue about new objects (`NotificationConfiguration.
//! QueueConfigurations` in the template). The emulators do not, so the local stack watches each
//! such bucket and sends the same event notification S3 would (`ObjectCreated:Put`, the key
//! URL-encoded, its size and ETag) for every object that appears under the configured prefix.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};
use tokio::sync::watch;

/// How often a watched bucket is listed.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct BucketWatch {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub bucket: String,
    pub prefix: String,
    pub queue_url: String,
    pub region: String,
}

/// The `(queue logical id, key prefix)` of each `s3:ObjectCreated:*` queue notification of a
/// bucket's properties.
pub fn queue_configurations(bucket_properties: &Value) -> Vec<(String, String)> {
    let configs = bucket_properties.pointer("/NotificationConfiguration/QueueConfigurations");
    configs
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c["Event"].as_str().is_some_and(|e| e.starts_with("s3:ObjectCreated")))
        .filter_map(|c| {
            let queue = c.pointer("/Queue/Fn::GetAtt/0")?.as_str()?.to_string();
            let prefix = c
                .pointer("/Filter/S3Key/Rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| r["Name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("prefix")))
                .and_then(|r| r["Value"].as_str())
                .unwrap_or("")
                .to_string();
            Some((queue, prefix))
        })
        .collect()
}

/// The event notification S3 sends for a new object.
pub fn event(bucket: &str, key: &str, size: i64, etag: &str, region: &str) -> Value {
    let encoded: String = percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2F", "/")
        .replace("%2D", "-")
        .replace("%5F", "_")
        .replace("%2E", ".")
        .replace("%20", "+");
    json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:LOCAL" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "local",
            "bucket": { "name": bucket, "ownerIdentity": { "principalId": "LOCAL" }, "arn": format!("arn:aws:s3:::{bucket}") },
            "object": { "key": encoded, "size": size, "eTag": etag.trim_matches('"'), "sequencer": format!("{:016X}", chrono::Utc::now().timestamp_micros()) },
        },
    }]})
}

impl BucketWatch {
    async fn list(&self) -> Result<Vec<(String, i64, String)>> {
        let mut out = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(&self.bucket).prefix(&self.prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for o in page.contents() {
                out.push((
                    o.key().unwrap_or_default().to_string(),
                    o.size().unwrap_or(0),
                    o.e_tag().unwrap_or("").to_string(),
                ));
            }
        }
        Ok(out)
    }

    /// Announces every object that appears (or is written again with other content) until
    /// `shutdown` flips. Objects present when watching starts are not announced.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut seen: HashSet<(String, String)> =
            self.list().await.unwrap_or_default().into_iter().map(|(k, _, e)| (k, e)).collect();
        let mut last_error = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = shutdown.changed() => return,
            }
            let objects = match self.list().await {
                Ok(o) => o,
                Err(e) => {
                    let text = format!("{e:#}");
                    if last_error.as_ref() != Some(&text) {
                        eprintln!("s3: watching {} failed: {text}", self.bucket);
                        last_error = Some(text);
                    }
                    continue;
                }
            };
            last_error = None;
            let present: HashSet<(String, String)> = objects.iter().map(|(k, _, e)| (k.clone(), e.clone())).collect();
            for (key, size, etag) in objects {
                if seen.contains(&(key.clone(), etag.clone())) {
                    continue;
                }
                let body = event(&self.bucket, &key, size, &etag, &self.region).to_string();
                match self.sqs.send_message().queue_url(&self.queue_url).message_body(body).send().await {
                    Ok(_) => {
                        eprintln!("S3   {:<24} ObjectCreated {key} ({size} bytes)", self.bucket);
                        seen.insert((key, etag));
                    }
                    Err(e) => {
                        eprintln!("s3: notifying about {key} failed: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
                    }
                }
            }
            // Deleted objects are forgotten, so a key written again is announced again.
            seen.retain(|k| present.contains(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_notifications_are_read_from_the_template_with_their_prefix() {
        let props = json!({ "NotificationConfiguration": { "QueueConfigurations": [
            { "Event": "s3:ObjectCreated:*", "Queue": { "Fn::GetAtt": ["Uploads", "Arn"] },
              "Filter": { "S3Key": { "Rules": [{ "Name": "prefix", "Value": "uploads/" }] } } },
            { "Event": "s3:ObjectRemoved:*", "Queue": { "Fn::GetAtt": ["Other", "Arn"] } }
        ] } });
        assert_eq!(queue_configurations(&props), [("Uploads".to_string(), "uploads/".to_string())]);
        assert!(queue_configurations(&json!({})).is_empty());
    }

    #[test]
    fn events_have_s3s_shape_with_the_key_encoded() {
        let e = event("media", "uploads/a b/c.jpg", 12, "\"abc\"", "us-east-1");
        let object = &e["Records"][0]["s3"]["object"];
        assert_eq!(object["key"], "uploads/a+b/c.jpg", "as S3 writes it: a space is a plus");
        assert_eq!((object["size"].as_i64(), object["eTag"].as_str()), (Some(12), Some("abc")));
        assert_eq!(e["Records"][0]["eventName"], "ObjectCreated:Put");
    }
}
