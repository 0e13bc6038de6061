//! Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the
//! statuses and headers (`Retry-After`, `x-ratelimit-*`, `WWW-Authenticate`, `x-request-id`)
//! of the task API: [`ApiError`]'s one mapping, with another body.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use taskgate_modules::TaskError;
use taskgate_schemas::FieldError;
use utoipa::ToSchema;

use crate::error::ApiError;

/// An error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenAiError {
    pub error: OpenAiErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenAiErrorDetail {
    #[schema(example = "n: only 1 answer per request is supported")]
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `rate_limit_error`, `timeout_error` or `server_error`.
    #[serde(rename = "type")]
    #[schema(example = "invalid_request_error")]
    pub kind: &'static str,
    /// The request field at fault, in OpenAI's notation (`messages[0].content`).
    #[schema(example = "n")]
    pub param: Option<String>,
    /// `model_not_found`, `invalid_value`, `unknown_parameter`, `invalid_api_key`,
    /// `insufficient_permissions`, `rate_limit_exceeded`, `model_unavailable`, ...
    #[schema(example = "invalid_value")]
    pub code: Option<&'static str>,
}

/// The errors every OpenAI task route may answer, documented once.
pub struct RouteErrors;

impl utoipa::IntoResponses for RouteErrors {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        use utoipa::openapi::{Content, Ref, response::ResponseBuilder};
        [
            (
                "400",
                "A parameter taskgate cannot honour, a model that does not serve the \
                route's task, or an input the model cannot take; `param` names the field",
            ),
            ("401", "No API key, or one not known"),
            ("403", "The key may not use this model or task"),
            ("404", "No such model"),
            ("408", "The body did not arrive in time"),
            ("413", "The body is too large"),
            ("415", "The body is not application/json"),
            (
                "422",
                "The body does not match the schema; `param` names the field",
            ),
            ("429", "Over a limit; retry after `Retry-After`"),
            ("500", "The model failed"),
            ("503", "The model is unavailable"),
            ("504", "The call's deadline passed"),
        ]
        .into_iter()
        .map(|(status, description)| {
            let response = ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("OpenAiError"))),
                )
                .build();
            (status.to_string(), response.into())
        })
        .collect()
    }
}

