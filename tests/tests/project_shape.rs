//! The project's shape, checked without the local stack: template.yaml, the workspace's Lambda
//! binaries, the sample events and the OpenAPI document must all agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_norway::Value as Yaml;
use stockyard_tests::repo_root;

/// One `AWS::Serverless::Function` of template.yaml.
struct Function {
    logical_id: String,
    binary: String,
    definition: Yaml,
}

impl Function {
    fn properties(&self) -> &Yaml {
        &self.definition["Properties"]
    }

    /// `(Type, Properties)` of each event source.
    fn events(&self) -> Vec<(String, Yaml)> {
        match self.properties()["Events"].as_mapping() {
            Some(events) => events
                .values()
                .map(|e| (e["Type"].as_str().unwrap_or_default().to_string(), e["Properties"].clone()))
                .collect(),
            None => Vec::new(),
        }
    }

    /// `METHOD /path` of each HttpApi event.
    fn routes(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|(kind, _)| kind == "HttpApi")
            .map(|(_, p)| match (p["Method"].as_str(), p["Path"].as_str()) {
                // An event without both is the API's catch-all route.
                (None, None) => "$default".to_string(),
                (method, path) => format!("{} {}", method.unwrap_or("?"), path.unwrap_or("?")),
            })
            .collect()
    }

    /// Names of the SAM policy templates the function gets (`DynamoDBCrudPolicy`, ...).
    fn policy_templates(&self) -> Vec<String> {
        self.properties()["Policies"]
            .as_sequence()
            .map(|ps| ps.iter().filter_map(|p| p.as_mapping()?.keys().next()?.as_str().map(String::from)).collect())
            .unwrap_or_default()
    }
}

fn template() -> Yaml {
    let text = fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml is readable");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

fn functions(template: &Yaml) -> Vec<Function> {
    let resources = template["Resources"].as_mapping().expect("template.yaml has Resources");
    resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| Function {
            logical_id: id.as_str().expect("logical ids are strings").to_string(),
            binary: r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_default().to_string(),
            definition: r.clone(),
        })
        .collect()
}

/// Every `functions/<area>/src/bin/<name>.rs` as name → path.
fn workspace_binaries() -> BTreeMap<String, PathBuf> {
    let mut bins = BTreeMap::new();
    for area in fs::read_dir(repo_root().join("functions")).expect("functions/ exists") {
        let dir = area.expect("readable entry").path().join("src/bin");
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("readable entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                let name = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name").to_string();
                assert!(bins.insert(name.clone(), path).is_none(), "two functions are called {name}");
            }
        }
    }
    bins
}

fn file_names(dir: &Path, extension: &str) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .map(|p| p.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name").to_string())
        .collect()
}

#[test]
fn template_functions_and_workspace_binaries_are_the_same_set() {
    let template = template();
    let in_template: BTreeSet<String> = functions(&template).into_iter().map(|f| f.binary).collect();
    let in_workspace: BTreeSet<String> = workspace_binaries().into_keys().collect();
    assert!(!in_workspace.is_empty(), "no binaries under functions/*/src/bin");
    let missing_binary: Vec<_> = in_template.difference(&in_workspace).collect();
    let missing_function: Vec<_> = in_workspace.difference(&in_template).collect();
    assert!(missing_binary.is_empty(), "template functions without a binary: {missing_binary:?}");
    assert!(missing_function.is_empty(), "binaries without a template function: {missing_function:?}");
}

#[test]
fn every_function_is_built_by_cargo_lambda_from_the_workspace() {
    for f in functions(&template()) {
        let id = &f.logical_id;
        assert_eq!(f.definition["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{id}");
        assert!(!f.binary.is_empty(), "{id} has no BuildProperties.Binary");
        assert_eq!(f.properties()["CodeUri"].as_str(), Some("."), "{id}");
        // A function without an event source says so: a data migration an operator invokes.
        let direct = f.definition["Metadata"]["InvokedDirectly"].as_bool() == Some(true);
        assert!(f.events().is_empty() == direct, "{id}: an event source, or InvokedDirectly (never both)");
    }
}

#[test]
fn globals_run_every_function_on_graviton_with_tracing() {
    let globals = &template()["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(globals["Tracing"].as_str(), Some("Active"));
}

#[test]
fn every_function_has_a_sample_event_of_its_kind() {
    let template = template();
    let events_dir = repo_root().join("events");
    let samples = file_names(&events_dir, "json");
    let functions = functions(&template);
    let names: BTreeSet<String> = functions.iter().map(|f| f.binary.clone()).collect();
    let orphans: Vec<_> = samples.difference(&names).collect();
    assert!(orphans.is_empty(), "sample events for no function: {orphans:?}");
    for f in &functions {
        let path = events_dir.join(format!("{}.json", f.binary));
        let text =
            fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} has no sample event {}", f.binary, path.display()));
        let kinds: BTreeSet<String> = f.events().into_iter().map(|(kind, _)| kind).collect();
        let kind = kinds.iter().next().map_or("Direct", String::as_str);
        let parsed = match kind {
            // what an operator passes: a JSON object
            "Direct" => serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text).map(|_| ()),
            "HttpApi" => serde_json::from_str::<aws_lambda_events::apigw::ApiGatewayV2httpRequest>(&text).map(|e| {
                let route = e.route_key.unwrap_or_default();
                assert!(
                    f.routes().contains(&route),
                    "{}: sample routeKey {route:?} is not one of {:?}",
                    f.binary,
                    f.routes()
                );
            }),
            "SQS" => serde_json::from_str::<aws_lambda_events::sqs::SqsEvent>(&text)
                .map(|e| assert!(!e.records.is_empty(), "{}: the sample SQS event has no records", f.binary)),
            "Schedule" => serde_json::from_str::<aws_lambda_events::eventbridge::EventBridgeEvent>(&text)
                .map(|e| assert_eq!(e.source, "aws.events", "{}", f.binary)),
            "DynamoDB" => serde_json::from_str::<aws_lambda_events::dynamodb::Event>(&text)
                .map(|e| assert!(!e.records.is_empty(), "{}: the sample stream event has no records", f.binary)),
            other => panic!("{}: no sample-event check for event type {other}", f.binary),
        };
        parsed.unwrap_or_else(|e| panic!("events/{}.json is not a {kind} event: {e}", f.binary));
    }
}

