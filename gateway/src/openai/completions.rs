//! `POST /v1/completions`: the text-generation task on a prompt as sent (or on each of a list
//! of prompts, one choice each), whole or streamed.

use axum::extract::{Request, State};
use axum::response::Response;
use axum::response::sse::Event;
use futures::StreamExt;
use serde_json::json;
use taskgate_modules::framework::tasks::{ServerStreamingTextGeneration, TextGeneration};
use taskgate_modules::{Task, TaskError};
use taskgate_schemas::{GeneratedTextResult, GeneratedTextStreamResult};

use super::error::{FieldNames, RouteErrors};
use super::generation::{self, DEFAULT_COMPLETION_MAX_TOKENS, Options};
use super::generation_types::{
    Completion, CompletionChoice, CompletionLogprobs, CompletionUsage, CreateCompletionRequest,
    Prompt,
};
use super::wire::{self, CallContext, RouteRequest};
use crate::error::ApiError;
use crate::pipeline;
use crate::pipeline::Caller;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

pub const SCHEMA: &str = "openai/completions";

impl RouteRequest for CreateCompletionRequest {
    const SCHEMA: &'static str = SCHEMA;

    fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// Prompts one request may hold: each is a call of its own, with its own admission.
const MAX_PROMPTS: usize = 16;

pub const FIELDS: FieldNames = FieldNames(&[
    ("/model_id", "model"),
    ("/inputs", "prompt"),
    ("/parameters/max_new_tokens", "max_tokens"),
    ("/parameters/stop_sequences", "stop"),
    ("/parameters/temperature", "temperature"),
    ("/parameters/top_p", "top_p"),
    ("/parameters/seed", "seed"),
]);

/// Creates a completion for the prompt (or one for each prompt of a list).
#[utoipa::path(post, path = "/v1/completions", tag = "openai",
    operation_id = "createCompletion",
    request_body = CreateCompletionRequest,
    responses(
        (status = 200, description = "The completions; with `stream: true`, server-sent \
            events: `data: <Completion>` lines of one choice each, then `data: [DONE]`",
            content((Completion = "application/json"), (Completion = "text/event-stream"))),
        RouteErrors,
    ))]
pub async fn create(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: Request,
) -> Response {
    wire::serve(state, request, id, TextGeneration::NAME, FIELDS, run).await
}

fn refuse(field: &str, reason: impl Into<String>) -> ApiError {
    TaskError::invalid_field(field, reason).into()
}

async fn run(
    request: CreateCompletionRequest,
    caller: Caller,
    context: CallContext,
) -> Result<Response, ApiError> {
    let (state, id, record) = (context.state(), context.id(), context.record());
    if request.best_of.is_some_and(|n| n != 1) {
        return Err(refuse("/best_of", "only 1 is supported"));
    }
    if request.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(refuse("/suffix", "a suffix is not supported"));
    }
    if request.logprobs.is_some_and(|k| k > 0) {
        return Err(refuse(
            "/logprobs",
            "only 0 is supported: taskgate's engines report the chosen token's \
             log-probability, not alternatives",
        ));
    }
    let stream = request.stream.unwrap_or(false);
    let include_usage = match request.stream_options {
        Some(_) if !stream => {
            return Err(refuse(
                "/stream_options",
                "stream_options is only allowed with stream: true",
            ));
        }
        Some(options) => options.include_usage.unwrap_or(false),
        None => false,
    };
    let logprobs = request.logprobs.is_some();
    let echo = request.echo.unwrap_or(false);
    let parameters = generation::parameters(Options {
        max_tokens: Some(request.max_tokens.unwrap_or(DEFAULT_COMPLETION_MAX_TOKENS)),
        temperature: request.temperature,
        top_p: request.top_p,
        seed: request.seed,
        stop: request.stop.clone(),
        n: request.n,
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        logprobs,
        echo,
    })?;
    let prompts = match request.prompt {
        Prompt::One(prompt) => vec![prompt],
        Prompt::Several(prompts) => prompts,
    };
    if prompts.is_empty() || prompts.len() > MAX_PROMPTS {
        return Err(refuse(
            "/prompt",
            format!("give 1 to {MAX_PROMPTS} prompts ({} given)", prompts.len()),
        ));
    }
    let cmpl_id = format!("cmpl-{id}");
    let created = crate::state::unix_seconds();
    let envelope = |prompt: &str| json!({"model_id": request.model, "inputs": prompt, "parameters": parameters});
    if stream {
        let [prompt] = prompts.as_slice() else {
            return Err(refuse("/prompt", "a stream takes one prompt"));
        };
        let call = context.call(envelope(prompt), caller);
        let answer =
            pipeline::server_streaming::<ServerStreamingTextGeneration>(state, call).await?;
        record.answered();
        let mut chunks = Chunks {
            head: Completion {
                id: cmpl_id,
                object: "text_completion",
                created,
                model: answer.model.clone(),
                choices: Vec::new(),
                usage: None,
            },
            include_usage,
            logprobs,
            usage: CompletionUsage::default(),
            offset: 0,
        };
        let record = record.clone();
        let events = answer
            .output
            .map(move |item| match item {
                Ok(event) => chunks.on_event(event),
                Err(error) => wire::stream_failure(&record, error, FIELDS),
            })
            .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)));
        return Ok(wire::event_stream(events, answer.rate, &answer.model));
    }
    // Each prompt is a call of its own (its own admission, batched with the others by the
    // engine); the first holds the admission made before the body was read.
    let mut callers = vec![caller];
    for _ in 1..prompts.len() {
        callers.push(context.admit_again()?);
    }
    let calls = prompts.iter().zip(callers).map(|(prompt, caller)| {
        pipeline::unary::<TextGeneration>(state, context.call(envelope(prompt), caller))
    });
    let answers = futures::future::try_join_all(calls).await?;
    record.answered();
    let mut usage = CompletionUsage::default();
    let mut choices = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        let output = &answer.output;
        usage = CompletionUsage::new(
            usage.prompt_tokens + output.input_token_count,
            usage.completion_tokens + output.generated_tokens,
        );
        choices.push(choice(index as u32, output, logprobs));
    }
    let first = &answers[0];
    let body = Completion {
        id: cmpl_id,
        object: "text_completion",
        created,
        model: first.model.clone(),
        choices,
        usage: Some(usage),
    };
    let rate = answers.last().and_then(|a| a.rate);
    Ok(wire::json_answer(&body, rate, &first.model, record))
}

