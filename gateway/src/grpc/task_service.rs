//! `caikit.runtime.Nlp.NlpService`: the gRPC adapter of the call pipeline. Its methods are not
//! written out one by one: each is the gRPC side of an entry in the task list
//! ([`crate::task_list`]), found by method name, decoded, run through [`crate::pipeline`] and
//! encoded back.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http;
use futures::StreamExt;
use futures::future::BoxFuture;
use taskgate_modules::Task;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tracing::Instrument;

use super::call;
use super::convert::ProtoRequest;
use super::router::NLP_SERVICE;
use crate::auth::rate_limit::RateStatus;
use crate::error::ApiError;
use crate::metrics::{CallRecord, Wire};
use crate::pipeline::{self, Call};
use crate::state::AppState;
use crate::usage::TokenUsage;

/// The gRPC answer message of a task whose output (or event) is `O`.
pub trait ProtoResponse<O>: prost::Message + Default + From<O> + Send + 'static {}

impl<O, M: prost::Message + Default + From<O> + Send + 'static> ProtoResponse<O> for M {}

/// Serves one method: the HTTP/2 request of a gRPC call → its HTTP/2 answer, with messages of at
/// most the given size each way.
pub type GrpcHandler =
    fn(AppState, usize, http::Request<Body>) -> BoxFuture<'static, http::Response<Body>>;

/// Every method of the task service, dispatched by name over the task list.
#[derive(Clone)]
pub struct TaskService {
    state: AppState,
    /// Each method's handler, by method name (from the task list).
    methods: Arc<HashMap<&'static str, GrpcHandler>>,
    max_message_bytes: usize,
}

