//! `POST /v1/embeddings`: the embedding-tasks task on the input text (or texts).

use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use serde_json::json;
use taskgate_modules::framework::tasks::EmbeddingTasks;
use taskgate_modules::{Task, TaskError};

use super::error::{FieldNames, RouteErrors};
use super::vector_types::{
    CreateEmbeddingRequest, CreateEmbeddingResponse, Embedding, EmbeddingVector, EncodingFormat,
    InputUsage,
};
use super::wire::{self, CallContext, RouteRequest};
use crate::error::ApiError;
use crate::pipeline;
use crate::pipeline::Caller;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

pub const SCHEMA: &str = "openai/embeddings";

impl RouteRequest for CreateEmbeddingRequest {
    const SCHEMA: &'static str = SCHEMA;

    fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

pub const FIELDS: FieldNames = FieldNames(&[("/model_id", "model"), ("/inputs", "input")]);

/// Creates an embedding vector for each input text.
#[utoipa::path(post, path = "/v1/embeddings", tag = "openai",
    operation_id = "createEmbedding",
    request_body = CreateEmbeddingRequest,
    responses(
        (status = 200, description = "One embedding per input, in order", body = CreateEmbeddingResponse),
        RouteErrors,
    ))]
pub async fn create(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: Request,
) -> Response {
    wire::serve(state, request, id, EmbeddingTasks::NAME, FIELDS, run).await
}

async fn run(
    request: CreateEmbeddingRequest,
    caller: Caller,
    context: CallContext,
) -> Result<Response, ApiError> {
    let (state, record) = (context.state(), context.record());
    let envelope = json!({"model_id": request.model, "inputs": request.input.into_vec()});
    let answer = pipeline::unary::<EmbeddingTasks>(state, context.call(envelope, caller)).await?;
    let vectors = answer.output.results.vectors;
    let dimension = vectors.first().map_or(0, |v| v.data.values.len());
    if let Some(asked) = request.dimensions
        && asked as usize != dimension
    {
        return Err(TaskError::invalid_field(
            "/dimensions",
            format!(
                "model '{}' makes {dimension}-dimensional embeddings and cannot shorten them \
                 ({asked} asked)",
                answer.model
            ),
        )
        .into());
    }
    record.answered();
    let format = request.encoding_format.unwrap_or_default();
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| Embedding {
            object: "embedding",
            index: index as u32,
            embedding: encode(vector.data.values, format),
        })
        .collect();
    let tokens = answer.output.input_token_count;
    let body = CreateEmbeddingResponse {
        object: "list",
        data,
        model: answer.model.clone(),
        usage: InputUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    };
    Ok(wire::json_answer(&body, answer.rate, &answer.model, record))
}

fn encode(values: Vec<f32>, format: EncodingFormat) -> EmbeddingVector {
    match format {
        EncodingFormat::Float => EmbeddingVector::Float(values),
        EncodingFormat::Base64 => {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            EmbeddingVector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_little_endian_f32() {
        let EmbeddingVector::Base64(text) = encode(vec![0.5, 1.0], EncodingFormat::Base64) else {
            panic!("not base64")
        };
        assert_eq!(text, "AAAAPwAAgD8=");
    }
}
