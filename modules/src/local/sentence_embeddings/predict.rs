//! Tokenization; the embedding tasks come from [`crate::families::embeddings`].

use taskgate_runtime::bert::Truncation;
use taskgate_runtime::offload;
use taskgate_schemas::TokenizationResults;

use super::SentenceEmbeddings;
use crate::families::tokenization::token_spans;
use crate::framework::tasks::Tokenization;
use crate::{Predict, TaskError, TaskFuture, TaskInput};

impl Predict<Tokenization> for SentenceEmbeddings {
    fn predict(&self, input: TaskInput<Tokenization>) -> TaskFuture<TokenizationResults> {
        let tokenizer = self.tokenizer.clone();
        Box::pin(async move {
            let text = input.inputs;
            // Tokenizing and slicing out every token of a megabyte input is CPU work.
            offload("tokenize", move || {
                let tokens = tokenizer
                    .encode(&text, Truncation::Disabled)
                    .map_err(|e| TaskError::invalid_field("/inputs", e.to_string()))?;
                // Special tokens ([CLS], [SEP]) have empty spans: counted, not listed (as Caikit).
                Ok::<_, TaskError>(TokenizationResults {
                    results: token_spans(&text, &tokens.offsets),
                    token_count: tokens.ids.len() as u64,
                })
            })
            .await?
        })
    }
}