#[test]
fn lambda_binaries_are_wiring_only() {
    for (name, path) in workspace_binaries() {
        let lines = fs::read_to_string(&path).expect("readable").lines().count();
        assert!(lines <= 25, "{name}: {lines} lines; a function's binary only wires its handler (≤ 25 lines)");
    }
}

#[test]
fn the_openapi_document_describes_exactly_the_templates_routes() {
    let template = template();
    let in_template: BTreeSet<String> =
        functions(&template).iter().flat_map(Function::routes).filter(|r| r != "$default").collect();
    let document = serde_json::to_value(stockyard_apidocs::document()).expect("the document serialises");
    let paths = document["paths"].as_object().expect("the document has paths");
    let in_document: BTreeSet<String> = paths
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .into_iter()
                .flat_map(move |ops| ops.keys().map(move |m| format!("{} {path}", m.to_uppercase())))
        })
        .collect();
    let undocumented: Vec<_> = in_template.difference(&in_document).collect();
    let unrouted: Vec<_> = in_document.difference(&in_template).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented operations with no route in template.yaml: {unrouted:?}");
}

#[test]
fn exactly_the_functions_that_issue_or_take_api_keys_get_the_key_hash_key() {
    let document = serde_json::to_value(stockyard_apidocs::document()).expect("the document serialises");
    let paths = document["paths"].as_object().expect("the document has paths");
    // operations that list an `api_key` security requirement take keys
    let mut need: BTreeSet<String> = paths
        .iter()
        .flat_map(|(path, operations)| {
            operations.as_object().into_iter().flatten().filter_map(move |(method, op)| {
                let takes_keys =
                    op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()));
                takes_keys.then(|| format!("{} {path}", method.to_uppercase()))
            })
        })
        .collect();
    need.insert("POST /vendors/{vendorId}/api-keys".into()); // issues them
    let template = template();
    let given: BTreeSet<String> = functions(&template)
        .iter()
        .filter(|f| !f.properties()["Environment"]["Variables"]["API_KEY_HASH_KEY"].is_null())
        .flat_map(Function::routes)
        .collect();
    assert!(need.len() >= 4, "the channel sales and returns and scan routes take keys: {need:?}");
    assert_eq!(given, need, "API_KEY_HASH_KEY goes to the functions that issue or take API keys, and only those");
}

#[test]
fn functions_that_only_read_get_read_only_table_access() {
    for f in functions(&template()) {
        let routes = f.routes();
        if !routes.is_empty() && routes.iter().all(|r| r.starts_with("GET ")) {
            let policies = f.policy_templates();
            assert!(
                !policies.iter().any(|p| p.contains("Crud") || p.contains("Write")),
                "{} only serves {routes:?} but gets {policies:?}",
                f.logical_id
            );
        }
    }
}

#[test]
fn every_queue_has_a_dead_letter_queue() {
    let template = template();
    let resources = template["Resources"].as_mapping().expect("Resources");
    let queues: Vec<(&str, &Yaml)> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::SQS::Queue"))
        .map(|(id, r)| (id.as_str().expect("string id"), r))
        .collect();
    assert!(!queues.is_empty(), "template.yaml has no queues");
    // `!GetAtt X.Arn` parses as a tagged value.
    let logical_id = |target: &Yaml| match target {
        Yaml::Tagged(t) => t.value.as_str().map(|s| s.trim_end_matches(".Arn").to_string()),
        _ => None,
    };
    let mut targets: BTreeSet<String> = queues
        .iter()
        .filter_map(|(_, q)| logical_id(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .collect();
    // Stream event sources park what they give up on in an on-failure destination.
    for (_, resource) in resources.iter().filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function")) {
        for (_, event) in resource["Properties"]["Events"].as_mapping().into_iter().flatten() {
            targets.extend(logical_id(&event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]));
        }
    }
    for (id, queue) in &queues {
        let is_dead_letter_queue = targets.contains(*id);
        let redrive = &queue["Properties"]["RedrivePolicy"];
        assert!(
            is_dead_letter_queue || redrive["maxReceiveCount"].as_u64().is_some(),
            "{id} is neither a dead-letter queue nor has one"
        );
    }
    for target in &targets {
        assert!(queues.iter().any(|(id, _)| id == target), "dead-letter queue {target} is not in the template");
    }
}

#[test]
fn every_function_package_links_its_release_binaries_position_dependent() {
    for area in fs::read_dir(repo_root().join("functions")).expect("functions/ exists") {
        let dir = area.expect("readable entry").path();
        if !dir.join("src/bin").is_dir() {
            continue;
        }
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).expect("a Cargo.toml");
        assert!(
            manifest.contains(r#"build = "../../infra/build/non_pie.rs""#),
            "{}: add `build = \"../../infra/build/non_pie.rs\"` to [package] (README \"Build time\")",
            dir.display()
        );
    }
}
