//! The ModelMesh runtime SPI, driven as the ModelMesh sidecar drives it, by a client generated
//! from `mmesh_model_runtime.proto`: status, size prediction, load, size, inference through
//! taskgate's own gRPC port (`mm-model-id`), unload; refusals for paths outside the models
//! root and for models it did not load; a sidecar restart purges what it loaded; a unix
//! socket instead of a port.

use std::path::{Path, PathBuf};

use serde_json::json;
use taskgate_gateway::grpc::pb::caikit::runtime::nlp::EmbeddingTaskRequest;
use taskgate_gateway::grpc::pb::mmesh::model_runtime_client::ModelRuntimeClient;
use taskgate_gateway::grpc::pb::mmesh::{
    LoadModelRequest, ModelSizeRequest, PredictModelSizeRequest, RuntimeStatusRequest,
    UnloadModelRequest, runtime_status_response,
};
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{self, BinaryServer};

const CAPACITY: u64 = 1 << 30;

/// A server whose ModelMesh root is `dir/mesh`, apart from its models directory.
fn serve(dir: &Path, mesh: serde_json::Value) -> BinaryServer {
    let mut model_mesh = json!({"enabled": true, "models_root": dir.join("mesh")});
    model_mesh
        .as_object_mut()
        .unwrap()
        .extend(mesh.as_object().cloned().unwrap_or_default());
    let config = json!({
        "models_dir": dir.join("models"),
        "models_memory_bytes": CAPACITY,
        "models": [{"id": "pii-rules", "module": "pii-rules"}],
        "model_mesh": model_mesh,
    });
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    BinaryServer::start(&["--config", path.to_str().unwrap()], &[])
}

/// A model directory under the mesh root, as ModelMesh's puller would leave it.
fn mesh_model(dir: &Path, name: &str, manifest: &str) -> PathBuf {
    let path = dir.join("mesh").join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("taskgate.yaml"), manifest).unwrap();
    path
}

fn load(id: &str, path: &Path) -> LoadModelRequest {
    LoadModelRequest {
        model_id: id.into(),
        model_type: "taskgate".into(),
        model_path: path.display().to_string(),
        model_key: "{}".into(),
    }
}

fn embed(id: &str) -> tonic::Request<EmbeddingTaskRequest> {
    let mut request = tonic::Request::new(EmbeddingTaskRequest {
        text: "placed by the mesh".into(),
        truncate_input_tokens: None,
    });
    request
        .metadata_mut()
        .insert("mm-model-id", id.parse().unwrap());
    request
}

