//! Keeps what a deploy names inside `models_dir`.

use std::path::{Component, Path, PathBuf};

/// `given` (relative to `models_dir`, or absolute) as an absolute path, when it names
/// something that exists inside `models_dir` once links are resolved.
pub fn existing_inside(models_dir: &Path, given: &str) -> Result<PathBuf, String> {
    let root = models_dir
        .canonicalize()
        .map_err(|e| format!("models_dir {} cannot be used: {e}", models_dir.display()))?;
    let joined = root.join(given);
    let resolved = joined
        .canonicalize()
        .map_err(|e| format!("'{given}' does not exist in models_dir: {e}"))?;
    if !resolved.starts_with(&root) {
        return Err(format!("'{given}' is outside models_dir"));
    }
    Ok(resolved)
}

/// Whether `name` is a plain relative path (no root, no `..`, no `.` parts), as a deployed
/// file's name must be.
pub fn plain_relative(name: &str) -> bool {
    // Split by hand: `Path::components` quietly drops inner `.` parts.
    !name.is_empty()
        && name.len() <= 255
        && !name.contains('\\')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_names_are_files_of_a_model() {
        assert!(plain_relative("taskgate.yaml"));
        assert!(plain_relative("1_Pooling/config.json"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a", "a/./b"] {
            assert!(!plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn paths_must_resolve_inside_the_models_dir() {
        let root = std::env::temp_dir().join(format!("taskgate-confine-{}", std::process::id()));
        std::fs::create_dir_all(root.join("models/m")).unwrap();
        std::fs::write(root.join("secret"), "x").unwrap();
        let models = root.join("models");
        assert!(existing_inside(&models, "m").is_ok());
        assert!(existing_inside(&models, "../secret").is_err());
        assert!(existing_inside(&models, root.join("secret").to_str().unwrap()).is_err());
        assert!(existing_inside(&models, "missing").is_err());
        std::os::unix::fs::symlink(root.join("secret"), models.join("link")).unwrap();
        assert!(existing_inside(&models, "link").is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
