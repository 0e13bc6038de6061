//! A client of OpenAI-compatible servers (vLLM, llama.cpp, llama-cpp-python, TGI): completions
//! and chat completions, whole or streamed as server-sent events, and embeddings. Requests are
//! JSON built by the caller (each server accepts its own extensions); answers are read into the
//! few fields taskgate uses, tolerating what servers add or omit.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Deserialize;
use serde_json::Value;

use super::http::HttpRemote;
use super::{Forwarded, RemoteClient, RemoteEndpoint};
use crate::error::{RemoteFailure, RuntimeError};
use crate::remote::resilience::Resilience;

/// Which generation API a model is served through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationApi {
    Completions,
    Chat,
}

impl GenerationApi {
    fn path(self) -> &'static str {
        match self {
            Self::Completions => "/v1/completions",
            Self::Chat => "/v1/chat/completions",
        }
    }
}

/// A whole completion (or the sum of a streamed one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    pub text: String,
    /// `length`, `stop`, ...; `None` while a stream goes on.
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

pub type ChunkStream = BoxStream<'static, Result<Completion, RuntimeError>>;

/// Embeddings in input order, plus the prompt tokens the server counted (when it says).
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub prompt_tokens: Option<u64>,
}

pub struct OpenAiClient {
    http: HttpRemote,
    /// The server answered per-token (unpooled) embeddings once.
    unpooled: AtomicBool,
}

impl OpenAiClient {
    pub fn new(endpoint: RemoteEndpoint) -> Result<Self, RuntimeError> {
        Ok(Self {
            http: HttpRemote::new("OpenAI-compatible server", endpoint)?,
            unpooled: AtomicBool::new(false),
        })
    }

    fn failed(&self, message: impl Into<String>) -> RuntimeError {
        self.http.error(RemoteFailure::Failed, message)
    }

    /// One whole completion; `body` is the request without `stream`.
    pub async fn complete(
        &self,
        api: GenerationApi,
        mut body: serde_json::Map<String, Value>,
        forwarded: &Forwarded,
    ) -> Result<Completion, RuntimeError> {
        body.insert("stream".into(), false.into());
        let answer: Value = self.http.post_json(api.path(), &body, forwarded).await?;
        let mut completion = self.choice(api, &answer)?;
        completion.usage = usage(&answer);
        Ok(completion)
    }

