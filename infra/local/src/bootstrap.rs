//! Creates the template's tables, queues, buckets and the SES sender identity in the emulators.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::resolve::{Physical, Resolver};
use crate::template::{Template, scalar_string};

pub const REGION: &str = "us-east-1";
pub const STACK_NAME: &str = "stockyard-local";

#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// DynamoDB Local serves table streams on its own endpoint.
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub s3: aws_sdk_s3::Client,
    pub http: reqwest::Client,
    pub aws_url: String,
}

impl Clients {
    pub async fn new(dynamodb_url: &str, aws_url: &str) -> Self {
        let conf = stockyard_platform::sdk_loader()
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "stockyard-local",
            ))
            .endpoint_url(aws_url)
            .load()
            .await;
        let ddb_conf = aws_sdk_dynamodb::config::Builder::from(&conf).endpoint_url(dynamodb_url).build();
        let streams_conf = aws_sdk_dynamodbstreams::config::Builder::from(&conf).endpoint_url(dynamodb_url).build();
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(ddb_conf),
            streams: aws_sdk_dynamodbstreams::Client::from_conf(streams_conf),
            sqs: aws_sdk_sqs::Client::new(&conf),
            sesv2: aws_sdk_sesv2::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build()),
            http: reqwest::Client::new(),
            aws_url: aws_url.to_string(),
        }
    }
}

pub fn physical_name(logical_id: &str) -> String {
    format!("{STACK_NAME}-{logical_id}")
}

/// Physical names for everything that has no emulator-assigned identity (tables, buckets,
/// functions, APIs, others). Queues are added by [`create_queues`].
pub fn static_physical(template: &Template, account: &str, api_url: &str) -> Result<BTreeMap<String, Physical>> {
    let mut out = BTreeMap::new();
    let functions: BTreeMap<String, String> =
        template.functions()?.into_iter().map(|f| (f.logical_id, f.binary)).collect();
    for (id, res) in &template.resources {
        let name = physical_name(id);
        let p = match res.kind.as_str() {
            "AWS::DynamoDB::Table" => Physical {
                kind: res.kind.clone(),
                arn: Some(format!("arn:aws:dynamodb:{REGION}:{account}:table/{name}")),
                name,
                url: None,
            },
            "AWS::S3::Bucket" => {
                let name = name.to_ascii_lowercase();
                Physical { kind: res.kind.clone(), arn: Some(format!("arn:aws:s3:::{name}")), name, url: None }
            }
            "AWS::Serverless::Function" => {
                let name = functions.get(id).cloned().unwrap_or(name);
                Physical {
                    kind: res.kind.clone(),
                    arn: Some(format!("arn:aws:lambda:{REGION}:{account}:function:{name}")),
                    name,
                    url: None,
                }
            }
            "AWS::Serverless::HttpApi" | "AWS::Serverless::Api" => Physical {
                kind: res.kind.clone(),
                name: "local".to_string(),
                arn: None,
                url: Some(api_url.to_string()),
            },
            // The local stand-in for a CDN in front of a bucket: the gateway serves its objects.
            "AWS::CloudFront::Distribution" => {
                let origin = res
                    .properties
                    .pointer("/DistributionConfig/Origins/0/DomainName/Fn::GetAtt/0")
                    .and_then(Value::as_str)
                    .map(|bucket| physical_name(bucket).to_ascii_lowercase())
                    .unwrap_or_default();
                Physical {
                    kind: res.kind.clone(),
                    name,
                    arn: None,
                    url: Some(format!("{api_url}/_local/media/{origin}")),
                }
            }
            "AWS::SQS::Queue" => continue,
            _ => Physical { kind: res.kind.clone(), name, arn: None, url: None },
        };
        out.insert(id.clone(), p);
    }
    Ok(out)
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(scalar_string)
}

fn key_schema(v: &Value) -> Result<Vec<ddb::KeySchemaElement>> {
    v.as_array()
        .ok_or_else(|| anyhow!("KeySchema must be a list"))?
        .iter()
        .map(|k| {
            Ok(ddb::KeySchemaElement::builder()
                .attribute_name(s(k, "AttributeName").unwrap_or_default())
                .key_type(ddb::KeyType::from(s(k, "KeyType").unwrap_or_default().as_str()))
                .build()?)
        })
        .collect()
}

