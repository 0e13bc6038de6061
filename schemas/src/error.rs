use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The one error body every endpoint returns (Caikit's `{details, code, id}` shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "details": "Model 'nope' not loaded",
    "code": 404,
    "id": "6f1c1a52-3c39-4c55-9f0e-1b2cbd5b5d0e"
}))]
pub struct ErrorBody {
    /// Human-readable reason.
    pub details: String,
    /// The HTTP status code, repeated in the body for clients that only keep the body.
    pub code: u16,
    /// The request id (the `x-request-id` header), to correlate with server logs.
    pub id: String,
    /// Per-field reasons for validation errors, one entry per offending field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<Vec<FieldError>>,
}

/// One offending field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field in the request body.
    #[schema(example = "/parameters/top_p")]
    pub path: String,
    /// Why the value was rejected.
    #[schema(example = "1.5 is greater than the maximum of 1")]
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}
