//! Training API helpers: a server configured for training, submitting jobs, and following them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{BinaryServer, client, temp_dir};

/// Where one test's server keeps jobs and reads training files.
pub struct TrainingDirs {
    pub output: PathBuf,
    pub config: PathBuf,
}

/// The repository's example training data.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

/// Writes a config serving `models` with training into a fresh output directory and the
/// example data as the data directory.
pub fn training_config(test: &str, models: Value, training: Value) -> TrainingDirs {
    let dir = temp_dir(test);
    let output = dir.join("training_output");
    let mut settings = json!({"output_dir": output, "data_dir": examples_dir()});
    settings
        .as_object_mut()
        .unwrap()
        .extend(training.as_object().cloned().unwrap_or_default());
    let config = json!({"models_dir": dir.join("none"), "models": models,
        "training": settings, "log": {"level": "warn"}});
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    TrainingDirs {
        output,
        config: path,
    }
}

pub fn serve(dirs: &TrainingDirs) -> BinaryServer {
    BinaryServer::start(&["--config", dirs.config.to_str().unwrap()], &[])
}

/// `POST /api/v1/<route>` with `body`: status and JSON answer.
pub async fn post(server: &BinaryServer, route: &str, body: &Value) -> (u16, Value) {
    let response = client()
        .post(server.url(&format!("/api/v1/{route}")))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A `/management/trainings` call: status and JSON answer.
pub async fn manage(server: &BinaryServer, method: reqwest::Method, query: &str) -> (u16, Value) {
    let response = client()
        .request(method, server.url(&format!("/management/trainings{query}")))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub async fn status(server: &BinaryServer, training_id: &str) -> Value {
    let (code, status) = manage(
        server,
        reqwest::Method::GET,
        &format!("?training_id={training_id}"),
    )
    .await;
    assert_eq!(code, 200, "{status}");
    status
}

/// Polls the job until `done` holds for its status (or the time is up).
pub async fn wait_until(
    server: &BinaryServer,
    training_id: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let status = status(server, training_id).await;
        if done(&status) {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "still waiting after {limit:?}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event of the job's progress stream, to its end.
pub async fn events(server: &BinaryServer, training_id: &str) -> Vec<Value> {
    // The stream lasts as long as the job, which on a loaded 2-core machine can pass the
    // shared client's 120 s limit for one request.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()
        .unwrap();
    let response = client
        .get(server.url(&format!(
            "/management/trainings/events?training_id={training_id}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// Records of a JSONL file under the example data.
pub fn example_records(relative: &str) -> Vec<Value> {
    std::fs::read_to_string(examples_dir().join(relative))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
