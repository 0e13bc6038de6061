//! What a training request or a stored job may not do: jobs whose memory estimate is over the
//! budget, verbalizer bombs, and a damaged trained model that would stop the server at start.

use serde_json::{Value, json};

use crate::common::training::{example_records, post, training_config};
use crate::common::{self, BinaryServer};

fn first_field(answer: &Value) -> (String, String) {
    let field = &answer["additional_info"][0];
    (
        field["path"].as_str().unwrap_or_default().to_string(),
        field["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_damaged_trained_model_is_failed_with_its_reason_and_the_rest_is_served() {
    let dirs = training_config(
        "damaged-trained-model",
        json!([{"id": "pii-rules", "module": "pii-rules"}]),
        json!({}),
    );
    let job = dirs.output.join("job-1");
    std::fs::create_dir_all(job.join("broken")).unwrap();
    std::fs::write(job.join("broken/manifest.json"), "{ not json").unwrap();
    let record = json!({"status": {"training_id": "job-1", "model_name": "broken",
        "state": "COMPLETED", "submission_timestamp": "2026-11-30T10:00:00.000Z",
        "completion_timestamp": "2026-11-30T10:01:00.000Z", "reasons": [],
        "progress": {"epoch": 1, "num_epochs": 1, "step": 1, "total_steps": 1}},
        "trainer": "classifier"});
    std::fs::write(job.join("job.json"), record.to_string()).unwrap();
    let server = common::training::serve(&dirs);
    let answer = server
        .call_ok(
            "token-classification",
            json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}),
        )
        .await;
    assert_eq!(answer["results"].as_array().unwrap().len(), 1);
    // The job did complete; its model is FAILED in the lifecycle, and a call says why.
    let status = common::training::status(&server, "job-1").await;
    assert_eq!(status["state"], "COMPLETED", "{status}");
    let (code, answer) = server
        .call(
            "text-classification",
            json!({"model_id": "broken", "inputs": "x"}),
        )
        .await;
    assert_eq!(code, 503, "{answer}");
    let details = answer["details"].as_str().unwrap();
    assert!(
        details.contains("Model 'broken' is unavailable") && details.contains("tuned_model.json"),
        "{details}"
    );
    // Listed as not loaded, FAILED, with why.
    let listing = server.get_json("/info/models?model_ids=broken").await;
    let broken = &listing["models"][0];
    assert_eq!(broken["loaded"], false, "{listing}");
    assert_eq!(broken["metadata"]["state"], "FAILED", "{listing}");
    assert!(broken["metadata"]["error"].as_str().is_some(), "{listing}");
    let all = server.get_json("/info/models").await;
    assert_eq!(all["models"].as_array().unwrap().len(), 2, "{all}");
    // And NOT_SERVING on gRPC health.
    let channel = common::grpc::channel(&server).await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "model/broken".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.status(),
        tonic_health::pb::health_check_response::ServingStatus::NotServing
    );
}

/// A server with all-MiniLM and training, or `None` (printed) without the model.
fn with_minilm(test: &str, training: Value) -> Option<BinaryServer> {
    let minilm = common::minilm_dir(test)?;
    let models = json!([{"id": "all-minilm", "module": "sentence-embeddings",
        "config": {"path": minilm}}]);
    Some(common::training::serve(&training_config(
        test, models, training,
    )))
}

#[tokio::test]
async fn a_classifier_job_over_the_memory_budget_is_refused_naming_its_fields() {
    let Some(server) = with_minilm("classifier-memory", json!({"max_memory_bytes": 1u64 << 30}))
    else {
        return;
    };
    let records = &example_records("sentiment/train.jsonl")[..20];
    let request = |batch: u32| {
        json!({"model_name": format!("tuned-{batch}"), "parameters": {"base_model": "all-minilm",
            "train_stream": {"data_stream": {"data": records}},
            "tune_encoder_layers": 6, "batch_size": batch, "num_epochs": 1}})
    };
    let (code, answer) = post(
        &server,
        "TextClassificationTaskClassifierTrain",
        &request(4096),
    )
    .await;
    assert_eq!(code, 400, "{answer}");
    let (path, message) = first_field(&answer);
    assert_eq!(path, "/parameters/batch_size");
    assert!(message.contains("training.max_memory_bytes"), "{message}");
    assert!(message.contains("tune_encoder_layers"), "{message}");
    let (code, answer) = post(
        &server,
        "TextClassificationTaskClassifierTrain",
        &request(8),
    )
    .await;
    assert_eq!(code, 200, "{answer}");
}

