//! The `kserve-v2` backend against a real Seldon MLServer (tests/common/mlserver.rs), over REST
//! and gRPC (typed and raw contents): every task it serves answers, through taskgate's REST and
//! gRPC APIs, the values the MLServer models define (recomputed here); tensors a task cannot use
//! and remote refusals become clear errors; a killed MLServer is a 503 naming it, opens the
//! circuit shown in `/info/models`, and once restarted on the same ports it serves again.

mod common;

use common::BinaryServer;
use common::grpc::{failure, for_model, nlp};
use common::kserve_tasks::{LABELS, TEXTS, assert_close, classification, embedding_family};
use common::mlserver::{MlServer, hash_embedding, keyword_logits, keyword_probabilities};
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;
use taskgate_runtime::remote::kserve::{KserveClient, KserveModel, KserveProtocol};
use taskgate_runtime::remote::resilience::RetryPolicy;
use taskgate_runtime::remote::{Forwarded, RemoteEndpoint};
use tonic::Code;

/// A `kserve-v2` model entry on `mls`, over `protocol` (`rest`, `grpc` or `grpc-raw`).
fn model(id: &str, mls: &MlServer, protocol: &str, settings: Value) -> Value {
    let (endpoint, protocol, raw) = match protocol {
        "rest" => (&mls.rest, "rest", None),
        "grpc" => (&mls.grpc, "grpc", None),
        _ => (&mls.grpc, "grpc", Some(true)),
    };
    let mut backend = json!({"kind": "kserve-v2", "endpoint": endpoint, "protocol": protocol,
        "request_timeout_ms": 10000});
    if let Some(raw) = raw {
        backend["raw_contents"] = json!(raw);
    }
    backend
        .as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    json!({"id": id, "backend": backend})
}

fn embeddings(output: Option<&str>) -> Value {
    let mut settings = json!({"task": "embeddings", "model_name": "hash-embed"});
    if let Some(output) = output {
        settings["output_name"] = json!(output);
    }
    settings
}

fn classifier(output: Option<&str>, labels: &[&str]) -> Value {
    let mut settings = json!({"task": "text-classification", "model_name": "keyword-sentiment",
        "labels": labels});
    if let Some(output) = output {
        settings["output_name"] = json!(output);
    }
    settings
}

#[tokio::test]
async fn every_task_answers_what_the_mlserver_models_compute_over_rest_and_grpc() {
    let test = "kserve_tasks";
    let Some(mls) = MlServer::start(test).await else {
        return;
    };
    eprintln!("MLServer ready in {:?}", mls.started_in);
    let missing = json!({"task": "embeddings", "model_name": "nope"});
    let wrong_input = json!({"task": "embeddings", "model_name": "hash-embed",
        "input_name": "texts"});
    let models: Vec<Value> = [
        ("embed-rest", "rest", embeddings(None)),
        ("embed-grpc", "grpc", embeddings(Some("embedding"))),
        ("embed-grpc-raw", "grpc-raw", embeddings(None)),
        ("length-rest", "rest", embeddings(Some("byte_length"))),
        (
            "length-grpc-raw",
            "grpc-raw",
            embeddings(Some("byte_length")),
        ),
        ("sentiment-rest", "rest", classifier(None, &LABELS)),
        (
            "sentiment-grpc",
            "grpc",
            classifier(Some("logits"), &LABELS),
        ),
        ("sentiment-grpc-raw", "grpc-raw", classifier(None, &LABELS)),
        ("grid-rest", "rest", embeddings(Some("grid"))),
        ("grid-grpc-raw", "grpc-raw", embeddings(Some("grid"))),
        ("label-grpc", "grpc", classifier(Some("label"), &LABELS)),
        ("two-labels-rest", "rest", classifier(None, &LABELS[..2])),
        ("unknown-output-rest", "rest", embeddings(Some("nope"))),
        ("missing-rest", "rest", missing.clone()),
        ("missing-grpc", "grpc", missing),
        ("wrong-input-rest", "rest", wrong_input.clone()),
        ("wrong-input-grpc", "grpc", wrong_input),
    ]
    .into_iter()
    .map(|(id, protocol, settings)| model(id, &mls, protocol, settings))
    .collect();
    let server = common::serve_models(test, json!(models), json!({}));

    for model in ["embed-rest", "embed-grpc", "embed-grpc-raw"] {
        embedding_family(&server, model).await;
    }
    // An `[n]` INT64 output is one number per text, typed (REST) or raw (gRPC).
    for model in ["length-rest", "length-grpc-raw"] {
        let body = json!({"model_id": model, "inputs": TEXTS});
        let answer = server.call_ok("embedding-tasks", body).await;
        for (i, text) in TEXTS.iter().enumerate() {
            let vector = &answer["results"]["vectors"][i]["data"]["values"];
            assert_close(vector, &[text.len() as f64], model);
        }
    }
    classification(&server, "sentiment-rest", keyword_probabilities).await;
    classification(&server, "sentiment-grpc", keyword_logits).await;
    classification(&server, "sentiment-grpc-raw", keyword_probabilities).await;

    let info = server.get_json("/info/models").await;
    let models = info["models"].as_array().unwrap();
    let meta = |id: &str| {
        let model = models.iter().find(|m| m["name"] == id).unwrap();
        model["metadata"].clone()
    };
    let rest = meta("embed-rest");
    assert_eq!(rest["endpoint"], json!(mls.rest));
    assert_eq!(
        (&rest["protocol"], &rest["model_name"]),
        (&json!("rest"), &json!("hash-embed"))
    );
    assert_eq!(rest["circuit"], "closed");
    let grpc = meta("sentiment-grpc-raw");
    assert_eq!(
        (&grpc["protocol"], &grpc["raw_contents"]),
        (&json!("grpc"), &json!(true))
    );
    assert_eq!(grpc["labels"], json!(LABELS));
    errors(&server, &mls).await;
    drop(server);
    readiness(&mls).await;
}

