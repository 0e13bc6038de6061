//! The configuration as operators meet it: files, environment overrides, `check-config`.

mod common;

use std::process::Command;

use common::BinaryServer;
use serde_json::json;

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("taskgate-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn check_config(path: &std::path::Path) -> (bool, String) {
    let out = common::taskgate_command("check-config")
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn check_config_accepts_a_valid_file() {
    let path = temp_file(
        "good.yaml",
        "http:\n  port: 9999\nmodels:\n  - id: emails\n    module: pii-rules\n    config:\n      entities: [EMAIL, IBAN]\n",
    );
    let (ok, text) = check_config(&path);
    assert!(ok, "{text}");
    assert!(
        text.contains(": ok, serves ") && text.contains("emails"),
        "{text}"
    );
}

#[test]
fn check_config_names_the_bad_key_and_reason() {
    let path = temp_file(
        "bad.yaml",
        "http:\n  port: 99999\n  hots: x\nlog:\n  format: xml\n",
    );
    let (ok, text) = check_config(&path);
    assert!(!ok, "{text}");
    assert!(
        text.contains("http.port: 99999 is greater than the maximum of 65535"),
        "{text}"
    );
    assert!(text.contains("http.hots: unknown field 'hots'"), "{text}");
    assert!(text.contains("log.format:"), "{text}");

    let path = temp_file(
        "badmodule.yaml",
        "models:\n  - id: x\n    module: pii-rules\n    config:\n      entities: [SSN]\n",
    );
    let (ok, text) = check_config(&path);
    assert!(!ok, "{text}");
    assert!(
        text.contains("model 'x': config key 'config.entities[0]'"),
        "{text}"
    );
    assert!(text.contains("SSN"), "{text}");

    let path = temp_file(
        "unknownmodule.yaml",
        "models:\n  - id: x\n    module: gpt-9\n",
    );
    let (ok, text) = check_config(&path);
    assert!(!ok, "{text}");
    assert!(
        text.contains("unknown module 'gpt-9' (known modules: kserve-v2, openai, pii-rules, sentence-embeddings, tei, text-classifier, text-generation, tgis, token-classifier)"),
        "{text}"
    );

    let path = temp_file("notyaml.yaml", "http: [unclosed\n");
    let (ok, text) = check_config(&path);
    assert!(!ok, "{text}");
    assert!(text.contains("is not valid YAML"), "{text}");
}

#[test]
fn check_config_refuses_keys_of_another_backend_or_module() {
    let path = temp_file(
        "teikey.yaml",
        "models:\n  - id: llm\n    backend:\n      kind: openai\n      endpoint: http://127.0.0.1:9\n      max_client_batch_size: 8\n",
    );
    let (ok, text) = check_config(&path);
    assert!(!ok, "{text}");
    assert!(
        text.contains(
            "models[0].backend.max_client_batch_size: unknown field 'max_client_batch_size'"
        ),
        "{text}"
    );

    let path = temp_file(
        "modulekey.yaml",
        "models:\n  - id: emails\n    module: pii-rules\n    config:\n      aggregation: max\n",
    );
    let (ok, text) = check_config(&path);
    assert!(!ok, "{text}");
    assert!(
        text.contains("models[0].config.aggregation: unknown field 'aggregation'"),
        "{text}"
    );
}

#[test]
fn a_model_directory_manifest_is_checked_like_the_config() {
    let dir = std::env::temp_dir().join(format!("taskgate-{}-manifests", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("emails")).unwrap();
    let config = temp_file(
        "manifests.yaml",
        &format!("models_dir: {}\nmodels: []\n", dir.display()),
    );
    for (manifest, expected) in [
        (
            "module: pii-rules\nconfig:\n  entitys: [EMAIL]\n",
            "model 'emails': config key 'config.entitys': unknown key",
        ),
        (
            "module: pii-rules\nconfig:\n  entities: EMAIL\n",
            "model 'emails': config key 'config.entities': invalid type",
        ),
        (
            "module: tei\nconfig:\n  endpoint: http://127.0.0.1:9\n  task: embeddings\n  api: chat\n",
            "model 'emails': config key 'config.api': unknown key",
        ),
    ] {
        std::fs::write(dir.join("emails/taskgate.yaml"), manifest).unwrap();
        let (ok, text) = check_config(&config);
        assert!(!ok, "{manifest}: {text}");
        assert!(text.contains(expected), "{manifest}: {text}");
    }
    std::fs::write(
        dir.join("emails/taskgate.yaml"),
        "module: pii-rules\nconfig:\n  entities: [EMAIL]\n",
    )
    .unwrap();
    let (ok, text) = check_config(&config);
    assert!(ok && text.contains("serves emails"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn file_and_environment_configure_the_server() {
    let path = temp_file(
        "serve.yaml",
        "models:\n  - id: cards\n    module: pii-rules\n    config:\n      entities: [CREDIT_CARD]\n",
    );
    let server = BinaryServer::start(
        &["--config", path.to_str().unwrap()],
        &[
            ("TASKGATE_HTTP__MAX_BODY_BYTES", "2048"),
            ("TASKGATE_LOG__FORMAT", "json"),
        ],
    );
    let url = server.url("/api/v1/task/token-classification");
    let (status, _, body) = common::post_json(
        &url,
        &json!({"model_id": "cards", "inputs": "card 4111 1111 1111 1111, mail ana@example.com"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["results"][0]["entity"], "CREDIT_CARD");
    assert_eq!(body["results"][0]["word"], "4111 1111 1111 1111");

    let (status, _, body) = common::post_json(
        &url,
        &json!({"model_id": "cards", "inputs": "x".repeat(3000)}),
    )
    .await;
    assert_eq!(
        status, 413,
        "the env override of the body limit applies: {body}"
    );

    let (status, _, _) =
        common::post_json(&url, &json!({"model_id": "pii-rules", "inputs": "x"})).await;
    assert_eq!(
        status, 404,
        "a config's model list replaces the default one"
    );
}

#[test]
fn a_bad_environment_override_stops_the_start_with_its_key() {
    // `timeout` keeps a regression (a server that starts anyway) from hanging the suite.
    let out = Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_taskgate"), "serve", "--port", "0"])
        .current_dir(common::temp_dir("bad-env-cwd"))
        .env("TASKGATE_HTTP__MAX_BODY_BYTES", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("http.max_body_bytes:"), "{text}");
}
