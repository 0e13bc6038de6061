//! Who a call runs as, and what that caller may do: the tasks, the models (by glob), the
//! training rights and admin.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use taskgate_modules::tuning::Viewer;

use super::rate_limit::KeyLimiter;
use crate::error::ApiError;

/// What a key may do with training jobs; each is a separate grant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TrainingRight {
    /// Queue jobs (their base model must be one the key may call).
    Submit,
    /// See the key's own jobs and their progress.
    Read,
    /// Cancel the key's own jobs.
    Cancel,
    /// Delete the key's own trained models and their files.
    Delete,
}

impl TrainingRight {
    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Read => "read",
            Self::Cancel => "cancel",
            Self::Delete => "delete",
        }
    }
}

/// What a key may do. A key with none of these may only reach the open routes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Scopes {
    /// Task route names the key may call (`text-generation`, …); `*` is every task.
    #[schema(example = json!(["text-generation", "server-streaming-text-generation"]))]
    pub tasks: Vec<String>,
    /// Model ids the key may call, as globs (`*` any run of characters, `?` one character).
    #[schema(example = json!(["granite-*"]))]
    pub models: Vec<String>,
    /// Training rights over the key's own jobs.
    #[schema(example = json!(["submit", "read"]))]
    pub training: BTreeSet<TrainingRight>,
    /// Scrape `/metrics` (model ids and key ids, counts and latencies; no inputs).
    pub metrics: bool,
    /// Everything, including every key's jobs and the models' paths and endpoints.
    pub admin: bool,
}

impl Scopes {
    pub fn all() -> Self {
        Self {
            admin: true,
            ..Self::default()
        }
    }

    fn may_call_task(&self, task: &str) -> bool {
        self.admin || self.tasks.iter().any(|t| t == "*" || t == task)
    }

    pub fn may_use_model(&self, model: &str) -> bool {
        self.admin || self.models.iter().any(|glob| glob_matches(glob, model))
    }
}

/// The caller of one call: the key it presented (none while auth is disabled) and its grants.
#[derive(Clone)]
pub struct Principal {
    key_id: Option<Arc<str>>,
    scopes: Arc<Scopes>,
    limiter: Option<Arc<KeyLimiter>>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("key_id", &self.key_id)
            .field("admin", &self.scopes.admin)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// The caller of a gateway without keys: may do everything, owns nothing.
    pub fn unrestricted() -> Self {
        Self {
            key_id: None,
            scopes: Arc::new(Scopes::all()),
            limiter: None,
        }
    }

    pub fn for_key(id: Arc<str>, scopes: Arc<Scopes>, limiter: Option<Arc<KeyLimiter>>) -> Self {
        Self {
            key_id: Some(id),
            scopes,
            limiter,
        }
    }

    /// The key's id; `None` while auth is disabled.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    pub fn is_admin(&self) -> bool {
        self.scopes.admin
    }

    pub fn limiter(&self) -> Option<&Arc<KeyLimiter>> {
        self.limiter.as_ref()
    }

    /// Whose training jobs this caller sees and changes.
    pub fn viewer(&self) -> Viewer<'_> {
        match self.key_id() {
            Some(key) if !self.is_admin() => Viewer::Owner(key),
            _ => Viewer::Everyone,
        }
    }

    pub fn may_use_model(&self, model: &str) -> bool {
        self.scopes.may_use_model(model)
    }

    /// The task and the model, each a separate grant; the refusal names the first one missing.
    pub fn check_call(&self, task: &str, model: Option<&str>) -> Result<(), ApiError> {
        if !self.scopes.may_call_task(task) {
            return Err(self.forbidden(format!("task:{task}")));
        }
        match model {
            Some(model) if !self.scopes.may_use_model(model) => {
                Err(self.forbidden(format!("model:{model}")))
            }
            _ => Ok(()),
        }
    }

    /// The model alone (training's base and new models).
    pub fn check_call_model(&self, model: &str) -> Result<(), ApiError> {
        if self.scopes.may_use_model(model) {
            Ok(())
        } else {
            Err(self.forbidden(format!("model:{model}")))
        }
    }

    pub fn check_metrics(&self) -> Result<(), ApiError> {
        if self.is_admin() || self.scopes.metrics {
            Ok(())
        } else {
            Err(self.forbidden("metrics".to_string()))
        }
    }

    pub fn check_training(&self, right: TrainingRight) -> Result<(), ApiError> {
        if self.is_admin() || self.scopes.training.contains(&right) {
            Ok(())
        } else {
            Err(self.forbidden(format!("training:{}", right.name())))
        }
    }

    pub fn check_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(self.forbidden("admin".to_string()))
        }
    }

    fn forbidden(&self, scope: String) -> ApiError {
        ApiError::Forbidden {
            key: self.key_id().unwrap_or("anonymous").to_string(),
            scope,
        }
    }
}

/// `*` matches any run of characters (none included), `?` exactly one; everything else itself.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (glob, text): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut g, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, t));
                g += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                g += 1;
                t += 1;
            }
            _ => match star {
                Some((star_g, star_t)) => {
                    g = star_g + 1;
                    t = star_t + 1;
                    star = Some((star_g, star_t + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_and_single_characters() {
        for (glob, text, matches) in [
            ("*", "anything", true),
            ("*", "", true),
            ("granite-*", "granite-3b", true),
            ("granite-*", "granite", false),
            ("*-3b", "granite-3b", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob_matches(glob, text), matches, "{glob} ~ {text}");
        }
    }

    #[test]
    fn a_scoped_key_is_refused_naming_the_missing_scope() {
        let scopes = Scopes {
            tasks: vec!["token-classification".into()],
            models: vec!["pii-*".into()],
            training: BTreeSet::from([TrainingRight::Read]),
            metrics: false,
            admin: false,
        };
        let key = Principal::for_key("app".into(), Arc::new(scopes), None);
        assert!(
            key.check_call("token-classification", Some("pii-rules"))
                .is_ok()
        );
        let refused = key.check_call("text-generation", Some("pii-rules"));
        assert_eq!(
            refused.unwrap_err().to_string(),
            "API key 'app' lacks the scope 'task:text-generation'"
        );
        let refused = key.check_call("token-classification", Some("granite"));
        assert!(refused.unwrap_err().to_string().contains("'model:granite'"));
        assert!(key.check_training(TrainingRight::Read).is_ok());
        assert!(key.check_training(TrainingRight::Cancel).is_err());
        assert!(key.check_admin().is_err());
        assert_eq!(key.viewer(), Viewer::Owner("app"));
        assert_eq!(Principal::unrestricted().viewer(), Viewer::Everyone);
    }
}
