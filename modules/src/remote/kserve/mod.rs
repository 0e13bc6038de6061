//! The `kserve-v2` module: a text model on a KServe Open Inference Protocol v2 server (KServe,
//! Seldon MLServer, Triton), over REST or gRPC. `task: embeddings` serves the six embedding
//! tasks from the model's vectors; `task: text-classification` serves text classification from
//! the model's per-class scores.

mod predict;
mod settings;

use std::sync::Arc;

use serde_json::Value;
use taskgate_runtime::remote::kserve::{KserveClient, KserveProtocol};
use taskgate_schemas::ProducerId;

use crate::families::embeddings::serve_embedding_family;
use crate::framework::tasks::TextClassification;
use crate::remote::settings::Routed;
use crate::{Model, ModelSpec, ModuleError};
pub use settings::{KserveOptions, KserveSettings, KserveTask, KserveTransport};

pub const MODULE_NAME: &str = "kserve-v2";

pub struct KserveFactory;

/// One model's clients and what its outputs mean.
struct KserveService {
    clients: Routed<KserveClient>,
    /// Class names, in the order of the output's columns (text-classification).
    labels: Vec<String>,
}

fn producer() -> ProducerId {
    ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
}

impl KserveFactory {
    pub fn build(spec: &ModelSpec, settings: &KserveSettings) -> Result<Model, ModuleError> {
        let settings = settings.setup(spec)?;
        let model = settings.model.clone();
        let clients = settings
            .remote
            .connect(spec, |endpoint| KserveClient::new(endpoint, model.clone()))?;
        let (protocol, raw_contents) = match model.protocol {
            KserveProtocol::Rest => ("rest", None),
            KserveProtocol::Grpc { raw_contents } => ("grpc", Some(raw_contents)),
        };
        let mut builder = Model::builder(&spec.id, MODULE_NAME, MODULE_NAME)
            .max_concurrent_requests(spec.max_concurrent_requests)
            .metadata("endpoint", settings.remote.endpoint.url.clone().into())
            .metadata("protocol", protocol.into())
            .metadata("model_name", model.name.clone().into())
            .metadata("input_name", model.input_name.clone().into())
            .live_metadata(clients.circuit_metadata())
            .health_check(clients.probe());
        if let Some(output) = &model.output_name {
            builder = builder.metadata("output_name", output.clone().into());
        }
        if let Some(raw) = raw_contents {
            builder = builder.metadata("raw_contents", raw.into());
        }
        let service = Arc::new(KserveService {
            clients,
            labels: settings.labels.clone(),
        });
        builder = match settings.task {
            KserveTask::Embeddings => serve_embedding_family(builder, service),
            KserveTask::TextClassification => builder
                .metadata("labels", Value::from(settings.labels))
                .serve::<TextClassification>(service),
        };
        Ok(builder.build())
    }
}
