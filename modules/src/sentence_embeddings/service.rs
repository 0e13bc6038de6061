use std::sync::Arc;

use taskgate_runtime::bert::{TextTokenizer, TokenizeError, Truncation};
use taskgate_runtime::{Batcher, Sequence};

use taskgate_schemas::ProducerId;

use super::MODULE_NAME;
use crate::embedding_tasks::{EmbedCall, Embedded, Embedder};
use crate::{TaskError, TaskFuture};

/// The shared half of every task this module serves: validate, tokenize, embed. Cheap to clone,
/// so each call's future owns what it uses.
#[derive(Clone)]
pub struct SentenceEmbeddings {
    batcher: Batcher<Vec<f32>>,
    pub(super) tokenizer: Arc<TextTokenizer>,
    max_client_batch_size: usize,
}

impl SentenceEmbeddings {
    pub fn new(
        batcher: Batcher<Vec<f32>>,
        tokenizer: TextTokenizer,
        max_client_batch_size: usize,
    ) -> Self {
        Self {
            batcher,
            tokenizer: Arc::new(tokenizer),
            max_client_batch_size,
        }
    }

    async fn embed_texts(
        &self,
        texts: &[String],
        paths: &[String],
        truncate_input_tokens: Option<i64>,
    ) -> Result<Embedded, TaskError> {
        let truncation = Truncation::from_caikit(truncate_input_tokens);
        let mut sequences = Vec::with_capacity(texts.len());
        for (text, path) in texts.iter().zip(paths) {
            let tokens = self
                .tokenizer
                .encode(text, truncation)
                .map_err(|e: TokenizeError| {
                    TaskError::invalid_field(path.clone(), e.to_string())
                })?;
            sequences.push(Sequence::single(tokens.ids));
        }
        let token_count = sequences.iter().map(|s| s.len() as u64).sum();
        let vectors = self.batcher.run(sequences).await?;
        Ok(Embedded {
            vectors,
            token_count,
        })
    }
}

impl Embedder for SentenceEmbeddings {
    fn producer(&self) -> ProducerId {
        ProducerId::new(MODULE_NAME, env!("CARGO_PKG_VERSION"))
    }

    fn check_list(&self, path: &str, len: usize) -> Result<(), TaskError> {
        crate::encoder_settings::check_list(path, len, self.max_client_batch_size)
    }

    fn embed(&self, call: EmbedCall, truncate_input_tokens: Option<i64>) -> TaskFuture<Embedded> {
        let this = self.clone();
        Box::pin(async move {
            this.embed_texts(&call.texts, &call.paths, truncate_input_tokens)
                .await
        })
    }
}
