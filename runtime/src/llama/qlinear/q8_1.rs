//! Activations quantized to Q8_1 per 32-value block, bit for bit as candle's scalar path does it
//! (and llama.cpp's reference `quantize_row_q8_1_ref`, but for `s`): `d = amax / 127`,
//! `q = round_half_away(x * (1 / d))`, `s = f16(Σq) · f16(d)` in f16 arithmetic, `d` kept at f16.
//! The details matter: on SmolLM2 this rounding keeps the greedy text identical to llama.cpp's,
//! while half-to-even ties with `127 / amax` (llama.cpp's AVX2 quantizer) move a logit margin by
//! 0.15 and change the story after 17 tokens. The layout is split (all quants of a row together,
//! scales apart) so the kernels can broadcast four quants with one load.

use half::f16;

use super::Kernel;
use super::pack::QK;

pub(super) struct Q8Rows {
    pub blocks: usize,
    /// `rows × k` quants.
    pub qs: Vec<i8>,
    /// `rows × blocks` scales `d`.
    pub d: Vec<f32>,
    /// `rows × blocks` sums `s`.
    pub s: Vec<f32>,
}

impl Q8Rows {
    /// Quantizes `x`, a row-major `(rows, k)` matrix with `k` a multiple of 32.
    pub fn quantize(x: &[f32], k: usize, kernel: Kernel) -> Self {
        debug_assert!(k.is_multiple_of(QK) && x.len().is_multiple_of(k));
        let total = x.len() / QK;
        let mut out = Self {
            blocks: k / QK,
            qs: vec![0; x.len()],
            d: vec![0.0; total],
            s: vec![0.0; total],
        };
        let blocks = x.chunks_exact(QK).zip(out.qs.chunks_exact_mut(QK));
        for ((src, q), (d, s)) in blocks.zip(out.d.iter_mut().zip(out.s.iter_mut())) {
            let amax = src.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = amax / 127.0;
            let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
            let sum = match kernel {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: every SIMD kernel is only chosen after the CPU reported AVX2, FMA and
                // F16C.
                k if k.avx2_family() => unsafe { avx2::block(src, inv, q) },
                _ => block_scalar(src, inv, q),
            };
            let scale = f16::from_f32(scale).to_f32();
            *d = scale;
            *s = f16::from_f32(f16::from_f32(sum as f32).to_f32() * scale).to_f32();
        }
        out
    }
}

/// Quantizes one block into `q` with the inverse scale `inv`; returns the sum of the quants.
fn block_scalar(x: &[f32], inv: f32, q: &mut [i8]) -> i32 {
    let mut sum = 0;
    for (q, &v) in q.iter_mut().zip(x) {
        *q = (v * inv).round() as i8;
        sum += *q as i32;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// The same as `block_scalar`: the products are the same single f32 multiplications, and
    /// ties round away from zero by correcting the truncated value (`r - trunc(r)` is exact for
    /// `|r| <= 127`).
    ///
    /// # Safety
    /// The CPU must support AVX2; `x` and `q` must hold 32 values.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn block(x: &[f32], inv: f32, q: &mut [i8]) -> i32 {
        assert!(x.len() == 32 && q.len() == 32);
        // SAFETY: the assert above keeps the four 8-float loads and the 32-byte store in bounds.
        unsafe {
            let p = x.as_ptr();
            let inv = _mm256_set1_ps(inv);
            let sign = _mm256_set1_ps(-0.0);
            let half = _mm256_set1_ps(0.5);
            let one = _mm256_set1_ps(1.0);
            let round = |v: __m256| {
                let r = _mm256_mul_ps(v, inv);
                let t = _mm256_round_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(r);
                let frac = _mm256_andnot_ps(sign, _mm256_sub_ps(r, t));
                let away = _mm256_cmp_ps::<_CMP_GE_OQ>(frac, half);
                let step = _mm256_or_ps(_mm256_and_ps(sign, r), one);
                _mm256_cvtps_epi32(_mm256_add_ps(t, _mm256_and_ps(away, step)))
            };
            let i = [
                round(_mm256_loadu_ps(p)),
                round(_mm256_loadu_ps(p.add(8))),
                round(_mm256_loadu_ps(p.add(16))),
                round(_mm256_loadu_ps(p.add(24))),
            ];
            let total =
                _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
            let t = _mm_add_epi32(
                _mm256_castsi256_si128(total),
                _mm256_extracti128_si256::<1>(total),
            );
            let t = _mm_add_epi32(t, _mm_shuffle_epi32::<0b01_00_11_10>(t));
            let sum = _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32::<0b10_11_00_01>(t)));
            // The packs work within 128-bit lanes and leave the dwords in the order
            // 0,4,1,5,2,6,3,7; the permute restores element order.
            let lo = _mm256_packs_epi32(i[0], i[1]);
            let hi = _mm256_packs_epi32(i[2], i[3]);
            let bytes = _mm256_packs_epi16(lo, hi);
            let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            let bytes = _mm256_permutevar8x32_epi32(bytes, order);
            _mm256_storeu_si256(q.as_mut_ptr().cast(), bytes);
            sum
        }
    }
}
