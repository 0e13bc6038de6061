//! `tokenization` through `/tokenize`, with the model's special tokens counted but not listed
//! (as in process).

use taskgate_runtime::offload;
use taskgate_schemas::TokenizationResults;

use super::{Tei, check_texts};
use crate::families::tokenization::token_spans;
use crate::framework::tasks::Tokenization;
use crate::{Predict, TaskFuture, TaskInput};

impl Predict<Tokenization> for Tei {
    fn predict(&self, input: TaskInput<Tokenization>) -> TaskFuture<TokenizationResults> {
        let this = self.clone();
        Box::pin(async move {
            // TEI refuses empty input; here the field can be named.
            check_texts([(&input.inputs, "/inputs".to_string())])?;
            let client = this.clients.pick(&input)?;
            let tokens = client.tokenize(&input.inputs, &input.forwarded()).await?;
            let text = input.inputs;
            // Slicing out every token of a megabyte input is CPU work.
            Ok(offload("slice tokens", move || TokenizationResults {
                results: token_spans(&text, &tokens.offsets),
                token_count: tokens.offsets.len() as u64,
            })
            .await?)
        })
    }
}
