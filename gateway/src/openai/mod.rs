//! The OpenAI-compatible wire: `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`,
//! `/v1/rerank` and `/v1/models`, in the shapes OpenAI's SDKs (and Cohere's, Jina's and vLLM's
//! rerank clients) send and read. Like REST and gRPC it is an adapter over the one call
//! pipeline: the same keys, scopes, limits, validation, aliases, metrics and traces; each
//! route turns its body into a task envelope and the task's answer back, and a task's refusal
//! names the OpenAI field at fault, in OpenAI's error shape.

pub mod chat;
pub mod chat_types;
pub mod completions;
pub mod document_rules;
pub mod embeddings;
pub mod error;
pub mod generation;
pub mod generation_types;
pub mod models;
pub mod rerank;
pub mod vector_types;
pub mod wire;

use axum::Router;
use axum::routing::{get, post};
use taskgate_schemas::json_schema;

use crate::state::AppState;
use crate::validation::Validators;

/// The JSON Schemas the routes check bodies against, by route.
pub fn add_validators(validators: &mut Validators) {
    validators.insert(
        chat::SCHEMA,
        &json_schema::request::<chat_types::CreateChatCompletionRequest>(),
    );
    validators.insert(
        completions::SCHEMA,
        &json_schema::request::<generation_types::CreateCompletionRequest>(),
    );
    validators.insert(
        embeddings::SCHEMA,
        &json_schema::request::<vector_types::CreateEmbeddingRequest>(),
    );
    validators.insert(
        rerank::SCHEMA,
        &json_schema::request::<vector_types::CreateRerankRequest>(),
    );
}

pub fn mount(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/v1/chat/completions", post(chat::create))
        .route("/v1/completions", post(completions::create))
        .route("/v1/embeddings", post(embeddings::create))
        .route("/v1/rerank", post(rerank::create))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{model}", get(models::retrieve))
}
