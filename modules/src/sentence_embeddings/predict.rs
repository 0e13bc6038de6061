//! Tokenization; the embedding tasks come from [`crate::embedding_tasks`].

use taskgate_runtime::bert::Truncation;
use taskgate_schemas::TokenizationResults;

use super::SentenceEmbeddings;
use crate::tasks::Tokenization;
use crate::tokenization::token_spans;
use crate::{Predict, TaskError, TaskFuture, TaskInput};

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
