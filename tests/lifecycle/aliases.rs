//! Aliases over real sockets: weighted choice over many calls, sticky routing per key and per
//! session, the serving model named in `x-taskgate-model` (REST) and metadata (gRPC), and
//! fallback to the in-process model when the remote target is gone: for unary calls and
//! streams that had not started, never after a token.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use taskgate_gateway::auth::api_keys::digest_hex;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;

use crate::common::tgis_fake::FakeTgis;
use crate::common::{self, BinaryServer};
use crate::{classify, rules};

fn key(n: usize) -> String {
    format!("sticky-key-{n:02}-0123456789")
}

#[tokio::test]
async fn weights_hold_over_a_thousand_calls_and_sticky_callers_keep_their_model() {
    let keys: Vec<Value> = (0..20)
        .map(|n| {
            json!({"id": format!("k{n}"), "sha256": digest_hex(&key(n)),
                "scopes": {"tasks": ["*"], "models": ["*"]}})
        })
        .collect();
    let server = common::serve_models(
        "aliases-weights",
        json!([rules("rules-a"), rules("rules-b")]),
        json!({
            "auth": {"keys": keys},
            "aliases": [
                {"name": "canary", "targets": [
                    {"model": "rules-a", "weight": 90}, {"model": "rules-b", "weight": 10}]},
                {"name": "by-key", "sticky": "key", "targets": [
                    {"model": "rules-a"}, {"model": "rules-b"}]},
                {"name": "by-session", "sticky": "session", "targets": [
                    {"model": "rules-a"}, {"model": "rules-b"}]},
            ],
        }),
    );
    let bearer = format!("Bearer {}", key(0));
    let mut served: BTreeMap<String, u32> = BTreeMap::new();
    for _ in 0..1000 {
        let (status, model) = classify(&server, "canary", &[("authorization", &bearer)]).await;
        assert_eq!(status, 200);
        *served.entry(model.unwrap()).or_default() += 1;
    }
    // 100 expected on rules-b, standard deviation 9.5: within 4 of them.
    let canary = served.get("rules-b").copied().unwrap_or(0);
    assert!((62..=138).contains(&canary), "{served:?}");
    assert_eq!(served.values().sum::<u32>(), 1000);

    // Sticky per key: each key's five calls land on one model; the keys spread over both.
    let mut per_key = BTreeSet::new();
    for n in 0..20 {
        let bearer = format!("Bearer {}", key(n));
        let first = classify(&server, "by-key", &[("authorization", &bearer)]).await;
        assert_eq!(first.0, 200);
        for _ in 0..4 {
            assert_eq!(
                classify(&server, "by-key", &[("authorization", &bearer)]).await,
                first
            );
        }
        per_key.insert(first.1.unwrap());
    }
    assert_eq!(per_key.len(), 2, "{per_key:?}");

    // Sticky per session, over one key.
    let mut per_session = BTreeSet::new();
    for n in 0..20 {
        let session = format!("session-{n}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("x-session-id", &session),
        ];
        let first = classify(&server, "by-session", &headers).await;
        for _ in 0..4 {
            assert_eq!(classify(&server, "by-session", &headers).await, first);
        }
        per_session.insert(first.1.unwrap());
    }
    assert_eq!(per_session.len(), 2, "{per_session:?}");

    // gRPC names the serving model in the answer's metadata.
    let mut nlp = common::grpc::nlp(&server).await;
    let mut request = tonic::Request::new(TokenClassificationTaskRequest {
        text: "mail ana@example.com".into(),
        threshold: None,
    });
    let metadata = request.metadata_mut();
    metadata.insert("mm-model-id", "by-key".parse().unwrap());
    metadata.insert("authorization", bearer.parse().unwrap());
    let answer = nlp
        .token_classification_task_predict(request)
        .await
        .unwrap();
    let over_rest = classify(&server, "by-key", &[("authorization", &bearer)]).await;
    assert_eq!(
        answer
            .metadata()
            .get("x-taskgate-model")
            .map(|v| v.to_str().unwrap().to_string()),
        over_rest.1
    );
}

