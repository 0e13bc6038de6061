//! Linear layers over GGUF weights. Q4_1 matrices run on our own kernel (candle 0.11 only has a
//! scalar Q4_1 dot product) and Q8_0 ones on a kernel that computes exactly what candle's does,
//! with less work per block (`q8_0.rs`); every other dtype goes through candle's `QMatMul`
//! unchanged.

mod kernel;
mod pack;
mod q8_0;
mod q8_1;
mod team;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, DType, Layout, Module, Result, Shape, Tensor, bail};

use pack::{PackedQ41, QK, ROWS};
use q8_0::Q80;
use q8_1::Q8Rows;

/// `x (..., k) -> (..., n)` with the weight of a GGUF `(n, k)` tensor, as `QMatMul` computes it.
#[derive(Debug, Clone)]
pub struct QLinear(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Q4_1(Arc<PackedQ41>),
    Q8_0(Arc<Q80>),
    Candle(QMatMul),
}

impl QLinear {
    pub fn from_qtensor(qtensor: QTensor) -> Result<Self> {
        Self::from_arc(Arc::new(qtensor))
    }

    /// Shares `qtensor` with its other holders (a tied embedding table) where it is used as
    /// stored (Q8_0, other dtypes); Q4_1 is repacked for our kernel.
    pub fn from_arc(qtensor: Arc<QTensor>) -> Result<Self> {
        if !qtensor.device().is_cpu() {
            return Ok(Self(Inner::Candle(QMatMul::from_arc(qtensor)?)));
        }
        match qtensor.dtype() {
            GgmlDType::Q4_1 => {
                let (n, k) = qtensor.shape().dims2()?;
                let packed = PackedQ41::from_blocks(&qtensor.data()?, n, k)?;
                Ok(Self(Inner::Q4_1(Arc::new(packed))))
            }
            GgmlDType::Q8_0 => Ok(Self(Inner::Q8_0(Arc::new(Q80::new(qtensor)?)))),
            _ => Ok(Self(Inner::Candle(QMatMul::from_arc(qtensor)?))),
        }
    }
}

/// Like `QMatMul`, the product is `Module::forward`.
impl Module for QLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.0 {
            Inner::Candle(m) => m.forward(x),
            Inner::Q4_1(w) => forward_f32(x, w.as_ref()),
            Inner::Q8_0(w) => forward_f32(x, w.as_ref()),
        }
    }
}

/// candle's quantized matmul also quantizes f16 activations from their f32 values.
fn forward_f32(x: &Tensor, op: &impl candle_core::CustomOp1) -> Result<Tensor> {
    if x.dtype() == DType::F32 {
        return x.apply_op1_no_bwd(op);
    }
    x.to_dtype(DType::F32)?
        .apply_op1_no_bwd(op)?
        .to_dtype(x.dtype())
}

impl candle_core::CustomOp1 for PackedQ41 {
    fn name(&self) -> &'static str {
        "q4_1-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        cpu_matmul(self, storage, layout)
    }
}

impl candle_core::CustomOp1 for Q80 {
    fn name(&self) -> &'static str {
        "q8_0-matmul"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        cpu_matmul(&self.view()?, storage, layout)
    }
}

/// `x (..., k) -> (..., n)`, with the same checks, in the same order, as candle's quantized
/// matmul.
fn cpu_matmul(
    w: &impl RowGroups,
    storage: &CpuStorage,
    layout: &Layout,
) -> Result<(CpuStorage, Shape)> {
    if !layout.is_contiguous() {
        bail!("input tensor is not contiguous {layout:?}")
    }
    let shape = layout.shape();
    if shape.rank() < 2 {
        bail!("input tensor has only one dimension {layout:?}")
    }
    let (n, k) = (w.n(), w.k());
    let mut dims = shape.dims().to_vec();
    if dims.pop() != Some(k) {
        bail!("input tensor {layout:?} incompatible with ({n}, {k})")
    }
    dims.push(n);
    let x = &storage.as_slice::<f32>()?[layout.start_offset()..][..shape.elem_count()];
    let mut dst = vec![0f32; x.len() / k * n];
    matmul(w, x, &mut dst, Kernel::detect());
    Ok((CpuStorage::F32(dst), Shape::from(dims)))
}

/// A weight matrix the scheduler in [`matmul`] runs: its output columns come in groups of
/// `ROWS`, and one call computes a group's outputs for a tile of tokens, reading the group's
/// weights once for all of them.
trait RowGroups: Sync {
    /// Output columns.
    fn n(&self) -> usize;
    /// Input width, a multiple of 32.
    fn k(&self) -> usize;
    /// Outputs of columns `8g..8g+8` for tokens `t0..t0 + tile` into `rows[..tile]`; `tile` is
    /// `TILE`, 4, 2 or 1 and `acts` holds those tokens.
    fn group_tile(
        &self,
        g: usize,
        acts: &Q8Rows,
        t0: usize,
        tile: usize,
        kernel: Kernel,
        rows: &mut [[f32; ROWS]; TILE],
    );
}