#[tokio::test]
async fn the_sidecar_loads_sizes_predicts_through_and_unloads_a_model() {
    let Some(minilm) = common::minilm_dir("model-mesh") else {
        return;
    };
    let dir = common::temp_dir("model-mesh");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let port = common::free_port();
    let server = serve(&dir, json!({"port": port}));
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut mesh = ModelRuntimeClient::new(channel);

    let status = mesh
        .runtime_status(RuntimeStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, runtime_status_response::Status::Ready as i32);
    assert_eq!(status.capacity_in_bytes, CAPACITY);
    assert_eq!(status.max_loading_concurrency, 1);
    assert_eq!(status.runtime_version, env!("CARGO_PKG_VERSION"));

    let manifest = format!(
        "module: sentence-embeddings\nconfig: {{path: {}}}\n",
        minilm.display()
    );
    let path = mesh_model(&dir, "minilm-v1", &manifest);
    let weights = std::fs::metadata(minilm.join("model.safetensors"))
        .unwrap()
        .len();
    let predicted = mesh
        .predict_model_size(PredictModelSizeRequest {
            model_id: "mesh-minilm".into(),
            model_type: String::new(),
            model_path: path.display().to_string(),
            model_key: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .size_in_bytes;
    // The manifest points at the weights: they are what the prediction counts.
    assert!(
        predicted >= weights,
        "{predicted} for {weights} bytes of weights"
    );

    let loaded = mesh
        .load_model(load("mesh-minilm", &path))
        .await
        .unwrap()
        .into_inner();
    // The engine's own figure: its weights, less the word embeddings left in the file.
    assert_eq!(
        loaded.size_in_bytes,
        weights - common::MINILM_WORD_TABLE_BYTES,
        "{loaded:?} for {weights} bytes of weights"
    );
    assert!(
        predicted >= loaded.size_in_bytes,
        "{predicted} < {loaded:?}"
    );
    assert_eq!(loaded.max_concurrency, 64);
    let size = mesh
        .model_size(ModelSizeRequest {
            model_id: "mesh-minilm".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(size.size_in_bytes, loaded.size_in_bytes);
    // Loading again is idempotent.
    let again = mesh
        .load_model(load("mesh-minilm", &path))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.size_in_bytes, loaded.size_in_bytes);

    // Inference comes on taskgate's own gRPC port, as ModelMesh forwards it.
    let mut nlp = common::grpc::nlp(&server).await;
    let answer = nlp
        .embedding_task_predict(embed("mesh-minilm"))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.result.unwrap().data.is_some());
    let listing = server.get_json("/info/models").await;
    let listed = listing["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "mesh-minilm")
        .unwrap();
    assert_eq!(listed["metadata"]["pinned"], true, "{listed}");

    // Refusals: a path outside the root, and a model the mesh did not load.
    let outside = mesh.load_model(load("escape", &minilm)).await.unwrap_err();
    assert_eq!(outside.code(), Code::InvalidArgument, "{outside:?}");
    assert!(outside.message().contains("models_root"), "{outside:?}");
    let path_rules = mesh_model(&dir, "rules", "module: pii-rules\n");
    let taken = mesh
        .load_model(load("pii-rules", &path_rules))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::FailedPrecondition, "{taken:?}");
    let not_ours = mesh
        .unload_model(UnloadModelRequest {
            model_id: "pii-rules".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(not_ours.code(), Code::FailedPrecondition, "{not_ours:?}");

    mesh.unload_model(UnloadModelRequest {
        model_id: "mesh-minilm".into(),
    })
    .await
    .unwrap();
    let gone = nlp
        .embedding_task_predict(embed("mesh-minilm"))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");
    // Unloading what is not loaded answers at once.
    mesh.unload_model(UnloadModelRequest {
        model_id: "mesh-minilm".into(),
    })
    .await
    .unwrap();
    let unknown = mesh
        .model_size(ModelSizeRequest {
            model_id: "mesh-minilm".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // A sidecar that restarts asks for the status first: what it loaded before is unloaded.
    mesh.load_model(load("mesh-rules", &path_rules))
        .await
        .unwrap();
    assert!(crate::states(&server).await.contains_key("mesh-rules"));
    mesh.runtime_status(RuntimeStatusRequest {}).await.unwrap();
    let now = crate::states(&server).await;
    assert!(!now.contains_key("mesh-rules"), "{now:?}");
    assert_eq!(now["pii-rules"], "LOADED");
}

/// Connects tonic to a unix socket.
#[derive(Clone)]
struct UnixConnector(PathBuf);

impl tonic::codegen::Service<tonic::transport::Uri> for UnixConnector {
    type Response = hyper_util::rt::TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: tonic::transport::Uri) -> Self::Future {
        let path = self.0.clone();
        Box::pin(async move {
            Ok(hyper_util::rt::TokioIo::new(
                tokio::net::UnixStream::connect(path).await?,
            ))
        })
    }
}

#[tokio::test]
async fn the_spi_can_listen_on_a_unix_socket_and_refuses_a_network_address() {
    let dir = common::temp_dir("model-mesh-unix");
    std::fs::create_dir_all(dir.join("models")).unwrap();
    let socket = dir.join("mesh.sock");
    let server = serve(&dir, json!({"unix_socket": socket}));
    let channel = tonic::transport::Endpoint::from_static("http://sidecar")
        .connect_with_connector(UnixConnector(socket.clone()))
        .await
        .unwrap();
    let mut mesh = ModelRuntimeClient::new(channel);
    let path = mesh_model(
        &dir,
        "rules",
        "module: pii-rules\nconfig: {entities: [EMAIL]}\n",
    );
    mesh.load_model(load("mesh-rules", &path)).await.unwrap();
    let (status, answer) = server
        .call(
            "token-classification",
            json!({"model_id": "mesh-rules", "inputs": "mail ana@example.com"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    drop(server);

    // Without API keys on the SPI, a network address is refused at start, naming the key.
    let config = json!({"models_memory_bytes": CAPACITY,
        "model_mesh": {"enabled": true, "host": "0.0.0.0"}});
    let path = dir.join("exposed.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    let output = common::taskgate_command("check-config")
        .args(["check-config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("model_mesh.host"), "{stderr}");
}
