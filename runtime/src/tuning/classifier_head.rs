//! A linear classification head over sentence vectors: logits = W·v + b, trained
//! ([`super::head_training`]) with AdamW on cross-entropy (one label per text) or per-label
//! logistic loss (multi-label). With the encoder frozen, each text is embedded once and a step
//! is a small matrix product: seconds on a CPU for thousands of records.

use std::path::Path;

use candle_core::{D, DType, Device, Tensor};

use super::TuningError;

#[derive(Debug, Clone, PartialEq)]
pub struct HeadSettings {
    pub num_epochs: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    /// The same seed, data and settings give the same weights.
    pub seed: u64,
    pub multi_label: bool,
}

/// Sentence vectors and, per vector, the indices of its labels (exactly one unless
/// multi-label).
#[derive(Debug, Clone, Default)]
pub struct HeadExamples {
    pub vectors: Vec<Vec<f32>>,
    pub labels: Vec<Vec<usize>>,
}

impl HeadExamples {
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct ClassifierHead {
    /// (labels, width)
    pub(super) weight: Tensor,
    /// (labels)
    pub(super) bias: Tensor,
    pub(super) multi_label: bool,
}

pub(super) struct Batch {
    pub vectors: Tensor,
    pub targets: Tensor,
}

pub(super) fn matrix(vectors: &[&Vec<f32>], width: usize) -> Result<Tensor, TuningError> {
    let flat: Vec<f32> = vectors.iter().flat_map(|v| v.iter().copied()).collect();
    Ok(Tensor::from_vec(
        flat,
        (vectors.len(), width),
        &Device::Cpu,
    )?)
}

impl ClassifierHead {
    fn logits(&self, vectors: &Tensor) -> Result<Tensor, TuningError> {
        Ok(vectors
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?)
    }

    pub(super) fn loss(&self, batch: &Batch) -> Result<Tensor, TuningError> {
        let logits = self.logits(&batch.vectors)?;
        if !self.multi_label {
            return Ok(candle_nn::loss::cross_entropy(&logits, &batch.targets)?);
        }
        // max(x, 0) - x·t + log(1 + e^-|x|): the logistic loss without overflow for large |x|.
        let softplus = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
        let loss = ((logits.relu()? - (&logits * &batch.targets)?)? + softplus)?;
        Ok(loss.mean_all()?)
    }

    /// Mean loss and accuracy (exact label set for multi-label) on `examples`.
    /// The label indices a model with these scores answers, ascending.
    pub fn predicted_labels(&self, scores: &[f32]) -> Vec<usize> {
        if self.multi_label {
            return (0..scores.len()).filter(|&i| scores[i] >= 0.5).collect();
        }
        let best = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        vec![best]
    }

    pub(super) fn probabilities_of(&self, vectors: &Tensor) -> Result<Vec<Vec<f32>>, TuningError> {
        let logits = self.logits(vectors)?;
        let scores = if self.multi_label {
            candle_nn::ops::sigmoid(&logits)?
        } else {
            candle_nn::ops::softmax(&logits, D::Minus1)?
        };
        Ok(scores.to_vec2()?)
    }

