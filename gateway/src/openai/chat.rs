//! `POST /v1/chat/completions`: the messages rendered with each model's own chat template (for
//! an alias, each target's), then the text-generation task, whole or streamed.

use axum::extract::{Request, State};
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde_json::json;
use taskgate_modules::framework::chat::ChatFormat;
use taskgate_modules::framework::tasks::{ServerStreamingTextGeneration, TextGeneration};
use taskgate_modules::{Model, Task, TaskError, TaskInput};
use taskgate_runtime::chat_template::ChatMessage as TemplateMessage;
use taskgate_schemas::{GeneratedTextResult, GeneratedTextStreamResult, TextGenerationRequest};

use super::chat_types::{
    AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionChunk, ChatDelta, ChatLogprobs,
    ChunkChoice, CreateChatCompletionRequest,
};
use super::error::{FieldNames, RouteErrors};
use super::generation::{self, Options};
use super::generation_types::CompletionUsage;
use super::wire::{self, CallContext, RouteRequest};
use crate::error::ApiError;
use crate::pipeline;
use crate::pipeline::Caller;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

/// The schema the request is checked against.
pub const SCHEMA: &str = "openai/chat-completions";

impl RouteRequest for CreateChatCompletionRequest {
    const SCHEMA: &'static str = SCHEMA;

    fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// How this route's fields appear in the text-generation envelope.
pub const FIELDS: FieldNames = FieldNames(&[
    ("/model_id", "model"),
    ("/inputs", "messages"),
    ("/parameters/max_new_tokens", "max_tokens"),
    ("/parameters/stop_sequences", "stop"),
    ("/parameters/temperature", "temperature"),
    ("/parameters/top_p", "top_p"),
    ("/parameters/seed", "seed"),
]);

/// Creates a chat completion: the assistant's reply to `messages`.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    operation_id = "createChatCompletion",
    request_body = CreateChatCompletionRequest,
    responses(
        (status = 200, description = "The reply; with `stream: true`, server-sent events: \
            `data: <ChatCompletionChunk>` lines, then `data: [DONE]`",
            content((ChatCompletion = "application/json"),
                (ChatCompletionChunk = "text/event-stream"))),
        RouteErrors,
    ))]
pub async fn create(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: Request,
) -> Response {
    wire::serve(state, request, id, TextGeneration::NAME, FIELDS, run).await
}

async fn run(
    request: CreateChatCompletionRequest,
    caller: Caller,
    context: CallContext,
) -> Result<Response, ApiError> {
    let (state, id, record) = (context.state(), context.id(), context.record());
    let stream = request.stream.unwrap_or(false);
    let include_usage = checked_stream_options(&request, stream)?;
    let max_tokens = match (request.max_tokens, request.max_completion_tokens) {
        (Some(_), Some(_)) => {
            return Err(refuse(
                "/max_tokens",
                "give max_tokens or max_completion_tokens (the same limit), not both",
            ));
        }
        (a, b) => b.or(a),
    };
    let logprobs = checked_logprobs(&request)?;
    let parameters = generation::parameters(Options {
        max_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        seed: request.seed,
        stop: request.stop.clone(),
        n: request.n,
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        logprobs,
        echo: false,
    })?;
    let messages: Vec<TemplateMessage> = request
        .messages
        .iter()
        .map(|m| TemplateMessage::new(m.role.template_name(), m.content.text()))
        .collect();
    // The messages' text stands in for the prompt until a model renders it: the envelope is
    // checked as a text-generation call, and the token estimate counts it.
    let text: String = messages.iter().map(|m| m.content.as_str()).collect();
    let envelope = json!({"model_id": request.model, "inputs": text, "parameters": parameters});
    let call = context.call(envelope, caller);
    let default_max = max_tokens.is_none();
    let chat_id = format!("chatcmpl-{id}");
    let created = crate::state::unix_seconds();
    if !stream {
        let shape = |model: &Model, input: &mut TaskInput<TextGeneration>| {
            render(model, &messages, default_max, input)
        };
        let answer = pipeline::unary_shaped::<TextGeneration>(state, call, &shape).await?;
        record.answered();
        let body = completion(chat_id, created, &answer.model, answer.output, logprobs);
        return Ok(wire::json_answer(&body, answer.rate, &answer.model, record));
    }
    let shape = |model: &Model, input: &mut TaskInput<ServerStreamingTextGeneration>| {
        render(model, &messages, default_max, input)
    };
    let answer =
        pipeline::server_streaming_shaped::<ServerStreamingTextGeneration>(state, call, &shape)
            .await?;
    record.answered();
    let mut chunks = Chunks {
        id: chat_id,
        created,
        model: answer.model.clone(),
        include_usage,
        logprobs,
        usage: CompletionUsage::default(),
        started: false,
    };
    let record = record.clone();
    let events = answer
        .output
        .map(move |item| match item {
            Ok(event) => chunks.on_event(event),
            Err(error) => wire::stream_failure(&record, error, FIELDS),
        })
        .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)));
    Ok(wire::event_stream(events, answer.rate, &answer.model))
}