#[tokio::test]
async fn prompt_tuning_refuses_verbalizer_bombs_and_oversized_batches() {
    let Some(gguf) = common::smollm2_gguf("prompt-tuning-bounds") else {
        return;
    };
    let models = json!([{"id": "smollm2", "module": "text-generation",
        "config": {"path": gguf}}]);
    let dirs = training_config("prompt-tuning-bounds", models, json!({}));
    let server = common::training::serve(&dirs);
    let records: Vec<Value> = (0..4)
        .map(|i| json!({"input": format!("q{i}"), "output": "a"}))
        .collect();
    let request = |parameters: Value| {
        let mut all = json!({"base_model": "smollm2",
            "train_stream": {"data_stream": {"data": records}}, "num_epochs": 1});
        all.as_object_mut()
            .unwrap()
            .extend(parameters.as_object().cloned().unwrap_or_default());
        json!({"model_name": "tuned", "parameters": all})
    };
    let route = "TextGenerationTaskPeftPromptTuningTrain";
    let bomb = "{{input}}".repeat(20_000);
    let (code, answer) = post(&server, route, &request(json!({"verbalizer": bomb}))).await;
    assert_eq!(code, 400, "{answer}");
    assert_eq!(first_field(&answer).0, "/parameters/verbalizer");
    let (code, answer) = post(
        &server,
        route,
        &request(json!({"verbalizer": "Q: {{input}} A: {{input}} {{input}} {{input}} {{input}}"})),
    )
    .await;
    assert_eq!(code, 400, "{answer}");
    // 8 × 7,000-token sources: refused by the memory estimate, or by the context if the
    // model's is shorter; either way before a job exists.
    let (code, answer) = post(
        &server,
        route,
        &request(json!({"batch_size": 8, "max_source_length": 7000})),
    )
    .await;
    assert_eq!(code, 400, "{answer}");
    let (path, _) = first_field(&answer);
    assert!(
        path == "/parameters/batch_size" || path == "/parameters/max_source_length",
        "{answer}"
    );
    let (code, list) = common::training::manage(&server, reqwest::Method::GET, "").await;
    assert_eq!(code, 200);
    assert_eq!(list["trainings"], json!([]));
}

#[tokio::test]
async fn sigterm_stops_a_running_job_as_canceled_by_shutdown() {
    let Some(minilm) = common::minilm_dir("training-sigterm") else {
        return;
    };
    let models = json!([{"id": "all-minilm", "module": "sentence-embeddings",
        "config": {"path": minilm}}]);
    let dirs = training_config("training-sigterm", models, json!({}));
    let server = common::training::serve(&dirs);
    let records = example_records("sentiment/train.jsonl");
    let slow = json!({"model_name": "slow", "parameters": {"base_model": "all-minilm",
        "train_stream": {"data_stream": {"data": &records[..40]}},
        "num_epochs": 1000, "batch_size": 1}});
    let (code, job) = post(&server, "TextClassificationTaskClassifierTrain", &slow).await;
    assert_eq!(code, 200, "{job}");
    let id = job["training_id"].as_str().unwrap().to_string();
    common::training::wait_until(&server, &id, std::time::Duration::from_secs(60), |s| {
        s["state"] == "RUNNING" && s["progress"]["step"].as_u64() > Some(0)
    })
    .await;
    // A running job cannot be deleted: 409, with what to do.
    let url = server.url(&format!("/management/trainings/model?training_id={id}"));
    let refused = common::client().delete(&url).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .contains("is RUNNING; cancel it"),
        "{body}"
    );
    assert!(server.terminate().success());
    // The record on disk says why it ended, so the restart does not call it interrupted.
    let server = common::training::serve(&dirs);
    let status = common::training::status(&server, &id).await;
    assert_eq!(status["state"], "CANCELED", "{status}");
    assert_eq!(status["reasons"], json!(["shutdown"]));
}

#[tokio::test]
async fn a_trained_model_and_its_files_can_be_deleted() {
    let Some(minilm) = common::minilm_dir("training-delete") else {
        return;
    };
    let models = json!([{"id": "all-minilm", "module": "sentence-embeddings",
        "config": {"path": minilm}}]);
    let dirs = training_config("training-delete", models, json!({}));
    let server = common::training::serve(&dirs);
    let records = example_records("sentiment/train.jsonl");
    let quick = json!({"model_name": "short-lived", "parameters": {"base_model": "all-minilm",
        "train_stream": {"data_stream": {"data": &records[..24]}}, "num_epochs": 1}});
    let (code, job) = post(&server, "TextClassificationTaskClassifierTrain", &quick).await;
    assert_eq!(code, 200, "{job}");
    let id = job["training_id"].as_str().unwrap().to_string();
    common::training::wait_until(&server, &id, std::time::Duration::from_secs(120), |s| {
        s["state"] == "COMPLETED"
    })
    .await;
    let call = json!({"model_id": "short-lived", "inputs": "Great value."});
    server.call_ok("text-classification", call.clone()).await;
    // The name is taken while the model is served: 409.
    let (code, taken) = post(&server, "TextClassificationTaskClassifierTrain", &quick).await;
    assert_eq!(code, 409, "{taken}");
    let url = server.url(&format!("/management/trainings/model?training_id={id}"));
    let deleted = common::client().delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let status: Value = deleted.json().await.unwrap();
    assert_eq!(status["reasons"], json!(["deleted"]));
    let (code, _) = server.call("text-classification", call.clone()).await;
    assert_eq!(code, 404);
    let (code, _) =
        common::training::manage(&server, reqwest::Method::GET, &format!("?training_id={id}"))
            .await;
    assert_eq!(code, 404);
    assert!(!dirs.output.join(&id).exists(), "the job's files are gone");
    // Gone after a restart too, and the name is free again.
    drop(server);
    let server = common::training::serve(&dirs);
    let (code, _) = server.call("text-classification", call).await;
    assert_eq!(code, 404);
    let url = server.url(&format!("/management/trainings/model?training_id={id}"));
    let again = common::client().delete(&url).send().await.unwrap();
    assert_eq!(again.status(), 404);
}
