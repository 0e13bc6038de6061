//! Finds models in the models directory: every sub-directory holding a `taskgate.yaml` manifest
//! (`module: <name>` plus an optional `config:` map) becomes a model named after the directory.
//! Without a manifest, a BERT directory (`config.json`, `model.safetensors`, `tokenizer.json`) is
//! recognised by its architecture: `sentence-embeddings` for bare encoders and
//! sentence-transformers, `text-classifier` / `token-classifier` for the task heads; a directory
//! with one `.gguf` file is a `text-generation` model.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The manifest file that marks a directory as a model.
pub const MANIFEST_FILE: &str = "taskgate.yaml";

/// What a model directory's manifest says.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    /// The module that serves it, e.g. `pii-rules`.
    pub module: String,
    /// Module-specific settings.
    #[serde(default)]
    pub config: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveredModel {
    pub id: String,
    pub path: PathBuf,
    pub manifest: ModelManifest,
}

/// A directory that is not a model, and why; reported at start so users see typos.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedDir {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovery {
    pub models: Vec<DiscoveredModel>,
    pub skipped: Vec<SkippedDir>,
}

/// Scans `dir` (a missing directory holds no models). Results are sorted by id so start-up is
/// deterministic.
pub fn discover_models(dir: &Path) -> Discovery {
    let mut found = Discovery::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) => return found,
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            found.skipped.push(SkippedDir {
                path,
                reason: "directory name is not valid UTF-8".into(),
            });
            continue;
        };
        match read_model_dir(&path) {
            Ok(manifest) => found.models.push(DiscoveredModel { id, path, manifest }),
            Err(reason) => found.skipped.push(SkippedDir { path, reason }),
        }
    }
    found.models.sort_by(|a, b| a.id.cmp(&b.id));
    found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// What the model directory `dir` holds: its `taskgate.yaml`, or the module its layout
/// (a BERT directory, one GGUF file) implies; why it is not a model directory otherwise.
pub fn read_model_dir(dir: &Path) -> Result<ModelManifest, String> {
    let file = dir.join(MANIFEST_FILE);
    if !file.exists() {
        return detect_format(dir);
    }
    let text =
        fs::read_to_string(&file).map_err(|e| format!("no readable {MANIFEST_FILE} ({e})"))?;
    yaml_serde::from_str(&text).map_err(|e| format!("invalid {}: {e}", file.display()))
}

/// Recognises model directories that carry no manifest.
fn detect_format(dir: &Path) -> Result<ModelManifest, String> {
    let has = |name: &str| dir.join(name).is_file();
    let gguf = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "gguf"))
        .count();
    match gguf {
        0 => {}
        1 => {
            return Ok(ModelManifest {
                module: "text-generation".into(),
                config: serde_json::Value::Null,
            });
        }
        n => {
            return Err(format!(
                "{n} GGUF files; add a {MANIFEST_FILE} with `module: text-generation` and \
                 `config: {{path: <file>}}` naming one"
            ));
        }
    }
    if !(has("config.json") && has("model.safetensors") && has("tokenizer.json")) {
        return Err(format!(
            "no {MANIFEST_FILE}, and not a BERT directory (config.json + model.safetensors + tokenizer.json)"
        ));
    }
    let config: serde_json::Value = fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or("config.json is not valid JSON")?;
    let architectures: Vec<&str> = config["architectures"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let module = if config["model_type"] != "bert" {
        None
    } else if architectures.contains(&"BertForSequenceClassification") {
        Some("text-classifier")
    } else if architectures.contains(&"BertForTokenClassification") {
        Some("token-classifier")
    } else if architectures.is_empty()
        || architectures.contains(&"BertModel")
        || has("modules.json")
    {
        Some("sentence-embeddings")
    } else {
        None
    };
    if let Some(module) = module {
        return Ok(ModelManifest {
            module: module.into(),
            config: serde_json::Value::Null,
        });
    }
    Err(format!(
        "no {MANIFEST_FILE}, and no module recognises architectures {architectures:?}; add a \
         {MANIFEST_FILE} naming the module"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("taskgate-discovery-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn finds_manifests_and_reports_the_rest() {
        let dir = temp_dir("mixed");
        fs::create_dir(dir.join("b-pii")).unwrap();
        fs::write(
            dir.join("b-pii").join(MANIFEST_FILE),
            "module: pii-rules\nconfig:\n  entities: [EMAIL]\n",
        )
        .unwrap();
        fs::create_dir(dir.join("a-empty")).unwrap();
        fs::create_dir(dir.join("c-bad")).unwrap();
        fs::write(dir.join("c-bad").join(MANIFEST_FILE), "modul: x\n").unwrap();
        fs::write(dir.join("stray.txt"), "not a model").unwrap();

        let found = discover_models(&dir);
        assert_eq!(found.models.len(), 1);
        assert_eq!(found.models[0].id, "b-pii");
        assert_eq!(found.models[0].manifest.module, "pii-rules");
        assert_eq!(
            found.models[0].manifest.config,
            serde_json::json!({"entities": ["EMAIL"]})
        );
        assert_eq!(found.skipped.len(), 2);
        assert!(found.skipped[0].reason.contains("not a BERT directory"));
        assert!(found.skipped[1].reason.contains("unknown field `modul`"));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn recognises_sentence_transformers_directories() {
        let dir = temp_dir("bert");
        let model = dir.join("minilm");
        fs::create_dir(&model).unwrap();
        for file in ["model.safetensors", "tokenizer.json"] {
            fs::write(model.join(file), "").unwrap();
        }
        fs::write(
            model.join("config.json"),
            r#"{"model_type": "bert", "architectures": ["BertModel"]}"#,
        )
        .unwrap();
        let found = discover_models(&dir);
        assert_eq!(found.models[0].manifest.module, "sentence-embeddings");
        fs::write(
            model.join("config.json"),
            r#"{"model_type": "bert", "architectures": ["BertForMaskedLM"]}"#,
        )
        .unwrap();
        let found = discover_models(&dir);
        assert!(
            found.skipped[0].reason.contains("BertForMaskedLM"),
            "{:?}",
            found.skipped
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_gguf_directory_is_a_text_generation_model() {
        let dir = temp_dir("gguf");
        fs::create_dir(dir.join("llm")).unwrap();
        fs::write(dir.join("llm").join("model.Q4_1.gguf"), "").unwrap();
        let found = discover_models(&dir);
        assert_eq!(found.models.len(), 1, "{:?}", found.skipped);
        assert_eq!(found.models[0].manifest.module, "text-generation");
        fs::write(dir.join("llm").join("other.Q8_0.gguf"), "").unwrap();
        let found = discover_models(&dir);
        assert!(found.models.is_empty());
        assert!(
            found.skipped[0].reason.starts_with("2 GGUF files"),
            "{:?}",
            found.skipped
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_directory_holds_no_models() {
        let found = discover_models(Path::new("/nonexistent/taskgate/models"));
        assert_eq!(found, Discovery::default());
    }
}
