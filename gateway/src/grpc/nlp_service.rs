//! `caikit.runtime.Nlp.NlpService`: every RPC is one task, run through the same steps as its REST
//! route (envelope → schema → cross-field rules → model → admission → module).

use std::future::Future;
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use taskgate_modules::tasks::*;
use taskgate_modules::{Model, Task, TaskError, TaskInput};
use tokio::time::Instant;
use tonic::{Request, Response, Status};

use super::call;
use super::convert::{InputShape, ProtoRequest};
use super::pb::caikit::runtime::nlp as rpc;
use super::pb::caikit::runtime::nlp::nlp_service_server::NlpService;
use super::pb::caikit_data_model::caikit_nlp as cn;
use super::pb::caikit_data_model::nlp;
use crate::app::AppState;
use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::task_handlers::resolve;

pub struct NlpGrpc {
    state: AppState,
}

impl NlpGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// What ties an RPC to its task, for the contract test that compares protos and JSON Schemas.
#[derive(Debug, Clone, Copy)]
pub struct RpcContract {
    pub rpc: &'static str,
    pub task: &'static str,
    pub inputs: InputShape,
}

fn contract<T: Task, Req: ProtoRequest>() -> RpcContract {
    RpcContract {
        rpc: T::RPC,
        task: T::NAME,
        inputs: Req::INPUTS,
    }
}

/// Every RPC of the service with its task and request message.
pub fn contracts() -> Vec<RpcContract> {
    vec![
        contract::<TextGeneration, rpc::TextGenerationTaskRequest>(),
        contract::<ServerStreamingTextGeneration, rpc::ServerStreamingTextGenerationTaskRequest>(),
        contract::<TextClassification, rpc::TextClassificationTaskRequest>(),
        contract::<TokenClassification, rpc::TokenClassificationTaskRequest>(),
        contract::<Tokenization, rpc::TokenizationTaskRequest>(),
        contract::<Embedding, rpc::EmbeddingTaskRequest>(),
        contract::<EmbeddingTasks, rpc::EmbeddingTasksRequest>(),
        contract::<SentenceSimilarity, rpc::SentenceSimilarityTaskRequest>(),
        contract::<SentenceSimilarityTasks, rpc::SentenceSimilarityTasksRequest>(),
        contract::<Rerank, rpc::RerankTaskRequest>(),
        contract::<RerankTasks, rpc::RerankTasksRequest>(),
    ]
}

/// A call ready to run: its deadline, its model and the validated task input.
struct Prepared<T: Task> {
    deadline: Option<Instant>,
    model: Arc<Model>,
    input: TaskInput<T>,
}

/// Metadata, then the REST envelope of the message through the REST pipeline.
fn prepare<T: Task, Req: ProtoRequest>(
    state: &AppState,
    request: Request<Req>,
    request_id: &str,
) -> Result<Prepared<T>, ApiError> {
    let deadline = call::deadline(request.metadata())?;
    let model_id = call::model_id(request.metadata())?;
    let metadata = request.metadata();
    let call = CallHeaders::read(|name| metadata.get(name).and_then(|v| v.to_str().ok()));
    let envelope = request.into_inner().into_envelope(model_id);
    let (model, input) = resolve::<T>(state, envelope, request_id, call)?;
    Ok(Prepared {
        deadline,
        model,
        input,
    })
}

/// The answer's metadata: the request id, as REST's `x-request-id` header.
fn respond<M>(message: M, request_id: &str) -> Response<M> {
    let mut response = Response::new(message);
    if let Ok(value) = request_id.parse() {
        response.metadata_mut().insert(call::REQUEST_ID_KEY, value);
    }
    response
}

/// A unary RPC: the answer, or the error as a status; past the deadline the work is dropped
/// (which cancels it) and the caller gets DEADLINE_EXCEEDED.
async fn unary<T, Req, Resp>(
    state: &AppState,
    request: Request<Req>,
) -> Result<Response<Resp>, Status>
where
    T: Task,
    Req: ProtoRequest,
    Resp: From<T::Output>,
{
    let request_id = call::request_id(request.metadata());
    let result = async {
        let Prepared {
            deadline,
            model,
            input,
        } = prepare::<T, Req>(state, request, &request_id)?;
        let handler = model.unary::<T>()?;
        let _permit = model.admit()?;
        let output = before(deadline, handler.predict(input)).await?;
        Ok::<_, ApiError>(output)
    }
    .await;
    match result {
        Ok(output) => Ok(respond(Resp::from(output), &request_id)),
        Err(error) => Err(error.into_grpc_status(&request_id)),
    }
}

/// `work`, unless `deadline` passes first; then `work` is dropped, which cancels it.
async fn before<O>(
    deadline: Option<Instant>,
    work: impl Future<Output = Result<O, TaskError>>,
) -> Result<O, ApiError> {
    let output = match deadline {
        None => work.await,
        Some(deadline) => tokio::time::timeout_at(deadline, work)
            .await
            .map_err(|_| deadline_exceeded())?,
    };
    Ok(output?)
}

fn deadline_exceeded() -> ApiError {
    TaskError::DeadlineExceeded(
        "Deadline exceeded: the call's grpc-timeout passed before the task finished".into(),
    )
    .into()
}

pub type EventStream<M> = BoxStream<'static, Result<M, Status>>;