    /// A streamed completion: one item per chunk with its text delta; the item with a finish
    /// reason is the last one read. Dropping the stream closes the request upstream.
    pub async fn complete_stream(
        &self,
        api: GenerationApi,
        mut body: serde_json::Map<String, Value>,
        forwarded: &Forwarded,
    ) -> Result<ChunkStream, RuntimeError> {
        body.insert("stream".into(), true.into());
        // Servers that know it report token counts in a last chunk; others ignore it.
        body.insert(
            "stream_options".into(),
            serde_json::json!({"include_usage": true}),
        );
        let events = self.http.post_sse(api.path(), &body, forwarded).await?;
        let name = self.http.name().to_string();
        let failed = move |message: String| RuntimeError::Remote {
            backend: name.clone(),
            failure: RemoteFailure::Failed,
            message,
        };
        let chunks = events.filter_map(move |event| {
            let failed = failed.clone();
            async move {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => return Some(Err(e)),
                };
                if event.data == "[DONE]" {
                    return None;
                }
                let json: Value = match serde_json::from_str(&event.data) {
                    Ok(json) => json,
                    Err(e) => {
                        return Some(Err(failed(format!(
                            "unreadable chunk ({e}): {}",
                            event.data
                        ))));
                    }
                };
                // vLLM and TGI report failures inside the stream.
                if event.event.as_deref() == Some("error") || json.get("error").is_some() {
                    let message = super::http::error_message(&event.data).unwrap_or_default();
                    return Some(Err(failed(format!("error mid-stream: {message}"))));
                }
                Some(chunk(api, &json).map_err(failed))
            }
        });
        Ok(chunks.boxed())
    }

    /// Embeddings of `inputs` (`encoding_format: float`). A server without pooling (llama.cpp
    /// on a decoder model) answers one vector per token; those are mean-pooled, and since
    /// llama-cpp-python mixes up the token vectors of inputs that share a batch, such a server
    /// is then sent one input per request.
    pub async fn embed(
        &self,
        model: &str,
        inputs: &[String],
        forwarded: &Forwarded,
    ) -> Result<Embeddings, RuntimeError> {
        if inputs.len() > 1 && !self.unpooled.load(Ordering::Relaxed) {
            let (answer, per_token) = self.embed_batch(model, inputs, forwarded).await?;
            if !per_token {
                return Ok(answer);
            }
            self.unpooled.store(true, Ordering::Relaxed);
        }
        let mut all = Embeddings {
            vectors: Vec::with_capacity(inputs.len()),
            prompt_tokens: Some(0),
        };
        for input in inputs {
            let (answer, _) = self
                .embed_batch(model, std::slice::from_ref(input), forwarded)
                .await?;
            all.vectors.extend(answer.vectors);
            all.prompt_tokens = all
                .prompt_tokens
                .zip(answer.prompt_tokens)
                .map(|(a, b)| a + b);
        }
        Ok(all)
    }

    /// One request; also says whether the server answered per-token vectors.
    async fn embed_batch(
        &self,
        model: &str,
        inputs: &[String],
        forwarded: &Forwarded,
    ) -> Result<(Embeddings, bool), RuntimeError> {
        let body = serde_json::json!({"model": model, "input": inputs, "encoding_format": "float"});
        let answer: Value = self
            .http
            .post_json("/v1/embeddings", &body, forwarded)
            .await?;
        let data = answer["data"]
            .as_array()
            .ok_or_else(|| self.failed("embeddings answer without a `data` list"))?;
        let per_token = data
            .first()
            .is_some_and(|item| item["embedding"][0].is_array());
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; inputs.len()];
        for (position, item) in data.iter().enumerate() {
            let index = item["index"].as_u64().map_or(position, |i| i as usize);
            let slot = vectors.get_mut(index).ok_or_else(|| {
                self.failed(format!(
                    "embedding index {index} for {} inputs",
                    inputs.len()
                ))
            })?;
            *slot = Some(
                vector(&item["embedding"])
                    .map_err(|e| self.failed(format!("embedding {index}: {e}")))?,
            );
        }
        let vectors = vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| self.failed(format!("no embedding for input {i}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let embeddings = Embeddings {
            vectors,
            prompt_tokens: usage(&answer).map(|u| u.prompt_tokens),
        };
        Ok((embeddings, per_token))
    }

    fn choice(&self, api: GenerationApi, answer: &Value) -> Result<Completion, RuntimeError> {
        chunk(api, answer).map_err(|e| self.failed(e))
    }
}

impl RemoteClient for OpenAiClient {
    fn name(&self) -> &str {
        self.http.name()
    }

    fn resilience(&self) -> &Resilience {
        self.http.resilience()
    }

    /// `GET /v1/models`: every OpenAI-compatible server has it (llama-cpp-python has no
    /// `/health`).
    fn probe(&self) -> futures::future::BoxFuture<'_, Result<(), RuntimeError>> {
        self.http.probe_path("/v1/models")
    }
}

fn usage(answer: &Value) -> Option<Usage> {
    serde_json::from_value(answer.get("usage")?.clone()).ok()
}

