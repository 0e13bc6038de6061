//! SmolLM2 (Q4_1 GGUF) served in process by the real binary: text generation over HTTP, unary
//! and streamed, with every parameter family, checked against llama.cpp's greedy output.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::BinaryServer;
use futures::StreamExt;
use serde_json::{Value, json};

/// llama.cpp's greedy 64-token output for [`story_prompt`] on the same file.
const ORACLE: &str = "As the AI, AI-powered robot, \"Pixel,\" began its journey of learning to paint, \
    the world was abuzz with excitement. The AI's creators had envisioned a robot that could not \
    only create art but also inspire and educate others.\n\nPixel's creators had created a robot \
    that could learn";

/// The ChatML prompt SmolLM2's embedded template renders for one user message (with the
/// template's default system prompt).
fn chat(user: &str) -> String {
    format!(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
         Face<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )
}

fn story_prompt() -> String {
    chat("Write a short story about a robot who learns to paint.")
}

/// One generating server at a time: several would share two cores and each run slower than
/// the request timeout.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Served {
    server: BinaryServer,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Served {
    type Target = BinaryServer;
    fn deref(&self) -> &BinaryServer {
        &self.server
    }
}

/// Serves only smollm2, with `config` for its module.
fn serve(test: &str, config: Value) -> Option<Served> {
    serve_with(test, config, json!({}), Stdio::inherit())
}

/// Like [`serve`], with `top` merged into the config's top level and the log to `log`.
fn serve_with(test: &str, config: Value, top: Value, log: Stdio) -> Option<Served> {
    let file = common::smollm2_gguf(test)?;
    // A failed test poisons the lock; the next test still runs on its own server.
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("taskgate-gen-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut module_config = json!({"path": file});
    module_config
        .as_object_mut()
        .unwrap()
        .extend(config.as_object().cloned().unwrap_or_default());
    let mut yaml = json!({
        "models_dir": dir.join("none"),
        "models": [{"id": "smollm2", "module": "text-generation", "config": module_config}],
    });
    yaml.as_object_mut()
        .unwrap()
        .extend(top.as_object().cloned().unwrap_or_default());
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, serde_json::to_string(&yaml).unwrap()).unwrap();
    let server = BinaryServer::start_logging(
        &["--config", path.to_str().unwrap()],
        &[("RUST_LOG", "warn,taskgate=info")],
        log,
    );
    Some(Served {
        server,
        _turn: turn,
    })
}

fn request(inputs: &str, parameters: Value) -> Value {
    json!({"model_id": "smollm2", "inputs": inputs, "parameters": parameters})
}

fn concatenated(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| e["generated_text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn greedy_output_matches_llama_cpp_unary_and_streamed() {
    let Some(server) = serve(
        "greedy_output_matches_llama_cpp_unary_and_streamed",
        json!({}),
    ) else {
        return;
    };
    let body = request(&story_prompt(), json!({"max_new_tokens": 64}));
    let (status, result) = server.call("text-generation", body.clone()).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["generated_text"], ORACLE);
    assert_eq!(result["generated_tokens"], 64);
    assert_eq!(result["finish_reason"], "MAX_TOKENS");
    assert_eq!(result["input_token_count"], 42);
    assert!(result.get("seed").is_none(), "greedy reports no seed");
    assert_eq!(result["producer_id"]["name"], "text-generation");

    let events = server.stream(body).await;
    assert_eq!(events.len(), 66, "first + one per token + last");
    let first = &events[0];
    assert_eq!(first["generated_text"], "");
    assert_eq!(first["details"]["input_token_count"], 42);
    assert_eq!(first["details"]["finish_reason"], "NOT_FINISHED");
    assert!(events[1..65].iter().all(|e| e.get("details").is_none()));
    let last = &events[65];
    assert_eq!(last["details"]["finish_reason"], "MAX_TOKENS");
    assert_eq!(last["details"]["generated_tokens"], 64);
    assert_eq!(concatenated(&events), ORACLE);
}

