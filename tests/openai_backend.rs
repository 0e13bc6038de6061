//! The `openai` module against a real OpenAI-compatible server, llama-cpp-python serving the
//! same SmolLM2 GGUF as the in-process engine: greedy output equals in-process output (whole,
//! streamed, chat, with stop sequences), parameters the server cannot take are refused by
//! name, embeddings come from `/v1/embeddings`, and faults (server killed mid-stream, down,
//! restarted, too slow) become clear errors without restarting taskgate.

mod common;

use common::BinaryServer;
use common::grpc::{for_model, messages_then_error, nlp, to_json};
use common::llama_server::LlamaServer;
use futures::StreamExt;
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;
use taskgate_runtime::chat_template::ChatMessage;
use taskgate_runtime::gguf::{GgufTokenizer, read_content};

fn body(model: &str, inputs: &str, parameters: Value) -> Value {
    json!({"model_id": model, "inputs": inputs, "parameters": parameters})
}

fn remote(api: &str, llama: &LlamaServer, settings: Value) -> Value {
    let mut backend = json!({"kind": "openai", "endpoint": llama.url, "model_name": "smollm2",
        "api": api, "dialect": "llama-cpp"});
    backend
        .as_object_mut()
        .unwrap()
        .extend(settings.as_object().cloned().unwrap_or_default());
    backend
}

fn streamed_text(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| e["generated_text"].as_str().unwrap())
        .collect()
}

/// The generation fields both backends report the same way.
fn comparable(result: &Value) -> Value {
    json!([
        result["generated_text"],
        result["finish_reason"],
        result["generated_tokens"],
        result["input_token_count"]
    ])
}

/// Greedy output of the in-process engine and of llama.cpp agree token for token until two
/// candidates are within float noise of each other, where the two implementations' summation
/// orders may choose differently. These prompts stay clear of such ties for the lengths used
/// (checked against llama.cpp's own in-process API as well).
const PROMPT: &str = "Explain photosynthesis in one paragraph.";
const SHORT_ANSWER: &str = "List five fruits.";
const CHAT_PROMPT: &str = "Write a short story about a robot who learns to paint.";

