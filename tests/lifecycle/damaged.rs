//! A model whose files are damaged: the server starts anyway, the model is FAILED with its
//! reason (a call gets 503 naming it, with Retry-After; gRPC health says NOT_SERVING), and the
//! other models serve.

use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common;
use crate::states;

#[tokio::test]
async fn a_damaged_model_is_failed_with_its_reason_and_the_others_serve() {
    let dir = common::temp_dir("damaged-model-files");
    std::fs::write(dir.join("config.json"), "{\"model_type\": \"bert\"}").unwrap();
    std::fs::write(dir.join("model.safetensors"), "not a safetensors file").unwrap();
    std::fs::write(dir.join("tokenizer.json"), "{}").unwrap();
    let server = common::serve_models(
        "damaged-model",
        json!([
            {"id": "pii-rules", "module": "pii-rules"},
            {"id": "broken", "module": "sentence-embeddings", "config": {"path": dir}},
        ]),
        json!({}),
    );
    let answer = server
        .call_ok(
            "token-classification",
            json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}),
        )
        .await;
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
    assert_eq!(states(&server).await["broken"], "FAILED");
    let listing = server.get_json("/info/models?model_ids=broken").await;
    let broken = &listing["models"][0];
    assert_eq!(broken["loaded"], false, "{listing}");
    let error = broken["metadata"]["error"].as_str().unwrap();
    assert!(error.contains("broken"), "{error}");

    let response = common::client()
        .post(server.url("/api/v1/task/embedding"))
        .json(&json!({"model_id": "broken", "inputs": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = response.json().await.unwrap();
    let details = body["details"].as_str().unwrap();
    assert!(
        details.starts_with("Model 'broken' is unavailable: "),
        "{details}"
    );
    assert!(details.contains(error), "{details} / {error}");

    let mut health = HealthClient::new(common::grpc::channel(&server).await);
    let status = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let broken = health
        .check(status("model/broken"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(broken.status(), ServingStatus::NotServing);
    let pii = health
        .check(status("model/pii-rules"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pii.status(), ServingStatus::Serving);
}
