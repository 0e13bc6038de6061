//! Dot products of one packed row group (eight output rows) with a tile of Q8_1 token rows.
//! Per block: `d4·d8·Σ(q4·q8) + m4·s8`, the math of llama.cpp's `ggml_vec_dot_q4_1_q8_1`.

use half::f16;

use super::pack::{GROUP_BLOCK, MINS, QK, ROWS, SCALES};
use super::q8_1::Q8Rows;

/// Outputs of rows `8g..8g+8` for tokens `t0..t0 + out.len()`: `out[t][r]`.
pub(super) fn group_tile_scalar(group: &[u8], acts: &Q8Rows, t0: usize, out: &mut [[f32; ROWS]]) {
    let blocks = acts.blocks;
    for (t, out) in out.iter_mut().enumerate() {
        let token = t0 + t;
        let qs = &acts.qs[token * blocks * QK..][..blocks * QK];
        let mut acc = [0f32; ROWS];
        for (b, w) in group.chunks_exact(GROUP_BLOCK).enumerate() {
            let q8 = &qs[b * QK..][..QK];
            let (d8, s8) = (acts.d[token * blocks + b], acts.s[token * blocks + b]);
            for (r, acc) in acc.iter_mut().enumerate() {
                let mut sum = 0i32;
                for c in 0..4 {
                    for i in 0..4 {
                        let byte = w[c * 32 + r * 4 + i];
                        sum += (byte & 0x0F) as i32 * q8[4 * c + i] as i32;
                        sum += (byte >> 4) as i32 * q8[16 + 4 * c + i] as i32;
                    }
                }
                let d4 = f16::from_le_bytes([w[SCALES + 2 * r], w[SCALES + 2 * r + 1]]).to_f32();
                let m4 = f16::from_le_bytes([w[MINS + 2 * r], w[MINS + 2 * r + 1]]).to_f32();
                *acc += sum as f32 * d4 * d8 + m4 * s8;
            }
        }
        *out = acc;
    }
}

/// `group_tile_scalar` for a tile of `T` tokens on 256-bit registers. Each 32-bit lane of a
/// weight register holds four nibble bytes of one row, so multiplying by four activation quants
/// broadcast to every lane yields the eight rows' partial sums in the eight lanes, with no
/// horizontal reduction. `|lo, hi, x| sum` gives a block's integer sums per lane from its four
/// low- and four high-nibble registers and `x(i)`, the broadcast quants `4i..4i+4`: AVX2 adds
/// `maddubs` pair sums in 16 bits (the eight u4·i8 pair sums of a block stay below
/// 8 · 2 · 15 · 127 = 30480) and widens once; VNNI's `dpbusd` sums four byte products straight
/// into each 32-bit lane. The integer sums are exact either way and the float steps are the
/// same, so every version gives the same bits.
#[cfg(target_arch = "x86_64")]
macro_rules! q4_1_tile {
    ($name:ident, $features:literal, |$lo:ident, $hi:ident, $x:ident| $sum:expr) => {
        /// # Safety
        /// The CPU must support the enabled features. `group` must hold `acts.blocks` packed
        /// blocks and `acts` must have rows `t0..t0 + T`.
        #[target_feature(enable = $features)]
        pub(in super::super) unsafe fn $name<const T: usize>(
            group: &[u8],
            acts: &Q8Rows,
            t0: usize,
        ) -> [[f32; ROWS]; T] {
            let blocks = acts.blocks;
            assert!(group.len() == blocks * GROUP_BLOCK && acts.d.len() >= (t0 + T) * blocks);
            // SAFETY: the assert bounds every load: weight loads stay inside `group`'s
            // `blocks * 160` bytes, and token `t0 + t < t0 + T` has `blocks * 32` quants and
            // `blocks` scales, which the length checks of `Q8Rows` tie to `acts.d.len()`.
            unsafe {
                let nibble = _mm256_set1_epi8(0x0F);
                let mut acc = [_mm256_setzero_ps(); T];
                let qs = acts.qs.as_ptr().add(t0 * blocks * QK);
                let ds = acts.d.as_ptr().add(t0 * blocks);
                let ss = acts.s.as_ptr().add(t0 * blocks);
                for b in 0..blocks {
                    let w = group.as_ptr().add(b * GROUP_BLOCK);
                    let raw = [0, 1, 2, 3].map(|c| _mm256_loadu_si256(w.add(32 * c).cast()));
                    let $lo = raw.map(|r| _mm256_and_si256(r, nibble));
                    let $hi = raw.map(|r| _mm256_and_si256(_mm256_srli_epi16(r, 4), nibble));
                    let d4 = _mm256_cvtph_ps(_mm_loadu_si128(w.add(SCALES).cast()));
                    let m4 = _mm256_cvtph_ps(_mm_loadu_si128(w.add(MINS).cast()));
                    for (t, acc) in acc.iter_mut().enumerate() {
                        let q = qs.add((t * blocks + b) * QK);
                        let $x = |i: usize| {
                            _mm256_set1_epi32(q.add(4 * i).cast::<i32>().read_unaligned())
                        };
                        let sum = _mm256_cvtepi32_ps($sum);
                        let d8 = _mm256_set1_ps(*ds.add(t * blocks + b));
                        let s8 = _mm256_set1_ps(*ss.add(t * blocks + b));
                        // Unfused, in candle's scalar order `(Σ·d4)·d8 + m4·s8`: a fused or
                        // reordered sum moves near-tied logits enough to change a greedy token.
                        let scaled = _mm256_mul_ps(_mm256_mul_ps(sum, d4), d8);
                        let block = _mm256_add_ps(scaled, _mm256_mul_ps(m4, s8));
                        *acc = _mm256_add_ps(*acc, block);
                    }
                }
                let mut out = [[0f32; ROWS]; T];
                for (out, acc) in out.iter_mut().zip(acc) {
                    _mm256_storeu_ps(out.as_mut_ptr(), acc);
                }
                out
            }
        }
    };
}

