//! `x-request-id`: accepted from the client when it is short and of a safe set of characters
//! (otherwise replaced, and the replacement logged), or generated; echoed on the response, and
//! used as the `id` of error bodies, logs and calls to remotes.

use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::request::Parts;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// A client's id, if it is 1–128 characters of letters, digits and `-_.:/+=`: nothing that
/// could forge a log line or break a header further on.
pub fn accepted(id: Option<&[u8]>) -> Option<String> {
    let id = id?;
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b);
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID_CHARS && id.iter().all(safe))
        .then(|| String::from_utf8_lossy(id).into_owned())
}

/// Drops a client id that [`accepted`] refuses, so [`set_layer`] puts a fresh one in its place.
pub async fn drop_unsafe_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let headers = request.headers_mut();
    if let Some(value) = headers.get(&REQUEST_ID_HEADER)
        && accepted(Some(value.as_bytes())).is_none()
    {
        tracing::warn!(
            length = value.len(),
            "replaced a client x-request-id that is too long or has characters outside [A-Za-z0-9-_.:/+=]"
        );
        headers.remove(&REQUEST_ID_HEADER);
    }
    request
}
pub fn set_layer() -> SetRequestIdLayer<MakeRequestUuid> {
    SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid)
}

pub fn propagate_layer() -> PropagateRequestIdLayer {
    PropagateRequestIdLayer::new(REQUEST_ID_HEADER)
}

/// The request's id (always present once [`set_layer`] ran).
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Self::of(&parts.headers)))
    }
}

impl RequestId {
    pub fn of(headers: &axum::http::HeaderMap) -> String {
        headers
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_safe_ids_are_taken() {
        assert_eq!(
            accepted(Some(b"abc-123_x.y:z")).as_deref(),
            Some("abc-123_x.y:z")
        );
        assert!(accepted(Some(&[b'a'; 128])).is_some());
        assert!(accepted(Some(&[b'a'; 129])).is_none());
        for bad in [&b""[..], b"a b", b"a\nINFO forged", b"\xff", b"a\"b"] {
            assert!(accepted(Some(bad)).is_none(), "{bad:?}");
        }
        assert!(accepted(None).is_none());
    }
}
