//! Reading a request body as JSON: content type, size limit and syntax, each with its own error.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::LengthLimitError;
use serde_json::Value;

use crate::error::ApiError;
use crate::rest::bounded_json::{self, ParseError};

/// Only `application/json`, with at most a UTF-8 charset, is JSON. Anything else, a missing
/// type included, is refused before the body is read: HTML forms and `fetch` without a
/// preflight can send only other types, so a web page cannot start calls in a user's name.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType("(none)".into()));
    };
    let text = value.to_str().unwrap_or("").trim();
    let mut parts = text.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let parameters_ok = parts.all(|p| {
        let p = p.to_ascii_lowercase().replace(' ', "");
        p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    if essence == "application/json" && parameters_ok {
        Ok(())
    } else {
        let shown: String = text.chars().take(100).collect();
        Err(ApiError::UnsupportedMediaType(shown))
    }
}

/// The body of a call to `state`'s gateway: its size and value-count limits, and a deadline
/// for the whole body to arrive, so a client trickling bytes cannot hold a connection and a
/// call slot.
pub async fn read_request_json(
    state: &crate::state::AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, ApiError> {
    let limits = state.limits();
    let timeout = limits.body_read_timeout;
    let limit = BodyLimit {
        bytes: limits.max_body_bytes,
        values: limits.max_json_values,
    };
    tokio::time::timeout(timeout, read_json(headers, body, limit))
        .await
        .map_err(|_| ApiError::BodyTimeout {
            ms: timeout.as_millis() as u64,
        })?
}

/// How large a body may be, as text and as parsed values.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub bytes: usize,
    pub values: usize,
}

/// Reads at most `limit.bytes` bytes and parses them as JSON of at most `limit.values` values.
pub async fn read_json(
    headers: &HeaderMap,
    body: Body,
    limit: BodyLimit,
) -> Result<Value, ApiError> {
    check_content_type(headers)?;
    let BodyLimit {
        bytes: limit,
        values,
    } = limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if inner.downcast_ref::<LengthLimitError>().is_some() {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::BodyRead(inner.to_string())
        }
    })?;
    bounded_json::parse(&bytes, values).map_err(|error| match error {
        ParseError::Syntax(reason) => ApiError::InvalidJson(reason),
        ParseError::TooManyValues { limit } => ApiError::TooManyJsonValues { limit },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn limit(bytes: usize) -> BodyLimit {
        BodyLimit { bytes, values: 50 }
    }

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    #[tokio::test]
    async fn accepts_json_with_a_utf8_charset_only() {
        for ct in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            let v = read_json(&headers(ct), Body::from("{\"a\":1}"), limit(100))
                .await
                .unwrap();
            assert_eq!(v["a"], 1, "{ct}");
        }
        for ct in [
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/vnd.api+json",
            "application/json; charset=latin1",
        ] {
            let err = read_json(&headers(ct), Body::from("{\"a\":1}"), limit(100))
                .await
                .unwrap_err();
            assert!(matches!(err, ApiError::UnsupportedMediaType(_)), "{ct}");
        }
        let err = read_json(&HeaderMap::new(), Body::from("{}"), limit(100))
            .await
            .unwrap_err();
        assert_eq!(err, ApiError::UnsupportedMediaType("(none)".into()));
    }

    #[tokio::test]
    async fn rejects_oversize_and_bad_json() {
        let err = read_json(
            &headers("application/json"),
            Body::from(vec![b' '; 101]),
            limit(100),
        )
        .await
        .unwrap_err();
        assert_eq!(err, ApiError::PayloadTooLarge { limit: 100 });
        let err = read_json(&headers("application/json"), Body::from("{"), limit(100))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::InvalidJson(_)));
        let many = format!("[{}0]", "0,".repeat(50));
        let err = read_json(&headers("application/json"), Body::from(many), limit(1000))
            .await
            .unwrap_err();
        assert_eq!(err, ApiError::TooManyJsonValues { limit: 50 });
    }
}
