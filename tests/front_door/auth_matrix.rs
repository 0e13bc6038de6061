//! Every route and RPC × {no key, unknown key, key without the scope, scoped key, admin}.

use reqwest::Method;
use serde_json::{Value, json};
use taskgate_gateway::grpc::pb::caikit::runtime::info::info_service_client::InfoServiceClient;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::nlp_service_client::NlpServiceClient;
use taskgate_gateway::grpc::pb::caikit::runtime::training::training_management_client::TrainingManagementClient;
use taskgate_gateway::grpc::pb::caikit_data_model::common::runtime::ModelInfoRequest;
use taskgate_gateway::grpc::pb::caikit_data_model::runtime::TrainingInfoRequest;
use tonic::Code;

use crate::common::{self, BinaryServer};
use crate::{ADMIN, APP, BARE, keys, pii};

/// Who calls: no key, a key nobody configured, and the three configured keys.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Nobody,
    Unknown,
    Bare,
    App,
    Admin,
}

const EVERYONE: [Who; 5] = [Who::Nobody, Who::Unknown, Who::Bare, Who::App, Who::Admin];

impl Who {
    fn key(self) -> Option<&'static str> {
        match self {
            Who::Nobody => None,
            Who::Unknown => Some("not-a-configured-key"),
            Who::Bare => Some(BARE),
            Who::App => Some(APP),
            Who::Admin => Some(ADMIN),
        }
    }
}

fn server(test: &str) -> BinaryServer {
    let dir = common::temp_dir(test);
    common::serve_models(
        test,
        pii(),
        json!({"auth": keys(), "training": {"output_dir": dir.join("jobs")}}),
    )
}

/// One REST call as `who` (the key as a bearer token, or as `x-api-key` for the app key):
/// status, `WWW-Authenticate`, body.
async fn rest(
    server: &BinaryServer,
    who: Who,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let mut request = common::client().request(method, server.url(path));
    request = match (who, who.key()) {
        (Who::App, Some(key)) => request.header("x-api-key", key),
        (_, Some(key)) => request.bearer_auth(key),
        (_, None) => request,
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, challenge, body)
}

fn expect(who: Who, scoped: u16) -> u16 {
    match who {
        Who::Nobody | Who::Unknown => 401,
        Who::Bare => 403,
        Who::App => scoped,
        Who::Admin => 200,
    }
}

