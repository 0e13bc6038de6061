//! Which of taskgate's own SIMD kernels (the quantized linear layers) run. They are chosen at
//! run time from what the CPU reports, never from compile-time flags, so one binary serves on
//! every x86-64 machine; `Portable` forces the scalar kernels everywhere: for a CPU or
//! hypervisor whose vector units misbehave, and to compare outputs across machines.
//! candle's and gemm's own kernels keep their own run-time dispatch.

use std::sync::atomic::{AtomicBool, Ordering};

/// What an operator asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KernelChoice {
    /// The fastest kernels this CPU runs.
    #[default]
    Auto,
    /// The scalar kernels, on any CPU.
    Portable,
}

static PORTABLE: AtomicBool = AtomicBool::new(false);

/// Applies to every matmul from now on. Set once at start, before models load; switching while
/// models run only changes which kernel the next matmul takes, since both compute the same
/// function.
pub fn choose(choice: KernelChoice) {
    PORTABLE.store(choice == KernelChoice::Portable, Ordering::Relaxed);
}

pub fn portable_forced() -> bool {
    PORTABLE.load(Ordering::Relaxed)
}

/// The instruction-set extensions anything in this process dispatches on that this CPU has.
pub fn cpu_features() -> Vec<&'static str> {
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($feature:tt),*) => {
                $(if is_x86_feature_detected!($feature) { found.push($feature); })*
            };
        }
        probe!(
            "avx",
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni",
            "avx512bf16",
            "avxvnni"
        );
        found.extend(amx());
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            found.push("neon");
        }
    }
    found
}

/// AMX as CPUID leaf 7 reports it (`is_x86_feature_detected!` cannot ask for it on stable
/// Rust). Using the tiles also needs the kernel's permission, which nothing here asks for yet.
#[cfg(target_arch = "x86_64")]
fn amx() -> impl Iterator<Item = &'static str> {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    // SAFETY: CPUID exists on every x86-64 CPU; leaf 7 is only read where leaf 0 says it exists
    // (beyond the highest leaf, Intel CPUs answer another leaf's data).
    #[allow(unused_unsafe)]
    let edx = unsafe {
        if __cpuid(0).eax >= 7 {
            __cpuid_count(7, 0).edx
        } else {
            0
        }
    };
    [(22, "amx-bf16"), (24, "amx-tile"), (25, "amx-int8")]
        .into_iter()
        .filter(move |(bit, _)| edx & (1 << bit) != 0)
        .map(|(_, name)| name)
}

/// The instruction set taskgate's quantized kernels use on this CPU under the current choice.
pub fn active() -> &'static str {
    crate::llama::qlinear_kernel_name(portable_forced())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Through the pure function: flipping the process-wide choice here would change the kernel
    // under other tests that compare outputs bit for bit.
    #[test]
    fn portable_means_scalar_and_auto_follows_the_cpu() {
        assert_eq!(crate::llama::qlinear_kernel_name(true), "scalar");
        let auto = crate::llama::qlinear_kernel_name(false);
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = ["avx2", "fma", "f16c"]
                .iter()
                .all(|f| cpu_features().contains(f));
            assert_eq!(
                auto.starts_with("avx2"),
                avx2,
                "{auto} on {:?}",
                cpu_features()
            );
            let vnni = cpu_features().contains(&"avxvnni")
                || ["avx512vnni", "avx512vl"]
                    .iter()
                    .all(|f| cpu_features().contains(f));
            assert_eq!(auto.contains("vnni"), avx2 && vnni, "{auto}");
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(auto, "scalar");
        assert!(!portable_forced(), "auto is the default");
    }
}