/// A server-streaming RPC. Errors before the first event fail the call; later ones end the
/// stream with their status. The model's admission permit lives as long as the stream, and
/// dropping the stream (client gone, deadline passed) cancels the work.
async fn server_streaming<T, Req, Resp>(
    state: &AppState,
    request: Request<Req>,
) -> Result<Response<EventStream<Resp>>, Status>
where
    T: Task,
    Req: ProtoRequest,
    Resp: From<T::Output> + Send + 'static,
{
    let request_id = call::request_id(request.metadata());
    let started = async {
        let Prepared {
            deadline,
            model,
            input,
        } = prepare::<T, Req>(state, request, &request_id)?;
        let handler = model.streaming::<T>()?;
        let permit = model.admit()?;
        let stream = before(deadline, handler.predict_stream(input)).await?;
        Ok::<_, ApiError>((permit, stream, deadline))
    }
    .await;
    let (permit, stream, deadline) = match started {
        Ok(started) => started,
        Err(error) => return Err(error.into_grpc_status(&request_id)),
    };
    let id = request_id.clone();
    let events = stream.map(move |item| {
        let _ = &permit;
        item.map(Resp::from)
            .map_err(|error| ApiError::from(error).into_grpc_status(&id))
    });
    let events = until_first_error(within_deadline(events, deadline, request_id.clone()));
    Ok(respond(events.boxed(), &request_id))
}

/// Ends the stream with DEADLINE_EXCEEDED when `deadline` passes first.
fn within_deadline<S, M>(
    stream: S,
    deadline: Option<Instant>,
    request_id: String,
) -> impl Stream<Item = Result<M, Status>>
where
    S: Stream<Item = Result<M, Status>> + Unpin,
{
    futures::stream::unfold(Some(stream), move |stream| {
        let request_id = request_id.clone();
        async move {
            let mut stream = stream?;
            let next = match deadline {
                None => stream.next().await,
                Some(deadline) => match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        return Some((
                            Err(deadline_exceeded().into_grpc_status(&request_id)),
                            None,
                        ));
                    }
                },
            };
            next.map(|item| (item, Some(stream)))
        }
    })
}

/// Nothing follows an error: the event after it would contradict it.
fn until_first_error<S, M>(stream: S) -> impl Stream<Item = Result<M, Status>>
where
    S: Stream<Item = Result<M, Status>>,
{
    stream.scan(false, |failed, item| {
        if *failed {
            return futures::future::ready(None);
        }
        *failed = item.is_err();
        futures::future::ready(Some(item))
    })
}

#[tonic::async_trait]
impl NlpService for NlpGrpc {
    async fn text_generation_task_predict(
        &self,
        request: Request<rpc::TextGenerationTaskRequest>,
    ) -> Result<Response<nlp::GeneratedTextResult>, Status> {
        unary::<TextGeneration, _, _>(&self.state, request).await
    }

    type ServerStreamingTextGenerationTaskPredictStream =
        EventStream<nlp::GeneratedTextStreamResult>;

    async fn server_streaming_text_generation_task_predict(
        &self,
        request: Request<rpc::ServerStreamingTextGenerationTaskRequest>,
    ) -> Result<Response<Self::ServerStreamingTextGenerationTaskPredictStream>, Status> {
        server_streaming::<ServerStreamingTextGeneration, _, _>(&self.state, request).await
    }

    async fn text_classification_task_predict(
        &self,
        request: Request<rpc::TextClassificationTaskRequest>,
    ) -> Result<Response<nlp::ClassificationResults>, Status> {
        unary::<TextClassification, _, _>(&self.state, request).await
    }

    async fn token_classification_task_predict(
        &self,
        request: Request<rpc::TokenClassificationTaskRequest>,
    ) -> Result<Response<nlp::TokenClassificationResults>, Status> {
        unary::<TokenClassification, _, _>(&self.state, request).await
    }

    async fn tokenization_task_predict(
        &self,
        request: Request<rpc::TokenizationTaskRequest>,
    ) -> Result<Response<nlp::TokenizationResults>, Status> {
        unary::<Tokenization, _, _>(&self.state, request).await
    }

    async fn embedding_task_predict(
        &self,
        request: Request<rpc::EmbeddingTaskRequest>,
    ) -> Result<Response<cn::EmbeddingResult>, Status> {
        unary::<Embedding, _, _>(&self.state, request).await
    }

    async fn embedding_tasks_predict(
        &self,
        request: Request<rpc::EmbeddingTasksRequest>,
    ) -> Result<Response<cn::EmbeddingResults>, Status> {
        unary::<EmbeddingTasks, _, _>(&self.state, request).await
    }

    async fn sentence_similarity_task_predict(
        &self,
        request: Request<rpc::SentenceSimilarityTaskRequest>,
    ) -> Result<Response<cn::SentenceSimilarityResult>, Status> {
        unary::<SentenceSimilarity, _, _>(&self.state, request).await
    }

    async fn sentence_similarity_tasks_predict(
        &self,
        request: Request<rpc::SentenceSimilarityTasksRequest>,
    ) -> Result<Response<cn::SentenceSimilarityResults>, Status> {
        unary::<SentenceSimilarityTasks, _, _>(&self.state, request).await
    }

    async fn rerank_task_predict(
        &self,
        request: Request<rpc::RerankTaskRequest>,
    ) -> Result<Response<cn::RerankResult>, Status> {
        unary::<Rerank, _, _>(&self.state, request).await
    }

    async fn rerank_tasks_predict(
        &self,
        request: Request<rpc::RerankTasksRequest>,
    ) -> Result<Response<cn::RerankResults>, Status> {
        unary::<RerankTasks, _, _>(&self.state, request).await
    }
}
