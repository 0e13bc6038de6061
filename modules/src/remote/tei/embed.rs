//! The embedding tasks through `/embed`.

use taskgate_schemas::ProducerId;

use super::{Tei, check_texts, producer, truncate};
use crate::TaskFuture;
use crate::families::embeddings::{EmbedCall, Embedded, Embedder};

impl Embedder for Tei {
    fn producer(&self) -> ProducerId {
        producer()
    }

    fn max_client_batch_size(&self) -> usize {
        self.max_client_batch_size
    }

    fn embed(&self, call: EmbedCall, truncate_input_tokens: Option<i64>) -> TaskFuture<Embedded> {
        let this = self.clone();
        Box::pin(async move {
            let truncate = truncate(truncate_input_tokens)?;
            check_texts(call.texts.iter().zip(call.paths.iter().cloned()))?;
            let client = this.clients.pick_route(call.route_info.as_deref())?;
            let answer = client
                .embed(&call.texts, this.normalize, truncate, &call.forwarded)
                .await?;
            Ok(Embedded {
                vectors: answer.value,
                token_count: answer.tokens,
            })
        })
    }
}
