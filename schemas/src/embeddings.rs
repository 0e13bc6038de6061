use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ProducerId;

/// A JSON object (Caikit `JsonDict`): a rerank document with any fields.
pub type JsonDict = serde_json::Map<String, serde_json::Value>;

/// A vector of floats, wrapped as Caikit's `Vector1D` (`{"data": {"values": [...]}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vector1D {
    pub data: FloatSequence,
}

/// The values of a `Vector1D`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FloatSequence {
    #[schema(example = json!([0.0123, -0.0456, 0.0789]))]
    pub values: Vec<f32>,
}

impl From<Vec<f32>> for Vector1D {
    fn from(values: Vec<f32>) -> Self {
        Self {
            data: FloatSequence { values },
        }
    }
}

/// A list of vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ListOfVector1D {
    pub vectors: Vec<Vector1D>,
}

/// The embedding of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmbeddingResult {
    pub result: Vector1D,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    /// Number of tokens embedded.
    #[schema(example = 7)]
    pub input_token_count: u64,
}

/// The embeddings of several texts, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmbeddingResults {
    pub results: ListOfVector1D,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    #[schema(example = 14)]
    pub input_token_count: u64,
}

/// Similarity of one source sentence to each of the sentences, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SentenceSimilarityScores {
    #[schema(example = json!([0.8043, -0.054]))]
    pub scores: Vec<f32>,
}

/// The result of `sentence-similarity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SentenceSimilarityResult {
    pub result: SentenceSimilarityScores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    pub input_token_count: u64,
}

/// The result of `sentence-similarity-tasks`: one score list per source sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SentenceSimilarityResults {
    pub results: Vec<SentenceSimilarityScores>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    pub input_token_count: u64,
}

/// The score of one document for a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RerankScore {
    /// The document, when `return_documents` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = json!({"text": "Paris is the capital of France."}))]
    pub document: Option<JsonDict>,
    /// Index of the document in the request.
    #[schema(example = 0)]
    pub index: u64,
    /// Relevance score, higher is more relevant.
    #[schema(example = 0.92)]
    pub score: f64,
    /// The document's `text`, when `return_text` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The documents of one query, most relevant first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RerankScores {
    /// The query, when `return_query`/`return_queries` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub scores: Vec<RerankScore>,
}

/// The result of `rerank`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RerankResult {
    pub result: RerankScores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    pub input_token_count: u64,
}

/// The result of `rerank-tasks`: one ranking per query, in query order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RerankResults {
    pub results: Vec<RerankScores>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
    pub input_token_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_wire_shape_is_caikits() {
        let v = Vector1D::from(vec![0.5, -1.0]);
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            serde_json::json!({"data": {"values": [0.5, -1.0]}})
        );
    }
}
