//! One access-log line per call at `info`, on both wires, naming the call's wire, task, model,
//! status, duration, key and request id.

use std::time::Duration;

use crate::common::{self, BinaryServer};
use crate::{classify, classify_grpc, config, pii};

/// The access lines of the log at `path`.
fn access_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| line.contains("taskgate::access"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_call_leaves_one_access_line_on_both_wires() {
    let dir = common::temp_dir("access-log");
    let config_path = dir.join("taskgate.yaml");
    let mut config = config();
    config["models_dir"] = dir.join("none").to_str().unwrap().into();
    // A remote model whose runtime is gone: its calls fail with 503 / UNAVAILABLE.
    let closed = format!("http://127.0.0.1:{}", common::free_port());
    let mut models = pii();
    models
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "down", "backend": {
        "kind": "tei", "endpoint": closed, "model_name": "gone", "task": "embeddings",
        "retries": 0}}));
    config["models"] = models;
    std::fs::write(&config_path, config.to_string()).unwrap();
    let log_path = dir.join("taskgate.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = BinaryServer::start_logging(
        &[
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--grpc-port",
            "0",
            "--config",
            config_path.to_str().unwrap(),
        ],
        &[("RUST_LOG", "info")],
        log,
    );
    let ok = classify(&server, "pii-rules").await;
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(classify(&server, "missing").await.status(), 404);
    classify_grpc(&server, "pii-rules").await.unwrap();
    classify_grpc(&server, "missing").await.unwrap_err();
    let failed = common::client()
        .post(server.url("/api/v1/task/embedding"))
        .bearer_auth(crate::APP)
        .json(&serde_json::json!({"model_id": "down", "inputs": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let failed_id = failed.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let mut request = tonic::Request::new(
        taskgate_gateway::grpc::pb::caikit::runtime::nlp::EmbeddingTaskRequest {
            text: "hello".into(),
            truncate_input_tokens: None,
        },
    );
    request
        .metadata_mut()
        .insert("mm-model-id", "down".parse().unwrap());
    let bearer = format!("Bearer {}", crate::APP);
    request
        .metadata_mut()
        .insert("authorization", bearer.parse().unwrap());
    let status = common::grpc::nlp(&server)
        .await
        .embedding_task_predict(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    // The line is written when the call's record is dropped, just after the answer.
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = access_lines(&log_path);
        if lines.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let find = |wire: &str, status: &str| {
        lines
            .iter()
            .find(|l| {
                l.contains(&format!("wire=\"{wire}\"")) && l.contains(&format!("status={status} "))
            })
            .unwrap_or_else(|| panic!("no {wire} {status} line in {lines:#?}"))
            .clone()
    };
    let rest_ok = find("rest", "200");
    for field in [
        "task=\"token-classification\"",
        "model=\"pii-rules\"",
        "key=\"app\"",
        "duration_ms=",
        &format!("request_id={ok_id}"),
    ] {
        assert!(rest_ok.contains(field), "{field} missing in {rest_ok}");
    }
    let rest_missing = find("rest", "404");
    assert!(rest_missing.contains("model=\"\""), "{rest_missing}");
    let grpc_ok = find("grpc", "200");
    assert!(grpc_ok.contains("grpc_code=\"Ok\""), "{grpc_ok}");
    let grpc_missing = find("grpc", "404");
    assert!(
        grpc_missing.contains("grpc_code=\"NotFound\""),
        "{grpc_missing}"
    );
    let rest_failed = find("rest", "503");
    for field in [
        "task=\"embedding\"",
        "model=\"down\"",
        &format!("request_id={failed_id}"),
    ] {
        assert!(
            rest_failed.contains(field),
            "{field} missing in {rest_failed}"
        );
    }
    let grpc_failed = find("grpc", "503");
    assert!(
        grpc_failed.contains("grpc_code=\"Unavailable\"") && grpc_failed.contains("model=\"down\""),
        "{grpc_failed}"
    );
}
