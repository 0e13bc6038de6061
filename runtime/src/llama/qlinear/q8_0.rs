//! Q8_0 matrices (SmolLM2's tied output head: 49,152 rows, a third of a decoding step) used in
//! place, in the file's own 34-byte blocks (f16 scale, 32 signed quants), so the token embedding
//! lookups share them. Each (row, token) dot product is computed exactly as candle's: the AVX2
//! kernel has candle's lane sums, fused multiply-adds and horizontal sum, the scalar one candle's
//! scalar order, so the logits, and the greedy tokens the oracle test holds to llama.cpp's, do
//! not move. What is saved is candle's work around the arithmetic: each scale is converted by one
//! F16C instruction rather than a library call, twice per block and row, and a row is read once
//! for a tile of tokens.

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::QTensor;
use candle_core::{Result, bail};
use half::f16;

use super::pack::{QK, ROWS};
use super::q8_1::Q8Rows;
use super::{Kernel, RowGroups, TILE, by_tile, run_tile};

/// Bytes of one GGUF Q8_0 block.
const BLOCK: usize = 34;

#[derive(Debug)]
pub(super) struct Q80 {
    table: Arc<QTensor>,
    n: usize,
    k: usize,
}

impl Q80 {
    pub fn new(table: Arc<QTensor>) -> Result<Self> {
        let (n, k) = table.shape().dims2()?;
        if !k.is_multiple_of(QK) {
            bail!("Q8_0 rows of {k} values are not whole blocks of {QK}");
        }
        let bytes = table.data()?.len();
        if bytes != n * k / QK * BLOCK {
            bail!("Q8_0 data of {bytes} bytes does not match a ({n}, {k}) matrix");
        }
        Ok(Self { table, n, k })
    }

    /// The blocks, borrowed from the tensor (a CPU tensor's data is not copied).
    pub fn view(&self) -> Result<Q80View<'_>> {
        Ok(Q80View {
            data: self.table.data()?,
            n: self.n,
            k: self.k,
        })
    }
}

pub(super) struct Q80View<'a> {
    data: Cow<'a, [u8]>,
    n: usize,
    k: usize,
}

impl RowGroups for Q80View<'_> {
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
        let row_bytes = self.k / QK * BLOCK;
        let first = g * ROWS;
        let count = ROWS.min(self.n - first);
        let group = &self.data[first * row_bytes..][..count * row_bytes];
        // SAFETY: the kernel was only chosen after the CPU reported its features
        // (`Kernel::best`); `group` holds `count` whole rows and `acts` holds tokens
        // `t0..t0 + tile`.
        run_tile!(
            kernel,
            rows,
            tile,
            simd,
            (group, count, acts, t0),
            group_tile_scalar(group, count, acts, t0, &mut rows[..tile])
        );
    }
}

/// Outputs of the group's `count` rows for tokens `t0..t0 + out.len()`: `out[t][r]`, summed as
/// candle's scalar `vec_dot_unopt`: `Σ (Σq·q as f32) · d_weight · d_token`, block by block.
fn group_tile_scalar(
    group: &[u8],
    count: usize,
    acts: &Q8Rows,
    t0: usize,
    out: &mut [[f32; ROWS]],
) {
    let blocks = acts.blocks;
    for (t, out) in out.iter_mut().enumerate() {
        let token = t0 + t;
        let qs = &acts.qs[token * blocks * QK..][..blocks * QK];
        let ds = &acts.d[token * blocks..][..blocks];
        for (r, row) in group.chunks_exact(blocks * BLOCK).take(count).enumerate() {
            let mut sum = 0f32;
            for ((w, q8), d8) in row.chunks_exact(BLOCK).zip(qs.chunks_exact(QK)).zip(ds) {
                let dot: i32 = w[2..]
                    .iter()
                    .zip(q8)
                    .map(|(&w, &q)| w as i8 as i32 * q as i32)
                    .sum();
                sum += dot as f32 * f16::from_le_bytes([w[0], w[1]]).to_f32() * d8;
            }
            out[r] = sum;
        }
    }
}

