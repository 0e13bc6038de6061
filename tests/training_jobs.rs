//! Training jobs over REST: bad requests are refused before any job starts, naming the field
//! or record; a running job cancels within a step; a job interrupted by a crash is ERRORED
//! after the restart with no model left half-written; the same seed trains the same weights.

mod common;

use std::time::Duration;

use common::BinaryServer;
use common::training::{
    TrainingDirs, example_records, manage, post, serve, status, training_config, wait_until,
};
use serde_json::{Value, json};

const TRAIN: &str = "TextClassificationTaskClassifierTrain";

fn models(minilm: &std::path::Path) -> Value {
    json!([{"id": "all-minilm", "module": "sentence-embeddings", "config": {"path": minilm}},
        {"id": "pii-rules", "module": "pii-rules"}])
}

/// A server with all-MiniLM and training, or `None` (printed) without the model.
fn start(test: &str) -> Option<(TrainingDirs, BinaryServer)> {
    let minilm = common::minilm_dir(test)?;
    let dirs = training_config(test, models(&minilm), json!({}));
    let server = serve(&dirs);
    Some((dirs, server))
}

fn inline(records: &[Value]) -> Value {
    json!({"data_stream": {"data": records}})
}

fn request(name: &str, parameters: Value) -> Value {
    let mut all = json!({"base_model": "all-minilm",
        "train_stream": inline(&example_records("sentiment/train.jsonl")[..40])});
    all.as_object_mut()
        .unwrap()
        .extend(parameters.as_object().cloned().unwrap_or_default());
    json!({"model_name": name, "parameters": all})
}

/// A job that trains for a long time: many epochs of one-record steps.
fn slow(name: &str) -> Value {
    request(
        name,
        json!({"train_stream": inline(&example_records("sentiment/train.jsonl")),
            "num_epochs": 1000, "batch_size": 1}),
    )
}

