//! `GET /v1/models` and `GET /v1/models/{id}`: the models and aliases the caller may use.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use taskgate_modules::TaskError;

use super::error::{FieldNames, OpenAiError, respond};
use super::vector_types::{ModelList, ModelObject};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::rest::caller::call_headers;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

const FIELDS: FieldNames = FieldNames(&[]);

/// Lists the models (and aliases) the caller may use.
#[utoipa::path(get, path = "/v1/models", tag = "openai", operation_id = "listModels",
    responses(
        (status = 200, description = "The models", body = ModelList),
        (status = 401, description = "No API key, or one not known", body = OpenAiError),
    ))]
pub async fn list(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    request: axum::extract::Request,
) -> Response {
    match authenticate(&state, request.headers(), request.extensions()) {
        Ok(principal) => {
            let data = visible(&state, &principal);
            axum::Json(ModelList {
                object: "list",
                data,
            })
            .into_response()
        }
        Err(error) => respond(error, &id, FIELDS),
    }
}

/// One model (or alias) the caller may use.
#[utoipa::path(get, path = "/v1/models/{model}", tag = "openai", operation_id = "retrieveModel",
    params(("model" = String, Path, description = "A model id or alias")),
    responses(
        (status = 200, description = "The model", body = ModelObject),
        (status = 401, description = "No API key, or one not known", body = OpenAiError),
        (status = 404, description = "No such model", body = OpenAiError),
    ))]
pub async fn retrieve(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Path(model): Path<String>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let found = authenticate(&state, &headers, &extensions).and_then(|principal| {
        visible(&state, &principal)
            .into_iter()
            .find(|m| m.id == model)
            .ok_or_else(|| ApiError::Task(TaskError::ModelNotFound(model.clone())))
    });
    match found {
        Ok(model) => axum::Json(model).into_response(),
        Err(error) => respond(error, &id, FIELDS),
    }
}

fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<Principal, ApiError> {
    let headers = call_headers(headers, extensions);
    state.authenticate(&headers.credentials)
}

/// Registered models, then aliases, each once, as far as the key's scopes reach.
fn visible(state: &AppState, principal: &Principal) -> Vec<ModelObject> {
    let created = state.started_at();
    let models = state.registry().statuses().into_iter().map(|s| s.info.name);
    let aliases = state.aliases().current();
    let mut aliases = aliases.names().map(str::to_string).collect::<Vec<_>>();
    aliases.sort();
    let mut seen = std::collections::BTreeSet::new();
    models
        .chain(aliases)
        .filter(|id| principal.may_use_model(id) && seen.insert(id.clone()))
        .map(|id| ModelObject {
            id,
            object: "model",
            created,
            owned_by: "taskgate",
        })
        .collect()
}
