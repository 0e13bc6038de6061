use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use half::f16;

use super::pack::PackedQ41;
use super::q8_1::Q8Rows;
use super::{Inner, Kernel, QLinear, matmul};

/// Deterministic values in [-1, 1) with a few larger outliers, like real activations.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            if i % 61 == 0 { v * 6.0 } else { v }
        })
        .collect()
}

fn q4_1(n: usize, k: usize, seed: u64) -> QTensor {
    let w = Tensor::from_vec(values(n * k, seed), (n, k), &Device::Cpu).unwrap();
    QTensor::quantize(&w, GgmlDType::Q4_1).unwrap()
}

fn packed(q: &QTensor) -> PackedQ41 {
    let (n, k) = q.shape().dims2().unwrap();
    PackedQ41::from_blocks(&q.data().unwrap(), n, k).unwrap()
}

fn run(w: &PackedQ41, x: &[f32], kernel: Kernel) -> Vec<f32> {
    let mut dst = vec![f32::NAN; x.len() / w.k * w.n];
    matmul(w, x, &mut dst, kernel);
    dst
}

/// Largest difference relative to the largest magnitude of `want`.
fn rel_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = got
        .iter()
        .zip(want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

/// candle's (and llama.cpp's) Q4_1 × Q8_1 dot product written directly from the GGUF blocks, in
/// f64: checks the packing and the kernels' arithmetic independently of both.
fn reference(q: &QTensor, x: &[f32]) -> Vec<f32> {
    let (n, k) = q.shape().dims2().unwrap();
    let raw = q.data().unwrap();
    let half = |b: &[u8]| f16::from_le_bytes([b[0], b[1]]).to_f64();
    let mut out = Vec::new();
    for token in x.chunks(k) {
        for row in raw.chunks(k / 32 * 20).take(n) {
            let mut acc = 0f64;
            for (w, xs) in row.chunks(20).zip(token.chunks(32)) {
                let d = xs.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
                let inv = if d == 0.0 { 0.0 } else { 1.0 / d };
                let q8: Vec<i32> = xs.iter().map(|v| (v * inv).round() as i32).collect();
                let d8 = f16::from_f32(d);
                let s8 = (f16::from_f32(q8.iter().sum::<i32>() as f32) * d8).to_f64();
                let d8 = d8.to_f64();
                let dot: i32 = (0..16)
                    .map(|j| (w[4 + j] & 15) as i32 * q8[j] + (w[4 + j] >> 4) as i32 * q8[j + 16])
                    .sum();
                acc += half(&w[0..2]) * d8 * dot as f64 + half(&w[2..4]) * s8;
            }
            out.push(acc as f32);
        }
    }
    out
}

/// (n, k, tokens): n off the 8-row groups, single blocks, tails of the 4-token tile, and work
/// large enough to go parallel.
const SHAPES: [(usize, usize, usize); 7] = [
    (1, 32, 1),
    (13, 64, 1),
    (37, 96, 7),
    (8, 32, 5),
    (576, 576, 1),
    (200, 1536, 6),
    (192, 576, 42),
];

#[test]
fn kernels_match_the_reference() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for (i, &(n, k, m)) in SHAPES.iter().enumerate() {
        let q = q4_1(n, k, i as u64 + 1);
        let x = values(m * k, 100 + i as u64);
        let want = reference(&q, &x);
        let w = packed(&q);
        // Three workers split the groups unevenly, which the default pool may not.
        let got = pool.install(|| run(&w, &x, Kernel::best()));
        let diff = rel_diff(&got, &want);
        assert!(diff < 1e-5, "({n}, {k}) x {m}: {diff}");
        let diff = rel_diff(&run(&w, &x, Kernel::Scalar), &want);
        assert!(diff < 1e-5, "scalar ({n}, {k}) x {m}: {diff}");
    }
}