/// `group_tile_scalar`'s outputs for a tile of `T` tokens, each as candle's AVX2
/// `vec_dot_q8_0_q8_0` computes it: per block the byte products `|w| ·ᵤ (q·sign w)` summed into
/// 32-bit lanes, converted, added into eight lanes with `fma(d_w · d_q, ·, acc)`, and the lanes
/// summed in `hsum_float_8`'s order at the end. `$dot` sums the byte products: AVX2 through
/// 16-bit pair sums, VNNI in one `dpbusd`; the integer sums are exact either way (no pair sum
/// reaches i16's limit: |w| ≤ 128 and |q| ≤ 127), so all versions give the same bits.
#[cfg(target_arch = "x86_64")]
macro_rules! q8_0_tile {
    ($name:ident, $features:literal, $dot:expr) => {
        /// # Safety
        /// The CPU must support the enabled features. `group` must hold `count <= 8` rows of
        /// `acts.blocks` blocks and `acts` must have tokens `t0..t0 + T`.
        #[target_feature(enable = $features)]
        pub(in super::super) unsafe fn $name<const T: usize>(
            group: &[u8],
            count: usize,
            acts: &Q8Rows,
            t0: usize,
        ) -> [[f32; ROWS]; T] {
            let blocks = acts.blocks;
            assert!(
                count <= ROWS
                    && group.len() == count * blocks * BLOCK
                    && acts.d.len() >= (t0 + T) * blocks
                    && acts.qs.len() >= (t0 + T) * blocks * QK
            );
            // SAFETY: the assert bounds every load: row `r < count` has `blocks` blocks of 34
            // bytes inside `group`, and token `t0 + t < t0 + T` has `blocks * 32` quants and
            // `blocks` scales.
            unsafe {
                let qs = acts.qs.as_ptr().add(t0 * blocks * QK);
                let ds = acts.d.as_ptr().add(t0 * blocks);
                let mut out = [[0f32; ROWS]; T];
                for r in 0..count {
                    let row = group.as_ptr().add(r * blocks * BLOCK);
                    let mut acc = [_mm256_setzero_ps(); T];
                    for b in 0..blocks {
                        let w = row.add(b * BLOCK);
                        let bits = w.cast::<u16>().read_unaligned();
                        let dw = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(bits))));
                        let bx = _mm256_loadu_si256(w.add(2).cast());
                        let ax = _mm256_sign_epi8(bx, bx);
                        for (t, acc) in acc.iter_mut().enumerate() {
                            let by = _mm256_loadu_si256(qs.add((t * blocks + b) * QK).cast());
                            let sy = _mm256_sign_epi8(by, bx);
                            let q = _mm256_cvtepi32_ps($dot(ax, sy));
                            let d = _mm256_set1_ps(dw * *ds.add(t * blocks + b));
                            *acc = _mm256_fmadd_ps(d, q, *acc);
                        }
                    }
                    for (out, acc) in out.iter_mut().zip(acc) {
                        let res = _mm256_extractf128_ps::<1>(acc);
                        let res = _mm_add_ps(res, _mm256_castps256_ps128(acc));
                        let res = _mm_add_ps(res, _mm_movehl_ps(res, res));
                        let res = _mm_add_ss(res, _mm_movehdup_ps(res));
                        out[r] = _mm_cvtss_f32(res);
                    }
                }
                out
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    use super::super::pack::{QK, ROWS};
    use super::super::q8_1::Q8Rows;
    use super::BLOCK;

    q8_0_tile!(
        group_tile_avx2,
        "avx2,fma,f16c",
        |ax, sy| _mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(ax, sy))
    );
    q8_0_tile!(group_tile_vex, "avx2,fma,f16c,avxvnni", |ax, sy| {
        _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, sy)
    });
    q8_0_tile!(
        group_tile_evex,
        "avx2,fma,f16c,avx512f,avx512vl,avx512vnni",
        |ax, sy| _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy)
    );
}