impl RowGroups for PackedQ41 {
    fn n(&self) -> usize {
        self.n
    }

    fn k(&self) -> usize {
        self.k
    }

    fn group_tile(
        &self,
        g: usize,
        acts: &Q8Rows,
        t0: usize,
        tile: usize,
        kernel: Kernel,
        rows: &mut [[f32; ROWS]; TILE],
    ) {
        let group = self.group(g);
        // SAFETY: the kernel was only chosen after the CPU reported its features
        // (`Kernel::best`); `group` is a whole packed group and `acts` holds rows
        // `t0..t0 + tile`.
        run_tile!(
            kernel,
            rows,
            tile,
            kernel::simd,
            (group, acts, t0),
            kernel::group_tile_scalar(group, acts, t0, &mut rows[..tile])
        );
    }
}

/// `rows[..tile] = kernel::<tile>(args)`, for the tile sizes the scheduler uses.
macro_rules! by_tile {
    ($rows:expr, $tile:expr, $kernel:ident($($arg:expr),*)) => {
        match $tile {
            TILE => *$rows = $kernel::<TILE>($($arg),*),
            4 => $rows[..4].copy_from_slice(&$kernel::<4>($($arg),*)),
            2 => $rows[..2].copy_from_slice(&$kernel::<2>($($arg),*)),
            _ => $rows[..1].copy_from_slice(&$kernel::<1>($($arg),*)),
        }
    };
}
use by_tile;

/// `rows[..tile]` from the `kernel` version of a weight type's tile function: `$simd`'s
/// `group_tile_avx2`, `group_tile_vex` or `group_tile_evex` on `args`, or `scalar`. The caller
/// vouches that `kernel` came from `Kernel::best` and that `args` fit the tile (each SIMD
/// version's safety contract).
macro_rules! run_tile {
    ($kernel:expr, $rows:expr, $tile:expr, $($simd:ident)::+, ($($arg:expr),*), $scalar:expr) => {
        match $kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe {
                use $($simd)::+::group_tile_avx2;
                by_tile!($rows, $tile, group_tile_avx2($($arg),*))
            },
            #[cfg(target_arch = "x86_64")]
            Kernel::AvxVnni => unsafe {
                use $($simd)::+::group_tile_vex;
                by_tile!($rows, $tile, group_tile_vex($($arg),*))
            },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe {
                use $($simd)::+::group_tile_evex;
                by_tile!($rows, $tile, group_tile_evex($($arg),*))
            },
            Kernel::Scalar => $scalar,
        }
    };
}
use run_tile;

/// The instruction sets the kernels come in; all compute the same outputs (the SIMD ones bit
/// for bit the same as each other).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Scalar,
    /// AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// The same with AVX-VNNI's byte dot products.
    #[cfg(target_arch = "x86_64")]
    AvxVnni,
    /// The same with AVX512-VNNI's (256-bit, through AVX512VL).
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl Kernel {
    /// The kernel matmuls run now: the best this CPU has unless the operator forced the
    /// portable ones (`cpu_kernels`).
    fn detect() -> Self {
        Self::for_choice(crate::cpu_kernels::portable_forced())
    }

    fn for_choice(portable: bool) -> Self {
        if portable { Self::Scalar } else { Self::best() }
    }

    /// `is_x86_feature_detected!` caches its answer, so asking on every matmul costs a load.
    fn best() -> Self {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
        {
            if is_x86_feature_detected!("avxvnni") {
                return Self::AvxVnni;
            }
            if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512vl") {
                return Self::Avx512Vnni;
            }
            return Self::Avx2;
        }
        Self::Scalar
    }

    /// Every kernel this CPU runs, the scalar one first.
    #[cfg(test)]
    fn available() -> Vec<Self> {
        let mut kernels = vec![Self::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            let best = Self::best();
            if best != Self::Scalar {
                kernels.push(Self::Avx2);
            }
            if best != Self::Scalar
                && is_x86_feature_detected!("avx512vnni")
                && is_x86_feature_detected!("avx512vl")
            {
                kernels.push(Self::Avx512Vnni);
            }
            if best == Self::AvxVnni {
                kernels.push(Self::AvxVnni);
            }
        }
        kernels
    }

    /// Whether the SIMD register versions (bit for bit the same as each other) run.
    #[cfg(target_arch = "x86_64")]
    fn avx2_family(self) -> bool {
        self != Self::Scalar
    }

    fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Self::AvxVnni => "avx2+avxvnni",
            #[cfg(target_arch = "x86_64")]
            Self::Avx512Vnni => "avx2+avx512vnni",
        }
    }
}