/// The scalar kernels every x86-64 CPU runs (what `cpu_kernels: portable` forces, and what
/// a CPU without AVX2 gets) give llama.cpp's greedy tokens too, served by the real binary.
#[tokio::test]
async fn portable_kernels_give_llama_cpps_greedy_output() {
    let test = "portable_kernels_give_llama_cpps_greedy_output";
    let log_path = common::temp_dir(test).join("taskgate.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let top = json!({"cpu_kernels": "portable"});
    let Some(server) = serve_with(test, json!({}), top, log.into()) else {
        return;
    };
    let body = request(&story_prompt(), json!({"max_new_tokens": 64}));
    let (status, result) = server.call("text-generation", body).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["generated_text"], ORACLE);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let chosen = log
        .lines()
        .find(|l| l.contains("cpu kernels chosen"))
        .unwrap_or_else(|| panic!("no kernel choice logged:\n{log}"));
    assert!(
        chosen.contains("kernels=\"scalar\"") && chosen.contains("requested=Portable"),
        "{chosen}"
    );
}

#[tokio::test]
async fn sampling_is_reproducible_by_seed() {
    let Some(server) = serve("sampling_is_reproducible_by_seed", json!({})) else {
        return;
    };
    let prompt = chat("Invent a name for a cat.");
    let sampled = |seed: Option<u64>| {
        let mut params = json!({"decoding_method": "SAMPLING", "max_new_tokens": 12,
            "temperature": 1.5, "top_k": 50, "top_p": 0.95, "typical_p": 0.99,
            "repetition_penalty": 1.1});
        if let Some(seed) = seed {
            params["seed"] = json!(seed);
        }
        request(&prompt, params)
    };
    let (_, a) = server.call("text-generation", sampled(Some(42))).await;
    let (_, b) = server.call("text-generation", sampled(Some(42))).await;
    let (_, c) = server.call("text-generation", sampled(Some(7))).await;
    assert_eq!(a["seed"], 42);
    assert_eq!(
        a["generated_text"], b["generated_text"],
        "same seed, same text"
    );
    assert_ne!(a["generated_text"], c["generated_text"], "{a} vs {c}");

    // Without a seed one is drawn and reported; replaying it gives the same text.
    let (status, drawn) = server.call("text-generation", sampled(None)).await;
    assert_eq!(status, 200, "{drawn}");
    let seed = drawn["seed"].as_u64().expect("the drawn seed is reported");
    let (_, replay) = server.call("text-generation", sampled(Some(seed))).await;
    assert_eq!(drawn["generated_text"], replay["generated_text"]);

    // Streaming samples the same way.
    let events = server.stream(sampled(Some(42))).await;
    assert_eq!(concatenated(&events), a["generated_text"].as_str().unwrap());
    assert_eq!(events.last().unwrap()["details"]["seed"], 42);
}

#[tokio::test]
async fn stop_sequences_end_generation_with_or_without_the_stop() {
    let Some(server) = serve(
        "stop_sequences_end_generation_with_or_without_the_stop",
        json!({}),
    ) else {
        return;
    };
    let with = |include: bool| {
        request(
            &story_prompt(),
            json!({"max_new_tokens": 64, "stop_sequences": ["Pixel", "zebra"],
                   "include_stop_sequence": include}),
        )
    };
    let (status, kept) = server.call("text-generation", with(true)).await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(
        kept["generated_text"],
        "As the AI, AI-powered robot, \"Pixel"
    );
    assert_eq!(kept["finish_reason"], "STOP_SEQUENCE");
    let (_, dropped) = server.call("text-generation", with(false)).await;
    assert_eq!(dropped["generated_text"], "As the AI, AI-powered robot, \"");
    assert_eq!(dropped["finish_reason"], "STOP_SEQUENCE");
    assert_eq!(dropped["generated_tokens"], kept["generated_tokens"]);

    // Streamed, text that may still become the stop is held back, never sent and retracted.
    let events = server.stream(with(false)).await;
    assert_eq!(concatenated(&events), "As the AI, AI-powered robot, \"");
    assert_eq!(
        events.last().unwrap()["details"]["finish_reason"],
        "STOP_SEQUENCE"
    );

    // min_new_tokens keeps generating past an early stop sequence.
    let body = request(
        &story_prompt(),
        json!({"max_new_tokens": 64, "min_new_tokens": 30, "stop_sequences": ["AI"]}),
    );
    let (_, late) = server.call("text-generation", body).await;
    assert_eq!(late["finish_reason"], "STOP_SEQUENCE");
    assert!(late["generated_tokens"].as_u64().unwrap() >= 30, "{late}");
    assert!(ORACLE.starts_with(late["generated_text"].as_str().unwrap()));
}

