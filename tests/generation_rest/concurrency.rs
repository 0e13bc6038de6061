//! Streams at once: each equals its solo result, a client that leaves frees its slot, and a
//! full queue answers 429.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use super::{chat, common, concatenated, request, serve, story_prompt};

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