fn choice(index: u32, output: &GeneratedTextResult, logprobs: bool) -> CompletionChoice {
    let mut details = CompletionLogprobs::default();
    if logprobs {
        let text = output.generated_text.chars().count() as u64;
        add_tokens(
            &mut details,
            &output.tokens,
            text - tokens_chars(&output.tokens).min(text),
        );
    }
    CompletionChoice {
        index,
        text: output.generated_text.clone(),
        finish_reason: generation::finish_reason(output.finish_reason),
        logprobs: logprobs.then_some(details),
    }
}

/// Characters the tokens' texts hold.
fn tokens_chars(tokens: &[taskgate_schemas::GeneratedToken]) -> u64 {
    tokens
        .iter()
        .map(|t| generation::token_logprob(t).token.chars().count() as u64)
        .sum()
}

/// Appends `tokens`, the first at character `offset` of the choice's text; the offset after
/// them.
fn add_tokens(
    details: &mut CompletionLogprobs,
    tokens: &[taskgate_schemas::GeneratedToken],
    mut offset: u64,
) -> u64 {
    for token in tokens {
        let token = generation::token_logprob(token);
        details.text_offset.push(offset);
        offset += token.token.chars().count() as u64;
        details.token_logprobs.push(token.logprob);
        details.tokens.push(token.token);
    }
    offset
}

/// The task's stream events as OpenAI's completion chunks, then the usage chunk when asked
/// for, then `[DONE]`.
struct Chunks {
    head: Completion,
    include_usage: bool,
    logprobs: bool,
    usage: CompletionUsage,
    /// Characters of text sent so far, for `text_offset`.
    offset: u64,
}

impl Chunks {
    fn chunk(&self, choices: Vec<CompletionChoice>, usage: Option<CompletionUsage>) -> Event {
        let mut chunk = self.head.clone();
        chunk.choices = choices;
        chunk.usage = usage;
        wire::json_event(&chunk)
    }

    fn on_event(&mut self, event: GeneratedTextStreamResult) -> Vec<Event> {
        let mut out = Vec::new();
        let finish = event
            .details
            .as_ref()
            .and_then(|d| generation::finish_reason(d.finish_reason));
        if let Some(details) = &event.details {
            self.usage =
                CompletionUsage::new(details.input_token_count, details.generated_tokens.into());
        }
        let text = event.generated_text.chars().count() as u64;
        self.offset += text;
        if !event.generated_text.is_empty() || finish.is_some() {
            let logprobs = self.logprobs.then(|| {
                let mut details = CompletionLogprobs::default();
                let start = self.offset - tokens_chars(&event.tokens).min(text);
                add_tokens(&mut details, &event.tokens, start);
                details
            });
            out.push(self.chunk(
                vec![CompletionChoice {
                    index: 0,
                    text: event.generated_text,
                    finish_reason: finish,
                    logprobs,
                }],
                None,
            ));
        }
        if finish.is_some() {
            if self.include_usage {
                out.push(self.chunk(Vec::new(), Some(self.usage)));
            }
            out.push(wire::done());
        }
        out
    }
}
