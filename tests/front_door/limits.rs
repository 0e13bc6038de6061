//! Per-key rate limits with the headers OpenAI clients read, request ids, content types and
//! CORS, over REST and gRPC.

use serde_json::{Value, json};
use taskgate_gateway::auth::api_keys::digest_hex;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;

use crate::common::{self, BinaryServer};
use crate::pii;

const METERED: &str = "metered-key-0123456789";
const TOKENS: &str = "tokens-key-0123456789";

fn server(test: &str, extra: Value) -> BinaryServer {
    let every = json!({"tasks": ["*"], "models": ["*"]});
    let mut config = json!({"auth": {"keys": [
        {"id": "metered", "sha256": digest_hex(METERED), "scopes": every,
            "limits": {"requests_per_second": 0.2, "burst": 2}},
        {"id": "tokens", "sha256": digest_hex(TOKENS), "scopes": every,
            "limits": {"tokens_per_minute": 10}},
    ]}});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    common::serve_models(test, pii(), config)
}

async fn call(server: &BinaryServer, key: &str, text: &str) -> reqwest::Response {
    common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .bearer_auth(key)
        .json(&json!({"model_id": "pii-rules", "inputs": text}))
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {name} header in {:?}", response.headers()))
}

#[tokio::test]
async fn a_key_over_its_request_rate_gets_429_with_when_to_retry() {
    let server = server("rate-requests", json!({}));
    let first = call(&server, METERED, "mail ana@example.com").await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit-requests"), "2");
    assert_eq!(header(&first, "x-ratelimit-remaining-requests"), "1");
    let second = call(&server, METERED, "x").await;
    assert_eq!(second.status(), 200);
    assert_eq!(header(&second, "x-ratelimit-remaining-requests"), "0");
    let refused = call(&server, METERED, "x").await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=5).contains(&retry), "retry-after {retry}");
    assert_eq!(header(&refused, "x-ratelimit-remaining-requests"), "0");
    assert!(header(&refused, "x-ratelimit-reset-requests").ends_with('s'));
    let body: Value = refused.json().await.unwrap();
    let details = body["details"].as_str().unwrap();
    assert!(
        details.starts_with("API key 'metered' reached its limit"),
        "{details}"
    );
    assert!(details.contains("requests per second"), "{details}");

    // The same bucket over gRPC: still empty, so RESOURCE_EXHAUSTED with the same headers.
    let mut nlp = NlpServiceClient::new(common::grpc::channel(&server).await);
    let mut request = tonic::Request::new(TokenClassificationTaskRequest {
        text: "x".into(),
        threshold: None,
    });
    let metadata = request.metadata_mut();
    metadata.insert("mm-model-id", "pii-rules".parse().unwrap());
    metadata.insert(
        "authorization",
        format!("Bearer {METERED}").parse().unwrap(),
    );
    let status = nlp
        .token_classification_task_predict(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.metadata().get("retry-after").is_some());
    assert!(
        status
            .metadata()
            .get("x-ratelimit-remaining-requests")
            .is_some()
    );
}

#[tokio::test]
async fn tokens_used_count_against_the_next_call() {
    let server = server("rate-tokens", json!({}));
    // About 25 tokens of input (the estimate for answers that count none) against 10 a minute.
    let first = call(&server, TOKENS, &"word ".repeat(20)).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit-tokens"), "10");
    assert_eq!(header(&first, "x-ratelimit-remaining-tokens"), "0");
    let refused = call(&server, TOKENS, "x").await;
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["details"]
            .as_str()
            .unwrap()
            .contains("tokens per minute"),
        "{body}"
    );
}

#[tokio::test]
async fn request_ids_are_short_and_safe_or_replaced() {
    let server = BinaryServer::start(&[], &[]);
    let send = |id: String| {
        let url = server.url("/api/v1/task/token-classification");
        async move {
            let response = common::client()
                .post(url)
                .header("x-request-id", id)
                .json(&json!({"model_id": "pii-rules", "inputs": "x"}))
                .send()
                .await
                .unwrap();
            header(&response, "x-request-id")
        }
    };
    assert_eq!(send("client-id-1".into()).await, "client-id-1");
    let long = "a".repeat(129);
    let replaced = send(long.clone()).await;
    assert_ne!(replaced, long);
    assert_eq!(replaced.len(), 36, "a fresh UUID: {replaced}");
    let forged = send("id INFO forged=line".into()).await;
    assert_eq!(forged.len(), 36, "{forged}");
}

#[tokio::test]
async fn only_json_is_json_so_forms_cannot_start_calls() {
    let server = BinaryServer::start(&[], &[]);
    let url = server.url("/api/v1/task/token-classification");
    let body = r#"{"model_id":"pii-rules","inputs":"mail ana@example.com"}"#;
    for (content_type, status) in [
        (Some("application/x-www-form-urlencoded"), 415),
        (Some("text/plain"), 415),
        (Some("multipart/form-data; boundary=x"), 415),
        (None, 415),
        (Some("application/json; charset=utf-8"), 200),
    ] {
        let mut request = common::client().post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{content_type:?}");
    }
}

#[tokio::test]
async fn cors_answers_preflights_for_listed_origins_only() {
    let server = server(
        "cors",
        json!({"http": {"cors": {"allowed_origins": ["https://app.example.com"], "max_age_seconds": 60}}}),
    );
    let preflight = |origin: &'static str| {
        common::client()
            .request(
                reqwest::Method::OPTIONS,
                server.url("/api/v1/task/token-classification"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        "https://app.example.com"
    );
    let methods = header(&allowed, "access-control-allow-methods");
    assert!(methods.contains("POST"), "{methods}");
    let headers = header(&allowed, "access-control-allow-headers").to_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // A real call from the allowed origin carries the header and exposes the ids.
    let response = common::client()
        .post(server.url("/api/v1/task/token-classification"))
        .header("origin", "https://app.example.com")
        .bearer_auth(METERED)
        .json(&json!({"model_id": "pii-rules", "inputs": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let exposed = header(&response, "access-control-expose-headers").to_lowercase();
    assert!(
        exposed.contains("x-ratelimit-remaining-requests"),
        "{exposed}"
    );
}
