//! The call pipeline's authorization step: who may run which task on which model. It runs before
//! the request is validated, so a caller that may not call learns nothing about the schema.

use crate::call_headers::CallHeaders;
use crate::error::ApiError;

/// What a call asks for, as the authorization step sees it.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// The task's route name, e.g. `text-generation`.
    pub task: &'static str,
    /// The model the call names (absent while the envelope names none as a string; validation
    /// then refuses it).
    pub model_id: Option<&'a str>,
    pub headers: &'a CallHeaders,
}

/// Decides whether a call may run; a refusal is the call's answer.
pub trait Authorizer: Send + Sync {
    fn authorize(&self, access: &Access<'_>) -> Result<(), ApiError>;
}

/// Every call may run: the policy of a gateway without credentials configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _access: &Access<'_>) -> Result<(), ApiError> {
        Ok(())
    }
}
