//! The official `openai` packages for Python and Node.js against the real binary, pointed at it
//! by base URL alone: chat (whole and streamed, with usage), completions with a stop sequence,
//! a seed that reproduces, embeddings as floats and base64, the model list, and refusals as
//! each package's own error types. What they get must equal taskgate's own task API.

use serde_json::{Value, json};

use crate::common::{self, BinaryServer};
use crate::{ONE_AT_A_TIME, installed, python, run_json, run_script};

const SYSTEM: &str = "You are concise.";
const USER: &str = "Name three colours.";

/// SmolLM2's own chat template, rendered by hand for the scripts' conversation.
fn rendered_prompt() -> String {
    format!(
        "<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{USER}<|im_end|>\n<|im_start|>assistant\n"
    )
}

/// SmolLM2 and all-MiniLM as the default config serves them, and an alias `chat` of SmolLM2.
fn serve(test: &str) -> Option<BinaryServer> {
    let gguf = common::smollm2_gguf(test)?;
    let minilm = common::minilm_dir(test)?;
    Some(common::serve_models(
        test,
        json!([
            {"id": "smollm2", "module": "text-generation", "config": {"path": gguf}},
            {"id": "all-minilm", "module": "sentence-embeddings", "config": {"path": minilm}},
        ]),
        json!({"aliases": [{"name": "chat", "targets": [{"model": "smollm2"}]}]}),
    ))
}

/// What the task API answers for the same calls, to hold the SDKs' answers against.
struct Expected {
    greedy: Value,
    stopped: Value,
    embedding: Vec<f64>,
}

