//! What every benchmark binary shares: the load average it ran under, and writing its own
//! section of BENCHMARKS.md.

use std::path::Path;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The 1-minute load average, recorded beside results (other work on the machine skews them).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Replaces `section`'s part of BENCHMARKS.md (between its HTML comment markers), or appends
/// it, leaving the other benchmarks' sections alone.
pub fn write_section(section: &str, body: &str) {
    let path = Path::new(ROOT).join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let (open, close) = (
        format!("<!-- {section}:start -->"),
        format!("<!-- {section}:end -->"),
    );
    let block = format!("{open}\n{body}{close}");
    let new = match (old.find(&open), old.find(&close)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{block}{}", &old[..a], &old[b + close.len()..])
        }
        _ => format!("{}\n\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new).unwrap();
}
