//! The life of gRPC calls on the real binary: a deadline that passes cancels the work and
//! answers DEADLINE_EXCEEDED, a client that leaves cancels its generation, a model at its limit
//! answers RESOURCE_EXHAUSTED, and shutdown turns health NOT_SERVING and ends within its grace.

mod common;

use std::time::{Duration, Instant};

use common::BinaryServer;
use common::grpc::{channel, failure, for_model, nlp};
use futures::StreamExt;
use serde_json::json;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp as rpc;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;
use tonic::Code;

/// smollm2's live counter `name` from `/info/models`.
async fn counter(server: &BinaryServer, name: &str) -> u64 {
    let metadata = server.first_model_metadata().await;
    metadata[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}: {metadata}"))
}

/// Polls until smollm2 has cancelled `at_least` sequences.
async fn wait_for_cancellations(server: &BinaryServer, at_least: u64) {
    let start = Instant::now();
    while counter(server, "cancelled_sequences").await < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "generation was not cancelled within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn long_generation() -> rpc::ServerStreamingTextGenerationTaskRequest {
    rpc::ServerStreamingTextGenerationTaskRequest {
        text: common::chatml("Write a long story about a lighthouse keeper."),
        max_new_tokens: Some(400),
        min_new_tokens: Some(400),
        ..Default::default()
    }
}

#[tokio::test]
async fn deadlines_cancellation_and_overload_stop_or_refuse_generation() {
    let test = "deadlines_cancellation_and_overload_stop_or_refuse_generation";
    let Some(gguf) = common::smollm2_gguf(test) else {
        return;
    };
    let server = common::serve_models(
        &format!("grpc-{test}"),
        json!([{"id": "smollm2", "module": "text-generation", "config": {"path": gguf},
                "max_concurrent_requests": 1}]),
        json!({}),
    );
    let mut client = nlp(&server).await;

    // Unary past its deadline: DEADLINE_EXCEEDED, and the sequence is cancelled.
    let long = long_generation();
    let mut request = for_model(
        "smollm2",
        rpc::TextGenerationTaskRequest {
            text: long.text.clone(),
            max_new_tokens: long.max_new_tokens,
            min_new_tokens: long.min_new_tokens,
            ..Default::default()
        },
    );
    // Sent through a client without its own deadline timer, so the status is the server's.
    request
        .metadata_mut()
        .insert("grpc-timeout", "400m".parse().unwrap());
    let mut uncapped = NlpServiceClient::with_origin(
        common::grpc::uncapped(),
        server.grpc.clone().unwrap().parse().unwrap(),
    );
    let started = Instant::now();
    let status = failure(uncapped.text_generation_task_predict(request).await);
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    wait_for_cancellations(&server, 1).await;

    // Streaming past its deadline: some tokens, then DEADLINE_EXCEEDED ends the stream.
    let mut request = for_model("smollm2", long_generation());
    request
        .metadata_mut()
        .insert("grpc-timeout", "1500m".parse().unwrap());
    let events = client
        .server_streaming_text_generation_task_predict(request)
        .await
        .unwrap()
        .into_inner();
    let (received, ending) = common::grpc::messages_then_error(events).await;
    assert_eq!(ending.code(), Code::DeadlineExceeded, "{ending:?}");
    assert!(received >= 2, "only {received} events before the deadline");
    wait_for_cancellations(&server, 2).await;

    // A client that walks away mid-stream cancels the generation; while the stream is open the
    // model's only slot is taken, so another call is refused with RESOURCE_EXHAUSTED.
    let mut events = client
        .server_streaming_text_generation_task_predict(for_model("smollm2", long_generation()))
        .await
        .unwrap()
        .into_inner();
    events.next().await.unwrap().unwrap();
    events.next().await.unwrap().unwrap();
    let mut other = nlp(&server).await;
    let status = failure(
        other
            .tokenization_task_predict(for_model(
                "smollm2",
                rpc::TokenizationTaskRequest { text: "hi".into() },
            ))
            .await,
    );
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    drop(events);
    wait_for_cancellations(&server, 3).await;
    let start = Instant::now();
    loop {
        let result = other
            .tokenization_task_predict(for_model(
                "smollm2",
                rpc::TokenizationTaskRequest { text: "hi".into() },
            ))
            .await;
        match result {
            Ok(answer) => {
                assert!(answer.get_ref().token_count >= 1);
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "the slot was never freed"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    assert_eq!(counter(&server, "active_sequences").await, 0);

    // A unary caller that gives up (drops the call) cancels its generation too.
    let call = other.text_generation_task_predict(for_model(
        "smollm2",
        rpc::TextGenerationTaskRequest {
            text: long.text.clone(),
            max_new_tokens: long.max_new_tokens,
            min_new_tokens: long.min_new_tokens,
            ..Default::default()
        },
    ));
    let gave_up = tokio::time::timeout(Duration::from_millis(500), call).await;
    assert!(gave_up.is_err(), "400 tokens took under 0.5 s");
    wait_for_cancellations(&server, 4).await;
}

#[tokio::test]
async fn shutdown_reports_not_serving_and_ends_within_the_grace_period() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let server = common::serve_models(
        "grpc-shutdown",
        json!([{"id": "pii-rules", "module": "pii-rules"}]),
        json!({"shutdown_grace_seconds": 1}),
    );
    let mut health = HealthClient::new(channel(&server).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "caikit.runtime.Nlp.NlpService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    // The open Watch stream never ends by itself; the grace period ends the process anyway.
    let started = Instant::now();
    let exit = tokio::task::spawn_blocking(move || server.terminate());
    let next = watch.next().await.unwrap().unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    let status = exit.await.unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
