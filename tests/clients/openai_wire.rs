//! The OpenAI routes as bytes on the wire, for what the SDKs hide: the exact SSE framing, the
//! served model's header through an alias, a config's own chat template, lists of prompts,
//! rerank, and refusals that name the OpenAI field at fault.

use serde_json::{Value, json};

use crate::ONE_AT_A_TIME;
use crate::common::{self, BinaryServer};

const CONTEXT: u64 = 256;

fn serve(test: &str) -> Option<BinaryServer> {
    let gguf = common::smollm2_gguf(test)?;
    let minilm = common::minilm_dir(test)?;
    Some(common::serve_models(
        test,
        json!([
            {"id": "smollm2", "module": "text-generation",
                "config": {"path": gguf, "context_length": CONTEXT}},
            // The same weights, chatting through a template of the config's own: the turns'
            // text alone, so a chat call is the completion of that text.
            {"id": "plain", "module": "text-generation",
                "config": {"path": gguf, "context_length": CONTEXT},
                "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"},
            {"id": "all-minilm", "module": "sentence-embeddings", "config": {"path": minilm}},
        ]),
        json!({"aliases": [{"name": "chat", "targets": [{"model": "smollm2"}]}]}),
    ))
}

async fn post(
    server: &BinaryServer,
    path: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = common::client()
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn post_json(server: &BinaryServer, path: &str, body: Value) -> (u16, Value) {
    let (status, _, text) = post(server, path, body).await;
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, json)
}

/// The `data:` payloads of an event stream, after checking every line is OpenAI's framing.
fn data_lines(body: &str) -> Vec<String> {
    let mut data = Vec::new();
    for line in body.lines().filter(|l| !l.is_empty()) {
        if line.starts_with(':') {
            continue;
        }
        let payload = line
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("not an OpenAI SSE line: {line:?}\n{body}"));
        data.push(payload.to_string());
    }
    data
}

