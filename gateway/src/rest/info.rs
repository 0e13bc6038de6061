//! Health, version and model listing (outside the task prefix, as in Caikit).

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use taskgate_schemas::{ErrorBody, ModelsInfo, RuntimeInfo};

use crate::error::ApiError;
use crate::rest::caller::Authenticated;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

/// Liveness: `OK` while the process serves.
#[utoipa::path(get, path = "/health", tag = "info", security(()),
    responses((status = 200, description = "The server is up", body = String,
        content_type = "text/plain", example = "OK")))]
pub async fn health() -> &'static str {
    "OK"
}

/// The runtime version and the tasks this build routes.
#[utoipa::path(get, path = "/info/version", tag = "info", security(()),
    responses((status = 200, description = "Version information", body = RuntimeInfo)))]
pub async fn version(State(state): State<AppState>) -> axum::Json<RuntimeInfo> {
    axum::Json(state.runtime_info())
}

/// The served models the caller may use; `?model_ids=a&model_ids=b` selects some (404 names
/// the first unknown one). Paths and metadata beyond health are for admin keys only.
#[utoipa::path(get, path = "/info/models", tag = "info",
    params(("model_ids" = Option<Vec<String>>, Query, explode = true,
        description = "Only these models (repeat the parameter for several)")),
    responses(
        (status = 200, description = "The models", body = ModelsInfo),
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 404, description = "A requested model is not loaded", body = ErrorBody),
    ))]
pub async fn models(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let wanted: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(key, _)| key == "model_ids")
        .map(|(_, value)| value.into_owned())
        .collect();
    match state.models_info(&principal, &wanted) {
        Ok(models) => axum::Json(models).into_response(),
        Err(error) => ApiError::from(error).into_response_with_id(&id),
    }
}

/// Unknown routes and methods answer in the same error shape as everything else.
pub async fn route_not_found(
    RequestId(id): RequestId,
    request: axum::extract::Request,
) -> Response {
    ApiError::RouteNotFound {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
    }
    .into_response_with_id(&id)
}

pub async fn method_not_allowed(
    RequestId(id): RequestId,
    request: axum::extract::Request,
) -> Response {
    ApiError::MethodNotAllowed {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
    }
    .into_response_with_id(&id)
}
