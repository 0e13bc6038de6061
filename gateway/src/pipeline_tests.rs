//! The pipeline's authorization step, seen from both wires: one key's scopes, the same refusal
//! over REST and gRPC, before the request is validated.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use prost::Message;
use serde_json::{Value, json};
use taskgate_modules::{ModelRegistry, ModelSpec, ModuleCatalog, ModuleSettings};
use tower::ServiceExt;

use crate::GatewayBuilder;
use crate::auth::api_keys::digest_hex;
use crate::auth::{ApiKeys, AuthConfig, KeyConfig, Scopes};
use crate::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;

const KEY: &str = "key-of-app";

/// One key, scoped to the model `open`.
fn keys() -> ApiKeys {
    let config = AuthConfig {
        disabled: false,
        keys: vec![KeyConfig {
            id: "app".into(),
            sha256: Some(digest_hex(KEY)),
            file: None,
            client_certificate: None,
            scopes: Scopes {
                tasks: vec!["*".into()],
                models: vec!["open".into()],
                ..Scopes::default()
            },
            limits: Default::default(),
        }],
    };
    ApiKeys::new(&config, std::path::Path::new(".")).unwrap()
}

fn gateway() -> GatewayBuilder {
    let registry = ModelRegistry::new();
    for id in ["open", "secret"] {
        let model = ModuleCatalog::standard()
            .build(&ModelSpec::new(
                id,
                ModuleSettings::PiiRules(Default::default()),
            ))
            .unwrap();
        registry.insert(model).unwrap();
    }
    GatewayBuilder::new(registry).authorizer(Arc::new(keys()))
}

async fn rest(body: Value) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/task/token-classification")
        .header("content-type", "application/json")
        .header("x-api-key", KEY)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = gateway().build().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A unary call's `grpc-status` and `grpc-message` (a refusal has no message body, so both are
/// headers).
async fn grpc(method: &str, model: &str, text: &str) -> (String, String) {
    let (_, api) = gateway().build_with_grpc(4 << 20).await;
    let message = TokenClassificationTaskRequest {
        text: text.into(),
        threshold: None,
    }
    .encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    let request = Request::post(format!("/caikit.runtime.Nlp.NlpService/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("mm-model-id", model)
        .header("authorization", format!("Bearer {KEY}"))
        .body(Body::from(framed))
        .unwrap();
    let response = api.router.oneshot(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    (header("grpc-status"), header("grpc-message"))
}

#[tokio::test]
async fn a_refusal_is_the_answer_on_rest_before_validation() {
    let (status, body) = rest(json!({"model_id": "open", "inputs": "mail ana@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        rest(json!({"model_id": "secret", "inputs": "mail ana@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["details"],
        "API key 'app' lacks the scope 'model:secret'"
    );
    // An invalid request to a forbidden model is refused, not described by the schema.
    let (status, body) = rest(json!({"model_id": "secret", "inputs": 5})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = rest(json!({"model_id": "open", "inputs": 5})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_refusal_is_the_same_on_grpc() {
    let method = "TokenClassificationTaskPredict";
    let (status, message) = grpc(method, "secret", "mail ana@example.com").await;
    assert_eq!(status, (tonic::Code::PermissionDenied as i32).to_string());
    assert_eq!(
        message,
        "API%20key%20'app'%20lacks%20the%20scope%20'model:secret'"
    );
    let (status, _) = grpc(method, "open", "mail ana@example.com").await;
    // A served call's status comes in the trailers, after the message.
    assert_eq!(status, "");
}

#[tokio::test]
async fn a_method_outside_the_task_list_is_unimplemented() {
    let (status, message) = grpc("TextSummarizationTaskPredict", "open", "x").await;
    assert_eq!(status, (tonic::Code::Unimplemented as i32).to_string());
    assert!(
        message.contains("TextSummarizationTaskPredict"),
        "{message}"
    );
}
