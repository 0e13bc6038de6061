//! `POST /v1/rerank`: the rerank task, in the shape Cohere's, Jina's and vLLM's clients use.

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::json;
use taskgate_modules::Task;
use taskgate_modules::framework::tasks::Rerank;

use super::error::{FieldNames, RouteErrors};
use super::vector_types::{
    CreateRerankRequest, DocumentText, InputUsage, RerankResponse, RerankedDocument,
};
use super::wire::{self, CallContext, RouteRequest};
use crate::error::ApiError;
use crate::pipeline;
use crate::pipeline::Caller;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

pub const SCHEMA: &str = "openai/rerank";

impl RouteRequest for CreateRerankRequest {
    const SCHEMA: &'static str = SCHEMA;

    fn user(&self) -> Option<&str> {
        None
    }
}

pub const FIELDS: FieldNames = FieldNames(&[
    ("/model_id", "model"),
    ("/inputs/documents", "documents"),
    ("/inputs/query", "query"),
    ("/inputs", "documents"),
    ("/parameters/top_n", "top_n"),
]);

/// Ranks the documents by relevance to the query.
#[utoipa::path(post, path = "/v1/rerank", tag = "openai",
    operation_id = "createRerank",
    request_body = CreateRerankRequest,
    responses(
        (status = 200, description = "The documents' scores, most relevant first",
            body = RerankResponse),
        RouteErrors,
    ))]
pub async fn create(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: Request,
) -> Response {
    wire::serve(state, request, id, Rerank::NAME, FIELDS, run).await
}

async fn run(
    request: CreateRerankRequest,
    caller: Caller,
    context: CallContext,
) -> Result<Response, ApiError> {
    let (state, id, record) = (context.state(), context.id(), context.record());
    let documents: Vec<_> = request
        .documents
        .into_iter()
        .map(|d| json!({"text": d.into_text()}))
        .collect();
    let return_documents = request.return_documents.unwrap_or(false);
    let mut parameters =
        json!({"return_documents": false, "return_query": false, "return_text": return_documents});
    if let Some(top_n) = request.top_n {
        parameters["top_n"] = top_n.into();
    }
    let envelope = json!({
        "model_id": request.model,
        "inputs": {"query": request.query, "documents": documents},
        "parameters": parameters,
    });
    let answer = pipeline::unary::<Rerank>(state, context.call(envelope, caller)).await?;
    record.answered();
    let results = answer
        .output
        .result
        .scores
        .into_iter()
        .map(|score| RerankedDocument {
            index: score.index,
            relevance_score: score.score,
            document: score.text.map(|text| DocumentText { text }),
        })
        .collect();
    let tokens = answer.output.input_token_count;
    let body = RerankResponse {
        id: format!("rerank-{id}"),
        model: answer.model.clone(),
        results,
        usage: InputUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
    };
    Ok(wire::json_answer(&body, answer.rate, &answer.model, record))
}
