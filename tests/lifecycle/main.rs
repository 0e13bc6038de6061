//! Many models in one process, over real sockets: lazy loading with one load per model, a
//! memory budget that unloads the least recently used idle model, models that fail to load
//! without stopping the server, deploying and undeploying models while serving (REST and
//! gRPC, surviving a restart), reloading the config while serving, and aliases. One test
//! binary for all of them.

#[path = "../common/mod.rs"]
mod common;

mod aliases;
mod budget;
mod damaged;
mod lazy;
mod management;
mod model_mesh;
mod reload;

use std::collections::BTreeMap;

use serde_json::Value;

use common::BinaryServer;

/// Each model's lifecycle state, by id, from `/info/models`.
pub async fn states(server: &BinaryServer) -> BTreeMap<String, String> {
    let listing = server.get_json("/info/models").await;
    listing["models"]
        .as_array()
        .unwrap_or_else(|| panic!("{listing}"))
        .iter()
        .map(|m| {
            let state = m["metadata"]["state"].as_str().unwrap_or("?").to_string();
            (m["name"].as_str().unwrap().to_string(), state)
        })
        .collect()
}

/// The value of one sample in `/metrics` (its whole name with labels), 0 when absent.
pub async fn metric(server: &BinaryServer, sample: &str) -> f64 {
    let text = common::client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0.0, |value| value.parse().unwrap())
}

/// One embedding call: its status and answer.
pub async fn embed(server: &BinaryServer, model: &str) -> (u16, Value) {
    server
        .call(
            "embedding",
            serde_json::json!({"model_id": model, "inputs": "the lifecycle of models"}),
        )
        .await
}

/// A config entry for a rules model named `id`.
pub fn rules(id: &str) -> Value {
    serde_json::json!({"id": id, "module": "pii-rules"})
}

/// A token-classification call of `model` with `headers`: its status and the model that
/// served it (`x-taskgate-model`).
pub async fn classify(
    server: &BinaryServer,
    model: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut request = common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .json(&serde_json::json!({"model_id": model, "inputs": "mail ana@example.com"}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let served = response
        .headers()
        .get("x-taskgate-model")
        .map(|v| v.to_str().unwrap().to_string());
    (response.status().as_u16(), served)
}
