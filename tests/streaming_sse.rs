//! Server-streaming text generation over SSE, with a fake generator behind the real routes.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::InProcessServer;
use common::fakes::{EchoGenerator, echo_model};
use futures::StreamExt;
use serde_json::{Value, json};
use taskgate_modules::ModelRegistry;

const STREAM: &str = "/api/v1/task/server-streaming-text-generation";

async fn serve(generator: EchoGenerator) -> InProcessServer {
    let registry = ModelRegistry::new();
    registry.insert(echo_model("echo", generator)).unwrap();
    InProcessServer::start(registry).await
}

/// The non-empty lines of an SSE body.
fn lines(body: &str) -> Vec<&str> {
    body.lines().filter(|l| !l.is_empty()).collect()
}

#[tokio::test]
async fn each_event_is_one_bare_data_line() {
    let s = serve(EchoGenerator::default()).await;
    let response = common::client()
        .post(s.url(STREAM))
        .json(&json!({"model_id": "echo", "inputs": "one two three"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.unwrap();
    let lines = lines(&body);
    assert_eq!(lines.len(), 3, "{body}");
    // No `event: message` line: the caikit-nlp-client parser breaks on it, and `message` is
    // the default event type anyway.
    let events: Vec<Value> = lines
        .iter()
        .map(|l| {
            let json = l
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data line: {l}"));
            serde_json::from_str(json).unwrap()
        })
        .collect();
    let text: String = events
        .iter()
        .map(|e| e["generated_text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "one two three ");
    assert!(events[0].get("details").is_none());
    assert_eq!(events[2]["details"]["finish_reason"], "EOS_TOKEN");
    assert_eq!(events[2]["details"]["generated_tokens"], 3);
}

#[tokio::test]
async fn a_failure_after_the_200_is_an_error_event_that_ends_the_stream() {
    let s = serve(EchoGenerator {
        fail_after: Some(1),
        ..Default::default()
    })
    .await;
    let response = common::client()
        .post(s.url(STREAM))
        .header("x-request-id", "stream-7")
        .json(&json!({"model_id": "echo", "inputs": "one two three four"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let lines = lines(&body);
    assert_eq!(lines.len(), 3, "{body}");
    assert!(lines[0].starts_with("data: "));
    assert_eq!(lines[1], "event: error");
    let error: Value = serde_json::from_str(lines[2].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(
        error,
        json!({"details": "inference failed: the fake model failed mid-stream", "code": 500, "id": "stream-7"})
    );
}

#[tokio::test]
async fn errors_before_the_stream_starts_are_plain_responses() {
    let s = serve(EchoGenerator::default()).await;
    let (status, _, body) = common::post_json(
        &s.url(STREAM),
        &json!({"model_id": "echo", "inputs": "x", "parameters": {"top_k": 5}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["additional_info"][0]["path"], "/parameters/top_k");
}

#[tokio::test]
async fn client_disconnect_cancels_the_generation() {
    let generator = EchoGenerator {
        event_delay: Duration::from_millis(50),
        ..Default::default()
    };
    let cancelled = generator.cancelled.clone();
    let s = serve(generator).await;
    let words = vec!["w"; 200].join(" ");
    let response = common::client()
        .post(s.url(STREAM))
        .json(&json!({"model_id": "echo", "inputs": words}))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    drop(body);
    for _ in 0..100 {
        if cancelled.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the generation kept running after the client went away");
}

#[tokio::test]
async fn unary_generation_goes_through_the_same_model() {
    let s = serve(EchoGenerator::default()).await;
    let (status, _, body) = common::post_json(
        &s.url("/api/v1/task/text-generation"),
        &json!({"model_id": "echo", "inputs": "a b c d", "parameters": {"max_new_tokens": 2,
            "decoding_method": "SAMPLING", "seed": 7, "temperature": 0.5}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["generated_text"], "a b ");
    assert_eq!(body["generated_tokens"], 2);
    assert_eq!(body["finish_reason"], "EOS_TOKEN");
    assert_eq!(body["seed"], 7);
}