/// The first choice of a completion or chunk. A usage-only chunk (no choices) is empty text.
fn chunk(api: GenerationApi, json: &Value) -> Result<Completion, String> {
    let usage = usage(json);
    let choices = json["choices"]
        .as_array()
        .ok_or_else(|| format!("answer without `choices`: {json}"))?;
    let Some(choice) = choices.first() else {
        return Ok(Completion {
            usage,
            ..Completion::default()
        });
    };
    let text = match api {
        GenerationApi::Completions => &choice["text"],
        // A whole answer has `message`, a chunk `delta`; either may lack content.
        GenerationApi::Chat => match choice.get("delta") {
            Some(delta) => &delta["content"],
            None => &choice["message"]["content"],
        },
    };
    let text = match text {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => return Err(format!("text is not a string: {other}")),
    };
    Ok(Completion {
        text,
        finish_reason: choice["finish_reason"].as_str().map(str::to_string),
        usage,
    })
}

/// A flat vector, or per-token vectors mean-pooled into one.
fn vector(value: &Value) -> Result<Vec<f32>, String> {
    let items = value.as_array().ok_or("not a list")?;
    let number = |v: &Value| {
        v.as_f64()
            .map(|x| x as f32)
            .ok_or(format!("not a number: {v}"))
    };
    if items.first().is_some_and(Value::is_array) {
        let rows = items
            .iter()
            .map(|row| {
                row.as_array()
                    .ok_or("mixed vectors and numbers".to_string())?
                    .iter()
                    .map(number)
                    .collect()
            })
            .collect::<Result<Vec<Vec<f32>>, String>>()?;
        let width = rows[0].len();
        if rows.iter().any(|r| r.len() != width) {
            return Err("token vectors of different lengths".into());
        }
        let mut mean = vec![0.0f32; width];
        for row in &rows {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += x;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows.len() as f32);
        return Ok(mean);
    }
    let flat = items
        .iter()
        .map(number)
        .collect::<Result<Vec<f32>, String>>()?;
    if flat.is_empty() {
        return Err("empty vector".into());
    }
    Ok(flat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chunks_of_both_apis_and_usage_only_chunks_are_read() {
        let completion =
            json!({"choices": [{"text": " Paris", "index": 0, "finish_reason": null}]});
        let c = chunk(GenerationApi::Completions, &completion).unwrap();
        assert_eq!((c.text.as_str(), c.finish_reason), (" Paris", None));
        let chat = json!({"choices": [{"delta": {"role": "assistant"}, "finish_reason": null}]});
        assert_eq!(chunk(GenerationApi::Chat, &chat).unwrap().text, "");
        let last = json!({"choices": [{"delta": {}, "finish_reason": "stop"}]});
        assert_eq!(
            chunk(GenerationApi::Chat, &last)
                .unwrap()
                .finish_reason
                .as_deref(),
            Some("stop")
        );
        let whole = json!({"choices": [{"message": {"role": "assistant", "content": "Hi"},
            "finish_reason": "length"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}});
        let c = chunk(GenerationApi::Chat, &whole).unwrap();
        assert_eq!(c.text, "Hi");
        assert_eq!(c.usage.unwrap().prompt_tokens, 3);
        let usage_only =
            json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}});
        let c = chunk(GenerationApi::Completions, &usage_only).unwrap();
        assert_eq!(
            (c.text.as_str(), c.usage.unwrap().completion_tokens),
            ("", 2)
        );
        assert!(chunk(GenerationApi::Completions, &json!({"id": "x"})).is_err());
        assert!(
            chunk(
                GenerationApi::Completions,
                &json!({"choices": [{"text": 5}]})
            )
            .is_err()
        );
    }

    #[test]
    fn flat_and_per_token_embeddings_become_one_vector() {
        assert_eq!(vector(&json!([1.0, 2.0])).unwrap(), vec![1.0, 2.0]);
        assert_eq!(
            vector(&json!([[1.0, 2.0], [3.0, 6.0]])).unwrap(),
            vec![2.0, 4.0]
        );
        assert!(vector(&json!([[1.0], [1.0, 2.0]])).is_err());
        assert!(vector(&json!([])).is_err());
        assert!(vector(&json!(["a"])).is_err());
        assert!(vector(&json!("x")).is_err());
    }
}
