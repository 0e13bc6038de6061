//! Reading a request body as JSON: content type, size limit and syntax, each with its own error.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::LengthLimitError;
use serde_json::Value;

use crate::error::ApiError;

/// How the body's declared type is treated.
#[derive(Debug, PartialEq)]
enum BodyType {
    Json,
    /// `curl -d` labels bodies as form data by default; JSON sent that way is accepted.
    FormLabelled,
    Other(String),
}

fn body_type(headers: &HeaderMap) -> BodyType {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return BodyType::Json;
    };
    let text = value.to_str().unwrap_or("").trim();
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => BodyType::Json,
        e if e.starts_with("application/") && e.ends_with("+json") => BodyType::Json,
        "application/x-www-form-urlencoded" => BodyType::FormLabelled,
        _ => BodyType::Other(text.to_string()),
    }
}

/// Reads at most `limit` bytes and parses them as JSON.
pub async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ApiError> {
    let kind = body_type(headers);
    if let BodyType::Other(content_type) = kind {
        return Err(ApiError::UnsupportedMediaType(content_type));
    }
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
    serde_json::from_slice(&bytes).map_err(|e| match kind {
        BodyType::FormLabelled => {
            ApiError::UnsupportedMediaType("application/x-www-form-urlencoded".into())
        }
        _ => ApiError::InvalidJson(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    #[tokio::test]
    async fn accepts_json_types_and_curl_form_label() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded",
        ] {
            let v = read_json(&headers(ct), Body::from("{\"a\":1}"), 100)
                .await
                .unwrap();
            assert_eq!(v["a"], 1, "{ct}");
        }
    }

    #[tokio::test]
    async fn rejects_other_types_oversize_and_bad_json() {
        let err = read_json(&headers("text/plain"), Body::from("{}"), 100)
            .await
            .unwrap_err();
        assert_eq!(err, ApiError::UnsupportedMediaType("text/plain".into()));
        let err = read_json(
            &headers("application/json"),
            Body::from(vec![b' '; 101]),
            100,
        )
        .await
        .unwrap_err();
        assert_eq!(err, ApiError::PayloadTooLarge { limit: 100 });
        let err = read_json(&headers("application/json"), Body::from("{"), 100)
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::InvalidJson(_)));
        let err = read_json(
            &headers("application/x-www-form-urlencoded"),
            Body::from("a=1"),
            100,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ApiError::UnsupportedMediaType(_)));
    }
}
