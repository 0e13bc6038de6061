//! The embedding task family (embeddings, sentence similarity, rerank by cosine; single and
//! batched) over any [`Embedder`]: in-process models and remote runtimes implement one method
//! and get all six tasks with the same validation, scoring and result shapes (rerank through
//! the rerank family, with the embedder as its pair scorer).

use std::sync::Arc;

use taskgate_runtime::remote::Forwarded;
use taskgate_schemas::{
    EmbeddingResult, EmbeddingResults, ListOfVector1D, ProducerId, SentenceSimilarityResult,
    SentenceSimilarityResults, SentenceSimilarityScores,
};

use crate::families::ranking::cosine;
use crate::families::rerank::{
    BATCH_SIZE_KEY, PairCall, PairScorer, PairScores, serve_rerank_family,
};
use crate::framework::tasks::{
    Embedding, EmbeddingTasks, SentenceSimilarity, SentenceSimilarityTasks,
};
use crate::{ModelBuilder, Predict, Task, TaskError, TaskFuture, TaskInput};

/// The texts of one call, in request order, with what a remote needs of the call.
pub struct EmbedCall {
    pub texts: Vec<String>,
    /// `paths[i]` is the JSON pointer of `texts[i]` in the request, for errors.
    pub paths: Vec<String>,
    pub forwarded: Forwarded,
    /// The endpoint asked for with `x-route-info`.
    pub route_info: Option<String>,
}

impl EmbedCall {
    pub fn new<T: Task>(input: &TaskInput<T>, texts: Vec<String>, paths: Vec<String>) -> Self {
        Self {
            texts,
            paths,
            forwarded: input.forwarded(),
            route_info: input.route_info.clone(),
        }
    }
}

/// Embeddings of a call's texts, in order, plus the tokens they used.
pub struct Embedded {
    pub vectors: Vec<Vec<f32>>,
    pub token_count: u64,
}

/// Turns texts into vectors.
pub trait Embedder: Send + Sync + 'static {
    fn producer(&self) -> ProducerId;
    /// Most texts one call may send (published as the model's `max_client_batch_size`).
    fn max_client_batch_size(&self) -> usize;
    /// Refuses an empty list, or one longer than the model takes in one call, naming it.
    fn check_list(&self, path: &str, len: usize) -> Result<(), TaskError> {
        crate::local::encoder_settings::check_list(path, len, self.max_client_batch_size())
    }
    /// One vector per text; `truncate_input_tokens` as Caikit defines it.
    fn embed(&self, call: EmbedCall, truncate_input_tokens: Option<i64>) -> TaskFuture<Embedded>;
}

/// The six tasks over one embedder.
pub struct EmbeddingFamily<E>(pub Arc<E>);

/// Registers the six tasks of `embedder` on `builder`.
pub fn serve_embedding_family<E: Embedder>(
    builder: ModelBuilder,
    embedder: Arc<E>,
) -> ModelBuilder {
    let builder = builder.metadata(
        BATCH_SIZE_KEY,
        (embedder.max_client_batch_size() as u64).into(),
    );
    let family = Arc::new(EmbeddingFamily(embedder));
    let builder = builder
        .serve::<Embedding>(family.clone())
        .serve::<EmbeddingTasks>(family.clone())
        .serve::<SentenceSimilarity>(family.clone())
        .serve::<SentenceSimilarityTasks>(family.clone());
    serve_rerank_family(builder, family)
}

/// JSON pointers of the items of a list at `path`.
pub fn item_paths(path: &str, len: usize) -> Vec<String> {
    (0..len).map(|i| format!("{path}/{i}")).collect()
}

fn scores(source: &[f32], targets: &[Vec<f32>]) -> SentenceSimilarityScores {
    SentenceSimilarityScores {
        scores: targets.iter().map(|t| cosine(source, t)).collect(),
    }
}

impl<E: Embedder> Predict<Embedding> for EmbeddingFamily<E> {
    fn predict(&self, input: TaskInput<Embedding>) -> TaskFuture<EmbeddingResult> {
        let this = self.0.clone();
        Box::pin(async move {
            let call = EmbedCall::new(&input, vec![input.inputs.clone()], vec!["/inputs".into()]);
            let out = this
                .embed(call, input.parameters.truncate_input_tokens)
                .await?;
            let vector = out.vectors.into_iter().next().unwrap_or_default();
            Ok(EmbeddingResult {
                result: vector.into(),
                producer_id: Some(this.producer()),
                input_token_count: out.token_count,
            })
        })
    }
}

