//! The `tgis` module against a TGIS stand-in served over real gRPC: parameters reach TGIS field
//! for field, results come back in the same shapes as in-process generation (REST and gRPC),
//! and remote failures become clear errors: rejected → 400, busy → 429, unreachable → 503,
//! too slow → 504, a stream stuck mid-way → `event: error`; a restarted remote serves again;
//! calls the remote never ran are retried, and a failing remote opens the circuit; request ids
//! and W3C trace context reach the remote.

mod common;

use common::BinaryServer;
use common::grpc::{assert_same, channel, for_model, to_json};
use common::tgis_fake::{FakeTgis, RunningFake};
use futures::StreamExt;
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;
use taskgate_runtime::remote::fmaas;

async fn serve(test: &str) -> (FakeTgis, RunningFake, BinaryServer) {
    serve_with(test, json!({})).await
}

/// A fake TGIS and taskgate serving it as `remote-llm`, with extra `backend` settings.
async fn serve_with(test: &str, settings: Value) -> (FakeTgis, RunningFake, BinaryServer) {
    let fake = FakeTgis::default();
    let running = fake.start(0).await;
    let mut backend = json!({"kind": "tgis", "endpoint": running.url, "model_name": "granite-3b",
        "request_timeout_ms": 1500, "stream_idle_timeout_ms": 1500});
    backend
        .as_object_mut()
        .unwrap()
        .extend(settings.as_object().cloned().unwrap_or_default());
    let server = common::serve_models(
        &format!("tgis-{test}"),
        json!([{"id": "remote-llm", "backend": backend}]),
        json!({}),
    );
    (fake, running, server)
}

fn body(inputs: &str, parameters: Value) -> Value {
    json!({"model_id": "remote-llm", "inputs": inputs, "parameters": parameters})
}

#[tokio::test]
async fn parameters_reach_tgis_and_results_come_back_in_caikit_shape() {
    let (fake, _running, server) = serve("parameters").await;
    let answer = server
        .call_ok(
            "text-generation",
            body(
                "one two three four",
                json!({"max_new_tokens": 3, "min_new_tokens": 1, "decoding_method": "SAMPLING",
                   "temperature": 0.5, "top_k": 7, "top_p": 0.75, "typical_p": 0.5, "seed": 99,
                   "repetition_penalty": 1.25, "max_time": 2.5, "stop_sequences": ["zz"],
                   "include_stop_sequence": false, "truncate_input_tokens": 10,
                   "exponential_decay_length_penalty": {"start_index": 2, "decay_factor": 1.5},
                   "generated_tokens": true, "token_logprobs": true, "token_ranks": true,
                   "input_tokens": true}),
            ),
        )
        .await;
    let (model_id, params) = fake.last();
    assert_eq!(model_id, "granite-3b");
    assert_eq!(params.method, fmaas::DecodingMethod::Sample as i32);
    let sampling = params.sampling.unwrap();
    assert_eq!(
        (
            sampling.temperature,
            sampling.top_k,
            sampling.top_p,
            sampling.typical_p,
            sampling.seed
        ),
        (0.5, 7, 0.75, 0.5, Some(99))
    );
    let stopping = params.stopping.unwrap();
    assert_eq!(
        (
            stopping.max_new_tokens,
            stopping.min_new_tokens,
            stopping.time_limit_millis
        ),
        (3, 1, 2500)
    );
    assert_eq!(stopping.stop_sequences, vec!["zz"]);
    assert_eq!(stopping.include_stop_sequence, Some(false));
    let decoding = params.decoding.unwrap();
    assert_eq!(decoding.repetition_penalty, 1.25);
    let penalty = decoding.length_penalty.unwrap();
    assert_eq!((penalty.start_index, penalty.decay_factor), (2, 1.5));
    assert_eq!(params.truncate_input_tokens, 10);
    let response = params.response.unwrap();
    assert!(response.generated_tokens && response.token_logprobs && response.token_ranks);
    assert!(response.input_tokens && !response.input_text);

    assert_eq!(answer["generated_text"], " four three two");
    assert_eq!(answer["generated_tokens"], 3);
    assert_eq!(answer["finish_reason"], "MAX_TOKENS");
    assert_eq!(answer["input_token_count"], 4);
    assert_eq!(answer["seed"], 99);
    assert_eq!(
        answer["tokens"][2],
        json!({"text": "two", "logprob": -0.75, "rank": 3})
    );
    assert_eq!(answer["input_tokens"].as_array().unwrap().len(), 4);
    assert_eq!(answer["producer_id"]["name"], "tgis");

    // Greedy with defaults: no seed reported, no details, taskgate's defaults sent.
    let answer = server
        .call_ok("text-generation", body("a b", json!({})))
        .await;
    assert_eq!(answer["generated_text"], " b a");
    assert_eq!(answer["finish_reason"], "EOS_TOKEN");
    assert!(answer.get("seed").is_none(), "{answer}");
    assert_eq!(answer["tokens"], json!([]));
    let stopping = fake.last().1.stopping.unwrap();
    assert_eq!(
        (stopping.max_new_tokens, stopping.include_stop_sequence),
        (20, Some(true))
    );

    let preserved = server
        .call_ok(
            "text-generation",
            body("x y", json!({"preserve_input_text": true})),
        )
        .await;
    assert_eq!(preserved["generated_text"], "x y y x");
}

