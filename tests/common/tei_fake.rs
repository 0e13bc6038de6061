//! A stand-in for Hugging Face Text Embeddings Inference (no server installs here), written
//! from TEI's OpenAPI document: the same routes, request and answer shapes, status codes and
//! `{"error", "error_type"}` bodies, and the `x-compute-tokens` header. Like TEI it serves one
//! model of one kind. Its "model" is a few rules that tests recompute (the `pub fn`s below):
//! whitespace words as tokens between `[CLS]` and `[SEP]`, hashed words summed into vectors,
//! keyword-counted classes and word-overlap relevance. It records every request, and misbehaves
//! on cue: a text containing `OVERLOAD` gets 429, `SLOW` an answer after 3 s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::BinaryServer;
use super::tei_rules::{
    LABELS, MAX_CLIENT_BATCH_SIZE, MAX_INPUT_LENGTH, class_logits, embedding, fnv, kept,
    rerank_logit, sigmoid, softmax, word_spans, words,
};
use super::tgis_fake::RunningFake;

const CLS: u64 = 101;
const SEP: u64 = 102;

/// The kind of model the fake runs; the other kinds' routes answer 424, as TEI does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Embedding,
    Classifier,
    Reranker,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub route: &'static str,
    pub body: Value,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
}

#[derive(Clone)]
pub struct FakeTei {
    kind: Kind,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// TEI's error answer: a status and `{"error", "error_type"}`.
pub struct TeiError {
    status: u16,
    error_type: &'static str,
    message: String,
}

impl IntoResponse for TeiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.message, "error_type": self.error_type});
        (StatusCode::from_u16(self.status).unwrap(), Json(body)).into_response()
    }
}

type Answer = Result<(Value, usize), TeiError>;

fn error(status: u16, error_type: &'static str, message: impl Into<String>) -> TeiError {
    TeiError {
        status,
        error_type,
        message: message.into(),
    }
}

fn validation(message: impl Into<String>) -> TeiError {
    error(422, "Validation", message)
}

/// The texts of an `inputs` that is a string or a list of strings.
fn texts(inputs: &Value) -> Result<Vec<String>, TeiError> {
    let texts: Vec<String> = match inputs {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| validation("the fake takes texts only"))?,
        _ => return Err(validation("`inputs` must be a string or a list")),
    };
    if texts.is_empty() || texts.iter().any(String::is_empty) {
        return Err(validation("`inputs` cannot be empty"));
    }
    if texts.len() > MAX_CLIENT_BATCH_SIZE {
        return Err(error(
            413,
            "Validation",
            format!(
                "batch size {} > maximum allowed batch size {MAX_CLIENT_BATCH_SIZE}",
                texts.len()
            ),
        ));
    }
    Ok(texts)
}

fn flag(body: &Value, key: &str, default: bool) -> bool {
    body[key].as_bool().unwrap_or(default)
}

