//! The soft prompt's starting point.

use candle_core::Tensor;
use rand::Rng;
use rand::rngs::StdRng;

use super::PromptInit;
use super::trainable_llama::TrainableLlama;
use crate::gguf::GgufTokenizer;
use crate::tuning::TuningError;

/// `(rows, hidden)` starting embeddings.
pub(crate) fn initial_embeddings(
    model: &TrainableLlama,
    tokenizer: &GgufTokenizer,
    init: &PromptInit,
    rows: usize,
    rng: &mut StdRng,
) -> Result<Tensor, TuningError> {
    match init {
        PromptInit::Random => random(model, rows, rng),
        PromptInit::Text(text) => {
            let mut ids = tokenizer.encode(text)?;
            if tokenizer.add_bos && ids.first().copied() == tokenizer.bos_id {
                ids.remove(0);
            }
            if ids.is_empty() {
                return Err(TuningError::Invalid("the init text has no tokens".into()));
            }
            // Repeated when shorter than the prompt, cut when longer.
            let ids: Vec<u32> = ids.iter().copied().cycle().take(rows).collect();
            Ok(model.embed(&ids)?)
        }
    }
}

/// Normal noise with the mean and spread of the model's token embeddings. A unit normal (what
/// PEFT's random init draws) is far larger than real token embeddings and would dominate the
/// residual stream of every later position.
fn random(model: &TrainableLlama, rows: usize, rng: &mut StdRng) -> Result<Tensor, TuningError> {
    let table = model.embedding_table();
    let mean = table.mean_all()?.to_scalar::<f32>()? as f64;
    let variance = table.broadcast_sub(&table.mean_all()?)?.sqr()?.mean_all()?;
    let std = (variance.to_scalar::<f32>()? as f64).sqrt();
    let hidden = model.hidden_size();
    let values: Vec<f32> = (0..rows * hidden)
        .map(|_| (mean + std * standard_normal(rng)) as f32)
        .collect();
    Ok(Tensor::from_vec(values, (rows, hidden), model.device())?)
}

/// Box–Muller: exact and reproducible from the seeded generator alone.
fn standard_normal(rng: &mut StdRng) -> f64 {
    // `1 - u` lies in (0, 1], so its logarithm is finite.
    let radius = (-2.0 * (1.0 - rng.random::<f64>()).ln()).sqrt();
    radius * (std::f64::consts::TAU * rng.random::<f64>()).cos()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn standard_normal_has_unit_spread_and_repeats_per_seed() {
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20_000)
                .map(|_| standard_normal(&mut rng))
                .collect::<Vec<_>>()
        };
        let values = draw(7);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        assert_eq!(values, draw(7));
        assert_ne!(values, draw(8));
    }
}