#[tokio::test]
async fn every_rest_route_answers_by_key_and_scope() {
    let server = server("auth-matrix-rest");
    let pii_call = json!({"model_id": "pii-rules", "inputs": "mail ana@example.com"});
    let generation = json!({"model_id": "pii-rules", "inputs": "hi"});
    let train = json!({"model_name": "mine", "parameters": {"base_model": "pii-rules",
        "train_stream": {"data_stream": {"data": [{"text": "a", "labels": ["x"]}]}}}});
    // (method, path, body, what the app key gets, what admin gets)
    let cases: Vec<(Method, &str, Option<Value>, u16, u16)> = vec![
        (
            Method::POST,
            "/api/v1/task/token-classification",
            Some(pii_call),
            200,
            200,
        ),
        // The app key lacks the task; admin reaches the model, which does not serve it.
        (
            Method::POST,
            "/api/v1/task/text-generation",
            Some(generation),
            403,
            400,
        ),
        (Method::GET, "/info/models", None, 200, 200),
        (Method::GET, "/management/trainings", None, 200, 200),
        (
            Method::GET,
            "/management/trainings?training_id=nope",
            None,
            404,
            404,
        ),
        (
            Method::GET,
            "/management/trainings/events?training_id=nope",
            None,
            404,
            404,
        ),
        (
            Method::DELETE,
            "/management/trainings?training_id=nope",
            None,
            403,
            404,
        ),
        (
            Method::DELETE,
            "/management/trainings/model?training_id=nope",
            None,
            403,
            404,
        ),
        (
            Method::POST,
            "/api/v1/TextClassificationTaskClassifierTrain",
            Some(train),
            403,
            400,
        ),
        // The OpenAI routes: the same keys and scopes, OpenAI's error shape.
        (
            Method::POST,
            "/v1/chat/completions",
            Some(json!({"model": "pii-rules", "messages": [{"role": "user", "content": "hi"}]})),
            403,
            400,
        ),
        (
            Method::POST,
            "/v1/embeddings",
            Some(json!({"model": "pii-rules", "input": "hi"})),
            403,
            400,
        ),
        (Method::GET, "/v1/models", None, 200, 200),
        (Method::GET, "/v1/models/pii-rules", None, 200, 200),
    ];
    for (method, path, body, app, admin) in cases {
        for who in EVERYONE {
            let (status, challenge, answer) =
                rest(&server, who, method.clone(), path, body.clone()).await;
            let listing = path == "/info/models" || path == "/v1/models";
            let wanted = match who {
                Who::Admin => admin,
                // Listing needs a known key, not a scope: a bare key sees no model.
                Who::Bare if listing => 200,
                // A model the key may not use is one it cannot see.
                Who::Bare if path == "/v1/models/pii-rules" => 404,
                other => expect(other, app),
            };
            assert_eq!(status, wanted, "{method} {path} as {who:?}: {answer}");
            if who == Who::Bare && path == "/info/models" {
                assert_eq!(answer["models"], json!([]));
            }
            if who == Who::Bare && path == "/v1/models" {
                assert_eq!(answer["data"], json!([]));
            }
            let openai = path.starts_with("/v1/");
            match status {
                401 => {
                    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"taskgate\""));
                    if openai {
                        assert_eq!(answer["error"]["type"], "authentication_error", "{answer}");
                    } else {
                        assert_eq!(answer["code"], 401, "{answer}");
                    }
                }
                403 => {
                    let details = if openai {
                        answer["error"]["message"].as_str().unwrap()
                    } else {
                        answer["details"].as_str().unwrap()
                    };
                    assert!(details.contains("lacks the scope"), "{details}");
                }
                _ => {}
            }
        }
    }
    // Health and version stay open.
    for path in ["/health", "/info/version"] {
        for who in EVERYONE {
            let (status, _, _) = rest(&server, who, Method::GET, path, None).await;
            assert_eq!(status, 200, "{path} as {who:?}");
        }
    }
}

