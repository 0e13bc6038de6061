//! Open Inference Protocol v2 over REST: `POST /v2/models/{name}/infer` with the texts as a
//! BYTES tensor in JSON, answered with `data` arrays.

use serde::{Deserialize, Serialize};

use super::tensor::{OutputTensor, Values};
use super::{KserveModel, model_path};
use crate::error::RuntimeError;
use crate::remote::Forwarded;
use crate::remote::http::HttpRemote;

#[derive(Serialize)]
struct InferRequest<'a> {
    /// The caller's request id, so the server's logs name the same request.
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    inputs: [Input<'a>; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outputs: Vec<RequestedOutput<'a>>,
}

#[derive(Serialize)]
struct Input<'a> {
    name: &'a str,
    shape: [usize; 1],
    datatype: &'static str,
    data: &'a [String],
}

#[derive(Serialize)]
struct RequestedOutput<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
struct InferResponse {
    outputs: Vec<Output>,
}

#[derive(Deserialize)]
struct Output {
    name: String,
    datatype: String,
    shape: Vec<i64>,
    #[serde(default)]
    data: serde_json::Value,
}

pub(super) async fn infer(
    http: &HttpRemote,
    model: &KserveModel,
    texts: &[String],
    forwarded: &Forwarded,
) -> Result<Vec<OutputTensor>, RuntimeError> {
    let body = InferRequest {
        id: &forwarded.request_id,
        inputs: [Input {
            name: &model.input_name,
            shape: [texts.len()],
            datatype: "BYTES",
            data: texts,
        }],
        outputs: model
            .output_name
            .iter()
            .map(|name| RequestedOutput { name })
            .collect(),
    };
    let path = format!("{}/infer", model_path(model));
    let response: InferResponse = http.post_json(&path, &body, forwarded).await?;
    Ok(response
        .outputs
        .into_iter()
        .map(|o| OutputTensor {
            name: o.name,
            datatype: o.datatype,
            shape: o.shape,
            values: Values::Json(o.data),
        })
        .collect())
}
