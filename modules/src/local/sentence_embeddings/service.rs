use std::sync::Arc;

use taskgate_runtime::bert::{TextTokenizer, TokenizeError, Truncation};
use taskgate_runtime::{Batcher, Sequence, offload};

use taskgate_schemas::ProducerId;

use super::MODULE_NAME;
use crate::families::embeddings::{EmbedCall, Embedded, Embedder};
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

    /// Tokenizes on the CPU pool (inputs may be megabytes), then embeds in the batcher.
    async fn embed_texts(
        &self,
        call: EmbedCall,
        truncate_input_tokens: Option<i64>,
    ) -> Result<Embedded, TaskError> {
        let truncation = Truncation::from_caikit(truncate_input_tokens);
        let tokenizer = self.tokenizer.clone();
        let EmbedCall { texts, paths, .. } = call;
        let sequences = offload("tokenize", move || {
            texts
                .iter()
                .zip(&paths)
                .map(|(text, path)| {
                    let tokens =
                        tokenizer
                            .encode(text, truncation)
                            .map_err(|e: TokenizeError| {
                                TaskError::invalid_field(path.clone(), e.to_string())
                            })?;
                    Ok(Sequence::single(tokens.ids))
                })
                .collect::<Result<Vec<_>, TaskError>>()
        })
        .await??;
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

    fn max_client_batch_size(&self) -> usize {
        self.max_client_batch_size
    }

    fn embed(&self, call: EmbedCall, truncate_input_tokens: Option<i64>) -> TaskFuture<Embedded> {
        let this = self.clone();
        Box::pin(async move { this.embed_texts(call, truncate_input_tokens).await })
    }
}