#[tokio::test]
async fn refusals_name_the_missing_scope_and_the_key() {
    let server = server("auth-refusals");
    let (status, _, answer) = rest(
        &server,
        Who::App,
        Method::POST,
        "/api/v1/task/text-generation",
        Some(json!({"model_id": "pii-rules", "inputs": 5})),
    )
    .await;
    // Refused for the scope before the schema is consulted.
    assert_eq!(status, 403);
    assert_eq!(
        answer["details"],
        "API key 'app' lacks the scope 'task:text-generation'"
    );
    let (status, _, answer) = rest(&server, Who::Unknown, Method::GET, "/info/models", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        answer["details"],
        "Unauthenticated: the API key is not recognized"
    );
    let response = common::client()
        .get(server.url("/info/models"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn model_listings_show_paths_and_endpoints_to_admins_only() {
    let dir = common::temp_dir("auth-listing");
    let tei = json!({"id": "remote-embed",
        "backend": {"kind": "tei", "endpoint": "http://127.0.0.1:9", "task": "embeddings"}});
    let server = common::serve_models(
        "auth-listing",
        json!([{"id": "pii-rules", "module": "pii-rules"}, tei]),
        json!({"auth": keys(), "training": {"output_dir": dir.join("jobs")}}),
    );
    let (_, _, admin) = rest(&server, Who::Admin, Method::GET, "/info/models", None).await;
    let (_, _, app) = rest(&server, Who::App, Method::GET, "/info/models", None).await;
    let names = |listing: &Value| -> Vec<String> {
        listing["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&admin), ["pii-rules", "remote-embed"]);
    assert_eq!(names(&app), ["pii-rules"]);
    // Admins see every fact of a remote model; a scoped key only health, never the endpoint,
    // its failures or paths.
    let remote = &admin["models"][1]["metadata"];
    assert!(remote.get("consecutive_failures").is_some(), "{remote}");
    let admin = rest(
        &server,
        Who::Admin,
        Method::GET,
        "/info/models?model_ids=remote-embed",
        None,
    )
    .await;
    assert_eq!(admin.0, 200);
    for model in app["models"].as_array().unwrap() {
        assert!(
            model.get("model_path").is_none_or(Value::is_null),
            "{model}"
        );
        for key in model["metadata"].as_object().unwrap().keys() {
            assert!(
                ["healthy", "circuit", "state"].contains(&key.as_str()),
                "{model}"
            );
        }
    }
    // A model beyond the key's globs is not found, whether it exists or not.
    let (status, _, _) = rest(
        &server,
        Who::App,
        Method::GET,
        "/info/models?model_ids=remote-embed",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

fn with_key<T>(message: T, key: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {key}").parse().unwrap());
    }
    request
        .metadata_mut()
        .insert("mm-model-id", "pii-rules".parse().unwrap());
    request
}

fn code_of<T>(result: Result<tonic::Response<T>, tonic::Status>) -> (Code, String) {
    match result {
        Ok(_) => (Code::Ok, String::new()),
        Err(status) => (status.code(), status.message().to_string()),
    }
}

fn grpc_expect(who: Who, scoped: Code) -> Code {
    match who {
        Who::Nobody | Who::Unknown => Code::Unauthenticated,
        Who::Bare => Code::PermissionDenied,
        Who::App => scoped,
        Who::Admin => Code::Ok,
    }
}

#[tokio::test]
async fn every_rpc_answers_by_key_and_scope() {
    let server = server("auth-matrix-grpc");
    let channel = common::grpc::channel(&server).await;
    for who in EVERYONE {
        let mut nlp = NlpServiceClient::new(channel.clone());
        let call = TokenClassificationTaskRequest {
            text: "mail ana@example.com".into(),
            threshold: None,
        };
        let (code, message) = code_of(
            nlp.token_classification_task_predict(with_key(call, who.key()))
                .await,
        );
        assert_eq!(
            code,
            grpc_expect(who, Code::Ok),
            "predict as {who:?}: {message}"
        );
        if who == Who::Bare {
            assert_eq!(
                message,
                "API key 'bare' lacks the scope 'task:token-classification'"
            );
        }

        let mut info = InfoServiceClient::new(channel.clone());
        let (code, message) = code_of(
            info.get_models_info(with_key(ModelInfoRequest::default(), who.key()))
                .await,
        );
        // Listing needs a known key, not a scope.
        let wanted = match who {
            Who::Nobody | Who::Unknown => Code::Unauthenticated,
            _ => Code::Ok,
        };
        assert_eq!(code, wanted, "models info as {who:?}: {message}");

        let mut jobs = TrainingManagementClient::new(channel.clone());
        let info = TrainingInfoRequest {
            training_id: "nope".into(),
        };
        let (code, message) = code_of(
            jobs.get_training_status(with_key(info.clone(), who.key()))
                .await,
        );
        let wanted = match who {
            Who::Admin => Code::NotFound,
            other => grpc_expect(other, Code::NotFound),
        };
        assert_eq!(code, wanted, "training status as {who:?}: {message}");
        let (code, message) = code_of(jobs.cancel_training(with_key(info, who.key())).await);
        let wanted = match who {
            Who::Admin => Code::NotFound,
            other => grpc_expect(other, Code::PermissionDenied),
        };
        assert_eq!(code, wanted, "cancel as {who:?}: {message}");
    }
}

#[tokio::test]
async fn a_network_address_without_keys_refuses_to_start() {
    let output = common::taskgate_command("insecure")
        .args([
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--grpc-port",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without API keys"), "{stderr}");
    assert!(stderr.contains("auth.disabled"), "{stderr}");
    // Saying so explicitly serves, and answers without keys.
    let server = BinaryServer::start_exact(
        &["--host", "0.0.0.0", "--port", "0", "--grpc-port", "0"],
        &[("TASKGATE_AUTH__DISABLED", "true")],
    );
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let (status, _, _) = common::post_json(
        &format!("http://127.0.0.1:{port}/api/v1/task/token-classification"),
        &json!({"model_id": "pii-rules", "inputs": "x"}),
    )
    .await;
    assert_eq!(status, 200);
}