#[tokio::test]
async fn openai_routes_speak_the_wire_openai_clients_parse() {
    let test = "openai_routes_speak_the_wire_openai_clients_parse";
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let messages = json!([{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}]);

    // A stream through the alias: framed as OpenAI's, the served model named.
    let (status, headers, body) = post(
        &server,
        "/v1/chat/completions",
        json!({"model": "chat", "messages": messages, "temperature": 0, "max_tokens": 6,
            "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-taskgate-model"], "smollm2");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let data = data_lines(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    assert_eq!(usage["completion_tokens"], 6, "{usage}");
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["usage"].is_null())
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0).map(|c| &c["finish_reason"]))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("length")]);
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    let (_, whole) = post_json(
        &server,
        "/v1/chat/completions",
        json!({"model": "chat", "messages": messages, "temperature": 0, "max_tokens": 6}),
    )
    .await;
    assert_eq!(whole["choices"][0]["message"]["content"], streamed.as_str());
    assert_eq!(whole["usage"], *usage);

    // The config's template: chat on `plain` is the completion of the turns' text.
    let (status, chat) = post_json(
        &server,
        "/v1/chat/completions",
        json!({"model": "plain", "messages": [{"role": "user", "content": "1, 2, 3,"}],
            "temperature": 0, "max_tokens": 6}),
    )
    .await;
    assert_eq!(status, 200, "{chat}");
    let (status, completion) = post_json(
        &server,
        "/v1/completions",
        json!({"model": "smollm2", "prompt": ["1, 2, 3,", "The capital of France is"],
            "temperature": 0, "max_tokens": 6, "logprobs": 0}),
    )
    .await;
    assert_eq!(status, 200, "{completion}");
    let choices = completion["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    assert_eq!(chat["choices"][0]["message"]["content"], choices[0]["text"]);
    assert_eq!(chat["usage"]["completion_tokens"], 6, "{chat}");
    let logprobs = &choices[0]["logprobs"];
    let tokens: String = logprobs["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tokens, choices[0]["text"].as_str().unwrap());
    assert_eq!(logprobs["text_offset"][0], 0);
    let usage = &completion["usage"];
    assert_eq!(usage["completion_tokens"], 12, "{usage}");
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(usage["prompt_tokens"].as_u64().unwrap() + 12)
    );

    // Rerank in Cohere's and vLLM's shape.
    let (status, ranked) = post_json(
        &server,
        "/v1/rerank",
        json!({"model": "all-minilm", "query": "What is the capital of France?",
            "documents": ["Bananas are yellow.", {"text": "Paris is the capital of France."},
                "The Eiffel tower is in Paris."],
            "top_n": 2, "return_documents": true}),
    )
    .await;
    assert_eq!(status, 200, "{ranked}");
    let results = ranked["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["index"], 1, "{ranked}");
    assert_eq!(
        results[0]["document"]["text"],
        "Paris is the capital of France."
    );
    assert!(results[0]["relevance_score"].as_f64() > results[1]["relevance_score"].as_f64());
}

#[tokio::test]
async fn openai_refusals_name_the_field_the_caller_sent() {
    let test = "openai_refusals_name_the_field_the_caller_sent";
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let hi = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        // (path, body, status, param, code)
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi, "tools": []}),
            422,
            "tools",
            "unknown_parameter",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi, "temperature": 3}),
            422,
            "temperature",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi,
            "max_tokens": CONTEXT + 1}),
            400,
            "max_tokens",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi,
            "stream_options": {"include_usage": true}}),
            400,
            "stream_options",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi, "logprobs": true,
            "top_logprobs": 3}),
            400,
            "top_logprobs",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi,
            "stop": ["a", "b", "c", "d", "e"]}),
            422,
            "stop",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2", "messages": hi, "stop": [""]}),
            422,
            "stop[0]",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "smollm2",
            "messages": [{"role": "tool", "content": "x"}]}),
            422,
            "messages[0].role",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "all-minilm", "messages": hi}),
            400,
            "model",
            "model_not_supported",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "nope", "messages": hi}),
            404,
            "model",
            "model_not_found",
        ),
        (
            "/v1/completions",
            json!({"model": "smollm2", "prompt": "hi", "best_of": 2}),
            400,
            "best_of",
            "invalid_value",
        ),
        (
            "/v1/completions",
            json!({"model": "smollm2", "prompt": ["a", "b"], "stream": true}),
            400,
            "prompt",
            "invalid_value",
        ),
        (
            "/v1/embeddings",
            json!({"model": "all-minilm", "input": "hi", "dimensions": 3}),
            400,
            "dimensions",
            "invalid_value",
        ),
        (
            "/v1/embeddings",
            json!({"model": "all-minilm", "input": [1, 2]}),
            422,
            "input[0]",
            "invalid_value",
        ),
        (
            "/v1/rerank",
            json!({"model": "all-minilm", "query": "q", "documents": []}),
            422,
            "documents",
            "invalid_value",
        ),
    ];
    for (path, body, status, param, code) in cases {
        let (got, answer) = post_json(&server, path, body.clone()).await;
        let error = &answer["error"];
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert_eq!(error["param"], param, "{path} {body}: {answer}");
        assert_eq!(error["code"], code, "{path} {body}: {answer}");
        let message = error["message"].as_str().unwrap();
        assert!(!message.contains("max_new_tokens"), "{message}");
        assert!(
            ["invalid_request_error", "not_found_error"].contains(&error["type"].as_str().unwrap()),
            "{answer}"
        );
    }
    // A body that is no JSON, and one with the wrong type: the task API's statuses.
    let response = common::client()
        .post(server.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
    let (status, answer) = post_json(&server, "/v1/models/nope", json!({})).await;
    assert_eq!(status, 405, "{answer}");
    let missing = common::client()
        .get(server.url("/v1/models/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
