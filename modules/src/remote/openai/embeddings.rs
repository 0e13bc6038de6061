//! The embedding tasks through `/v1/embeddings`.

use taskgate_runtime::remote::openai::OpenAiClient;
use taskgate_schemas::ProducerId;

use crate::families::embeddings::{EmbedCall, Embedded, Embedder};
use crate::remote::settings::Routed;
use crate::{TaskError, TaskFuture};

/// The most texts sent in one call; longer lists are refused naming the field.
const MAX_TEXTS: usize = 256;

pub struct OpenAiEmbedder {
    clients: Routed<OpenAiClient>,
    model_name: String,
    producer: ProducerId,
}

impl OpenAiEmbedder {
    pub fn new(clients: Routed<OpenAiClient>, model_name: String, producer: ProducerId) -> Self {
        Self {
            clients,
            model_name,
            producer,
        }
    }
}

impl Embedder for OpenAiEmbedder {
    fn producer(&self) -> ProducerId {
        self.producer.clone()
    }

    fn max_client_batch_size(&self) -> usize {
        MAX_TEXTS
    }

    fn embed(&self, call: EmbedCall, truncate_input_tokens: Option<i64>) -> TaskFuture<Embedded> {
        let clients = self.clients.clone();
        let model_name = self.model_name.clone();
        Box::pin(async move {
            // The API cannot truncate; 0 means "don't" in Caikit.
            if truncate_input_tokens.is_some_and(|n| n != 0) {
                return Err(TaskError::invalid_field(
                    "/parameters/truncate_input_tokens",
                    "truncate_input_tokens is not supported by an OpenAI-compatible server: the API has no truncation",
                ));
            }
            if let Some(empty) = call.texts.iter().position(String::is_empty) {
                return Err(TaskError::invalid_field(
                    call.paths[empty].clone(),
                    "the text must not be empty",
                ));
            }
            let client = clients.pick_route(call.route_info.as_deref())?;
            let answer = client
                .embed(&model_name, &call.texts, &call.forwarded)
                .await?;
            Ok(Embedded {
                vectors: answer.vectors,
                token_count: answer.prompt_tokens.unwrap_or(0),
            })
        })
    }
}