/// The block sums of `q4_1_tile` by VNNI, for both encodings of `dpbusd`.
#[cfg(target_arch = "x86_64")]
macro_rules! dpbusd_chain {
    ($dpbusd:ident, $lo:ident, $hi:ident, $x:ident) => {{
        let mut sum = $dpbusd(_mm256_setzero_si256(), $lo[0], $x(0));
        sum = $dpbusd(sum, $lo[1], $x(1));
        sum = $dpbusd(sum, $lo[2], $x(2));
        sum = $dpbusd(sum, $lo[3], $x(3));
        sum = $dpbusd(sum, $hi[0], $x(4));
        sum = $dpbusd(sum, $hi[1], $x(5));
        sum = $dpbusd(sum, $hi[2], $x(6));
        $dpbusd(sum, $hi[3], $x(7))
    }};
}

/// The kernels, for CPUs with AVX2, FMA and F16C and, for the VNNI ones, AVX-VNNI (VEX) or
/// AVX512-VNNI with AVX512VL (EVEX); CPUs have either, both or neither.
#[cfg(target_arch = "x86_64")]
pub(super) mod simd {
    use std::arch::x86_64::*;

    use super::super::pack::{GROUP_BLOCK, MINS, QK, ROWS, SCALES};
    use super::super::q8_1::Q8Rows;

    q4_1_tile!(group_tile_avx2, "avx2,fma,f16c", |lo, hi, x| {
        let mut sum = _mm256_maddubs_epi16(lo[0], x(0));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(lo[1], x(1)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(lo[2], x(2)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(lo[3], x(3)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(hi[0], x(4)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(hi[1], x(5)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(hi[2], x(6)));
        sum = _mm256_add_epi16(sum, _mm256_maddubs_epi16(hi[3], x(7)));
        _mm256_madd_epi16(sum, _mm256_set1_epi16(1))
    });
    q4_1_tile!(group_tile_vex, "avx2,fma,f16c,avxvnni", |lo, hi, x| {
        dpbusd_chain!(_mm256_dpbusd_avx_epi32, lo, hi, x)
    });
    q4_1_tile!(
        group_tile_evex,
        "avx2,fma,f16c,avx512f,avx512vl,avx512vnni",
        |lo, hi, x| dpbusd_chain!(_mm256_dpbusd_epi32, lo, hi, x)
    );
}
