//! template.yaml as the local stack sees it: resources, parameters, functions and their events.
//!
//! The YAML is converted to JSON with CloudFormation short-form tags expanded to their long
//! form (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` ->
//! `{"Fn::Sub": s}`), so the rest of the tool only deals with one representation.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use heck::ToKebabCase;
use serde_json::{Map, Value};

/// The parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, ParameterDef>,
    /// `Globals.Function` (empty object when absent).
    pub globals_function: Value,
    pub resources: BTreeMap<String, Resource>,
    pub outputs: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct ParameterDef {
    pub default: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

/// One `AWS::Serverless::Function`, with globals applied.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary` (falls back to the logical id in kebab case).
    pub binary: String,
    pub memory_mb: u64,
    pub timeout_s: u64,
    /// `ReservedConcurrentExecutions`: at most this many instances at once.
    pub reserved_concurrency: Option<usize>,
    /// Unresolved environment: globals merged with the function's own (function wins).
    pub environment: BTreeMap<String, Value>,
    pub events: Vec<FunctionEvent>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FunctionEvent {
    Http {
        name: String,
        method: String,
        path: String,
    },
    Sqs {
        name: String,
        /// Unresolved `Queue` property (normally `!GetAtt Q.Arn`).
        queue: Value,
        batch_size: u32,
        report_batch_item_failures: bool,
        /// `ScalingConfig.MaximumConcurrency`: invocations of the function this trigger runs at once.
        maximum_concurrency: Option<usize>,
        /// `MaximumBatchingWindowInSeconds`: how long a batch gathers messages before it is
        /// delivered short of `batch_size` (0: at once).
        batching_window_seconds: u64,
        enabled: bool,
    },
    Schedule {
        name: String,
        expression: String,
        enabled: bool,
        input: Option<String>,
    },
    /// A DynamoDB table's stream (`Stream: !GetAtt Table.StreamArn`).
    TableStream {
        name: String,
        /// The table's logical id.
        table: String,
        batch_size: u32,
        from_start: bool,
        report_batch_item_failures: bool,
        max_retries: u32,
        enabled: bool,
    },
}

impl Template {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        let doc = yaml_to_json(yaml)?;
        let obj = doc.as_object().ok_or_else(|| anyhow!("template is not a mapping"))?;

        let mut parameters = BTreeMap::new();
        if let Some(params) = obj.get("Parameters").and_then(Value::as_object) {
            for (name, def) in params {
                parameters.insert(name.clone(), ParameterDef { default: def.get("Default").and_then(scalar_string) });
            }
        }
        let globals_function =
            obj.get("Globals").and_then(|g| g.get("Function")).cloned().unwrap_or_else(|| Value::Object(Map::new()));

        let mut resources = BTreeMap::new();
        for (id, res) in
            obj.get("Resources").and_then(Value::as_object).ok_or_else(|| anyhow!("template has no Resources"))?
        {
            let kind = res
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("resource {id} has no Type"))?
                .to_string();
            resources.insert(
                id.clone(),
                Resource {
                    kind,
                    properties: res.get("Properties").cloned().unwrap_or(Value::Null),
                    metadata: res.get("Metadata").cloned().unwrap_or(Value::Null),
                },
            );
        }
        let outputs = obj
            .get("Outputs")
            .and_then(Value::as_object)
            .map(|o| o.iter().filter_map(|(k, v)| v.get("Value").map(|v| (k.clone(), v.clone()))).collect())
            .unwrap_or_default();
        Ok(Template { parameters, globals_function, resources, outputs })
    }

    pub fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Resource)> + 'a {
        self.resources.iter().filter(move |(_, r)| r.kind == kind)
    }

    /// Every serverless function with globals applied, in logical-id order.
    pub fn functions(&self) -> Result<Vec<FunctionDef>> {
        let g = &self.globals_function;
        let mut out = Vec::new();
        for (id, res) in self.resources_of("AWS::Serverless::Function") {
            let p = &res.properties;
            let binary = res
                .metadata
                .get("BuildProperties")
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| id.trim_end_matches("Function").to_kebab_case());
            let memory_mb = p.get("MemorySize").or_else(|| g.get("MemorySize")).and_then(Value::as_u64).unwrap_or(128);
            let timeout_s = p.get("Timeout").or_else(|| g.get("Timeout")).and_then(Value::as_u64).unwrap_or(3);
            let reserved_concurrency =
                p.get("ReservedConcurrentExecutions").and_then(Value::as_u64).map(|n| n as usize);
            let mut environment = BTreeMap::new();
            for src in [g, p] {
                if let Some(vars) = src.get("Environment").and_then(|e| e.get("Variables")).and_then(Value::as_object) {
                    for (k, v) in vars {
                        environment.insert(k.clone(), v.clone());
                    }
                }
            }
            let mut events = Vec::new();
            if let Some(evs) = p.get("Events").and_then(Value::as_object) {
                for (name, ev) in evs {
                    if let Some(e) = parse_event(name, ev).with_context(|| format!("function {id}, event {name}"))? {
                        events.push(e);
                    }
                }
            }
            out.push(FunctionDef {
                logical_id: id.clone(),
                binary,
                memory_mb,
                timeout_s,
                reserved_concurrency,
                environment,
                events,
            });
        }
        Ok(out)
    }
}

