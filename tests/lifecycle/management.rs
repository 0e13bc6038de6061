//! Deploying and undeploying models while serving: Caikit's form (the model's files) and
//! taskgate's (a config entry), over REST and gRPC, refused without the admin scope, for an
//! existing id and for paths outside `models_dir`; deployments survive a restart.

use base64::Engine;
use serde_json::{Value, json};
use taskgate_gateway::auth::api_keys::digest_hex;
use taskgate_gateway::grpc::pb::caikit::runtime::models::model_management_client::ModelManagementClient;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::TokenClassificationTaskRequest;
use taskgate_gateway::grpc::pb::caikit_data_model::common::File;
use taskgate_gateway::grpc::pb::caikit_data_model::runtime::{
    DeployModelRequest, UndeployModelRequest,
};

use crate::common::{self, BinaryServer};

const ADMIN: &str = "admin-key-0123456789";
const APP: &str = "app-key-0123456789";
const MANIFEST: &str = "module: pii-rules\nconfig: {entities: [EMAIL]}\n";

/// A server whose models directory and deployment state file live in `dir`, which a restart
/// reuses.
fn serve(dir: &std::path::Path) -> BinaryServer {
    let config = json!({
        "models_dir": dir.join("models"),
        "management": {"state_file": dir.join("state/deployments.json")},
        "models": [{"id": "pii-rules", "module": "pii-rules"}],
        "auth": {"keys": [
            {"id": "admin", "sha256": digest_hex(ADMIN), "scopes": {"admin": true}},
            {"id": "app", "sha256": digest_hex(APP),
                "scopes": {"tasks": ["*"], "models": ["*"]}},
        ]},
    });
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    BinaryServer::start(&["--config", path.to_str().unwrap()], &[])
}

async fn send(
    server: &BinaryServer,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = common::client()
        .request(method, server.url(path))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let (status, _, json) = common::read(request.send().await.unwrap()).await;
    (status, json)
}

async fn deploy(server: &BinaryServer, body: Value) -> (u16, Value) {
    send(
        server,
        reqwest::Method::POST,
        "/management/models",
        ADMIN,
        Some(body),
    )
    .await
}

async fn undeploy(server: &BinaryServer, id: &str) -> (u16, Value) {
    let path = format!("/management/models?model_id={id}");
    send(server, reqwest::Method::DELETE, &path, ADMIN, None).await
}

/// A token classification of a text with one email in it, with the app key.
async fn classify(server: &BinaryServer, model: &str) -> (u16, Value) {
    let body = json!({"model_id": model, "inputs": "mail ana@example.com"});
    send(
        server,
        reqwest::Method::POST,
        "/api/v1/task/token-classification",
        APP,
        Some(body),
    )
    .await
}

fn files_form(id: &str) -> Value {
    let data = base64::engine::general_purpose::STANDARD.encode(MANIFEST);
    json!({"model_id": id, "model_files": [{"filename": "taskgate.yaml", "data": data}]})
}

