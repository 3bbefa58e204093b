//! Resolution of CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
//! `Fn::Select`) against the local stack's physical resources and parameter values.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use serde_json::Value;

use crate::template::scalar_string;

/// What a logical id became locally.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Physical {
    #[serde(rename = "type")]
    pub kind: String,
    /// Table name, queue name, bucket name, function name, API id.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Queue URL (queues) or base URL (HTTP API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Physical {
    /// What `!Ref` returns for this resource type.
    pub fn ref_value(&self) -> String {
        match self.kind.as_str() {
            "AWS::SQS::Queue" => self.url.clone().unwrap_or_else(|| self.name.clone()),
            _ => self.name.clone(),
        }
    }
}

pub struct Resolver<'a> {
    pub parameters: &'a BTreeMap<String, String>,
    pub physical: &'a BTreeMap<String, Physical>,
    pub region: &'a str,
    pub account: &'a str,
    pub stack_name: &'a str,
}

impl Resolver<'_> {
    /// Resolves a value that must end up a string (environment variables, names).
    pub fn string(&self, v: &Value) -> Result<String> {
        let r = self.value(v)?;
        scalar_string(&r).ok_or_else(|| anyhow!("expected a string, got {r}"))
    }

    /// Resolves intrinsics anywhere inside `v`.
    pub fn value(&self, v: &Value) -> Result<Value> {
        match v {
            Value::Object(o) if o.len() == 1 => {
                let (k, arg) = o.iter().next().expect("one entry");
                match k.as_str() {
                    "Ref" => {
                        Ok(Value::String(self.reference(arg.as_str().ok_or_else(|| anyhow!("Ref expects a name"))?)?))
                    }
                    "Fn::GetAtt" => {
                        let (res, attr) = match arg {
                            Value::Array(a) if a.len() == 2 => {
                                (a[0].as_str().unwrap_or_default().to_string(), self.string(&a[1])?)
                            }
                            Value::String(s) => {
                                let (r, a) = s.split_once('.').ok_or_else(|| anyhow!("GetAtt {s}: expected X.Attr"))?;
                                (r.to_string(), a.to_string())
                            }
                            other => bail!("GetAtt: unsupported argument {other}"),
                        };
                        Ok(Value::String(self.get_att(&res, &attr)?))
                    }
                    "Fn::Sub" => Ok(Value::String(self.sub(arg)?)),
                    "Fn::Join" => {
                        let a = arg
                            .as_array()
                            .filter(|a| a.len() == 2)
                            .ok_or_else(|| anyhow!("Fn::Join expects [delimiter, [values]]"))?;
                        let sep = self.string(&a[0])?;
                        let items = self.value(&a[1])?;
                        let items = items
                            .as_array()
                            .ok_or_else(|| anyhow!("Fn::Join expects a list"))?
                            .iter()
                            .map(|i| scalar_string(i).unwrap_or_default())
                            .collect::<Vec<_>>();
                        Ok(Value::String(items.join(&sep)))
                    }
                    "Fn::Select" => {
                        let a = arg
                            .as_array()
                            .filter(|a| a.len() == 2)
                            .ok_or_else(|| anyhow!("Fn::Select expects [index, list]"))?;
                        let idx: usize = self.string(&a[0])?.parse()?;
                        let list = self.value(&a[1])?;
                        list.get(idx).cloned().ok_or_else(|| anyhow!("Fn::Select index {idx} out of range"))
                    }
                    k if k.starts_with("Fn::") => bail!("intrinsic {k} is not supported locally"),
                    _ => Ok(Value::Object(
                        o.iter().map(|(k, v)| Ok((k.clone(), self.value(v)?))).collect::<Result<_>>()?,
                    )),
                }
            }
            Value::Object(o) => {
                Ok(Value::Object(o.iter().map(|(k, v)| Ok((k.clone(), self.value(v)?))).collect::<Result<_>>()?))
            }
            Value::Array(a) => Ok(Value::Array(a.iter().map(|v| self.value(v)).collect::<Result<_>>()?)),
            other => Ok(other.clone()),
        }
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::Region" => self.region.to_string(),
            "AWS::AccountId" => self.account.to_string(),
            "AWS::StackName" => self.stack_name.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::URLSuffix" => "amazonaws.com".to_string(),
            "AWS::StackId" => {
                format!("arn:aws:cloudformation:{}:{}:stack/{}/local", self.region, self.account, self.stack_name)
            }
            _ => return None,
        })
    }

    pub fn reference(&self, name: &str) -> Result<String> {
        if let Some(v) = self.pseudo(name) {
            return Ok(v);
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        if let Some(p) = self.physical.get(name) {
            return Ok(p.ref_value());
        }
        bail!("!Ref {name}: no parameter value or local resource of that name")
    }

    pub fn get_att(&self, res: &str, attr: &str) -> Result<String> {
        let p = self.physical.get(res).ok_or_else(|| anyhow!("!GetAtt {res}.{attr}: no local resource {res}"))?;
        match attr {
            "Arn" => p.arn.clone().ok_or_else(|| anyhow!("!GetAtt {res}.Arn: resource has no ARN locally")),
            "QueueName" | "TableName" | "BucketName" | "Name" => Ok(p.name.clone()),
            "QueueUrl" | "Url" | "DomainName" => {
                p.url.clone().ok_or_else(|| anyhow!("!GetAtt {res}.{attr}: resource has no URL locally"))
            }
            other => bail!("!GetAtt {res}.{other} is not supported locally"),
        }
    }

    fn sub(&self, arg: &Value) -> Result<String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.clone(), serde_json::Map::new()),
            Value::Array(a) if a.len() == 2 => (
                a[0].as_str().ok_or_else(|| anyhow!("Fn::Sub template must be a string"))?.to_string(),
                a[1].as_object().cloned().unwrap_or_default(),
            ),
            other => bail!("Fn::Sub: unsupported argument {other}"),
        };
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            if let Some(lit) = after.strip_prefix('!') {
                // `${!Literal}` stays `${Literal}`.
                let end = lit.find('}').ok_or_else(|| anyhow!("Fn::Sub: unclosed ${{"))?;
                out.push_str("${");
                out.push_str(&lit[..end]);
                out.push('}');
                rest = &lit[end + 1..];
                continue;
            }
            let end = after.find('}').ok_or_else(|| anyhow!("Fn::Sub: unclosed ${{ in {text}"))?;
            let name = &after[..end];
            let value = if let Some(v) = vars.get(name) {
                self.string(v)?
            } else if let Some((res, attr)) = name.split_once('.') {
                self.get_att(res, attr)?
            } else {
                self.reference(name)?
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture() -> (BTreeMap<String, String>, BTreeMap<String, Physical>) {
        let params = BTreeMap::from([("Stage".to_string(), "local".to_string())]);
        let physical = BTreeMap::from([
            (
                "Table".to_string(),
                Physical {
                    kind: "AWS::DynamoDB::Table".into(),
                    name: "stockyard-local-Table".into(),
                    arn: Some("arn:aws:dynamodb:us-east-1:000000000000:table/stockyard-local-Table".into()),
                    url: None,
                },
            ),
            (
                "Q".to_string(),
                Physical {
                    kind: "AWS::SQS::Queue".into(),
                    name: "stockyard-local-Q".into(),
                    arn: Some("arn:aws:sqs:us-east-1:000000000000:stockyard-local-Q".into()),
                    url: Some("http://127.0.0.1:4566/000000000000/stockyard-local-Q".into()),
                },
            ),
        ]);
        (params, physical)
    }

    fn with<T>(f: impl FnOnce(&Resolver) -> T) -> T {
        let (params, physical) = fixture();
        let r = Resolver {
            parameters: &params,
            physical: &physical,
            region: "us-east-1",
            account: "000000000000",
            stack_name: "stockyard-local",
        };
        f(&r)
    }

    #[test]
    fn refs_resolve_to_parameters_names_and_queue_urls() {
        with(|r| {
            assert_eq!(r.string(&json!({"Ref": "Stage"})).unwrap(), "local");
            assert_eq!(r.string(&json!({"Ref": "Table"})).unwrap(), "stockyard-local-Table");
            assert!(r.string(&json!({"Ref": "Q"})).unwrap().starts_with("http://127.0.0.1:4566/"));
            assert_eq!(r.string(&json!({"Ref": "AWS::Region"})).unwrap(), "us-east-1");
            assert!(r.string(&json!({"Ref": "Nope"})).is_err());
        });
    }

    #[test]
    fn get_att_gives_arns_and_queue_names() {
        with(|r| {
            assert_eq!(
                r.string(&json!({"Fn::GetAtt": ["Q", "Arn"]})).unwrap(),
                "arn:aws:sqs:us-east-1:000000000000:stockyard-local-Q"
            );
            assert_eq!(r.string(&json!({"Fn::GetAtt": "Q.QueueName"})).unwrap(), "stockyard-local-Q");
        });
    }

    #[test]
    fn sub_replaces_parameters_pseudo_parameters_attributes_and_variables() {
        with(|r| {
            assert_eq!(
                r.string(&json!({"Fn::Sub": "arn:aws:ses:${AWS::Region}:${AWS::AccountId}:identity/*"})).unwrap(),
                "arn:aws:ses:us-east-1:000000000000:identity/*"
            );
            assert_eq!(r.string(&json!({"Fn::Sub": "stockyard-${Stage}"})).unwrap(), "stockyard-local");
            assert_eq!(
                r.string(&json!({"Fn::Sub": ["${X}/${Q.QueueName}/${!Keep}", {"X": {"Ref": "Stage"}}]})).unwrap(),
                "local/stockyard-local-Q/${Keep}"
            );
        });
    }

    #[test]
    fn nested_structures_resolve_recursively() {
        with(|r| {
            let v =
                r.value(&json!({"deadLetterTargetArn": {"Fn::GetAtt": ["Q", "Arn"]}, "maxReceiveCount": 5})).unwrap();
            assert_eq!(
                v,
                json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:stockyard-local-Q", "maxReceiveCount": 5})
            );
            assert_eq!(r.string(&json!({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]})).unwrap(), "a-local");
        });
    }
}
