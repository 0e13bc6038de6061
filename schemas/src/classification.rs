use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ProducerId;

/// One label and its score for a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClassificationResult {
    /// The class label.
    #[schema(example = "positive")]
    pub label: String,
    /// Confidence in `[0, 1]`.
    #[schema(example = 0.97)]
    pub score: f64,
}

/// All labels scored for a text, highest score first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClassificationResults {
    pub results: Vec<ClassificationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
}

impl ClassificationResults {
    /// Each label with its score, highest score first.
    pub fn ranked(
        labels: impl IntoIterator<Item = String>,
        scores: impl IntoIterator<Item = f32>,
        producer_id: Option<ProducerId>,
    ) -> Self {
        let mut results: Vec<ClassificationResult> = labels
            .into_iter()
            .zip(scores)
            .map(|(label, score)| ClassificationResult {
                label,
                score: f64::from(score),
            })
            .collect();
        results.sort_by(|a, b| b.score.total_cmp(&a.score));
        Self {
            results,
            producer_id,
        }
    }
}

/// One entity span found in a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenClassificationResult {
    /// Start of the span as a Unicode code-point offset (what Python `str` indexing uses).
    #[schema(example = 5)]
    pub start: u64,
    /// End of the span (exclusive), a Unicode code-point offset.
    #[schema(example = 20)]
    pub end: u64,
    /// The text of the span.
    #[schema(example = "ana@example.com")]
    pub word: String,
    /// The entity type.
    #[schema(example = "EMAIL")]
    pub entity: String,
    /// The aggregated entity group, when tokens were merged into one span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "EMAIL")]
    pub entity_group: Option<String>,
    /// Confidence in `[0, 1]`.
    #[schema(example = 1.0)]
    pub score: f64,
    /// Number of model tokens the span covers, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_count: Option<u64>,
}

/// All entity spans found in a text, ordered by `start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenClassificationResults {
    pub results: Vec<TokenClassificationResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer_id: Option<ProducerId>,
}