fn parse_event(name: &str, ev: &Value) -> Result<Option<FunctionEvent>> {
    let kind = ev.get("Type").and_then(Value::as_str).unwrap_or_default();
    let p = ev.get("Properties").cloned().unwrap_or(Value::Null);
    let enabled = |p: &Value| {
        p.get("Enabled").and_then(Value::as_bool).unwrap_or(true)
            && p.get("State").and_then(Value::as_str) != Some("DISABLED")
    };
    Ok(match kind {
        "HttpApi" => {
            // An HttpApi event without Method/Path is the catch-all `$default` route.
            let method = p.get("Method").and_then(Value::as_str).unwrap_or("ANY").to_ascii_uppercase();
            let path = p.get("Path").and_then(Value::as_str).unwrap_or("$default").to_string();
            Some(FunctionEvent::Http { name: name.to_string(), method, path })
        }
        "SQS" => Some(FunctionEvent::Sqs {
            name: name.to_string(),
            queue: p.get("Queue").cloned().ok_or_else(|| anyhow!("SQS event without Queue"))?,
            batch_size: p.get("BatchSize").and_then(Value::as_u64).unwrap_or(10) as u32,
            report_batch_item_failures: p
                .get("FunctionResponseTypes")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|t| t == "ReportBatchItemFailures")),
            maximum_concurrency: p
                .get("ScalingConfig")
                .and_then(|c| c.get("MaximumConcurrency"))
                .and_then(Value::as_u64)
                .map(|n| n as usize),
            batching_window_seconds: p.get("MaximumBatchingWindowInSeconds").and_then(Value::as_u64).unwrap_or(0),
            enabled: enabled(&p),
        }),
        "DynamoDB" => {
            let stream = p.get("Stream").ok_or_else(|| anyhow!("DynamoDB event without Stream"))?;
            let table = stream
                .get("Fn::GetAtt")
                .and_then(Value::as_array)
                .filter(|a| a.get(1).and_then(Value::as_str) == Some("StreamArn"))
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("DynamoDB event Stream must be !GetAtt <Table>.StreamArn"))?
                .to_string();
            Some(FunctionEvent::TableStream {
                name: name.to_string(),
                table,
                batch_size: p.get("BatchSize").and_then(Value::as_u64).unwrap_or(100) as u32,
                from_start: p.get("StartingPosition").and_then(Value::as_str) != Some("LATEST"),
                report_batch_item_failures: p
                    .get("FunctionResponseTypes")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|t| t == "ReportBatchItemFailures")),
                max_retries: p
                    .get("MaximumRetryAttempts")
                    .and_then(Value::as_i64)
                    .map_or(10_000, |n| if n < 0 { 10_000 } else { n as u32 }),
                enabled: enabled(&p),
            })
        }
        "Schedule" | "ScheduleV2" => {
            let expression = p
                .get("Schedule")
                .or_else(|| p.get("ScheduleExpression"))
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("schedule event without an expression"))?
                .to_string();
            Some(FunctionEvent::Schedule {
                name: name.to_string(),
                expression,
                enabled: enabled(&p),
                input: p.get("Input").and_then(Value::as_str).map(str::to_string),
            })
        }
        _ => None,
    })
}

