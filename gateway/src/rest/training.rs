//! The training API, Caikit-compatible: `POST /api/v1/<Task><Module>Train` queues a job;
//! `/management/trainings` reports (`GET`), lists (`GET` without an id) and cancels (`DELETE`)
//! jobs; `/management/trainings/events` streams a job's progress until it ends.

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use taskgate_modules::TaskError;
use taskgate_modules::tuning::{TrainingManager, classifier_training, prompt_tuning_training};
use taskgate_schemas::{
    ClassifierTrainRequest, ErrorBody, FieldError, PromptTuningTrainRequest, TrainingJob,
    TrainingList, TrainingStatusResponse,
};

use crate::auth::{Principal, TrainingRight};
use crate::error::ApiError;
use crate::rest::caller::Authenticated;
use crate::rest::request_id::RequestId;
use crate::state::AppState;

/// The validator key and route name of classifier training.
pub const CLASSIFIER_TRAIN: &str = "TextClassificationTaskClassifierTrain";
/// The validator key and route name of prompt tuning.
pub const PROMPT_TUNING_TRAIN: &str = "TextGenerationTaskPeftPromptTuningTrain";
pub const TRAININGS_PATH: &str = "/management/trainings";
pub const TRAINING_EVENTS_PATH: &str = "/management/trainings/events";
pub const TRAINED_MODEL_PATH: &str = "/management/trainings/model";

pub fn classifier_train_path() -> String {
    format!("/api/v1/{CLASSIFIER_TRAIN}")
}

pub fn prompt_tuning_train_path() -> String {
    format!("/api/v1/{PROMPT_TUNING_TRAIN}")
}

pub fn mount(router: Router<AppState>) -> Router<AppState> {
    router
        .route(&classifier_train_path(), post(classifier_train))
        .route(&prompt_tuning_train_path(), post(prompt_tuning_train))
        .route(TRAININGS_PATH, get(trainings).delete(cancel_training))
        .route(TRAINING_EVENTS_PATH, get(training_events))
        .route(TRAINED_MODEL_PATH, delete(delete_trained_model))
}

pub fn manager(state: &AppState) -> Result<&TrainingManager, ApiError> {
    state.training().ok_or_else(|| {
        TaskError::Runtime(taskgate_runtime::RuntimeError::Unavailable(
            "training is disabled on this server".into(),
        ))
        .into()
    })
}

/// The `training_id` query parameter, or an error naming it when `required`.
fn training_id(query: Option<String>, required: bool) -> Result<Option<String>, ApiError> {
    let id = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "training_id")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty());
    if required && id.is_none() {
        return Err(ApiError::Schema(vec![FieldError::new(
            "training_id",
            "the query parameter training_id is required",
        )]));
    }
    Ok(id)
}

/// What every route about one job needs first, in this order: the key's right, training
/// enabled, and the `training_id` the query names.
fn named_job<'s>(
    state: &'s AppState,
    principal: &Principal,
    right: TrainingRight,
    query: Option<String>,
) -> Result<(&'s TrainingManager, String), ApiError> {
    principal.check_training(right)?;
    let manager = manager(state)?;
    let training = training_id(query, true)?.unwrap_or_default();
    Ok((manager, training))
}

/// The JSON answer, or the error's.
pub(crate) fn respond<T: serde::Serialize>(
    result: Result<T, ApiError>,
    request_id: &str,
) -> Response {
    match result {
        Ok(value) => axum::Json(value).into_response(),
        Err(error) => error.into_response_with_id(request_id),
    }
}

/// Train a text classifier: a head over a served embedding model's vectors.
#[utoipa::path(post, path = "/api/v1/TextClassificationTaskClassifierTrain", tag = "training",
    request_body = ClassifierTrainRequest,
    responses(
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the training right (or the model) this needs", body = ErrorBody),
        (status = 200, description = "The job was queued", body = TrainingJob),
        (status = 400, description = "A parameter or record is not acceptable", body = ErrorBody),
        (status = 409, description = "A model of that `model_name` is served or being trained", body = ErrorBody),
        (status = 422, description = "The body does not match the request schema", body = ErrorBody),
        (status = 429, description = "The training queue is full", body = ErrorBody),
    ))]
