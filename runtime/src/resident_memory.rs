//! The process's resident memory, as Linux's `/proc` tells it; elsewhere there is none to read.

/// `statm` counts pages; 4 KiB on x86-64 and the default on aarch64.
const PAGE_BYTES: u64 = 4096;

/// Bytes of the process now in RAM, or `None` where `/proc/self/statm` cannot be read.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE_BYTES)
}

/// Hands memory an unloaded model freed back to the system. glibc keeps freed blocks for reuse
/// (most tensors are below its adaptive mmap threshold), so without this an evicted model's
/// weights stay resident and the budget's accounting and the process's RSS disagree.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks every arena).
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_running_process_has_resident_pages() {
        if cfg!(target_os = "linux") {
            assert!(super::resident_bytes().unwrap() > 1 << 20);
        }
    }
}
