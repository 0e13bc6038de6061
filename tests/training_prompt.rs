//! Prompt tuning end to end over the real protocols, on SmolLM2: a job on the example
//! prompt-tuning set lowers the validation loss by at least half, the tuned model answers the
//! held-out reviews and streams through `server-streaming-text-generation` at once, and is
//! served again after a restart; bad requests are refused naming the field; a running job is
//! canceled within a step and leaves no model; a gRPC job and a REST job with the same seed
//! write the same soft prompt.

mod common;

use std::path::Path;

use common::grpc::{for_model, nlp};
use common::training::{
    events, example_records, manage, post, serve, status, training_config, wait_until,
};
use serde_json::{Value, json};
use std::time::Duration;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;

const TRAIN: &str = "TextGenerationTaskPeftPromptTuningTrain";
const VERBALIZER: &str = "Review: {{input}}\nSentiment:";
/// Loading the weights and one epoch over the example set take about a minute on two cores.
const JOB_LIMIT: Duration = Duration::from_secs(600);

fn models(gguf: &Path, minilm: Option<&Path>) -> Value {
    let mut models = vec![json!({"id": "smollm2", "module": "text-generation",
        "config": {"path": gguf}})];
    if let Some(minilm) = minilm {
        models.push(json!({"id": "all-minilm", "module": "sentence-embeddings",
            "config": {"path": minilm}}));
    }
    Value::Array(models)
}

fn from_file(name: &str) -> Value {
    json!({"data_stream": {"file": {"filename": name}}})
}

fn request(model_name: &str, parameters: Value) -> Value {
    let mut all = json!({"base_model": "smollm2",
        "train_stream": from_file("prompt-tuning/train.jsonl")});
    all.as_object_mut()
        .unwrap()
        .extend(parameters.as_object().cloned().unwrap());
    json!({"model_name": model_name, "parameters": all})
}

/// `(greedy answer, expected)` for every validation record.
async fn answers(server: &common::BinaryServer, model: &str) -> Vec<(String, String)> {
    let mut answers = Vec::new();
    for record in example_records("prompt-tuning/validation.jsonl") {
        let answer = server
            .call_ok(
                "text-generation",
                json!({"model_id": model, "inputs": record["input"],
                    "parameters": {"max_new_tokens": 4}}),
            )
            .await;
        answers.push((
            answer["generated_text"]
                .as_str()
                .unwrap()
                .trim()
                .to_string(),
            record["output"].as_str().unwrap().to_string(),
        ));
    }
    answers
}

