//! Prompt tuning end to end on the real SmolLM2 weights (skipped when they are absent).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::examples::Encoder;
use super::*;
use crate::gguf::GgufTokenizer;
use crate::test_models::smollm2_gguf;
use crate::tuning::{EpochReport, StepReport, TrainingObserver, TuningError};

fn record(input: &str, output: &str) -> TrainingRecord {
    TrainingRecord {
        input: input.into(),
        output: output.into(),
    }
}

fn training_records() -> Vec<TrainingRecord> {
    vec![
        record("Great battery, works perfectly.", "positive"),
        record("Broke after two days.", "negative"),
        record("I love how light it is.", "positive"),
        record("Terrible sound, very disappointed.", "negative"),
        record("Fast shipping and excellent quality.", "positive"),
        record("The screen cracked immediately.", "negative"),
        record("Best purchase this year.", "positive"),
        record("Waste of money, it never worked.", "negative"),
    ]
}

fn validation_records() -> Vec<TrainingRecord> {
    vec![
        record("Comfortable and well made.", "positive"),
        record("It stopped charging in a week.", "negative"),
        record("Works great, highly recommend.", "positive"),
        record("Cheap plastic, awful fit.", "negative"),
    ]
}

fn config() -> PromptTuningConfig {
    PromptTuningConfig {
        num_virtual_tokens: 8,
        init: PromptInit::Text("Classify the sentiment of this review:".into()),
        verbalizer: "Review: {{input}}\nSentiment:".into(),
        num_epochs: 3,
        learning_rate: 0.03,
        batch_size: 4,
        seed: 42,
        max_source_length: 64,
        max_target_length: 4,
    }
}

/// Peak resident set of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Records the reports and the time spent in steps, and stops after `stop_after` steps when
/// set.
struct Recorder {
    steps: Vec<StepReport>,
    epochs: Vec<EpochReport>,
    stop_after: Option<usize>,
    /// The last callback: time from it to the next `on_step` is one step, and time to the next
    /// `on_epoch` is validation.
    last: Instant,
    step_time: Duration,
}

impl Recorder {
    fn new(stop_after: Option<usize>) -> Self {
        Self {
            steps: Vec::new(),
            epochs: Vec::new(),
            stop_after,
            last: Instant::now(),
            step_time: Duration::ZERO,
        }
    }
}