fn projection(v: &Value) -> ddb::Projection {
    ddb::Projection::builder()
        .projection_type(ddb::ProjectionType::from(s(v, "ProjectionType").unwrap_or_else(|| "ALL".into()).as_str()))
        .set_non_key_attributes(
            v.get("NonKeyAttributes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()),
        )
        .build()
}

pub async fn create_tables(c: &Clients, template: &Template, resolver: &Resolver<'_>) -> Result<()> {
    for (id, res) in template.resources_of("AWS::DynamoDB::Table") {
        let p = resolver.value(&res.properties).with_context(|| format!("table {id}"))?;
        let name = physical_name(id);
        // On demand whatever the template says: capacity means nothing to DynamoDB Local.
        let mut req = c
            .dynamodb
            .create_table()
            .table_name(&name)
            .set_key_schema(Some(key_schema(&p["KeySchema"])?))
            .billing_mode(ddb::BillingMode::PayPerRequest);
        for a in p.get("AttributeDefinitions").and_then(Value::as_array).into_iter().flatten() {
            req = req.attribute_definitions(
                ddb::AttributeDefinition::builder()
                    .attribute_name(s(a, "AttributeName").unwrap_or_default())
                    .attribute_type(ddb::ScalarAttributeType::from(s(a, "AttributeType").unwrap_or_default().as_str()))
                    .build()?,
            );
        }
        for g in p.get("GlobalSecondaryIndexes").and_then(Value::as_array).into_iter().flatten() {
            req = req.global_secondary_indexes(
                ddb::GlobalSecondaryIndex::builder()
                    .index_name(s(g, "IndexName").unwrap_or_default())
                    .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                    .projection(projection(&g["Projection"]))
                    .build()?,
            );
        }
        for l in p.get("LocalSecondaryIndexes").and_then(Value::as_array).into_iter().flatten() {
            req = req.local_secondary_indexes(
                ddb::LocalSecondaryIndex::builder()
                    .index_name(s(l, "IndexName").unwrap_or_default())
                    .set_key_schema(Some(key_schema(&l["KeySchema"])?))
                    .projection(projection(&l["Projection"]))
                    .build()?,
            );
        }
        if let Some(view) = p.get("StreamSpecification").and_then(|v| s(v, "StreamViewType")) {
            req = req.stream_specification(
                ddb::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(ddb::StreamViewType::from(view.as_str()))
                    .build()?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => {
                return Err(anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
                    .with_context(|| format!("creating table {name}"));
            }
        }
        if let Some(ttl) = p.get("TimeToLiveSpecification")
            && ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(false)
        {
            c.dynamodb
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    ddb::TimeToLiveSpecification::builder()
                        .attribute_name(s(ttl, "AttributeName").unwrap_or_default())
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
                .with_context(|| format!("enabling TTL on {name}"))?;
        }
    }
    Ok(())
}

const QUEUE_ATTRIBUTES: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Creates every queue (attributes first, then redrive policies once all ARNs are known) and
/// adds them to `physical`.
pub async fn create_queues(
    c: &Clients,
    template: &Template,
    physical: &mut BTreeMap<String, Physical>,
    parameters: &BTreeMap<String, String>,
    account: &str,
) -> Result<()> {
    let queues: Vec<(String, Value)> =
        template.resources_of("AWS::SQS::Queue").map(|(id, r)| (id.clone(), r.properties.clone())).collect();
    for (id, props) in &queues {
        let fifo = props.get("FifoQueue").and_then(Value::as_bool).unwrap_or(false);
        let mut name = physical_name(id);
        if fifo {
            name.push_str(".fifo");
        }
        let mut req = c.sqs.create_queue().queue_name(&name);
        for attr in QUEUE_ATTRIBUTES {
            if let Some(v) = props.get(*attr).and_then(scalar_string) {
                req = req.attributes(QueueAttributeName::from(*attr), v);
            }
        }
        let out = req
            .send()
            .await
            .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
            .with_context(|| format!("creating queue {name}"))?;
        let url = out.queue_url().unwrap_or_default().to_string();
        let attrs = c
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_else(|| format!("arn:aws:sqs:{REGION}:{account}:{name}"));
        physical.insert(id.clone(), Physical { kind: "AWS::SQS::Queue".into(), name, arn: Some(arn), url: Some(url) });
    }
    for (id, props) in &queues {
        for (attr, key) in [("RedrivePolicy", "RedrivePolicy"), ("RedriveAllowPolicy", "RedriveAllowPolicy")] {
            let Some(policy) = props.get(key) else { continue };
            let resolver = Resolver { parameters, physical, region: REGION, account, stack_name: STACK_NAME };
            let resolved = resolver.value(policy).with_context(|| format!("{id}.{key}"))?;
            let text = match resolved {
                Value::String(s) => s,
                other => other.to_string(),
            };
            c.sqs
                .set_queue_attributes()
                .queue_url(physical[id].url.clone().unwrap_or_default())
                .attributes(QueueAttributeName::from(attr), text)
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
                .with_context(|| format!("setting {attr} on {id}"))?;
        }
    }
    Ok(())
}

pub async fn create_buckets(c: &Clients, template: &Template, physical: &BTreeMap<String, Physical>) -> Result<()> {
    for (id, _) in template.resources_of("AWS::S3::Bucket") {
        let name = &physical[id].name;
        let resp = c
            .http
            .put(format!("{}/{name}", c.aws_url))
            .send()
            .await
            .with_context(|| format!("creating bucket {name}"))?;
        if !resp.status().is_success() && resp.status().as_u16() != 409 {
            anyhow::bail!("creating bucket {name}: HTTP {}", resp.status());
        }
    }
    Ok(())
}

/// Verifies `address` as an SES identity so sends from it succeed.
pub async fn verify_sender(c: &Clients, address: &str) -> Result<()> {
    match c.sesv2.create_email_identity().email_identity(address).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_already_exists_exception()) => Ok(()),
        Err(e) => Err(anyhow!(aws_sdk_sesv2::error::DisplayErrorContext(e)))
            .with_context(|| format!("verifying SES identity {address}")),
    }
}