impl<E: Embedder> Predict<EmbeddingTasks> for EmbeddingFamily<E> {
    fn predict(&self, input: TaskInput<EmbeddingTasks>) -> TaskFuture<EmbeddingResults> {
        let this = self.0.clone();
        Box::pin(async move {
            this.check_list("/inputs", input.inputs.len())?;
            let paths = item_paths("/inputs", input.inputs.len());
            let call = EmbedCall::new(&input, input.inputs.clone(), paths);
            let out = this
                .embed(call, input.parameters.truncate_input_tokens)
                .await?;
            Ok(EmbeddingResults {
                results: ListOfVector1D {
                    vectors: out.vectors.into_iter().map(Into::into).collect(),
                },
                producer_id: Some(this.producer()),
                input_token_count: out.token_count,
            })
        })
    }
}

impl<E: Embedder> Predict<SentenceSimilarity> for EmbeddingFamily<E> {
    fn predict(
        &self,
        input: TaskInput<SentenceSimilarity>,
    ) -> TaskFuture<SentenceSimilarityResult> {
        let this = self.0.clone();
        Box::pin(async move {
            let inputs = &input.inputs;
            this.check_list("/inputs/sentences", inputs.sentences.len())?;
            let mut texts = vec![inputs.source_sentence.clone()];
            texts.extend(inputs.sentences.iter().cloned());
            let mut paths = vec!["/inputs/source_sentence".to_string()];
            paths.extend(item_paths("/inputs/sentences", texts.len() - 1));
            let call = EmbedCall::new(&input, texts, paths);
            let out = this
                .embed(call, input.parameters.truncate_input_tokens)
                .await?;
            Ok(SentenceSimilarityResult {
                result: scores(&out.vectors[0], &out.vectors[1..]),
                producer_id: Some(this.producer()),
                input_token_count: out.token_count,
            })
        })
    }
}

impl<E: Embedder> Predict<SentenceSimilarityTasks> for EmbeddingFamily<E> {
    fn predict(
        &self,
        input: TaskInput<SentenceSimilarityTasks>,
    ) -> TaskFuture<SentenceSimilarityResults> {
        let this = self.0.clone();
        Box::pin(async move {
            let inputs = &input.inputs;
            this.check_list("/inputs/source_sentences", inputs.source_sentences.len())?;
            this.check_list("/inputs/sentences", inputs.sentences.len())?;
            let sources = inputs.source_sentences.len();
            let mut paths = item_paths("/inputs/source_sentences", sources);
            paths.extend(item_paths("/inputs/sentences", inputs.sentences.len()));
            let mut texts = inputs.source_sentences.clone();
            texts.extend(inputs.sentences.iter().cloned());
            let call = EmbedCall::new(&input, texts, paths);
            let out = this
                .embed(call, input.parameters.truncate_input_tokens)
                .await?;
            let (sources, targets) = out.vectors.split_at(sources);
            Ok(SentenceSimilarityResults {
                results: sources.iter().map(|s| scores(s, targets)).collect(),
                producer_id: Some(this.producer()),
                input_token_count: out.token_count,
            })
        })
    }
}

/// Rerank by the cosine of the query's and each document's embeddings, all embedded in one
/// call (queries first).
impl<E: Embedder> PairScorer for EmbeddingFamily<E> {
    fn producer(&self) -> ProducerId {
        self.0.producer()
    }

    fn max_client_batch_size(&self) -> usize {
        self.0.max_client_batch_size()
    }

    fn score(&self, call: PairCall) -> TaskFuture<PairScores> {
        let this = self.0.clone();
        Box::pin(async move {
            let queries = call.queries.len();
            let mut texts = call.queries;
            texts.extend(call.documents);
            let mut paths = call.query_paths;
            paths.extend(call.document_paths);
            let embed = EmbedCall {
                texts,
                paths,
                forwarded: call.forwarded,
                route_info: call.route_info,
            };
            let out = this.embed(embed, call.truncate_input_tokens).await?;
            let (queries, documents) = out.vectors.split_at(queries);
            Ok(PairScores {
                scores: queries
                    .iter()
                    .map(|q| documents.iter().map(|d| cosine(q, d)).collect())
                    .collect(),
                token_count: out.token_count,
            })
        })
    }
}