impl FakeTei {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            seen: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Serves on `port` (0: any free port).
    pub async fn start(&self, port: u16) -> RunningFake {
        let route = |name: &'static str| {
            post(
                move |State(fake): State<FakeTei>, headers: HeaderMap, Json(body): Json<Value>| async move {
                    fake.answer(name, &headers, body).await
                },
            )
        };
        let router = axum::Router::new()
            .route("/embed", route("/embed"))
            .route("/predict", route("/predict"))
            .route("/rerank", route("/rerank"))
            .route("/tokenize", route("/tokenize"))
            .route("/health", get(|| async { StatusCode::OK }))
            .route(
                "/info",
                get(|State(fake): State<FakeTei>| async move { fake.info() }),
            )
            .with_state(self.clone());
        RunningFake::serve(router, port).await
    }

    /// The last request to `route`.
    pub fn last(&self, route: &str) -> Seen {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .rev()
            .find(|s| s.route == route)
            .cloned()
            .expect("a call")
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn info(&self) -> Json<Value> {
        let model_type = match self.kind {
            Kind::Embedding => json!({"embedding": {"pooling": "mean"}}),
            Kind::Classifier => json!({"classifier": {"id2label":
                {"0": LABELS[0], "1": LABELS[1], "2": LABELS[2]}, "label2id": {}}}),
            Kind::Reranker => json!({"reranker": {"id2label": {"0": "LABEL_0"}, "label2id": {}}}),
        };
        Json(
            json!({"model_id": "fake/tei", "model_dtype": "float32", "model_type": model_type,
            "max_concurrent_requests": 512, "max_input_length": MAX_INPUT_LENGTH,
            "max_batch_tokens": 16384, "max_client_batch_size": MAX_CLIENT_BATCH_SIZE,
            "auto_truncate": false, "tokenization_workers": 1, "version": "1.7.1"}),
        )
    }

    async fn answer(&self, route: &'static str, headers: &HeaderMap, body: Value) -> Response {
        let header = |key: &str| {
            headers
                .get(key)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        self.seen.lock().unwrap().push(Seen {
            route,
            body: body.clone(),
            request_id: header("x-request-id"),
            traceparent: header("traceparent"),
        });
        let text = body.to_string();
        if text.contains("OVERLOAD") {
            return error(429, "Overloaded", "Model is overloaded").into_response();
        }
        if text.contains("SLOW") {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let answer = match (route, self.kind) {
            ("/tokenize", _) => tokenize(&body),
            ("/embed", Kind::Embedding) => embed(&body),
            ("/predict", Kind::Classifier) => predict(&body),
            ("/rerank", Kind::Reranker) => rerank(&body),
            (route, kind) => Err(error(
                424,
                "Backend",
                format!("{route}: the model is a {kind:?}, not the model this route needs"),
            )),
        };
        match answer {
            Ok((json, tokens)) => {
                ([("x-compute-tokens", tokens.to_string())], Json(json)).into_response()
            }
            Err(error) => error.into_response(),
        }
    }
}

fn embed(body: &Value) -> Answer {
    let truncate = flag(body, "truncate", false);
    let mut tokens = 0;
    let mut vectors = Vec::new();
    for text in texts(&body["inputs"])? {
        let kept = kept(&words(&text), 2, truncate).map_err(validation)?;
        tokens += kept.len() + 2;
        let mut vector = embedding(&kept);
        if flag(body, "normalize", true) {
            let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            vector.iter_mut().for_each(|x| *x /= norm);
        }
        vectors.push(vector);
    }
    Ok((json!(vectors), tokens))
}

/// Single texts only (no pairs): one text answers a list of scores, a batch (`[[text], ...]`)
/// a list per input.
fn predict(body: &Value) -> Answer {
    let batch = body["inputs"].is_array();
    let inputs = match &body["inputs"] {
        Value::String(_) => body["inputs"].clone(),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| match item.as_array().map(Vec::as_slice) {
                    Some([text]) => Ok(text.clone()),
                    _ => Err(validation("the fake classifies single texts only")),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(validation("`inputs` must be a string or a batch")),
    };
    let (truncate, raw) = (
        flag(body, "truncate", false),
        flag(body, "raw_scores", false),
    );
    let mut tokens = 0;
    let mut answers = Vec::new();
    for text in texts(&inputs)? {
        tokens += kept(&words(&text), 2, truncate).map_err(validation)?.len() + 2;
        let logits = class_logits(&text);
        let scores = if raw {
            logits.to_vec()
        } else {
            softmax(&logits)
        };
        // Label order: taskgate must sort by score itself.
        let predictions: Vec<Value> = LABELS
            .iter()
            .zip(scores)
            .map(|(label, score)| json!({"label": label, "score": score}))
            .collect();
        answers.push(Value::Array(predictions));
    }
    if batch {
        Ok((json!(answers), tokens))
    } else {
        Ok((answers.remove(0), tokens))
    }
}

fn rerank(body: &Value) -> Answer {
    let query = body["query"]
        .as_str()
        .ok_or_else(|| validation("`query` is required"))?;
    let texts = texts(&body["texts"])?;
    let (truncate, raw) = (
        flag(body, "truncate", false),
        flag(body, "raw_scores", false),
    );
    let mut tokens = 0;
    let mut ranks = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let pair: Vec<&str> = words(query).into_iter().chain(words(text)).collect();
        tokens += kept(&pair, 3, truncate).map_err(validation)?.len() + 3;
        let logit = rerank_logit(query, text);
        let score = if raw { logit } else { sigmoid(logit) };
        let mut rank = json!({"index": index, "score": score});
        if flag(body, "return_text", false) {
            rank["text"] = json!(text);
        }
        ranks.push((score, rank));
    }
    // TEI answers best first.
    ranks.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok((
        json!(ranks.into_iter().map(|(_, r)| r).collect::<Vec<_>>()),
        tokens,
    ))
}

/// Byte offsets, as TEI gives them; special tokens have none.
fn tokenize(body: &Value) -> Answer {
    let special = flag(body, "add_special_tokens", true);
    let marker = |id: u64, text: &str| json!({"id": id, "text": text, "special": true, "start": null, "stop": null});
    let mut tokens = 0;
    let mut lists = Vec::new();
    for text in texts(&body["inputs"])? {
        let mut list: Vec<Value> = word_spans(&text)
            .into_iter()
            .map(|(start, stop)| {
                let word = &text[start..stop];
                json!({"id": 1000 + fnv(word) % 30000, "text": word, "special": false,
                    "start": start, "stop": stop})
            })
            .collect();
        if special {
            list.insert(0, marker(CLS, "[CLS]"));
            list.push(marker(SEP, "[SEP]"));
        }
        tokens += list.len();
        lists.push(Value::Array(list));
    }
    Ok((json!(lists), tokens))
}

pub struct TeiSetup {
    pub embedder: FakeTei,
    pub classifier: FakeTei,
    pub reranker: FakeTei,
    pub running: Vec<RunningFake>,
    pub server: BinaryServer,
}

/// Three fakes and taskgate serving them: `embed` (batches of at most 4), `embed-wide` (more
/// than TEI takes, unnormalized), `classify`, `rerank`, and `misrouted` (an embeddings model
/// pointed at the reranker).
pub async fn serve_tei(test: &str) -> TeiSetup {
    let (embedder, classifier, reranker) = (
        FakeTei::new(Kind::Embedding),
        FakeTei::new(Kind::Classifier),
        FakeTei::new(Kind::Reranker),
    );
    let running = vec![
        embedder.start(0).await,
        classifier.start(0).await,
        reranker.start(0).await,
    ];
    let backend = |fake: usize, settings: Value| {
        let mut backend = json!({"kind": "tei", "endpoint": running[fake].url,
            "model_name": "fake/tei", "request_timeout_ms": 1000, "retries": 0});
        backend
            .as_object_mut()
            .unwrap()
            .extend(settings.as_object().cloned().unwrap());
        backend
    };
    let models = json!([
        {"id": "embed", "backend": backend(0, json!({"task": "embeddings", "max_client_batch_size": 4}))},
        {"id": "embed-wide", "backend": backend(0, json!({"task": "embeddings",
            "max_client_batch_size": 64, "normalize": false}))},
        {"id": "classify", "backend": backend(1, json!({"task": "text-classification"}))},
        {"id": "rerank", "backend": backend(2, json!({"task": "rerank"}))},
        {"id": "misrouted", "backend": backend(2, json!({"task": "embeddings"}))},
    ]);
    let server = super::serve_models(&format!("tei-{test}"), models, json!({}));
    TeiSetup {
        embedder,
        classifier,
        reranker,
        running,
        server,
    }
}