/// A refused submission's status and the field its first error names.
async fn refused(server: &common::BinaryServer, body: Value) -> (u16, String, String) {
    let (code, answer) = post(server, TRAIN, &body).await;
    let field = answer["additional_info"][0]["path"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let details = answer["details"].as_str().unwrap_or_default().to_string();
    (code, field, details)
}

#[tokio::test]
async fn a_tuned_prompt_is_served_at_once_and_after_a_restart() {
    let test = "train_prompt";
    let (Some(gguf), Some(minilm)) = (common::smollm2_gguf(test), common::minilm_dir(test)) else {
        return;
    };
    let dirs = training_config(test, models(&gguf, Some(&minilm)), json!({}));
    let server = serve(&dirs);

    // Refused before queuing, naming the field.
    let cases = [
        (
            request("x", json!({"base_model": "all-minilm"})),
            "/parameters/base_model",
            "not an in-process text-generation model",
        ),
        (
            request("x", json!({"base_model": "nope"})),
            "/parameters/base_model",
            "no model 'nope'",
        ),
        (
            request("x", json!({"verbalizer": "no placeholder"})),
            "/parameters/verbalizer",
            "{{input}}",
        ),
        (
            request(
                "x",
                json!({"tuning_config": {"prompt_tuning_init_method": "TEXT"}}),
            ),
            "/parameters/tuning_config/prompt_tuning_init_text",
            "needs the text",
        ),
        (
            request("x", json!({"max_source_length": 8192})),
            "/parameters/max_source_length",
            "context",
        ),
        (
            request("x", json!({"tuning_type": "MULTITASK_PROMPT_TUNING"})),
            "/parameters/tuning_type",
            "",
        ),
        (
            request("x", json!({"train_stream": from_file("../../Cargo.toml")})),
            "/parameters/train_stream/data_stream/file/filename",
            "",
        ),
        (
            request(
                "x",
                json!({"train_stream": {"data_stream": {"data": [
                    {"input": "fine", "output": "positive"}, {"input": "bad"}]}}}),
            ),
            "/parameters/train_stream/data_stream/data/1",
            "output",
        ),
    ];
    for (body, field, reason) in cases {
        let (code, named, details) = refused(&server, body.clone()).await;
        assert!(code == 400 || code == 422, "{code} for {body}");
        assert!(named.starts_with(field), "{named} for {body}: {details}");
        assert!(details.contains(reason), "{details} for {body}");
    }
    let (_, list) = manage(&server, reqwest::Method::GET, "").await;
    assert_eq!(list["trainings"], json!([]), "a refused job was queued");

    let before = answers(&server, "smollm2").await;
    let (code, job) = post(
        &server,
        TRAIN,
        &request(
            "sentiment-prompt",
            json!({"val_stream": from_file("prompt-tuning/validation.jsonl"),
                "verbalizer": VERBALIZER, "num_epochs": 1, "batch_size": 8,
                "tuning_config": {"num_virtual_tokens": 8,
                    "prompt_tuning_init_text": "Classify the sentiment of this review."}}),
        ),
    )
    .await;
    assert_eq!(code, 200, "{job}");
    let id = job["training_id"].as_str().unwrap().to_string();
    let progress = events(&server, &id).await;
    let done = progress.last().unwrap();
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let initial = done["progress"]["initial_validation_loss"]
        .as_f64()
        .unwrap();
    let last = done["progress"]["validation_loss"].as_f64().unwrap();
    assert!(
        last <= 0.5 * initial,
        "validation loss fell from {initial} to {last} only"
    );
    assert_eq!(done["progress"]["total_steps"], 9, "{done}");

    // Served at once: answers with the labels it was taught, streams, tokenizes.
    let info = server
        .get_json("/info/models?model_ids=sentiment-prompt")
        .await;
    let model = &info["models"][0];
    assert_eq!(model["module"], "prompt-tuned-generation", "{model}");
    assert_eq!(model["metadata"]["verbalizer"], VERBALIZER, "{model}");
    assert_eq!(model["metadata"]["num_virtual_tokens"], 8, "{model}");
    let tuned = answers(&server, "sentiment-prompt").await;
    let right = |answers: &[(String, String)]| answers.iter().filter(|(a, e)| a == e).count();
    assert!(
        right(&tuned) * 10 >= tuned.len() * 8,
        "the tuned model answered {tuned:?}"
    );
    // The base model, asked the bare review, does not answer with the labels.
    assert!(right(&before) * 2 < before.len(), "{before:?}");
    let review = "I hated every minute of that film.";
    let events = server
        .stream(json!({"model_id": "sentiment-prompt", "inputs": review,
            "parameters": {"max_new_tokens": 4}}))
        .await;
    let streamed: String = events
        .iter()
        .map(|e| e["generated_text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, "negative", "{events:?}");
    let end = events.last().unwrap();
    assert_eq!(end["details"]["finish_reason"], "EOS_TOKEN", "{end}");
    assert_eq!(end["producer_id"]["name"], "prompt-tuned-generation");
    let tokens = server
        .call_ok(
            "tokenization",
            json!({"model_id": "sentiment-prompt", "inputs": review}),
        )
        .await;
    let base_tokens = server
        .call_ok(
            "tokenization",
            json!({"model_id": "smollm2", "inputs": review}),
        )
        .await;
    assert_eq!(tokens, base_tokens);

    let model_dir = dirs.output.join(&id).join("sentiment-prompt");
    assert!(model_dir.join("soft_prompt.safetensors").is_file());
    assert!(model_dir.join("tuned_model.json").is_file());

    // After a restart the same model answers the same way.
    drop(server);
    let server = serve(&dirs);
    assert_eq!(status(&server, &id).await["state"], "COMPLETED");
    assert_eq!(answers(&server, "sentiment-prompt").await, tuned);
}

#[tokio::test]
async fn grpc_and_rest_jobs_with_one_seed_agree_and_a_cancel_leaves_no_model() {
    use taskgate_gateway::grpc::pb::caikit::runtime::nlp::data_stream_source_generation_train_record::DataStream;
    use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_training_service_client::NlpTrainingServiceClient;
    use taskgate_gateway::grpc::pb::caikit::runtime::training::training_management_client::TrainingManagementClient;
    use taskgate_gateway::grpc::pb::caikit_data_model::caikit_nlp::{
        GenerationTrainRecord, TuningConfig,
    };
    use taskgate_gateway::grpc::pb::caikit_data_model::common::TrainingStatus;
    use taskgate_gateway::grpc::pb::caikit_data_model::runtime::TrainingInfoRequest;

    let test = "train_prompt_grpc";
    let Some(gguf) = common::smollm2_gguf(test) else {
        return;
    };
    let dirs = training_config(test, models(&gguf, None), json!({}));
    let server = serve(&dirs);
    let records: Vec<Value> = example_records("prompt-tuning/train.jsonl")[..8].to_vec();

    // Over gRPC: a bad setting is refused with REST's field path, then the job runs.
    let channel = common::grpc::channel(&server).await;
    let (mut trainer, mut jobs) = (
        NlpTrainingServiceClient::new(channel.clone()),
        TrainingManagementClient::new(channel),
    );
    let grpc_request =
        |name: &str, batch_size: i64| rpc::TextGenerationTaskPeftPromptTuningTrainRequest {
            model_name: name.into(),
            parameters: Some(rpc::TextGenerationTaskPeftPromptTuningTrainParameters {
                base_model: "smollm2".into(),
                train_stream: Some(rpc::DataStreamSourceGenerationTrainRecord {
                    data_stream: Some(DataStream::Jsondata(
                        rpc::DataStreamSourceGenerationTrainRecordJsonData {
                            data: records
                                .iter()
                                .map(|r| GenerationTrainRecord {
                                    input: r["input"].as_str().unwrap().into(),
                                    output: r["output"].as_str().unwrap().into(),
                                })
                                .collect(),
                        },
                    )),
                }),
                tuning_config: Some(TuningConfig {
                    num_virtual_tokens: Some(4),
                    prompt_tuning_init_method: Some("RANDOM".into()),
                    ..Default::default()
                }),
                verbalizer: Some(VERBALIZER.into()),
                num_epochs: Some(1),
                batch_size: Some(batch_size),
                seed: Some(5),
                ..Default::default()
            }),
        };
    let refused = trainer
        .text_generation_task_peft_prompt_tuning_train(grpc_request("grpc-bad", 0))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let fields = refused.metadata().get("x-field-errors").unwrap();
    assert!(
        fields.to_str().unwrap().contains("/parameters/batch_size"),
        "{fields:?}"
    );
    let job = trainer
        .text_generation_task_peft_prompt_tuning_train(grpc_request("grpc-prompt", 4))
        .await
        .unwrap()
        .into_inner();
    let info = || TrainingInfoRequest {
        training_id: job.training_id.clone(),
    };
    let started = std::time::Instant::now();
    loop {
        let status = jobs.get_training_status(info()).await.unwrap().into_inner();
        if status.state == TrainingStatus::Completed as i32 {
            assert_eq!(status.progress.unwrap().step, 2);
            break;
        }
        assert!(
            status.state < TrainingStatus::Completed as i32,
            "{status:?}"
        );
        assert!(started.elapsed() < JOB_LIMIT, "{status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The same job over REST writes the same soft prompt.
    let (code, rest_job) = post(
        &server,
        TRAIN,
        &json!({"model_name": "rest-prompt", "parameters": {"base_model": "smollm2",
            "train_stream": {"data_stream": {"data": records}},
            "tuning_config": {"num_virtual_tokens": 4, "prompt_tuning_init_method": "RANDOM"},
            "verbalizer": VERBALIZER, "num_epochs": 1, "batch_size": 4, "seed": 5}}),
    )
    .await;
    assert_eq!(code, 200, "{rest_job}");
    let rest_id = rest_job["training_id"].as_str().unwrap();
    let done = wait_until(&server, rest_id, JOB_LIMIT, |s| {
        s["state"] != "QUEUED" && s["state"] != "RUNNING"
    })
    .await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let prompt = |id: &str, name: &str| {
        std::fs::read(
            dirs.output
                .join(id)
                .join(name)
                .join("soft_prompt.safetensors"),
        )
        .unwrap()
    };
    assert!(
        prompt(&job.training_id, "grpc-prompt") == prompt(rest_id, "rest-prompt"),
        "one seed, two different prompts"
    );

    // The gRPC-trained model answers over gRPC, unary and streamed.
    let mut client = nlp(&server).await;
    let text = "The staff were rude and the room was dirty.";
    let reply = client
        .text_generation_task_predict(for_model(
            "grpc-prompt",
            rpc::TextGenerationTaskRequest {
                text: text.into(),
                max_new_tokens: Some(3),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let rest = server
        .call_ok(
            "text-generation",
            json!({"model_id": "grpc-prompt", "inputs": text,
                "parameters": {"max_new_tokens": 3}}),
        )
        .await;
    assert_eq!(reply.generated_text, rest["generated_text"]);
    let mut stream = client
        .server_streaming_text_generation_task_predict(for_model(
            "grpc-prompt",
            rpc::ServerStreamingTextGenerationTaskRequest {
                text: text.into(),
                max_new_tokens: Some(3),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut streamed = String::new();
    while let Some(part) = stream.message().await.unwrap() {
        streamed.push_str(&part.generated_text);
    }
    assert_eq!(streamed, reply.generated_text);

    // A long job canceled while running stops within a step and leaves no model behind.
    let (code, long) = post(
        &server,
        TRAIN,
        &request(
            "canceled-prompt",
            json!({"num_epochs": 50, "batch_size": 2}),
        ),
    )
    .await;
    assert_eq!(code, 200, "{long}");
    let long_id = long["training_id"].as_str().unwrap();
    wait_until(&server, long_id, JOB_LIMIT, |s| {
        s["progress"]["step"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let (code, canceled) = manage(
        &server,
        reqwest::Method::DELETE,
        &format!("?training_id={long_id}"),
    )
    .await;
    assert_eq!(code, 200, "{canceled}");
    assert_eq!(canceled["state"], "CANCELED", "{canceled}");
    let (code, _) = server
        .call(
            "text-generation",
            json!({"model_id": "canceled-prompt", "inputs": "hello"}),
        )
        .await;
    assert_eq!(code, 404);
    let leftovers: Vec<_> = std::fs::read_dir(dirs.output.join(long_id))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["job.json"], "{leftovers:?}");
}
