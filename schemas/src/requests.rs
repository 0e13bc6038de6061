//! Request envelopes: `{model_id, inputs, parameters}` per task. When a task has one required
//! input, `inputs` is that value; with several, `inputs` is an object naming them (Caikit's rule).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{FieldError, JsonDict, TextGenerationParameters};

/// What every request envelope offers to the generic task handlers.
pub trait TaskRequest: Sized {
    // Clone: an alias's fallback sends the same call to the next model.
    type Inputs: Clone + Send + 'static;
    type Parameters: TaskParameters + Clone + Send + 'static;
    fn model_id(&self) -> &str;
    /// Splits the envelope; absent `parameters` become their defaults.
    fn into_parts(self) -> (String, Self::Inputs, Self::Parameters);
}

/// Parameter sets; rules spanning several fields go here (single-field bounds live in the schema).
pub trait TaskParameters: Default {
    fn cross_field_errors(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// Declares one task's request envelope so every task has the same shape and rules.
macro_rules! task_request {
    ($(#[$doc:meta])* $name:ident, $(#[$inputs_meta:meta])* $inputs:ty, $params:ty, $example:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        #[schema(example = $example)]
        pub struct $name {
            /// The model to run, as listed by `GET /info/models`.
            #[schema(min_length = 1)]
            pub model_id: String,
            $(#[$inputs_meta])*
            pub inputs: $inputs,
            #[serde(default)]
            pub parameters: Option<$params>,
        }

        impl TaskRequest for $name {
            type Inputs = $inputs;
            type Parameters = $params;
            fn model_id(&self) -> &str {
                &self.model_id
            }
            fn into_parts(self) -> (String, $inputs, $params) {
                (self.model_id, self.inputs, self.parameters.unwrap_or_default())
            }
        }
    };
}

task_request!(
    /// Generate text from a prompt.
    TextGenerationRequest,
    String,
    TextGenerationParameters,
    json!({"model_id": "smollm2", "inputs": "What is the capital of France?",
           "parameters": {"max_new_tokens": 20}})
);

task_request!(
    /// Classify a text into labels.
    TextClassificationRequest,
    String,
    TextClassificationParameters,
    json!({"model_id": "sentiment", "inputs": "I love this product!"})
);

task_request!(
    /// Find entity spans in a text.
    TokenClassificationRequest,
    String,
    TokenClassificationParameters,
    json!({"model_id": "pii-rules", "inputs": "Mail ana@example.com or call +1 415 555 0100"})
);

task_request!(
    /// Split a text into model tokens.
    TokenizationRequest,
    String,
    TokenizationParameters,
    json!({"model_id": "all-minilm", "inputs": "Hello world"})
);

task_request!(
    /// Embed one text.
    EmbeddingRequest,
    String,
    EmbeddingParameters,
    json!({"model_id": "all-minilm", "inputs": "A man is playing a guitar."})
);

task_request!(
    /// Embed several texts.
    EmbeddingTasksRequest,
    /// At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
    #[schema(min_items = 1, max_items = 10000)]
    Vec<String>,
    EmbeddingParameters,
    json!({"model_id": "all-minilm", "inputs": ["first text", "second text"]})
);

task_request!(
    /// Score one source sentence against sentences.
    SentenceSimilarityRequest,
    SentenceSimilarityInputs,
    EmbeddingParameters,
    json!({"model_id": "all-minilm", "inputs": {"source_sentence": "A man is playing a guitar.",
           "sentences": ["Someone is playing an acoustic guitar."]}})
);

task_request!(
    /// Score several source sentences against sentences.
    SentenceSimilarityTasksRequest,
    SentenceSimilarityTasksInputs,
    EmbeddingParameters,
    json!({"model_id": "all-minilm", "inputs": {"source_sentences": ["A man is playing a guitar."],
           "sentences": ["Someone is playing an acoustic guitar."]}})
);

task_request!(
    /// Rank documents by relevance to a query.
    RerankRequest,
    RerankInputs,
    RerankParameters,
    json!({"model_id": "all-minilm", "inputs": {"query": "capital of France",
           "documents": [{"text": "Paris is the capital of France."}, {"text": "Berlin is in Germany."}]},
           "parameters": {"top_n": 1}})
);

task_request!(
    /// Rank documents by relevance to each of several queries.
    RerankTasksRequest,
    RerankTasksInputs,
    RerankTasksParameters,
    json!({"model_id": "all-minilm", "inputs": {"queries": ["capital of France"],
           "documents": [{"text": "Paris is the capital of France."}]}})
);

/// Optional text-classification parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextClassificationParameters {
    /// Keep only the first N input tokens; 0 (default) rejects inputs longer than the model allows.
    #[schema(minimum = 0, example = 0)]
    pub truncate_input_tokens: Option<u32>,
}

/// Optional token-classification parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenClassificationParameters {
    /// Drop spans scoring below this value.
    #[schema(minimum = 0.0, maximum = 1.0, example = 0.5)]
    pub threshold: Option<f64>,
}

/// Optional tokenization parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenizationParameters {}

/// Optional parameters of embedding and sentence-similarity tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingParameters {
    /// 0 (default): reject inputs longer than the model allows; > 0: keep the first N tokens;
    /// < 0: truncate to the model's limit silently.
    #[schema(example = 0)]
    pub truncate_input_tokens: Option<i64>,
}

/// Inputs of `sentence-similarity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentenceSimilarityInputs {
    pub source_sentence: String,
    /// At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
    #[schema(min_items = 1, max_items = 10000)]
    pub sentences: Vec<String>,
}