#[tokio::test]
async fn streams_have_the_in_process_shape_over_rest_and_grpc() {
    let (_fake, _running, server) = serve("streams").await;
    let parameters = json!({"max_new_tokens": 3, "generated_tokens": true});
    let events = server
        .stream(body("one two three four", parameters.clone()))
        .await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0]["details"]["input_token_count"], 4);
    assert_eq!(events[0]["details"]["finish_reason"], "NOT_FINISHED");
    assert!(events[1].get("details").is_none(), "{}", events[1]);
    assert_eq!(events[1]["tokens"][0]["text"], "four");
    assert_eq!(events[3]["details"]["finish_reason"], "MAX_TOKENS");
    assert_eq!(events[3]["details"]["generated_tokens"], 3);
    let text: String = events
        .iter()
        .map(|e| e["generated_text"].as_str().unwrap())
        .collect();
    let unary = server
        .call_ok("text-generation", body("one two three four", parameters))
        .await;
    assert_eq!(text, unary["generated_text"].as_str().unwrap());

    let mut client = NlpServiceClient::new(channel(&server).await);
    let grpc_events: Vec<Value> = client
        .server_streaming_text_generation_task_predict(for_model(
            "remote-llm",
            rpc::ServerStreamingTextGenerationTaskRequest {
                text: "one two three four".into(),
                max_new_tokens: Some(3),
                generated_tokens: Some(true),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .map(|e| {
            to_json(
                &e.unwrap(),
                "caikit_data_model.nlp.GeneratedTextStreamResult",
            )
        })
        .collect()
        .await;
    assert_same(&json!(events), &json!(grpc_events), "TGIS stream over gRPC");
}

#[tokio::test]
async fn tokenization_comes_from_tgis_with_code_point_offsets() {
    let (_fake, _running, server) = serve("tokenize").await;
    let answer = server
        .call_ok(
            "tokenization",
            json!({"model_id": "remote-llm", "inputs": "héllo  wörld"}),
        )
        .await;
    assert_eq!(answer["token_count"], 2);
    assert_eq!(
        answer["results"],
        json!([{"start": 0, "end": 5, "text": "héllo"}, {"start": 7, "end": 12, "text": "wörld"}])
    );
}

#[tokio::test]
async fn remote_failures_become_clear_errors_and_a_restarted_remote_serves_again() {
    let (fake, running, server) = serve("faults").await;

    let (status, error) = server
        .call("text-generation", body("REJECT", json!({})))
        .await;
    assert_eq!(status, 400, "{error}");
    let details = error["details"].as_str().unwrap();
    assert!(
        details.contains("the fake rejects this prompt"),
        "{details}"
    );
    assert!(
        details.contains(&running.url),
        "names the backend: {details}"
    );

    let (status, error) = server
        .call("text-generation", body("BUSY", json!({})))
        .await;
    assert_eq!(status, 429, "{error}");

    let (status, error) = server
        .call("text-generation", body("SLOW", json!({})))
        .await;
    assert_eq!(status, 504, "{error}");
    assert!(
        error["details"].as_str().unwrap().contains("1500 ms"),
        "{error}"
    );

    // Stuck mid-stream: the events so far, then an error event, then the end.
    let response = common::client()
        .post(server.url("/api/v1/task/server-streaming-text-generation"))
        .json(&body("HANG a b c", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("event: error"), "{text}");
    assert!(text.contains("\"code\":504"), "{text}");

    // The remote goes away: 503 naming it; it comes back on the same port: served again.
    let port = running.port;
    running.stop().await;
    let (status, error) = server.call("text-generation", body("a b", json!({}))).await;
    assert_eq!(status, 503, "{error}");
    assert!(
        error["details"].as_str().unwrap().contains("TGIS at"),
        "{error}"
    );
    let _again = fake.start(port).await;
    let answer = server
        .call_ok("text-generation", body("a b", json!({})))
        .await;
    assert_eq!(answer["generated_text"], " b a");

    // Over gRPC, a remote rejection is INVALID_ARGUMENT with the remote's message.
    let mut client = NlpServiceClient::new(channel(&server).await);
    let status = client
        .text_generation_task_predict(for_model(
            "remote-llm",
            rpc::TextGenerationTaskRequest {
                text: "REJECT".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("the fake rejects this prompt"));

    // Stuck mid-stream over gRPC: the events so far, then DEADLINE_EXCEEDED ends the stream.
    let events = client
        .server_streaming_text_generation_task_predict(for_model(
            "remote-llm",
            rpc::ServerStreamingTextGenerationTaskRequest {
                text: "HANG a b c".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let (received, ending) = common::grpc::messages_then_error(events).await;
    assert_eq!(received, 2);
    assert_eq!(ending.code(), tonic::Code::DeadlineExceeded, "{ending:?}");
}

#[tokio::test]
async fn unrun_calls_are_retried_and_a_failing_remote_opens_the_circuit() {
    let (fake, running, server) = serve_with(
        "circuit",
        json!({"retries": 1, "circuit_failures": 2, "circuit_cooldown_ms": 400}),
    )
    .await;

    // UNAVAILABLE before any work: retried once, and the caller never sees it.
    let before = fake.seen.lock().unwrap().len();
    let answer = server
        .call_ok("text-generation", body("FLAKY", json!({})))
        .await;
    assert_eq!(answer["generated_text"], " FLAKY");
    assert_eq!(fake.seen.lock().unwrap().len() - before, 2, "one retry");

    let port = running.port;
    running.stop().await;
    for _ in 0..2 {
        let (status, error) = server.call("text-generation", body("a", json!({}))).await;
        assert_eq!(status, 503, "{error}");
    }
    let metadata = server.first_model_metadata().await;
    assert_eq!(metadata["circuit"], "open", "{metadata}");
    let (status, error) = server.call("text-generation", body("a", json!({}))).await;
    assert_eq!(status, 503);
    assert!(
        error["details"].as_str().unwrap().contains("circuit open"),
        "{error}"
    );

    // Back after the cooldown: the probe succeeds and the circuit closes.
    let _again = fake.start(port).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(server.first_model_metadata().await["circuit"], "half-open");
    let answer = server
        .call_ok("text-generation", body("a b", json!({})))
        .await;
    assert_eq!(answer["generated_text"], " b a");
    let metadata = server.first_model_metadata().await;
    assert_eq!(metadata["circuit"], "closed", "{metadata}");
    assert_eq!(metadata["consecutive_failures"], 0);
}

#[tokio::test]
async fn request_ids_and_trace_context_reach_the_remote() {
    let (fake, _running, server) = serve("trace").await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = common::client()
        .post(server.url("/api/v1/task/text-generation"))
        .header("x-request-id", "req-42")
        .header("traceparent", traceparent)
        .json(&body("a b", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let last = fake.headers.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last, (Some("req-42".into()), Some(traceparent.into())));

    // A malformed traceparent is dropped, the call still runs; the request id is generated.
    let response = common::client()
        .post(server.url("/api/v1/task/tokenization"))
        .header("traceparent", "00-nonsense")
        .json(&json!({"model_id": "remote-llm", "inputs": "a b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let last = fake.headers.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last, (Some(generated), None));

    // Over gRPC, from metadata, for a stream too.
    let mut client = NlpServiceClient::new(channel(&server).await);
    let mut request = for_model(
        "remote-llm",
        rpc::ServerStreamingTextGenerationTaskRequest {
            text: "a b".into(),
            ..Default::default()
        },
    );
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    request
        .metadata_mut()
        .insert("x-request-id", "grpc-7".parse().unwrap());
    let events: Vec<_> = client
        .server_streaming_text_generation_task_predict(request)
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert!(events.iter().all(Result::is_ok));
    let last = fake.headers.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last, (Some("grpc-7".into()), Some(traceparent.into())));
}

#[tokio::test]
async fn x_route_info_picks_only_configured_endpoints() {
    let other = FakeTgis::default();
    let other_running = other.start(0).await;
    let (fake, _running, server) = serve_with(
        "route",
        json!({"route_overrides": [format!("{}/", other_running.url)]}),
    )
    .await;
    let routed = |route: &str| {
        common::client()
            .post(server.url("/api/v1/task/text-generation"))
            .header("x-route-info", route)
            .json(&body("a b", json!({})))
            .send()
    };

    let response = routed(&other_running.url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        other.seen.lock().unwrap().len(),
        1,
        "served by the listed endpoint"
    );
    assert_eq!(fake.seen.lock().unwrap().len(), 0);

    // Anything not listed is refused before any call goes out.
    let response = routed("http://169.254.169.254").await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error["additional_info"][0]["path"], "x-route-info",
        "{error}"
    );
    assert_eq!(other.seen.lock().unwrap().len(), 1);
    assert_eq!(fake.seen.lock().unwrap().len(), 0);

    // Without the header, the configured endpoint; over gRPC, from metadata.
    server
        .call_ok("text-generation", body("a b", json!({})))
        .await;
    assert_eq!(fake.seen.lock().unwrap().len(), 1);
    let mut client = NlpServiceClient::new(channel(&server).await);
    let mut request = for_model(
        "remote-llm",
        rpc::TokenizationTaskRequest { text: "a b".into() },
    );
    request
        .metadata_mut()
        .insert("x-route-info", "http://10.9.9.9:1".parse().unwrap());
    let status = client.tokenization_task_predict(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("not an endpoint"),
        "{}",
        status.message()
    );
}

/// The gRPC health status of `service`.
async fn health_of(server: &BinaryServer, service: &str) -> i32 {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let mut health = HealthClient::new(channel(server).await);
    let request = HealthCheckRequest {
        service: service.into(),
    };
    health.check(request).await.unwrap().into_inner().status
}

/// Waits until `/info/models` shows the remote's health as `healthy`.
async fn wait_for_health(server: &BinaryServer, healthy: bool) -> Value {
    for _ in 0..100 {
        let metadata = server.first_model_metadata().await;
        if metadata["healthy"] == healthy {
            return metadata;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the health check never reported healthy = {healthy}");
}

#[tokio::test]
async fn health_checks_show_in_info_and_grpc_health() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let fake = FakeTgis::default();
    let running = fake.start(0).await;
    let server = common::serve_models(
        "tgis-health",
        json!([{"id": "remote-llm", "backend": {"kind": "tgis", "endpoint": running.url,
            "request_timeout_ms": 500}}]),
        json!({"remote_health_check_ms": 100}),
    );
    let metadata = wait_for_health(&server, true).await;
    assert!(
        metadata["health_checked_at"].as_u64().unwrap() > 0,
        "{metadata}"
    );
    let serving = ServingStatus::Serving as i32;
    assert_eq!(health_of(&server, "model/remote-llm").await, serving);

    // Down: the model turns NOT_SERVING with the reason; the server as a whole serves on.
    let port = running.port;
    running.stop().await;
    let metadata = wait_for_health(&server, false).await;
    assert!(
        metadata["health_error"]
            .as_str()
            .unwrap()
            .contains("TGIS at"),
        "{metadata}"
    );
    assert_eq!(
        health_of(&server, "model/remote-llm").await,
        ServingStatus::NotServing as i32
    );
    assert_eq!(health_of(&server, "").await, serving);

    // Back on the same port: serving again, without a call having to go through first.
    let _again = fake.start(port).await;
    wait_for_health(&server, true).await;
    assert_eq!(health_of(&server, "model/remote-llm").await, serving);
}