impl TaskService {
    pub fn new(
        state: AppState,
        methods: impl IntoIterator<Item = (&'static str, GrpcHandler)>,
        max_message_bytes: usize,
    ) -> Self {
        Self {
            state,
            methods: Arc::new(methods.into_iter().collect()),
            max_message_bytes,
        }
    }
}

impl NamedService for TaskService {
    const NAME: &'static str = NLP_SERVICE;
}

impl tower::Service<http::Request<Body>> for TaskService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = request.uri().path().rsplit('/').next().unwrap_or_default();
        match self.methods.get(method) {
            Some(serve) => {
                let answer = serve(self.state.clone(), self.max_message_bytes, request);
                Box::pin(async move { Ok(answer.await) })
            }
            None => {
                let status = Status::unimplemented(format!(
                    "Method '{method}' is not a method of {NLP_SERVICE}"
                ));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

/// The gRPC side of a unary task: the answer, or the error as a status.
pub(crate) fn unary<T, Req, Resp>(
    state: AppState,
    max_message_bytes: usize,
    request: http::Request<Body>,
) -> BoxFuture<'static, http::Response<Body>>
where
    T: Task,
    T::Output: TokenUsage,
    Req: ProtoRequest,
    Resp: ProtoResponse<T::Output>,
{
    let (request_id, admitted) = match admit(&state, &request, T::NAME) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let record = admitted.record.clone();
    let mut admitted = Some(admitted);
    let method = tower::service_fn(move |request: Request<Req>| {
        let state = state.clone();
        let (request_id, admitted) = (request_id.clone(), admitted.take());
        async move {
            let record = admitted.as_ref().map(|a| a.record.clone());
            let result = match call_of(admitted, request, &request_id) {
                Ok(call) => pipeline::unary::<T>(&state, call).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(answer) => {
                    let mut response = respond(
                        Resp::from(answer.output),
                        &request_id,
                        answer.rate,
                        &answer.model,
                    );
                    if let Some(record) = record {
                        record.answered();
                        if let Ok(timing) = record.server_timing().parse() {
                            response.metadata_mut().insert("server-timing", timing);
                        }
                    }
                    Ok(response)
                }
                Err(error) => {
                    if let Some(record) = record {
                        record.failed(&error);
                    }
                    Err(error.into_grpc_status(&request_id))
                }
            }
        }
    });
    let span = record.span().clone();
    Box::pin(
        async move {
            let response = codec::<Req, Resp>(max_message_bytes)
                .unary(method, request)
                .await;
            record.ended_with(&response);
            response
        }
        .instrument(span),
    )
}

pub type EventStream<M> = futures::stream::BoxStream<'static, Result<M, Status>>;

/// The gRPC side of a server-streaming task: one message per event; an error before the first
/// event fails the call, a later one ends the stream with its status.
pub(crate) fn server_streaming<T, Req, Resp>(
    state: AppState,
    max_message_bytes: usize,
    request: http::Request<Body>,
) -> BoxFuture<'static, http::Response<Body>>
where
    T: Task,
    T::Output: TokenUsage,
    Req: ProtoRequest,
    Resp: ProtoResponse<T::Output>,
{
    let (request_id, admitted) = match admit(&state, &request, T::NAME) {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let record = admitted.record.clone();
    let mut admitted = Some(admitted);
    let method = tower::service_fn(move |request: Request<Req>| {
        let state = state.clone();
        let (request_id, admitted) = (request_id.clone(), admitted.take());
        async move {
            let record = admitted.as_ref().map(|a| a.record.clone());
            let started = match call_of(admitted, request, &request_id) {
                Ok(call) => pipeline::server_streaming::<T>(&state, call).await,
                Err(error) => Err(error),
            };
            let answer = started.map_err(|error| {
                if let Some(record) = &record {
                    record.failed(&error);
                }
                error.into_grpc_status(&request_id)
            })?;
            if let Some(record) = &record {
                record.answered();
            }
            let id = request_id.clone();
            let model = answer.model;
            let events: EventStream<Resp> = answer
                .output
                .map(move |item| {
                    item.map(Resp::from).map_err(|error| {
                        let error = ApiError::from(error);
                        if let Some(record) = &record {
                            record.failed(&error);
                        }
                        error.into_grpc_status(&id)
                    })
                })
                .boxed();
            Ok::<_, Status>(respond(events, &request_id, answer.rate, &model))
        }
    });
    let span = record.span().clone();
    Box::pin(
        async move {
            let response = codec::<Req, Resp>(max_message_bytes)
                .server_streaming(method, request)
                .await;
            record.ended_with(&response);
            response
        }
        .instrument(span),
    )
}

fn codec<Req, Resp>(max_message_bytes: usize) -> Grpc<ProstCodec<Resp, Req>>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
{
    Grpc::new(ProstCodec::default())
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes)
}

/// The call's request id (for its answer, error or not) and its caller, admitted from the
/// HTTP/2 headers before the message is read; a refusal is the whole answer.
fn admit(
    state: &AppState,
    request: &http::Request<Body>,
    task: &'static str,
) -> Result<(String, Admitted), BoxFuture<'static, http::Response<Body>>> {
    let request_id = call::request_id_in(request.headers());
    let headers = crate::rest::caller::call_headers(request.headers(), request.extensions());
    let record = CallRecord::start(
        state.metrics().clone(),
        task,
        Wire::Grpc,
        &request_id,
        &headers.trace,
    );
    match pipeline::admit_caller(state, &headers) {
        Ok(caller) => {
            record.set_key(caller.principal.key_id());
            let admitted = Admitted {
                headers,
                caller,
                record,
            };
            Ok((request_id, admitted))
        }
        Err(error) => {
            record.failed(&error);
            let refused = error.into_grpc_status(&request_id).into_http();
            Err(Box::pin(async move { refused }))
        }
    }
}

/// A caller admitted before its message was read.
struct Admitted {
    headers: crate::call_headers::CallHeaders,
    caller: pipeline::Caller,
    record: CallRecord,
}

/// The call: the admitted caller, then its metadata (deadline, model), then the REST envelope
/// of its message.
fn call_of<Req: ProtoRequest>(
    admitted: Option<Admitted>,
    request: Request<Req>,
    request_id: &str,
) -> Result<Call, ApiError> {
    // tonic calls a unary or streaming method once per request.
    let Admitted {
        headers,
        caller,
        record,
    } = admitted.expect("a gRPC method is called once per request. This is a bug.");
    let deadline = call::deadline(request.metadata())?;
    let model_id = call::model_id(request.metadata())?;
    Ok(Call {
        envelope: request.into_inner().into_envelope(model_id),
        request_id: request_id.to_string(),
        headers,
        deadline,
        caller,
        record,
    })
}

/// The answer's metadata, as REST's headers: the request id, the model that served the call,
/// and the key's `x-ratelimit-*` state.
fn respond<M>(message: M, request_id: &str, rate: Option<RateStatus>, model: &str) -> Response<M> {
    let mut response = Response::new(message);
    if let Ok(value) = request_id.parse() {
        response.metadata_mut().insert(call::REQUEST_ID_KEY, value);
    }
    if let Ok(value) = model.parse() {
        response
            .metadata_mut()
            .insert(crate::call_headers::SERVED_BY, value);
    }
    for (name, value) in rate.map(|r| r.headers()).unwrap_or_default() {
        if let (Ok(name), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(name.as_bytes()),
            value.parse(),
        ) {
            response.metadata_mut().insert(name, value);
        }
    }
    response
}
