//! Prompt tuning (PEFT's soft prompts): learns `num_virtual_tokens` input embeddings placed
//! before every verbalized input, with the model frozen.
//!
//! Each step runs a batch through [`TrainableLlama`] with teacher forcing, takes the mean
//! cross-entropy over the batch's output tokens (and EOS), and moves the soft prompt, the only
//! trained tensor, with AdamW. Everything random (the initial prompt, the record order) comes
//! from the configured seed, so the same seed and data give a bit-identical prompt (on the same
//! machine and thread count, which fix the floating-point evaluation order).

use std::ops::ControlFlow;

use candle_core::{Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::SoftPrompt;
use super::examples::{Batch, Encoder, Example, INPUT_PLACEHOLDER};
use super::init::initial_embeddings;
use super::trainable_llama::TrainableLlama;
use crate::gguf::GgufTokenizer;
use crate::tuning::{EpochReport, StepReport, TrainingObserver, TuningError};

/// Mixed into the seed for the record order, so it differs from the init's stream (any fixed
/// value works; this is the 64-bit golden ratio).
const ORDER_STREAM: u64 = 0x9e37_79b9_7f4a_7c15;

/// How the soft prompt starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptInit {
    /// Noise shaped like the model's token embeddings.
    Random,
    /// The embeddings of this text's tokens, repeated or cut to `num_virtual_tokens`.
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromptTuningConfig {
    /// Rows of the soft prompt (at least 1).
    pub num_virtual_tokens: usize,
    pub init: PromptInit,
    /// Template each input is written into; every `{{input}}` is replaced by the input.
    pub verbalizer: String,
    pub num_epochs: usize,
    pub learning_rate: f64,
    /// Records per optimizer step; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Seeds the random init and the record order.
    pub seed: u64,
    /// Most tokens of a verbalized input; longer inputs are cut (the template is kept).
    pub max_source_length: usize,
    /// Most tokens of an output, before the EOS that is always appended.
    pub max_target_length: usize,
}

impl Default for PromptTuningConfig {
    fn default() -> Self {
        Self {
            num_virtual_tokens: 8,
            init: PromptInit::Random,
            verbalizer: INPUT_PLACEHOLDER.into(),
            num_epochs: 20,
            learning_rate: 0.03,
            batch_size: 8,
            seed: 0,
            max_source_length: 256,
            max_target_length: 128,
        }
    }
}

impl PromptTuningConfig {
    fn validate(&self) -> Result<(), TuningError> {
        let invalid = |what: &str| Err(TuningError::Invalid(what.into()));
        if self.num_virtual_tokens == 0 {
            return invalid("num_virtual_tokens must be at least 1");
        }
        if self.num_epochs == 0 {
            return invalid("num_epochs must be at least 1");
        }
        if self.batch_size == 0 {
            return invalid("batch_size must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid("learning_rate must be a positive number");
        }
        if self.max_source_length == 0 {
            return invalid("max_source_length must be at least 1");
        }
        if !self.verbalizer.contains(INPUT_PLACEHOLDER) {
            return invalid("verbalizer must contain {{input}}");
        }
        Ok(())
    }
}

/// One training or validation pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRecord {
    pub input: String,
    pub output: String,
}

/// Which set a record came from, for naming a bad one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSet {
    Training,
    Validation,
}

impl std::fmt::Display for RecordSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Training => "training",
            Self::Validation => "validation",
        })
    }
}

#[derive(Debug, Clone)]
pub struct TrainingOutcome {
    pub prompt: SoftPrompt,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Validation loss of the initial prompt, when validation records were given.
    pub initial_validation_loss: Option<f64>,
    /// One report per epoch.
    pub epochs: Vec<EpochReport>,
}

/// Trains soft prompts for one model.
pub struct PromptTuner<'a> {
    model: &'a TrainableLlama,
    tokenizer: &'a GgufTokenizer,
    config: PromptTuningConfig,
}

impl<'a> PromptTuner<'a> {
    pub fn new(
        model: &'a TrainableLlama,
        tokenizer: &'a GgufTokenizer,
        config: PromptTuningConfig,
    ) -> Result<Self, TuningError> {
        config.validate()?;
        Ok(Self {
            model,
            tokenizer,
            config,
        })
    }

    /// The prompt training starts from (depends on the init and the seed only).
    pub fn initial_prompt(&self) -> Result<SoftPrompt, TuningError> {
        let mut rng = StdRng::seed_from_u64(self.config.seed);
        self.initial_with(&mut rng)
    }

