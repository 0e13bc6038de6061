//! Scoring and ranking shared by the rerank implementations (bi-encoder cosine, cross-encoder).

use taskgate_schemas::{
    JsonDict, RerankParameters, RerankScore, RerankScores, RerankTasksParameters,
};

use crate::TaskError;

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}

/// What a rerank result should carry besides index and score.
#[derive(Debug, Clone, Copy)]
pub struct RerankOptions {
    pub top_n: Option<usize>,
    pub return_documents: bool,
    pub return_query: bool,
    pub return_text: bool,
}

impl RerankOptions {
    pub fn for_rerank(p: &RerankParameters) -> Self {
        Self {
            top_n: p.top_n.map(|n| n as usize),
            return_documents: p.return_documents.unwrap_or(true),
            return_query: p.return_query.unwrap_or(true),
            return_text: p.return_text.unwrap_or(true),
        }
    }

    pub fn for_rerank_tasks(p: &RerankTasksParameters) -> Self {
        Self {
            top_n: p.top_n.map(|n| n as usize),
            return_documents: p.return_documents.unwrap_or(true),
            return_query: p.return_queries.unwrap_or(true),
            return_text: p.return_text.unwrap_or(true),
        }
    }
}

/// The most an answer may repeat of its documents (each kept document, and its text, is copied
/// into every query's ranking). Without a bound a 2 MiB request could ask for a 100 MB answer.
pub const MAX_REPEATED_ANSWER_BYTES: usize = 16 << 20;

/// Refuses, before anything is scored, a ranking whose answer would repeat more than
/// [`MAX_REPEATED_ANSWER_BYTES`] of the documents over `queries` queries.
pub fn check_answer_size(
    queries: usize,
    documents: &[JsonDict],
    options: RerankOptions,
) -> Result<(), TaskError> {
    if !options.return_documents && !options.return_text {
        return Ok(());
    }
    let mut sizes: Vec<usize> = documents
        .iter()
        .map(|doc| {
            let json = if options.return_documents {
                serde_json::to_string(doc).map_or(0, |j| j.len())
            } else {
                0
            };
            let text = match (options.return_text, doc.get("text")) {
                (true, Some(serde_json::Value::String(text))) => text.len(),
                _ => 0,
            };
            json + text
        })
        .collect();
    // The worst case of which documents make the top n.
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let kept = options.top_n.unwrap_or(sizes.len()).min(sizes.len());
    let per_query: usize = sizes[..kept].iter().sum();
    let total = per_query.saturating_mul(queries);
    if total > MAX_REPEATED_ANSWER_BYTES {
        return Err(TaskError::invalid_field(
            "/parameters/return_documents",
            format!(
                "the answer would repeat {} MiB of documents ({queries} queries × {} KiB), more \
                 than the limit of {} MiB; set return_documents and return_text to false, lower \
                 top_n, or send fewer queries per call",
                total >> 20,
                per_query >> 10,
                MAX_REPEATED_ANSWER_BYTES >> 20
            ),
        ));
    }
    Ok(())
}

/// The `text` field of each rerank document (the text that is scored).
pub fn document_texts(documents: &[JsonDict]) -> Result<Vec<String>, TaskError> {
    documents
        .iter()
        .enumerate()
        .map(|(i, doc)| match doc.get("text") {
            Some(serde_json::Value::String(text)) => Ok(text.clone()),
            _ => Err(TaskError::invalid_field(
                format!("/inputs/documents/{i}/text"),
                "each document needs a string field 'text'",
            )),
        })
        .collect()
}

/// Ranks `documents` by `scores` (same order), best first; ties keep input order.
pub fn rank(
    query: &str,
    documents: &[JsonDict],
    texts: &[String],
    scores: &[f32],
    options: RerankOptions,
) -> RerankScores {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(options.top_n.unwrap_or(order.len()));
    RerankScores {
        query: options.return_query.then(|| query.to_string()),
        scores: order
            .into_iter()
            .map(|i| RerankScore {
                document: options.return_documents.then(|| documents[i].clone()),
                index: i as u64,
                score: scores[i] as f64,
                text: options.return_text.then(|| texts[i].clone()),
            })
            .collect(),
    }
}

/// [`rank`] for each query, whose scores (in document order) are `scores[i]`.
pub fn rank_each(
    queries: &[String],
    documents: &[JsonDict],
    texts: &[String],
    scores: &[Vec<f32>],
    options: RerankOptions,
) -> Vec<RerankScores> {
    queries
        .iter()
        .zip(scores)
        .map(|(query, s)| rank(query, documents, texts, s, options))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_would_repeat_too_much_are_refused_before_scoring() {
        let document: JsonDict =
            serde_json::from_value(serde_json::json!({"text": "x".repeat(100_000)})).unwrap();
        let documents = vec![document; 10];
        let all = RerankOptions {
            top_n: None,
            return_documents: true,
            return_query: true,
            return_text: true,
        };
        // 10 documents × 200 KB (document and text) × 10 queries = 20 MB.
        let error = check_answer_size(10, &documents, all).unwrap_err();
        assert!(
            error.to_string().contains("set return_documents"),
            "{error}"
        );
        assert!(check_answer_size(5, &documents, all).is_ok());
        let top_two = RerankOptions {
            top_n: Some(2),
            ..all
        };
        assert!(check_answer_size(10, &documents, top_two).is_ok());
        let scores_only = RerankOptions {
            return_documents: false,
            return_text: false,
            ..all
        };
        assert!(check_answer_size(1000, &documents, scores_only).is_ok());
    }

    #[test]
    fn cosine_of_parallel_orthogonal_and_zero_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn ranking_sorts_truncates_and_honours_return_flags() {
        let docs: Vec<JsonDict> = (0..3)
            .map(|i| {
                serde_json::from_value(serde_json::json!({"text": format!("d{i}"), "id": i}))
                    .unwrap()
            })
            .collect();
        let texts: Vec<String> = (0..3).map(|i| format!("d{i}")).collect();
        let options = RerankOptions {
            top_n: Some(2),
            return_documents: false,
            return_query: true,
            return_text: true,
        };
        let ranked = rank("q", &docs, &texts, &[0.1, 0.9, 0.5], options);
        assert_eq!(ranked.query.as_deref(), Some("q"));
        let indices: Vec<u64> = ranked.scores.iter().map(|s| s.index).collect();
        assert_eq!(indices, [1, 2]);
        assert!(ranked.scores[0].document.is_none());
        assert_eq!(ranked.scores[0].text.as_deref(), Some("d1"));
    }
}
