//! The HTTP side of every remote protocol spoken over JSON (OpenAI-compatible, KServe v2 REST,
//! TEI): one pooled client per endpoint, the endpoint's timeouts, retries and circuit breaker,
//! the caller's request id and trace context on every call, and remote errors classified once,
//! whatever shape their body has.

use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::resilience::Resilience;
use super::sse::SseDecoder;
use super::{Forwarded, RemoteEndpoint, remote_error, with_idle_timeout};
use crate::error::{RemoteFailure, RuntimeError};
use crate::trace::TraceHeaders;

/// The data of each server-sent event, in order.
pub type EventStream = BoxStream<'static, Result<SseEvent, RuntimeError>>;
pub use super::sse::SseEvent;

/// The longest remote error text passed on to callers.
const MAX_ERROR_CHARS: usize = 500;

pub struct HttpRemote {
    endpoint: RemoteEndpoint,
    client: reqwest::Client,
    resilience: Resilience,
    name: String,
}

impl HttpRemote {
    /// `protocol` names the remote in errors ("OpenAI server at http://…").
    pub fn new(protocol: &str, endpoint: RemoteEndpoint) -> Result<Self, RuntimeError> {
        let name = format!("{protocol} at {}", endpoint.url);
        let url = reqwest::Url::parse(&endpoint.url).map_err(|e| {
            RuntimeError::Unavailable(format!(
                "invalid {protocol} endpoint '{}': {e}",
                endpoint.url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RuntimeError::Unavailable(format!(
                "invalid {protocol} endpoint '{}': expected http:// or https://",
                endpoint.url
            )));
        }
        let builder = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            // Redirects could lead a call to an address nobody configured.
            .redirect(reqwest::redirect::Policy::none());
        let client = endpoint
            .tls
            .http(builder, &name)?
            .build()
            .map_err(|e| RuntimeError::Unavailable(format!("{name}: HTTP client: {e}")))?;
        Ok(Self {
            resilience: Resilience::for_endpoint(name.clone(), &endpoint),
            name,
            endpoint,
            client,
        })
    }

    pub fn error(&self, failure: RemoteFailure, message: impl Into<String>) -> RuntimeError {
        remote_error(&self.name, failure, message)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint.url.trim_end_matches('/'))
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        forwarded: &Forwarded,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("x-request-id", &forwarded.request_id);
        let trace = TraceHeaders::outgoing(&forwarded.trace);
        if let Some(traceparent) = trace.traceparent {
            request = request.header("traceparent", traceparent);
        }
        if let Some(tracestate) = trace.tracestate {
            request = request.header("tracestate", tracestate);
        }
        request
    }

    /// POSTs `body` and reads a JSON answer, retrying what is safe to retry.
    pub async fn post_json<B, T>(
        &self,
        path: &str,
        body: &B,
        forwarded: &Forwarded,
    ) -> Result<T, RuntimeError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let (answer, _) = self
            .post_json_with_header(path, body, "", forwarded)
            .await?;
        Ok(answer)
    }

