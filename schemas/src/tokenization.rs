use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One token of a text, located by Unicode code-point offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Token {
    /// Start offset (code points).
    #[schema(example = 0)]
    pub start: u64,
    /// End offset (code points, exclusive).
    #[schema(example = 5)]
    pub end: u64,
    /// The token text.
    #[schema(example = "Hello")]
    pub text: String,
}

/// The tokens of a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenizationResults {
    pub results: Vec<Token>,
    /// Number of tokens.
    #[schema(example = 1)]
    pub token_count: u64,
}
