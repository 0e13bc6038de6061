//! Model management over REST, Caikit-compatible where Caikit defines it:
//! `POST /management/models` deploys (Caikit's `DeployModelRequest`, or taskgate's typed form),
//! `DELETE /management/models?model_id=` undeploys; taskgate adds `GET` (every model with its
//! state and memory) and `POST /management/models/{model_id}/load` and `.../unload`. All need
//! the `admin` scope.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use taskgate_schemas::{ErrorBody, FieldError, ModelInfo, ModelsInfo};

use crate::error::ApiError;
use crate::management::{DeployModelRequest, Management, ModelStateAnswer, UndeployModelRequest};
use crate::rest::body::{BodyLimit, read_json};
use crate::rest::caller::Authenticated;
use crate::rest::request_id::RequestId;
use crate::rest::training::respond;
use crate::state::AppState;

pub const MODELS_PATH: &str = "/management/models";
pub const LOAD_PATH: &str = "/management/models/{model_id}/load";
pub const UNLOAD_PATH: &str = "/management/models/{model_id}/unload";

pub fn mount(router: Router<AppState>) -> Router<AppState> {
    router
        .route(
            MODELS_PATH,
            get(list_models).post(deploy_model).delete(undeploy_model),
        )
        .route(LOAD_PATH, post(load_model))
        .route(UNLOAD_PATH, post(unload_model))
}

fn management(state: &AppState) -> Result<&Management, ApiError> {
    state.management().ok_or_else(|| ApiError::RouteNotFound {
        method: "".into(),
        path: MODELS_PATH.into(),
    })
}

/// Deploy a model: Caikit's form (`model_files`, written into `models_dir/<model_id>/`) or
/// taskgate's (`module` with `config`, or `backend`, as in a config file). An eager model is
/// loaded before the answer; one that fails to load is not kept. The deployment survives
/// restarts.
#[utoipa::path(post, path = "/management/models", tag = "management",
    request_body = DeployModelRequest,
    responses(
        (status = 200, description = "The model is deployed (and, unless lazy, loaded)", body = ModelInfo),
        (status = 400, description = "The request is not a deployable model (the field says why), a path leaves models_dir, or the model failed to load", body = ErrorBody),
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
        (status = 409, description = "A model of that id exists", body = ErrorBody),
        (status = 413, description = "The body is larger than management.max_deploy_bytes", body = ErrorBody),
        (status = 415, description = "The body is not application/json", body = ErrorBody),
        (status = 422, description = "The body does not match the request schema", body = ErrorBody),
        (status = 503, description = "The memory budget has no room for it now", body = ErrorBody),
    ))]
pub async fn deploy_model(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        principal.check_admin()?;
        let management = management(&state)?;
        let _slot = state.admit_call()?;
        let limit = BodyLimit {
            bytes: state.limits().max_deploy_bytes,
            values: state.limits().max_json_values,
        };
        let mut json = read_json(&headers, body, limit).await?;
        // JSON has one number type: 8.0 is the integer 8 the schema asks for.
        if let Some(max) = json.get_mut("max_concurrent_requests")
            && let Some(whole) = max.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0)
            && !max.is_u64()
        {
            *max = serde_json::Value::from(whole as u64);
        }
        let request: DeployModelRequest = serde_json::from_value(json)
            .map_err(|e| ApiError::Schema(vec![FieldError::new("", e.to_string())]))?;
        management.deploy(request).await
    }
    .await;
    respond(result, &id)
}

/// The `model_id` query parameter, or an error naming it.
fn model_id(query: Option<String>) -> Result<String, ApiError> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "model_id")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| {
            ApiError::Schema(vec![FieldError::new(
                "model_id",
                "the query parameter model_id is required",
            )])
        })
}

/// Undeploy a model deployed through this API: new calls get 404 at once, calls in flight
/// finish. Models from the config file, the models directory or training are refused (409).
#[utoipa::path(delete, path = "/management/models", tag = "management",
    params(("model_id" = String, Query, description = "The model to undeploy")),
    responses(
        (status = 200, description = "The model is undeployed", body = UndeployModelRequest),
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 409, description = "The model was not deployed through this API", body = ErrorBody),
        (status = 422, description = "model_id is missing", body = ErrorBody),
    ))]
pub async fn undeploy_model(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        principal.check_admin()?;
        let management = management(&state)?;
        let model = model_id(query)?;
        management.undeploy(&model).await
    }
    .await;
    respond(result, &id)
}

/// Every model with its lifecycle: state, load policy, pinned, calls in flight, measured
/// memory, and for a failed one its error and when it is retried.
// The operation id is `model_states`: `list_models` is the OpenAI route's, and generated
// clients name their functions after operation ids.
#[utoipa::path(get, path = "/management/models", tag = "management", operation_id = "model_states",
    responses(
        (status = 200, description = "Every model", body = ModelsInfo),
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
    ))]
pub async fn list_models(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
) -> Response {
    let result = principal
        .check_admin()
        .and_then(|()| state.models_info(&principal, &[]).map_err(ApiError::from));
    respond(result, &id)
}

/// Load a model now (a lazy one, or one unloaded) and wait until it is loaded.
#[utoipa::path(post, path = "/management/models/{model_id}/load", tag = "management",
    params(("model_id" = String, Path, description = "The model")),
    responses(
        (status = 200, description = "The model is loaded", body = ModelStateAnswer),
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 503, description = "It failed to load, or the memory budget has no room for it", body = ErrorBody),
    ))]
pub async fn load_model(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    Path(model): Path<String>,
) -> Response {
    let result = match admin_management(&state, &principal) {
        Ok(management) => management.load(&model).await,
        Err(error) => Err(error),
    };
    respond(result, &id)
}

fn admin_management<'s>(
    state: &'s AppState,
    principal: &crate::auth::Principal,
) -> Result<&'s Management, ApiError> {
    principal.check_admin()?;
    management(state)
}

/// Unload a model once its calls in flight end; its next call loads it again.
#[utoipa::path(post, path = "/management/models/{model_id}/unload", tag = "management",
    params(("model_id" = String, Path, description = "The model")),
    responses(
        (status = 200, description = "The model is unloaded", body = ModelStateAnswer),
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such model", body = ErrorBody),
        (status = 409, description = "The model was built into the process and cannot be reloaded", body = ErrorBody),
    ))]
pub async fn unload_model(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    Path(model): Path<String>,
) -> Response {
    let result = match admin_management(&state, &principal) {
        Ok(management) => management.unload(&model).await,
        Err(error) => Err(error),
    };
    respond(result, &id)
}