/// Inputs of `sentence-similarity-tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentenceSimilarityTasksInputs {
    /// At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
    #[schema(min_items = 1, max_items = 10000)]
    pub source_sentences: Vec<String>,
    /// At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
    #[schema(min_items = 1, max_items = 10000)]
    pub sentences: Vec<String>,
}

/// A document to rank, as documented: its `text` is what is scored, and any other fields come
/// back with it (the wire type stays a JSON object).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RerankDocument {
    #[schema(example = "Paris is the capital of France.")]
    text: String,
}

/// Inputs of `rerank`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerankInputs {
    /// Documents as JSON objects; the text to score is their `text` field. At most the
    /// model's `max_client_batch_size` (its metadata in `GET /info/models`).
    #[schema(value_type = Vec<RerankDocument>, min_items = 1, max_items = 10000)]
    pub documents: Vec<JsonDict>,
    pub query: String,
}

/// Inputs of `rerank-tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerankTasksInputs {
    /// As for `rerank`.
    #[schema(value_type = Vec<RerankDocument>, min_items = 1, max_items = 10000)]
    pub documents: Vec<JsonDict>,
    /// At most the model's `max_client_batch_size` texts (its metadata in `GET /info/models`).
    #[schema(min_items = 1, max_items = 10000)]
    pub queries: Vec<String>,
}

/// Optional `rerank` parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerankParameters {
    /// Return only the N best documents (default: all).
    #[schema(minimum = 1, example = 3)]
    pub top_n: Option<u32>,
    /// Include each document in the result (default true).
    pub return_documents: Option<bool>,
    /// Include the query in the result (default true).
    pub return_query: Option<bool>,
    /// Include each document's text in the result (default true).
    pub return_text: Option<bool>,
    /// As for embeddings.
    pub truncate_input_tokens: Option<i64>,
}

/// Optional `rerank-tasks` parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerankTasksParameters {
    #[schema(minimum = 1, example = 3)]
    pub top_n: Option<u32>,
    pub return_documents: Option<bool>,
    /// Include each query in its result (default true).
    pub return_queries: Option<bool>,
    pub return_text: Option<bool>,
    pub truncate_input_tokens: Option<i64>,
}

impl TaskParameters for TextClassificationParameters {}
impl TaskParameters for TokenClassificationParameters {}
impl TaskParameters for TokenizationParameters {}
impl TaskParameters for EmbeddingParameters {}
impl TaskParameters for RerankParameters {}
impl TaskParameters for RerankTasksParameters {}
