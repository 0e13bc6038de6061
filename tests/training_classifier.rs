//! Classifier training end to end over the real protocols: a job on the example sentiment set
//! (a head over all-MiniLM's vectors) is followed to COMPLETED through status and the progress
//! stream, the trained model answers `text-classification` at once over REST and gRPC with
//! ≥ 90% held-out accuracy, and is served again after a restart. Fine-tuning the encoder's top
//! layer with the head gives a model that runs its own tuned encoder, also after a restart.

mod common;

use common::grpc::{for_model, nlp};
use common::training::{events, example_records, manage, post, serve, status, training_config};
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;

const TRAIN: &str = "TextClassificationTaskClassifierTrain";

fn minilm_model(dir: &std::path::Path) -> Value {
    json!([{"id": "all-minilm", "module": "sentence-embeddings", "config": {"path": dir}}])
}

fn from_file(name: &str) -> Value {
    json!({"data_stream": {"file": {"filename": name}}})
}

async fn held_out_accuracy(server: &common::BinaryServer, model: &str) -> f64 {
    let test = example_records("sentiment/test.jsonl");
    let mut right = 0;
    for record in &test {
        let (code, answer) = server
            .call(
                "text-classification",
                json!({"model_id": model, "inputs": record["text"]}),
            )
            .await;
        assert_eq!(code, 200, "{answer}");
        if answer["results"][0]["label"] == record["labels"][0] {
            right += 1;
        }
    }
    f64::from(right) / test.len() as f64
}

