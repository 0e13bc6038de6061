//! The generated SDKs under `openapi/sdk/` (Python, TypeScript, Rust) against the real binary
//! serving a model for every task. Each SDK makes the same calls: every task through its
//! typed request and generated function, the streamed generation through its stream helper, the
//! info, OpenAI, training and management routes, and two refusals as its typed errors. What it
//! answers must equal what the task API answers for the same bodies.

use serde_json::{Value, json};

use crate::common::{self, BinaryServer};
use crate::{ONE_AT_A_TIME, ROOT, installed, python, run_json};

/// One body per task route, on the models of [`common::every_task_models`].
pub(crate) fn task_calls() -> Value {
    json!({
        "text-generation": {"model_id": "smollm2", "inputs": "The capital of France is",
            "parameters": {"max_new_tokens": 8}},
        "text-classification": {"model_id": "sentiment", "inputs": "I love this phone."},
        "token-classification": {"model_id": "pii-rules",
            "inputs": "Mail jane.doe@example.com or call 555-123-4567."},
        "embedding": {"model_id": "all-minilm", "inputs": "A man plays a guitar."},
        "embedding-tasks": {"model_id": "all-minilm", "inputs": ["One cat.", "Two dogs."]},
        "sentence-similarity": {"model_id": "all-minilm", "inputs": {
            "source_sentence": "A cat sleeps.", "sentences": ["A kitten naps.", "Stocks fell."]}},
        "sentence-similarity-tasks": {"model_id": "all-minilm", "inputs": {
            "source_sentences": ["A cat sleeps.", "Rain today."],
            "sentences": ["A kitten naps.", "It is wet outside."]}},
        "rerank": {"model_id": "all-minilm", "inputs": {"query": "capital of France",
            "documents": [{"text": "Berlin is in Germany."}, {"text": "Paris is the capital of France."}]},
            "parameters": {"top_n": 2}},
        "rerank-tasks": {"model_id": "all-minilm", "inputs": {
            "queries": ["capital of France", "German city"],
            "documents": [{"text": "Berlin is in Germany."}, {"text": "Paris is the capital of France."}]}},
        "tokenization": {"model_id": "all-minilm", "inputs": "Hello, taskgate!"},
    })
}

fn serve(test: &str) -> Option<BinaryServer> {
    let models = common::every_task_models(test)?;
    Some(common::serve_models(test, models, json!({})))
}

/// Equal as JSON, with numbers within a float's rounding (an SDK may hold a `format: float`
/// as f32), and an absent field the same as a `null` or an empty list (an SDK may leave out a
/// field it holds as its default).
fn same(seen: &Value, expected: &Value) -> bool {
    match (seen, expected) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-6 * b.abs().max(1.0)
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let empty = |v: Option<&Value>| match v {
                None | Some(Value::Null) => true,
                Some(Value::Array(items)) => items.is_empty(),
                _ => false,
            };
            keys.into_iter().all(|key| match (a.get(key), b.get(key)) {
                (Some(a), Some(b)) => same(a, b) || (empty(Some(a)) && empty(Some(b))),
                (a, b) => empty(a) && empty(b),
            })
        }
        _ => seen == expected,
    }
}

fn names(list: &Value, field: &str, name: &str) -> Value {
    let mut names: Vec<&str> = list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[name].as_str().unwrap())
        .collect();
    names.sort();
    json!(names)
}

/// Holds one SDK's answers against the task API's.
async fn check(sdk: &str, server: &BinaryServer, seen: &Value) {
    let calls = task_calls();
    for (task, body) in calls.as_object().unwrap() {
        let expected = server.call_ok(task, body.clone()).await;
        let got = &seen["tasks"][task];
        assert!(same(got, &expected), "{sdk} {task}:\n{got}\nvs\n{expected}");
    }
    let events = server.stream(calls["text-generation"].clone()).await;
    assert!(events.len() > 1, "{events:?}");
    for key in ["stream", "stream_async"] {
        if !seen[key].is_null() {
            assert!(
                same(&seen[key], &json!(events)),
                "{sdk} {key}: {}",
                seen[key]
            );
        }
    }
    assert_eq!(
        seen["version"],
        server.get_json("/info/version").await,
        "{sdk}"
    );
    let models = names(&server.get_json("/info/models").await, "models", "name");
    assert_eq!(seen["models"], models, "{sdk}");
    assert_eq!(seen["model_states"], models, "{sdk}");
    assert_eq!(seen["openai_models"], models, "{sdk}");
    assert!(
        same(
            &seen["trainings"],
            &server.get_json("/management/trainings").await
        ),
        "{sdk}: {}",
        seen["trainings"]
    );
    let unknown = &seen["unknown_model"];
    assert_eq!(unknown["code"], 404, "{sdk}: {unknown}");
    assert!(
        unknown["details"]
            .as_str()
            .unwrap()
            .contains("no-such-model"),
        "{sdk}: {unknown}"
    );
    let refusal = &seen["stream_refusal"];
    assert_eq!(refusal["status"], 404, "{sdk}: {refusal}");
    assert_eq!(refusal["code"], 404, "{sdk}: {refusal}");
}

#[tokio::test]
async fn the_python_sdk_calls_every_task() {
    let test = "the_python_sdk_calls_every_task";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let seen = run_json(
        &python,
        &std::path::Path::new(ROOT).join("tests/python/sdk_check.py"),
        &[&server.base, &task_calls().to_string()],
        &[("PYTHONPATH", &format!("{ROOT}/openapi/sdk/python"))],
    );
    check("python", &server, &seen).await;
}

#[tokio::test]
async fn the_typescript_sdk_calls_every_task() {
    let test = "the_typescript_sdk_calls_every_task";
    let Some(tsc) = installed(test, "tests/node/node_modules/.bin/tsc") else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let source = std::path::Path::new(ROOT).join("tests/node/sdk_check.ts");
    let built = crate::typescript::compile(&tsc, test, std::slice::from_ref(&source));
    let seen = run_json(
        std::path::Path::new("node"),
        &built.js(&source),
        &[&server.base, &task_calls().to_string()],
        &[],
    );
    check("typescript", &server, &seen).await;
}

#[tokio::test]
async fn the_rust_sdk_calls_every_task() {
    let test = "the_rust_sdk_calls_every_task";
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let seen = crate::rust_sdk::calls(&server.base, &task_calls()).await;
    check("rust", &server, &seen).await;
}
