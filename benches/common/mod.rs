//! What every benchmark binary shares: the load average it ran under, writing its own
//! section of BENCHMARKS.md, and starting the taskgate binary.
// Each bench binary compiles this module and uses its own part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// A child process, killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The taskgate binary serving `config` (written into a temporary directory named after
/// `name`) with `args` after `serve --config FILE --port 0`; its base URL once it listens.
pub fn serve_taskgate(name: &str, config: &serde_json::Value, args: &[&str]) -> (Killed, String) {
    let dir = std::env::temp_dir().join(format!("taskgate-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("taskgate.yaml");
    std::fs::write(&path, config.to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskgate"))
        .args(["serve", "--config", path.to_str().unwrap(), "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the taskgate binary starts");
    let stdout = child.stdout.take().unwrap();
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.strip_prefix("taskgate listening on ")
                .map(str::to_string)
        })
        .expect("taskgate prints its address");
    (Killed(child), base)
}

/// The runtime the load clients run on: one worker, so they take as little of the machine
/// from the server as they can.
pub fn client_runtime() -> tokio::runtime::Runtime {
    taskgate_runtime::remote::tls::install_crypto_provider();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// User plus system CPU time of process `pid` so far (procfs, 10 ms ticks).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // The kernel's USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// A port nothing listens on now, for a server started next.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
