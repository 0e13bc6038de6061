//! Aliases: a name apps call while the models behind it change. Each call picks one target in
//! proportion to the targets' weights (a canary takes a small weight), or the same target for
//! the same key or session when the alias is sticky; when the picked model is unavailable the
//! call goes on to the other targets, then to the fallback models, in order.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use taskgate_schemas::FieldError;
use utoipa::ToSchema;

/// One entry of `aliases:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasConfig {
    /// The `model_id` apps send.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", example = "summarizer")]
    pub name: String,
    /// The models it routes to, each call to one of them in proportion to its weight.
    #[schema(min_items = 1, max_items = 64)]
    pub targets: Vec<AliasTarget>,
    /// Models tried in order when the targets are unavailable.
    #[serde(default)]
    #[schema(max_items = 64)]
    pub fallback: Vec<String>,
    /// Keep each caller on one target: `key` (per API key) or `session` (per `x-session-id`
    /// header or gRPC metadata; calls without one are spread by weight).
    #[serde(default)]
    pub sticky: Sticky,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasTarget {
    /// A model id.
    #[schema(min_length = 1, example = "smollm2")]
    pub model: String,
    /// Its share of the calls, relative to the other targets' (0: only when the others fail).
    #[serde(default = "one")]
    #[schema(minimum = 0, maximum = 1000000, example = 90)]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sticky {
    #[default]
    None,
    Key,
    Session,
}

/// What `aliases:` must hold beyond its schema: unique names that are not model ids, and
/// targets with some weight.
pub fn check(aliases: &[AliasConfig], model_ids: &BTreeSet<&str>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut names = BTreeSet::new();
    for (i, alias) in aliases.iter().enumerate() {
        let at = |field: &str| format!("/aliases/{i}/{field}");
        if !names.insert(alias.name.as_str()) {
            errors.push(FieldError::new(at("name"), "another alias has this name"));
        }
        if model_ids.contains(alias.name.as_str()) {
            errors.push(FieldError::new(
                at("name"),
                "a model has this id; an alias needs a name of its own",
            ));
        }
        if alias.targets.is_empty() {
            errors.push(FieldError::new(at("targets"), "an alias needs a target"));
        } else if alias.targets.iter().all(|t| t.weight == 0) {
            errors.push(FieldError::new(
                at("targets"),
                "every weight is 0: no call would pick a target",
            ));
        }
        if alias.targets.len() > 64 || alias.fallback.len() > 64 {
            errors.push(FieldError::new(
                at("targets"),
                "at most 64 targets and 64 fallback models",
            ));
        }
        let mut seen = BTreeSet::new();
        let models = alias
            .targets
            .iter()
            .map(|t| t.model.as_str())
            .chain(alias.fallback.iter().map(String::as_str));
        for model in models {
            if !seen.insert(model) {
                errors.push(FieldError::new(
                    at("targets"),
                    format!("'{model}' is listed twice among the targets and fallbacks"),
                ));
            }
            if names.contains(model) || aliases.iter().any(|a| a.name == model) {
                errors.push(FieldError::new(
                    at("targets"),
                    format!("'{model}' is an alias; targets and fallbacks name models"),
                ));
            }
        }
    }
    errors
}

/// Who a call comes from, for sticky aliases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    pub key: Option<&'a str>,
    pub session: Option<&'a str>,
}

/// Where a call goes: the models to try, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The alias called, when it was one.
    pub alias: Option<String>,
    /// Never empty.
    pub models: Vec<String>,
}

#[derive(Debug)]
struct Alias {
    targets: Vec<(String, u64)>,
    total: u64,
    fallback: Vec<String>,
    sticky: Sticky,
}

/// The aliases in force.
#[derive(Debug, Default)]
pub struct Aliases {
    by_name: HashMap<String, Alias>,
}

