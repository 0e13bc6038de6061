//! The tasks of a `kserve-v2` model: its output rows as embeddings, or as class scores.

use taskgate_runtime::RemoteFailure;
use taskgate_runtime::RuntimeError;
use taskgate_runtime::remote::RemoteClient;
use taskgate_schemas::{ClassificationResults, ProducerId};

use super::{KserveService, producer};
use crate::families::embeddings::{EmbedCall, Embedded, Embedder};
use crate::framework::tasks::TextClassification;
use crate::local::encoder_settings::DEFAULT_MAX_CLIENT_BATCH_SIZE;
use crate::{Predict, TaskError, TaskFuture, TaskInput};

/// The server tokenizes and truncates (or refuses) by its own rules, which taskgate cannot
/// see; a cut at a given token count is refused rather than silently not applied.
fn no_truncation(truncate_input_tokens: Option<i64>) -> Result<(), TaskError> {
    match truncate_input_tokens {
        Some(n) if n > 0 => Err(TaskError::invalid_field(
            "/parameters/truncate_input_tokens",
            format!(
                "{n}: a KServe v2 model applies its own input limits; only 0 or -1 is accepted"
            ),
        )),
        _ => Ok(()),
    }
}

impl Embedder for KserveService {
    fn producer(&self) -> ProducerId {
        producer()
    }

    fn max_client_batch_size(&self) -> usize {
        DEFAULT_MAX_CLIENT_BATCH_SIZE
    }

    fn embed(&self, call: EmbedCall, truncate_input_tokens: Option<i64>) -> TaskFuture<Embedded> {
        let client = self.clients.pick_route(call.route_info.as_deref());
        Box::pin(async move {
            no_truncation(truncate_input_tokens)?;
            let vectors = client?.infer(&call.texts, &call.forwarded).await?;
            // The protocol reports no token counts.
            Ok(Embedded {
                vectors,
                token_count: 0,
            })
        })
    }
}

impl Predict<TextClassification> for KserveService {
    fn predict(&self, input: TaskInput<TextClassification>) -> TaskFuture<ClassificationResults> {
        let client = self.clients.pick(&input);
        let labels = self.labels.clone();
        Box::pin(async move {
            no_truncation(input.parameters.truncate_input_tokens.map(i64::from))?;
            let client = client?;
            let mut rows = client
                .infer(std::slice::from_ref(&input.inputs), &input.forwarded())
                .await?;
            let scores = rows.pop().unwrap_or_default();
            if scores.len() != labels.len() {
                return Err(RuntimeError::Remote {
                    backend: client.name().to_string(),
                    failure: RemoteFailure::Failed,
                    message: format!(
                        "the output has {} scores per text but {} labels are configured \
                         (backend.labels must name every column, in order)",
                        scores.len(),
                        labels.len()
                    ),
                }
                .into());
            }
            Ok(ClassificationResults::ranked(
                labels,
                scores,
                Some(producer()),
            ))
        })
    }
}
