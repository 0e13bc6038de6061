//! all-MiniLM-L6-v2 served in process by the real binary: every encoder task over HTTP, with
//! golden values from PyTorch sentence-transformers on the same model.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::BinaryServer;
use serde_json::{Value, json};

const GUITAR: &str = "A man is playing a guitar.";
const ACOUSTIC: &str = "Someone is playing an acoustic guitar.";
const STOCKS: &str = "The stock market fell sharply today.";

/// Serves `models/` (where all-minilm lives) next to the default pii-rules model.
fn serve(test: &str, env: &[(&str, &str)]) -> Option<BinaryServer> {
    let dir = common::minilm_dir(test)?;
    let models = dir.parent().unwrap().to_str().unwrap().to_string();
    Some(BinaryServer::start(&["--models-dir", &models], env))
}

fn vector(v: &Value) -> Vec<f64> {
    v["data"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn embeddings_and_similarity_match_sentence_transformers() {
    let Some(server) = serve("embeddings_and_similarity_match_sentence_transformers", &[]) else {
        return;
    };
    let (status, body) = server
        .call(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": GUITAR}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let single = vector(&body["result"]);
    assert_eq!(single.len(), 384);
    let norm: f64 = single.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-4,
        "embeddings are unit length, got {norm}"
    );
    assert_eq!(body["input_token_count"], 9);

    let (status, body) = server
        .call(
            "sentence-similarity",
            json!({"model_id": "all-minilm",
        "inputs": {"source_sentence": GUITAR, "sentences": [ACOUSTIC, STOCKS]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let scores: Vec<f64> = body["result"]["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(
        (scores[0] - 0.8043).abs() <= 0.001,
        "paraphrase cosine {}",
        scores[0]
    );
    assert!(
        (scores[1] - -0.054).abs() <= 0.002,
        "unrelated cosine {}",
        scores[1]
    );

    // Batched with other texts of other lengths == alone.
    let (status, body) = server.call( "embedding-tasks", json!({"model_id": "all-minilm",
        "inputs": [STOCKS, GUITAR, "Short.", "A much longer sentence that pads everything else in its batch quite a lot."]})).await;
    assert_eq!(status, 200, "{body}");
    let vectors = body["results"]["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    let batched = vector(&vectors[1]);
    let max_diff = batched
        .iter()
        .zip(&single)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        max_diff < 1e-5,
        "batched and unbatched differ by {max_diff}"
    );

    let (status, body) = server
        .call(
            "sentence-similarity-tasks",
            json!({"model_id": "all-minilm",
        "inputs": {"source_sentences": [GUITAR, STOCKS], "sentences": [ACOUSTIC, STOCKS]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        (rows[1]["scores"][1].as_f64().unwrap() - 1.0).abs() < 1e-4,
        "a sentence is similar to itself"
    );
}

#[tokio::test]
async fn rerank_orders_documents_and_honours_parameters() {
    let Some(server) = serve("rerank_orders_documents_and_honours_parameters", &[]) else {
        return;
    };
    let documents = json!([{"text": STOCKS, "id": "s"}, {"text": ACOUSTIC, "id": "a"}, {"text": "Cats sleep a lot.", "id": "c"}]);
    let (status, body) = server
        .call(
            "rerank",
            json!({"model_id": "all-minilm",
        "inputs": {"query": GUITAR, "documents": documents}, "parameters": {"top_n": 2}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["query"], GUITAR);
    let scores = result["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 2);
    assert_eq!(scores[0]["index"], 1);
    assert_eq!(scores[0]["document"]["id"], "a");
    assert_eq!(scores[0]["text"], ACOUSTIC);
    assert!((scores[0]["score"].as_f64().unwrap() - 0.8043).abs() <= 0.001);

    let (status, body) = server
        .call(
            "rerank-tasks",
            json!({"model_id": "all-minilm",
        "inputs": {"queries": [GUITAR, "stocks crashed"], "documents": documents},
        "parameters": {"return_documents": false, "return_queries": false, "return_text": false}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[1]["scores"][0]["index"], 0,
        "the stock sentence ranks first for 'stocks crashed'"
    );
    assert!(results[0].get("query").is_none());
    assert!(results[0]["scores"][0].get("document").is_none());
    assert!(results[0]["scores"][0].get("text").is_none());

    let (status, body) = server
        .call(
            "rerank",
            json!({"model_id": "all-minilm",
        "inputs": {"query": "q", "documents": [{"title": "no text"}]}}),
        )
        .await;
    // The schema states that a document needs its text.
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["additional_info"][0]["path"],
        "/inputs/documents/0/text"
    );
}

#[tokio::test]
async fn tokenization_offsets_index_the_input_in_code_points() {
    let Some(server) = serve("tokenization_offsets_index_the_input_in_code_points", &[]) else {
        return;
    };
    let text = "Café déjà vu 👋 naïve tokenizer";
    let (status, body) = server
        .call(
            "tokenization",
            json!({"model_id": "all-minilm", "inputs": text}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let chars: Vec<char> = text.chars().collect();
    let tokens = body["results"].as_array().unwrap();
    assert!(!tokens.is_empty());
    for token in tokens {
        let (start, end) = (
            token["start"].as_u64().unwrap() as usize,
            token["end"].as_u64().unwrap() as usize,
        );
        let slice: String = chars[start..end].iter().collect();
        assert_eq!(slice, token["text"].as_str().unwrap(), "{token}");
    }
    // [CLS] and [SEP] are counted but have no span.
    assert_eq!(
        body["token_count"].as_u64().unwrap() as usize,
        tokens.len() + 2
    );
}

#[tokio::test]
async fn bad_inputs_name_the_field() {
    let Some(server) = serve("bad_inputs_name_the_field", &[]) else {
        return;
    };
    let (status, body) = server
        .call(
            "embedding-tasks",
            json!({"model_id": "all-minilm", "inputs": []}),
        )
        .await;
    // The schema states that a list holds at least one text.
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["additional_info"][0]["path"], "/inputs");

    let many: Vec<String> = (0..65).map(|i| format!("text {i}")).collect();
    let (status, body) = server
        .call(
            "embedding-tasks",
            json!({"model_id": "all-minilm", "inputs": many}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .contains("max_client_batch_size (64)"),
        "{body}"
    );

    let long = "word ".repeat(400);
    let (status, body) = server
        .call(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": long}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let details = body["details"].as_str().unwrap();
    assert!(
        details.contains("402 tokens") && details.contains("limit of 256"),
        "{details}"
    );

    let (status, body) = server
        .call(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": long,
        "parameters": {"truncate_input_tokens": 10}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["input_token_count"], 10);
    let (status, body) = server
        .call(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": long,
        "parameters": {"truncate_input_tokens": -1}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["input_token_count"], 256);

    let (status, body) = server
        .call(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": "x",
        "parameters": {"normalize": true}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["additional_info"][0]["path"], "/parameters/normalize");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_are_batched_and_a_flood_gets_429s() {
    let Some(server) = serve(
        "concurrent_clients_are_batched_and_a_flood_gets_429s",
        &[("TASKGATE_MAX_CONCURRENT_REQUESTS", "8")],
    ) else {
        return;
    };
    let url = server.url("/api/v1/task/embedding");
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                common::post_json(
                    &url,
                    &json!({"model_id": "all-minilm", "inputs": format!("sentence number {i}")}),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for client in clients {
        let (status, _, body) = client.await.unwrap();
        assert!(status == 200 || status == 429, "{status}: {body}");
        statuses.push(status);
    }
    assert!(statuses.contains(&200));
    let (_, _, info) = common::read(
        common::client()
            .get(server.url("/info/models?model_ids=all-minilm"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let meta = &info["models"][0]["metadata"];
    assert!(
        meta["largest_batch"].as_u64().unwrap() > 1,
        "32 concurrent clients were never batched: {meta}"
    );
    assert!(
        meta["forward_passes"].as_u64().unwrap() < meta["sequences_embedded"].as_u64().unwrap(),
        "{meta}"
    );

    // A flood far beyond the limit: 429s with Retry-After, no crash, service continues.
    let texts: Vec<String> = (0..32)
        .map(|i| format!("flood text {i} with some more words"))
        .collect();
    let flood: Vec<_> = (0..64)
        .map(|_| {
            let url = server.url("/api/v1/task/embedding-tasks");
            let texts = texts.clone();
            tokio::spawn(async move {
                common::post_json(&url, &json!({"model_id": "all-minilm", "inputs": texts})).await
            })
        })
        .collect();
    let mut rejected = 0;
    for request in flood {
        let (status, headers, body) = request.await.unwrap();
        match status {
            200 => {}
            429 => {
                rejected += 1;
                assert_eq!(headers["retry-after"], "1");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        rejected > 0,
        "64 concurrent requests against a limit of 8 must see 429s"
    );
    let (status, body) = server
        .call(
            "embedding",
            json!({"model_id": "all-minilm", "inputs": GUITAR}),
        )
        .await;
    assert_eq!(
        status, 200,
        "the server serves normally after the flood: {body}"
    );
}

/// Request-sized CPU work runs on the CPU pool, never on the async workers: `/health` answers
/// at once while two 1 MiB tokenizations run (it waited 2.8–4.3 s behind two of 2 MiB when encoder
/// tokenization ran inline on the two reactor threads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_megabyte_tokenizations_run() {
    // A 2-core CI machine under load answers in milliseconds; a blocked reactor takes seconds.
    const HEALTH_BOUND: Duration = Duration::from_millis(500);
    let Some(server) = serve(
        "health_answers_while_megabyte_tokenizations_run",
        &[("TASKGATE_HTTP__MAX_BODY_BYTES", "16777216")],
    ) else {
        return;
    };
    let sentence = "The quick brown fox jumps over the lazy dog. ";
    // As long as a request's string may be.
    let text = sentence.repeat(1024 * 1024 / sentence.len());
    let finished = Arc::new(AtomicUsize::new(0));
    let calls: Vec<_> = (0..2)
        .map(|_| {
            let (url, finished) = (server.url("/api/v1/task/tokenization"), finished.clone());
            let body = json!({"model_id": "all-minilm", "inputs": text});
            tokio::spawn(async move {
                let response = common::client().post(url).json(&body).send().await.unwrap();
                // The answer has been computed once its head arrives.
                finished.fetch_add(1, Ordering::SeqCst);
                common::read(response).await
            })
        })
        .collect();
    // Time for both 1 MiB bodies to reach the server and their tokenization to begin.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = common::client();
    let mut during = Vec::new();
    while finished.load(Ordering::SeqCst) == 0 {
        let sent = Instant::now();
        let health = client.get(server.url("/health")).send().await.unwrap();
        let waited = sent.elapsed();
        assert_eq!(health.status(), 200);
        // Only a probe answered while both calls were still running shows anything.
        if finished.load(Ordering::SeqCst) == 0 {
            during.push(waited);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for call in calls {
        let (status, _, body) = call.await.unwrap();
        assert_eq!(status, 200, "{}", body["details"]);
        assert!(
            body["token_count"].as_u64().unwrap() > 200_000,
            "{}",
            body["token_count"]
        );
    }
    let worst = during.iter().max().copied();
    eprintln!(
        "/health answered {} times during the tokenizations, slowest in {worst:?}",
        during.len()
    );
    let worst = worst.expect("the tokenizations ended before /health was probed");
    assert!(
        worst < HEALTH_BOUND,
        "/health took {worst:?} while the tokenizations ran"
    );
}