fn first_field(answer: &Value) -> (String, String) {
    let field = &answer["additional_info"][0];
    (
        field["path"].as_str().unwrap_or_default().to_string(),
        field["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn bad_training_requests_name_the_field_or_record() {
    let Some((_, server)) = start("train_refusals") else {
        return;
    };
    let records = example_records("sentiment/train.jsonl");
    let refused = |body: Value, code: u16| {
        let server = &server;
        async move {
            let (status, answer) = post(server, TRAIN, &body).await;
            assert_eq!(status, code, "{answer}");
            first_field(&answer)
        }
    };

    let mut bad = records[..4].to_vec();
    bad[1] = json!({"text": "", "labels": ["positive"]});
    let (path, _) = refused(request("m", json!({"train_stream": inline(&bad)})), 422).await;
    assert_eq!(path, "/parameters/train_stream/data_stream/data/1/text");

    let outside =
        json!({"train_stream": {"data_stream": {"file": {"filename": "../../Cargo.toml"}}}});
    let (path, message) = refused(request("m", outside), 400).await;
    assert_eq!(path, "/parameters/train_stream/data_stream/file/filename");
    assert!(message.contains("relative path inside"), "{message}");

    let (path, message) = refused(request("m", json!({"base_model": "nope"})), 400).await;
    assert_eq!(
        (path.as_str(), message.as_str()),
        ("/parameters/base_model", "no model 'nope' is served here")
    );
    let (path, message) = refused(request("m", json!({"base_model": "pii-rules"})), 400).await;
    assert_eq!(path, "/parameters/base_model");
    assert!(message.contains("does not embed text"), "{message}");

    let one_label: Vec<Value> = records
        .iter()
        .filter(|r| r["labels"][0] == "positive")
        .take(5)
        .cloned()
        .collect();
    let (_, message) = refused(
        request("m", json!({"train_stream": inline(&one_label)})),
        400,
    )
    .await;
    assert!(message.contains("at least two"), "{message}");
    let mut two = records[..6].to_vec();
    two[3]["labels"] = json!(["positive", "negative"]);
    let (path, message) = refused(request("m", json!({"train_stream": inline(&two)})), 400).await;
    assert_eq!(path, "/parameters/train_stream/data_stream/data/3/labels");
    assert!(message.contains("set multi_label"), "{message}");
    let unknown = vec![json!({"text": "fine", "labels": ["neutral"]})];
    let (path, _) = refused(request("m", json!({"val_stream": inline(&unknown)})), 400).await;
    assert_eq!(path, "/parameters/val_stream/data_stream/data/0/labels");
    let (path, _) = refused(request("m", json!({"num_epochs": 0})), 422).await;
    assert_eq!(path, "/parameters/num_epochs");
    let (path, _) = refused(request("bad name!", json!({})), 422).await;
    assert_eq!(path, "/model_name");

    let (code, answer) = manage(&server, reqwest::Method::GET, "?training_id=missing").await;
    assert_eq!(code, 404, "{answer}");
    assert_eq!(answer["details"], "training 'missing' not found");
    let (code, _) = manage(&server, reqwest::Method::DELETE, "").await;
    assert_eq!(code, 422);
    // Nothing was queued by any of these.
    let (_, list) = manage(&server, reqwest::Method::GET, "").await;
    assert_eq!(list["trainings"], json!([]));
}

#[tokio::test]
async fn a_running_job_cancels_within_a_step_and_a_crash_errors_it() {
    let Some((dirs, server)) = start("train_cancel_crash") else {
        return;
    };
    let (code, job) = post(&server, TRAIN, &slow("canceled")).await;
    assert_eq!(code, 200, "{job}");
    let id = job["training_id"].as_str().unwrap().to_string();
    let running = |s: &Value| s["state"] == "RUNNING" && s["progress"]["step"].as_u64() > Some(0);
    wait_until(&server, &id, Duration::from_secs(60), running).await;
    let (code, canceled) = manage(
        &server,
        reqwest::Method::DELETE,
        &format!("?training_id={id}"),
    )
    .await;
    assert_eq!(code, 200, "{canceled}");
    assert_eq!(canceled["state"], "CANCELED", "{canceled}");
    let step = canceled["progress"]["step"].as_u64().unwrap();
    assert!(step < canceled["progress"]["total_steps"].as_u64().unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        status(&server, &id).await["progress"]["step"]
            .as_u64()
            .unwrap(),
        step
    );
    let (code, _) = server
        .call(
            "text-classification",
            json!({"model_id": "canceled", "inputs": "x"}),
        )
        .await;
    assert_eq!(code, 404);
    // The name is free again once its job was canceled.
    let (code, job) = post(&server, TRAIN, &slow("canceled")).await;
    assert_eq!(code, 200, "{job}");
    let crashed = job["training_id"].as_str().unwrap().to_string();
    wait_until(&server, &crashed, Duration::from_secs(60), running).await;

    drop(server); // SIGKILL mid-training.
    let job_dir = dirs.output.join(&crashed);
    let leftovers: Vec<_> = std::fs::read_dir(&job_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        leftovers
            .iter()
            .any(|n| n.to_string_lossy().starts_with(".canceled")),
        "{leftovers:?}"
    );
    let server = serve(&dirs);
    let after = status(&server, &crashed).await;
    assert_eq!(after["state"], "ERRORED", "{after}");
    assert_eq!(after["reasons"], json!(["interrupted by restart"]));
    assert!(after["completion_timestamp"].is_string());
    assert_eq!(status(&server, &id).await["state"], "CANCELED");
    let names: Vec<_> = std::fs::read_dir(&job_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("job.json")]);
    let (code, _) = server
        .call(
            "text-classification",
            json!({"model_id": "canceled", "inputs": "x"}),
        )
        .await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn the_same_seed_trains_the_same_weights() {
    let Some((dirs, server)) = start("train_seed") else {
        return;
    };
    let mut weights = Vec::new();
    for (name, seed) in [("seed-a", 3), ("seed-b", 3), ("seed-c", 4)] {
        let (code, job) = post(
            &server,
            TRAIN,
            &request(name, json!({"seed": seed, "num_epochs": 5})),
        )
        .await;
        assert_eq!(code, 200, "{job}");
        let id = job["training_id"].as_str().unwrap();
        let done = wait_until(&server, id, Duration::from_secs(60), |s| {
            s["state"] != "QUEUED" && s["state"] != "RUNNING"
        })
        .await;
        assert_eq!(done["state"], "COMPLETED", "{done}");
        weights
            .push(std::fs::read(dirs.output.join(id).join(name).join("head.safetensors")).unwrap());
    }
    assert_eq!(weights[0], weights[1]);
    assert_ne!(weights[0], weights[2]);
}

#[tokio::test]
async fn without_training_its_routes_are_unknown() {
    let test = "train_disabled";
    let dirs = training_config(
        test,
        json!([{"id": "pii-rules", "module": "pii-rules"}]),
        json!({"enabled": false}),
    );
    let server = serve(&dirs);
    let (code, answer) = post(&server, TRAIN, &json!({})).await;
    assert_eq!(code, 404, "{answer}");
    let (code, _) = manage(&server, reqwest::Method::GET, "").await;
    assert_eq!(code, 404);
}
