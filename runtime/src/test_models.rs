//! Locating the fetched models for unit tests that need real weights.

use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// `relative` under the repository's `models/` (`scripts/fetch-models`), or `None` with a
/// printed reason when it is absent locally. CI always fetches the models, so there its absence
/// fails the test.
fn fetched(test: &str, relative: &str) -> Option<PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: models/{relative} is missing (scripts/fetch-models fetches it)"
    );
    eprintln!("SKIPPED {test}: models/{relative} is absent (run scripts/fetch-models)");
    None
}

/// The SmolLM2 GGUF file.
pub(crate) fn smollm2_gguf(test: &str) -> Option<PathBuf> {
    fetched(test, "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The all-MiniLM sentence-transformers directory (present once its weights are).
pub(crate) fn minilm_dir(test: &str) -> Option<PathBuf> {
    let weights = fetched(test, "all-minilm/model.safetensors")?;
    weights.parent().map(std::path::Path::to_path_buf)
}

/// Tests in this binary share one process, so a test that bounds the process's peak RSS would
/// also count the models its neighbours hold. Every test that holds a real model takes this
/// lock shared ([`beside_the_memory_bound`]) and the bounded one takes it alone
/// ([`alone_for_the_memory_bound`]).
static MEMORY: RwLock<()> = RwLock::new(());

pub(crate) fn beside_the_memory_bound() -> RwLockReadGuard<'static, ()> {
    MEMORY
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn alone_for_the_memory_bound() -> RwLockWriteGuard<'static, ()> {
    MEMORY
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
