//! The JSON Schemas of the typed settings, for the config's schema: one sub-schema per backend
//! kind (`<Kind>Backend`) and per module (`<Module>Config`), each refusing keys it does not
//! declare. `backend:` and `config:` pick theirs with `if`/`then` on `kind` and `module`,
//! so an error is reported inside the one sub-schema that applies, with the key's path.

use serde_json::{Value, json};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::{AdditionalProperties, Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::framework::module_settings::{BackendKind, BackendSettings, ModuleSettings};

const COMPONENTS: &str = "#/components/schemas/";

/// `sentence-embeddings` → `SentenceEmbeddings`.
fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn backend_def(kind: BackendKind) -> String {
    format!("{}Backend", camel(kind.as_str()))
}

fn config_def(module: &str) -> String {
    format!("{}Config", camel(module))
}

/// `{"allOf": [{"if": <key> is <name>, "then": <then of name>}, ...]}` as schema extensions.
fn dispatch(key: &str, arms: impl IntoIterator<Item = (&'static str, Value)>) -> Extensions {
    let arms: Vec<Value> = arms
        .into_iter()
        .map(|(name, then)| {
            json!({
                "if": {"properties": {key: {"const": name}}, "required": [key]},
                "then": then,
            })
        })
        .collect();
    Extensions::from_iter([("allOf", Value::Array(arms))])
}

fn closed(mut object: Object) -> Object {
    object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    object
}

impl PartialSchema for BackendSettings {
    fn schema() -> RefOr<Schema> {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A remote runtime serving the model: its protocol (`kind`), where it is, how \
                 long to wait for it, and the protocol's own settings.",
            ))
            .property(
                "kind",
                Ref::from_schema_name(<BackendKind as ToSchema>::name()),
            )
            .required("kind")
            .build();
        object.extensions = Some(dispatch(
            "kind",
            BackendKind::ALL.map(|kind| {
                let target = format!("{COMPONENTS}{}", backend_def(kind));
                (kind.as_str(), json!({"$ref": target}))
            }),
        ));
        Schema::Object(object).into()
    }
}

impl ToSchema for BackendSettings {
    fn name() -> std::borrow::Cow<'static, str> {
        "Backend".into()
    }

    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((
            <BackendKind as ToSchema>::name().into_owned(),
            BackendKind::schema(),
        ));
        for kind in BackendKind::ALL {
            let (settings, referenced) = kind.settings_schema();
            out.extend(referenced);
            let mut object = ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(settings.description.clone())
                .property(
                    "kind",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([kind.as_str()])),
                )
                .required("kind")
                .build();
            object.properties.extend(settings.properties);
            object.required.extend(settings.required);
            out.push((backend_def(kind), Schema::Object(closed(object)).into()));
        }
    }
}

/// Extensions that type the sibling `config` of a `module` key by that module, and the named
/// schemas they refer to (`<Module>Config` and what those use).
pub fn config_by_module() -> (Extensions, Vec<(String, RefOr<Schema>)>) {
    let mut defs = Vec::new();
    let mut arms = Vec::new();
    for (module, object, referenced) in ModuleSettings::schemas() {
        let target = format!("{COMPONENTS}{}", config_def(module));
        arms.push((
            module,
            json!({"properties": {"config": {"oneOf": [{"$ref": target}, {"type": "null"}]}}}),
        ));
        defs.push((config_def(module), Schema::Object(closed(object)).into()));
        defs.extend(referenced);
    }
    (dispatch("module", arms), defs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_camel_case() {
        assert_eq!(
            config_def("sentence-embeddings"),
            "SentenceEmbeddingsConfig"
        );
        assert_eq!(backend_def(BackendKind::KserveV2), "KserveV2Backend");
    }
}
