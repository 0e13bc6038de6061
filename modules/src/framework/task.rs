use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use taskgate_schemas::TaskRequest;
use utoipa::ToSchema;

use crate::TaskError;

/// A task: a typed request envelope and a typed output. Whether it is served unary or as a
/// server stream is decided by the handler trait a module registers ([`Predict`] or
/// [`PredictStream`]); for streaming tasks `Output` is one event.
pub trait Task: Send + Sync + 'static {
    /// The route name under `/api/v1/task/`, e.g. `token-classification`.
    const NAME: &'static str;
    /// The Caikit RPC name, e.g. `TokenClassificationTaskPredict`.
    const RPC: &'static str;
    /// One line for the API docs.
    const SUMMARY: &'static str;
    type Request: TaskRequest + DeserializeOwned + ToSchema + Send + 'static;
    type Output: Serialize + ToSchema + Send + 'static;
}

pub type Inputs<T> = <<T as Task>::Request as TaskRequest>::Inputs;
pub type Parameters<T> = <<T as Task>::Request as TaskRequest>::Parameters;

/// A validated call of task `T`.
pub struct TaskInput<T: Task> {
    pub inputs: Inputs<T>,
    pub parameters: Parameters<T>,
    /// The caller's request id, for logs and upstream propagation.
    pub request_id: String,
    /// The caller's W3C trace context (`traceparent` when valid, and its `tracestate`); a
    /// remote call sends taskgate's own span instead while traces are exported.
    pub trace: taskgate_runtime::trace::TraceHeaders,
    /// The remote endpoint the caller asked for (`x-route-info`); a remote module takes it only
    /// when its config lists it.
    pub route_info: Option<String>,
}

// By hand: a derive would ask `T: Clone`, though only the inputs and parameters are cloned.
impl<T: Task> Clone for TaskInput<T> {
    fn clone(&self) -> Self {
        Self {
            inputs: self.inputs.clone(),
            parameters: self.parameters.clone(),
            request_id: self.request_id.clone(),
            trace: self.trace.clone(),
            route_info: self.route_info.clone(),
        }
    }
}

impl<T: Task> TaskInput<T> {
    /// What a remote call forwards of this request.
    pub fn forwarded(&self) -> taskgate_runtime::remote::Forwarded {
        taskgate_runtime::remote::Forwarded {
            request_id: self.request_id.clone(),
            trace: self.trace.clone(),
        }
    }

    /// The same call as one of task `U`, which takes the same request (a streamed task and
    /// its unary twin).
    pub fn into_task<U: Task<Request = T::Request>>(self) -> TaskInput<U> {
        TaskInput {
            inputs: self.inputs,
            parameters: self.parameters,
            request_id: self.request_id,
            trace: self.trace,
            route_info: self.route_info,
        }
    }
}

pub type TaskFuture<O> = BoxFuture<'static, Result<O, TaskError>>;
pub type TaskStream<O> = BoxStream<'static, Result<O, TaskError>>;

/// A module's unary implementation of task `T`.
pub trait Predict<T: Task>: Send + Sync {
    fn predict(&self, input: TaskInput<T>) -> TaskFuture<T::Output>;
}

/// A module's server-streaming implementation of task `T`. Errors before the first event fail
/// the call; errors after it end the stream. Dropping the stream cancels the work.
pub trait PredictStream<T: Task>: Send + Sync {
    fn predict_stream(&self, input: TaskInput<T>) -> TaskFuture<TaskStream<T::Output>>;
}

/// `stream` as every wire must send it under the [`PredictStream`] contract: nothing follows an
/// error, since the event after it would contradict it. The call pipeline applies this once for
/// every streamed task, so neither modules nor wire adapters repeat it.
pub fn ending_at_first_error<O: Send + 'static>(stream: TaskStream<O>) -> TaskStream<O> {
    use futures::StreamExt;
    stream
        .scan(false, |failed, item| {
            if *failed {
                return futures::future::ready(None);
            }
            *failed = item.is_err();
            futures::future::ready(Some(item))
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn nothing_follows_the_first_error() {
        let failure = || TaskError::DeadlineExceeded("late".into());
        let source: TaskStream<u32> =
            futures::stream::iter(vec![Ok(1), Err(failure()), Ok(2), Err(failure())]).boxed();
        let items: Vec<_> = ending_at_first_error(source).collect().await;
        assert_eq!(items, vec![Ok(1), Err(failure())]);
    }

    #[tokio::test]
    async fn a_stream_without_errors_is_passed_whole() {
        let source: TaskStream<u32> = futures::stream::iter(vec![Ok(1), Ok(2), Ok(3)]).boxed();
        let items: Vec<_> = ending_at_first_error(source).collect().await;
        assert_eq!(items, vec![Ok(1), Ok(2), Ok(3)]);
    }
}