pub async fn classifier_train(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Response {
    train(&state, &principal, Trainer::Classifier, &id, &headers, body).await
}

/// Tune a soft prompt for a served in-process text-generation model; the tuned model serves
/// `text-generation`, `server-streaming-text-generation` and `tokenization`.
#[utoipa::path(post, path = "/api/v1/TextGenerationTaskPeftPromptTuningTrain", tag = "training",
    request_body = PromptTuningTrainRequest,
    responses(
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the training right (or the model) this needs", body = ErrorBody),
        (status = 200, description = "The job was queued", body = TrainingJob),
        (status = 400, description = "A parameter or record is not acceptable", body = ErrorBody),
        (status = 409, description = "A model of that `model_name` is served or being trained", body = ErrorBody),
        (status = 422, description = "The body does not match the request schema", body = ErrorBody),
        (status = 429, description = "The training queue is full", body = ErrorBody),
    ))]
pub async fn prompt_tuning_train(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    headers: HeaderMap,
    body: Body,
) -> Response {
    train(
        &state,
        &principal,
        Trainer::PromptTuning,
        &id,
        &headers,
        body,
    )
    .await
}

/// The trainers a train route submits to.
#[derive(Debug, Clone, Copy)]
enum Trainer {
    Classifier,
    PromptTuning,
}

async fn train(
    state: &AppState,
    principal: &Principal,
    trainer: Trainer,
    request_id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        principal.check_training(TrainingRight::Submit)?;
        let _slot = state.admit_call()?;
        let json = crate::rest::body::read_request_json(state, headers, body).await?;
        match trainer {
            Trainer::Classifier => submit_classifier(state, principal, json, request_id).await,
            Trainer::PromptTuning => submit_prompt_tuning(state, principal, json, request_id).await,
        }
    }
    .await;
    respond(result, request_id)
}

/// The request `json` checked against the schema `key` and read as `R`.
fn checked<R: DeserializeOwned>(
    state: &AppState,
    key: &str,
    json: serde_json::Value,
) -> Result<R, ApiError> {
    let errors = state.validators().check(key, &json);
    if !errors.is_empty() {
        return Err(ApiError::Schema(errors));
    }
    let mut json = json;
    crate::validation::integral_parameters(&mut json);
    serde_json::from_value(json)
        .map_err(|e| ApiError::Schema(vec![FieldError::new("", e.to_string())]))
}

/// The key may submit, and may use both the base model and the model it would create (else
/// it could not call what it trained).
fn check_submit(principal: &Principal, base_model: &str, model_name: &str) -> Result<(), ApiError> {
    principal.check_training(TrainingRight::Submit)?;
    principal.check_call_model(base_model)?;
    principal.check_call_model(model_name)
}

/// A classifier train request in its REST form (gRPC converts to it): scopes, schema, then the
/// trainer's own checks, then the queue.
pub async fn submit_classifier(
    state: &AppState,
    principal: &Principal,
    json: serde_json::Value,
    request_id: &str,
) -> Result<TrainingJob, ApiError> {
    let manager = manager(state)?;
    let request: ClassifierTrainRequest = checked(state, CLASSIFIER_TRAIN, json)?;
    check_submit(
        principal,
        &request.parameters.base_model,
        &request.model_name,
    )?;
    let owner = principal.key_id();
    Ok(classifier_training::submit(manager, owner, request, request_id).await?)
}

/// A prompt-tuning request in its REST form (gRPC converts to it), checked like the above.
pub async fn submit_prompt_tuning(
    state: &AppState,
    principal: &Principal,
    json: serde_json::Value,
    request_id: &str,
) -> Result<TrainingJob, ApiError> {
    let manager = manager(state)?;
    let request: PromptTuningTrainRequest = checked(state, PROMPT_TUNING_TRAIN, json)?;
    check_submit(
        principal,
        &request.parameters.base_model,
        &request.model_name,
    )?;
    let owner = principal.key_id();
    Ok(prompt_tuning_training::submit(manager, owner, request, request_id).await?)
}

