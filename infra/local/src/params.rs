//! Local values for the template's Parameters, from infra/local/parameters.json.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::template::Template;

/// Every value in parameters.json (including local-only ones such as `AdminPassword`) merged
/// over the template's defaults. Fails if a template parameter ends up without a value.
pub fn load(path: &Path, template: &Template) -> Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let raw: serde_json::Map<String, Value> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    resolve(&raw, base, template)
}

pub fn resolve(
    raw: &serde_json::Map<String, Value>,
    base: &Path,
    template: &Template,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, def) in &template.parameters {
        if let Some(d) = &def.default {
            out.insert(name.clone(), d.clone());
        }
    }
    // Plain values and files first, then hashes (which refer to plain values).
    let mut hashes = Vec::new();
    for (name, v) in raw {
        if name.starts_with('_') {
            continue;
        }
        match v {
            Value::String(s) => {
                out.insert(name.clone(), s.clone());
            }
            Value::Number(n) => {
                out.insert(name.clone(), n.to_string());
            }
            Value::Bool(b) => {
                out.insert(name.clone(), b.to_string());
            }
            Value::Object(o) if o.contains_key("file") => {
                let file = base.join(o["file"].as_str().unwrap_or_default());
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("parameter {name}: reading {}", file.display()))?;
                out.insert(name.clone(), text);
            }
            Value::Object(o) if o.contains_key("argon2id") => {
                let of = o["argon2id"].as_str().unwrap_or_default().to_string();
                hashes.push((name.clone(), of));
            }
            other => bail!("parameter {name}: unsupported value {other}"),
        }
    }
    for (name, of) in hashes {
        let plain = out.get(&of).ok_or_else(|| anyhow!("parameter {name}: {of} has no value to hash"))?;
        let hash = stockyard_domain::password::hash(plain).map_err(|e| anyhow!("parameter {name}: hashing: {e}"))?;
        out.insert(name, hash);
    }
    let missing: Vec<_> = template.parameters.keys().filter(|k| !out.contains_key(*k)).cloned().collect();
    if !missing.is_empty() {
        bail!(
            "template parameters without a local value: {} (add them to infra/local/parameters.json)",
            missing.join(", ")
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_files_hashes_and_defaults_are_merged() {
        let t = Template::parse(
            "Parameters:\n  Stage: {Type: String, Default: dev}\n  Hash: {Type: String}\n  Key: {Type: String}\n  Sender: {Type: String, Default: a@b.c}\nResources: {}\n",
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("stockyard-params-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.pem"), "PEM").unwrap();
        let raw = serde_json::json!({"Stage": "local", "Pw": "secret", "Hash": {"argon2id": "Pw"}, "Key": {"file": "k.pem"}, "_comment": "x"});
        let out = resolve(raw.as_object().unwrap(), &dir, &t).unwrap();
        assert_eq!(out["Stage"], "local");
        assert_eq!(out["Sender"], "a@b.c");
        assert_eq!(out["Key"], "PEM");
        assert!(!out.contains_key("_comment"));
        assert!(out["Hash"].starts_with("$argon2id$"), "{}", out["Hash"]);
        assert!(stockyard_domain::password::verify("secret", &out["Hash"]));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_parameter_without_any_value_is_reported_by_name() {
        let t = Template::parse("Parameters:\n  Needed: {Type: String}\nResources: {}\n").unwrap();
        let err = resolve(&serde_json::Map::new(), Path::new("."), &t).unwrap_err();
        assert!(err.to_string().contains("Needed"));
    }
}