    /// [`Self::post_json`], also giving the answer's `header` (when present): some runtimes
    /// report what a call cost in response headers (TEI's `x-compute-tokens`).
    pub async fn post_json_with_header<B, T>(
        &self,
        path: &str,
        body: &B,
        header: &str,
        forwarded: &Forwarded,
    ) -> Result<(T, Option<String>), RuntimeError>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.resilience
            .unary(|| async {
                let request = self
                    .request(reqwest::Method::POST, path, forwarded)
                    .json(body);
                self.json_answer(request, header).await
            })
            .await
    }

    /// GETs a JSON answer, retrying what is safe to retry.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        forwarded: &Forwarded,
    ) -> Result<T, RuntimeError> {
        self.resilience
            .unary(|| async {
                let request = self.request(reqwest::Method::GET, path, forwarded);
                let (answer, _) = self.json_answer(request, "").await?;
                Ok(answer)
            })
            .await
    }

    /// GETs `path` once (no retries, no circuit): is the remote answering 2xx right now?
    /// For [`RemoteClient::probe`](super::RemoteClient::probe) of HTTP protocols.
    pub fn probe_path(&self, path: impl Into<String>) -> BoxFuture<'_, Result<(), RuntimeError>> {
        let path = path.into();
        Box::pin(async move {
            let request = self.request(reqwest::Method::GET, &path, &Forwarded::default());
            self.send(request).await.map(drop)
        })
    }

    /// How errors name this backend.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its retries and circuit breaker.
    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    /// POSTs `body` and reads the answer as server-sent events. Starting the stream may be
    /// retried (nothing reached the caller yet); once started, each event must come within the
    /// idle timeout, and dropping the stream closes the upstream request.
    pub async fn post_sse<B>(
        &self,
        path: &str,
        body: &B,
        forwarded: &Forwarded,
    ) -> Result<EventStream, RuntimeError>
    where
        B: Serialize + ?Sized,
    {
        let response = self
            .resilience
            .unary(|| async {
                let request = self
                    .request(reqwest::Method::POST, path, forwarded)
                    .header("accept", "text/event-stream")
                    .json(body);
                self.send(request).await
            })
            .await?;
        let name = self.name.clone();
        let mut decoder = SseDecoder::default();
        let events = response
            .bytes_stream()
            .map(move |chunk| match chunk {
                Ok(bytes) => Ok(decoder.push(&bytes)),
                Err(e) => Err(transport_error(&name, &e)),
            })
            .flat_map(|batch| {
                futures::stream::iter(match batch {
                    Ok(events) => events.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            });
        let idle = self.endpoint.stream_idle_timeout;
        let idle_error = self.error(
            RemoteFailure::TimedOut,
            format!("no event within {} ms", idle.as_millis()),
        );
        let running = self.resilience.in_flight();
        Ok(with_idle_timeout(Box::pin(events), idle, idle_error, running).boxed())
    }

    /// The JSON answer and the value of its `header` (none asked for when empty).
    async fn json_answer<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        header: &str,
    ) -> Result<(T, Option<String>), RuntimeError> {
        let timeout = self.endpoint.request_timeout;
        let read = async {
            let response = self.send(request).await?;
            let value = (!header.is_empty())
                .then(|| {
                    response
                        .headers()
                        .get(header)?
                        .to_str()
                        .ok()
                        .map(str::to_string)
                })
                .flatten();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| transport_error(&self.name, &e))?;
            let answer = serde_json::from_slice(&bytes).map_err(|e| {
                self.error(
                    RemoteFailure::Failed,
                    format!(
                        "unexpected answer ({e}): {}",
                        excerpt(&String::from_utf8_lossy(&bytes))
                    ),
                )
            })?;
            Ok((answer, value))
        };
        tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| self.timed_out(timeout))?
    }

    /// Sends within the request timeout; a non-2xx answer becomes a classified error.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, RuntimeError> {
        let timeout = self.endpoint.request_timeout;
        let response = tokio::time::timeout(timeout, request.send())
            .await
            .map_err(|_| self.timed_out(timeout))?
            .map_err(|e| transport_error(&self.name, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = tokio::time::timeout(timeout, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = error_message(&String::from_utf8_lossy(&body))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        Err(self.error(
            status_failure(status.as_u16()),
            format!("HTTP {}: {message}", status.as_u16()),
        ))
    }

    fn timed_out(&self, after: Duration) -> RuntimeError {
        self.error(
            RemoteFailure::TimedOut,
            format!("no answer within {} ms", after.as_millis()),
        )
    }
}

/// What a remote's HTTP status says about the call.
fn status_failure(status: u16) -> RemoteFailure {
    match status {
        429 => RemoteFailure::Busy,
        // Not ready (starting, draining): nothing ran, so a retry is safe.
        503 => RemoteFailure::Unreachable,
        408 => RemoteFailure::TimedOut,
        // TEI and TGI: the model failed to run the (valid) request.
        424 => RemoteFailure::Failed,
        400..=499 => RemoteFailure::Rejected,
        _ => RemoteFailure::Failed,
    }
}

fn transport_error(backend: &str, error: &reqwest::Error) -> RuntimeError {
    let failure = if error.is_timeout() {
        RemoteFailure::TimedOut
    } else if error.is_connect() {
        RemoteFailure::Unreachable
    } else {
        RemoteFailure::Failed
    };
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    remote_error(backend, failure, message)
}

/// The remote's own error text, from any of the body shapes runtimes use:
/// `{"error": {"message": …}}` (OpenAI, vLLM), `{"object": "error", "message": …}` (older
/// vLLM), `{"error": "…"}` (KServe, TEI, TGI), `{"detail": …}` (FastAPI), or plain text.
pub fn error_message(body: &str) -> Option<String> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return Some(excerpt(body));
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let message = match (&json["error"], &json["message"], &json["detail"]) {
        (serde_json::Value::Object(error), _, _) if error.contains_key("message") => {
            text(&error["message"])
        }
        (serde_json::Value::String(error), _, _) => error.clone(),
        (_, message, _) if !message.is_null() => text(message),
        (_, _, detail) if !detail.is_null() => text(detail),
        _ => json.to_string(),
    };
    Some(excerpt(&message))
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_body_shape_yields_the_remote_message() {
        let cases = [
            (
                r#"{"error":{"message":"bad max_tokens","type":"invalid_request_error","param":null,"code":null}}"#,
                "bad max_tokens",
            ),
            (
                r#"{"object":"error","message":"old vllm says no","type":"BadRequestError","code":400}"#,
                "old vllm says no",
            ),
            (
                r#"{"error":"Model nope not found"}"#,
                "Model nope not found",
            ),
            (
                r#"{"error":"Input validation error","error_type":"Validation"}"#,
                "Input validation error",
            ),
            (
                r#"{"detail":[{"loc":["body","x"],"msg":"field required"}]}"#,
                r#"[{"loc":["body","x"],"msg":"field required"}]"#,
            ),
            ("Internal Server Error", "Internal Server Error"),
        ];
        for (body, expected) in cases {
            assert_eq!(error_message(body).as_deref(), Some(expected), "{body}");
        }
        assert_eq!(error_message("  "), None);
        let long = "x".repeat(2 * MAX_ERROR_CHARS);
        assert_eq!(
            error_message(&long).unwrap().chars().count(),
            MAX_ERROR_CHARS + 1
        );
    }

    #[test]
    fn statuses_are_classified_by_what_the_caller_can_do() {
        assert_eq!(status_failure(400), RemoteFailure::Rejected);
        assert_eq!(status_failure(404), RemoteFailure::Rejected);
        assert_eq!(status_failure(422), RemoteFailure::Rejected);
        assert_eq!(status_failure(424), RemoteFailure::Failed);
        assert_eq!(status_failure(429), RemoteFailure::Busy);
        assert_eq!(status_failure(503), RemoteFailure::Unreachable);
        assert_eq!(status_failure(500), RemoteFailure::Failed);
        assert_eq!(status_failure(502), RemoteFailure::Failed);
    }
}