#[tokio::test]
async fn deploy_call_undeploy_over_rest_and_the_deployments_survive_a_restart() {
    let dir = common::temp_dir("management-rest");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let server = serve(&dir);

    // Caikit's form: the files, written into models_dir/<id>.
    let (status, info) = deploy(&server, files_form("from-files")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["name"], "from-files");
    assert_eq!(info["metadata"]["state"], "LOADED", "{info}");
    assert!(dir.join("models/from-files/taskgate.yaml").is_file());
    let (status, answer) = classify(&server, "from-files").await;
    assert_eq!(
        (status, answer["results"].as_array().map(Vec::len)),
        (200, Some(1))
    );

    // taskgate's form: a config entry; lazy, so it is registered and loads on its call.
    let typed = json!({"model_id": "typed", "module": "pii-rules",
        "config": {"entities": ["EMAIL"]}, "load": "lazy"});
    let (status, info) = deploy(&server, typed.clone()).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["metadata"]["state"], "REGISTERED", "{info}");
    assert_eq!(classify(&server, "typed").await.0, 200);

    // Refusals: an existing id, a path outside models_dir, a file name that climbs out, the
    // app key, two forms at once, a model that fails to load (not kept).
    let (status, answer) = deploy(&server, typed).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["details"], "Model 'typed' already exists");
    let outside = json!({"model_id": "outside", "module": "sentence-embeddings",
        "config": {"path": dir.join("taskgate.yaml")}});
    let (status, answer) = deploy(&server, outside).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["additional_info"][0]["path"], "/config/path",
        "{answer}"
    );
    assert!(
        answer["details"]
            .as_str()
            .unwrap()
            .contains("outside models_dir"),
        "{answer}"
    );
    let mut climbing = files_form("climbing");
    climbing["model_files"][0]["filename"] = json!("../escape.yaml");
    let (status, answer) = deploy(&server, climbing).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["additional_info"][0]["path"],
        "/model_files/0/filename"
    );
    assert!(!dir.join("escape.yaml").exists());
    let as_app = send(
        &server,
        reqwest::Method::POST,
        "/management/models",
        APP,
        Some(files_form("by-app")),
    )
    .await;
    assert_eq!(as_app.0, 403, "{}", as_app.1);
    let mut both = files_form("both");
    both["module"] = json!("pii-rules");
    assert_eq!(deploy(&server, both).await.0, 400);
    std::fs::create_dir_all(dir.join("models/empty-model")).unwrap();
    let failing = json!({"model_id": "failing", "module": "sentence-embeddings",
        "config": {"path": "empty-model"}});
    let (status, answer) = deploy(&server, failing).await;
    assert_eq!(status, 400, "{answer}");
    let details = answer["details"].as_str().unwrap();
    assert!(details.contains("the model failed to load"), "{details}");
    assert_eq!(classify(&server, "failing").await.0, 404);

    // Only what was deployed here can be undeployed.
    let (status, answer) = undeploy(&server, "pii-rules").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(undeploy(&server, "nothing-here").await.0, 404);

    // The listing shows every model with its state.
    let (status, listing) = send(
        &server,
        reqwest::Method::GET,
        "/management/models",
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{listing}");
    let names: Vec<&str> = listing["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["from-files", "pii-rules", "typed"]);

    // After a restart both deployments serve again.
    assert!(server.terminate().success());
    let server = serve(&dir);
    assert_eq!(classify(&server, "from-files").await.0, 200);
    assert_eq!(classify(&server, "typed").await.0, 200);

    // Undeployed, a model answers 404, and its files are gone.
    let (status, answer) = undeploy(&server, "from-files").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"model_id": "from-files"}));
    assert_eq!(classify(&server, "from-files").await.0, 404);
    assert!(!dir.join("models/from-files").exists());
    assert_eq!(undeploy(&server, "typed").await.0, 200);
    assert!(server.terminate().success());
    let server = serve(&dir);
    assert_eq!(classify(&server, "typed").await.0, 404);
    assert_eq!(classify(&server, "pii-rules").await.0, 200);
}

fn admin<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {ADMIN}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

#[tokio::test]
async fn deploy_call_undeploy_over_grpc() {
    let dir = common::temp_dir("management-grpc");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let server = serve(&dir);
    let mut management = ModelManagementClient::new(common::grpc::channel(&server).await);
    let deploy = || DeployModelRequest {
        model_id: "over-grpc".into(),
        model_files: vec![File {
            data: MANIFEST.as_bytes().to_vec(),
            filename: Some("taskgate.yaml".into()),
            r#type: None,
        }],
    };
    let info = management
        .deploy_model(admin(deploy()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, "over-grpc");
    assert!(info.loaded);

    let classify = || {
        let mut request = tonic::Request::new(TokenClassificationTaskRequest {
            text: "mail ana@example.com".into(),
            threshold: None,
        });
        let metadata = request.metadata_mut();
        metadata.insert("mm-model-id", "over-grpc".parse().unwrap());
        metadata.insert("authorization", format!("Bearer {APP}").parse().unwrap());
        request
    };
    let mut nlp = common::grpc::nlp(&server).await;
    let answer = nlp
        .token_classification_task_predict(classify())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.results.len(), 1);

    let again = management.deploy_model(admin(deploy())).await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::AlreadyExists, "{again:?}");
    let mut not_admin = tonic::Request::new(deploy());
    let value = format!("Bearer {APP}").parse().unwrap();
    not_admin.metadata_mut().insert("authorization", value);
    let refused = management.deploy_model(not_admin).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");

    let undeployed = management
        .undeploy_model(admin(UndeployModelRequest {
            model_id: "over-grpc".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(undeployed.model_id, "over-grpc");
    let gone = nlp
        .token_classification_task_predict(classify())
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound, "{gone:?}");
}