    fn initial_with(&self, rng: &mut StdRng) -> Result<SoftPrompt, TuningError> {
        let embeddings = initial_embeddings(
            self.model,
            self.tokenizer,
            &self.config.init,
            self.config.num_virtual_tokens,
            rng,
        )?;
        Ok(SoftPrompt {
            embeddings,
            verbalizer: self.config.verbalizer.clone(),
        })
    }

    /// Mean loss of `prompt` over every output token (and EOS) of `records`.
    pub fn loss(
        &self,
        prompt: &SoftPrompt,
        records: &[TrainingRecord],
    ) -> Result<f64, TuningError> {
        let examples = self.examples(records, RecordSet::Validation)?;
        self.mean_loss(prompt, &examples)
    }

    /// Trains on `train`, measuring `validation` (when not empty) before the first step
    /// (reported as epoch 0) and after every epoch. An observer's `Break` ends training with
    /// [`TuningError::Canceled`].
    pub fn train(
        &self,
        train: &[TrainingRecord],
        validation: &[TrainingRecord],
        observer: &mut dyn TrainingObserver,
    ) -> Result<TrainingOutcome, TuningError> {
        if train.is_empty() {
            return Err(TuningError::Invalid("no training records".into()));
        }
        // Every record is checked before the first step, not when its batch comes up.
        let examples = self.examples(train, RecordSet::Training)?;
        let validation = self.examples(validation, RecordSet::Validation)?;

        // Separate streams, so the record order for a seed does not depend on the init.
        let mut init_rng = StdRng::seed_from_u64(self.config.seed);
        let mut order_rng = StdRng::seed_from_u64(self.config.seed ^ ORDER_STREAM);
        let initial = self.initial_with(&mut init_rng)?;
        let prompt = Var::from_tensor(&initial.embeddings)?;
        let mut optimizer = AdamW::new(
            vec![prompt.clone()],
            ParamsAdamW {
                lr: self.config.learning_rate,
                ..ParamsAdamW::default()
            },
        )?;

        let num_epochs = self.config.num_epochs;
        let per_epoch = examples.len().div_ceil(self.config.batch_size);
        let total_steps = per_epoch * num_epochs;
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let validate = |prompt: &SoftPrompt| {
            (!validation.is_empty())
                .then(|| self.mean_loss(prompt, &validation))
                .transpose()
        };
        let initial_validation_loss = validate(&initial)?;
        let mut outcome = TrainingOutcome {
            prompt: initial,
            steps: 0,
            initial_validation_loss,
            epochs: Vec::with_capacity(num_epochs),
        };
        let before = EpochReport {
            epoch: 0,
            num_epochs,
            validation_loss: initial_validation_loss,
            validation_accuracy: None,
        };
        if observer.epoch(&before).is_break() {
            return Err(TuningError::Canceled);
        }
        for epoch in 1..=num_epochs {
            order.shuffle(&mut order_rng);
            for chunk in order.chunks(self.config.batch_size) {
                let batch: Vec<&Example> = chunk.iter().map(|&i| &examples[i]).collect();
                outcome.steps += 1;
                let loss = self.step(&prompt, &batch, &mut optimizer, outcome.steps)?;
                let report = StepReport {
                    epoch,
                    num_epochs,
                    step: outcome.steps,
                    total_steps,
                    loss,
                };
                if let ControlFlow::Break(()) = observer.step(&report) {
                    return Err(TuningError::Canceled);
                }
            }
            let report = EpochReport {
                epoch,
                num_epochs,
                validation_loss: validate(&self.snapshot(&prompt))?,
                validation_accuracy: None,
            };
            let control = observer.epoch(&report);
            outcome.epochs.push(report);
            if control.is_break() {
                return Err(TuningError::Canceled);
            }
        }
        outcome.prompt = self.snapshot(&prompt);
        Ok(outcome)
    }

    /// The prompt's current values, cut off from the training graph.
    fn snapshot(&self, prompt: &Var) -> SoftPrompt {
        SoftPrompt {
            embeddings: prompt.as_detached_tensor(),
            verbalizer: self.config.verbalizer.clone(),
        }
    }

    /// One optimizer step on `batch`; returns its loss.
    fn step(
        &self,
        prompt: &Var,
        batch: &[&Example],
        optimizer: &mut AdamW,
        step: usize,
    ) -> Result<f64, TuningError> {
        let batch = self.batch(batch)?;
        let loss = self.batch_loss(prompt.as_tensor(), &batch)?;
        let grads = loss.backward()?;
        // candle drops gradients through ops without a backward pass silently; a prompt
        // without one would "train" without ever changing.
        let grad = grads.get(prompt.as_tensor()).ok_or_else(|| {
            TuningError::Failed(format!("step {step}: the soft prompt received no gradient"))
        })?;
        let norm = grad.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        if !norm.is_finite() {
            return Err(TuningError::Failed(format!(
                "step {step}: the soft prompt's gradient is not finite (norm {norm})"
            )));
        }
        optimizer.step(&grads)?;
        Ok(f64::from(loss.to_scalar::<f32>()?))
    }

