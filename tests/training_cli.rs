//! `taskgate train` against a running server: a local file's records are sent inline, the
//! progress is followed to COMPLETED and the model answers (a classifier from CSV, a tuned
//! prompt from JSONL); a refused job exits non-zero with the server's reason.

mod common;

use common::training::{examples_dir, serve, training_config};
use serde_json::json;

fn train_task(server: &str, task: &str, extra: &[&str]) -> std::process::Output {
    common::taskgate_command("train")
        .args(["train", "--server", server, "--task", task])
        .args(extra)
        .output()
        .expect("taskgate train runs")
}

fn train(server: &str, extra: &[&str]) -> std::process::Output {
    train_task(server, "classifier", extra)
}

#[tokio::test]
async fn the_cli_trains_from_a_local_file_and_follows_the_job() {
    let test = "train_cli";
    let Some(minilm) = common::minilm_dir(test) else {
        return;
    };
    let models =
        json!([{"id": "all-minilm", "module": "sentence-embeddings", "config": {"path": minilm}}]);
    // No data directory on the server: the CLI sends the records itself.
    let server = serve(&training_config(test, models, json!({"data_dir": null})));
    let (data, validation) = (
        examples_dir().join("sentiment/train.csv"),
        examples_dir().join("sentiment/test.jsonl"),
    );
    let output = train(
        &server.base,
        &[
            "--model-name",
            "cli-sentiment",
            "--base-model",
            "all-minilm",
            "--epochs",
            "10",
            "--data",
            data.to_str().unwrap(),
            "--validation",
            validation.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("COMPLETED: model 'cli-sentiment' is served"),
        "{stdout}"
    );
    assert!(stderr.contains("step 170/170"), "{stderr}");
    let answer = server
        .call_ok(
            "text-classification",
            json!({"model_id": "cli-sentiment",
            "inputs": "Wonderful staff and a spotless room."}),
        )
        .await;
    assert_eq!(answer["results"][0]["label"], "positive");

    let refused = train(
        &server.base,
        &[
            "--model-name",
            "other",
            "--base-model",
            "missing",
            "--data",
            data.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("no model 'missing' is served here"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_cli_tunes_a_prompt_from_a_local_file() {
    let test = "train_cli_prompt";
    let Some(gguf) = common::smollm2_gguf(test) else {
        return;
    };
    let models = json!([{"id": "smollm2", "module": "text-generation", "config": {"path": gguf}}]);
    let server = serve(&training_config(test, models, json!({"data_dir": null})));
    let data = examples_dir().join("prompt-tuning/validation.jsonl");
    let data = data.to_str().unwrap();
    let tune = |verbalizer: &str| {
        train_task(
            &server.base,
            "prompt-tuning",
            &[
                "--model-name",
                "cli-prompt",
                "--base-model",
                "smollm2",
                "--data",
                data,
                "--epochs",
                "1",
                "--batch-size",
                "14",
                "--num-virtual-tokens",
                "4",
                "--init-text",
                "Sentiment of this review:",
                "--verbalizer",
                verbalizer,
            ],
        )
    };
    let refused = tune("Review: no placeholder");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("must contain {{input}}"), "{stderr}");

    let output = tune("Review: {{input}}\nSentiment:");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("COMPLETED: model 'cli-prompt' is served"),
        "{stdout}"
    );
    assert!(stderr.contains("step 2/2"), "{stderr}");
    let info = server.get_json("/info/models?model_ids=cli-prompt").await;
    let model = &info["models"][0];
    assert_eq!(model["metadata"]["num_virtual_tokens"], 4, "{model}");
    assert_eq!(
        model["metadata"]["verbalizer"], "Review: {{input}}\nSentiment:",
        "{model}"
    );
    server
        .call_ok(
            "text-generation",
            json!({"model_id": "cli-prompt", "inputs": "Great value.",
                "parameters": {"max_new_tokens": 2}}),
        )
        .await;
}
