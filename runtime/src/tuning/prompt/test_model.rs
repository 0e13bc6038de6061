//! Locating the fetched model for tests that need real weights.

use std::path::PathBuf;

/// The fetched SmolLM2 GGUF (`scripts/fetch-models`), or `None` with a printed reason when it is
/// absent locally. CI always fetches it, so there its absence fails the test.
pub(crate) fn smollm2_gguf(test: &str) -> Option<PathBuf> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    if file.is_file() {
        return Some(file);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}: models/smollm2 is missing (scripts/fetch-models fetches it)"
    );
    eprintln!("SKIPPED {test}: models/smollm2 is absent (run scripts/fetch-models)");
    None
}
