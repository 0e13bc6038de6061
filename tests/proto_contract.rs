//! One data model, two wires: the proto messages of every RPC must carry exactly the fields of
//! the task's JSON Schemas (request: `inputs` and `parameters` flattened; response: the task
//! output), with compatible types, so REST and gRPC cannot drift apart. Also: `taskgate protos`
//! writes the checked-in contract.

use std::collections::BTreeSet;
use std::path::Path;

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};
use taskgate_gateway::TaskRoutes;
use taskgate_gateway::grpc::convert::InputShape;
use taskgate_gateway::grpc::pb::FILE_DESCRIPTOR_SET;
use taskgate_gateway::grpc::protos::PROTO_FILES;
use taskgate_schemas::json_schema::standalone;
use taskgate_schemas::{ModelsInfo, RuntimeInfo};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn pool() -> DescriptorPool {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).unwrap()
}

/// A JSON Schema with `$ref`s into its own `$defs`, and the proto fields it need not have.
struct Schema<'a> {
    root: &'a Value,
    proto_only: &'a [&'a str],
}

impl<'a> Schema<'a> {
    fn resolve(&self, mut node: &'a Value) -> &'a Value {
        while let Some(target) = node.get("$ref").and_then(Value::as_str) {
            let name = target.trim_start_matches("#/$defs/");
            node = &self.root["$defs"][name];
        }
        node
    }

    /// The node without its `null` alternative (how optional fields are written).
    fn non_null(&self, node: &'a Value) -> &'a Value {
        let node = self.resolve(node);
        if let Some(branches) = node.get("oneOf").and_then(Value::as_array) {
            let real: Vec<&Value> = branches
                .iter()
                .filter(|b| b.get("type") != Some(&json!("null")))
                .collect();
            if real.len() == 1 {
                return self.non_null(real[0]);
            }
        }
        node
    }

    /// The JSON type name, with `["T", "null"]` read as `T`.
    fn type_name(&self, node: &Value) -> Option<String> {
        match node.get("type")? {
            Value::String(t) => Some(t.clone()),
            Value::Array(types) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .map(str::to_string),
            _ => None,
        }
    }
}

/// Every way `message` and the object schema `object` disagree, as readable lines.
fn compare_message(
    schema: &Schema,
    message: &MessageDescriptor,
    object: &Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    let object = schema.non_null(object);
    let empty = Map::new();
    let properties = object
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut proto_names = BTreeSet::new();
    for field in message.fields() {
        // A real oneof is one JSON field named like the oneof (Caikit's Vector1D `data`).
        let name = match field.containing_oneof().filter(|o| !o.is_synthetic()) {
            Some(oneof) => oneof.name().to_string(),
            None => field.name().to_string(),
        };
        proto_names.insert(name.clone());
        if schema.proto_only.contains(&name.as_str()) {
            continue;
        }
        match properties.get(&name) {
            None => errors.push(format!(
                "{path}/{name}: in proto {} but not in the JSON Schema",
                message.full_name()
            )),
            Some(node) => compare_field(schema, &field, node, &format!("{path}/{name}"), errors),
        }
    }
    for name in properties.keys() {
        if !proto_names.contains(name) {
            errors.push(format!(
                "{path}/{name}: in the JSON Schema but not in proto {}",
                message.full_name()
            ));
        }
    }
}

fn compare_field(
    schema: &Schema,
    field: &FieldDescriptor,
    node: &Value,
    path: &str,
    errors: &mut Vec<String>,
) {
    let node = schema.non_null(node);
    if field.is_map() {
        errors.push(format!(
            "{path}: proto map fields have no JSON counterpart here"
        ));
        return;
    }
    if field.is_list() {
        if schema.type_name(node).as_deref() != Some("array") {
            errors.push(format!("{path}: repeated in proto, not an array in JSON"));
            return;
        }
        compare_kind(
            schema,
            &field.kind(),
            &node["items"],
            &format!("{path}/items"),
            errors,
        );
        return;
    }
    compare_kind(schema, &field.kind(), node, path, errors);
}

fn compare_kind(schema: &Schema, kind: &Kind, node: &Value, path: &str, errors: &mut Vec<String>) {
    let node = schema.non_null(node);
    let json_type = schema.type_name(node);
    let expected = match kind {
        Kind::Double | Kind::Float => "number",
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Sint32 | Kind::Sint64 => {
            "integer"
        }
        Kind::Fixed32 | Kind::Fixed64 | Kind::Sfixed32 | Kind::Sfixed64 => "integer",
        Kind::Bool => "boolean",
        Kind::String | Kind::Bytes => "string",
        Kind::Enum(descriptor) => {
            let proto: BTreeSet<String> =
                descriptor.values().map(|v| v.name().to_string()).collect();
            let json: BTreeSet<String> = node
                .get("enum")
                .and_then(Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            if proto != json {
                errors.push(format!(
                    "{path}: enum values differ: proto {proto:?}, JSON {json:?}"
                ));
            }
            "string"
        }
        Kind::Message(message) if message.full_name() == "google.protobuf.Struct" => {
            // A Struct carries any fields: JSON may name some (a document's `text`) as long as
            // it admits others too.
            if node.get("additionalProperties") == Some(&Value::Bool(false)) {
                errors.push(format!(
                    "{path}: a Struct in proto, an object with only fixed fields in JSON"
                ));
            }
            "object"
        }
        Kind::Message(message) => {
            compare_message(schema, message, node, path, errors);
            "object"
        }
    };
    if json_type.as_deref() != Some(expected) {
        errors.push(format!(
            "{path}: {expected} in proto, {json_type:?} in JSON"
        ));
    }
}

/// The request as one flat object schema, the way the proto request message flattens it.
fn flat_request(schema: &Schema, inputs: InputShape) -> (Value, Vec<String>) {
    let root = schema.resolve(schema.root);
    let props = &root["properties"];
    let mut flat = Map::new();
    let mut input_names = Vec::new();
    match inputs {
        InputShape::Single(name) => {
            flat.insert(name.to_string(), props["inputs"].clone());
            input_names.push(name.to_string());
        }
        InputShape::Object(names) => {
            let object = schema.non_null(&props["inputs"]);
            let fields = object["properties"].as_object().unwrap();
            let declared: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
            assert_eq!(declared, names.iter().copied().collect(), "input names");
            for (name, node) in fields {
                flat.insert(name.clone(), node.clone());
                input_names.push(name.clone());
            }
        }
    }
    let parameters = schema.non_null(&props["parameters"]);
    if let Some(fields) = parameters.get("properties").and_then(Value::as_object) {
        for (name, node) in fields {
            flat.insert(name.clone(), node.clone());
        }
    }
    (json!({"type": "object", "properties": flat}), input_names)
}

/// Every disagreement between the service's RPCs and the tasks' JSON Schemas.
fn drift(routes: &TaskRoutes) -> Vec<String> {
    let pool = pool();
    let service = pool
        .get_service_by_name("caikit.runtime.Nlp.NlpService")
        .unwrap();
    let mut errors = Vec::new();
    let methods: BTreeSet<String> = service.methods().map(|m| m.name().to_string()).collect();
    let routed: BTreeSet<String> = routes.iter().map(|r| r.rpc.to_string()).collect();
    if methods != routed {
        errors.push(format!(
            "RPCs {methods:?} differ from the task routes' {routed:?}"
        ));
    }
    for method in service.methods() {
        let Some(route) = routes.iter().find(|r| r.rpc == method.name()) else {
            continue;
        };
        let request_schema = route.request_schema();
        let schema = Schema {
            root: &request_schema,
            proto_only: &[],
        };
        let (flat, input_names) = flat_request(&schema, route.inputs);
        let at = format!("{} request", method.name());
        compare_message(&schema, &method.input(), &flat, &at, &mut errors);
        // Unset must mean "default", as an absent JSON parameter does.
        for field in method.input().fields() {
            let is_input = input_names.iter().any(|n| n == field.name());
            let has_presence = field.is_list() || field.supports_presence();
            if !is_input && !has_presence {
                errors.push(format!(
                    "{at}/{}: a parameter must be `optional`",
                    field.name()
                ));
            }
            if is_input && field.containing_oneof().is_some() {
                errors.push(format!(
                    "{at}/{}: an input must not be `optional`",
                    field.name()
                ));
            }
        }
        let output_schema = route.output_schema();
        let schema = Schema {
            root: &output_schema,
            proto_only: &[],
        };
        let at = format!("{} response", method.name());
        compare_message(&schema, &method.output(), &output_schema, &at, &mut errors);
    }
    errors
}

#[test]
fn every_rpc_carries_exactly_the_json_schema_fields() {
    let errors = drift(&TaskRoutes::standard());
    assert!(
        errors.is_empty(),
        "proto and JSON Schema drift:\n  {}",
        errors.join("\n  ")
    );
}

#[test]
fn info_messages_carry_the_rest_fields() {
    let pool = pool();
    let service = pool
        .get_service_by_name("caikit.runtime.info.InfoService")
        .unwrap();
    let mut errors = Vec::new();
    // Caikit's own fields, kept for its clients; REST has `module` for `module_id`.
    let caikit_only = ["python_packages", "module_id", "module_metadata"];
    for (method, schema) in [
        ("GetRuntimeInfo", standalone::<RuntimeInfo>()),
        ("GetModelsInfo", standalone::<ModelsInfo>()),
    ] {
        let output = service
            .methods()
            .find(|m| m.name() == method)
            .unwrap()
            .output();
        let view = Schema {
            root: &schema,
            proto_only: &caikit_only,
        };
        compare_message(&view, &output, &schema, method, &mut errors);
    }
    assert!(errors.is_empty(), "info drift:\n  {}", errors.join("\n  "));
}

#[test]
fn the_drift_check_catches_a_mismatch() {
    // The text-generation request against the classification output: nothing lines up.
    let pool = pool();
    let message = pool
        .get_message_by_name("caikit_data_model.nlp.GeneratedTextResult")
        .unwrap();
    let output = standalone::<taskgate_schemas::ClassificationResults>();
    let mut errors = Vec::new();
    let view = Schema {
        root: &output,
        proto_only: &[],
    };
    compare_message(&view, &message, &output, "", &mut errors);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("/generated_text: in proto")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("/results: in the JSON Schema")),
        "{errors:?}"
    );
    // A type change is caught too: a token's rank is an integer, not a string.
    let token = pool
        .get_message_by_name("caikit_data_model.nlp.GeneratedToken")
        .unwrap();
    let mut schema = standalone::<taskgate_schemas::GeneratedToken>();
    schema["$defs"]["GeneratedToken"]["properties"]["rank"] = json!({"type": "string"});
    let mut errors = Vec::new();
    let view = Schema {
        root: &schema,
        proto_only: &[],
    };
    compare_message(&view, &token, &schema, "", &mut errors);
    assert_eq!(
        errors,
        vec!["/rank: integer in proto, Some(\"string\") in JSON"]
    );
}

#[test]
fn protos_command_writes_the_checked_in_contract() {
    let dir = std::env::temp_dir().join(format!("taskgate-protos-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_taskgate"))
        .arg("protos")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let checked_in = Path::new(ROOT).join("schemas/proto");
    let mut on_disk: Vec<String> = std::fs::read_dir(&checked_in)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut written: Vec<String> = PROTO_FILES.iter().map(|(n, _)| n.to_string()).collect();
    written.sort();
    assert_eq!(
        written, on_disk,
        "every checked-in proto is written, nothing else"
    );
    for name in &on_disk {
        assert_eq!(
            std::fs::read(dir.join(name)).unwrap(),
            std::fs::read(checked_in.join(name)).unwrap(),
            "{name}"
        );
    }
    // What users get compiles on its own (imports resolve inside the directory).
    let compiled = protox::compile(
        ["caikit_runtime_Nlp.proto", "caikit_runtime_info.proto"],
        [&dir],
    );
    assert!(compiled.is_ok(), "{compiled:?}");
}
