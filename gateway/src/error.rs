//! The one mapping from every failure to an HTTP status and the shared error body. Handlers never
//! pick status codes by hand.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use taskgate_modules::TaskError;
use taskgate_runtime::{RemoteFailure, RuntimeError};
use taskgate_schemas::{ErrorBody, FieldError};

use crate::auth::rate_limit::RateRefusal;

/// Seconds a client should wait after a 429 before retrying.
const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("Invalid JSON in request body: {0}")]
    InvalidJson(String),
    #[error("Unsupported content type '{0}': send the body as application/json")]
    UnsupportedMediaType(String),
    #[error("Request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("Request body holds more than the limit of {limit} JSON values (object keys count)")]
    TooManyJsonValues { limit: usize },
    #[error("Could not read the request body: {0}")]
    BodyRead(String),
    #[error("The request body did not arrive within {ms} ms")]
    BodyTimeout { ms: u64 },
    #[error("Please provide model_id in payload")]
    MissingModelId,
    /// gRPC calls name their model in the `mm-model-id` metadata (Caikit's text).
    #[error("Missing required model ID")]
    MissingModelIdMetadata,
    /// A gRPC `grpc-timeout` header that does not parse.
    #[error("Invalid grpc-timeout metadata '{0}'")]
    InvalidTimeout(String),
    /// The body does not match the task's JSON Schema.
    #[error("Invalid request: {}", summarize(.0))]
    Schema(Vec<FieldError>),
    #[error("No route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("Method {method} is not allowed for {path}")]
    MethodNotAllowed { method: String, path: String },
    /// No key, or one that is not known or cannot be read.
    #[error("Unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("API key '{key}' lacks the scope '{scope}'")]
    Forbidden { key: String, scope: String },
    #[error("API key '{}' reached its limit of {} ({}); retry in {} ms", .0.key, .0.limit, .0.what, .0.retry_after.as_millis())]
    RateLimited(Box<RateRefusal>),
    /// A deploy names a model id that is served already.
    #[error("Model '{0}' already exists")]
    ModelExists(String),
    #[error(transparent)]
    Task(#[from] TaskError),
}

fn summarize(fields: &[FieldError]) -> String {
    match fields {
        [] => "does not match the schema".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_)
            | Self::MissingModelId
            | Self::MissingModelIdMetadata
            | Self::InvalidTimeout(_)
            | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } | Self::TooManyJsonValues { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::Schema(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::ModelExists(_) => StatusCode::CONFLICT,
            Self::Task(error) => task_status(error),
        }
    }

    /// The gRPC code of this error: the same classes as the HTTP status.
    pub fn grpc_code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::InvalidJson(_)
            | Self::MissingModelId
            | Self::MissingModelIdMetadata
            | Self::InvalidTimeout(_)
            | Self::BodyRead(_)
            | Self::UnsupportedMediaType(_)
            | Self::Schema(_) => Code::InvalidArgument,
            Self::PayloadTooLarge { .. } | Self::TooManyJsonValues { .. } => {
                Code::ResourceExhausted
            }
            Self::BodyTimeout { .. } => Code::DeadlineExceeded,
            Self::RouteNotFound { .. } | Self::MethodNotAllowed { .. } => Code::Unimplemented,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Forbidden { .. } => Code::PermissionDenied,
            Self::RateLimited(_) => Code::ResourceExhausted,
            Self::ModelExists(_) => Code::AlreadyExists,
            Self::Task(error) => match error {
                TaskError::InvalidArgument { .. } | TaskError::TaskNotServed { .. } => {
                    Code::InvalidArgument
                }
                TaskError::ModelNotFound(_) | TaskError::TrainingNotFound(_) => Code::NotFound,
                TaskError::ModelUnavailable { .. } => Code::Unavailable,
                TaskError::Conflict(_) => Code::FailedPrecondition,
                TaskError::Cancelled => Code::Cancelled,
                TaskError::DeadlineExceeded(_) => Code::DeadlineExceeded,
                TaskError::Runtime(RuntimeError::Overloaded { .. }) => Code::ResourceExhausted,
                TaskError::Runtime(RuntimeError::Unavailable(_)) => Code::Unavailable,
                TaskError::Runtime(RuntimeError::Inference(_)) => Code::Internal,
                TaskError::Runtime(RuntimeError::Remote { failure, .. }) => match failure {
                    RemoteFailure::Rejected => Code::InvalidArgument,
                    RemoteFailure::Busy => Code::ResourceExhausted,
                    RemoteFailure::TimedOut => Code::DeadlineExceeded,
                    RemoteFailure::Unreachable | RemoteFailure::Failed => Code::Unavailable,
                },
            },
        }
    }

    /// The gRPC status: the same message as the REST `details`, the request id in the
    /// `x-request-id` trailer, and per-field reasons as JSON in `x-field-errors`.
    pub fn into_grpc_status(self, request_id: &str) -> tonic::Status {
        let mut status = tonic::Status::new(self.grpc_code(), self.to_string());
        let metadata = status.metadata_mut();
        if let Ok(value) = request_id.parse() {
            metadata.insert("x-request-id", value);
        }
        if let Some(fields) = self.field_errors()
            && let Ok(json) = serde_json::to_string(&fields)
            && let Ok(value) = json.parse()
        {
            metadata.insert("x-field-errors", value);
        }
        if let Self::RateLimited(refusal) = &self {
            for (name, value) in refusal.status.headers() {
                if let (Ok(name), Ok(value)) = (
                    tonic::metadata::MetadataKey::from_bytes(name.as_bytes()),
                    value.parse(),
                ) {
                    metadata.insert(name, value);
                }
            }
            metadata.insert("retry-after", retry_after_seconds(&self).into());
        }
        if matches!(self, Self::Task(TaskError::ModelUnavailable { .. })) {
            metadata.insert("retry-after", retry_after_seconds(&self).into());
        }
        status
    }

    fn field_errors(&self) -> Option<Vec<FieldError>> {
        match self {
            Self::Schema(fields) => Some(fields.clone()),
            Self::MissingModelId => {
                Some(vec![FieldError::new("/model_id", "missing required field")])
            }
            Self::Task(TaskError::InvalidArgument { fields, .. }) if !fields.is_empty() => {
                Some(fields.clone())
            }
            _ => None,
        }
    }

    /// The wire body for this error, tagged with the request id.
    pub fn body(&self, request_id: &str) -> ErrorBody {
        ErrorBody {
            details: self.to_string(),
            code: self.status().as_u16(),
            id: request_id.to_string(),
            additional_info: self.field_errors(),
        }
    }

    pub fn into_response_with_id(self, request_id: &str) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(self.body(request_id))).into_response();
        let headers = response.headers_mut();
        let unavailable_model = matches!(self, Self::Task(TaskError::ModelUnavailable { .. }));
        if status == StatusCode::TOO_MANY_REQUESTS || unavailable_model {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds(&self)),
            );
        }
        match &self {
            Self::RateLimited(refusal) => refusal.status.write_headers(headers),
            Self::Unauthenticated(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"taskgate\""),
                );
            }
            _ => {}
        }
        response
    }
}