#[tokio::test]
async fn limits_end_generation_with_their_reason() {
    let Some(server) = serve("limits_end_generation_with_their_reason", json!({})) else {
        return;
    };
    let started = Instant::now();
    let body = request(
        &story_prompt(),
        json!({"max_new_tokens": 2000, "max_time": 0.5}),
    );
    let (status, timed) = server.call("text-generation", body).await;
    assert_eq!(status, 200, "{timed}");
    assert_eq!(timed["finish_reason"], "TIME_LIMIT");
    let generated = timed["generated_tokens"].as_u64().unwrap();
    assert!((1..2000).contains(&generated), "{timed}");
    assert!(started.elapsed() < Duration::from_secs(20));

    // A short answer ends on EOS; min_new_tokens forbids EOS until it is reached.
    let short = chat("Answer with one word: what colour is the sky on a clear day?");
    let (_, eos) = server
        .call(
            "text-generation",
            request(&short, json!({"max_new_tokens": 40})),
        )
        .await;
    assert_eq!(eos["finish_reason"], "EOS_TOKEN", "{eos}");
    let natural = eos["generated_tokens"].as_u64().unwrap();
    assert!(natural < 40);
    let (_, longer) = server
        .call(
            "text-generation",
            request(
                &short,
                json!({"max_new_tokens": 40, "min_new_tokens": natural + 5}),
            ),
        )
        .await;
    assert!(
        longer["generated_tokens"].as_u64().unwrap() >= natural + 5,
        "{longer}"
    );

    // The input is echoed in front of the output when asked.
    let (_, preserved) = server
        .call(
            "text-generation",
            request(
                &short,
                json!({"max_new_tokens": 3, "preserve_input_text": true}),
            ),
        )
        .await;
    let text = preserved["generated_text"].as_str().unwrap();
    assert!(
        text.starts_with(&short) && text.len() > short.len(),
        "{text}"
    );

    // truncate_input_tokens keeps the end of a prompt longer than the context.
    let long = "word ".repeat(9000);
    let body = request(
        &long,
        json!({"max_new_tokens": 1, "truncate_input_tokens": 100}),
    );
    let (status, truncated) = server.call("text-generation", body).await;
    assert_eq!(status, 200, "{truncated}");
    assert_eq!(truncated["input_token_count"], 100);
}

