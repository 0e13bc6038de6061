use std::ops::ControlFlow;

/// After one optimizer step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// 1-based.
    pub epoch: usize,
    pub num_epochs: usize,
    /// 1-based, counted over the whole run.
    pub step: usize,
    pub total_steps: usize,
    /// Mean training loss of the step's batch.
    pub loss: f64,
}

/// After one pass over the training data, measured on the validation data when there is some;
/// epoch 0 is the model before training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    pub num_epochs: usize,
    pub validation_loss: Option<f64>,
    /// Share of validation records classified right (classifiers only).
    pub validation_accuracy: Option<f64>,
}

/// Watches a training run; `Break` stops it before its next step.
pub trait TrainingObserver {
    fn step(&mut self, report: &StepReport) -> ControlFlow<()>;
    fn epoch(&mut self, report: &EpochReport) -> ControlFlow<()>;
}

/// Watches nothing and never stops a run.
impl TrainingObserver for () {
    fn step(&mut self, _report: &StepReport) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn epoch(&mut self, _report: &EpochReport) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}
