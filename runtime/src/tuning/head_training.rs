//! Training a [`ClassifierHead`]: over fixed sentence vectors ([`HeadExamples`]), or over
//! features that trainable layers compute ([`Features`] with their variables), so the same loop
//! fine-tunes the top of an encoder together with the head.

use std::ops::ControlFlow;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::classifier_head::{Batch, matrix};
use super::{
    ClassifierHead, EpochReport, HeadExamples, HeadSettings, StepReport, TrainingObserver,
    TuningError,
};

/// What the head classifies: one feature row per record, and each record's label indices.
pub trait Features {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Values per feature row.
    fn width(&self) -> usize;
    fn labels(&self) -> &[Vec<usize>];
    /// `(rows.len(), width)` features of `rows`; differentiable in the trained variables.
    fn rows(&self, rows: &[usize]) -> Result<Tensor, TuningError>;
}

impl Features for HeadExamples {
    fn len(&self) -> usize {
        self.vectors.len()
    }

    fn width(&self) -> usize {
        self.vectors.first().map_or(0, Vec::len)
    }

    fn labels(&self) -> &[Vec<usize>] {
        &self.labels
    }

    fn rows(&self, rows: &[usize]) -> Result<Tensor, TuningError> {
        let vectors: Vec<&Vec<f32>> = rows.iter().map(|&i| &self.vectors[i]).collect();
        matrix(&vectors, self.width())
    }
}

/// Variables trained along with the head, at their own learning rate (pretrained layers want
/// a far smaller step than a new head).
pub struct Trainable {
    pub vars: Vec<Var>,
    pub learning_rate: f64,
}

fn adamw(vars: Vec<Var>, learning_rate: f64) -> Result<AdamW, TuningError> {
    Ok(AdamW::new(
        vars,
        ParamsAdamW {
            lr: learning_rate,
            ..Default::default()
        },
    )?)
}

impl ClassifierHead {
    /// Trains a head for `label_count` labels on `train`, reporting each step and epoch; the
    /// untrained head's validation is reported as epoch 0.
    pub fn train(
        settings: &HeadSettings,
        label_count: usize,
        train: &HeadExamples,
        validation: Option<&HeadExamples>,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Self, TuningError> {
        check_vectors("training", train)?;
        if let Some(validation) = validation.filter(|v| !v.is_empty()) {
            check_vectors("validation", validation)?;
        }
        Self::train_on(
            settings,
            label_count,
            train,
            validation.map(|v| v as &dyn Features),
            None,
            observer,
        )
    }

    /// Trains a head on `train`'s features, and `trainable` (the variables those features
    /// are computed with) along with it.
    pub fn train_on(
        settings: &HeadSettings,
        label_count: usize,
        train: &dyn Features,
        validation: Option<&dyn Features>,
        trainable: Option<Trainable>,
        observer: &mut dyn TrainingObserver,
    ) -> Result<Self, TuningError> {
        let width = check_labels("training", train, label_count, settings.multi_label)?;
        let validation = validation.filter(|v| !v.is_empty());
        if let Some(validation) = validation {
            let other = check_labels("validation", validation, label_count, settings.multi_label)?;
            if other != width {
                return Err(TuningError::Invalid(format!(
                    "validation vectors have {other} values, training vectors {width}"
                )));
            }
        }
        if settings.num_epochs == 0 || settings.batch_size == 0 {
            return Err(TuningError::Invalid(
                "num_epochs and batch_size must be at least 1".into(),
            ));
        }
        let mut rng = StdRng::seed_from_u64(settings.seed);
        // PyTorch's nn.Linear initialisation, from the seeded generator.
        let bound = 1.0 / (width as f32).sqrt();
        let initial: Vec<f32> = (0..label_count * width)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let weight = Var::from_tensor(&Tensor::from_vec(
            initial,
            (label_count, width),
            &Device::Cpu,
        )?)?;
        let bias = Var::from_tensor(&Tensor::zeros(label_count, DType::F32, &Device::Cpu)?)?;
        let mut optimizer = adamw(vec![weight.clone(), bias.clone()], settings.learning_rate)?;
        let mut others = trainable
            .map(|t| adamw(t.vars, t.learning_rate))
            .transpose()?;
        let mut head = Self {
            weight: weight.as_tensor().clone(),
            bias: bias.as_tensor().clone(),
            multi_label: settings.multi_label,
        };
        let batches_per_epoch = train.len().div_ceil(settings.batch_size);
        let total_steps = batches_per_epoch * settings.num_epochs;
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut step = 0;
        let evaluate = |head: &Self, epoch| -> Result<EpochReport, TuningError> {
            let (validation_loss, validation_accuracy) = match validation {
                Some(validation) => {
                    let (loss, accuracy) = head.evaluate(validation, label_count, settings)?;
                    (Some(loss), Some(accuracy))
                }
                None => (None, None),
            };
            Ok(EpochReport {
                epoch,
                num_epochs: settings.num_epochs,
                validation_loss,
                validation_accuracy,
            })
        };
        if observer.epoch(&evaluate(&head, 0)?).is_break() {
            return Err(TuningError::Canceled);
        }
        for epoch in 1..=settings.num_epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(settings.batch_size) {
                let batch = head.batch(train, chunk, label_count)?;
                let loss = head.loss(&batch)?;
                let grads = loss.backward()?;
                optimizer.step(&grads)?;
                if let Some(others) = &mut others {
                    others.step(&grads)?;
                }
                step += 1;
                let report = StepReport {
                    epoch,
                    num_epochs: settings.num_epochs,
                    step,
                    total_steps,
                    loss: f64::from(loss.to_scalar::<f32>()?),
                };
                if observer.step(&report).is_break() {
                    return Err(TuningError::Canceled);
                }
            }
            if let ControlFlow::Break(()) = observer.epoch(&evaluate(&head, epoch)?) {
                return Err(TuningError::Canceled);
            }
        }
        head.weight = weight.as_tensor().detach();
        head.bias = bias.as_tensor().detach();
        Ok(head)
    }

