//! Cross-encoder scores from `/rerank`, one call per query, for the rerank family.

use taskgate_schemas::ProducerId;

use super::{Tei, check_texts, producer, truncate};
use crate::TaskFuture;
use crate::families::rerank::{PairCall, PairScorer, PairScores};

impl PairScorer for Tei {
    fn producer(&self) -> ProducerId {
        producer()
    }

    fn max_client_batch_size(&self) -> usize {
        self.max_client_batch_size
    }

    fn score(&self, call: PairCall) -> TaskFuture<PairScores> {
        let this = self.clone();
        Box::pin(async move {
            let truncate = truncate(call.truncate_input_tokens)?;
            check_texts(
                call.documents
                    .iter()
                    .zip(call.document_paths.iter().cloned()),
            )?;
            check_texts(call.queries.iter().zip(call.query_paths.iter().cloned()))?;
            let client = this.clients.pick_route(call.route_info.as_deref())?;
            let mut scores = Vec::with_capacity(call.queries.len());
            let mut token_count = 0;
            for query in &call.queries {
                let answer = client
                    .rerank(query, &call.documents, truncate, &call.forwarded)
                    .await?;
                scores.push(answer.value);
                token_count += answer.tokens;
            }
            Ok(PairScores {
                scores,
                token_count,
            })
        })
    }
}
