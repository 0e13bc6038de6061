//! The gRPC API of the real binary, called with a tonic client: every RPC answers what REST
//! answers for the same request, metadata and validation errors carry REST's texts, and health,
//! reflection and the info service describe the server. (Deadlines, cancellation, overload and
//! shutdown: `grpc_lifecycle.rs`.)

mod common;

use common::BinaryServer;
use common::grpc::{assert_same, channel, failure, for_model, nlp, same_answer, to_json};
use futures::StreamExt;
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::info::info_service_client::InfoServiceClient;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;
use taskgate_gateway::grpc::pb::caikit_data_model::common::runtime as info;
use tonic::Code;

fn pii_only(test: &str) -> BinaryServer {
    serve(
        test,
        json!([{"id": "pii-rules", "module": "pii-rules"}]),
        json!({}),
    )
}

fn serve(test: &str, models: Value, extra: Value) -> BinaryServer {
    common::serve_models(&format!("grpc-{test}"), models, extra)
}

#[tokio::test]
async fn every_task_answers_the_same_over_grpc_and_rest() {
    let test = "every_task_answers_the_same_over_grpc_and_rest";
    let Some(models) = common::every_task_models(test) else {
        return;
    };
    let server = serve(test, models, json!({}));
    let mut client = nlp(&server).await;
    let prompt = common::chatml("Name three colours.");

    // Greedy, with every token detail.
    let (rest, _) = same_answer!(server, client, "smollm2",
        text_generation_task_predict(rpc::TextGenerationTaskRequest {
            text: prompt.clone(),
            max_new_tokens: Some(8),
            generated_tokens: Some(true),
            token_logprobs: Some(true),
            token_ranks: Some(true),
            input_tokens: Some(true),
            ..Default::default()
        }) as "caikit_data_model.nlp.GeneratedTextResult",
        "text-generation" {"inputs": prompt, "parameters": {"max_new_tokens": 8,
            "generated_tokens": true, "token_logprobs": true, "token_ranks": true,
            "input_tokens": true}});
    assert_eq!(rest["tokens"].as_array().unwrap().len(), 8);

    // Seeded sampling with a stop sequence.
    let (_, grpc) = same_answer!(server, client, "smollm2",
        text_generation_task_predict(rpc::TextGenerationTaskRequest {
            text: prompt.clone(),
            max_new_tokens: Some(12),
            decoding_method: Some("SAMPLING".into()),
            seed: Some(11),
            temperature: Some(0.7),
            top_k: Some(40),
            top_p: Some(0.9),
            stop_sequences: vec![".".into()],
            repetition_penalty: Some(1.1),
            ..Default::default()
        }) as "caikit_data_model.nlp.GeneratedTextResult",
        "text-generation" {"inputs": prompt, "parameters": {"max_new_tokens": 12,
            "decoding_method": "SAMPLING", "seed": 11, "temperature": 0.7, "top_k": 40,
            "top_p": 0.9, "stop_sequences": ["."], "repetition_penalty": 1.1}});
    assert_eq!(grpc.seed, 11);

    // Streaming: the same events in the same order.
    let rest_events = server
        .stream(json!({"model_id": "smollm2", "inputs": prompt,
            "parameters": {"max_new_tokens": 6, "generated_tokens": true}}))
        .await;
    let grpc_events: Vec<Value> = client
        .server_streaming_text_generation_task_predict(for_model(
            "smollm2",
            rpc::ServerStreamingTextGenerationTaskRequest {
                text: prompt.clone(),
                max_new_tokens: Some(6),
                generated_tokens: Some(true),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .map(|event| {
            to_json(
                &event.unwrap(),
                "caikit_data_model.nlp.GeneratedTextStreamResult",
            )
        })
        .collect()
        .await;
    assert_eq!(rest_events.len(), 8, "{rest_events:?}");
    assert_same(
        &json!(rest_events),
        &json!(grpc_events),
        "server-streaming text generation",
    );

    let (rest, _) = same_answer!(server, client, "sentiment",
        text_classification_task_predict(rpc::TextClassificationTaskRequest {
            text: "I love this product!".into(),
            truncate_input_tokens: Some(4),
        }) as "caikit_data_model.nlp.ClassificationResults",
        "text-classification" {"inputs": "I love this product!",
            "parameters": {"truncate_input_tokens": 4}});
    assert_eq!(rest["results"].as_array().unwrap().len(), 3);

    let text = "Mail ana@example.com or call +1 415 555 0100";
    let (rest, _) = same_answer!(server, client, "pii-rules",
        token_classification_task_predict(rpc::TokenClassificationTaskRequest {
            text: text.into(),
            threshold: Some(0.5),
        }) as "caikit_data_model.nlp.TokenClassificationResults",
        "token-classification" {"inputs": text, "parameters": {"threshold": 0.5}});
    assert_eq!(rest["results"].as_array().unwrap().len(), 2);

    let text = "Hello world, taskgate! Ünïcode too.";
    for model in ["all-minilm", "smollm2"] {
        let (rest, _) = same_answer!(server, client, model,
            tokenization_task_predict(rpc::TokenizationTaskRequest { text: text.into() })
                as "caikit_data_model.nlp.TokenizationResults",
            "tokenization" {"inputs": text});
        assert!(rest["token_count"].as_u64().unwrap() > 5);
    }

    let (rest, _) = same_answer!(server, client, "all-minilm",
        embedding_task_predict(rpc::EmbeddingTaskRequest {
            text: "A man is playing a guitar.".into(),
            truncate_input_tokens: Some(-1),
        }) as "caikit_data_model.caikit_nlp.EmbeddingResult",
        "embedding" {"inputs": "A man is playing a guitar.",
            "parameters": {"truncate_input_tokens": -1}});
    assert_eq!(
        rest["result"]["data"]["values"].as_array().unwrap().len(),
        384
    );

    let texts = ["first text", "a second, longer text"];
    same_answer!(server, client, "all-minilm",
        embedding_tasks_predict(rpc::EmbeddingTasksRequest {
            texts: texts.map(String::from).to_vec(),
            truncate_input_tokens: None,
        }) as "caikit_data_model.caikit_nlp.EmbeddingResults",
        "embedding-tasks" {"inputs": texts});

    let sentences = [
        "Someone is playing an acoustic guitar.",
        "The stock market fell today.",
    ];
    same_answer!(server, client, "all-minilm",
        sentence_similarity_task_predict(rpc::SentenceSimilarityTaskRequest {
            source_sentence: "A man is playing a guitar.".into(),
            sentences: sentences.map(String::from).to_vec(),
            truncate_input_tokens: None,
        }) as "caikit_data_model.caikit_nlp.SentenceSimilarityResult",
        "sentence-similarity" {"inputs": {"source_sentence": "A man is playing a guitar.",
            "sentences": sentences}});

    let sources = ["A man is playing a guitar.", "Markets crashed."];
    same_answer!(server, client, "all-minilm",
        sentence_similarity_tasks_predict(rpc::SentenceSimilarityTasksRequest {
            source_sentences: sources.map(String::from).to_vec(),
            sentences: sentences.map(String::from).to_vec(),
            truncate_input_tokens: None,
        }) as "caikit_data_model.caikit_nlp.SentenceSimilarityResults",
        "sentence-similarity-tasks" {"inputs": {"source_sentences": sources,
            "sentences": sentences}});

    let documents = json!([
        {"text": "Paris is the capital of France.", "id": 7, "tags": ["geo", true]},
        {"text": "Berlin is in Germany.", "id": 8.5},
        {"text": "Bananas are yellow.", "source": {"kind": "fruit"}},
    ]);
    let structs: Vec<prost_types::Struct> = documents
        .as_array()
        .unwrap()
        .iter()
        .map(|d| taskgate_gateway::grpc::convert::json_to_struct(d.as_object().unwrap().clone()))
        .collect();
    let (rest, _) = same_answer!(server, client, "all-minilm",
        rerank_task_predict(rpc::RerankTaskRequest {
            query: "capital of France".into(),
            documents: structs.clone(),
            top_n: Some(2),
            ..Default::default()
        }) as "caikit_data_model.caikit_nlp.RerankResult",
        "rerank" {"inputs": {"query": "capital of France", "documents": documents},
            "parameters": {"top_n": 2}});
    assert_eq!(rest["result"]["scores"][0]["document"]["id"], 7);

    same_answer!(server, client, "all-minilm",
        rerank_tasks_predict(rpc::RerankTasksRequest {
            queries: vec!["capital of France".into(), "fruit".into()],
            documents: structs,
            return_documents: Some(false),
            ..Default::default()
        }) as "caikit_data_model.caikit_nlp.RerankResults",
        "rerank-tasks" {"inputs": {"queries": ["capital of France", "fruit"],
            "documents": documents}, "parameters": {"return_documents": false}});
}

#[tokio::test]
async fn grpc_errors_carry_the_rest_texts_and_codes() {
    let server = pii_only("errors");
    let mut client = nlp(&server).await;
    let request = |threshold| rpc::TokenClassificationTaskRequest {
        text: "Mail ana@example.com".into(),
        threshold,
    };

    let status = failure(
        client
            .token_classification_task_predict(tonic::Request::new(request(None)))
            .await,
    );
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Missing required model ID");

    let status = failure(
        client
            .token_classification_task_predict(for_model("nope", request(None)))
            .await,
    );
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "Model 'nope' not loaded");
    assert!(status.metadata().get("x-request-id").is_some());

    // A bound violated: the same text as REST's `details`, and the field in x-field-errors.
    let status = failure(
        client
            .token_classification_task_predict(for_model("pii-rules", request(Some(1.5))))
            .await,
    );
    let (code, body) = server
        .call(
            "token-classification",
            json!({"model_id": "pii-rules",
        "inputs": "Mail ana@example.com", "parameters": {"threshold": 1.5}}),
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), body["details"].as_str().unwrap());
    let fields = status
        .metadata()
        .get("x-field-errors")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(fields.contains("/parameters/threshold"), "{fields}");

    // JSON cannot say NaN; gRPC can, and it is refused rather than taken as unset.
    let status = failure(
        client
            .token_classification_task_predict(for_model("pii-rules", request(Some(f64::NAN))))
            .await,
    );
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("/parameters/threshold"),
        "{}",
        status.message()
    );

    // A task the model does not serve.
    let status = failure(
        client
            .embedding_task_predict(for_model(
                "pii-rules",
                rpc::EmbeddingTaskRequest {
                    text: "x".into(),
                    truncate_input_tokens: None,
                },
            ))
            .await,
    );
    let (code, body) = server
        .call("embedding", json!({"model_id": "pii-rules", "inputs": "x"}))
        .await;
    assert_eq!(code, 400);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), body["details"].as_str().unwrap());

    let mut bad_timeout = for_model("pii-rules", request(None));
    bad_timeout
        .metadata_mut()
        .insert("grpc-timeout", "soon".parse().unwrap());
    let status = failure(client.token_classification_task_predict(bad_timeout).await);
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Invalid grpc-timeout metadata 'soon'");

    // The server still answers a good call after all of that.
    let ok = client
        .token_classification_task_predict(for_model("pii-rules", request(None)))
        .await
        .unwrap();
    assert_eq!(ok.get_ref().results.len(), 1);
}