#[tokio::test]
async fn greedy_output_equals_in_process_generation() {
    let test = "openai_greedy";
    let Some(llama) = LlamaServer::start(test, false).await else {
        return;
    };
    let gguf = common::smollm2_gguf(test).unwrap();
    let server = common::serve_models(
        test,
        json!([
            {"id": "smollm2", "module": "text-generation", "config": {"path": gguf}},
            {"id": "remote", "backend": remote("completions", &llama, json!({}))},
            {"id": "remote-chat", "backend": remote("chat", &llama, json!({}))},
        ]),
        // Health checks far more often than calls: none may disturb a running call (probes
        // wait while calls are in flight rather than queue behind them for the model).
        json!({"remote_health_check_ms": 100}),
    );
    let generate = |model: &'static str, prompt: String, parameters: Value| {
        let (server, llama) = (&server, &llama);
        async move {
            llama.forget_prompt().await;
            server
                .call_ok("text-generation", body(model, &prompt, parameters))
                .await
        }
    };
    let stream = |model: &'static str, prompt: String, parameters: Value| {
        let (server, llama) = (&server, &llama);
        async move {
            llama.forget_prompt().await;
            server.stream(body(model, &prompt, parameters)).await
        }
    };
    let prompt = common::chatml(PROMPT);
    let greedy = json!({"max_new_tokens": 24});
    let local = generate("smollm2", prompt.clone(), greedy.clone()).await;
    let answer = generate("remote", prompt.clone(), greedy.clone()).await;
    assert_eq!(
        comparable(&answer),
        comparable(&local),
        "{answer} vs {local}"
    );
    assert_eq!(answer["finish_reason"], "MAX_TOKENS");
    assert_eq!(answer["producer_id"]["name"], "openai");

    // Ended by the model: EOS_TOKEN both ways.
    let short = common::chatml(SHORT_ANSWER);
    let parameters = json!({"max_new_tokens": 60});
    let local_short = generate("smollm2", short.clone(), parameters.clone()).await;
    let answer_short = generate("remote", short.clone(), parameters.clone()).await;
    assert_eq!(local_short["finish_reason"], "EOS_TOKEN");
    for field in ["generated_text", "finish_reason", "input_token_count"] {
        assert_eq!(answer_short[field], local_short[field], "{field}");
    }
    // Servers differ on counting the end-of-sequence token (llama.cpp leaves it out of
    // `usage`, taskgate and TGIS count it); the count is passed on as the server reports it.
    let counted = |r: &Value| r["generated_tokens"].as_i64().unwrap();
    assert_eq!(counted(&local_short) - counted(&answer_short), 1);

    // Streamed: the same text, event by event, ending with the same finish reason.
    let events = stream("remote", prompt.clone(), greedy.clone()).await;
    assert_eq!(streamed_text(&events), local["generated_text"]);
    assert!(events.len() > 3, "{events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["details"]["finish_reason"], "MAX_TOKENS");
    assert_eq!(last["details"]["generated_tokens"], 24);

    // Stop sequences are matched by taskgate, exactly as in process, kept or not.
    let text = local["generated_text"].as_str().unwrap();
    let stop: String = text.split_whitespace().nth(5).unwrap().to_string();
    for include in [true, false] {
        let parameters = json!({"max_new_tokens": 24, "stop_sequences": [stop],
            "include_stop_sequence": include});
        let local = generate("smollm2", prompt.clone(), parameters.clone()).await;
        let answer = generate("remote", prompt.clone(), parameters.clone()).await;
        assert_eq!(local["finish_reason"], "STOP_SEQUENCE");
        for field in ["generated_text", "finish_reason", "generated_tokens"] {
            assert_eq!(answer[field], local[field], "{field}: {answer} vs {local}");
        }
        let events = stream("remote", prompt.clone(), parameters).await;
        assert_eq!(streamed_text(&events), local["generated_text"]);
    }

    // The chat API: the server applies the GGUF's chat template, taskgate renders the same.
    let tokenizer = GgufTokenizer::from_content(&read_content(&gguf).unwrap()).unwrap();
    let rendered = tokenizer
        .chat_template()
        .unwrap()
        .unwrap()
        .render(&[ChatMessage::new("user", CHAT_PROMPT)], true)
        .unwrap();
    let long = json!({"max_new_tokens": 48});
    let local = generate("smollm2", rendered, long.clone()).await;
    let chat = generate("remote-chat", CHAT_PROMPT.into(), long.clone()).await;
    assert_eq!(comparable(&chat), comparable(&local), "{chat} vs {local}");
    let events = stream("remote-chat", CHAT_PROMPT.into(), long).await;
    assert_eq!(streamed_text(&events), local["generated_text"]);

    // Seeded sampling reaches the server: the same seed, the same text.
    let seeded = json!({"decoding_method": "SAMPLING", "temperature": 0.9, "top_k": 20,
        "seed": 7, "max_new_tokens": 16, "preserve_input_text": true});
    let first = generate("remote", prompt.clone(), seeded.clone()).await;
    let again = generate("remote", prompt.clone(), seeded).await;
    assert_eq!(first["generated_text"], again["generated_text"]);
    assert_eq!(first["seed"], 7);
    assert!(
        first["generated_text"]
            .as_str()
            .unwrap()
            .starts_with(&prompt)
    );

    // gRPC: the same answers.
    let mut client = nlp(&server).await;
    llama.forget_prompt().await;
    let reply = client
        .text_generation_task_predict(for_model(
            "remote",
            rpc::TextGenerationTaskRequest {
                text: prompt.clone(),
                max_new_tokens: Some(24),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        reply.generated_text,
        answer["generated_text"].as_str().unwrap()
    );
    llama.forget_prompt().await;
    let streamed: Vec<String> = client
        .server_streaming_text_generation_task_predict(for_model(
            "remote",
            rpc::ServerStreamingTextGenerationTaskRequest {
                text: prompt.clone(),
                max_new_tokens: Some(24),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .map(|e| e.unwrap().generated_text)
        .collect()
        .await;
    assert_eq!(streamed.concat(), reply.generated_text);
}

#[tokio::test]
async fn parameters_the_server_cannot_take_are_refused_by_name() {
    // Nothing listens there: a refusal must come before any call.
    let unreachable = "http://127.0.0.1:9";
    let server = common::serve_models(
        "openai-refusals",
        json!([
            {"id": "plain", "backend": {"kind": "openai", "endpoint": unreachable}},
            {"id": "llama", "backend": {"kind": "openai", "endpoint": unreachable,
                "dialect": "llama-cpp"}},
            {"id": "embed", "backend": {"kind": "openai", "endpoint": unreachable,
                "api": "embeddings"}},
        ]),
        json!({}),
    );
    let (status, answer) = server
        .call(
            "text-generation",
            body(
                "plain",
                "hi",
                json!({"decoding_method": "SAMPLING", "top_k": 5, "typical_p": 0.5,
                    "token_logprobs": true}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let paths: Vec<&str> = answer["additional_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/parameters/top_k",
            "/parameters/typical_p",
            "/parameters/token_logprobs"
        ],
        "{answer}"
    );
    assert!(
        answer["details"]
            .as_str()
            .unwrap()
            .contains("top_k is not supported by an OpenAI-compatible server without a `dialect`"),
        "{answer}"
    );
    // The dialect lets top_k through; typical_p stays refused.
    let (status, answer) = server
        .call(
            "text-generation",
            body(
                "llama",
                "hi",
                json!({"decoding_method": "SAMPLING", "top_k": 5,
                "typical_p": 0.5}),
            ),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["additional_info"].as_array().unwrap().len(), 1);
    assert_eq!(
        answer["additional_info"][0]["path"],
        "/parameters/typical_p"
    );
    // Accepted parameters do go out: the unreachable server answers 503 naming the backend.
    let (status, answer) = server
        .call("text-generation", body("llama", "hi", json!({})))
        .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["details"]
            .as_str()
            .unwrap()
            .contains("OpenAI-compatible server at http://127.0.0.1:9"),
        "{answer}"
    );
    let (status, answer) = server
        .call(
            "embedding",
            json!({"model_id": "embed", "inputs": "x",
                "parameters": {"truncate_input_tokens": 5}}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["additional_info"][0]["path"],
        "/parameters/truncate_input_tokens"
    );
    // An embedding model serves no generation, and the reverse.
    let (status, _) = server
        .call("text-generation", body("embed", "hi", json!({})))
        .await;
    assert_eq!(status, 400);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

/// The server's own answer for `text`, mean-pooled over tokens as taskgate does.
async fn direct_embedding(llama: &LlamaServer, text: &str) -> Vec<f32> {
    let answer: Value = common::client()
        .post(format!("{}/v1/embeddings", llama.url))
        .json(&json!({"model": "smollm2", "input": text}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = answer["data"][0]["embedding"].as_array().unwrap();
    let rows: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| match r {
            Value::Array(row) => row.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
            number => vec![number.as_f64().unwrap() as f32],
        })
        .collect();
    if rows[0].len() == 1 {
        return rows.into_iter().map(|r| r[0]).collect();
    }
    let mut mean = vec![0.0; rows[0].len()];
    for row in &rows {
        for (m, x) in mean.iter_mut().zip(row) {
            *m += x / rows.len() as f32;
        }
    }
    mean
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[tokio::test]
async fn embeddings_similarity_and_rerank_come_from_the_server() {
    let test = "openai_embeddings";
    let Some(llama) = LlamaServer::start(test, true).await else {
        return;
    };
    let server = common::serve_models(
        test,
        json!([{"id": "remote-embed", "backend": remote("embeddings", &llama, json!({}))}]),
        json!({}),
    );
    let texts = [
        "The cat sat on the mat.",
        "A kitten rests on a rug.",
        "Stock prices fell.",
    ];
    let mut direct = Vec::new();
    for text in texts {
        direct.push(direct_embedding(&llama, text).await);
    }
    let one = server
        .call_ok(
            "embedding",
            json!({"model_id": "remote-embed", "inputs": texts[0]}),
        )
        .await;
    let vector = floats(&one["result"]["data"]["values"]);
    assert_eq!(vector.len(), direct[0].len());
    assert!(cosine(&vector, &direct[0]) > 0.9999, "{one}");
    assert!(one["input_token_count"].as_u64().unwrap() > 0, "{one}");

    let many = server
        .call_ok(
            "embedding-tasks",
            json!({"model_id": "remote-embed", "inputs": texts}),
        )
        .await;
    for (i, expected) in direct.iter().enumerate() {
        let got = floats(&many["results"]["vectors"][i]["data"]["values"]);
        assert!(cosine(&got, expected) > 0.9999, "vector {i}");
    }

    let similarity = server
        .call_ok(
            "sentence-similarity",
            json!({"model_id": "remote-embed",
                "inputs": {"source_sentence": texts[0], "sentences": &texts[1..]}}),
        )
        .await;
    let scores = floats(&similarity["result"]["scores"]);
    for (score, target) in scores.iter().zip(&direct[1..]) {
        assert!(
            (score - cosine(&direct[0], target)).abs() < 1e-4,
            "{similarity}"
        );
    }

    let rerank = server
        .call_ok(
            "rerank",
            json!({"model_id": "remote-embed", "inputs": {"query": texts[0],
                "documents": [{"text": texts[2]}, {"text": texts[1]}]}}),
        )
        .await;
    let expected_first = if cosine(&direct[0], &direct[1]) > cosine(&direct[0], &direct[2]) {
        1
    } else {
        0
    };
    assert_eq!(
        rerank["result"]["scores"][0]["index"], expected_first,
        "{rerank}"
    );
}

/// Reads a REST stream to its end: the parsed `data:` events and the `event: error` data.
async fn read_stream_until_error(
    server: &BinaryServer,
    body: Value,
    kill_after: usize,
    llama: &mut LlamaServer,
) -> (usize, Option<Value>) {
    let response = common::client()
        .post(server.url("/api/v1/task/server-streaming-text-generation"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut bytes = response.bytes_stream();
    let mut text = String::new();
    let mut events = 0;
    while let Some(chunk) = bytes.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        events = text.matches("data: ").count();
        if events >= kill_after {
            llama.kill();
        }
    }
    let error = text
        .split("\n\n")
        .find(|e| e.starts_with("event: error"))
        .map(|e| serde_json::from_str(e.split("data: ").nth(1).unwrap()).unwrap());
    (events, error)
}

#[tokio::test]
async fn faults_become_clear_errors_and_a_restarted_server_serves_again() {
    let test = "openai_faults";
    let Some(mut llama) = LlamaServer::start(test, false).await else {
        return;
    };
    let settings = json!({"retries": 0, "circuit_failures": 2, "circuit_cooldown_ms": 300,
        "request_timeout_ms": 1500});
    let server = common::serve_models(
        test,
        json!([{"id": "remote", "backend": remote("completions", &llama, settings)}]),
        json!({}),
    );
    let long = json!({"max_new_tokens": 400, "min_new_tokens": 400});
    let prompt = common::chatml("Tell me a long story.");

    // Killed mid-stream: the caller gets an error event and the stream ends.
    let (events, error) = read_stream_until_error(
        &server,
        body("remote", &prompt, long.clone()),
        3,
        &mut llama,
    )
    .await;
    assert!(events >= 3, "{events}");
    let error = error.expect("an error event ends the stream");
    assert_eq!(error["code"], 502, "{error}");
    assert!(
        error["details"]
            .as_str()
            .unwrap()
            .contains("OpenAI-compatible server at"),
        "{error}"
    );

    // Restarted: the next request succeeds, taskgate untouched.
    llama.restart().await;
    server
        .call_ok(
            "text-generation",
            body("remote", &prompt, json!({"max_new_tokens": 4})),
        )
        .await;

    // Killed under a gRPC stream: UNAVAILABLE ends it.
    let mut client = nlp(&server).await;
    let mut stream = client
        .server_streaming_text_generation_task_predict(for_model(
            "remote",
            rpc::ServerStreamingTextGenerationTaskRequest {
                text: prompt.clone(),
                max_new_tokens: Some(400),
                min_new_tokens: Some(400),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..3 {
        let event = stream.message().await.unwrap().unwrap();
        to_json(&event, "caikit_data_model.nlp.GeneratedTextStreamResult");
    }
    llama.kill();
    let (_, status) = messages_then_error(stream).await;
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    // Down: 503 naming the backend, then the circuit opens and calls fail fast.
    for _ in 0..2 {
        let (status, answer) = server
            .call("text-generation", body("remote", "hi", json!({})))
            .await;
        assert_eq!(status, 503, "{answer}");
    }
    let (status, answer) = server
        .call("text-generation", body("remote", "hi", json!({})))
        .await;
    assert_eq!(status, 503);
    assert!(
        answer["details"].as_str().unwrap().contains("circuit open"),
        "{answer}"
    );
    assert_eq!(server.first_model_metadata().await["circuit"], "open");

    // Back: after the cooldown a probe goes through and closes the circuit.
    llama.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    server
        .call_ok(
            "text-generation",
            body("remote", "hi", json!({"max_new_tokens": 2})),
        )
        .await;
    assert_eq!(server.first_model_metadata().await["circuit"], "closed");

    // Slower than the request timeout: 504.
    let (status, answer) = server
        .call("text-generation", body("remote", &prompt, long))
        .await;
    assert_eq!(status, 504, "{answer}");
    assert!(
        answer["details"]
            .as_str()
            .unwrap()
            .contains("no answer within 1500 ms"),
        "{answer}"
    );
}