impl TrainingObserver for Recorder {
    fn step(&mut self, report: &StepReport) -> ControlFlow<()> {
        self.step_time += self.last.elapsed();
        self.last = Instant::now();
        self.steps.push(*report);
        match self.stop_after {
            Some(n) if report.step >= n => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn epoch(&mut self, report: &EpochReport) -> ControlFlow<()> {
        self.last = Instant::now();
        self.epochs.push(*report);
        ControlFlow::Continue(())
    }
}

/// Loads the model once; the checks share it so the heavy load and the training run are not
/// repeated by parallel tests.
#[test]
fn prompt_tuning_learns_labels_reproducibly() {
    let Some(path) = smollm2_gguf("prompt_tuning_learns_labels_reproducibly") else {
        return;
    };
    let _memory = crate::test_models::alone_for_the_memory_bound();
    let ct = crate::gguf::read_content(&path).unwrap();
    let tokenizer = GgufTokenizer::from_content(&ct).unwrap();
    let model = TrainableLlama::from_content(&path, &ct).unwrap();
    let tuner = PromptTuner::new(&model, &tokenizer, config()).unwrap();
    let (train, validation) = (training_records(), validation_records());

    let before = tuner
        .loss(&tuner.initial_prompt().unwrap(), &validation)
        .unwrap();
    let started = Instant::now();
    let mut observer = Recorder::new(None);
    let outcome = tuner.train(&train, &validation, &mut observer).unwrap();
    let total = started.elapsed().as_secs_f64();
    let seconds_per_step = observer.step_time.as_secs_f64() / outcome.steps as f64;
    let after = outcome.epochs.last().unwrap().validation_loss.unwrap();
    let peak = peak_rss_mib();
    eprintln!(
        "validation loss {before:.3} -> {after:.3}; {} steps of 4 records: {seconds_per_step:.2} \
         s/step, {total:.1} s with validation; peak RSS {peak:.0?} MiB (whole process); {:?}",
        outcome.steps, outcome.epochs
    );

    // 8 records in batches of 4 for 3 epochs.
    assert_eq!(outcome.steps, 6);
    let steps: Vec<_> = observer.steps.iter().map(|s| (s.epoch, s.step)).collect();
    assert_eq!(steps, [(1, 1), (1, 2), (2, 3), (2, 4), (3, 5), (3, 6)]);
    assert!(
        observer
            .steps
            .iter()
            .all(|s| (s.total_steps, s.num_epochs) == (6, 3))
    );
    // The initial prompt's loss is reported as epoch 0, before any step.
    assert_eq!(observer.epochs[0].epoch, 0);
    assert_eq!(observer.epochs[0].validation_loss, Some(before));
    assert_eq!(outcome.initial_validation_loss, Some(before));
    assert_eq!(observer.epochs[1..], outcome.epochs);
    assert!(
        after <= 0.5 * before,
        "validation loss fell from {before} to {after} only"
    );
    // The returned prompt is the one the last validation loss was measured on.
    let recomputed = tuner.loss(&outcome.prompt, &validation).unwrap();
    assert!((recomputed - after).abs() < 1e-4, "{recomputed} vs {after}");
    if let Some(peak) = peak {
        assert!(peak < 2048.0, "peak RSS {peak:.0} MiB");
    }

    // The same seed gives the same bytes.
    let dir = std::env::temp_dir().join(format!("taskgate-ptune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (first, second) = (
        dir.join("first.safetensors"),
        dir.join("second.safetensors"),
    );
    outcome.prompt.save(&first).unwrap();
    // Validation only reads the prompt, so the second run skips it.
    let again = tuner.train(&train, &[], &mut ()).unwrap();
    again.prompt.save(&second).unwrap();
    let same = std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap();
    let loaded = SoftPrompt::load(&first).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(same, "two runs with seed 42 saved different prompts");
    assert_eq!(loaded.num_virtual_tokens(), 8);
    assert_eq!(loaded.verbalizer, config().verbalizer);

    // A stop request ends training right after the step that asked.
    let mut stopper = Recorder::new(Some(1));
    let stopped = tuner.train(&train, &[], &mut stopper).unwrap_err();
    assert!(matches!(stopped, TuningError::Canceled), "{stopped}");
    assert_eq!(stopper.steps.len(), 1);
    // Without validation records, epoch 0 reports no loss.
    assert_eq!(stopper.epochs.len(), 1);
    assert_eq!(stopper.epochs[0].validation_loss, None);
}

/// A different seed gives a different random prompt; the same seed the same one.
#[test]
fn random_init_follows_the_seed() {
    let Some(path) = smollm2_gguf("random_init_follows_the_seed") else {
        return;
    };
    let _memory = crate::test_models::beside_the_memory_bound();
    let ct = crate::gguf::read_content(&path).unwrap();
    let tokenizer = GgufTokenizer::from_content(&ct).unwrap();
    let model = TrainableLlama::from_content(&path, &ct).unwrap();
    let prompt = |seed| {
        let config = PromptTuningConfig {
            seed,
            num_virtual_tokens: 3,
            ..PromptTuningConfig::default()
        };
        PromptTuner::new(&model, &tokenizer, config)
            .unwrap()
            .initial_prompt()
            .unwrap()
            .embeddings
            .to_vec2::<f32>()
            .unwrap()
    };
    let first = prompt(1);
    assert_eq!(first.len(), 3);
    assert_eq!(first[0].len(), model.hidden_size());
    assert_eq!(first, prompt(1));
    assert_ne!(first, prompt(2));
}

#[test]
fn long_inputs_are_cut_inside_the_verbalizer() {
    let Some(path) = smollm2_gguf("long_inputs_are_cut_inside_the_verbalizer") else {
        return;
    };
    let _memory = crate::test_models::beside_the_memory_bound();
    let tokenizer =
        GgufTokenizer::from_content(&crate::gguf::read_content(&path).unwrap()).unwrap();
    let verbalizer = "Review: {{input}}\nSentiment:";
    let encoder = |max_source_length| Encoder {
        tokenizer: &tokenizer,
        verbalizer,
        max_source_length,
        max_target_length: 2,
    };
    let input = "one two three four five six seven eight nine ten";
    let whole = encoder(100)
        .encode(input, "positive negative positive")
        .unwrap();
    let cue = tokenizer.encode("\nSentiment:").unwrap();
    assert!(whole.source.ends_with(&cue));
    // Outputs keep their first two tokens, then EOS.
    assert_eq!(whole.target.len(), 3);
    assert_eq!(whole.target.last(), Some(&tokenizer.eos_id));

    let limit = whole.source.len() - 4;
    let cut = encoder(limit).encode(input, "positive").unwrap();
    assert!(cut.source.len() <= limit, "{} > {limit}", cut.source.len());
    assert!(cut.source.len() >= limit - 1, "cut more than needed");
    assert!(
        cut.source.ends_with(&cue),
        "the cue after the input was lost"
    );
    let text = tokenizer.decode(&cut.source).unwrap();
    assert!(text.starts_with("Review: one two"), "{text}");

    let error = encoder(2).encode(input, "positive").unwrap_err();
    assert!(error.contains("verbalizer alone"), "{error}");
}