#[tokio::test]
async fn a_trained_classifier_is_served_at_once_and_after_a_restart() {
    let test = "train_classifier";
    let Some(minilm) = common::minilm_dir(test) else {
        return;
    };
    let dirs = training_config(test, minilm_model(&minilm), json!({}));
    let server = serve(&dirs);
    let (code, job) = post(
        &server,
        TRAIN,
        &json!({"model_name": "sentiment", "parameters": {"base_model": "all-minilm",
            "train_stream": from_file("sentiment/train.jsonl"),
            "val_stream": from_file("sentiment/test.jsonl"), "seed": 7}}),
    )
    .await;
    assert_eq!(code, 200, "{job}");
    assert_eq!(job["model_name"], "sentiment");
    let id = job["training_id"].as_str().unwrap().to_string();

    // The progress stream runs to the final state; steps only go up.
    let progress = events(&server, &id).await;
    let last = progress.last().unwrap();
    assert_eq!(last["state"], "COMPLETED", "{last}");
    let steps: Vec<u64> = progress
        .iter()
        .map(|e| e["progress"]["step"].as_u64().unwrap())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    assert!(progress.len() >= 2, "{progress:?}");

    let done = status(&server, &id).await;
    assert_eq!(done["state"], "COMPLETED");
    assert!(
        done["completion_timestamp"].as_str().unwrap()
            >= done["submission_timestamp"].as_str().unwrap()
    );
    let progress = &done["progress"];
    assert_eq!(progress["step"], progress["total_steps"]);
    assert!(
        progress["validation_accuracy"].as_f64().unwrap() >= 0.9,
        "{done}"
    );

    // Served at once, in /info/models and over REST and gRPC.
    let info = server.get_json("/info/models?model_ids=sentiment").await;
    let model = &info["models"][0];
    assert_eq!(model["module"], "tuned-classifier", "{model}");
    assert_eq!(model["tasks"], json!(["text-classification"]));
    assert_eq!(model["metadata"]["base_model"], "all-minilm", "{model}");
    let accuracy = held_out_accuracy(&server, "sentiment").await;
    assert!(accuracy >= 0.9, "held-out accuracy {accuracy}");
    let rest = server
        .call_ok(
            "text-classification",
            json!({"model_id": "sentiment",
            "inputs": "Absolutely wonderful service, I will come back."}),
        )
        .await;
    assert_eq!(rest["results"][0]["label"], "positive");
    let scores: f64 = rest["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .sum();
    assert!((scores - 1.0).abs() < 1e-4, "{rest}");
    let mut client = nlp(&server).await;
    let reply = client
        .text_classification_task_predict(for_model(
            "sentiment",
            rpc::TextClassificationTaskRequest {
                text: "Absolutely wonderful service, I will come back.".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.results[0].label, "positive");
    assert!((reply.results[0].score - rest["results"][0]["score"].as_f64().unwrap()).abs() < 1e-6);

    // The listing knows the job; a second job may not take the name.
    let (_, list) = manage(&server, reqwest::Method::GET, "").await;
    assert_eq!(list["trainings"][0]["training_id"], id.as_str());
    let (code, refused) = post(
        &server,
        TRAIN,
        &json!({"model_name": "sentiment", "parameters": {"base_model": "all-minilm",
            "train_stream": from_file("sentiment/train.jsonl")}}),
    )
    .await;
    // A conflict with what is served, not a bad value: 409, naming the field to change.
    assert_eq!(code, 409, "{refused}");
    let details = refused["details"].as_str().unwrap();
    assert!(
        details.contains("already served") && details.contains("model_name"),
        "{details}"
    );

    // After a restart the trained model is served again and the job is still COMPLETED.
    drop(server);
    let server = serve(&dirs);
    assert_eq!(status(&server, &id).await["state"], "COMPLETED");
    let again = server
        .call_ok(
            "text-classification",
            json!({"model_id": "sentiment",
            "inputs": "Absolutely wonderful service, I will come back."}),
        )
        .await;
    assert_eq!(again["results"], rest["results"]);
    let model_dir = dirs.output.join(&id).join("sentiment");
    assert!(model_dir.join("head.safetensors").is_file());
}

#[tokio::test]
async fn training_over_grpc_takes_the_same_checks_and_serves_the_model() {
    use taskgate_gateway::grpc::pb::caikit::runtime::nlp::data_stream_source_classification_train_record::DataStream;
    use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_training_service_client::NlpTrainingServiceClient;
    use taskgate_gateway::grpc::pb::caikit::runtime::training::training_management_client::TrainingManagementClient;
    use taskgate_gateway::grpc::pb::caikit_data_model::common::TrainingStatus;
    use taskgate_gateway::grpc::pb::caikit_data_model::nlp::ClassificationTrainRecord;
    use taskgate_gateway::grpc::pb::caikit_data_model::runtime::TrainingInfoRequest;

    let test = "train_classifier_grpc";
    let Some(minilm) = common::minilm_dir(test) else {
        return;
    };
    let server = serve(&training_config(test, minilm_model(&minilm), json!({})));
    let channel = common::grpc::channel(&server).await;
    let (mut trainer, mut jobs) = (
        NlpTrainingServiceClient::new(channel.clone()),
        TrainingManagementClient::new(channel),
    );
    let records: Vec<ClassificationTrainRecord> = example_records("sentiment/train.jsonl")
        .iter()
        .map(|r| ClassificationTrainRecord {
            text: r["text"].as_str().unwrap().into(),
            labels: vec![r["labels"][0].as_str().unwrap().into()],
        })
        .collect();
    let request = |name: &str, records: Vec<ClassificationTrainRecord>| {
        rpc::TextClassificationTaskClassifierTrainRequest {
            model_name: name.into(),
            parameters: Some(rpc::TextClassificationTaskClassifierTrainParameters {
                base_model: "all-minilm".into(),
                train_stream: Some(rpc::DataStreamSourceClassificationTrainRecord {
                    data_stream: Some(DataStream::Jsondata(
                        rpc::DataStreamSourceClassificationTrainRecordJsonData { data: records },
                    )),
                }),
                validation_split: Some(0.2),
                seed: Some(11),
                ..Default::default()
            }),
        }
    };

    // A bad record is refused with the REST field path.
    let mut bad = records[..4].to_vec();
    bad[2].text.clear();
    let refused = trainer
        .text_classification_task_classifier_train(request("grpc-bad", bad))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let fields = refused
        .metadata()
        .get("x-field-errors")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        fields.contains("/parameters/train_stream/data_stream/data/2/text"),
        "{fields}"
    );
    // The encoder-tuning settings arrive too: more layers than the encoder has are refused.
    let mut deep = request("grpc-deep", records[..4].to_vec());
    if let Some(p) = deep.parameters.as_mut() {
        p.tune_encoder_layers = Some(7);
        p.encoder_learning_rate = Some(1e-4);
    }
    let refused = trainer
        .text_classification_task_classifier_train(deep)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("6 layers"), "{refused:?}");

    let job = trainer
        .text_classification_task_classifier_train(request("sentiment-grpc", records))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.model_name, "sentiment-grpc");
    let info = || TrainingInfoRequest {
        training_id: job.training_id.clone(),
    };
    let started = std::time::Instant::now();
    let done = loop {
        let status = jobs.get_training_status(info()).await.unwrap().into_inner();
        if status.state == TrainingStatus::Completed as i32 {
            break status;
        }
        assert!(
            status.state < TrainingStatus::Completed as i32,
            "{status:?}"
        );
        assert!(started.elapsed().as_secs() < 120, "{status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(done.submission_timestamp.is_some() && done.completion_timestamp.is_some());
    let progress = done.progress.unwrap();
    assert!(progress.validation_accuracy.unwrap() >= 0.8, "{progress:?}");
    // REST reports the same job.
    assert_eq!(
        status(&server, &job.training_id).await["state"],
        "COMPLETED"
    );
    // Cancelling an ended job leaves it as it was.
    let after = jobs.cancel_training(info()).await.unwrap().into_inner();
    assert_eq!(after.state, TrainingStatus::Completed as i32);

    let mut client = nlp(&server).await;
    let reply = client
        .text_classification_task_predict(for_model(
            "sentiment-grpc",
            rpc::TextClassificationTaskRequest {
                text: "Terrible, it broke on the first day.".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.results[0].label, "negative");

    let missing = jobs
        .get_training_status(TrainingInfoRequest {
            training_id: "missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    assert_eq!(missing.message(), "training 'missing' not found");
}

#[tokio::test]
async fn fine_tuning_the_top_encoder_layer_serves_a_tuned_encoder() {
    let test = "train_classifier_encoder";
    let Some(minilm) = common::minilm_dir(test) else {
        return;
    };
    let dirs = training_config(test, minilm_model(&minilm), json!({}));
    let server = serve(&dirs);
    let body = |name: &str, layers: u32| {
        json!({"model_name": name, "parameters": {"base_model": "all-minilm",
            "train_stream": from_file("sentiment/train.jsonl"),
            "val_stream": from_file("sentiment/test.jsonl"),
            "num_epochs": 8, "seed": 3, "tune_encoder_layers": layers}})
    };
    // all-MiniLM-L6 has six layers.
    let (code, refused) = post(&server, TRAIN, &body("too-deep", 7)).await;
    assert_eq!(code, 400, "{refused}");
    assert_eq!(
        refused["additional_info"][0]["path"], "/parameters/tune_encoder_layers",
        "{refused}"
    );
    assert!(
        refused["details"].as_str().unwrap().contains("6 layers"),
        "{refused}"
    );

    let (code, job) = post(&server, TRAIN, &body("sentiment-encoder", 1)).await;
    assert_eq!(code, 200, "{job}");
    let id = job["training_id"].as_str().unwrap().to_string();
    let done = events(&server, &id).await.pop().unwrap();
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let progress = &done["progress"];
    assert!(
        progress["validation_accuracy"].as_f64().unwrap() >= 0.9,
        "{done}"
    );
    assert!(
        progress["validation_loss"].as_f64().unwrap()
            < progress["initial_validation_loss"].as_f64().unwrap() / 2.0,
        "{done}"
    );
    let model_dir = dirs.output.join(&id).join("sentiment-encoder");
    assert!(model_dir.join("encoder_layers.safetensors").is_file());
    let info = server
        .get_json("/info/models?model_ids=sentiment-encoder")
        .await;
    assert_eq!(
        info["models"][0]["metadata"]["tuned_encoder_layers"], 1,
        "{info}"
    );
    let accuracy = held_out_accuracy(&server, "sentiment-encoder").await;
    assert!(accuracy >= 0.9, "held-out accuracy {accuracy}");
    let text = json!({"model_id": "sentiment-encoder",
        "inputs": "The hotel was noisy and the staff ignored us."});
    let before = server.call_ok("text-classification", text.clone()).await;
    assert_eq!(before["results"][0]["label"], "negative", "{before}");

    // After a restart the model is rebuilt from its files and scores the same.
    drop(server);
    let server = serve(&dirs);
    let after = server.call_ok("text-classification", text).await;
    assert_eq!(after["results"], before["results"]);
}
