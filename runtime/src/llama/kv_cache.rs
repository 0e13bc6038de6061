//! One sequence's attention keys and values. Each layer keeps a buffer with room to spare and
//! writes new positions in place, so a decoding step copies one position, not the whole cache.

use candle_core::{DType, Device, Result, Tensor};

/// Smallest buffer a layer allocates (positions).
const MIN_CAPACITY: usize = 64;

/// Keys and values per layer, `(1, kv_heads, capacity, head_dim)`; the first `len` positions
/// are filled.
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    /// Positions the model serves at most: buffers never grow past it.
    limit: usize,
}

impl KvCache {
    pub(super) fn new(layers: usize, limit: usize) -> Self {
        Self {
            layers: (0..layers).map(|_| None).collect(),
            len: 0,
            limit,
        }
    }

    /// Tokens already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the buffers (allocated, not just filled).
    pub fn allocated_bytes(&self) -> usize {
        self.layers
            .iter()
            .flatten()
            .map(|(k, v)| (k.elem_count() + v.elem_count()) * 4)
            .sum()
    }

    /// Writes `k`, `v` `(1, kv_heads, t, head_dim)` of `layer` after the filled positions and
    /// returns views of everything filled so far. Call [`KvCache::advance`] after the last
    /// layer.
    pub(super) fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (_, heads, t, dim) = k.dims4()?;
        let needed = self.len + t;
        let slot = &mut self.layers[layer];
        let capacity = slot.as_ref().map_or(0, |(k, _)| k.dim(2).unwrap_or(0));
        if needed > capacity {
            let grown = needed
                .next_power_of_two()
                .max(MIN_CAPACITY)
                .min(self.limit.max(needed));
            let fresh = |old: Option<&Tensor>| -> Result<Tensor> {
                let buffer = Tensor::zeros((1, heads, grown, dim), DType::F32, &Device::Cpu)?;
                if let Some(old) = old {
                    buffer.slice_set(old, 2, 0)?;
                }
                Ok(buffer)
            };
            let (old_k, old_v) = match slot.as_ref() {
                Some((k, v)) => (Some(k), Some(v)),
                None => (None, None),
            };
            *slot = Some((fresh(old_k)?, fresh(old_v)?));
        }
        let (keys, values) = slot.as_ref().expect("allocated above");
        keys.slice_set(&k.contiguous()?, 2, self.len)?;
        values.slice_set(&v.contiguous()?, 2, self.len)?;
        Ok((keys.narrow(2, 0, needed)?, values.narrow(2, 0, needed)?))
    }

    /// Marks `t` more positions filled (every layer has appended them).
    pub(super) fn advance(&mut self, t: usize) {
        self.len += t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(from: usize, t: usize) -> Tensor {
        let values: Vec<f32> = (from..from + t)
            .flat_map(|p| (0..2 * 4).map(move |i| (p * 100 + i) as f32))
            .collect();
        Tensor::from_vec(values, (1, t, 2, 4), &Device::Cpu)
            .unwrap()
            .transpose(1, 2)
            .unwrap()
    }

    #[test]
    fn appends_across_growth_keep_every_position() {
        let mut cache = KvCache::new(1, 1000);
        let mut expected = Vec::new();
        let mut filled = 0;
        for t in [5, 1, 70, 1, 1] {
            let step = positions(filled, t);
            let (k, v) = cache.append(0, &step, &step).unwrap();
            cache.advance(t);
            filled += t;
            expected.push(step);
            let all = Tensor::cat(&expected, 2).unwrap();
            assert_eq!(k.dims4().unwrap(), (1, 2, filled, 4));
            let diff = (k - &all).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
            assert_eq!(v.dims4().unwrap(), (1, 2, filled, 4));
        }
        assert_eq!(cache.len(), 78);
        assert_eq!(cache.allocated_bytes(), 2 * 2 * 128 * 4 * 4);
    }

    #[test]
    fn buffers_never_grow_past_the_limit() {
        let mut cache = KvCache::new(1, 80);
        let step = positions(0, 70);
        cache.append(0, &step, &step).unwrap();
        cache.advance(70);
        assert_eq!(cache.allocated_bytes(), 2 * 2 * 80 * 4 * 4);
    }
}
