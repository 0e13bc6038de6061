//! Q4_1 weights regrouped for the kernels, eight output rows side by side per 32-wide block: one
//! 256-bit load then feeds eight rows' dot products, and the eight rows' scales load as one vector.
//! The bytes are the file's own (nibbles, f16 scale `d`, f16 minimum `m`), only reordered, so the
//! kernels compute with exactly the weights llama.cpp serves.

use candle_core::{Result, bail};

/// Values per Q4_1 / Q8_1 block.
pub(super) const QK: usize = 32;
/// Output rows packed side by side.
pub(super) const ROWS: usize = 8;
/// A GGUF Q4_1 block: f16 `d`, f16 `m`, 16 bytes holding element `j` in the low nibble of byte
/// `j` and element `j + 16` in its high nibble.
const SRC_BLOCK: usize = 20;
/// One block of one row group: `[chunk c][row r][4 nibble bytes]` for c in 0..4 (128 bytes), then
/// the eight rows' `d` (16 bytes), then their `m` (16 bytes).
pub(super) const GROUP_BLOCK: usize = 160;
pub(super) const SCALES: usize = 128;
pub(super) const MINS: usize = 144;

#[derive(Debug)]
pub(super) struct PackedQ41 {
    /// Output rows.
    pub n: usize,
    /// Input width.
    pub k: usize,
    /// Blocks per row (`k / 32`).
    pub blocks: usize,
    data: Vec<u8>,
}

impl PackedQ41 {
    /// `raw` is the row-major Q4_1 data of an `(n, k)` matrix as stored in GGUF.
    pub fn from_blocks(raw: &[u8], n: usize, k: usize) -> Result<Self> {
        if !k.is_multiple_of(QK) {
            bail!("Q4_1 rows of {k} values are not whole blocks of {QK}");
        }
        let blocks = k / QK;
        if raw.len() != n * blocks * SRC_BLOCK {
            bail!(
                "Q4_1 data of {} bytes does not match a ({n}, {k}) matrix",
                raw.len()
            );
        }
        // Rows past `n` in the last group stay zero (d = m = 0): they add nothing and are never
        // written out.
        let mut data = vec![0u8; n.div_ceil(ROWS) * blocks * GROUP_BLOCK];
        for (row, src_row) in raw.chunks_exact(blocks * SRC_BLOCK).enumerate() {
            let (group, r) = (row / ROWS, row % ROWS);
            for (b, src) in src_row.chunks_exact(SRC_BLOCK).enumerate() {
                let dst = &mut data[(group * blocks + b) * GROUP_BLOCK..][..GROUP_BLOCK];
                for c in 0..4 {
                    dst[c * 32 + r * 4..][..4].copy_from_slice(&src[4 + 4 * c..][..4]);
                }
                dst[SCALES + 2 * r..][..2].copy_from_slice(&src[0..2]);
                dst[MINS + 2 * r..][..2].copy_from_slice(&src[2..4]);
            }
        }
        Ok(Self { n, k, blocks, data })
    }

    /// The `blocks * GROUP_BLOCK` bytes of row group `g` (rows `8g..8g+8`).
    pub fn group(&self, g: usize) -> &[u8] {
        let len = self.blocks * GROUP_BLOCK;
        &self.data[g * len..][..len]
    }
}
