//! The default config as a newcomer serves it after the set-up command: the fetched models and
//! the `sentiment` classifier that `scripts/train-defaults` trains, trained once per test run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::ROOT;
use crate::common::{self, BinaryServer};

/// The training output holding the trained `sentiment`, shared by every test of this binary.
fn trained() -> &'static PathBuf {
    static TRAINED: OnceLock<PathBuf> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let output = common::temp_dir("default-config").join("training_output");
        let set_up = std::process::Command::new("bash")
            .arg("scripts/train-defaults")
            .arg(env!("CARGO_BIN_EXE_taskgate"))
            .current_dir(ROOT)
            .env("TASKGATE_TRAINING__OUTPUT_DIR", &output)
            .env("TASKGATE_MODELS_DIR", Path::new(ROOT).join("models"))
            .output()
            .expect("bash runs");
        let stderr = String::from_utf8_lossy(&set_up.stderr);
        let tail: String = {
            let last: Vec<char> = stderr.chars().rev().take(2000).collect();
            last.into_iter().rev().collect()
        };
        assert!(
            set_up.status.success(),
            "scripts/train-defaults failed:\n{}\n{tail}",
            String::from_utf8_lossy(&set_up.stdout)
        );
        output
    })
}

/// `taskgate serve` of the default config, or `None` with the skip rule of
/// [`common::minilm_dir`] when the fetched models are absent.
pub(crate) fn serve(test: &str) -> Option<BinaryServer> {
    common::minilm_dir(test)?;
    common::smollm2_gguf(test)?;
    let output = trained();
    let models = Path::new(ROOT).join("models");
    Some(BinaryServer::start(
        &[],
        &[
            ("TASKGATE_TRAINING__OUTPUT_DIR", output.to_str().unwrap()),
            ("TASKGATE_MODELS_DIR", models.to_str().unwrap()),
        ],
    ))
}
