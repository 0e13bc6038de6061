//! Whose training jobs a caller sees: with API keys, a job belongs to the key that submitted it.

use super::job_store::JobRecord;

/// Whose jobs a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer<'a> {
    /// Every job (an admin, or a gateway without keys).
    Everyone,
    /// The jobs this key submitted.
    Owner(&'a str),
}

impl Viewer<'_> {
    pub(crate) fn sees(&self, record: &JobRecord) -> bool {
        match self {
            Self::Everyone => true,
            Self::Owner(key) => record.owner.as_deref() == Some(*key),
        }
    }
}
