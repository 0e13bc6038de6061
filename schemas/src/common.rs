use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Identifies the module that produced a result (Caikit `caikit_data_model.common.ProducerId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProducerId {
    /// Name of the producing module.
    #[schema(example = "PII rules")]
    pub name: String,
    /// Version of the producing module.
    #[schema(example = "0.1.0")]
    pub version: String,
}

impl ProducerId {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
        }
    }
}