    fn batch(&self, examples: &[&Example]) -> Result<Batch, TuningError> {
        Batch::new(
            examples,
            self.config.num_virtual_tokens,
            self.tokenizer.eos_id,
        )
        .map_err(TuningError::Invalid)
    }

    /// Mean cross-entropy of the batch's targets, behind `prompt` `(n, hidden)`.
    fn batch_loss(&self, prompt: &Tensor, batch: &Batch) -> Result<Tensor, TuningError> {
        let device = self.model.device();
        let (rows, hidden) = (batch.rows, self.model.hidden_size());
        let virtual_tokens = prompt.dim(0)?;
        let prompts = prompt
            .unsqueeze(0)?
            .broadcast_as((rows, virtual_tokens, hidden))?;
        let inputs = if batch.len == 0 {
            prompts.contiguous()?
        } else {
            let tokens = self
                .model
                .embed(&batch.tokens)?
                .reshape((rows, batch.len, hidden))?;
            Tensor::cat(&[&prompts, &tokens], 1)?
        };
        let width = virtual_tokens + batch.len;
        let hidden_states = self
            .model
            .hidden(&inputs)?
            .reshape((rows * width, hidden))?;
        // Only the positions that predict a target need the vocabulary-wide head.
        let positions = Tensor::new(batch.positions.as_slice(), device)?;
        let logits = self
            .model
            .logits(&hidden_states.index_select(&positions, 0)?)?;
        let targets = Tensor::new(batch.targets.as_slice(), device)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
    }

    /// Token-weighted mean loss over `examples`, without building a training graph.
    fn mean_loss(&self, prompt: &SoftPrompt, examples: &[Example]) -> Result<f64, TuningError> {
        if examples.is_empty() {
            return Err(TuningError::Invalid(
                "no records to compute a loss over".into(),
            ));
        }
        let embeddings = prompt.embeddings.detach();
        let (mut total, mut tokens) = (0.0f64, 0usize);
        let refs: Vec<&Example> = examples.iter().collect();
        for chunk in refs.chunks(self.config.batch_size) {
            let batch = self.batch(chunk)?;
            let loss = self.batch_loss(&embeddings, &batch)?.to_scalar::<f32>()?;
            total += f64::from(loss) * batch.targets.len() as f64;
            tokens += batch.targets.len();
        }
        Ok(total / tokens as f64)
    }

    fn examples(
        &self,
        records: &[TrainingRecord],
        set: RecordSet,
    ) -> Result<Vec<Example>, TuningError> {
        let c = &self.config;
        let encoder = Encoder {
            tokenizer: self.tokenizer,
            verbalizer: &c.verbalizer,
            max_source_length: c.max_source_length,
            max_target_length: c.max_target_length,
        };
        let context = self.model.config.context_length;
        records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                let invalid =
                    |reason: String| TuningError::Invalid(format!("{set} record {index}: {reason}"));
                let example = encoder
                    .encode(&record.input, &record.output)
                    .map_err(invalid)?;
                let length = c.num_virtual_tokens + example.source.len() + example.target.len();
                if length > context {
                    return Err(invalid(format!(
                        "{length} tokens with the soft prompt exceed the model's context of {context}"
                    )));
                }
                Ok(example)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_limits_are_enforced() {
        assert!(PromptTuningConfig::default().validate().is_ok());
        let broken = [
            PromptTuningConfig {
                num_virtual_tokens: 0,
                ..PromptTuningConfig::default()
            },
            PromptTuningConfig {
                num_epochs: 0,
                ..PromptTuningConfig::default()
            },
            PromptTuningConfig {
                batch_size: 0,
                ..PromptTuningConfig::default()
            },
            PromptTuningConfig {
                learning_rate: f64::NAN,
                ..PromptTuningConfig::default()
            },
            PromptTuningConfig {
                learning_rate: 0.0,
                ..PromptTuningConfig::default()
            },
            PromptTuningConfig {
                max_source_length: 0,
                ..PromptTuningConfig::default()
            },
            PromptTuningConfig {
                verbalizer: "no placeholder".into(),
                ..PromptTuningConfig::default()
            },
        ];
        for config in broken {
            let error = config.validate().unwrap_err();
            assert!(matches!(error, TuningError::Invalid(_)), "{error}");
        }
    }
}
