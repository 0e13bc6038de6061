//! Reading a model's `config:` map: unknown keys are refused by name, and each value is checked
//! with an error naming its key.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::{ModelSpec, ModuleError};

pub struct ModuleConfig<'a> {
    spec: &'a ModelSpec,
    map: Map<String, Value>,
}

impl<'a> ModuleConfig<'a> {
    /// `spec.config` as a map whose keys are all in `allowed`.
    pub fn parse(spec: &'a ModelSpec, allowed: &[&str]) -> Result<Self, ModuleError> {
        let map = match &spec.config {
            Value::Null => Map::new(),
            Value::Object(map) => map.clone(),
            other => return Err(spec.config_error("", format!("expected a map, got {other}"))),
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(spec.config_error(
                unknown,
                format!("unknown key (expected one of: {})", allowed.join(", ")),
            ));
        }
        Ok(Self { spec, map })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn positive(&self, key: &str, default: usize) -> Result<usize, ModuleError> {
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| self.spec.config_error(key, "expected a positive integer")),
        }
    }

    pub fn non_negative(&self, key: &str, default: u64) -> Result<u64, ModuleError> {
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => v.as_u64().ok_or_else(|| {
                self.spec
                    .config_error(key, "expected a non-negative integer")
            }),
        }
    }

    /// `path:` when given, else the directory the model was discovered in.
    pub fn path(&self) -> Result<PathBuf, ModuleError> {
        match (self.map.get("path"), &self.spec.path) {
            (Some(Value::String(p)), _) => Ok(PathBuf::from(p)),
            (Some(_), _) => Err(self.spec.config_error("path", "expected a path")),
            (None, Some(p)) => Ok(p.clone()),
            (None, None) => Err(self.spec.config_error("path", "required: the model path")),
        }
    }

    pub fn error(&self, key: &str, reason: impl Into<String>) -> ModuleError {
        self.spec.config_error(key, reason)
    }
}
