//! A panic in a handler answers its call with the one error shape and a log line, never a
//! dropped connection; the process and every other call go on.

use std::any::Any;

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use taskgate_schemas::ErrorBody;

fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The HTTP answer: 500 with the error body (its id is filled in from the request-id layer's
/// header on the way out, so the body says only what failed).
pub fn http_answer(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!(
        panic = message(panic.as_ref()),
        "a handler panicked; answered 500"
    );
    let body = ErrorBody {
        details: "Internal error: the handler failed; the server logged it and keeps serving"
            .into(),
        code: 500,
        id: String::new(),
        additional_info: None,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The gRPC answer: INTERNAL with the same message.
pub fn grpc_answer(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    tracing::error!(
        panic = message(panic.as_ref()),
        "a gRPC handler panicked; answered INTERNAL"
    );
    let status = tonic::Status::internal(
        "Internal error: the handler failed; the server logged it and keeps serving",
    );
    status.into_http::<Body>()
}
