//! Who calls a REST route: the call headers (with the client certificate the TLS handshake
//! verified) and the principal they authenticate as.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;

use crate::auth::{PeerCertificate, Principal};
use crate::call_headers::CallHeaders;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

pub fn call_headers(headers: &HeaderMap, extensions: &Extensions) -> CallHeaders {
    CallHeaders::read(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        |name| headers.contains_key(name),
    )
    .with_peer(extensions.get::<PeerCertificate>().cloned())
}

/// The authenticated caller of a management or info route; a refusal answers the request.
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let headers = call_headers(&parts.headers, &parts.extensions);
        state
            .authenticate(&headers.credentials)
            .map(Authenticated)
            .map_err(|error| error.into_response_with_id(&RequestId::of(&parts.headers)))
    }
}