async fn expected(server: &BinaryServer) -> Expected {
    let greedy = server
        .call_ok(
            "text-generation",
            json!({"model_id": "smollm2", "inputs": rendered_prompt(),
                "parameters": {"max_new_tokens": 24}}),
        )
        .await;
    let stopped = server
        .call_ok(
            "text-generation",
            json!({"model_id": "smollm2", "inputs": "1, 2, 3,",
                "parameters": {"max_new_tokens": 12, "stop_sequences": [" 6"],
                    "include_stop_sequence": false}}),
        )
        .await;
    let embedding = server
        .call_ok(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": "A man plays a guitar."}),
        )
        .await;
    let embedding = embedding["result"]["data"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    Expected {
        greedy,
        stopped,
        embedding,
    }
}

/// What both packages must have seen.
fn check_common(sdk: &str, seen: &Value, expected: &Expected) {
    let greedy = &expected.greedy;
    let text = greedy["generated_text"].as_str().unwrap();
    assert!(!text.is_empty(), "{greedy}");
    let usage = json!({
        "prompt_tokens": greedy["input_token_count"],
        "completion_tokens": greedy["generated_tokens"],
        "total_tokens": greedy["input_token_count"].as_u64().unwrap()
            + greedy["generated_tokens"].as_u64().unwrap(),
    });
    let finish = match greedy["finish_reason"].as_str().unwrap() {
        "EOS_TOKEN" | "STOP_SEQUENCE" => "stop",
        _ => "length",
    };
    for key in ["chat", "chat_stream"] {
        let answer = &seen[key];
        assert_eq!(answer["text"], text, "{sdk} {key}: {answer}");
        assert_eq!(answer["finish_reason"], finish, "{sdk} {key}: {answer}");
        for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            assert_eq!(
                answer["usage"][field], usage[field],
                "{sdk} {key}: {answer}"
            );
        }
    }
    assert_eq!(seen["chat"]["model"], "smollm2", "{sdk}");

    let stopped = &seen["completion_stop"];
    assert_eq!(
        stopped["text"], expected.stopped["generated_text"],
        "{sdk}: {stopped}"
    );
    assert!(
        !stopped["text"].as_str().unwrap().contains(" 6"),
        "{stopped}"
    );
    assert_eq!(stopped["finish_reason"], "stop", "{sdk}: {stopped}");

    let seeded = seen["seeded"].as_array().unwrap();
    assert_eq!(
        seeded[0], seeded[1],
        "{sdk}: the same seed gave two answers"
    );

    let embeddings = &seen["embeddings"];
    assert_eq!(embeddings["count"], 2, "{sdk}: {embeddings}");
    assert_eq!(embeddings["dimension"], 384, "{sdk}: {embeddings}");
    assert!(
        embeddings["base64_equals_float"].as_f64().unwrap() < 1e-6,
        "{sdk}: {embeddings}"
    );
    assert!(embeddings["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    assert_eq!(
        seen["models"],
        json!(["all-minilm", "chat", "smollm2"]),
        "{sdk}"
    );
    assert_eq!(seen["model"], "smollm2", "{sdk}");

    let refused = |key: &str, class: &str, status: u64, param: &str| {
        let refusal = &seen[key];
        assert_eq!(refusal["class"], class, "{sdk} {key}: {refusal}");
        assert_eq!(refusal["status"], status, "{sdk} {key}: {refusal}");
        assert_eq!(refusal["param"], param, "{sdk} {key}: {refusal}");
    };
    refused("unknown_model", "NotFoundError", 404, "model");
    refused("bad_parameter", "BadRequestError", 400, "n");
    assert_eq!(seen["unknown_model"]["code"], "model_not_found", "{sdk}");
}

#[tokio::test]
async fn the_openai_python_package_works_against_taskgate() {
    let test = "the_openai_python_package_works_against_taskgate";
    let Some(python) = python(test) else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let base_url = server.url("/v1");
    let seen = run_script(
        &python,
        "openai_sdk_check.py",
        &[&base_url, "smollm2", "all-minilm"],
    );
    let expected = expected(&server).await;
    check_common("python", &seen, &expected);

    let chat = &seen["chat"];
    assert_eq!(chat["role"], "assistant");
    assert_eq!(
        chat["logprobs"], expected.greedy["generated_tokens"],
        "{chat}"
    );
    assert_eq!(chat["logprob_bytes_match"], true, "{chat}");
    // One chunk for the role, one per token with text, the finish, the usage.
    let chunks = seen["chat_stream"]["chunks"].as_u64().unwrap();
    assert!(chunks >= 3, "{}", seen["chat_stream"]);
    let seeded = seen["seeded"].as_array().unwrap();
    assert_ne!(seeded[0], seeded[2], "two seeds gave the same sample");
    assert_eq!(
        seen["completion"]["text"]
            .as_str()
            .unwrap()
            .trim_start()
            .get(..5),
        Some("Paris"),
        "{}",
        seen["completion"]
    );
    let first = seen["embeddings"]["first"].as_array().unwrap();
    for (got, want) in first.iter().zip(&expected.embedding) {
        assert!(
            (got.as_f64().unwrap() - want).abs() < 1e-6,
            "{got} vs {want}"
        );
    }
    assert_eq!(seen["penalty"]["param"], "presence_penalty");
    assert_eq!(seen["penalty"]["status"], 400);
    assert_eq!(seen["unknown_model_retrieve"]["class"], "NotFoundError");
}

#[tokio::test]
async fn the_openai_npm_package_works_against_taskgate() {
    let test = "the_openai_npm_package_works_against_taskgate";
    let Some(_installed) = installed(test, "tests/node/node_modules/openai") else {
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(server) = serve(test) else {
        return;
    };
    let base_url = server.url("/v1");
    let script = std::path::Path::new(crate::ROOT).join("tests/node/openai_sdk_check.mjs");
    let seen = run_json(
        std::path::Path::new("node"),
        &script,
        &[&base_url, "smollm2", "all-minilm"],
        &[],
    );
    let expected = expected(&server).await;
    check_common("node", &seen, &expected);
    assert_eq!(seen["embeddings"]["base64_is_text"], true);
    assert_eq!(seen["penalty"]["param"], "frequency_penalty");
}
