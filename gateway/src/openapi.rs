//! The OpenAPI document: fixed routes from `#[utoipa::path]`, task routes generated from the task
//! types, error responses generated from real [`ApiError`] values.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use taskgate_modules::Task;
use taskgate_schemas::{ErrorBody, FieldError, ModelInfo, ModelsInfo, RuntimeInfo, TrainingList};
use utoipa::openapi::example::Example;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{Components, Ref};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, PathItem, Required, Response};
use utoipa::{OpenApi, ToSchema};

use crate::error::documented_task_errors;
use crate::task_list::{TaskRoutes, task_path};

const TASKS_TAG: &str = "tasks";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "taskgate",
        description = "Stable, typed AI task APIs (text generation, classification, extraction, \
            embeddings, similarity, rerank, tokenization) over in-process and remote model \
            runtimes. Wire-compatible with the Caikit runtime's REST API.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(crate::rest::info::health, crate::rest::info::version, crate::rest::info::models,
        crate::rest::training::classifier_train, crate::rest::training::prompt_tuning_train,
        crate::rest::training::trainings,
        crate::rest::training::cancel_training, crate::rest::training::training_events,
        crate::rest::training::delete_trained_model,
        crate::rest::management::deploy_model, crate::rest::management::undeploy_model,
        crate::rest::management::list_models, crate::rest::management::load_model,
        crate::rest::management::unload_model,
        crate::openai::chat::create, crate::openai::completions::create,
        crate::openai::embeddings::create, crate::openai::rerank::create,
        crate::openai::models::list, crate::openai::models::retrieve),
    components(schemas(ErrorBody, FieldError, RuntimeInfo, ModelsInfo, ModelInfo, TrainingList,
        crate::openai::error::OpenAiError)),
    tags(
        (name = "tasks", description = "Run a task on a model: `{model_id, inputs, parameters}`"),
        (name = "info", description = "Health, version and the served models"),
        (name = "training", description = "Train models on your records and follow the jobs; \
            a trained model is served under its `model_name` as soon as the job completes"),
        (name = "openai", description = "OpenAI-compatible routes over the same models, keys \
            and limits: point an OpenAI SDK's `base_url` at `<server>/v1`"),
        (name = "management", description = "Deploy and undeploy models while serving, load and \
            unload them, and see each one's state and memory (the `admin` scope)"),
    )
)]
pub struct ApiDoc;

/// The whole document for a set of task routes, as utoipa builds it (before
/// [`finish`] states what utoipa cannot).
pub fn document(routes: &TaskRoutes) -> OpenApiDoc {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    add_security(&mut doc);
    routes.document(&mut doc);
    doc
}

/// The served and checked-in document: [`document`] with event streams, integer ranges and
/// cross-field rules stated (see `openapi_rules`).
pub fn document_value(routes: &TaskRoutes) -> serde_json::Value {
    let mut json = serde_json::to_value(document(routes))
        .expect("the OpenAPI document always serializes. This is a bug.");
    crate::openapi_rules::finish(&mut json);
    json
}

/// API keys as `Authorization: Bearer` or `x-api-key`, required by every route but health and
/// version whenever the server has keys configured (a loopback server without keys needs none,
/// hence the empty alternative).
fn add_security(doc: &mut OpenApiDoc) {
    use utoipa::openapi::security::{
        ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    let components = doc.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key: `Authorization: Bearer <key>`"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "x-api-key",
            "An API key: `x-api-key: <key>`",
        ))),
    );
    doc.security = Some(vec![
        SecurityRequirement::new("bearer", Vec::<String>::new()),
        SecurityRequirement::new("api_key", Vec::<String>::new()),
        SecurityRequirement::default(),
    ]);
}

/// `taskgate openapi` and the checked-in `openapi/openapi.json`.
pub fn document_json(routes: &TaskRoutes) -> String {
    let mut json = serde_json::to_string_pretty(&document_value(routes))
        .expect("the OpenAPI document always serializes. This is a bug.");
    json.push('\n');
    json
}

pub fn document_task<T: Task>(doc: &mut OpenApiDoc) {
    let ok = Response::builder()
        .description(format!("The `{}`", T::Output::name()))
        .content(
            "application/json",
            Content::new(Some(schema_ref::<T::Output>())),
        )
        .build();
    add_operation::<T>(doc, ok);
}

pub fn document_streaming_task<T: Task>(doc: &mut OpenApiDoc) {
    let ok = Response::builder()
        .description(format!(
            "A server-sent event stream: one `data: <{}>` line per event. A failure after the \
             stream started is sent as `event: error` with an `ErrorBody` as data, and the \
             stream ends.",
            T::Output::name()
        ))
        .content(
            "text/event-stream",
            Content::new(Some(schema_ref::<T::Output>())),
        )
        .build();
    add_operation::<T>(doc, ok);
}

fn add_operation<T: Task>(doc: &mut OpenApiDoc, ok: Response) {
    register_schemas::<T::Request>(doc);
    register_schemas::<T::Output>(doc);
    let body = RequestBody::builder()
        .content(
            "application/json",
            Content::new(Some(schema_ref::<T::Request>())),
        )
        .required(Some(Required::True))
        .build();
    let mut operation = OperationBuilder::new()
        .operation_id(Some(T::RPC))
        .summary(Some(T::SUMMARY))
        .tag(TASKS_TAG)
        .request_body(Some(body))
        .response("200", ok);
    let components = doc.components.get_or_insert_with(Components::new);
    for (status, response) in error_responses() {
        let name = format!("Error{status}");
        components.responses.insert(name.clone(), response.into());
        operation = operation.response(status, Ref::new(format!("#/components/responses/{name}")));
    }
    doc.paths.paths.insert(
        task_path(T::NAME),
        PathItem::new(HttpMethod::Post, operation.build()),
    );
}

/// One response per status a task route returns, each with an example of every error that maps
/// to that status.
fn error_responses() -> BTreeMap<String, Response> {
    let mut by_status: BTreeMap<u16, Vec<(&'static str, _)>> = BTreeMap::new();
    for (name, error) in documented_task_errors() {
        by_status
            .entry(error.status().as_u16())
            .or_default()
            .push((name, error));
    }
    by_status
        .into_iter()
        .map(|(status, errors)| {
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            let examples = errors.into_iter().map(|(name, error)| {
                let body = serde_json::to_value(error.body("5a2f8c1e-0d7b-4a57-9d37-2c9f1f0b7e21"))
                    .expect("error bodies always serialize. This is a bug.");
                let example = Example::builder()
                    .summary(error.to_string())
                    .value(Some(body))
                    .build();
                (name, example)
            });
            let content = Content::builder()
                .schema(Some(schema_ref::<ErrorBody>()))
                .examples_from_iter(examples)
                .build();
            let response = Response::builder()
                .description(reason)
                .content("application/json", content)
                .build();
            (status.to_string(), response)
        })
        .collect()
}

fn schema_ref<T: ToSchema>() -> Ref {
    Ref::from_schema_name(T::name())
}

fn register_schemas<T: ToSchema>(doc: &mut OpenApiDoc) {
    let components = doc.components.get_or_insert_with(Components::new);
    let mut collected = Vec::new();
    T::schemas(&mut collected);
    components
        .schemas
        .insert(T::name().into_owned(), T::schema());
    for (name, schema) in collected {
        components.schemas.insert(name, schema);
    }
}
