//! `/v1/embeddings`, `/v1/rerank` and `/v1/models` as OpenAI's (and Cohere's, Jina's, vLLM's
//! rerank) clients send and read them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::generation_types::one_or_list;

/// The texts to embed: one, or several (one embedding each, in order).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Several(Vec<String>),
}

fn input_schema() -> Schema {
    let mut schema = one_or_list(
        ObjectBuilder::new().schema_type(Type::String),
        10_000,
        "The texts to embed: one, or a list (one embedding each, in order) of at most the \
         model's `max_client_batch_size` (its metadata in `GET /info/models`).",
    );
    if let Schema::OneOf(one_of) = &mut schema {
        one_of.items.pop();
    }
    schema
}

impl EmbeddingInput {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(text) => vec![text],
            Self::Several(texts) => texts,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// A list of numbers.
    #[default]
    Float,
    /// Base64 of the little-endian 32-bit floats.
    Base64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEmbeddingRequest {
    #[schema(min_length = 1, example = "all-minilm")]
    pub model: String,
    #[schema(schema_with = input_schema)]
    pub input: EmbeddingInput,
    pub encoding_format: Option<EncodingFormat>,
    /// Only the model's own dimension (models here do not shorten their vectors).
    #[schema(minimum = 1, example = 384)]
    pub dimensions: Option<u32>,
    #[schema(max_length = 256)]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreateEmbeddingResponse {
    /// Always `list`.
    #[schema(example = "list")]
    pub object: &'static str,
    pub data: Vec<Embedding>,
    pub model: String,
    pub usage: InputUsage,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Embedding {
    /// Always `embedding`.
    #[schema(example = "embedding")]
    pub object: &'static str,
    pub index: u32,
    pub embedding: EmbeddingVector,
}

/// Floats, or their base64 when `encoding_format` is `base64`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmbeddingVector {
    #[schema(example = json!([0.0123, -0.0456, 0.0789]))]
    Float(Vec<f32>),
    #[schema(example = "AAAAPwAAgD8=")]
    Base64(String),
}

/// Tokens of the inputs (the models here generate none).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct InputUsage {
    #[schema(example = 7)]
    pub prompt_tokens: u64,
    #[schema(example = 7)]
    pub total_tokens: u64,
}

/// A document to rank: its text, or an object with a `text`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RerankDocumentIn {
    #[schema(example = "Paris is the capital of France.")]
    Text(String),
    Object(DocumentText),
}

impl RerankDocumentIn {
    pub fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Object(document) => document.text,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentText {
    #[schema(example = "Paris is the capital of France.")]
    pub text: String,
}

/// A rerank request, in the shape Cohere's, Jina's and vLLM's clients send.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRerankRequest {
    #[schema(min_length = 1, example = "all-minilm")]
    pub model: String,
    #[schema(example = "What is the capital of France?")]
    pub query: String,
    /// At most the model's `max_client_batch_size` (its metadata in `GET /info/models`).
    #[schema(min_items = 1, max_items = 10000)]
    pub documents: Vec<RerankDocumentIn>,
    /// Only the N most relevant (default: all).
    #[schema(minimum = 1, example = 3)]
    pub top_n: Option<u32>,
    /// Put each document's text in its result (default false).
    pub return_documents: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RerankResponse {
    /// `rerank-` and the request id.
    pub id: String,
    pub model: String,
    /// Most relevant first.
    pub results: Vec<RerankedDocument>,
    pub usage: InputUsage,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RerankedDocument {
    /// The document's position in the request.
    #[schema(example = 0)]
    pub index: u64,
    #[schema(example = 0.92)]
    pub relevance_score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentText>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelList {
    /// Always `list`.
    #[schema(example = "list")]
    pub object: &'static str,
    pub data: Vec<ModelObject>,
}

/// A model (or alias) the caller may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelObject {
    #[schema(example = "smollm2")]
    pub id: String,
    /// Always `model`.
    #[schema(example = "model")]
    pub object: &'static str,
    /// Unix seconds when this server started serving it.
    pub created: u64,
    /// Always `taskgate`.
    #[schema(example = "taskgate")]
    pub owned_by: &'static str,
}
