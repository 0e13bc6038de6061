//! What a gRPC call carries besides its message: the model id (`mm-model-id`, the ModelMesh
//! convention Caikit follows), the request id and the caller's deadline (`grpc-timeout`).

use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

use crate::auth::{PeerCertificate, Principal};
use crate::call_headers::CallHeaders;
use crate::error::ApiError;
use crate::state::AppState;

pub const MODEL_ID_KEY: &str = "mm-model-id";
pub const REQUEST_ID_KEY: &str = "x-request-id";
const TIMEOUT_KEY: &str = "grpc-timeout";

/// The caller's request id when it is a safe one, or a fresh one.
pub fn request_id(metadata: &MetadataMap) -> String {
    crate::rest::request_id::accepted(metadata.get(REQUEST_ID_KEY).map(|v| v.as_bytes()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// [`request_id`] from the HTTP/2 headers, before tonic reads the message.
pub fn request_id_in(headers: &axum::http::HeaderMap) -> String {
    crate::rest::request_id::accepted(headers.get(REQUEST_ID_KEY).map(|v| v.as_bytes()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The call's metadata as both wires read it, with the client certificate the TLS handshake
/// verified.
pub fn call_headers<T>(request: &tonic::Request<T>) -> CallHeaders {
    let metadata = request.metadata();
    CallHeaders::read(
        |name| metadata.get(name).and_then(|v| v.to_str().ok()),
        |name| metadata.get(name).is_some(),
    )
    .with_peer(request.extensions().get::<PeerCertificate>().cloned())
}

/// Who calls a non-task method (info, training).
pub fn authenticate<T>(
    state: &AppState,
    request: &tonic::Request<T>,
) -> Result<Principal, ApiError> {
    state.authenticate(&call_headers(request).credentials)
}

/// When the caller stops waiting; work still running then is cancelled.
pub fn deadline(metadata: &MetadataMap) -> Result<Option<Instant>, ApiError> {
    let Some(value) = metadata.get(TIMEOUT_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    let timeout = parse_timeout(text).ok_or_else(|| ApiError::InvalidTimeout(text.to_string()))?;
    Ok(Some(Instant::now() + timeout))
}

/// The model the call names; missing or empty is Caikit's INVALID_ARGUMENT.
pub fn model_id(metadata: &MetadataMap) -> Result<String, ApiError> {
    metadata
        .get(MODEL_ID_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or(ApiError::MissingModelIdMetadata)
}

/// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n), per the gRPC HTTP/2 spec.
fn parse_timeout(text: &str) -> Option<Duration> {
    if text.len() < 2 || text.len() > 9 {
        return None;
    }
    let (digits, unit) = text.split_at(text.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_in_every_unit() {
        assert_eq!(parse_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_timeout("10S"), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_timeout("5n"), Some(Duration::from_nanos(5)));
    }

    #[test]
    fn malformed_timeouts_are_refused() {
        for bad in ["", "S", "10", "10s", "-1S", "123456789S", "1.5S"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_model_comes_from_mm_model_id() {
        let mut metadata = MetadataMap::new();
        assert_eq!(model_id(&metadata), Err(ApiError::MissingModelIdMetadata));
        metadata.insert(MODEL_ID_KEY, "smollm2".parse().unwrap());
        assert_eq!(model_id(&metadata).unwrap(), "smollm2");
        metadata.insert(MODEL_ID_KEY, "".parse().unwrap());
        assert!(model_id(&metadata).is_err());
    }
}
