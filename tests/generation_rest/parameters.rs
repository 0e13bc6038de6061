//! Every parameter family of text generation over REST, and the errors bad values get.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ORACLE, chat, concatenated, request, serve, story_prompt};

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