impl Aliases {
    pub fn new(configs: &[AliasConfig]) -> Self {
        let by_name = configs
            .iter()
            .map(|c| {
                let targets: Vec<(String, u64)> = c
                    .targets
                    .iter()
                    .map(|t| (t.model.clone(), u64::from(t.weight)))
                    .collect();
                let alias = Alias {
                    total: targets.iter().map(|(_, w)| w).sum(),
                    targets,
                    fallback: c.fallback.clone(),
                    sticky: c.sticky,
                };
                (c.name.clone(), alias)
            })
            .collect();
        Self { by_name }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The models a call of `name` tries; `name` alone when it is no alias. `draw` is a
    /// uniform random number, used when the alias is not sticky for this caller.
    fn route(&self, name: &str, caller: Caller<'_>, draw: u64) -> Route {
        let Some(alias) = self.by_name.get(name) else {
            return Route {
                alias: None,
                models: vec![name.to_string()],
            };
        };
        let sticky_on = match alias.sticky {
            Sticky::None => None,
            // Without keys every caller is the same one, so all stick together.
            Sticky::Key => Some(caller.key.unwrap_or("")),
            Sticky::Session => caller.session,
        };
        let point = match sticky_on {
            Some(who) => mix(stable_hash(name, who)),
            None => draw,
        } % alias.total.max(1);
        let mut left = point;
        let picked = alias
            .targets
            .iter()
            .position(|(_, weight)| {
                if left < *weight {
                    return true;
                }
                left -= weight;
                false
            })
            .unwrap_or(0);
        let mut models = Vec::with_capacity(alias.targets.len() + alias.fallback.len());
        models.push(alias.targets[picked].0.clone());
        models.extend(
            alias
                .targets
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != picked)
                .map(|(_, (model, _))| model.clone()),
        );
        models.extend(alias.fallback.iter().cloned());
        Route {
            alias: Some(name.to_string()),
            models,
        }
    }
}

/// FNV-1a: the same caller lands on the same target in every replica and after restarts.
fn stable_hash(alias: &str, who: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in alias.bytes().chain([0]).chain(who.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// splitmix64's finalizer: spreads nearby inputs over the whole range.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The aliases in force, replaced whole when the config is reloaded.
#[derive(Debug, Clone)]
pub struct AliasTable {
    current: Arc<RwLock<Arc<Aliases>>>,
    seed: u64,
    draws: Arc<AtomicU64>,
}

impl Default for AliasTable {
    fn default() -> Self {
        Self::new(Aliases::default())
    }
}

impl AliasTable {
    pub fn new(aliases: Aliases) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(aliases))),
            // A random start, so replicas started together do not draw in step.
            seed: std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
            draws: Arc::default(),
        }
    }

    pub fn current(&self) -> Arc<Aliases> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace(&self, aliases: Aliases) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(aliases);
    }

    /// Where a call of `name` goes.
    pub fn route(&self, name: &str, caller: Caller<'_>) -> Route {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        let draw = mix(self
            .seed
            .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        self.current().route(name, caller, draw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(sticky: Sticky) -> AliasConfig {
        AliasConfig {
            name: "chat".into(),
            targets: vec![
                AliasTarget {
                    model: "big".into(),
                    weight: 90,
                },
                AliasTarget {
                    model: "canary".into(),
                    weight: 10,
                },
            ],
            fallback: vec!["small".into()],
            sticky,
        }
    }

    #[test]
    fn weights_share_the_calls_and_the_rest_follow_in_order() {
        let table = AliasTable::new(Aliases::new(&[alias(Sticky::None)]));
        let mut canary = 0;
        for _ in 0..10_000 {
            let route = table.route("chat", Caller::default());
            match route.models[0].as_str() {
                "canary" => {
                    canary += 1;
                    assert_eq!(route.models, ["canary", "big", "small"]);
                }
                _ => assert_eq!(route.models, ["big", "canary", "small"]),
            }
        }
        // 10% of 10,000, within 5 standard deviations (30).
        assert!((850..=1150).contains(&canary), "{canary}");
    }

    #[test]
    fn sticky_callers_keep_their_target_and_others_spread() {
        let table = AliasTable::new(Aliases::new(&[alias(Sticky::Session)]));
        let mut firsts = BTreeSet::new();
        for session in 0..200 {
            let session = format!("s{session}");
            let caller = Caller {
                key: None,
                session: Some(&session),
            };
            let first = table.route("chat", caller).models[0].clone();
            for _ in 0..5 {
                assert_eq!(table.route("chat", caller).models[0], first);
            }
            firsts.insert(first);
        }
        assert_eq!(firsts.len(), 2, "both targets get sessions");
    }

    #[test]
    fn a_name_that_is_no_alias_routes_to_itself() {
        let table = AliasTable::default();
        let route = table.route("pii-rules", Caller::default());
        assert_eq!(route.alias, None);
        assert_eq!(route.models, ["pii-rules"]);
    }

    #[test]
    fn bad_aliases_are_named() {
        let mut twice = alias(Sticky::None);
        twice.fallback = vec!["big".into()];
        let mut zero = alias(Sticky::None);
        zero.name = "zero".into();
        zero.targets.iter_mut().for_each(|t| t.weight = 0);
        let errors = check(&[twice, zero], &BTreeSet::from(["chat"]));
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter()
                .any(|e| e.contains("/aliases/0/name") && e.contains("a model has this id")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|e| e.contains("'big' is listed twice")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.contains("/aliases/1/targets") && e.contains("every weight is 0")),
            "{text:?}"
        );
    }
}