/// Calls that must fail, with the status and the texts their error must contain.
async fn errors(server: &BinaryServer, mls: &MlServer) {
    let rest = format!("KServe v2 REST at {}", mls.rest);
    let grpc = format!("KServe v2 gRPC at {}", mls.grpc);
    let one = json!({"inputs": "one text"});
    let truncated = json!({"inputs": "x", "parameters": {"truncate_input_tokens": 5}});
    // One line per case reads as a table.
    #[rustfmt::skip]
    let cases: [(&str, &str, &Value, u16, &[&str]); 14] = [
        // Tensors the task cannot use: 502, naming the server, the output and what was expected.
        ("embedding", "grid-rest", &one, 502,
            &[&rest, "output 'grid' has shape [1, 2, 4]; expected [1, d] or [1]"]),
        ("embedding", "grid-grpc-raw", &one, 502, &[&grpc, "shape [1, 2, 4]"]),
        ("text-classification", "label-grpc", &one, 502,
            &[&grpc, "output 'label' has datatype BYTES; expected a number"]),
        ("text-classification", "two-labels-rest", &one, 502,
            &["3 scores per text but 2 labels are configured"]),
        // The server refusing the request: 400 with its own message.
        ("embedding", "unknown-output-rest", &one, 400, &[&rest, "unknown output 'nope'"]),
        ("embedding", "missing-rest", &one, 400, &[&rest, "Model nope not found"]),
        ("embedding", "missing-grpc", &one, 400, &[&grpc, "Model nope with version"]),
        // The runtime failing: 502 with what the server said, plain text or gRPC status.
        ("embedding", "wrong-input-rest", &one, 502, &[&rest, "HTTP 500: Internal Server Error"]),
        ("embedding", "wrong-input-grpc", &one, 502, &[&grpc, "no input named 'texts'"]),
        // What taskgate cannot do for a remote model is refused before any call.
        ("embedding", "embed-rest", &truncated, 400, &["/parameters/truncate_input_tokens"]),
        ("text-classification", "sentiment-rest", &truncated, 400,
            &["/parameters/truncate_input_tokens"]),
        ("embedding-tasks", "embed-grpc", &json!({"inputs": []}), 422, &["/inputs"]),
        ("text-generation", "embed-rest", &one, 400, &["does not serve text-generation"]),
        ("embedding", "sentiment-rest", &one, 400, &["does not serve embedding"]),
    ];
    for (task, model, body, status, texts) in cases {
        let mut body = body.clone();
        body["model_id"] = json!(model);
        let (got, answer) = server.call(task, body).await;
        let details = answer["details"].as_str().unwrap_or_default();
        assert_eq!(got, status, "{model} {task}: {answer}");
        for text in texts {
            assert!(details.contains(text), "{model} {task}: {details}");
        }
    }
    // The same remote refusal through taskgate's gRPC API.
    let request = rpc::EmbeddingTaskRequest {
        text: "a".into(),
        truncate_input_tokens: None,
    };
    let mut client = nlp(server).await;
    let status = failure(
        client
            .embedding_task_predict(for_model("missing-grpc", request))
            .await,
    );
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("Model nope"), "{status:?}");
}