/// The instruction set the quantized linear layers use with or without `portable` forced.
pub fn kernel_name(portable: bool) -> &'static str {
    Kernel::for_choice(portable).name()
}

/// Tokens sharing one pass over a weight block. The eight unpacked weight registers stay in
/// registers and the tile's accumulators go to L1; on the 2-core reference VM 8 ran a little
/// faster than 4 and 6, and 2 clearly slower.
const TILE: usize = 8;
/// Below this many block dot products (of eight rows each) a call runs on the calling thread:
/// waking the pool costs more than it saves.
const SERIAL_WORK: usize = 2048;
/// The same when the helpers of [`team`] are at hand: handing them a job costs little more than
/// a cache line, so even the attention projections of one decoded token split.
const TEAM_SERIAL_WORK: usize = 512;

/// `dst (m, n) = x (m, k) · wᵀ`. Activations are quantized once (to Q8_1, whose quants and
/// scales are Q8_0's too). The calling thread and `threads - 1` helpers (the team's, which
/// stay awake between matmuls, else rayon's workers) claim pieces of row groups from a shared
/// cursor (so a helper that the OS schedules late costs little), and each walks its groups one
/// token tile at a time so a group's weights are read from memory once and then reused from
/// cache.
fn matmul(w: &impl RowGroups, x: &[f32], dst: &mut [f32], kernel: Kernel) {
    let (n, k) = (w.n(), w.k());
    let m = x.len() / k;
    let acts = Q8Rows::quantize(x, k, kernel);
    let groups = n.div_ceil(ROWS);
    let threads = rayon::current_num_threads();
    // Inside a pool of another size (a test's), rayon's path keeps that pool's split.
    let team = team::team().filter(|t| t.threads() == threads);
    let serial_work = if team.is_some() {
        TEAM_SERIAL_WORK
    } else {
        SERIAL_WORK
    };
    let work = groups * (k / QK) * m;
    let out = Output {
        ptr: dst.as_mut_ptr(),
        len: dst.len(),
        n,
    };
    let helpers = if work < serial_work {
        0
    } else {
        threads.saturating_sub(1)
    };
    // Pieces small enough that a late helper leaves little for the others to wait on.
    let piece = if helpers == 0 {
        groups
    } else {
        groups.div_ceil(4 * (helpers + 1))
    };
    let next = AtomicUsize::new(0);
    let work_through = || {
        loop {
            let first = next.fetch_add(piece, Ordering::Relaxed);
            if first >= groups {
                break;
            }
            for g in first..groups.min(first + piece) {
                run_group(w, &acts, g, m, &out, kernel);
            }
        }
    };
    if helpers == 0 {
        work_through();
        return;
    }
    if let Some(team) = team
        && team.run(&work_through)
    {
        return;
    }
    // The caller works too instead of sleeping until the pool is done.
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| work_through());
        }
        work_through();
    });
}

fn run_group(w: &impl RowGroups, acts: &Q8Rows, g: usize, m: usize, out: &Output, kernel: Kernel) {
    let mut t0 = 0;
    while t0 < m {
        // Tails run as tiles of 4, 2 and 1, so only four kernel sizes are compiled.
        let tile = [TILE, 4, 2, 1]
            .into_iter()
            .find(|&t| t <= m - t0)
            .unwrap_or(1);
        let mut rows = [[0f32; ROWS]; TILE];
        w.group_tile(g, acts, t0, tile, kernel, &mut rows);
        for (t, row) in rows[..tile].iter().enumerate() {
            out.write(t0 + t, g * ROWS, row);
        }
        t0 += tile;
    }
}

/// The `(m, n)` output shared by the workers. Each row group, i.e. each set of eight output
/// columns, is claimed by exactly one worker, so no two of them write the same element; that
/// column split is strided in memory, which safe slices cannot express.
struct Output {
    ptr: *mut f32,
    len: usize,
    n: usize,
}

// SAFETY: `Output` only writes the columns of the row group the caller claimed (see `write`), and
// the cursor in `matmul` hands each group to exactly one worker, so concurrent writes never
// alias; the buffer outlives the parallel section because `matmul` borrows it mutably throughout.
unsafe impl Sync for Output {}

impl Output {
    /// Writes the (up to eight) valid outputs of token `t` starting at column `col`.
    fn write(&self, t: usize, col: usize, values: &[f32; ROWS]) {
        let count = ROWS.min(self.n - col);
        let start = t * self.n + col;
        assert!(start + count <= self.len);
        // SAFETY: in bounds by the assert; no other thread writes these columns (see `Sync`).
        unsafe {
            std::ptr::copy_nonoverlapping(values.as_ptr(), self.ptr.add(start), count);
        }
    }
}
