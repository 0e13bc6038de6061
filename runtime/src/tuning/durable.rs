//! Writes that are whole or absent after a crash: write a temporary sibling, flush it to disk,
//! rename it over the target, then flush the directory so the rename itself survives.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::TuningError;

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> TuningError + '_ {
    move |source| TuningError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// A sibling name for work in progress, hidden from directory scans by its leading dot.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "unnamed".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn sync_dir(dir: &Path) -> Result<(), TuningError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_error(dir))
}

/// Replaces `path` with `bytes` atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TuningError> {
    // A bare file name's parent is "", which names no directory to create or flush.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(write_error(parent))?;
    let temporary = temporary_sibling(path);
    let mut file = File::create(&temporary).map_err(write_error(&temporary))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(write_error(&temporary))?;
    fs::rename(&temporary, path).map_err(write_error(path))?;
    sync_dir(parent)
}

/// Flushes every file in `staged` to disk, then renames the directory to `target` (which must
/// not exist): readers see the whole directory or nothing.
pub fn publish_dir(staged: &Path, target: &Path) -> Result<(), TuningError> {
    for entry in fs::read_dir(staged).map_err(write_error(staged))? {
        let path = entry.map_err(write_error(staged))?.path();
        if path.is_file() {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(write_error(&path))?;
        }
    }
    sync_dir(staged)?;
    if target.exists() {
        return Err(TuningError::Write {
            path: target.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
        });
    }
    let parent = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(write_error(parent))?;
    fs::rename(staged, target).map_err(write_error(target))?;
    sync_up(parent)
}

/// Flushes `dir` and the directories above it that hold it (`<output>/<job>` → `<output>` →
/// its parent), so directories created on the way survive a crash too. Beyond the first two,
/// a directory this process may not open is left to the file system.
fn sync_up(dir: &Path) -> Result<(), TuningError> {
    sync_dir(dir)?;
    let mut above = dir.parent();
    for level in 0..2 {
        let Some(ancestor) = above.filter(|a| !a.as_os_str().is_empty()) else {
            break;
        };
        match sync_dir(ancestor) {
            Err(error) if level == 0 => return Err(error),
            _ => {}
        }
        above = ancestor.parent();
    }
    Ok(())
}

/// Removes `dir` and everything in it, then flushes its parent so the removal survives a crash.
pub fn remove_dir(dir: &Path) -> Result<(), TuningError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(write_error(dir)(error)),
    }
    sync_dir(dir.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("taskgate-durable-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = scratch("file");
        let path = dir.join("state.json");
        write_file(&path, b"first").unwrap();
        write_file(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn a_directory_appears_whole_and_never_over_another() {
        let dir = scratch("dir");
        let staged = dir.join(".staged");
        fs::create_dir_all(&staged).unwrap();
        fs::write(staged.join("weights"), b"w").unwrap();
        let target = dir.join("job/model");
        publish_dir(&staged, &target).unwrap();
        assert_eq!(fs::read(target.join("weights")).unwrap(), b"w");
        assert!(!staged.exists());
        fs::create_dir_all(&staged).unwrap();
        let error = publish_dir(&staged, &target).unwrap_err();
        assert!(error.to_string().contains("already exists"), "{error}");
    }
}
