//! Open Inference Protocol v2 over gRPC (`inference.GRPCInferenceService`): the texts as a
//! BYTES tensor in typed `contents` or in `raw_input_contents`; answers decoded from either.

use super::KserveModel;
use super::tensor::{OutputTensor, Values, pack_bytes};
use crate::error::{RemoteFailure, RuntimeError};
use crate::remote::grpc::GrpcTarget;
use crate::remote::inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use crate::remote::inference::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use crate::remote::inference::{
    InferTensorContents, ModelInferRequest, ModelInferResponse, ModelReadyRequest,
};
use crate::remote::resilience::Resilience;
use crate::remote::{Forwarded, RemoteEndpoint};

pub(super) struct GrpcTransport {
    grpc: GrpcTarget,
    resilience: Resilience,
    raw_contents: bool,
}

impl GrpcTransport {
    pub(super) fn new(endpoint: RemoteEndpoint, raw_contents: bool) -> Result<Self, RuntimeError> {
        let grpc = GrpcTarget::new("KServe v2 gRPC", &endpoint)?;
        Ok(Self {
            resilience: Resilience::for_endpoint(grpc.name(), &endpoint),
            grpc,
            raw_contents,
        })
    }

    pub(super) fn name(&self) -> &str {
        self.grpc.name()
    }

    pub(super) fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    fn request(&self, model: &KserveModel, texts: &[String], id: &str) -> ModelInferRequest {
        let mut input = InferInputTensor {
            name: model.input_name.clone(),
            datatype: "BYTES".into(),
            shape: vec![texts.len() as i64],
            ..Default::default()
        };
        let mut raw_input_contents = Vec::new();
        if self.raw_contents {
            raw_input_contents.push(pack_bytes(texts));
        } else {
            input.contents = Some(InferTensorContents {
                bytes_contents: texts.iter().map(|t| t.clone().into_bytes()).collect(),
                ..Default::default()
            });
        }
        ModelInferRequest {
            model_name: model.name.clone(),
            id: id.to_string(),
            inputs: vec![input],
            outputs: model
                .output_name
                .iter()
                .map(|name| InferRequestedOutputTensor {
                    name: name.clone(),
                    ..Default::default()
                })
                .collect(),
            raw_input_contents,
            ..Default::default()
        }
    }

    pub(super) async fn infer(
        &self,
        model: &KserveModel,
        texts: &[String],
        forwarded: &Forwarded,
    ) -> Result<Vec<OutputTensor>, RuntimeError> {
        let request = self.request(model, texts, &forwarded.request_id);
        let response = self
            .resilience
            .unary(|| {
                let request = request.clone();
                async move {
                    let mut client = GrpcInferenceServiceClient::new(self.grpc.channel().await);
                    let call = client.model_infer(forwarded.grpc_request(request));
                    self.grpc.unary(call).await
                }
            })
            .await?;
        self.outputs(response)
    }

    /// The answer's outputs, with the values of output `i` from `raw_output_contents[i]` when
    /// the server answered raw.
    fn outputs(&self, response: ModelInferResponse) -> Result<Vec<OutputTensor>, RuntimeError> {
        let raw = response.raw_output_contents;
        if !raw.is_empty() && raw.len() != response.outputs.len() {
            return Err(self.grpc.error(
                RemoteFailure::Failed,
                format!(
                    "the answer has {} outputs but {} raw_output_contents",
                    response.outputs.len(),
                    raw.len()
                ),
            ));
        }
        let mut raw = raw.into_iter();
        Ok(response
            .outputs
            .into_iter()
            .map(|output| {
                let values = match raw.next() {
                    Some(bytes) => Values::Raw(bytes),
                    None => Values::Numbers(typed(
                        &output.datatype,
                        output.contents.unwrap_or_default(),
                    )),
                };
                OutputTensor {
                    name: output.name,
                    datatype: output.datatype,
                    shape: output.shape,
                    values,
                }
            })
            .collect())
    }

    /// `ModelReady`, asked once.
    pub(super) async fn ready(&self, model: &KserveModel) -> Result<(), RuntimeError> {
        let mut client = GrpcInferenceServiceClient::new(self.grpc.channel().await);
        let request = ModelReadyRequest {
            name: model.name.clone(),
            version: String::new(),
        };
        let answer = self.grpc.unary(client.model_ready(request)).await?;
        if answer.ready {
            Ok(())
        } else {
            Err(self.grpc.error(
                RemoteFailure::Unreachable,
                format!("model '{}' is not ready", model.name),
            ))
        }
    }
}

/// The typed `contents` field the datatype's values travel in (the spec's table); empty for
/// types that have none, which the shape check then reports.
fn typed(datatype: &str, contents: InferTensorContents) -> Vec<f64> {
    match datatype {
        "FP32" => contents.fp32_contents.into_iter().map(f64::from).collect(),
        "FP64" => contents.fp64_contents,
        "INT8" | "INT16" | "INT32" => contents.int_contents.into_iter().map(f64::from).collect(),
        "INT64" => contents
            .int64_contents
            .into_iter()
            .map(|x| x as f64)
            .collect(),
        "UINT8" | "UINT16" | "UINT32" => {
            contents.uint_contents.into_iter().map(f64::from).collect()
        }
        "UINT64" => contents
            .uint64_contents
            .into_iter()
            .map(|x| x as f64)
            .collect(),
        _ => Vec::new(),
    }
}
