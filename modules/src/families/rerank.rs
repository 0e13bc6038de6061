//! The rerank family: `rerank` and `rerank-tasks` over any [`PairScorer`], which scores
//! (query, document) pairs: a cross-encoder in process or on TEI, or an embedder by cosine.
//! Validation of the lists, ranking and result shapes are written once, here.

use std::sync::Arc;

use taskgate_runtime::remote::Forwarded;
use taskgate_schemas::{JsonDict, ProducerId, RerankResult, RerankResults};

use crate::families::ranking::{RerankOptions, check_answer_size, document_texts, rank, rank_each};
use crate::framework::tasks::{Rerank, RerankTasks};
use crate::{ModelBuilder, Predict, Task, TaskError, TaskFuture, TaskInput};

/// The pairs of one call: every query against every document.
pub struct PairCall {
    pub queries: Vec<String>,
    /// `query_paths[i]` is the JSON pointer of `queries[i]` in the request, for errors.
    pub query_paths: Vec<String>,
    /// The documents' texts, in request order.
    pub documents: Vec<String>,
    /// `document_paths[i]` is the JSON pointer of `documents[i]`.
    pub document_paths: Vec<String>,
    /// Caikit's `truncate_input_tokens`.
    pub truncate_input_tokens: Option<i64>,
    pub forwarded: Forwarded,
    /// The endpoint asked for with `x-route-info`.
    pub route_info: Option<String>,
}

impl PairCall {
    fn new<T: Task>(
        input: &TaskInput<T>,
        queries: Vec<String>,
        query_paths: Vec<String>,
        documents: Vec<String>,
        truncate_input_tokens: Option<i64>,
    ) -> Self {
        let document_paths = (0..documents.len())
            .map(|i| format!("/inputs/documents/{i}/text"))
            .collect();
        Self {
            queries,
            query_paths,
            documents,
            document_paths,
            truncate_input_tokens,
            forwarded: input.forwarded(),
            route_info: input.route_info.clone(),
        }
    }
}

/// The scores of a call's pairs and the tokens they used.
pub struct PairScores {
    /// `scores[q][d]`: query `q` against document `d`, higher is more relevant.
    pub scores: Vec<Vec<f32>>,
    pub token_count: u64,
}

/// Scores (query, document) pairs.
pub trait PairScorer: Send + Sync + 'static {
    fn producer(&self) -> ProducerId;
    /// Most queries, and most documents, one call may send (published as the model's
    /// `max_client_batch_size`).
    fn max_client_batch_size(&self) -> usize;
    /// Refuses an empty list, or one longer than the model takes in one call, naming it.
    fn check_list(&self, path: &str, len: usize) -> Result<(), TaskError> {
        crate::local::encoder_settings::check_list(path, len, self.max_client_batch_size())
    }
    fn score(&self, call: PairCall) -> TaskFuture<PairScores>;
}

/// Both rerank tasks over one scorer.
pub struct RerankFamily<S>(pub Arc<S>);

/// The model metadata that tells clients the longest list one call may send: a model's own
/// limit, which a document of all models cannot state.
pub const BATCH_SIZE_KEY: &str = "max_client_batch_size";

/// Registers `rerank` and `rerank-tasks` of `scorer` on `builder`.
pub fn serve_rerank_family<S: PairScorer>(builder: ModelBuilder, scorer: Arc<S>) -> ModelBuilder {
    let builder = builder.metadata(
        BATCH_SIZE_KEY,
        (scorer.max_client_batch_size() as u64).into(),
    );
    let family = Arc::new(RerankFamily(scorer));
    builder
        .serve::<Rerank>(family.clone())
        .serve::<RerankTasks>(family)
}

/// The documents' texts and the scores of every query (with its path) against them.
async fn score<S: PairScorer, T: Task>(
    scorer: &S,
    input: &TaskInput<T>,
    documents: &[JsonDict],
    (queries, query_paths, truncate_input_tokens): (Vec<String>, Vec<String>, Option<i64>),
) -> Result<(Vec<String>, PairScores), TaskError> {
    let texts = document_texts(documents)?;
    let call = PairCall::new(
        input,
        queries,
        query_paths,
        texts.clone(),
        truncate_input_tokens,
    );
    Ok((texts, scorer.score(call).await?))
}

impl<S: PairScorer> Predict<Rerank> for RerankFamily<S> {
    fn predict(&self, input: TaskInput<Rerank>) -> TaskFuture<RerankResult> {
        let scorer = self.0.clone();
        Box::pin(async move {
            let (inputs, p) = (&input.inputs, &input.parameters);
            scorer.check_list("/inputs/documents", inputs.documents.len())?;
            let query = vec![inputs.query.clone()];
            let asked = (query, vec!["/inputs/query".into()], p.truncate_input_tokens);
            let (texts, scored) = score(&*scorer, &input, &inputs.documents, asked).await?;
            let options = RerankOptions::for_rerank(p);
            let ranked = rank(
                &inputs.query,
                &inputs.documents,
                &texts,
                &scored.scores[0],
                options,
            );
            Ok(RerankResult {
                result: ranked,
                producer_id: Some(scorer.producer()),
                input_token_count: scored.token_count,
            })
        })
    }
}