/// One job's status (`?training_id=`), or every job, newest first.
#[utoipa::path(get, path = "/management/trainings", tag = "training",
    params(("training_id" = Option<String>, Query, description = "The job; omit to list all")),
    responses(
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the training right (or the model) this needs", body = ErrorBody),
        (status = 200, description = "The job's status, or `TrainingList` without an id",
            body = TrainingStatusResponse),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn trainings(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let result = (|| {
        principal.check_training(TrainingRight::Read)?;
        let manager = manager(&state)?;
        let viewer = principal.viewer();
        match training_id(query, false)? {
            Some(training) => Ok(axum::Json(manager.status(&training, viewer)?).into_response()),
            None => Ok(axum::Json(TrainingList {
                trainings: manager.list(viewer),
            })
            .into_response()),
        }
    })();
    result.unwrap_or_else(|error: ApiError| error.into_response_with_id(&id))
}

/// Cancels a job: a queued one at once, a running one within one training step (the answer
/// comes once it stopped). An ended job keeps its state.
#[utoipa::path(delete, path = "/management/trainings", tag = "training",
    params(("training_id" = String, Query, description = "The job")),
    responses(
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the training right (or the model) this needs", body = ErrorBody),
        (status = 200, description = "The job's status after the cancel", body = TrainingStatusResponse),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn cancel_training(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let (manager, training) = named_job(&state, &principal, TrainingRight::Cancel, query)?;
        Ok(manager.cancel(&training, principal.viewer()).await?)
    }
    .await;
    respond(result, &id)
}

/// Deletes an ended job and its trained model: the model stops being served (calls already
/// running finish) and the job's files are removed. A queued or running job must be canceled
/// first.
#[utoipa::path(delete, path = "/management/trainings/model", tag = "training",
    params(("training_id" = String, Query, description = "The job")),
    responses(
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the training right (or the model) this needs", body = ErrorBody),
        (status = 200, description = "The job's last status, with the reason `deleted`", body = TrainingStatusResponse),
        (status = 409, description = "The job has not ended: cancel it first", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn delete_trained_model(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let result = named_job(&state, &principal, TrainingRight::Delete, query)
        .and_then(|(manager, training)| Ok(manager.delete(&training, principal.viewer())?));
    respond(result, &id)
}

/// The job's status as server-sent events: now, then at each change, until it ends.
#[utoipa::path(get, path = "/management/trainings/events", tag = "training",
    params(("training_id" = String, Query, description = "The job")),
    responses(
        (status = 401, description = "No API key, or one not known", body = ErrorBody),
        (status = 403, description = "The key lacks the training right (or the model) this needs", body = ErrorBody),
        (status = 200, description = "One `data: <TrainingStatusResponse>` event per change; \
            the stream ends after the job's final state", body = TrainingStatusResponse,
            content_type = "text/event-stream"),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn training_events(
    State(state): State<AppState>,
    RequestId(id): RequestId,
    Authenticated(principal): Authenticated,
    RawQuery(query): RawQuery,
) -> Response {
    let updates = (|| {
        let (manager, training) = named_job(&state, &principal, TrainingRight::Read, query)?;
        Ok::<_, ApiError>(manager.watch(&training, principal.viewer())?)
    })();
    let updates = match updates {
        Ok(updates) => updates,
        Err(error) => return error.into_response_with_id(&id),
    };
    // The status now, then each change; the final state is sent, then the stream ends.
    let events = futures::stream::unfold(Some((updates, true)), |state| async move {
        let (mut updates, first) = state?;
        if !first && updates.changed().await.is_err() {
            return None;
        }
        let status = updates.borrow_and_update().clone();
        let next = (!status.state.is_terminal()).then_some((updates, false));
        Some((status, next))
    })
    .map(|status| {
        let json =
            serde_json::to_string(&status).expect("wire types always serialize. This is a bug.");
        Ok::<_, Infallible>(Event::default().data(json))
    });
    Sse::new(events).into_response()
}