#[tokio::test]
async fn messages_over_the_size_limit_are_refused() {
    let dir = common::temp_dir("grpc-limits");
    let path = dir.join("taskgate.yaml");
    std::fs::write(
        &path,
        "models_dir: none\ngrpc:\n  max_message_bytes: 2048\nmodels:\n  - {id: pii-rules, module: pii-rules}\n",
    )
    .unwrap();
    let server = BinaryServer::start(&["--config", path.to_str().unwrap()], &[]);
    let mut client = nlp(&server).await;
    let status = failure(
        client
            .token_classification_task_predict(for_model(
                "pii-rules",
                rpc::TokenClassificationTaskRequest {
                    text: "a".repeat(4096),
                    threshold: None,
                },
            ))
            .await,
    );
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("too large"),
        "{}",
        status.message()
    );
    let small = client
        .token_classification_task_predict(for_model(
            "pii-rules",
            rpc::TokenClassificationTaskRequest {
                text: "call +1 415 555 0100".into(),
                threshold: None,
            },
        ))
        .await
        .unwrap();
    assert_eq!(small.get_ref().results.len(), 1);
}

#[tokio::test]
async fn health_reflection_and_info_describe_the_server() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha;

    let server = pii_only("health");
    let channel = channel(&server).await;

    let mut health = HealthClient::new(channel.clone());
    for service in [
        "",
        "caikit.runtime.Nlp.NlpService",
        "caikit.runtime.info.InfoService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            ServingStatus::Serving as i32,
            "health of '{service}'"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut reflection = ServerReflectionClient::new(channel.clone());
    let ask = |message| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    };
    let mut answers = reflection
        .server_reflection_info(futures::stream::iter(vec![
            ask(MessageRequest::ListServices(String::new())),
            ask(MessageRequest::FileContainingSymbol(
                "caikit.runtime.Nlp.NlpService".into(),
            )),
        ]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("the first answer lists services");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "caikit.runtime.Nlp.NlpService",
        "caikit.runtime.info.InfoService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("the second answer holds descriptors");
    };
    let service_file = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            <prost_types::FileDescriptorProto as prost::Message>::decode(bytes.as_slice()).unwrap()
        })
        .find(|file| file.package() == "caikit.runtime.Nlp")
        .expect("the service's own file");
    assert_eq!(service_file.service[0].method.len(), 11);

    // The older reflection API, which Caikit's own server and many clients use.
    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let mut answers = alpha
        .server_reflection_info(futures::stream::iter(vec![
            v1alpha::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(
                    v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
                ),
            },
        ]))
        .await
        .unwrap()
        .into_inner();
    let answer = format!("{:?}", answers.next().await.unwrap().unwrap());
    assert!(answer.contains("caikit.runtime.Nlp.NlpService"), "{answer}");

    let mut info_client = InfoServiceClient::new(channel);
    let runtime = info_client
        .get_runtime_info(info::RuntimeInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    let version = server.get_json("/info/version").await;
    assert_eq!(runtime.runtime_version, version["runtime_version"]);
    assert_eq!(json!(runtime.tasks), version["tasks"]);
    let models = info_client
        .get_models_info(info::ModelInfoRequest { model_ids: vec![] })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(models.models.len(), 1);
    let model = &models.models[0];
    assert_eq!(
        (model.name.as_str(), model.module_id.as_str()),
        ("pii-rules", "pii-rules")
    );
    assert!(model.loaded);
    assert_eq!(model.tasks, vec!["token-classification"]);
    let status = info_client
        .get_models_info(info::ModelInfoRequest {
            model_ids: vec!["nope".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "Model 'nope' not loaded");
}
