//! A lazy model loads on its first call, once, however many calls arrive together.

use serde_json::json;

use crate::common;
use crate::{embed, metric, states};

#[tokio::test]
async fn sixteen_concurrent_first_calls_share_one_load() {
    let Some(minilm) = common::minilm_dir("lazy-single-flight") else {
        return;
    };
    let server = common::serve_models(
        "lazy-single-flight",
        json!([{"id": "minilm", "module": "sentence-embeddings",
            "config": {"path": minilm}, "load": "lazy"}]),
        json!({}),
    );
    assert_eq!(states(&server).await["minilm"], "REGISTERED");
    let calls = (0..16).map(|_| embed(&server, "minilm"));
    let answers = futures::future::join_all(calls).await;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(
            answer["result"]["data"]["values"].as_array().unwrap().len(),
            384
        );
    }
    assert_eq!(states(&server).await["minilm"], "LOADED");
    let loads = "taskgate_model_loads_total{model=\"minilm\",outcome=\"loaded\"}";
    assert_eq!(metric(&server, loads).await, 1.0);
    // Loaded, it stays loaded.
    assert_eq!(embed(&server, "minilm").await.0, 200);
    assert_eq!(metric(&server, loads).await, 1.0);
}
