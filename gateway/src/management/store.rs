//! The deployments made while serving, kept in one JSON file replaced atomically, so they
//! survive a restart the way trained models do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use taskgate_runtime::tuning::durable;

/// One deployment as stored: the model's entry (as a config file's `models:` entry, without
/// `id`), or `files` for a Caikit deploy whose files are `models_dir/<model_id>/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub files: bool,
    /// `module`/`config`/`backend`/`load`/`pinned`/`max_concurrent_requests`.
    #[serde(default)]
    pub entry: Map<String, Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreFile {
    deployments: BTreeMap<String, Deployment>,
}

#[derive(Debug)]
pub struct DeploymentStore {
    path: PathBuf,
    deployments: BTreeMap<String, Deployment>,
}

impl DeploymentStore {
    /// The store at `path`; a missing file holds none. A file that cannot be read or parsed
    /// is an error: starting without its deployments would silently drop them at the next
    /// write.
    pub fn open(path: &Path) -> Result<Self, String> {
        let deployments = match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice::<StoreFile>(&bytes)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .deployments
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(Self {
            path: path.to_path_buf(),
            deployments,
        })
    }

    pub fn all(&self) -> &BTreeMap<String, Deployment> {
        &self.deployments
    }

    pub fn contains(&self, id: &str) -> bool {
        self.deployments.contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<&Deployment> {
        self.deployments.get(id)
    }

    /// Adds or removes one deployment and writes the file; on a write error nothing changed.
    pub fn change(&mut self, id: &str, deployment: Option<Deployment>) -> Result<(), String> {
        let mut next = self.deployments.clone();
        match deployment {
            Some(d) => next.insert(id.to_string(), d),
            None => next.remove(id),
        };
        let file = StoreFile { deployments: next };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        durable::write_file(&self.path, &bytes).map_err(|e| e.to_string())?;
        self.deployments = file.deployments;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments_survive_reopening_and_removal_is_written_too() {
        let dir = std::env::temp_dir().join(format!("taskgate-store-{}", std::process::id()));
        let path = dir.join("state/deployments.json");
        let mut store = DeploymentStore::open(&path).unwrap();
        assert!(store.all().is_empty());
        let entry: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"module": "pii-rules"})).unwrap();
        store
            .change(
                "a",
                Some(Deployment {
                    files: false,
                    entry,
                }),
            )
            .unwrap();
        store
            .change(
                "b",
                Some(Deployment {
                    files: true,
                    entry: Map::new(),
                }),
            )
            .unwrap();
        store.change("a", None).unwrap();
        let reopened = DeploymentStore::open(&path).unwrap();
        assert_eq!(reopened.all().keys().collect::<Vec<_>>(), ["b"]);
        assert!(reopened.get("b").unwrap().files);
        std::fs::write(&path, "{ not json").unwrap();
        assert!(DeploymentStore::open(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
