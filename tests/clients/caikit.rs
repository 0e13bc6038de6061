//! The Python `caikit-nlp-client` (its HTTP and reflection-based gRPC clients, unchanged) for
//! text generation, and a generic Python gRPC client (grpcio + grpcio-reflection) that
//! discovers every service through reflection and calls every RPC. Their answers must equal
//! taskgate's own REST answers.

use serde_json::{Value, json};

use crate::common;
use crate::common::grpc::assert_same;
use crate::{ONE_AT_A_TIME, grpc_address, python, run_script};

/// The text of a successful client call (a stream's chunks joined).
fn text(outcome: &Value, what: &str) -> String {
    match &outcome["ok"] {
        Value::String(text) => text.clone(),
        Value::Array(chunks) => chunks.iter().map(|c| c.as_str().unwrap()).collect(),
        _ => panic!("{what} failed: {outcome}"),
    }
}

#[tokio::test]
async fn caikit_nlp_client_generates_over_http_and_grpc() {
    let test = "caikit_nlp_client_generates_over_http_and_grpc";
    let Some(python) = python(test) else {
        return;
    };
    let Some(gguf) = common::smollm2_gguf(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = common::serve_models(
        "caikit-nlp-client",
        json!([{"id": "smollm2", "module": "text-generation", "config": {"path": gguf}}]),
        json!({}),
    );
    let prompt = common::chatml("Name three colours.");
    let out = run_script(
        &python,
        "caikit_nlp_client_check.py",
        &[
            "--http",
            &server.base,
            "--grpc",
            &grpc_address(&server),
            "--model",
            "smollm2",
            "--prompt",
            &prompt,
        ],
    );

    let greedy = server
        .call_ok(
            "text-generation",
            json!({"model_id": "smollm2", "inputs": prompt,
        "parameters": {"max_new_tokens": 10, "min_new_tokens": 2}}),
        )
        .await;
    let sampled = server
        .call_ok(
            "text-generation",
            json!({"model_id": "smollm2", "inputs": prompt,
        "parameters": {"max_new_tokens": 10, "decoding_method": "SAMPLING", "seed": 5,
        "temperature": 0.8, "top_k": 30, "top_p": 0.95}}),
        )
        .await;
    for (name, expected) in [("greedy", &greedy), ("sampled", &sampled)] {
        let expected = expected["generated_text"].as_str().unwrap();
        assert!(!expected.is_empty());
        for transport in ["http", "grpc"] {
            for flavour in ["", "_stream"] {
                let key = format!("{transport}_{name}{flavour}");
                assert_eq!(text(&out[&key], &key), expected, "{key}: {}", out[&key]);
            }
        }
    }
    // A stream is one chunk per event: the input-count event, one per token, the finish.
    let stream = out["grpc_greedy_stream"]["ok"].as_array().unwrap();
    assert_eq!(
        stream.len() as u64,
        greedy["generated_tokens"].as_u64().unwrap() + 2
    );
    assert_eq!(
        out["http_greedy_stream"]["ok"].as_array().unwrap().len(),
        stream.len()
    );

    let preserved = text(&out["grpc_preserved"], "grpc_preserved");
    assert!(preserved.starts_with(&prompt), "{preserved}");

    for key in [
        "http_unknown_model",
        "grpc_unknown_model",
        "grpc_unknown_model_stream",
    ] {
        assert_eq!(out[key]["error"], "RuntimeError", "{key}: {}", out[key]);
        let message = out[key]["message"].as_str().unwrap();
        assert!(
            message.contains("Model 'no-such-model' not loaded"),
            "{key}: {message}"
        );
    }
    for key in ["http_bad_parameter", "grpc_bad_parameter"] {
        assert_eq!(out[key]["error"], "RuntimeError", "{key}: {}", out[key]);
        let message = out[key]["message"].as_str().unwrap();
        assert!(
            message.contains("/parameters/temperature"),
            "{key}: {message}"
        );
    }
}

/// Numbers the proto3 JSON mapping writes as strings (64-bit integers) read as numbers, on both
/// sides alike so nothing else changes.
fn digits_as_numbers(value: &Value) -> Value {
    match value {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.clone()),
        Value::Array(items) => Value::Array(items.iter().map(digits_as_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), digits_as_numbers(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn a_generic_reflection_client_calls_every_rpc_like_rest() {
    let test = "a_generic_reflection_client_calls_every_rpc_like_rest";
    let Some(python) = python(test) else {
        return;
    };
    let Some(models) = common::every_task_models(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = common::serve_models("reflection-client", models, json!({}));
    let prompt = common::chatml("Say hello.");
    let documents = json!([{"text": "Paris is the capital of France.", "id": 1},
                           {"text": "Bananas are yellow.", "id": 2}]);
    // (RPC, model, gRPC request, REST task, REST body)
    let cases = vec![
        (
            "TextGenerationTaskPredict",
            "smollm2",
            json!({"text": prompt, "max_new_tokens": 6, "generated_tokens": true, "token_logprobs": true}),
            "text-generation",
            json!({"inputs": prompt, "parameters": {"max_new_tokens": 6, "generated_tokens": true,
                "token_logprobs": true}}),
        ),
        (
            "TextClassificationTaskPredict",
            "sentiment",
            json!({"text": "Great product!"}),
            "text-classification",
            json!({"inputs": "Great product!"}),
        ),
        (
            "TokenClassificationTaskPredict",
            "pii-rules",
            json!({"text": "Mail ana@example.com", "threshold": 0.5}),
            "token-classification",
            json!({"inputs": "Mail ana@example.com", "parameters": {"threshold": 0.5}}),
        ),
        (
            "TokenizationTaskPredict",
            "all-minilm",
            json!({"text": "Hello world"}),
            "tokenization",
            json!({"inputs": "Hello world"}),
        ),
        (
            "EmbeddingTaskPredict",
            "all-minilm",
            json!({"text": "A guitar."}),
            "embedding",
            json!({"inputs": "A guitar."}),
        ),
        (
            "EmbeddingTasksPredict",
            "all-minilm",
            json!({"texts": ["one", "two"]}),
            "embedding-tasks",
            json!({"inputs": ["one", "two"]}),
        ),
        (
            "SentenceSimilarityTaskPredict",
            "all-minilm",
            json!({"source_sentence": "A guitar.", "sentences": ["A violin.", "Stocks fell."]}),
            "sentence-similarity",
            json!({"inputs": {"source_sentence": "A guitar.", "sentences": ["A violin.", "Stocks fell."]}}),
        ),
        (
            "SentenceSimilarityTasksPredict",
            "all-minilm",
            json!({"source_sentences": ["A guitar.", "Markets."], "sentences": ["A violin."]}),
            "sentence-similarity-tasks",
            json!({"inputs": {"source_sentences": ["A guitar.", "Markets."], "sentences": ["A violin."]}}),
        ),
        (
            "RerankTaskPredict",
            "all-minilm",
            json!({"query": "capital of France", "documents": documents, "top_n": 1}),
            "rerank",
            json!({"inputs": {"query": "capital of France", "documents": documents},
                "parameters": {"top_n": 1}}),
        ),
        (
            "RerankTasksPredict",
            "all-minilm",
            json!({"queries": ["capital of France", "fruit"], "documents": documents}),
            "rerank-tasks",
            json!({"inputs": {"queries": ["capital of France", "fruit"], "documents": documents}}),
        ),
    ];
    let mut calls: Vec<Value> = cases
        .iter()
        .map(|(rpc, model, request, _, _)| {
            json!({
            "method": format!("caikit.runtime.Nlp.NlpService/{rpc}"),
            "model": model, "request": request})
        })
        .collect();
    calls.push(
        json!({"method": "caikit.runtime.Nlp.NlpService/ServerStreamingTextGenerationTaskPredict",
        "model": "smollm2", "request": {"text": prompt, "max_new_tokens": 4}}),
    );
    calls.push(
        json!({"method": "caikit.runtime.info.InfoService/GetModelsInfo",
        "request": {"model_ids": ["pii-rules"]}}),
    );
    calls.push(
        json!({"method": "caikit.runtime.Nlp.NlpService/EmbeddingTaskPredict",
        "request": {"text": "no model named"}}),
    );
    let file = common::temp_dir("reflection-calls").join("calls.json");
    std::fs::write(&file, json!({"calls": calls}).to_string()).unwrap();
    let out = run_script(
        &python,
        "grpc_reflection_check.py",
        &[
            "--grpc",
            &grpc_address(&server),
            "--calls",
            file.to_str().unwrap(),
        ],
    );

    let services: Vec<&str> = out["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for expected in [
        "caikit.runtime.Nlp.NlpService",
        "caikit.runtime.info.InfoService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        assert!(
            services.contains(&expected),
            "{expected} not listed: {services:?}"
        );
    }

    let results = out["results"].as_array().unwrap();
    for (i, (rpc, model, _, task, body)) in cases.iter().enumerate() {
        let mut body = body.clone();
        body["model_id"] = json!(model);
        let rest_answer = server.call_ok(task, body).await;
        let grpc_answer = results[i]
            .get("ok")
            .unwrap_or_else(|| panic!("{rpc}: {}", results[i]));
        assert_same(
            &digits_as_numbers(&rest_answer),
            &digits_as_numbers(grpc_answer),
            rpc,
        );
    }
    let n = cases.len();
    let events = results[n]["ok"].as_array().unwrap();
    assert_eq!(events.len(), 6, "input count, 4 tokens, finish: {events:?}");
    assert_eq!(events[5]["details"]["finish_reason"], "MAX_TOKENS");
    assert_eq!(results[n + 1]["ok"]["models"][0]["name"], "pii-rules");
    assert_eq!(results[n + 2]["code"], "INVALID_ARGUMENT");
    assert_eq!(results[n + 2]["details"], "Missing required model ID");
}
