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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use tower_http::catch_panic::CatchPanicLayer;

    async fn panicking() -> &'static str {
        panic!("a bug in a handler")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_the_error_body() {
        let router = Router::new()
            .route("/boom", get(panicking))
            .layer(CatchPanicLayer::custom(http_answer));
        let request = axum::http::Request::get("/boom")
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["code"], 500);
        assert!(
            body["details"]
                .as_str()
                .unwrap()
                .starts_with("Internal error")
        );
    }

    #[test]
    fn a_panicking_grpc_handler_answers_internal() {
        let response = grpc_answer(Box::new("a bug"));
        assert_eq!(response.headers()["grpc-status"], "13");
    }
}
