//! Cross-origin calls from browser apps: only listed origins, preflights answered with the
//! methods and headers the API uses, and the headers clients read exposed.

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::server_config::CorsConfig;

/// Origins that are not `http(s)://host[:port]` with nothing after.
pub fn invalid_origins(config: &CorsConfig) -> Vec<String> {
    config
        .allowed_origins
        .iter()
        .filter(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let ok = rest.is_some_and(|host| {
                !host.is_empty() && !host.contains('/') && HeaderValue::from_str(origin).is_ok()
            });
            !ok
        })
        .cloned()
        .collect()
}

/// `None` when no origin is allowed: then no CORS headers are sent and browsers refuse
/// cross-origin reads, as for any server that does not opt in.
pub fn layer(config: &CorsConfig) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let names = |names: &[&'static str]| {
        names
            .iter()
            .map(|n| HeaderName::from_static(n))
            .collect::<Vec<_>>()
    };
    let mut allowed = names(&[
        "x-api-key",
        "x-request-id",
        "traceparent",
        "tracestate",
        "x-route-info",
    ]);
    allowed.extend([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let mut exposed = names(&[
        "x-request-id",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ]);
    exposed.push(header::RETRY_AFTER);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers(allowed)
            .expose_headers(exposed)
            .max_age(std::time::Duration::from_secs(config.max_age_seconds)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_and_host_only() {
        let config = CorsConfig {
            allowed_origins: vec![
                "https://app.example.com".into(),
                "http://localhost:3000".into(),
                "app.example.com".into(),
                "https://app.example.com/path".into(),
                "https://".into(),
            ],
            max_age_seconds: 0,
        };
        assert_eq!(
            invalid_origins(&config),
            vec![
                "app.example.com",
                "https://app.example.com/path",
                "https://"
            ]
        );
        assert!(layer(&CorsConfig::default()).is_none());
    }
}
