//! The checked-in JSON Schemas (`schemas/json/`): one per task request, the training request,
//! plus the config.

use std::path::Path;

use serde_json::Value;

use crate::TaskRoutes;

/// `(file name, schema)` for every exported schema, in a stable order.
pub fn all() -> Vec<(String, Value)> {
    let mut schemas: Vec<(String, Value)> = Vec::new();
    for route in TaskRoutes::standard().iter() {
        let schema = route.request_schema();
        let name = schema["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .expect("standalone schemas start with a $ref. This is a bug.")
            .to_string();
        if !schemas.iter().any(|(n, _)| *n == format!("{name}.json")) {
            schemas.push((format!("{name}.json"), schema));
        }
    }
    schemas.push((
        "ClassifierTrainRequest.json".to_string(),
        taskgate_schemas::json_schema::request::<taskgate_schemas::ClassifierTrainRequest>(),
    ));
    schemas.push((
        "PromptTuningTrainRequest.json".to_string(),
        taskgate_schemas::json_schema::request::<taskgate_schemas::PromptTuningTrainRequest>(),
    ));
    schemas.push(("Config.json".to_string(), crate::config::schema()));
    schemas
}

pub fn render(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("schemas serialize. This is a bug.");
    text.push('\n');
    text
}

/// Writes every schema into `dir`; returns how many.
pub fn write_all(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let schemas = all();
    for (name, schema) in &schemas {
        std::fs::write(dir.join(name), render(schema))?;
    }
    Ok(schemas.len())
}
