//! Reloading the config while serving: on SIGHUP and on a change of the file, models are
//! added, changed and removed and aliases replaced, while a generation stream on a removed
//! model runs to its end on the old instance; an invalid file is refused whole and the config
//! in force keeps serving.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, BinaryServer};
use crate::{classify, rules, states};

/// A config file the test rewrites.
struct ConfigFile {
    path: PathBuf,
    models_dir: PathBuf,
}

impl ConfigFile {
    fn new(dir: &Path) -> Self {
        Self {
            path: dir.join("taskgate.yaml"),
            models_dir: dir.join("none"),
        }
    }

    fn write(&self, models: Value, aliases: Value) {
        let config = json!({"models_dir": self.models_dir, "models": models, "aliases": aliases});
        self.write_text(&config.to_string());
    }

    fn write_text(&self, text: &str) {
        // Written beside, then renamed: the server never reads half a file.
        let staged = self.path.with_extension("new");
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, &self.path).unwrap();
    }
}

pub fn hangup(server: &BinaryServer) {
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// `/info/version`'s `config_reload`, once `done(it)` holds (within 30 s).
pub async fn reload_report(server: &BinaryServer, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let report = server.get_json("/info/version").await["config_reload"].clone();
        if done(&report) {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the reload did not happen within 30 s");
}

#[tokio::test]
async fn a_reload_changes_the_models_while_a_stream_on_a_removed_one_finishes() {
    let Some(gguf) = common::smollm2_gguf("reload-stream") else {
        return;
    };
    let dir = common::temp_dir("reload-stream");
    let file = ConfigFile::new(&dir);
    let smollm2 = json!({"id": "smollm2", "module": "text-generation", "config": {"path": gguf}});
    file.write(json!([rules("pii-rules"), smollm2]), json!([]));
    let server = BinaryServer::start(&["--config", file.path.to_str().unwrap()], &[]);

    // A stream long enough to outlive the reload.
    let url = server.url("/api/v1/task/server-streaming-text-generation");
    let stream = tokio::spawn(async move {
        let body = json!({"model_id": "smollm2", "inputs": common::chatml("Tell me a story."),
            "parameters": {"max_new_tokens": 160, "min_new_tokens": 160}});
        let response = common::client().post(url).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    });
    let in_flight =
        |listing: &Value| {
            listing["models"].as_array().unwrap().iter().any(|m| {
                m["name"] == "smollm2" && m["metadata"]["in_flight_calls"].as_u64() == Some(1)
            })
        };
    for _ in 0..300 {
        if in_flight(&server.get_json("/info/models").await) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // smollm2 removed, pii-rules changed, pii-rules-2 added behind a new alias.
    let mut changed = rules("pii-rules");
    changed["max_concurrent_requests"] = json!(8);
    file.write(
        json!([changed, rules("pii-rules-2")]),
        json!([{"name": "pii", "targets": [{"model": "pii-rules-2"}]}]),
    );
    hangup(&server);
    // The poll of the file may see the change before the signal comes: either reloads.
    let report = reload_report(&server, |r| r["applied"].as_u64() >= Some(1)).await;
    assert!(report.get("last_error").is_none(), "{report}");
    assert!(
        !stream.is_finished(),
        "the stream must still run during the reload"
    );

    let (status, _) = server
        .call(
            "text-generation",
            json!({"model_id": "smollm2", "inputs": "hello"}),
        )
        .await;
    assert_eq!(status, 404, "a removed model takes no new call");
    assert_eq!(classify(&server, "pii-rules", &[]).await.0, 200);
    assert_eq!(classify(&server, "pii-rules-2", &[]).await.0, 200);
    assert_eq!(
        classify(&server, "pii", &[]).await,
        (200, Some("pii-rules-2".to_string()))
    );

    // The stream ends on the old instance, whole.
    let text = stream.await.unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!text.contains("event: error"), "{text}");
    let last = events.last().unwrap();
    assert_eq!(last["details"]["generated_tokens"], 160, "{last}");
    for _ in 0..100 {
        if !states(&server).await.contains_key("smollm2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = states(&server).await;
    assert!(!now.contains_key("smollm2"), "{now:?}");
}

#[tokio::test]
async fn an_invalid_file_is_refused_whole_and_a_changed_file_reloads_without_a_signal() {
    let dir = common::temp_dir("reload-invalid");
    let file = ConfigFile::new(&dir);
    file.write(json!([rules("pii-rules")]), json!([]));
    let server = BinaryServer::start(&["--config", file.path.to_str().unwrap()], &[]);
    assert!(server.get_json("/info/version").await["config_reload"].is_null());

    // A second model, but an alias with no target: the whole file is refused.
    file.write(
        json!([rules("pii-rules"), rules("pii-rules-2")]),
        json!([{"name": "broken", "targets": []}]),
    );
    hangup(&server);
    let report = reload_report(&server, |r| r["refused"].as_u64() >= Some(1)).await;
    let error = report["last_error"].as_str().unwrap().to_string();
    assert!(error.contains("aliases[0].targets"), "{error}");
    assert_eq!(report["applied"], 0);
    assert_eq!(classify(&server, "pii-rules", &[]).await.0, 200);
    assert_eq!(classify(&server, "pii-rules-2", &[]).await.0, 404);

    // Not YAML at all: refused too.
    file.write_text("models: [unclosed");
    hangup(&server);
    let report = reload_report(&server, |r| r["last_error"] != error.as_str()).await;
    let yaml_error = report["last_error"].as_str().unwrap();
    assert!(yaml_error.contains("taskgate.yaml"), "{yaml_error}");
    assert_eq!(classify(&server, "pii-rules", &[]).await.0, 200);

    // Fixed, with no signal: the change of the file is enough.
    file.write(json!([rules("pii-rules"), rules("pii-rules-2")]), json!([]));
    let report = reload_report(&server, |r| r["applied"].as_u64() >= Some(1)).await;
    assert!(report.get("last_error").is_none(), "{report}");
    assert_eq!(classify(&server, "pii-rules-2", &[]).await.0, 200);
    assert_eq!(classify(&server, "pii-rules", &[]).await.0, 200);
}
