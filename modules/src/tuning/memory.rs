//! What a training job would take of memory, estimated from its shape before it is queued, so a
//! request whose batch or sequences would exhaust the machine is refused with the fields that
//! drive the estimate instead of crashing the process mid-training.

use crate::TaskError;

/// The dimensions that set a job's memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingShape {
    /// Layers that activations are kept for (the backward pass needs them).
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Tokens per sequence, at most.
    pub sequence: usize,
    /// The weights the job holds (a dequantized copy, optimizer state).
    pub weights_bytes: u64,
}

/// f32 tensors of `batch × sequence × hidden` kept per layer for the backward pass: the
/// layer's input and norms, the attention projections and output, the MLP's wider tensors
/// (counted as several of these), and their gradients.
const SAVED_TENSORS_PER_LAYER: u64 = 12;

impl TrainingShape {
    /// The estimate: saved activations, attention scores and probabilities per layer
    /// (`batch × heads × sequence²` twice, which is what grows as the square of the length),
    /// and the weights.
    pub fn estimate_bytes(&self) -> u64 {
        let (layers, hidden, heads) = (self.layers as u64, self.hidden as u64, self.heads as u64);
        let (batch, sequence) = (self.batch as u64, self.sequence as u64);
        let activations = layers
            .saturating_mul(batch)
            .saturating_mul(sequence)
            .saturating_mul(hidden)
            .saturating_mul(SAVED_TENSORS_PER_LAYER * 4);
        let attention = layers
            .saturating_mul(batch)
            .saturating_mul(heads)
            .saturating_mul(sequence.saturating_mul(sequence))
            .saturating_mul(2 * 4);
        activations
            .saturating_add(attention)
            .saturating_add(self.weights_bytes)
    }

    /// Refuses the job when its estimate is over `budget`, naming `fields` (the request's
    /// parameters that set the batch and sequence lengths).
    pub fn check(&self, budget: u64, fields: &[&str]) -> Result<(), TaskError> {
        let estimate = self.estimate_bytes();
        if estimate <= budget {
            return Ok(());
        }
        let named: Vec<String> = fields.iter().map(|f| format!("/parameters/{f}")).collect();
        Err(TaskError::invalid_field(
            named[0].clone(),
            format!(
                "the job would need about {} MiB ({} layers × batch {} × {} tokens), more than \
                 training.max_memory_bytes ({} MiB); lower {}",
                estimate >> 20,
                self.layers,
                self.batch,
                self.sequence,
                budget >> 20,
                fields.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm2(batch: usize, sequence: usize) -> TrainingShape {
        TrainingShape {
            layers: 30,
            hidden: 576,
            heads: 9,
            batch,
            sequence,
            weights_bytes: 540 << 20,
        }
    }

    #[test]
    fn the_default_job_fits_and_long_batches_do_not() {
        let budget = 16u64 << 30;
        // The default prompt-tuning job: batch 8, 8 + 256 + 128 + 1 tokens.
        assert!(smollm2(8, 393).check(budget, &["batch_size"]).is_ok());
        // 8 × 7,000-token inputs: attention alone is ~14 GB per layer.
        let error = smollm2(8, 7_000)
            .check(budget, &["batch_size", "max_source_length"])
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("batch_size, max_source_length"), "{text}");
        assert!(smollm2(8, 7_000).estimate_bytes() > 400 << 30);
    }

    #[test]
    fn the_estimate_grows_with_the_square_of_the_length() {
        let short = smollm2(1, 1_000).estimate_bytes() - (540 << 20);
        let long = smollm2(1, 4_000).estimate_bytes() - (540 << 20);
        assert!(long > 10 * short, "{short} → {long}");
    }
}
