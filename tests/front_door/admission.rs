//! Admission before the body is read: the gateway-wide cap on calls in flight (REST and gRPC
//! share it), gRPC callers authenticated before their message is decoded, and bodies whose
//! parsed size would dwarf their text.

use std::time::Duration;

use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::{self, BinaryServer};
use crate::{ADMIN, keys, pii};

fn token_request(text: String) -> tonic::Request<TokenClassificationTaskRequest> {
    let mut request = tonic::Request::new(TokenClassificationTaskRequest {
        text,
        threshold: None,
    });
    request
        .metadata_mut()
        .insert("mm-model-id", "pii-rules".parse().unwrap());
    request
}

async fn classify(server: &BinaryServer) -> reqwest::Response {
    common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .json(&json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"}))
        .send()
        .await
        .unwrap()
}

/// A call whose head has arrived and whose body never finishes: it holds a slot from the
/// moment its head is read.
async fn unfinished_call(server: &BinaryServer) -> TcpStream {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/task/token-classification HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"model_id\": ",
        )
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn calls_beyond_the_gateway_cap_are_refused_before_their_bodies_are_read() {
    let server = common::serve_models(
        "in-flight-cap",
        pii(),
        json!({"server": {"max_in_flight_calls": 1}}),
    );
    let held = unfinished_call(&server).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let refused = classify(&server).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    let details = body["details"].as_str().unwrap().to_string();
    assert_eq!(
        details,
        "the gateway is overloaded: 1 requests already in flight, retry later"
    );

    // gRPC calls take the same slots, and are refused with the same words.
    let mut nlp = common::grpc::nlp(&server).await;
    let status = nlp
        .token_classification_task_predict(token_request("x".into()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert_eq!(status.message(), details);

    // Health is not a call: it answers while every slot is taken.
    let health = common::client()
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(classify(&server).await.status(), 200);
}

#[tokio::test]
async fn a_grpc_caller_is_refused_before_its_message_is_decoded() {
    let server = common::serve_models("grpc-auth-first", pii(), json!({"auth": keys()}));
    let channel = common::grpc::channel(&server).await;
    let mut nlp = NlpServiceClient::new(channel).max_encoding_message_size(64 << 20);
    // Past the server's message limit: decoding it first would answer OUT_OF_RANGE.
    let oversized = "a".repeat(8 << 20);
    let status = nlp
        .token_classification_task_predict(token_request(oversized.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");

    // With a key the same message is read, and refused for its size.
    let mut request = token_request(oversized);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    let status = nlp
        .token_classification_task_predict(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("message length too large"),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_body_of_too_many_values_is_refused_whatever_its_size() {
    let server = common::serve_models(
        "json-values",
        pii(),
        json!({"server": {"max_json_values": 1000}}),
    );
    // 2,001 values in 4 KB of text: within the body limit, over the value limit.
    let zeros = vec![0; 2000];
    let response = common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .json(&json!({"model_id": "pii-rules", "inputs": "x", "parameters": {"threshold": zeros}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["details"],
        "Request body holds more than the limit of 1000 JSON values (object keys count)"
    );
    assert_eq!(body["code"], 413);
    // A body within both limits is read as before.
    assert_eq!(classify(&server).await.status(), 200);
}