    fn batch(
        &self,
        examples: &dyn Features,
        rows: &[usize],
        label_count: usize,
    ) -> Result<Batch, TuningError> {
        let labels = examples.labels();
        let targets = if self.multi_label {
            let mut hot = vec![0f32; rows.len() * label_count];
            for (row, &i) in rows.iter().enumerate() {
                for &label in &labels[i] {
                    hot[row * label_count + label] = 1.0;
                }
            }
            Tensor::from_vec(hot, (rows.len(), label_count), &Device::Cpu)?
        } else {
            let classes: Vec<u32> = rows.iter().map(|&i| labels[i][0] as u32).collect();
            Tensor::new(classes, &Device::Cpu)?
        };
        Ok(Batch {
            vectors: examples.rows(rows)?,
            targets,
        })
    }

    /// Mean loss and accuracy (exact label set for multi-label) on `examples`, a batch at a
    /// time (computed features can be large).
    fn evaluate(
        &self,
        examples: &dyn Features,
        label_count: usize,
        settings: &HeadSettings,
    ) -> Result<(f64, f64), TuningError> {
        let all: Vec<usize> = (0..examples.len()).collect();
        let (mut loss, mut right) = (0.0, 0);
        for rows in all.chunks(settings.batch_size.max(1)) {
            let mut batch = self.batch(examples, rows, label_count)?;
            // Measuring only: no backward graph is kept through computed features.
            batch.vectors = batch.vectors.detach();
            loss += f64::from(self.loss(&batch)?.to_scalar::<f32>()?) * rows.len() as f64;
            let predicted = self.probabilities_of(&batch.vectors)?;
            right += predicted
                .iter()
                .zip(rows)
                .filter(|(scores, i)| self.predicted_labels(scores) == examples.labels()[**i])
                .count();
        }
        let count = examples.len() as f64;
        Ok((loss / count, right as f64 / count))
    }
}

/// Every vector of `examples` has the same, non-zero width, and one label set.
fn check_vectors(what: &str, examples: &HeadExamples) -> Result<(), TuningError> {
    let invalid = |reason: String| Err(TuningError::Invalid(format!("{what} data: {reason}")));
    if examples.labels.len() != examples.vectors.len() {
        return invalid("one label set per vector is needed".into());
    }
    let width = examples.width();
    for (i, vector) in examples.vectors.iter().enumerate() {
        if vector.len() != width || width == 0 {
            return invalid(format!(
                "record {i} has a vector of {} values, not {width}",
                vector.len()
            ));
        }
    }
    Ok(())
}

/// The feature width, after checking every record's labels against the count.
fn check_labels(
    what: &str,
    examples: &dyn Features,
    label_count: usize,
    multi_label: bool,
) -> Result<usize, TuningError> {
    let invalid = |reason: String| Err(TuningError::Invalid(format!("{what} data: {reason}")));
    if examples.is_empty() {
        return invalid("no records".into());
    }
    if examples.labels().len() != examples.len() {
        return invalid("one label set per record is needed".into());
    }
    if label_count < 2 && !multi_label {
        return invalid("at least two labels are needed".into());
    }
    for (i, labels) in examples.labels().iter().enumerate() {
        if !multi_label && labels.len() != 1 {
            return invalid(format!(
                "record {i} needs exactly one label, has {}",
                labels.len()
            ));
        }
        if let Some(bad) = labels.iter().find(|&&l| l >= label_count) {
            return invalid(format!("record {i} has label index {bad} of {label_count}"));
        }
    }
    Ok(examples.width())
}