#[tokio::test]
async fn a_killed_mlserver_is_a_503_opens_the_circuit_and_serves_again_once_restarted() {
    let test = "kserve_faults";
    let Some(mut mls) = MlServer::start(test).await else {
        return;
    };
    let fragile = json!({"task": "embeddings", "model_name": "hash-embed", "retries": 0,
        "circuit_failures": 2, "circuit_cooldown_ms": 200, "connect_timeout_ms": 1000});
    let models = json!([
        model("embed-rest", &mls, "rest", fragile.clone()),
        model("embed-grpc", &mls, "grpc", fragile),
    ]);
    let server = common::serve_models(test, models, json!({}));
    let body = |model: &str| json!({"model_id": model, "inputs": "still here?"});
    let circuit = |info: &Value, model: &str| {
        let models = info["models"].as_array().unwrap();
        let model = models.iter().find(|m| m["name"] == model).unwrap();
        model["metadata"]["circuit"].as_str().unwrap().to_string()
    };
    for model in ["embed-rest", "embed-grpc"] {
        server.call_ok("embedding", body(model)).await;
    }

    mls.stop();
    for (model, name) in [
        ("embed-rest", "KServe v2 REST"),
        ("embed-grpc", "KServe v2 gRPC"),
    ] {
        for _ in 0..2 {
            let (status, answer) = server.call("embedding", body(model)).await;
            let text = answer["details"].as_str().unwrap_or_default();
            assert_eq!(status, 503, "{model}: {answer}");
            assert!(text.contains(name), "{model}: {text}");
        }
    }
    let info = server.get_json("/info/models").await;
    assert_eq!(circuit(&info, "embed-rest"), "open");
    assert_eq!(circuit(&info, "embed-grpc"), "open");

    // Same ports, same taskgate: the cooldown has passed, so the next call is the probe.
    mls.restart().await;
    for model in ["embed-rest", "embed-grpc"] {
        let answer = server.call_ok("embedding", body(model)).await;
        let expected = hash_embedding("still here?");
        assert_close(&answer["result"]["data"]["values"], &expected, model);
    }
    let info = server.get_json("/info/models").await;
    assert_eq!(circuit(&info, "embed-rest"), "closed");
    assert_eq!(circuit(&info, "embed-grpc"), "closed");
}

/// The client's readiness check asks the server about the model, over both transports.
async fn readiness(mls: &MlServer) {
    for (url, protocol) in [
        (&mls.rest, KserveProtocol::Rest),
        (
            &mls.grpc,
            KserveProtocol::Grpc {
                raw_contents: false,
            },
        ),
    ] {
        let client = |name: &str| {
            let endpoint = RemoteEndpoint {
                url: url.clone(),
                connect_timeout: std::time::Duration::from_secs(2),
                request_timeout: std::time::Duration::from_secs(5),
                stream_idle_timeout: std::time::Duration::from_secs(5),
                retry: RetryPolicy::default(),
                circuit_failures: 5,
                circuit_cooldown: std::time::Duration::from_secs(1),
                tls: Default::default(),
            };
            let model = KserveModel {
                name: name.into(),
                input_name: "text".into(),
                output_name: None,
                protocol,
            };
            KserveClient::new(endpoint, model).unwrap()
        };
        client("hash-embed").ready().await.unwrap();
        let error = client("nope").ready().await.unwrap_err().to_string();
        assert!(error.contains("nope"), "{protocol:?}: {error}");
        let rows = client("hash-embed")
            .infer(&["x".to_string()], &Forwarded::default())
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
    }
}