#[tokio::test]
async fn token_details_cover_input_and_output() {
    let Some(server) = serve("token_details_cover_input_and_output", json!({})) else {
        return;
    };
    let body = request(
        &story_prompt(),
        json!({"max_new_tokens": 8, "generated_tokens": true, "input_tokens": true,
               "token_logprobs": true, "token_ranks": true}),
    );
    let (status, result) = server.call("text-generation", body.clone()).await;
    assert_eq!(status, 200, "{result}");
    let tokens = result["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 8);
    let texts: Vec<&str> = tokens.iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(texts[..3], ["As", "Ġthe", "ĠAI"]);
    for token in tokens {
        assert_eq!(token["rank"], 1, "greedy picks the top token: {token}");
        let logprob = token["logprob"].as_f64().unwrap();
        assert!(logprob <= 0.0 && logprob > -20.0, "{token}");
    }
    let input = result["input_tokens"].as_array().unwrap();
    assert_eq!(input.len(), 42);
    assert_eq!(
        input[0],
        json!({"text": "<|im_start|>"}),
        "nothing precedes it"
    );
    assert_eq!(input[1]["text"], "system");
    for token in &input[1..] {
        assert!(token["logprob"].as_f64().unwrap() <= 0.0, "{token}");
        assert!(token["rank"].as_u64().unwrap() >= 1, "{token}");
    }

    // The tokenization task uses the same tokenizer: the same 42 tokens, with code-point spans.
    let (status, tokenized) = server
        .call(
            "tokenization",
            json!({"model_id": "smollm2", "inputs": story_prompt()}),
        )
        .await;
    assert_eq!(status, 200, "{tokenized}");
    assert_eq!(tokenized["token_count"], 42);
    assert_eq!(
        tokenized["results"][0],
        json!({"start": 0, "end": 12, "text": "<|im_start|>"})
    );
    assert_eq!(tokenized["results"][1]["text"], "system");

    // Details without logprobs/ranks carry only the text; streamed, each token rides its event.
    let mut plain = body.clone();
    plain["parameters"] = json!({"max_new_tokens": 8, "generated_tokens": true});
    let (_, plain) = server.call("text-generation", plain).await;
    assert_eq!(plain["tokens"][0], json!({"text": "As"}));
    assert_eq!(plain["input_tokens"], json!([]));
    let events = server.stream(body).await;
    assert_eq!(events[0]["input_tokens"].as_array().unwrap().len(), 42);
    let streamed: Vec<Value> = events
        .iter()
        .flat_map(|e| e["tokens"].as_array().unwrap().clone())
        .collect();
    assert_eq!(&streamed, tokens);
}

#[tokio::test]
async fn bad_inputs_name_the_field_and_the_context_bounds_generation() {
    let Some(server) = serve(
        "bad_inputs_name_the_field_and_the_context_bounds_generation",
        json!({"context_length": 64}),
    ) else {
        return;
    };
    let cases = [
        (
            json!({"decoding_method": "SAMPLING", "top_p": 0}),
            422,
            "/parameters/top_p",
        ),
        (
            json!({"decoding_method": "SAMPLING", "temperature": 0.01}),
            422,
            "/parameters/temperature",
        ),
        (
            json!({"max_new_tokens": 5, "min_new_tokens": 10}),
            400,
            "/parameters/min_new_tokens",
        ),
        (json!({"top_k": 5}), 400, "/parameters/top_k"),
        (
            json!({"stop_sequences": [""]}),
            400,
            "/parameters/stop_sequences/0",
        ),
        (
            json!({"max_new_tokens": 0}),
            422,
            "/parameters/max_new_tokens",
        ),
        // Bounded by the context, so one call cannot hold a sequence slot indefinitely.
        (
            json!({"max_new_tokens": 1000000, "min_new_tokens": 1000000}),
            400,
            "/parameters/max_new_tokens",
        ),
        (
            json!({"max_new_tokens": 64, "min_new_tokens": 64}),
            400,
            "/parameters/min_new_tokens",
        ),
    ];
    for (params, status, path) in cases {
        let (got, body) = server
            .call("text-generation", request("Hello", params.clone()))
            .await;
        assert_eq!(got, status, "{params}: {body}");
        let paths: Vec<&str> = body["additional_info"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|i| i["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&path), "{params}: {body}");
    }
    let long = "word ".repeat(9000);
    for task in ["text-generation", "server-streaming-text-generation"] {
        let (status, body) = server.call(task, request(&long, json!({}))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["additional_info"][0]["path"], "/inputs");
        assert!(
            body["details"].as_str().unwrap().contains("context of 64"),
            "{body}"
        );
    }
    let (status, body) = server.call("text-generation", request("", json!({}))).await;
    assert_eq!(status, 400, "{body}");

    // A prompt that fits generates until the context is full.
    let body = request(&story_prompt(), json!({"max_new_tokens": 64}));
    let (status, full) = server.call("text-generation", body).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["finish_reason"], "TOKEN_LIMIT");
    assert_eq!(
        full["generated_tokens"],
        64 - 42 + 1,
        "the last token needs no cache slot"
    );
    assert!(ORACLE.starts_with(full["generated_text"].as_str().unwrap()));
}

#[tokio::test]
async fn concurrent_streams_each_equal_their_solo_result() {
    let Some(server) = serve("concurrent_streams_each_equal_their_solo_result", json!({})) else {
        return;
    };
    let questions = [
        "Name a planet.",
        "What is two plus two?",
        "Write a haiku about rain.",
        "Give me a colour.",
    ];
    let bodies: Vec<Value> = questions
        .iter()
        .map(|q| request(&chat(q), json!({"max_new_tokens": 16})))
        .collect();
    let mut solo = Vec::new();
    for body in &bodies {
        let (status, result) = server.call("text-generation", body.clone()).await;
        assert_eq!(status, 200, "{result}");
        solo.push(result["generated_text"].as_str().unwrap().to_string());
    }
    let together = futures::future::join_all(bodies.iter().map(|b| server.stream(b.clone()))).await;
    for (events, alone) in together.iter().zip(&solo) {
        assert_eq!(&concatenated(events), alone);
    }
    // The streams overlapped, so some rounds decoded several of them in one forward pass.
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = |name: &str| -> f64 {
        let line = format!("{name}{{model=\"smollm2\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(line.as_str()))
            .unwrap_or_else(|| panic!("no {line} in:\n{metrics}"))
            .parse()
            .unwrap()
    };
    let passes = sample("taskgate_decode_batch_size_count");
    assert!(passes > 0.0, "no batched decoding pass");
    assert!(sample("taskgate_decode_batch_size_sum") >= 2.0 * passes);
    let stats = server.first_model_metadata().await;
    assert_eq!(stats["active_sequences"], 0);
    assert_eq!(stats["completed_sequences"], 8);
}

#[tokio::test]
async fn a_disconnecting_client_frees_its_slot_and_a_full_queue_answers_429() {
    let Some(server) = serve(
        "a_disconnecting_client_frees_its_slot_and_a_full_queue_answers_429",
        json!({"max_sequences": 1, "queue_capacity": 1}),
    ) else {
        return;
    };
    let endless = request(&story_prompt(), json!({"max_new_tokens": 4000}));
    let url = server.url("/api/v1/task/server-streaming-text-generation");
    let response = common::client()
        .post(&url)
        .json(&endless)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut endless_stream = response.bytes_stream();
    let first = endless_stream.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("input_token_count"));

    // The one slot is busy: the next request waits in the queue, the one after is refused.
    let queued = tokio::spawn({
        let url = url.clone();
        let body = request(&chat("Hi"), json!({"max_new_tokens": 2}));
        async move {
            let response = common::client()
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    });
    let mut refused = None;
    for _ in 0..50 {
        if server.first_model_metadata().await["queued_sequences"] == 1 {
            let (status, body) = server
                .call(
                    "text-generation",
                    request("Hi", json!({"max_new_tokens": 1})),
                )
                .await;
            refused = Some((status, body));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = refused.expect("the second request was queued");
    assert_eq!(status, 429, "{body}");
    assert!(body["details"].as_str().unwrap().contains("retry later"));

    // Hanging up frees the slot: the queued request then runs to completion.
    drop(endless_stream);
    let (status, text) = tokio::time::timeout(Duration::from_secs(60), queued)
        .await
        .expect("the queued request ran once the slot was freed")
        .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"finish_reason\":\"MAX_TOKENS\""), "{text}");
    // The engine counts a sequence as ended on its next step, just after the answer left.
    let mut stats = server.first_model_metadata().await;
    for _ in 0..50 {
        if stats["active_sequences"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        stats = server.first_model_metadata().await;
    }
    assert_eq!(stats["cancelled_sequences"], 1, "{stats}");
    assert_eq!(stats["active_sequences"], 0, "{stats}");

    // A unary caller that gives up cancels its generation too.
    taskgate_runtime::remote::tls::install_crypto_provider();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(server.url("/api/v1/task/text-generation"))
        .json(&endless)
        .send()
        .await;
    assert!(gave_up.is_err(), "4000 tokens take longer than 2 s");
    let mut stats = server.first_model_metadata().await;
    for _ in 0..50 {
        if stats["cancelled_sequences"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        stats = server.first_model_metadata().await;
    }
    assert_eq!(stats["cancelled_sequences"], 2, "{stats}");
    assert_eq!(stats["active_sequences"], 0, "{stats}");
    assert_eq!(
        stats["completed_sequences"], 1,
        "only the queued request completed"
    );
}
