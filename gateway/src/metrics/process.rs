//! The process's resources as Linux's `/proc` tells them; elsewhere there are none to report.

/// Linux reports CPU times in clock ticks of `sysconf(_SC_CLK_TCK)`, which is 100 on every
/// architecture the kernel supports for user space ABIs this binary targets.
const TICKS_PER_SECOND: f64 = 100.0;

pub struct Process {
    pub resident_bytes: u64,
    pub open_fds: usize,
    pub cpu_seconds: f64,
    pub start_time_seconds: Option<f64>,
}

pub fn read() -> Option<Process> {
    let resident_bytes = taskgate_runtime::resident_memory::resident_bytes()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) and 22 (starttime), numbered from 1 with the name as 2.
    let ticks = |field: usize| fields.get(field - 3)?.parse::<f64>().ok();
    let cpu_seconds = (ticks(14)? + ticks(15)?) / TICKS_PER_SECOND;
    let start_time_seconds =
        boot_time().and_then(|boot| Some(boot + ticks(22)? / TICKS_PER_SECOND));
    Some(Process {
        resident_bytes,
        open_fds,
        cpu_seconds,
        start_time_seconds,
    })
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let process = super::read().expect("/proc is readable on Linux");
        assert!(process.resident_bytes > 1 << 20);
        assert!(process.open_fds >= 3);
        assert!(process.cpu_seconds >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = process.start_time_seconds.unwrap();
        assert!(start <= now + 1.0 && start > now - 86_400.0 * 365.0);
    }
}