#[test]
fn scalar_kernel_matches_dequantized_matmul() {
    for (i, &(n, k, m)) in SHAPES.iter().enumerate() {
        let q = q4_1(n, k, i as u64 + 1);
        let x = values(m * k, 100 + i as u64);
        let got = run(&packed(&q), &x, Kernel::Scalar);
        let w = q.dequantize(&Device::Cpu).unwrap();
        let xt = Tensor::from_vec(x, (m, k), &Device::Cpu).unwrap();
        let want = xt.matmul(&w.t().unwrap()).unwrap().flatten_all().unwrap();
        let diff = rel_diff(&got, &want.to_vec1::<f32>().unwrap());
        // 8-bit activations: about 1/254 of each block's range per value, mostly cancelling.
        assert!(diff < 2e-2, "({n}, {k}) x {m}: {diff}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_kernel_matches_scalar() {
    if !Kernel::best().avx2_family() {
        eprintln!("skipped: no AVX2/FMA/F16C");
        return;
    }
    // Three workers split the groups unevenly, which the default pool may not.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for (i, &(n, k, m)) in SHAPES.iter().enumerate() {
        let w = packed(&q4_1(n, k, i as u64 + 1));
        let x = values(m * k, 100 + i as u64);
        let want = run(&w, &x, Kernel::Scalar);
        let got = pool.install(|| run(&w, &x, Kernel::Avx2));
        // Only the fused multiply-adds round differently.
        let diff = rel_diff(&got, &want);
        assert!(diff < 1e-5, "({n}, {k}) x {m}: {diff}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_quantization_is_bit_identical() {
    if !Kernel::best().avx2_family() {
        return;
    }
    let mut x = values(32 * 9, 7);
    x[32..64].fill(0.0);
    // Exact halves after scaling by 1 / d = 1: ties round away from zero, as `f32::round`.
    x[64] = 127.0;
    for (j, v) in x[65..96].iter_mut().enumerate() {
        *v = j as f32 + 0.5 - 16.0;
    }
    let scalar = Q8Rows::quantize(&x, 96, Kernel::Scalar);
    let simd = Q8Rows::quantize(&x, 96, Kernel::Avx2);
    assert_eq!(scalar.qs, simd.qs);
    assert_eq!(scalar.d, simd.d);
    assert_eq!(scalar.s, simd.s);
    assert_eq!(&scalar.qs[65..68], &[-16, -15, -14]);
    assert!(scalar.d[1] == 0.0 && scalar.s[1] == 0.0);
}

#[test]
fn matches_candle_qmatmul_on_3d_input() {
    let (n, k, t) = (40, 128, 5);
    let q = q4_1(n, k, 9);
    let x = Tensor::from_vec(values(t * k, 10), (1, t, k), &Device::Cpu).unwrap();
    let ours = QLinear::from_qtensor(q4_1(n, k, 9)).unwrap();
    assert!(matches!(ours.0, Inner::Q4_1(_)));
    let got = ours.forward(&x).unwrap();
    let want = QMatMul::from_qtensor(q).unwrap().forward(&x).unwrap();
    assert_eq!(got.dims(), &[1, t, n]);
    let (got, want) = (
        got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        want.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
    );
    // The same quants and scales; only the order of the f32 sums differs.
    let diff = rel_diff(&got, &want);
    assert!(diff < 1e-5, "{diff}");
}

#[test]
fn other_dtypes_and_bad_inputs_behave_like_qmatmul() {
    let w = Tensor::from_vec(values(16 * 64, 3), (16, 64), &Device::Cpu).unwrap();
    let q4_0 = QLinear::from_qtensor(QTensor::quantize(&w, GgmlDType::Q4_0).unwrap()).unwrap();
    assert!(matches!(q4_0.0, Inner::Candle(_)));
    let q8 = QLinear::from_qtensor(QTensor::quantize(&w, GgmlDType::Q8_0).unwrap()).unwrap();
    assert!(matches!(q8.0, Inner::Q8_0(_)));
    assert!(
        q8.forward(&Tensor::from_vec(values(64, 4), 64, &Device::Cpu).unwrap())
            .is_err()
    );
    let q4 = QLinear::from_qtensor(q4_1(16, 64, 3)).unwrap();
    let flat = Tensor::from_vec(values(64, 4), 64, &Device::Cpu).unwrap();
    assert!(q4.forward(&flat).is_err());
    let wide = Tensor::from_vec(values(2 * 128, 4), (2, 128), &Device::Cpu).unwrap();
    assert!(q4.forward(&wide).is_err());
    let strided = Tensor::from_vec(values(64 * 2, 4), (64, 2), &Device::Cpu)
        .unwrap()
        .t()
        .unwrap();
    assert!(q4.forward(&strided).is_err());
}

fn q8_0(n: usize, k: usize, seed: u64) -> QTensor {
    let w = Tensor::from_vec(values(n * k, seed), (n, k), &Device::Cpu).unwrap();
    QTensor::quantize(&w, GgmlDType::Q8_0).unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

#[test]
fn q8_0_gives_candles_logits_bit_for_bit() {
    // Three workers split the groups unevenly, which the default pool may not.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    for (i, &(n, k, m)) in SHAPES.iter().enumerate() {
        let x = Tensor::from_vec(values(m * k, 200 + i as u64), (1, m, k), &Device::Cpu).unwrap();
        let ours = QLinear::from_qtensor(q8_0(n, k, i as u64 + 1)).unwrap();
        let got = pool.install(|| ours.forward(&x).unwrap());
        let want = QMatMul::from_qtensor(q8_0(n, k, i as u64 + 1))
            .unwrap()
            .forward(&x)
            .unwrap();
        assert_eq!(got.dims(), want.dims());
        let (got, want) = (flat(&got), flat(&want));
        if Kernel::best() == Kernel::Scalar {
            // candle's scalar order: the same sums.
            assert_eq!(got, want, "scalar ({n}, {k}) x {m}");
        } else {
            // The same lane sums, fused multiply-adds and horizontal sum as candle's AVX2 path.
            let same = got
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "({n}, {k}) x {m}: {}", rel_diff(&got, &want));
        }
    }
}

#[test]
fn q8_0_scalar_kernel_matches_the_simd_one_and_a_dense_matmul() {
    for (i, &(n, k, m)) in SHAPES.iter().enumerate() {
        let q = q8_0(n, k, i as u64 + 1);
        let x = values(m * k, 300 + i as u64);
        let table = super::Q80::new(std::sync::Arc::new(q8_0(n, k, i as u64 + 1))).unwrap();
        let view = table.view().unwrap();
        let run = |kernel| {
            let mut dst = vec![f32::NAN; m * n];
            matmul(&view, &x, &mut dst, kernel);
            dst
        };
        let scalar = run(Kernel::Scalar);
        let diff = rel_diff(&scalar, &run(Kernel::best()));
        assert!(diff < 1e-5, "({n}, {k}) x {m}: {diff}");
        let w = q.dequantize(&Device::Cpu).unwrap();
        let xt = Tensor::from_vec(x, (m, k), &Device::Cpu).unwrap();
        let dense = flat(&xt.matmul(&w.t().unwrap()).unwrap());
        // 8-bit activations: about 1/254 of each block's range per value, mostly cancelling.
        let diff = rel_diff(&scalar, &dense);
        assert!(diff < 2e-2, "({n}, {k}) x {m}: {diff}");
    }
}

/// The AVX2 kernels and their VNNI versions give the same bits on Q4_1 and Q8_0 (the integer
/// sums are exact and the float steps the same), so which one a CPU picks never changes a
/// logit. Each version the CPU lacks is left out.
#[cfg(target_arch = "x86_64")]
#[test]
fn every_simd_kernel_gives_the_same_bits() {
    let simd: Vec<Kernel> = Kernel::available()
        .into_iter()
        .filter(|k| *k != Kernel::Scalar)
        .collect();
    if simd.len() < 2 {
        eprintln!("skipped: no VNNI on this CPU ({simd:?})");
        return;
    }
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    for (i, &(n, k, m)) in SHAPES.iter().enumerate() {
        let x = values(m * k, 400 + i as u64);
        let w = packed(&q4_1(n, k, i as u64 + 1));
        let table = super::Q80::new(std::sync::Arc::new(q8_0(n, k, i as u64 + 1))).unwrap();
        let view = table.view().unwrap();
        let q8 = |kernel| {
            let mut dst = vec![f32::NAN; m * n];
            matmul(&view, &x, &mut dst, kernel);
            dst
        };
        let (want4, want8) = (bits(run(&w, &x, Kernel::Avx2)), bits(q8(Kernel::Avx2)));
        for &kernel in &simd[1..] {
            assert_eq!(
                bits(run(&w, &x, kernel)),
                want4,
                "Q4_1 {kernel:?} ({n}, {k}) x {m}"
            );
            assert_eq!(bits(q8(kernel)), want8, "Q8_0 {kernel:?} ({n}, {k}) x {m}");
        }
    }
}