/// How a route's OpenAI fields appear in the task envelope it runs: (envelope pointer, OpenAI
/// name) pairs, so a task's refusal names the field the caller sent.
#[derive(Debug, Clone, Copy)]
pub struct FieldNames(pub &'static [(&'static str, &'static str)]);

impl FieldNames {
    /// The OpenAI name of the field at `pointer` (the envelope's, or the OpenAI body's own).
    fn param(&self, pointer: &str) -> String {
        let (name, rest) = self
            .0
            .iter()
            .filter(|(prefix, _)| {
                pointer == *prefix
                    || pointer
                        .strip_prefix(prefix)
                        .is_some_and(|r| r.starts_with('/'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(prefix, name)| (name.to_string(), &pointer[prefix.len()..]))
            .unwrap_or_default();
        let rest = if name.is_empty() { pointer } else { rest };
        let mut param = name;
        for segment in rest.split('/').filter(|s| !s.is_empty()) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if segment.bytes().all(|b| b.is_ascii_digit()) {
                param.push_str(&format!("[{segment}]"));
            } else {
                if !param.is_empty() {
                    param.push('.');
                }
                param.push_str(&segment);
            }
        }
        param
    }

    /// `message` with the envelope's parameter names replaced by the caller's, and without
    /// advice that names a task-API parameter OpenAI's API lacks.
    fn rename(&self, message: &str) -> String {
        let mut message = message.replace(TRUNCATION_ADVICE, "");
        for (pointer, name) in self.0 {
            if let Some(internal) = pointer.strip_prefix("/parameters/")
                && internal != *name
            {
                message = message.replace(internal, name);
            }
        }
        message
    }
}

/// The generation module's advice for a prompt longer than the context: a parameter of the
/// task API only.
const TRUNCATION_ADVICE: &str =
    "; set parameters.truncate_input_tokens to keep only the last tokens";

fn field_errors(error: &ApiError) -> &[FieldError] {
    match error {
        ApiError::Schema(fields) => fields,
        ApiError::Task(TaskError::InvalidArgument { fields, .. }) => fields,
        _ => &[],
    }
}

/// The body OpenAI's clients read for `error`.
pub fn body(error: &ApiError, names: FieldNames) -> OpenAiError {
    let status = error.status();
    let fields = field_errors(error);
    let (message, param) = match (error, fields) {
        (ApiError::MissingModelId, _) => (error.to_string(), Some("model".to_string())),
        (_, [first, ..]) => {
            let param = names.param(&first.path);
            let more = match fields.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let shown = if param.is_empty() { "body" } else { &param };
            (
                format!("{shown}: {}{more}", names.rename(&first.message)),
                Some(param).filter(|p| !p.is_empty()),
            )
        }
        (ApiError::Task(TaskError::ModelNotFound(_) | TaskError::TaskNotServed { .. }), _) => {
            (error.to_string(), Some("model".to_string()))
        }
        _ => (names.rename(&error.to_string()), None),
    };
    let kind = match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        408 | 504 => "timeout_error",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    };
    let code = match error {
        ApiError::Task(TaskError::ModelNotFound(_)) => Some("model_not_found"),
        ApiError::Task(TaskError::TaskNotServed { .. }) => Some("model_not_supported"),
        ApiError::Task(TaskError::ModelUnavailable { .. }) => Some("model_unavailable"),
        ApiError::Unauthenticated(_) => Some("invalid_api_key"),
        ApiError::Forbidden { .. } => Some("insufficient_permissions"),
        ApiError::RateLimited(_) => Some("rate_limit_exceeded"),
        _ if fields
            .iter()
            .any(|f| f.message.starts_with("unknown field")) =>
        {
            Some("unknown_parameter")
        }
        _ if !fields.is_empty() => Some("invalid_value"),
        _ if status == StatusCode::TOO_MANY_REQUESTS => Some("overloaded"),
        _ => None,
    };
    OpenAiError {
        error: OpenAiErrorDetail {
            message,
            kind,
            param,
            code,
        },
    }
}

/// The response for `error`: the task API's status and headers, OpenAI's body.
pub fn respond(error: ApiError, request_id: &str, names: FieldNames) -> Response {
    let json = serde_json::to_vec(&body(&error, names))
        .expect("error bodies always serialize. This is a bug.");
    let (mut parts, _) = error.into_response_with_id(request_id).into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: FieldNames = FieldNames(&[
        ("/inputs", "messages"),
        ("/parameters/max_new_tokens", "max_tokens"),
        ("/parameters/stop_sequences", "stop"),
    ]);

    #[test]
    fn envelope_fields_are_named_as_the_caller_sent_them() {
        assert_eq!(NAMES.param("/parameters/max_new_tokens"), "max_tokens");
        assert_eq!(NAMES.param("/parameters/stop_sequences/2"), "stop[2]");
        assert_eq!(NAMES.param("/messages/0/content"), "messages[0].content");
        assert_eq!(NAMES.param("/n"), "n");
        assert_eq!(NAMES.param(""), "");
        let error = ApiError::Task(TaskError::invalid_field(
            "/parameters/max_new_tokens",
            "max_new_tokens (900) is more than the model's context of 512 tokens",
        ));
        let body = body(&error, NAMES).error;
        assert_eq!(body.param.as_deref(), Some("max_tokens"));
        assert_eq!(
            body.message,
            "max_tokens: max_tokens (900) is more than the model's context of 512 tokens"
        );
        assert_eq!(body.kind, "invalid_request_error");
        assert_eq!(body.code, Some("invalid_value"));
        let long = ApiError::Task(TaskError::invalid_field(
            "/inputs",
            format!(
                "the prompt is 600 tokens, more than the model's context of 512{TRUNCATION_ADVICE}"
            ),
        ));
        assert_eq!(
            super::body(&long, NAMES).error.message,
            "messages: the prompt is 600 tokens, more than the model's context of 512"
        );
    }

    #[test]
    fn statuses_and_kinds_follow_the_task_api() {
        let unknown = ApiError::Task(TaskError::ModelNotFound("nope".into()));
        let response = respond(unknown.clone(), "req-1", NAMES);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = body(&unknown, NAMES).error;
        assert_eq!(
            (body.kind, body.code, body.param.as_deref()),
            ("not_found_error", Some("model_not_found"), Some("model"))
        );
        let unknown_field =
            ApiError::Schema(vec![FieldError::new("/tools", "unknown field 'tools'")]);
        let body = super::body(&unknown_field, NAMES).error;
        assert_eq!(body.code, Some("unknown_parameter"));
        assert_eq!(body.param.as_deref(), Some("tools"));
        let unauthenticated = ApiError::Unauthenticated("no API key".into());
        let response = respond(unauthenticated, "req-2", NAMES);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key("www-authenticate"));
    }
}