fn refuse(field: &str, reason: impl Into<String>) -> ApiError {
    TaskError::invalid_field(field, reason).into()
}

/// `stream_options` only with `stream: true` (OpenAI's rule); whether the stream ends with
/// the usage chunk.
fn checked_stream_options(
    request: &CreateChatCompletionRequest,
    stream: bool,
) -> Result<bool, ApiError> {
    match request.stream_options {
        Some(_) if !stream => Err(refuse(
            "/stream_options",
            "stream_options is only allowed with stream: true",
        )),
        Some(options) => Ok(options.include_usage.unwrap_or(false)),
        None => Ok(false),
    }
}

/// Whether to report log-probabilities; alternatives (`top_logprobs` > 0) are refused.
fn checked_logprobs(request: &CreateChatCompletionRequest) -> Result<bool, ApiError> {
    let logprobs = request.logprobs.unwrap_or(false);
    match request.top_logprobs {
        Some(k) if k > 0 && !logprobs => Err(refuse(
            "/top_logprobs",
            "top_logprobs requires logprobs: true",
        )),
        Some(k) if k > 0 => Err(refuse(
            "/top_logprobs",
            format!(
                "only 0 is supported ({k} given): taskgate's engines report the chosen \
                 token's log-probability, not alternatives"
            ),
        )),
        _ => Ok(logprobs),
    }
}

/// The prompt `model`'s chat template makes of `messages`, and its default token limit.
fn render<T: Task<Request = TextGenerationRequest>>(
    model: &Model,
    messages: &[TemplateMessage],
    default_max: bool,
    input: &mut TaskInput<T>,
) -> Result<(), ApiError> {
    let format = model.extension::<ChatFormat>().ok_or_else(|| {
        refuse(
            "/model",
            format!(
                "model '{}' has no chat template: set chat_template in its config, or call \
                 /v1/completions with a prompt",
                model.id()
            ),
        )
    })?;
    input.inputs = format.prompt(messages, "/messages")?;
    if default_max {
        input.parameters.max_new_tokens = Some(generation::default_max_tokens(model));
    }
    Ok(())
}

fn completion(
    id: String,
    created: u64,
    model: &str,
    output: GeneratedTextResult,
    logprobs: bool,
) -> ChatCompletion {
    let logprobs = logprobs.then(|| ChatLogprobs {
        content: output
            .tokens
            .iter()
            .map(generation::token_logprob)
            .collect(),
    });
    ChatCompletion {
        id,
        object: "chat.completion",
        created,
        model: model.to_string(),
        choices: vec![ChatChoice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: output.generated_text,
            },
            finish_reason: generation::finish_reason(output.finish_reason),
            logprobs,
        }],
        usage: CompletionUsage::new(output.input_token_count, output.generated_tokens),
    }
}

/// Turns the task's stream events into OpenAI's chunks: the role first, then one chunk per
/// text delta, one with the finish reason, and the usage chunk when asked for; then `[DONE]`.
struct Chunks {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
    logprobs: bool,
    usage: CompletionUsage,
    started: bool,
}

impl Chunks {
    fn chunk(
        &self,
        delta: ChatDelta,
        finish: Option<super::generation_types::CompletionFinishReason>,
        logprobs: Option<ChatLogprobs>,
    ) -> Event {
        wire::json_event(&ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk",
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
                logprobs,
            }],
            usage: None,
        })
    }

    fn on_event(&mut self, event: GeneratedTextStreamResult) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            let role = ChatDelta {
                role: Some("assistant"),
                content: Some(String::new()),
            };
            out.push(self.chunk(role, None, None));
        }
        if !event.generated_text.is_empty() || (self.logprobs && !event.tokens.is_empty()) {
            let logprobs = self.logprobs.then(|| ChatLogprobs {
                content: event.tokens.iter().map(generation::token_logprob).collect(),
            });
            let delta = ChatDelta {
                role: None,
                content: Some(event.generated_text),
            };
            out.push(self.chunk(delta, None, logprobs));
        }
        let Some(details) = event.details else {
            return out;
        };
        self.usage =
            CompletionUsage::new(details.input_token_count, details.generated_tokens.into());
        let Some(finish) = generation::finish_reason(details.finish_reason) else {
            return out;
        };
        out.push(self.chunk(ChatDelta::default(), Some(finish), None));
        if self.include_usage {
            out.push(wire::json_event(&ChatCompletionChunk {
                id: self.id.clone(),
                object: "chat.completion.chunk",
                created: self.created,
                model: self.model.clone(),
                choices: Vec::new(),
                usage: Some(self.usage),
            }));
        }
        out.push(wire::done());
        out
    }
}