/// Strings, numbers and booleans as the string CloudFormation would pass on.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// YAML (with CloudFormation tags) to JSON with intrinsic functions in long form.
pub fn yaml_to_json(v: serde_norway::Value) -> Result<Value> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect::<Result<_>>()?),
        Y::Mapping(m) => {
            let mut obj = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => bail!("unsupported mapping key {other:?}"),
                };
                obj.insert(key, yaml_to_json(v)?);
            }
            Value::Object(obj)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let inner = yaml_to_json(t.value)?;
            let (key, value) = match tag {
                "Ref" => ("Ref".to_string(), inner),
                "Condition" => ("Condition".to_string(), inner),
                "GetAtt" => {
                    let value = match inner {
                        Value::String(s) => {
                            let (res, attr) =
                                s.split_once('.').ok_or_else(|| anyhow!("!GetAtt {s}: expected Resource.Attribute"))?;
                            Value::Array(vec![res.into(), attr.into()])
                        }
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), value)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut obj = Map::new();
            obj.insert(key, value);
            Value::Object(obj)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MINI: &str = r#"
Parameters:
  Stage: { Type: String, Default: dev }
  Secret: { Type: String, NoEcho: true }
Globals:
  Function:
    MemorySize: 256
    Timeout: 10
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        AUDIENCE: !Sub stockyard-${Stage}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Q:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: { deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 5 }
  Dlq:
    Type: AWS::SQS::Queue
  GetThingFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: get-thing } }
    Properties:
      Timeout: 30
      Environment: { Variables: { TABLE_NAME: override, Q_URL: !Ref Q } }
      Events:
        Api: { Type: HttpApi, Properties: { Method: get, Path: "/things/{id}" } }
        Jobs: { Type: SQS, Properties: { Queue: !GetAtt Q.Arn, BatchSize: 5, MaximumBatchingWindowInSeconds: 2, FunctionResponseTypes: [ReportBatchItemFailures], ScalingConfig: { MaximumConcurrency: 3 } } }
        Tick: { Type: Schedule, Properties: { Schedule: rate(5 minutes) } }
  NoMetaFunction:
    Type: AWS::Serverless::Function
    Properties: { MemorySize: 1024 }
Outputs:
  TableName: { Value: !Ref Table }
"#;

    #[test]
    fn short_form_tags_become_long_form_intrinsics() {
        let t = Template::parse(MINI).unwrap();
        assert_eq!(
            t.resources["Q"].properties["RedrivePolicy"]["deadLetterTargetArn"],
            json!({"Fn::GetAtt": ["Dlq", "Arn"]})
        );
        assert_eq!(t.outputs["TableName"], json!({"Ref": "Table"}));
        assert_eq!(t.parameters["Stage"].default.as_deref(), Some("dev"));
    }

    #[test]
    fn functions_get_globals_and_their_own_settings_win() {
        let t = Template::parse(MINI).unwrap();
        let fns = t.functions().unwrap();
        let f = fns.iter().find(|f| f.binary == "get-thing").unwrap();
        assert_eq!((f.memory_mb, f.timeout_s), (256, 30));
        assert_eq!(f.environment["TABLE_NAME"], json!("override"));
        assert_eq!(f.environment["AUDIENCE"], json!({"Fn::Sub": "stockyard-${Stage}"}));
        assert_eq!(f.environment["Q_URL"], json!({"Ref": "Q"}));
        assert_eq!(f.events.len(), 3);
        assert!(f.events.contains(&FunctionEvent::Http {
            name: "Api".into(),
            method: "GET".into(),
            path: "/things/{id}".into()
        }));
        assert!(f.events.iter().any(|e| matches!(
            e,
            FunctionEvent::Sqs {
                batch_size: 5,
                report_batch_item_failures: true,
                maximum_concurrency: Some(3),
                batching_window_seconds: 2,
                ..
            }
        )));
        let n = fns.iter().find(|f| f.logical_id == "NoMetaFunction").unwrap();
        assert_eq!((n.binary.as_str(), n.memory_mb), ("no-meta", 1024));
    }

    #[test]
    fn names_convert_between_cases() {
        // Binaries of functions without Metadata, and the STOCKYARD_* variables of `make test`.
        use heck::ToShoutySnakeCase;
        assert_eq!("GetOpenapi".to_kebab_case(), "get-openapi");
        assert_eq!("EmailsDeadLetterQueue".to_shouty_snake_case(), "EMAILS_DEAD_LETTER_QUEUE");
        assert_eq!("Table".to_shouty_snake_case(), "TABLE");
    }

    #[test]
    fn the_project_template_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let t = Template::load(&path).unwrap();
        let fns = t.functions().unwrap();
        assert!(!fns.is_empty());
        for f in &fns {
            assert!(!f.binary.is_empty());
        }
    }
}
