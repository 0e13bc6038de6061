//! One `Predict` implementation per task, all over [`SentenceEmbeddings::embed`].

use taskgate_runtime::bert::Truncation;
use taskgate_schemas::{
    EmbeddingResult, EmbeddingResults, ListOfVector1D, ProducerId, RerankResult, RerankResults,
    SentenceSimilarityResult, SentenceSimilarityResults, SentenceSimilarityScores,
    TokenizationResults,
};

use super::service::item_paths;
use super::{MODULE_NAME, SentenceEmbeddings};
use crate::rerank::{RerankOptions, cosine, document_texts, rank};
use crate::tasks::{
    Embedding, EmbeddingTasks, Rerank, RerankTasks, SentenceSimilarity, SentenceSimilarityTasks,
    Tokenization,
};
use crate::tokenization::token_spans;
use crate::{Predict, TaskError, TaskFuture, TaskInput};

fn producer() -> Option<ProducerId> {
    Some(ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION")))
}

fn scores(source: &[f32], targets: &[Vec<f32>]) -> SentenceSimilarityScores {
    SentenceSimilarityScores {
        scores: targets.iter().map(|t| cosine(source, t)).collect(),
    }
}

impl Predict<Embedding> for SentenceEmbeddings {
    fn predict(&self, input: TaskInput<Embedding>) -> TaskFuture<EmbeddingResult> {
        let this = self.clone();
        Box::pin(async move {
            let texts = [input.inputs];
            let paths = ["/inputs".to_string()];
            let out = this
                .embed(&texts, &paths, input.parameters.truncate_input_tokens)
                .await?;
            let vector = out.vectors.into_iter().next().unwrap_or_default();
            Ok(EmbeddingResult {
                result: vector.into(),
                producer_id: producer(),
                input_token_count: out.token_count,
            })
        })
    }
}

impl Predict<EmbeddingTasks> for SentenceEmbeddings {
    fn predict(&self, input: TaskInput<EmbeddingTasks>) -> TaskFuture<EmbeddingResults> {
        let this = self.clone();
        Box::pin(async move {
            this.check_list("/inputs", input.inputs.len())?;
            let paths = item_paths("/inputs", input.inputs.len());
            let out = this
                .embed(
                    &input.inputs,
                    &paths,
                    input.parameters.truncate_input_tokens,
                )
                .await?;
            Ok(EmbeddingResults {
                results: ListOfVector1D {
                    vectors: out.vectors.into_iter().map(Into::into).collect(),
                },
                producer_id: producer(),
                input_token_count: out.token_count,
            })
        })
    }
}

impl Predict<SentenceSimilarity> for SentenceEmbeddings {
    fn predict(
        &self,
        input: TaskInput<SentenceSimilarity>,
    ) -> TaskFuture<SentenceSimilarityResult> {
        let this = self.clone();
        Box::pin(async move {
            let inputs = input.inputs;
            this.check_list("/inputs/sentences", inputs.sentences.len())?;
            let mut texts = vec![inputs.source_sentence];
            texts.extend(inputs.sentences);
            let mut paths = vec!["/inputs/source_sentence".to_string()];
            paths.extend(item_paths("/inputs/sentences", texts.len() - 1));
            let out = this
                .embed(&texts, &paths, input.parameters.truncate_input_tokens)
                .await?;
            Ok(SentenceSimilarityResult {
                result: scores(&out.vectors[0], &out.vectors[1..]),
                producer_id: producer(),
                input_token_count: out.token_count,
            })
        })
    }
}

impl Predict<SentenceSimilarityTasks> for SentenceEmbeddings {
    fn predict(
        &self,
        input: TaskInput<SentenceSimilarityTasks>,
    ) -> TaskFuture<SentenceSimilarityResults> {
        let this = self.clone();
        Box::pin(async move {
            let inputs = input.inputs;
            this.check_list("/inputs/source_sentences", inputs.source_sentences.len())?;
            this.check_list("/inputs/sentences", inputs.sentences.len())?;
            let sources = inputs.source_sentences.len();
            let mut paths = item_paths("/inputs/source_sentences", sources);
            paths.extend(item_paths("/inputs/sentences", inputs.sentences.len()));
            let mut texts = inputs.source_sentences;
            texts.extend(inputs.sentences);
            let out = this
                .embed(&texts, &paths, input.parameters.truncate_input_tokens)
                .await?;
            let (sources, targets) = out.vectors.split_at(sources);
            Ok(SentenceSimilarityResults {
                results: sources.iter().map(|s| scores(s, targets)).collect(),
                producer_id: producer(),
                input_token_count: out.token_count,
            })
        })
    }
}

impl Predict<Rerank> for SentenceEmbeddings {
    fn predict(&self, input: TaskInput<Rerank>) -> TaskFuture<RerankResult> {
        let this = self.clone();
        Box::pin(async move {
            let (inputs, p) = (input.inputs, input.parameters);
            this.check_list("/inputs/documents", inputs.documents.len())?;
            let docs = document_texts(&inputs.documents)?;
            let mut texts = vec![inputs.query.clone()];
            texts.extend(docs.iter().cloned());
            let mut paths = vec!["/inputs/query".to_string()];
            paths.extend((0..docs.len()).map(|i| format!("/inputs/documents/{i}/text")));
            let out = this.embed(&texts, &paths, p.truncate_input_tokens).await?;
            let doc_scores: Vec<f32> = out.vectors[1..]
                .iter()
                .map(|d| cosine(&out.vectors[0], d))
                .collect();
            let options = RerankOptions::for_rerank(&p);
            Ok(RerankResult {
                result: rank(
                    &inputs.query,
                    &inputs.documents,
                    &docs,
                    &doc_scores,
                    options,
                ),
                producer_id: producer(),
                input_token_count: out.token_count,
            })
        })
    }
}

impl Predict<RerankTasks> for SentenceEmbeddings {
    fn predict(&self, input: TaskInput<RerankTasks>) -> TaskFuture<RerankResults> {
        let this = self.clone();
        Box::pin(async move {
            let (inputs, p) = (input.inputs, input.parameters);
            this.check_list("/inputs/documents", inputs.documents.len())?;
            this.check_list("/inputs/queries", inputs.queries.len())?;
            let docs = document_texts(&inputs.documents)?;
            let mut texts = inputs.queries.clone();
            texts.extend(docs.iter().cloned());
            let mut paths = item_paths("/inputs/queries", inputs.queries.len());
            paths.extend((0..docs.len()).map(|i| format!("/inputs/documents/{i}/text")));
            let out = this.embed(&texts, &paths, p.truncate_input_tokens).await?;
            let (queries, doc_vectors) = out.vectors.split_at(inputs.queries.len());
            let options = RerankOptions::for_rerank_tasks(&p);
            let results = queries
                .iter()
                .zip(&inputs.queries)
                .map(|(q, query)| {
                    let s: Vec<f32> = doc_vectors.iter().map(|d| cosine(q, d)).collect();
                    rank(query, &inputs.documents, &docs, &s, options)
                })
                .collect();
            Ok(RerankResults {
                results,
                producer_id: producer(),
                input_token_count: out.token_count,
            })
        })
    }
}

impl Predict<Tokenization> for SentenceEmbeddings {
    fn predict(&self, input: TaskInput<Tokenization>) -> TaskFuture<TokenizationResults> {
        let this = self.clone();
        Box::pin(async move {
            let text = input.inputs;
            let tokens = this
                .tokenizer
                .encode(&text, Truncation::Disabled)
                .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))?;
            // Special tokens ([CLS], [SEP]) have empty spans: counted, not listed (as Caikit).
            let results = token_spans(&text, &tokens.offsets);
            Ok(TokenizationResults {
                results,
                token_count: tokens.ids.len() as u64,
            })
        })
    }
}
