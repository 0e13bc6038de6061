//! A linear layer whose weight never receives a gradient.
//!
//! candle's backward pass for `matmul` always computes the gradient of both operands, so a frozen
//! weight used through `x.matmul(&w.t())` still gets a full-size gradient on every step (7.2 GB
//! peak for SmolLM2-135M prompt tuning). Here the weight lives inside a custom op instead of
//! being an operand of the graph: the only operand is the input, and the backward pass returns
//! only the input's gradient.

use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Storage, Tensor, bail};

/// `x (..., in) -> (..., out)` with a frozen f32 weight `(out, in)`, as `x · Wᵀ`.
#[derive(Clone)]
pub struct FrozenLinear {
    op: Arc<Box<dyn CustomOp1 + Send + Sync>>,
    weight: Tensor,
}

impl std::fmt::Debug for FrozenLinear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrozenLinear")
            .field("weight", &self.weight.shape())
            .finish()
    }
}

impl FrozenLinear {
    /// `weight` is `(out, in)`, f32 on the CPU. It is shared, not copied: the same tensor may
    /// also serve as an embedding table (tied output heads).
    pub fn new(weight: Tensor) -> Result<Self> {
        weight.dims2()?;
        if weight.dtype() != DType::F32 || !weight.device().is_cpu() {
            bail!(
                "frozen linear needs an f32 CPU weight, got {:?} on {:?}",
                weight.dtype(),
                weight.device().location()
            )
        }
        // The op reads the storage as one row-major `(out, in)` block.
        let weight = weight.contiguous()?;
        let op = FrozenMatmul {
            weight: weight.clone(),
        };
        Ok(Self {
            op: Arc::new(Box::new(op)),
            weight,
        })
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // The op needs a contiguous input; `contiguous` is itself differentiable.
        x.contiguous()?.apply_op1_arc(self.op.clone())
    }
}

struct FrozenMatmul {
    weight: Tensor,
}

impl CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (out, inner) = self.weight.dims2()?;
        if !layout.is_contiguous() {
            bail!("frozen linear: input is not contiguous {layout:?}")
        }
        let mut dims = layout.dims().to_vec();
        if dims.len() < 2 || dims.pop() != Some(inner) {
            bail!(
                "frozen linear: input {:?} does not end in {inner}",
                layout.dims()
            )
        }
        let rows = dims.iter().product::<usize>();
        dims.push(out);
        // Every leading dimension folds into the rows of one GEMM, done by the same CPU kernel
        // `Tensor::matmul` uses, reading both operands in place.
        let lhs = Layout::contiguous_with_offset((rows, inner), layout.start_offset());
        let (weight, weight_layout) = self.weight.storage_and_layout();
        let Storage::Cpu(weight) = &*weight else {
            bail!("frozen linear: the weight is not on the CPU")
        };
        let rhs = weight_layout.transpose(0, 1)?;
        let product = storage.matmul(weight, (1, rows, out, inner), &lhs, &rhs)?;
        Ok((product, Shape::from(dims)))
    }

    /// `∂L/∂x = ∂L/∂y · W`; no gradient exists for `W`, which is not an operand.
    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let (out, _) = self.weight.dims2()?;
        let rows = grad_res.elem_count() / out;
        let grad = grad_res
            .reshape((rows, out))?
            .matmul(&self.weight)?
            .reshape(arg.shape())?;
        Ok(Some(grad))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn tensor(rows: usize, cols: usize, scale: f32) -> Tensor {
        let values = (0..rows * cols)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * scale)
            .collect::<Vec<_>>();
        Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    #[test]
    fn forward_matches_a_plain_matmul() {
        let w = tensor(7, 5, 0.1);
        let x = tensor(4, 5, 0.3);
        let linear = FrozenLinear::new(w.clone()).unwrap();
        let ours = linear.forward(&x).unwrap();
        let plain = x.matmul(&w.t().unwrap()).unwrap();
        assert_eq!(ours.dims(), &[4, 7]);
        assert_eq!(max_abs_diff(&ours, &plain), 0.0);
    }

    #[test]
    fn leading_dimensions_fold_into_rows() {
        let w = tensor(6, 4, 0.2);
        let x = tensor(2 * 3, 4, 0.5);
        let linear = FrozenLinear::new(w).unwrap();
        let flat = linear.forward(&x).unwrap();
        let batched = linear.forward(&x.reshape((2, 3, 4)).unwrap()).unwrap();
        assert_eq!(batched.dims(), &[2, 3, 6]);
        assert_eq!(max_abs_diff(&batched.reshape((6, 6)).unwrap(), &flat), 0.0);
        // A transposed (strided) input is made contiguous first, not misread.
        let strided = x.reshape((4, 6)).unwrap().t().unwrap();
        let expected = linear.forward(&strided.contiguous().unwrap()).unwrap();
        assert_eq!(
            max_abs_diff(&linear.forward(&strided).unwrap(), &expected),
            0.0
        );
    }

    #[test]
    fn only_the_input_gets_a_gradient() {
        let w = tensor(7, 5, 0.1);
        let x = Var::from_tensor(&tensor(3, 5, 0.3)).unwrap();
        let target = tensor(3, 7, 0.2);
        let linear = FrozenLinear::new(w.clone()).unwrap();

        // A loss that is not linear in the output, so the incoming gradient is not uniform.
        let loss = |y: Tensor| (y - &target).unwrap().sqr().unwrap().sum_all().unwrap();
        let ours = loss(linear.forward(x.as_tensor()).unwrap())
            .backward()
            .unwrap();

        let w_var = Var::from_tensor(&w).unwrap();
        let plain = loss(
            x.as_tensor()
                .matmul(&w_var.as_tensor().t().unwrap())
                .unwrap(),
        )
        .backward()
        .unwrap();

        let ours_x = ours.get(x.as_tensor()).expect("no gradient for the input");
        let plain_x = plain.get(x.as_tensor()).unwrap();
        assert!(max_abs_diff(ours_x, plain_x) < 1e-5);
        // The plain matmul computes a weight gradient; the frozen layer holds no such operand.
        assert!(plain.get(w_var.as_tensor()).is_some());
        assert!(ours.get(&w).is_none());
        assert!(ours.get(linear.weight()).is_none());
        // Input, output and loss only: no weight-sized gradient is stored anywhere.
        assert!(ours.get_ids().all(|id| {
            ours.get_id(*id)
                .is_some_and(|g| g.elem_count() != w.elem_count())
        }));
    }

    #[test]
    fn refuses_a_non_f32_weight() {
        let w = tensor(2, 2, 1.0).to_dtype(DType::F16).unwrap();
        assert!(FrozenLinear::new(w).is_err());
    }
}
