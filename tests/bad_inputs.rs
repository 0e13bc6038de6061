//! The bad-input matrix over a real socket: every case asserts the status and the error body.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::InProcessServer;
use common::fakes::GatedClassifier;
use serde_json::{Value, json};
use taskgate_gateway::GatewayBuilder;
use taskgate_gateway::call_limits::CallLimits;
use taskgate_modules::framework::tasks::TextClassification;
use taskgate_modules::{Model, ModelRegistry};
use tokio::sync::Semaphore;

const LIMIT: usize = 4096;

async fn server() -> InProcessServer {
    let registry = common::pii_registry();
    InProcessServer::start_with(GatewayBuilder::new(registry).call_limits(CallLimits {
        max_body_bytes: LIMIT,
        ..CallLimits::default()
    }))
    .await
}

async fn raw(
    server: &InProcessServer,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = common::client().post(server.url(path)).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    common::read(request.send().await.unwrap()).await
}

fn assert_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    expected: u16,
    details: &str,
) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], expected, "{body}");
    let details_text = body["details"]
        .as_str()
        .unwrap_or_else(|| panic!("no details in {body}"));
    assert!(
        details_text.contains(details),
        "details {details_text:?} should contain {details:?}"
    );
    let id = headers["x-request-id"].to_str().unwrap();
    assert!(!id.is_empty());
    assert_eq!(body["id"], id, "the error id is the request id");
}

const TOKEN_CLASSIFICATION: &str = "/api/v1/task/token-classification";

#[tokio::test]
async fn invalid_json_is_400() {
    let s = server().await;
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/json"),
        "{\"model_id\": ",
    )
    .await;
    assert_error(status, &headers, &body, 400, "Invalid JSON");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let s = server().await;
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("text/plain"),
        r#"{"model_id":"pii-rules","inputs":"x"}"#,
    )
    .await;
    assert_error(status, &headers, &body, 415, "text/plain");
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/x-www-form-urlencoded"),
        "model_id=pii-rules&inputs=x",
    )
    .await;
    assert_error(status, &headers, &body, 415, "application/json");
}

#[tokio::test]
async fn unknown_fields_are_422_naming_them() {
    let s = server().await;
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/json"),
        r#"{"model_id":"pii-rules","inputs":"x","parameters":{"treshold":0.5},"extra":1}"#,
    )
    .await;
    assert_error(status, &headers, &body, 422, "unknown field");
    let info = body["additional_info"].as_array().unwrap();
    let paths: Vec<&str> = info.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/parameters/treshold"), "{body}");
    assert!(paths.contains(&"/extra"), "{body}");
}

#[tokio::test]
async fn out_of_range_and_mistyped_values_are_422_with_paths() {
    let s = server().await;
    let (status, headers, body) = raw(&s, "/api/v1/task/text-generation", Some("application/json"),
        r#"{"model_id":"m","inputs":"x","parameters":{"top_p":1.5,"temperature":0.01,"max_new_tokens":"ten","decoding_method":"BEAM"}}"#).await;
    assert_error(status, &headers, &body, 422, "Invalid request");
    let info: Vec<(String, String)> = body["additional_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let message = |path: &str| {
        info.iter()
            .find(|(p, _)| p == path)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no error for {path} in {info:?}"))
    };
    assert_eq!(
        message("/parameters/top_p"),
        "1.5 is greater than the maximum of 1"
    );
    assert_eq!(
        message("/parameters/temperature"),
        "0.01 is less than the minimum of 0.05"
    );
    assert!(message("/parameters/max_new_tokens").contains("\"ten\""));
    assert!(message("/parameters/decoding_method").contains("SAMPLING"));
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/json"),
        r#"{"model_id":"pii-rules"}"#,
    )
    .await;
    assert_error(
        status,
        &headers,
        &body,
        422,
        "/inputs: missing required field",
    );
}

#[tokio::test]
async fn missing_model_id_is_400() {
    let s = server().await;
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/json"),
        r#"{"inputs":"x"}"#,
    )
    .await;
    assert_error(
        status,
        &headers,
        &body,
        400,
        "Please provide model_id in payload",
    );
    assert_eq!(body["additional_info"][0]["path"], "/model_id");
}

#[tokio::test]
async fn unknown_model_is_404() {
    let s = server().await;
    let (status, headers, body) = common::post_json(
        &s.url(TOKEN_CLASSIFICATION),
        &json!({"model_id": "nope", "inputs": "x"}),
    )
    .await;
    assert_error(status, &headers, &body, 404, "Model 'nope' not loaded");
}

