//! A stand-in for IBM TGIS (no real server installs here), written from the proto: it
//! "generates" the prompt's words in reverse order, records the parameters it was sent, and
//! misbehaves on cue (prompts `REJECT`, `BUSY`, `SLOW`, `HANG`, `BREAK`, `FLAKY`) for the fault
//! tests.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use taskgate_gateway::serve::Server;
use taskgate_runtime::remote::fmaas;
use taskgate_runtime::remote::fmaas::generation_service_server::{
    GenerationService, GenerationServiceServer,
};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// `(x-request-id, traceparent)` as one call carried them.
pub type SeenHeaders = (Option<String>, Option<String>);

#[derive(Clone, Default)]
pub struct FakeTgis {
    /// Every `(model_id, parameters)` received, in order.
    pub seen: Arc<Mutex<Vec<(String, fmaas::Parameters)>>>,
    /// The forwarded metadata of every call, in order.
    pub headers: Arc<Mutex<Vec<SeenHeaders>>>,
    /// Calls with the `FLAKY` prompt so far; every other one fails as UNAVAILABLE.
    flaky: Arc<std::sync::atomic::AtomicU32>,
}

/// A running fake; dropping it stops it.
pub struct RunningFake {
    pub url: String,
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningFake {
    /// Serves `router` on 127.0.0.1:`port` (0: any free port) until stopped or dropped.
    pub async fn serve(router: axum::Router, port: u16) -> Self {
        let server = Server::bind(&format!("127.0.0.1:{port}"), router)
            .await
            .expect("the fake binds");
        let port = server.local_addr().unwrap().port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops serving and waits until every connection to it is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningFake {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl FakeTgis {
    /// Serves on `port` (0: any free port).
    pub async fn start(&self, port: u16) -> RunningFake {
        let router = tonic::service::Routes::new(GenerationServiceServer::new(self.clone()))
            .prepare()
            .into_axum_router();
        RunningFake::serve(router, port).await
    }

    fn record_headers(&self, metadata: &tonic::metadata::MetadataMap) {
        let get = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        self.headers
            .lock()
            .unwrap()
            .push((get("x-request-id"), get("traceparent")));
    }

    fn record(&self, model_id: &str, params: &Option<fmaas::Parameters>) {
        self.seen
            .lock()
            .unwrap()
            .push((model_id.to_string(), params.clone().unwrap_or_default()));
    }

    pub fn last(&self) -> (String, fmaas::Parameters) {
        self.seen.lock().unwrap().last().cloned().expect("a call")
    }
}

/// Reacts to the cue prompts; `None` means "behave".
async fn misbehave(fake: &FakeTgis, prompt: &str) -> Option<Status> {
    match prompt {
        "FLAKY" => {
            let n = fake.flaky.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            n.is_multiple_of(2)
                .then(|| Status::unavailable("warming up"))
        }
        "REJECT" => Some(Status::invalid_argument("the fake rejects this prompt")),
        "BUSY" => Some(Status::resource_exhausted("Model is overloaded")),
        "SLOW" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            None
        }
        _ => None,
    }
}

struct Plan {
    words: Vec<String>,
    capped: bool,
    input_count: u32,
    seed: u64,
    options: fmaas::ResponseOptions,
}

fn plan(prompt: &str, params: &Option<fmaas::Parameters>) -> Plan {
    let params = params.clone().unwrap_or_default();
    let max = match params.stopping.as_ref().map(|s| s.max_new_tokens) {
        None | Some(0) => 20,
        Some(n) => n as usize,
    };
    let reversed: Vec<String> = prompt.split_whitespace().rev().map(String::from).collect();
    let sampling = params.method == fmaas::DecodingMethod::Sample as i32;
    Plan {
        capped: reversed.len() > max,
        input_count: prompt.split_whitespace().count() as u32,
        words: reversed.into_iter().take(max).collect(),
        seed: if sampling {
            params.sampling.and_then(|s| s.seed).unwrap_or(4242)
        } else {
            0
        },
        options: params.response.unwrap_or_default(),
    }
}

fn token(text: &str, i: usize) -> fmaas::TokenInfo {
    fmaas::TokenInfo {
        text: text.to_string(),
        logprob: -0.25 * (i as f32 + 1.0),
        rank: i as u32 + 1,
        top_tokens: vec![],
    }
}

fn input_tokens(prompt: &str, plan: &Plan) -> Vec<fmaas::TokenInfo> {
    if !plan.options.input_tokens {
        return vec![];
    }
    prompt
        .split_whitespace()
        .enumerate()
        .map(|(i, w)| token(w, i))
        .collect()
}

fn reason(plan: &Plan) -> i32 {
    if plan.capped {
        fmaas::StopReason::MaxTokens as i32
    } else {
        fmaas::StopReason::EosToken as i32
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<fmaas::GenerationResponse, Status>> + Send>>;

#[tonic::async_trait]
impl GenerationService for FakeTgis {
    async fn generate(
        &self,
        request: Request<fmaas::BatchedGenerationRequest>,
    ) -> Result<Response<fmaas::BatchedGenerationResponse>, Status> {
        self.record_headers(request.metadata());
        let request = request.into_inner();
        self.record(&request.model_id, &request.params);
        let mut responses = Vec::new();
        for item in &request.requests {
            if let Some(status) = misbehave(self, &item.text).await {
                return Err(status);
            }
            let plan = plan(&item.text, &request.params);
            let generated: String = plan.words.iter().map(|w| format!(" {w}")).collect();
            let text = if plan.options.input_text {
                format!("{}{generated}", item.text)
            } else {
                generated
            };
            responses.push(fmaas::GenerationResponse {
                input_token_count: plan.input_count,
                generated_token_count: plan.words.len() as u32,
                text,
                stop_reason: reason(&plan),
                seed: plan.seed,
                tokens: if plan.options.generated_tokens {
                    plan.words
                        .iter()
                        .enumerate()
                        .map(|(i, w)| token(w, i))
                        .collect()
                } else {
                    vec![]
                },
                input_tokens: input_tokens(&item.text, &plan),
                ..Default::default()
            });
        }
        Ok(Response::new(fmaas::BatchedGenerationResponse {
            responses,
        }))
    }

    type GenerateStreamStream = ResponseStream;

    async fn generate_stream(
        &self,
        request: Request<fmaas::SingleGenerationRequest>,
    ) -> Result<Response<Self::GenerateStreamStream>, Status> {
        self.record_headers(request.metadata());
        let request = request.into_inner();
        self.record(&request.model_id, &request.params);
        let prompt = request.request.map(|r| r.text).unwrap_or_default();
        if let Some(status) = misbehave(self, &prompt).await {
            return Err(status);
        }
        let plan = plan(&prompt, &request.params);
        let mut messages = vec![fmaas::GenerationResponse {
            input_token_count: plan.input_count,
            seed: plan.seed,
            text: if plan.options.input_text {
                prompt.clone()
            } else {
                String::new()
            },
            input_tokens: input_tokens(&prompt, &plan),
            ..Default::default()
        }];
        for (i, word) in plan.words.iter().enumerate() {
            messages.push(fmaas::GenerationResponse {
                generated_token_count: i as u32 + 1,
                text: format!(" {word}"),
                tokens: if plan.options.generated_tokens {
                    vec![token(word, i)]
                } else {
                    vec![]
                },
                ..Default::default()
            });
        }
        if let Some(last) = messages.last_mut().filter(|_| !plan.words.is_empty()) {
            last.stop_reason = reason(&plan);
        } else {
            messages.push(fmaas::GenerationResponse {
                stop_reason: reason(&plan),
                ..Default::default()
            });
        }
        let hang = prompt.starts_with("HANG");
        let breaks = prompt.starts_with("BREAK");
        let stream = futures::stream::iter(messages.into_iter().map(Ok));
        let stream: ResponseStream = if hang {
            // Two messages, then silence: a remote stuck mid-stream.
            Box::pin(futures::StreamExt::chain(
                futures::StreamExt::take(stream, 2),
                futures::stream::pending(),
            ))
        } else if breaks {
            // Two messages, then the runtime fails mid-stream.
            Box::pin(futures::StreamExt::chain(
                futures::StreamExt::take(stream, 2),
                futures::stream::once(async { Err(Status::unavailable("the runtime went away")) }),
            ))
        } else {
            Box::pin(stream)
        };
        Ok(Response::new(stream))
    }

    async fn tokenize(
        &self,
        request: Request<fmaas::BatchedTokenizeRequest>,
    ) -> Result<Response<fmaas::BatchedTokenizeResponse>, Status> {
        self.record_headers(request.metadata());
        let request = request.into_inner();
        let responses = request
            .requests
            .iter()
            .map(|r| {
                let mut tokens = Vec::new();
                let mut offsets = Vec::new();
                let mut start = None;
                let chars: Vec<char> = r.text.chars().collect();
                for (i, c) in chars.iter().chain(std::iter::once(&' ')).enumerate() {
                    match (c.is_whitespace(), start) {
                        (false, None) => start = Some(i),
                        (true, Some(s)) => {
                            tokens.push(chars[s..i].iter().collect());
                            offsets.push(fmaas::tokenize_response::Offset {
                                start: s as u32,
                                end: i as u32,
                            });
                            start = None;
                        }
                        _ => {}
                    }
                }
                fmaas::TokenizeResponse {
                    token_count: tokens.len() as u32,
                    tokens: if request.return_tokens {
                        tokens
                    } else {
                        vec![]
                    },
                    offsets: if request.return_offsets {
                        offsets
                    } else {
                        vec![]
                    },
                }
            })
            .collect();
        Ok(Response::new(fmaas::BatchedTokenizeResponse { responses }))
    }

    async fn model_info(
        &self,
        _request: Request<fmaas::ModelInfoRequest>,
    ) -> Result<Response<fmaas::ModelInfoResponse>, Status> {
        Ok(Response::new(fmaas::ModelInfoResponse {
            model_kind: fmaas::model_info_response::ModelKind::DecoderOnly as i32,
            max_sequence_length: 2048,
            max_new_tokens: 1024,
        }))
    }
}
