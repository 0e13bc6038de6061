//! TypeScript test programs compiled with the TypeScript SDK by the pinned `tsc`, laid out so
//! that Node finds the SDK as the package `taskgate-client`, as in an app that installed it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::ROOT;
use crate::common;

/// The compiled programs: each source's JavaScript sits at the source's absolute path under
/// `out`.
pub(crate) struct Compiled {
    out: PathBuf,
}

impl Compiled {
    pub(crate) fn js(&self, source: &Path) -> PathBuf {
        let relative = source.strip_prefix("/").expect("an absolute path");
        self.out.join(relative).with_extension("js")
    }
}

/// Compiles `sources` (absolute paths) with the SDK into a fresh folder.
pub(crate) fn compile(tsc: &Path, test: &str, sources: &[PathBuf]) -> Compiled {
    let dir = common::temp_dir(&format!("{test}-tsc"));
    let out = dir.join("out");
    let sdk = format!("{ROOT}/openapi/sdk/typescript");
    let config = json!({
        "extends": format!("{sdk}/tsconfig.json"),
        "compilerOptions": {
            // ES modules whatever the sources' folders say (a snippet's has no package.json);
            // Node runs them as such from `out`'s package.json.
            "module": "ES2022",
            "moduleResolution": "Bundler",
            "rootDir": "/",
            "outDir": out,
            "declaration": false,
            "types": ["node"],
            "typeRoots": [format!("{ROOT}/tests/node/node_modules/@types")],
            "paths": {"taskgate-client": [format!("{sdk}/src/index.ts")]},
        },
        "include": [],
        "files": sources,
    });
    std::fs::write(dir.join("tsconfig.json"), config.to_string()).unwrap();
    let output = Command::new(tsc)
        .arg("-p")
        .arg(&dir)
        .output()
        .expect("tsc runs");
    assert!(
        output.status.success(),
        "tsc failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(out.join("package.json"), r#"{"type": "module"}"#).unwrap();
    let package = out.join("node_modules/taskgate-client");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(
        package.join("package.json"),
        r#"{"name": "taskgate-client", "type": "module", "exports": "./index.js"}"#,
    )
    .unwrap();
    let compiled = Compiled { out };
    let index = compiled.js(&Path::new(&sdk).join("src/index.ts"));
    std::fs::write(
        package.join("index.js"),
        format!("export * from '{}';\n", index.display()),
    )
    .unwrap();
    compiled
}
