//! Typed settings: the `config:` of every module and the `backend:` of every remote kind, each
//! a struct its module declares. A `config:` map is read once, key by key, into that struct;
//! every error names its key. The structs' JSON Schemas (`settings_schema`) make the config's
//! schema exact.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::PartialSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, Object, Schema};

/// Why a `config:` value is not a module's settings: the key (a path such as `tls.ca_file` or
/// `entities[1]`; empty for the whole map) and the reason.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SettingsError {
    pub key: String,
    pub reason: String,
}

impl SettingsError {
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Settings read from the keys of one `config:` map.
pub trait Settings: Sized {
    /// The settings' JSON Schema: an object whose properties are exactly the keys read.
    fn object() -> Object;
    /// The named schemas `object()` refers to.
    fn referenced(out: &mut Vec<(String, RefOr<Schema>)>);
    /// Reads `map`, whose keys are all among `object()`'s properties.
    fn from_map(map: Map<String, Value>) -> Result<Self, SettingsError>;
}

/// Settings that are one serde struct (`Deserialize + ToSchema`, `deny_unknown_fields`).
macro_rules! struct_settings {
    ($($settings:ty),* $(,)?) => {$(
        impl $crate::framework::settings::Settings for $settings {
            fn object() -> utoipa::openapi::schema::Object {
                $crate::framework::settings::object_of::<$settings>()
            }
            fn referenced(
                out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
            ) {
                <$settings as utoipa::ToSchema>::schemas(out);
            }
            fn from_map(
                map: serde_json::Map<String, serde_json::Value>,
            ) -> Result<Self, $crate::framework::settings::SettingsError> {
                $crate::framework::settings::read(map)
            }
        }
    )*};
}
pub(crate) use struct_settings;

/// The object schema a struct derives.
pub fn object_of<T: PartialSchema>() -> Object {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => panic!("settings derive an object schema. This is a bug."),
    }
}

/// A map into `T`, errors naming the key they are about.
pub fn read<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, SettingsError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        SettingsError::new(key, e.into_inner().to_string())
    })
}

/// `config` (a map, or null for the defaults) as `S`; a key `S` does not read is refused.
pub fn parse<S: Settings>(config: Value) -> Result<S, SettingsError> {
    let map = match config {
        Value::Null => Map::new(),
        Value::Object(map) => map,
        other => {
            return Err(SettingsError::new(
                "",
                format!("expected a map, got {other}"),
            ));
        }
    };
    let keys: Vec<String> = S::object().properties.keys().cloned().collect();
    if let Some(unknown) = map.keys().find(|k| !keys.contains(k)) {
        return Err(SettingsError::new(
            unknown.clone(),
            format!("unknown key (expected one of: {})", keys.join(", ")),
        ));
    }
    S::from_map(map)
}

/// Settings whose keys are those of a part several modules share (`common`, e.g. the remote
/// settings) and those of one module's `own` part, side by side in one map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flat<C, O> {
    pub common: C,
    pub own: O,
}

impl<C: Settings, O: Settings> Settings for Flat<C, O> {
    fn object() -> Object {
        let mut object = C::object();
        let own = O::object();
        object.properties.extend(own.properties);
        object.required.extend(own.required);
        object.description = own.description.or(object.description);
        object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        object
    }

    fn referenced(out: &mut Vec<(String, RefOr<Schema>)>) {
        C::referenced(out);
        O::referenced(out);
    }

    fn from_map(mut map: Map<String, Value>) -> Result<Self, SettingsError> {
        let common: Map<String, Value> = C::object()
            .properties
            .keys()
            .filter_map(|key| map.remove_entry(key))
            .collect();
        Ok(Self {
            common: C::from_map(common)?,
            own: O::from_map(map)?,
        })
    }
}

/// Settings with no keys (a module configured by its model directory alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoSettings;

impl Settings for NoSettings {
    fn object() -> Object {
        let mut object = Object::new();
        object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        object
    }

    fn referenced(_: &mut Vec<(String, RefOr<Schema>)>) {}

    fn from_map(_: Map<String, Value>) -> Result<Self, SettingsError> {
        Ok(Self)
    }
}

/// An optional count that must be positive, or `default`.
pub fn positive(key: &str, value: Option<u64>, default: usize) -> Result<usize, SettingsError> {
    match value {
        None => Ok(default),
        Some(0) => Err(SettingsError::new(key, "expected a positive integer")),
        Some(n) => {
            usize::try_from(n).map_err(|_| SettingsError::new(key, "expected a positive integer"))
        }
    }
}

/// `deserialize_with` for optional strings that must not be empty.
pub fn non_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match <Option<Value> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(serde::de::Error::custom("expected a non-empty string")),
    }
}

/// `deserialize_with` for optional flags, with an error that says what is expected.
pub fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match <Option<Value> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(serde::de::Error::custom("expected true or false")),
    }
}