    /// Per vector, one score per label: softmax, or a sigmoid per label when multi-label.
    pub fn probabilities(&self, vectors: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, TuningError> {
        let width = self.width();
        if let Some(bad) = vectors.iter().find(|v| v.len() != width) {
            return Err(TuningError::Invalid(format!(
                "the head takes vectors of {width} values, got {}",
                bad.len()
            )));
        }
        let rows: Vec<&Vec<f32>> = vectors.iter().collect();
        self.probabilities_of(&matrix(&rows, width)?)
    }

    pub fn width(&self) -> usize {
        self.weight.dims()[1]
    }

    pub fn label_count(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn multi_label(&self) -> bool {
        self.multi_label
    }

    /// Writes the weights as safetensors (`weight`, `bias`).
    pub fn save(&self, path: &Path) -> Result<(), TuningError> {
        let tensors = [("weight", self.weight.clone()), ("bias", self.bias.clone())];
        candle_core::safetensors::save(&tensors.into_iter().collect(), path)
            .map_err(|e| TuningError::Failed(format!("saving {}: {e}", path.display())))
    }

    pub fn load(path: &Path, multi_label: bool) -> Result<Self, TuningError> {
        let read = |reason: String| TuningError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let mut tensors =
            candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| read(e.to_string()))?;
        let mut take = |name: &str| {
            tensors
                .remove(name)
                .ok_or_else(|| read(format!("no tensor `{name}`")))
        };
        let (weight, bias) = (take("weight")?, take("bias")?);
        let fits = weight.rank() == 2 && bias.dims() == [weight.dims()[0]];
        if !fits || weight.dtype() != DType::F32 || bias.dtype() != DType::F32 {
            return Err(read(format!(
                "expected f32 weight (labels, width) and bias (labels), got {:?} and {:?}",
                weight.shape(),
                bias.shape()
            )));
        }
        Ok(Self {
            weight,
            bias,
            multi_label,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;
    use crate::tuning::{EpochReport, StepReport, TrainingObserver};

    /// Records whose label is which of `label_count` directions their vector leans to.
    fn leaning(count: usize, label_count: usize, seed: u64) -> HeadExamples {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut examples = HeadExamples::default();
        for i in 0..count {
            let label = i % label_count;
            let mut vector: Vec<f32> = (0..8).map(|_| rng.random_range(-0.3..0.3)).collect();
            vector[label] += 1.0;
            examples.vectors.push(vector);
            examples.labels.push(vec![label]);
        }
        examples
    }

    fn settings(multi_label: bool) -> HeadSettings {
        HeadSettings {
            num_epochs: 30,
            learning_rate: 0.05,
            batch_size: 8,
            seed: 7,
            multi_label,
        }
    }

    #[derive(Default)]
    struct Recorder {
        steps: Vec<StepReport>,
        epochs: Vec<EpochReport>,
        stop_at_step: Option<usize>,
    }

    impl TrainingObserver for Recorder {
        fn step(&mut self, report: &StepReport) -> ControlFlow<()> {
            self.steps.push(*report);
            match self.stop_at_step {
                Some(n) if report.step >= n => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        }

        fn epoch(&mut self, report: &EpochReport) -> ControlFlow<()> {
            self.epochs.push(*report);
            ControlFlow::Continue(())
        }
    }

    #[test]
    fn a_head_learns_separable_classes_and_reports_progress() {
        let (train, held_out) = (leaning(60, 3, 1), leaning(30, 3, 2));
        let mut recorder = Recorder::default();
        let head =
            ClassifierHead::train(&settings(false), 3, &train, Some(&held_out), &mut recorder)
                .unwrap();
        assert_eq!(recorder.steps.len(), 30 * 8);
        assert_eq!(recorder.steps.last().unwrap().total_steps, 240);
        // Epoch 0 is the untrained head.
        let epochs: Vec<usize> = recorder.epochs.iter().map(|e| e.epoch).collect();
        assert_eq!(epochs, (0..=30).collect::<Vec<_>>());
        let first = recorder.epochs.first().unwrap().validation_loss.unwrap();
        let last = recorder.epochs.last().unwrap();
        assert!(
            last.validation_loss.unwrap() < first / 2.0,
            "{first} → {last:?}"
        );
        assert_eq!(last.validation_accuracy, Some(1.0));
        let scores = head.probabilities(&held_out.vectors).unwrap();
        assert!((scores[0].iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(head.predicted_labels(&scores[4]), held_out.labels[4]);
    }

    #[test]
    fn multi_label_heads_score_each_label_on_its_own() {
        let mut train = leaning(80, 4, 3);
        // Label 3 also marks every record leaning to 0.
        for (vector, labels) in train.vectors.iter_mut().zip(&mut train.labels) {
            if labels[0] == 0 {
                labels.push(3);
                vector[3] += 1.0;
            }
        }
        let head = ClassifierHead::train(
            &settings(true),
            4,
            &train,
            Some(&train),
            &mut Recorder::default(),
        )
        .unwrap();
        let scores = head.probabilities(&train.vectors[..4]).unwrap();
        assert_eq!(head.predicted_labels(&scores[0]), vec![0, 3]);
        assert_eq!(head.predicted_labels(&scores[1]), vec![1]);
    }

    #[test]
    fn the_same_seed_gives_the_same_weights_and_they_survive_a_round_trip() {
        let train = leaning(40, 2, 4);
        let dir = std::env::temp_dir().join(format!("taskgate-head-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut saved = Vec::new();
        for (i, seed) in [5, 5, 6].into_iter().enumerate() {
            let settings = HeadSettings {
                seed,
                ..settings(false)
            };
            let head = ClassifierHead::train(&settings, 2, &train, None, &mut Recorder::default())
                .unwrap();
            let path = dir.join(format!("head-{i}.safetensors"));
            head.save(&path).unwrap();
            saved.push(std::fs::read(&path).unwrap());
            let loaded = ClassifierHead::load(&path, false).unwrap();
            assert_eq!(
                loaded.probabilities(&train.vectors).unwrap(),
                head.probabilities(&train.vectors).unwrap()
            );
        }
        assert_eq!(saved[0], saved[1]);
        assert_ne!(saved[0], saved[2]);
    }

    #[test]
    fn an_observer_stops_training_within_one_step() {
        let mut recorder = Recorder {
            stop_at_step: Some(3),
            ..Default::default()
        };
        let error =
            ClassifierHead::train(&settings(false), 2, &leaning(40, 2, 5), None, &mut recorder)
                .unwrap_err();
        assert!(matches!(error, TuningError::Canceled));
        assert_eq!(recorder.steps.len(), 3);
    }

    #[test]
    fn bad_examples_are_refused_by_record() {
        let mut train = leaning(10, 2, 6);
        train.labels[4] = vec![2];
        let error =
            ClassifierHead::train(&settings(false), 2, &train, None, &mut Recorder::default())
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "training data: record 4 has label index 2 of 2"
        );
        let mut train = leaning(10, 2, 6);
        train.vectors[2].pop();
        let error =
            ClassifierHead::train(&settings(false), 2, &train, None, &mut Recorder::default())
                .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("record 2 has a vector of 7 values"),
            "{error}"
        );
    }
}
