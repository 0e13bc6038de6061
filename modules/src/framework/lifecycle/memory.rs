use std::path::Path;

use serde::Serialize;

/// What a loaded model costs, measured when it loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Memory {
    /// The engine's own accounting: the bytes of its weights (0 where it keeps none).
    pub engine_bytes: u64,
    /// How much the process's resident memory grew while it loaded (loads run one at a time,
    /// so other loads do not blur it; calls being served at the time can).
    pub rss_delta_bytes: u64,
}

impl Memory {
    /// What the model counts against the budget: the engine's accounting, which does not
    /// move with whatever else the process did during the load, or the RSS growth for
    /// modules that keep no weights of their own.
    pub fn charged_bytes(&self) -> u64 {
        if self.engine_bytes > 0 {
            self.engine_bytes
        } else {
            self.rss_delta_bytes
        }
    }
}

/// The bytes of the regular files at `path` (a file, or a directory read recursively), the
/// guess at a model's memory before its first load. Links are not followed.
pub fn files_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    if !meta.is_dir() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| files_bytes(&entry.path()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_accounting_is_charged_when_there_is_one() {
        let weights = Memory {
            engine_bytes: 90,
            rss_delta_bytes: 140,
        };
        assert_eq!(weights.charged_bytes(), 90);
        let rules = Memory {
            engine_bytes: 0,
            rss_delta_bytes: 12,
        };
        assert_eq!(rules.charged_bytes(), 12);
    }

    #[test]
    fn files_are_summed_through_directories() {
        let dir = std::env::temp_dir().join(format!("taskgate-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("inner")).unwrap();
        std::fs::write(dir.join("a"), [0u8; 10]).unwrap();
        std::fs::write(dir.join("inner/b"), [0u8; 5]).unwrap();
        assert_eq!(files_bytes(&dir), 15);
        assert_eq!(files_bytes(&dir.join("a")), 10);
        assert_eq!(files_bytes(&dir.join("missing")), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
