//! Prompt tuning (PEFT's soft prompts): learns `num_virtual_tokens` input embeddings placed
//! before every verbalized input, with the model frozen.
//!
//! Each step runs a batch through [`TrainableLlama`] with teacher forcing, takes the mean
//! cross-entropy over the batch's output tokens (and EOS), and moves the soft prompt, the only
//! trained tensor, with AdamW. Everything random (the initial prompt, the record order) comes
//! from the configured seed, so the same seed and data give a bit-identical prompt (on the same
//! machine and thread count, which fix the floating-point evaluation order).

use candle_core::{Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::examples::{Batch, Encoder, Example, INPUT_PLACEHOLDER};
use super::init::initial_embeddings;
use super::trainable_llama::TrainableLlama;
use super::{RecordSet, SoftPrompt, TuningError};
use crate::gguf::GgufTokenizer;

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
        let invalid = |what: &str| Err(TuningError::InvalidConfig(what.into()));
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

/// Progress after an optimizer step. `epoch` and `step` count from 1; `step` runs across
/// epochs up to `total_steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub epoch: usize,
    pub step: usize,
    pub total_steps: usize,
    /// The batch's mean loss before this step's update.
    pub loss: f32,
}

/// Progress after an epoch (counted from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean of the epoch's step losses.
    pub train_loss: f32,
    /// Mean loss over every validation token, when validation records were given.
    pub validation_loss: Option<f32>,
}

/// What training does after a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// End training now; the prompt as trained so far is returned.
    Stop,
}

/// Watches training and may stop it. Called on the training thread after every step, so a
/// stop takes effect before the next step starts.
pub trait TrainingObserver {
    fn on_step(&mut self, report: &StepReport) -> Control;

    fn on_epoch(&mut self, _report: &EpochReport) -> Control {
        Control::Continue
    }
}

/// An observer that never stops training.
impl TrainingObserver for () {
    fn on_step(&mut self, _report: &StepReport) -> Control {
        Control::Continue
    }
}

#[derive(Debug, Clone)]
pub struct TrainingOutcome {
    pub prompt: SoftPrompt,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Whether the observer stopped training before the last step.
    pub stopped: bool,
    /// One report per completed epoch.
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
    ) -> Result<f32, TuningError> {
        let examples = self.examples(records, RecordSet::Validation)?;
        self.mean_loss(prompt, &examples)
    }

    pub fn train(
        &self,
        train: &[TrainingRecord],
        validation: &[TrainingRecord],
        observer: &mut dyn TrainingObserver,
    ) -> Result<TrainingOutcome, TuningError> {
        if train.is_empty() {
            return Err(TuningError::InvalidConfig("no training records".into()));
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

        let per_epoch = examples.len().div_ceil(self.config.batch_size);
        let total_steps = per_epoch * self.config.num_epochs;
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut outcome = TrainingOutcome {
            prompt: initial,
            steps: 0,
            stopped: false,
            epochs: Vec::with_capacity(self.config.num_epochs),
        };
        for epoch in 1..=self.config.num_epochs {
            order.shuffle(&mut order_rng);
            let mut loss_sum = 0.0;
            for chunk in order.chunks(self.config.batch_size) {
                let batch: Vec<&Example> = chunk.iter().map(|&i| &examples[i]).collect();
                outcome.steps += 1;
                let loss = self.step(&prompt, &batch, &mut optimizer, outcome.steps)?;
                loss_sum += loss;
                let report = StepReport {
                    epoch,
                    step: outcome.steps,
                    total_steps,
                    loss,
                };
                if observer.on_step(&report) == Control::Stop {
                    outcome.stopped = outcome.steps < total_steps;
                    return self.finish(outcome, &prompt);
                }
            }
            let current = self.snapshot(&prompt);
            let validation_loss = if validation.is_empty() {
                None
            } else {
                Some(self.mean_loss(&current, &validation)?)
            };
            let report = EpochReport {
                epoch,
                train_loss: loss_sum / per_epoch as f32,
                validation_loss,
            };
            let control = observer.on_epoch(&report);
            outcome.epochs.push(report);
            if control == Control::Stop {
                outcome.stopped = epoch < self.config.num_epochs;
                break;
            }
        }
        self.finish(outcome, &prompt)
    }

    fn finish(
        &self,
        mut outcome: TrainingOutcome,
        prompt: &Var,
    ) -> Result<TrainingOutcome, TuningError> {
        outcome.prompt = self.snapshot(prompt);
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
    ) -> Result<f32, TuningError> {
        let batch = self.batch(batch)?;
        let loss = self.batch_loss(prompt.as_tensor(), &batch)?;
        let grads = loss.backward()?;
        // candle drops gradients through ops without a backward pass silently; a prompt
        // without one would "train" without ever changing.
        let grad = grads
            .get(prompt.as_tensor())
            .ok_or(TuningError::NoGradient { step })?;
        let norm = grad.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?;
        if !norm.is_finite() {
            return Err(TuningError::NonFiniteGradient { step, norm });
        }
        optimizer.step(&grads)?;
        Ok(loss.to_scalar::<f32>()?)
    }

    fn batch(&self, examples: &[&Example]) -> Result<Batch, TuningError> {
        Batch::new(
            examples,
            self.config.num_virtual_tokens,
            self.tokenizer.eos_id,
        )
        .map_err(TuningError::InvalidConfig)
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
    fn mean_loss(&self, prompt: &SoftPrompt, examples: &[Example]) -> Result<f32, TuningError> {
        if examples.is_empty() {
            return Err(TuningError::InvalidConfig(
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
        Ok((total / tokens as f64) as f32)
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
                let invalid = |reason: String| TuningError::InvalidRecord { set, index, reason };
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
            assert!(matches!(error, TuningError::InvalidConfig(_)), "{error}");
        }
    }
}
