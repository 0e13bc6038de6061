//! A client of the KServe Open Inference Protocol v2 (KServe, Seldon MLServer, Triton) for text
//! models: the texts go in as one BYTES tensor of shape `[n]`, and one numeric output comes back
//! as a row per text (embeddings, class scores). REST and gRPC share the request's meaning and
//! the decoding of the answer.

mod grpc;
mod rest;
mod tensor;

pub use tensor::TensorError;

use super::http::HttpRemote;
use super::resilience::Resilience;
use super::{Forwarded, RemoteClient, RemoteEndpoint, remote_error};
use crate::error::{RemoteFailure, RuntimeError};

/// How taskgate talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KserveProtocol {
    Rest,
    /// `raw_contents`: send the texts in `raw_input_contents` (the server then answers in
    /// `raw_output_contents`) rather than in typed `contents`.
    Grpc {
        raw_contents: bool,
    },
}

/// One model on the server: its name there and the tensors taskgate exchanges with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KserveModel {
    pub name: String,
    /// The BYTES input the texts go in.
    pub input_name: String,
    /// The output to ask for by name; without one, the first output the server answers.
    pub output_name: Option<String>,
    pub protocol: KserveProtocol,
}

// Boxed: both are large and differ in size; a call's cost dwarfs one indirection.
enum Transport {
    Rest(Box<HttpRemote>),
    Grpc(Box<grpc::GrpcTransport>),
}

pub struct KserveClient {
    model: KserveModel,
    transport: Transport,
}

impl KserveClient {
    pub fn new(endpoint: RemoteEndpoint, model: KserveModel) -> Result<Self, RuntimeError> {
        let transport = match model.protocol {
            KserveProtocol::Rest => {
                Transport::Rest(Box::new(HttpRemote::new("KServe v2 REST", endpoint)?))
            }
            KserveProtocol::Grpc { raw_contents } => {
                Transport::Grpc(Box::new(grpc::GrpcTransport::new(endpoint, raw_contents)?))
            }
        };
        Ok(Self { model, transport })
    }

    /// One row of numbers per text, in order, from the configured output.
    pub async fn infer(
        &self,
        texts: &[String],
        forwarded: &Forwarded,
    ) -> Result<Vec<Vec<f32>>, RuntimeError> {
        let outputs = match &self.transport {
            Transport::Rest(http) => rest::infer(http, &self.model, texts, forwarded).await?,
            Transport::Grpc(grpc) => grpc.infer(&self.model, texts, forwarded).await?,
        };
        // Not counted against the circuit: the server answered, the model's tensors did not
        // fit the task (a configuration matter).
        tensor::select(outputs, self.model.output_name.as_deref())
            .and_then(|output| output.rows(texts.len()))
            .map_err(|e| remote_error(self.name(), RemoteFailure::Failed, e.to_string()))
    }

    /// Whether the server has the model loaded and ready (asked once: no retries, no circuit).
    pub async fn ready(&self) -> Result<(), RuntimeError> {
        match &self.transport {
            Transport::Rest(http) => {
                http.probe_path(format!("{}/ready", model_path(&self.model)))
                    .await
            }
            Transport::Grpc(grpc) => grpc.ready(&self.model).await,
        }
    }
}

/// `/v2/models/<name>`, the name percent-encoded so it stays one path segment.
fn model_path(model: &KserveModel) -> String {
    let mut path = String::from("/v2/models/");
    for byte in model.name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            path.push(byte as char);
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

impl RemoteClient for KserveClient {
    fn name(&self) -> &str {
        match &self.transport {
            Transport::Rest(http) => http.name(),
            Transport::Grpc(grpc) => grpc.name(),
        }
    }

    fn resilience(&self) -> &Resilience {
        match &self.transport {
            Transport::Rest(http) => http.resilience(),
            Transport::Grpc(grpc) => grpc.resilience(),
        }
    }

    /// The model's readiness (`/v2/models/<name>/ready`, or `ModelReady`).
    fn probe(&self) -> futures::future::BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.ready())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_stay_one_path_segment() {
        let model = |name: &str| KserveModel {
            name: name.into(),
            input_name: "text".into(),
            output_name: None,
            protocol: KserveProtocol::Rest,
        };
        assert_eq!(
            model_path(&model("hash-embed_v1.2")),
            "/v2/models/hash-embed_v1.2"
        );
        assert_eq!(
            model_path(&model("a/b c?é")),
            "/v2/models/a%2Fb%20c%3F%C3%A9"
        );
    }
}
