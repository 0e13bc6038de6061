//! The checked-in contract (OpenAPI document, JSON Schemas) must match what the code generates.

use std::path::Path;

use serde_json::Value;
use taskgate_gateway::{TaskRoutes, json_schemas, openapi};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn checked_in_openapi_matches_the_code() {
    let generated = openapi::document_json(&TaskRoutes::standard());
    let path = Path::new(ROOT).join("openapi/openapi.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "openapi/openapi.json is out of date; regenerate it with:\n    cargo run -- openapi > openapi/openapi.json"
    );
}

#[test]
fn checked_in_json_schemas_match_the_code() {
    let dir = Path::new(ROOT).join("schemas/json");
    let expected = json_schemas::all();
    let mut stale = Vec::new();
    for (name, schema) in &expected {
        let checked_in = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        if checked_in != json_schemas::render(schema) {
            stale.push(name.clone());
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    on_disk.retain(|name| !expected.iter().any(|(n, _)| n == name));
    stale.extend(
        on_disk
            .into_iter()
            .map(|n| format!("{n} (no longer generated)")),
    );
    assert!(
        stale.is_empty(),
        "schemas/json is out of date ({}); regenerate it with:\n    rm -rf schemas/json && cargo run -- json-schemas schemas/json",
        stale.join(", ")
    );
}

#[test]
fn every_task_route_documents_its_request_and_every_status_it_returns() {
    let doc: Value =
        serde_json::from_str(&openapi::document_json(&TaskRoutes::standard())).unwrap();
    let routes = TaskRoutes::standard();
    // The document holds exactly the listed tasks, each once (the proto test checks the same
    // list against the service's methods).
    let documented = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|path| path.starts_with("/api/v1/task/"))
        .count();
    let unique: std::collections::BTreeSet<_> = routes.names().into_iter().collect();
    assert!(!unique.is_empty());
    assert_eq!(unique.len(), routes.names().len(), "a task is listed twice");
    assert_eq!(documented, unique.len());
    for name in routes.names() {
        let operation = &doc["paths"][format!("/api/v1/task/{name}")]["post"];
        assert!(operation.is_object(), "{name} is not documented");
        let request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap();
        let component = request.rsplit('/').next().unwrap();
        assert!(
            doc["components"]["schemas"][component].is_object(),
            "{component} missing"
        );
        let statuses: Vec<&str> = operation["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for status in [
            "200", "400", "404", "413", "415", "422", "429", "500", "503",
        ] {
            assert!(
                statuses.contains(&status),
                "{name} does not document {status}: {statuses:?}"
            );
        }
    }
    for error_response in doc["components"]["responses"].as_object().unwrap().values() {
        let examples = error_response["content"]["application/json"]["examples"]
            .as_object()
            .unwrap();
        assert!(!examples.is_empty());
    }
}
