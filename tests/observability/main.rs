//! What an operator sees, over real sockets: `/metrics` counting known traffic by model, task,
//! wire and status, scraped by a real Prometheus; `Server-Timing` on answers; one access-log
//! line per call on both wires. One test binary for all of them.

#[path = "../common/mod.rs"]
mod common;

mod access_log;
mod metrics_endpoint;
mod prometheus;
mod traces;

use serde_json::{Value, json};
use taskgate_gateway::auth::api_keys::digest_hex;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;
use taskgate_gateway::grpc::pb::caikit_data_model::nlp::TokenClassificationResults;

use common::BinaryServer;

pub const APP: &str = "app-key-0123456789";
pub const SCRAPER: &str = "scraper-key-0123456789";

/// `app` may call token classification on every model; `scraper` may only read `/metrics`.
pub fn config() -> Value {
    json!({"auth": {"keys": [
        {"id": "app", "sha256": digest_hex(APP),
            "scopes": {"tasks": ["token-classification", "embedding"], "models": ["*"]}},
        {"id": "scraper", "sha256": digest_hex(SCRAPER), "scopes": {"metrics": true}},
    ]}})
}

pub fn pii() -> Value {
    json!([{"id": "pii-rules", "module": "pii-rules"}])
}

/// A token classification over REST with the app key: the status and the answer.
pub async fn classify(server: &BinaryServer, model: &str) -> reqwest::Response {
    common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .bearer_auth(APP)
        .json(&json!({"model_id": model, "inputs": "mail ana@example.com"}))
        .send()
        .await
        .unwrap()
}

/// The same over gRPC.
pub async fn classify_grpc(
    server: &BinaryServer,
    model: &str,
) -> Result<tonic::Response<TokenClassificationResults>, tonic::Status> {
    let mut request = tonic::Request::new(TokenClassificationTaskRequest {
        text: "mail ana@example.com".into(),
        threshold: None,
    });
    let metadata = request.metadata_mut();
    metadata.insert("mm-model-id", model.parse().unwrap());
    metadata.insert("authorization", format!("Bearer {APP}").parse().unwrap());
    common::grpc::nlp(server)
        .await
        .token_classification_task_predict(request)
        .await
}

/// `GET /metrics` with the scraper's key: the text.
pub async fn scrape(server: &BinaryServer) -> String {
    let response = common::client()
        .get(server.url("/metrics"))
        .bearer_auth(SCRAPER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// `GET /metrics` of a server without keys: the text.
pub async fn scrape_open(server: &BinaryServer) -> String {
    let response = common::client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of the sample `name{labels}` exactly as written, if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}
