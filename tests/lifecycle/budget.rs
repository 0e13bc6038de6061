//! `models_memory_bytes`: loading a model that does not fit unloads the least recently used
//! idle model; one with a call in flight and a pinned one are never unloaded; a model larger
//! than the whole budget is refused with the reason.

use futures::StreamExt;
use serde_json::json;

use crate::common;
use crate::{embed, metric, states};

/// What a loaded all-MiniLM-L6-v2 is charged: its weights file, less the word embeddings that
/// stay in it.
const MINILM_CHARGE: u64 = 90_868_376 - common::MINILM_WORD_TABLE_BYTES;

fn minilm(id: &str, dir: &std::path::Path) -> serde_json::Value {
    json!({"id": id, "module": "sentence-embeddings", "config": {"path": dir}, "load": "lazy"})
}

/// A directory of links to `model`'s files: links are not followed when a first load's memory is
/// predicted from file sizes, so a model served from it is predicted to need nothing and its
/// room is made once it is measured. (Predicted from its files, all-MiniLM needs twice its
/// charge, which would make these budgets evict before the first measurement.)
fn linked(test: &str, model: &std::path::Path) -> std::path::PathBuf {
    let dir = common::temp_dir(&format!("{test}-linked"));
    for entry in std::fs::read_dir(model).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

#[tokio::test]
async fn the_least_recently_used_idle_model_makes_room_and_a_pinned_one_stays() {
    let Some(dir) = common::minilm_dir("budget-lru") else {
        return;
    };
    let dir = linked("budget-lru", &dir);
    let mut pinned = minilm("pinned", &dir);
    pinned["pinned"] = json!(true);
    // Room for two of the three.
    let server = common::serve_models(
        "budget-lru",
        json!([pinned, minilm("a", &dir), minilm("b", &dir)]),
        json!({"models_memory_bytes": MINILM_CHARGE * 5 / 2}),
    );
    for model in ["pinned", "a"] {
        assert_eq!(embed(&server, model).await.0, 200);
    }
    // Measured, `b` does not fit; `pinned` is the least recently used, but pinned: `a` makes
    // room.
    assert_eq!(embed(&server, "b").await.0, 200);
    let now = states(&server).await;
    assert_eq!(
        (now["pinned"].as_str(), now["a"].as_str(), now["b"].as_str()),
        ("LOADED", "REGISTERED", "LOADED"),
        "{now:?}"
    );
    // The evicted model answers again, loaded anew; predicted at what it measured, it needs
    // room before it loads, and `b` is the one to go.
    let (status, answer) = embed(&server, "a").await;
    assert_eq!(status, 200, "{answer}");
    let now = states(&server).await;
    assert_eq!(
        (now["pinned"].as_str(), now["a"].as_str(), now["b"].as_str()),
        ("LOADED", "LOADED", "REGISTERED"),
        "{now:?}"
    );
    let sample = |m: &str, what: &str| format!("taskgate_model_{what}{{model=\"{m}\",");
    assert_eq!(
        metric(
            &server,
            &(sample("a", "loads_total") + "outcome=\"loaded\"}")
        )
        .await,
        2.0
    );
    assert_eq!(
        metric(
            &server,
            &(sample("a", "unloads_total") + "reason=\"evicted\"}")
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &server,
            &(sample("b", "unloads_total") + "reason=\"evicted\"}")
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &server,
            &(sample("pinned", "unloads_total") + "reason=\"evicted\"}")
        )
        .await,
        0.0
    );
    let used = metric(&server, "taskgate_models_memory_used_bytes").await;
    assert_eq!(used, (2 * MINILM_CHARGE) as f64);
}

#[tokio::test]
async fn a_model_streaming_is_not_evicted_and_its_stream_completes() {
    let (Some(dir), Some(gguf)) = (
        common::minilm_dir("budget-stream"),
        common::smollm2_gguf("budget-stream"),
    ) else {
        return;
    };
    let dir = linked("budget-stream", &dir);
    // Charged its file: the token embeddings are looked up in the file's quantized matrix.
    let gguf_bytes = std::fs::metadata(&gguf).unwrap().len();
    let server = common::serve_models(
        "budget-stream",
        json!([
            {"id": "gen", "module": "text-generation", "config": {"path": gguf}, "load": "lazy"},
            minilm("a", &dir),
            minilm("b", &dir),
        ]),
        // The generator and one encoder fit, not the generator and two.
        json!({"models_memory_bytes": gguf_bytes + MINILM_CHARGE + 8_000_000}),
    );
    let response = common::client()
        .post(server.url("/api/v1/task/server-streaming-text-generation"))
        .json(
            &json!({"model_id": "gen", "inputs": common::chatml("Tell a long story."),
            "parameters": {"max_new_tokens": 400, "min_new_tokens": 400}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "), "{first:?}");
    // `gen` was used first, so it is the least recently used when `b`, measured, needs room;
    // its stream keeps it.
    assert_eq!(embed(&server, "a").await.0, 200);
    let (status, answer) = embed(&server, "b").await;
    assert_eq!(status, 200, "{answer}");
    let listing = server.get_json("/info/models?model_ids=gen").await;
    assert_eq!(
        listing["models"][0]["metadata"]["in_flight_calls"], 1,
        "{listing}"
    );
    let now = states(&server).await;
    assert_eq!(
        (now["gen"].as_str(), now["a"].as_str(), now["b"].as_str()),
        ("LOADED", "REGISTERED", "LOADED"),
        "{now:?}"
    );
    let mut rest = String::from_utf8(first.to_vec()).unwrap();
    while let Some(chunk) = body.next().await {
        rest.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let events: Vec<serde_json::Value> = rest
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["details"]["generated_tokens"], 400, "{last}");
    assert!(!rest.contains("event: error"), "{rest}");
}

#[tokio::test]
async fn a_model_larger_than_the_whole_budget_is_refused_with_the_reason() {
    let Some(dir) = common::minilm_dir("budget-too-large") else {
        return;
    };
    let server = common::serve_models(
        "budget-too-large",
        json!([minilm("minilm", &dir), {"id": "pii-rules", "module": "pii-rules"}]),
        json!({"models_memory_bytes": 50_000_000}),
    );
    let (status, answer) = embed(&server, "minilm").await;
    assert_eq!(status, 503, "{answer}");
    let details = answer["details"].as_str().unwrap();
    assert!(
        details.contains("more than all of models_memory_bytes (50000000 bytes)"),
        "{details}"
    );
    assert_eq!(states(&server).await["minilm"], "FAILED");
    let answer = server
        .call_ok(
            "token-classification",
            json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}),
        )
        .await;
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_model_measured_larger_than_predicted_still_makes_room() {
    let (Some(dir), Some(gguf)) = (
        common::minilm_dir("budget-measured"),
        common::smollm2_gguf("budget-measured"),
    ) else {
        return;
    };
    // Served through a link, the generator is predicted to need nothing before its first load,
    // which fits beside the encoder; loaded, it is charged its file, which does not.
    let link = linked("budget-measured", gguf.parent().unwrap()).join(gguf.file_name().unwrap());
    let charged = std::fs::metadata(&gguf).unwrap().len();
    // Room for the generator alone (and for the encoder as predicted from its files), and for
    // both as predicted, not as measured.
    let budget = charged + MINILM_CHARGE / 2;
    let encoder_files: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(encoder_files < budget && charged + MINILM_CHARGE > budget);
    let server = common::serve_models(
        "budget-measured",
        json!([
            {"id": "gen", "module": "text-generation", "config": {"path": link}, "load": "lazy"},
            minilm("enc", &dir),
        ]),
        json!({"models_memory_bytes": budget}),
    );
    assert_eq!(embed(&server, "enc").await.0, 200);
    let (status, answer) = server
        .call(
            "text-generation",
            json!({"model_id": "gen", "inputs": "hi", "parameters": {"max_new_tokens": 1}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let now = states(&server).await;
    assert_eq!(
        (now["gen"].as_str(), now["enc"].as_str()),
        ("LOADED", "REGISTERED"),
        "{now:?}"
    );
}