/// Whole seconds, rounded up, so a client that waits exactly this long is admitted.
fn retry_after_seconds(error: &ApiError) -> u64 {
    match error {
        ApiError::RateLimited(refusal) => {
            refusal.retry_after.as_millis().div_ceil(1000).max(1) as u64
        }
        ApiError::Task(TaskError::ModelUnavailable { retry_after, .. }) => {
            retry_after.as_millis().div_ceil(1000).max(1) as u64
        }
        _ => RETRY_AFTER_SECONDS.into(),
    }
}

fn task_status(error: &TaskError) -> StatusCode {
    match error {
        TaskError::InvalidArgument { .. } | TaskError::TaskNotServed { .. } => {
            StatusCode::BAD_REQUEST
        }
        TaskError::ModelNotFound(_) | TaskError::TrainingNotFound(_) => StatusCode::NOT_FOUND,
        TaskError::ModelUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        TaskError::Conflict(_) => StatusCode::CONFLICT,
        // 499 is the de-facto "client closed request"; the client rarely sees it.
        TaskError::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status"),
        TaskError::DeadlineExceeded(_) => StatusCode::GATEWAY_TIMEOUT,
        TaskError::Runtime(RuntimeError::Overloaded { .. }) => StatusCode::TOO_MANY_REQUESTS,
        TaskError::Runtime(RuntimeError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        TaskError::Runtime(RuntimeError::Inference(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        TaskError::Runtime(RuntimeError::Remote { failure, .. }) => match failure {
            // The remote's own validation message goes back to the caller.
            RemoteFailure::Rejected => StatusCode::BAD_REQUEST,
            RemoteFailure::Busy => StatusCode::TOO_MANY_REQUESTS,
            RemoteFailure::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
            RemoteFailure::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            RemoteFailure::Failed => StatusCode::BAD_GATEWAY,
        },
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        Self::Task(error.into())
    }
}

/// One example of each error a task route can return, for the API docs. Built from real errors so
/// the documented bodies are the ones clients get.
pub fn documented_task_errors() -> Vec<(&'static str, ApiError)> {
    vec![
        (
            "invalid-json",
            ApiError::InvalidJson("expected value at line 1 column 1".into()),
        ),
        ("missing-model-id", ApiError::MissingModelId),
        (
            "unauthenticated",
            ApiError::Unauthenticated("the API key is not recognized".into()),
        ),
        (
            "forbidden",
            ApiError::Forbidden {
                key: "app-1".into(),
                scope: "model:granite-8b".into(),
            },
        ),
        (
            "rate-limited",
            ApiError::RateLimited(Box::new(RateRefusal {
                key: "app-1".into(),
                what: "requests per second",
                limit: "10 per second".into(),
                retry_after: std::time::Duration::from_millis(100),
                status: Default::default(),
            })),
        ),
        (
            "task-not-served",
            TaskError::TaskNotServed {
                model: "pii-rules".into(),
                task: "text-generation".into(),
                serves: vec!["token-classification".into()],
            }
            .into(),
        ),
        (
            "invalid-argument",
            TaskError::invalid_field(
                "/parameters/temperature",
                "temperature is a sampling parameter and requires decoding_method SAMPLING",
            )
            .into(),
        ),
        (
            "model-not-found",
            TaskError::ModelNotFound("nope".into()).into(),
        ),
        (
            "payload-too-large",
            ApiError::PayloadTooLarge { limit: 2_097_152 },
        ),
        (
            "unsupported-media-type",
            ApiError::UnsupportedMediaType("text/plain".into()),
        ),
        (
            "unknown-field",
            ApiError::Schema(vec![FieldError::new(
                "/parameters/topp",
                "unknown field 'topp'",
            )]),
        ),
        (
            "out-of-range",
            ApiError::Schema(vec![FieldError::new(
                "/parameters/top_p",
                "1.5 is greater than the maximum of 1",
            )]),
        ),
        (
            "overloaded",
            RuntimeError::Overloaded {
                what: "model 'pii-rules'".into(),
                limit: 64,
            }
            .into(),
        ),
        (
            "inference-failed",
            RuntimeError::Inference("worker panicked while running a job".into()).into(),
        ),
        (
            "unavailable",
            RuntimeError::Unavailable("model 'pii-rules' is not ready".into()).into(),
        ),
        (
            "model-unavailable",
            TaskError::ModelUnavailable {
                model: "minilm".into(),
                reason: "model 'minilm': cannot read models/minilm/model.safetensors".into(),
                retry_after: std::time::Duration::from_secs(4),
            }
            .into(),
        ),
        (
            "remote-unreachable",
            RuntimeError::Remote {
                backend: "TGIS at http://10.0.0.7:8033".into(),
                failure: RemoteFailure::Unreachable,
                message: "tcp connect error: Connection refused".into(),
            }
            .into(),
        ),
        (
            "remote-timeout",
            RuntimeError::Remote {
                backend: "TGIS at http://10.0.0.7:8033".into(),
                failure: RemoteFailure::TimedOut,
                message: "no answer within 60000 ms".into(),
            }
            .into(),
        ),
        (
            "remote-failed",
            RuntimeError::Remote {
                backend: "TGIS at http://10.0.0.7:8033".into(),
                failure: RemoteFailure::Failed,
                message: "the stream ended before its finish reason".into(),
            }
            .into(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_carries_retry_after() {
        let error: ApiError = RuntimeError::Overloaded {
            what: "model 'm'".into(),
            limit: 1,
        }
        .into();
        let response = error.into_response_with_id("abc");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn grpc_codes_follow_the_http_classes() {
        let cases: Vec<(ApiError, tonic::Code)> = vec![
            (
                ApiError::MissingModelIdMetadata,
                tonic::Code::InvalidArgument,
            ),
            (
                TaskError::ModelNotFound("x".into()).into(),
                tonic::Code::NotFound,
            ),
            (
                RuntimeError::Overloaded {
                    what: "m".into(),
                    limit: 1,
                }
                .into(),
                tonic::Code::ResourceExhausted,
            ),
            (
                RuntimeError::Unavailable("m".into()).into(),
                tonic::Code::Unavailable,
            ),
            (TaskError::Cancelled.into(), tonic::Code::Cancelled),
            (
                TaskError::DeadlineExceeded("late".into()).into(),
                tonic::Code::DeadlineExceeded,
            ),
            (
                ApiError::Schema(vec![FieldError::new("/inputs", "missing")]),
                tonic::Code::InvalidArgument,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.grpc_code(), code, "{error}");
        }
        let status =
            ApiError::from(TaskError::ModelNotFound("nope".into())).into_grpc_status("id-7");
        assert_eq!(status.message(), "Model 'nope' not loaded");
        assert_eq!(status.metadata().get("x-request-id").unwrap(), "id-7");
    }

    #[test]
    fn schema_errors_list_every_field() {
        let error = ApiError::Schema(vec![
            FieldError::new("/parameters/top_p", "too big"),
            FieldError::new("/inputs", "missing"),
        ]);
        let body = error.body("id-1");
        assert_eq!(body.code, 422);
        assert_eq!(
            body.details,
            "Invalid request: /parameters/top_p: too big (and 1 more)"
        );
        assert_eq!(body.additional_info.unwrap().len(), 2);
    }
}
