//! The default configuration, served by the real binary: PII extraction over REST.

mod common;

use common::BinaryServer;
use serde_json::{Value, json};

fn spans(body: &Value) -> Vec<(String, u64, u64, String)> {
    body["results"]
        .as_array()
        .expect("results is a list")
        .iter()
        .map(|r| {
            (
                r["entity"].as_str().unwrap().to_string(),
                r["start"].as_u64().unwrap(),
                r["end"].as_u64().unwrap(),
                r["word"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn default_config_finds_email_and_phone_with_code_point_offsets() {
    let server = BinaryServer::start(&[], &[]);
    let url = server.url("/api/v1/task/token-classification");

    // Exactly what the README's `curl --json` sends.
    let response = common::client()
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(r#"{"model_id":"pii-rules","inputs":"Mail ana@example.com or call +1 415 555 0100"}"#)
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        spans(&body),
        vec![
            ("EMAIL".into(), 5, 20, "ana@example.com".into()),
            ("PHONE".into(), 29, 44, "+1 415 555 0100".into()),
        ]
    );
    assert_eq!(body["results"][0]["score"], 1.0);

    let prefix = "Olá 👋🏽 café — ";
    let text = format!("{prefix}Mail ana@example.com or call +1 415 555 0100");
    let (status, _, body) =
        common::post_json(&url, &json!({"model_id": "pii-rules", "inputs": text})).await;
    assert_eq!(status, 200, "{body}");
    // Code points, not bytes or UTF-16 units: 👋🏽 is 2 code points, 4 UTF-16 units, 8 bytes.
    let shift = prefix.chars().count() as u64;
    assert_eq!(shift, 14);
    let chars: Vec<char> = text.chars().collect();
    for (entity, start, end, word) in spans(&body) {
        let sliced: String = chars[start as usize..end as usize].iter().collect();
        assert_eq!(sliced, word, "{entity} offsets must index code points");
    }
    assert_eq!(
        spans(&body),
        vec![
            ("EMAIL".into(), 19, 34, "ana@example.com".into()),
            ("PHONE".into(), 43, 58, "+1 415 555 0100".into()),
        ]
    );
    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM must stop the server cleanly: {status:?}"
    );
}

#[tokio::test]
async fn health_version_and_models_describe_the_server() {
    let server = BinaryServer::start(&[], &[]);
    let client = common::client();
    let health = client.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "OK");

    let version: Value = client
        .get(server.url("/info/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["runtime_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        version["tasks"]
            .as_array()
            .unwrap()
            .contains(&json!("token-classification"))
    );

    let models: Value = client
        .get(server.url("/info/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pii = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "pii-rules")
        .expect("pii-rules is served by default");
    assert_eq!(pii["name"], "pii-rules");
    assert_eq!(pii["module"], "pii-rules");
    assert_eq!(pii["tasks"], json!(["token-classification"]));
    assert_eq!(pii["backend"], "rules");
    assert_eq!(pii["loaded"], true);

    let selected = client
        .get(server.url("/info/models?model_ids=pii-rules&model_ids=nope"))
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::read(selected).await;
    assert_eq!(status, 404);
    assert_eq!(body["details"], "Model 'nope' not loaded");
}

#[tokio::test]
async fn entity_set_is_configurable_per_model_directory() {
    let dir = std::env::temp_dir().join(format!("taskgate-e2e-models-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("emails-only")).unwrap();
    std::fs::write(
        dir.join("emails-only/taskgate.yaml"),
        "module: pii-rules\nconfig:\n  entities: [EMAIL]\n",
    )
    .unwrap();
    let server = BinaryServer::start(&["--models-dir", dir.to_str().unwrap()], &[]);
    let (status, _, body) = common::post_json(
        &server.url("/api/v1/task/token-classification"),
        &json!({"model_id": "emails-only", "inputs": "ana@example.com, +1 415 555 0100, 10.0.0.1"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        spans(&body),
        vec![("EMAIL".into(), 0, 15, "ana@example.com".into())]
    );
    drop(server);
    std::fs::remove_dir_all(dir).unwrap();
}