#[tokio::test]
async fn model_without_the_task_is_400_naming_what_it_serves() {
    let s = server().await;
    for task in [
        "text-generation",
        "text-classification",
        "tokenization",
        "embedding",
        "embedding-tasks",
        "server-streaming-text-generation",
    ] {
        let inputs = if task == "embedding-tasks" {
            json!(["x"])
        } else {
            json!("x")
        };
        let (status, headers, body) = common::post_json(
            &s.url(&format!("/api/v1/task/{task}")),
            &json!({"model_id": "pii-rules", "inputs": inputs}),
        )
        .await;
        assert_error(
            status,
            &headers,
            &body,
            400,
            &format!("Model 'pii-rules' does not serve {task}; it serves: token-classification"),
        );
    }
    let (status, headers, body) = common::post_json(
        &s.url("/api/v1/task/rerank"),
        &json!({"model_id": "pii-rules", "inputs": {"query": "q", "documents": [{"text": "d"}]}}),
    )
    .await;
    assert_error(status, &headers, &body, 400, "does not serve rerank");
}

#[tokio::test]
async fn sampling_parameters_with_greedy_are_400() {
    let registry = ModelRegistry::new();
    registry
        .insert(common::fakes::echo_model("echo", Default::default()))
        .unwrap();
    let s = InProcessServer::start(registry).await;
    let (status, headers, body) = common::post_json(&s.url("/api/v1/task/text-generation"),
        &json!({"model_id": "echo", "inputs": "x", "parameters": {"temperature": 0.7, "min_new_tokens": 50}})).await;
    assert_error(
        status,
        &headers,
        &body,
        400,
        "temperature is a sampling parameter",
    );
    let paths: Vec<&str> = body["additional_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/parameters/min_new_tokens", "/parameters/temperature"]
    );
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let s = server().await;
    let text = "a".repeat(LIMIT);
    let big = json!({"model_id": "pii-rules", "inputs": text}).to_string();
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/json"),
        big.clone(),
    )
    .await;
    assert_error(status, &headers, &body, 413, "limit of 4096 bytes");
    // Without a Content-Length (chunked), the limit holds while reading.
    let chunks = futures::stream::iter(
        big.into_bytes()
            .chunks(1000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (status, headers, body) = raw(
        &s,
        TOKEN_CLASSIFICATION,
        Some("application/json"),
        reqwest::Body::wrap_stream(chunks),
    )
    .await;
    assert_error(status, &headers, &body, 413, "limit of 4096 bytes");
}

#[tokio::test]
async fn overload_is_429_with_retry_after_and_recovers() {
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let classifier = Arc::new(GatedClassifier {
        gate: gate.clone(),
        started: started.clone(),
    });
    let model = Model::builder("gated", "fake-gated", "fake")
        .max_concurrent_requests(1)
        .serve::<TextClassification>(classifier)
        .build();
    let registry = ModelRegistry::new();
    registry.insert(model).unwrap();
    let s = InProcessServer::start(registry).await;
    let url = s.url("/api/v1/task/text-classification");
    let request = json!({"model_id": "gated", "inputs": "x"});

    let first = tokio::spawn({
        let (url, request) = (url.clone(), request.clone());
        async move { common::post_json(&url, &request).await }
    });
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (status, headers, body) = common::post_json(&url, &request).await;
    assert_error(status, &headers, &body, 429, "model 'gated' is overloaded");
    assert_eq!(headers["retry-after"], "1");

    gate.add_permits(10);
    let (status, _, body) = first.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = common::post_json(&url, &request).await;
    assert_eq!(
        status, 200,
        "capacity comes back once the first request is done: {body}"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_and_used_in_errors() {
    let s = server().await;
    let response = common::client()
        .post(s.url(TOKEN_CLASSIFICATION))
        .header("x-request-id", "client-chosen-42")
        .json(&json!({"model_id": "nope", "inputs": "x"}))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = common::read(response).await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-request-id"], "client-chosen-42");
    assert_eq!(body["id"], "client-chosen-42");
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let s = server().await;
    let (status, headers, body) = common::read(
        common::client()
            .get(s.url("/api/v1/task/nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(
        status,
        &headers,
        &body,
        404,
        "No route for GET /api/v1/task/nope",
    );
    let (status, headers, body) = common::read(
        common::client()
            .get(s.url(TOKEN_CLASSIFICATION))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &headers, &body, 405, "Method GET is not allowed");
}

#[tokio::test]
async fn non_object_bodies_are_422() {
    let s = server().await;
    let (status, headers, body) =
        raw(&s, TOKEN_CLASSIFICATION, Some("application/json"), "[1,2]").await;
    assert_error(status, &headers, &body, 422, "is not of type \"object\"");
}