/// A generation call's status, the model that served it, and its answer.
async fn generate(server: &BinaryServer, model: &str, inputs: &str) -> (u16, String, Value) {
    let response = common::client()
        .post(server.url("/api/v1/task/text-generation"))
        .json(&json!({"model_id": model, "inputs": inputs,
            "parameters": {"max_new_tokens": 4}}))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = common::read(response).await;
    let served = headers
        .get("x-taskgate-model")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, served, body)
}

/// A streamed generation: the model that served it and the SSE text.
async fn stream(server: &BinaryServer, model: &str, inputs: &str) -> (String, String) {
    let response = common::client()
        .post(server.url("/api/v1/task/server-streaming-text-generation"))
        .json(&json!({"model_id": model, "inputs": inputs,
            "parameters": {"max_new_tokens": 4}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let served = response.headers()["x-taskgate-model"]
        .to_str()
        .unwrap()
        .to_string();
    (served, response.text().await.unwrap())
}

#[tokio::test]
async fn a_gone_remote_falls_back_to_the_in_process_model_but_never_after_a_token() {
    let Some(gguf) = common::smollm2_gguf("aliases-fallback") else {
        return;
    };
    let remote = FakeTgis::default();
    let running = remote.start(0).await;
    let breaking = FakeTgis::default().start(0).await;
    let backend = |url: &str| {
        json!({"kind": "tgis", "endpoint": url, "model_name": "granite-3b",
            "request_timeout_ms": 1500, "stream_idle_timeout_ms": 1500})
    };
    let server = common::serve_models(
        "aliases-fallback",
        json!([
            {"id": "remote", "backend": backend(&running.url)},
            {"id": "breaking", "backend": backend(&breaking.url)},
            {"id": "smollm2", "module": "text-generation", "config": {"path": gguf}},
        ]),
        json!({"aliases": [
            {"name": "writer", "targets": [{"model": "remote"}], "fallback": ["smollm2"]},
            {"name": "fragile", "targets": [{"model": "breaking"}], "fallback": ["smollm2"]},
        ]}),
    );
    let prompt = "one two three four";
    let (status, served, answer) = generate(&server, "writer", prompt).await;
    assert_eq!((status, served.as_str()), (200, "remote"), "{answer}");
    assert_eq!(answer["generated_text"], " four three two one");
    // The remote's own refusal is the caller's answer: nothing to fall back from.
    let (status, served, _) = generate(&server, "writer", "REJECT").await;
    assert_eq!((status, served.as_str()), (400, ""));

    running.stop().await;
    let (status, served, answer) = generate(&server, "writer", prompt).await;
    assert_eq!((status, served.as_str()), (200, "smollm2"), "{answer}");
    let direct = server
        .call_ok(
            "text-generation",
            json!({"model_id": "smollm2", "inputs": prompt, "parameters": {"max_new_tokens": 4}}),
        )
        .await;
    assert_eq!(answer["generated_text"], direct["generated_text"]);
    // A stream that had not started falls back too.
    let (served, text) = stream(&server, "writer", prompt).await;
    assert_eq!(served, "smollm2");
    assert!(!text.contains("event: error"), "{text}");

    // A stream whose remote fails after its first tokens ends with the error: the tokens sent
    // cannot be taken back, so no other model continues it.
    let (served, text) = stream(&server, "fragile", "BREAK one two three").await;
    assert_eq!(served, "breaking");
    let data: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert!(text.contains("event: error"), "{text}");
    let tokens: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        tokens.iter().any(|t| t["generated_text"] == " three"),
        "{text}"
    );
    let fallbacks = crate::metric(
        &server,
        "taskgate_alias_fallbacks_total{alias=\"writer\",model=\"remote\"}",
    )
    .await;
    assert_eq!(fallbacks, 2.0);
    let none = crate::metric(
        &server,
        "taskgate_alias_fallbacks_total{alias=\"fragile\",model=\"breaking\"}",
    )
    .await;
    assert_eq!(none, 0.0);
}