impl<S: PairScorer> Predict<RerankTasks> for RerankFamily<S> {
    fn predict(&self, input: TaskInput<RerankTasks>) -> TaskFuture<RerankResults> {
        let scorer = self.0.clone();
        Box::pin(async move {
            let (inputs, p) = (&input.inputs, &input.parameters);
            scorer.check_list("/inputs/documents", inputs.documents.len())?;
            scorer.check_list("/inputs/queries", inputs.queries.len())?;
            let options = RerankOptions::for_rerank_tasks(p);
            check_answer_size(inputs.queries.len(), &inputs.documents, options)?;
            let paths = (0..inputs.queries.len())
                .map(|i| format!("/inputs/queries/{i}"))
                .collect();
            let asked = (inputs.queries.clone(), paths, p.truncate_input_tokens);
            let (texts, scored) = score(&*scorer, &input, &inputs.documents, asked).await?;
            let ranked = rank_each(
                &inputs.queries,
                &inputs.documents,
                &texts,
                &scored.scores,
                options,
            );
            Ok(RerankResults {
                results: ranked,
                producer_id: Some(scorer.producer()),
                input_token_count: scored.token_count,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use taskgate_schemas::{RerankInputs, RerankParameters, RerankTasksInputs};

    use super::*;

    /// What a scorer was asked: query paths, document texts, document paths.
    type Asked = (Vec<String>, Vec<String>, Vec<String>);

    /// Scores a pair by the length of the document's text, and remembers each call's pairs.
    #[derive(Default)]
    struct LengthScorer {
        calls: Mutex<Vec<Asked>>,
    }

    impl PairScorer for LengthScorer {
        fn producer(&self) -> ProducerId {
            ProducerId::new("length", "1")
        }

        fn max_client_batch_size(&self) -> usize {
            3
        }

        fn score(&self, call: PairCall) -> TaskFuture<PairScores> {
            let scores = call
                .queries
                .iter()
                .map(|q| {
                    let bonus = q.len() as f32 / 100.0;
                    call.documents
                        .iter()
                        .map(|d| d.len() as f32 + bonus)
                        .collect()
                })
                .collect();
            self.calls.lock().unwrap().push((
                call.query_paths,
                call.documents,
                call.document_paths,
            ));
            Box::pin(async move {
                Ok(PairScores {
                    scores,
                    token_count: 11,
                })
            })
        }
    }

    fn input<T: Task>(
        inputs: crate::framework::task::Inputs<T>,
        parameters: crate::framework::task::Parameters<T>,
    ) -> TaskInput<T> {
        TaskInput {
            inputs,
            parameters,
            request_id: "r".into(),
            trace: Default::default(),
            route_info: None,
        }
    }

    fn documents(texts: &[&str]) -> Vec<taskgate_schemas::JsonDict> {
        texts
            .iter()
            .map(|t| serde_json::from_value(json!({"text": t})).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn rerank_ranks_the_scorers_pairs() {
        let scorer = Arc::new(LengthScorer::default());
        let family = RerankFamily(scorer.clone());
        let inputs = RerankInputs {
            query: "q".into(),
            documents: documents(&["ab", "abcd", "a"]),
        };
        let parameters = RerankParameters {
            top_n: Some(2),
            ..Default::default()
        };
        let answer = family
            .predict(input::<Rerank>(inputs, parameters))
            .await
            .unwrap();
        let indices: Vec<u64> = answer.result.scores.iter().map(|s| s.index).collect();
        assert_eq!(indices, [1, 0]);
        assert_eq!(answer.result.query.as_deref(), Some("q"));
        assert_eq!(answer.result.scores[0].text.as_deref(), Some("abcd"));
        assert_eq!(answer.input_token_count, 11);
        assert_eq!(answer.producer_id.unwrap().name, "length");
        let calls = scorer.calls.lock().unwrap();
        let (query_paths, texts, paths) = &calls[0];
        assert_eq!(query_paths, &["/inputs/query"]);
        assert_eq!(texts, &["ab", "abcd", "a"]);
        assert_eq!(paths[2], "/inputs/documents/2/text");
    }

    #[tokio::test]
    async fn rerank_tasks_ranks_every_query() {
        let scorer = Arc::new(LengthScorer::default());
        let family = RerankFamily(scorer.clone());
        let inputs = RerankTasksInputs {
            queries: vec!["a".into(), "bb".into()],
            documents: documents(&["xyz", "x"]),
        };
        let answer = family
            .predict(input::<RerankTasks>(inputs, Default::default()))
            .await
            .unwrap();
        assert_eq!(answer.results.len(), 2);
        assert_eq!(answer.results[1].query.as_deref(), Some("bb"));
        let best = &answer.results[1].scores[0];
        assert_eq!((best.index, best.score), (0, 3.02f32 as f64));
        let calls = scorer.calls.lock().unwrap();
        assert_eq!(calls[0].0, ["/inputs/queries/0", "/inputs/queries/1"]);
    }

    #[tokio::test]
    async fn lists_and_documents_are_checked_before_anything_is_scored() {
        let scorer = Arc::new(LengthScorer::default());
        let family = RerankFamily(scorer.clone());
        let too_many = RerankTasksInputs {
            queries: vec!["q".into(); 4],
            documents: documents(&["d"]),
        };
        let error = family
            .predict(input::<RerankTasks>(too_many, Default::default()))
            .await
            .unwrap_err();
        assert!(format!("{error:?}").contains("/inputs/queries"), "{error}");
        let no_text = RerankInputs {
            query: "q".into(),
            documents: vec![serde_json::from_value(json!({"title": "t"})).unwrap()],
        };
        let error = family
            .predict(input::<Rerank>(no_text, Default::default()))
            .await
            .unwrap_err();
        assert!(
            format!("{error:?}").contains("/inputs/documents/0/text"),
            "{error}"
        );
        let none = RerankInputs {
            query: "q".into(),
            documents: vec![],
        };
        let error = family
            .predict(input::<Rerank>(none, Default::default()))
            .await
            .unwrap_err();
        assert!(
            format!("{error:?}").contains("/inputs/documents"),
            "{error}"
        );
        assert!(scorer.calls.lock().unwrap().is_empty());
    }
}
