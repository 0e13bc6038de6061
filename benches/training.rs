//! What training costs: peak memory and time per step of both trainers, each run in a process
//! of its own so its peak RSS is its own.
//! - Classifier: all-MiniLM embeds the example sentiment set once, then a linear head trains
//!   with the API's defaults; held-out accuracy on the example test set.
//! - Classifier with all-MiniLM's last layer fine-tuned along (the layers below run once).
//! - Prompt tuning: SmolLM2-135M soft prompt (8 virtual tokens, TEXT init) on the example
//!   prompt-tuning set; validation loss before and after.
//!
//!     cargo bench --bench training    # writes its section of BENCHMARKS.md

mod common;

use common::ROOT;

use std::ops::ControlFlow;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskgate_modules::tuning::tuned_classifier;
use taskgate_modules::{ModelRegistry, ModelSpec, ModuleCatalog, ModuleSettings};
use taskgate_runtime::bert::{EmbeddingModel, Truncation};
use taskgate_runtime::gguf::{GgufTokenizer, read_content};
use taskgate_runtime::tuning::prompt::{
    PromptInit, PromptTuner, PromptTuningConfig, TrainableLlama, TrainingRecord,
};
use taskgate_runtime::tuning::{
    ClassifierHead, EncodedTexts, EpochReport, Features, HeadExamples, HeadSettings, StepReport,
    Trainable, TrainableEncoderTop, TrainingObserver,
};

const SECTION: &str = "training";
const CHILD_FLAG: &str = "--trainer";
const GGUF: &str = "models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

fn records(relative: &str) -> Vec<Value> {
    std::fs::read_to_string(Path::new(ROOT).join("examples/data").join(relative))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// VmHWM of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Times every step (from the previous step or epoch report, so validation is not counted).
#[derive(Default)]
struct Steps {
    last: Option<Instant>,
    times: Vec<Duration>,
}

impl Steps {
    fn tick(&mut self) {
        let now = Instant::now();
        if let Some(last) = self.last.replace(now) {
            self.times.push(now - last);
        }
    }

    fn median_ms(&mut self) -> f64 {
        self.times.sort();
        self.times
            .get(self.times.len() / 2)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
}

impl TrainingObserver for Steps {
    fn step(&mut self, _: &StepReport) -> ControlFlow<()> {
        self.tick();
        ControlFlow::Continue(())
    }

    fn epoch(&mut self, _: &EpochReport) -> ControlFlow<()> {
        self.last = Some(Instant::now());
        ControlFlow::Continue(())
    }
}

fn labelled(records: &[Value], vectors: Vec<Vec<f32>>) -> HeadExamples {
    let labels = records
        .iter()
        .map(|r| vec![usize::from(r["labels"][0] == "positive")])
        .collect();
    HeadExamples { vectors, labels }
}

fn classifier() -> Value {
    let mut spec = ModelSpec::new(
        "all-minilm",
        ModuleSettings::SentenceEmbeddings(Default::default()),
    );
    spec.path = Some(Path::new(ROOT).join("models/all-minilm"));
    let registry = ModelRegistry::new();
    registry
        .insert(ModuleCatalog::standard().build(&spec).unwrap())
        .unwrap();
    let (train, test) = (
        records("sentiment/train.jsonl"),
        records("sentiment/test.jsonl"),
    );
    let texts = |rs: &[Value]| -> Vec<String> {
        rs.iter()
            .map(|r| r["text"].as_str().unwrap().to_string())
            .collect()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let embed = |t: Vec<String>| {
        runtime
            .block_on(tuned_classifier::embed(
                &registry,
                "all-minilm",
                &t,
                Some(-1),
                "bench",
            ))
            .unwrap()
    };
    let train_vectors = embed(texts(&train));
    let embed_ms = started.elapsed().as_secs_f64() * 1e3 / train.len() as f64;
    let test_vectors = embed(texts(&test));
    let settings = HeadSettings {
        num_epochs: 40,
        learning_rate: 0.02,
        batch_size: 16,
        seed: 42,
        multi_label: false,
    };
    let mut steps = Steps::default();
    let started = Instant::now();
    let head = ClassifierHead::train(
        &settings,
        2,
        &labelled(&train, train_vectors),
        None,
        &mut steps,
    )
    .unwrap();
    let train_s = started.elapsed().as_secs_f64();
    let test_set = labelled(&test, test_vectors);
    let scores = head.probabilities(&test_set.vectors).unwrap();
    let right = scores
        .iter()
        .zip(&test_set.labels)
        .filter(|(s, l)| head.predicted_labels(s) == **l)
        .count();
    json!({"records": train.len(), "embed_ms_per_record": embed_ms, "steps": steps.times.len(),
        "step_ms": steps.median_ms(), "train_s": train_s,
        "accuracy": right as f64 / test.len() as f64, "peak_rss_mib": peak_rss_mib()})
}

/// The head with all-MiniLM's last layer fine-tuned along with it.
fn classifier_with_encoder() -> Value {
    let model = EmbeddingModel::load(&Path::new(ROOT).join("models/all-minilm")).unwrap();
    let encoder = model.forward.encoder();
    let top = TrainableEncoderTop::new(encoder, 1, model.pooling, model.normalize).unwrap();
    let encode = |rs: &[Value]| {
        let ids: Vec<Vec<u32>> = rs
            .iter()
            .map(|r| {
                let text = r["text"].as_str().unwrap();
                let tokens = model.tokenizer.encode(text, Truncation::ModelLimit);
                tokens.unwrap().sequence().ids
            })
            .collect();
        let labels = rs
            .iter()
            .map(|r| vec![usize::from(r["labels"][0] == "positive")])
            .collect();
        EncodedTexts {
            hidden: EncodedTexts::encode(encoder, top.first, &ids).unwrap(),
            labels,
            top: &top,
        }
    };
    let (train, test) = (
        records("sentiment/train.jsonl"),
        records("sentiment/test.jsonl"),
    );
    let started = Instant::now();
    let train_set = encode(&train);
    let encode_ms = started.elapsed().as_secs_f64() * 1e3 / train.len() as f64;
    let test_set = encode(&test);
    let settings = HeadSettings {
        num_epochs: 8,
        learning_rate: 0.02,
        batch_size: 16,
        seed: 42,
        multi_label: false,
    };
    let mut steps = Steps::default();
    let trainable = Trainable {
        vars: top.vars(),
        learning_rate: 5e-5,
    };
    let head =
        ClassifierHead::train_on(&settings, 2, &train_set, None, Some(trainable), &mut steps)
            .unwrap();
    let rows: Vec<usize> = (0..test.len()).collect();
    let vectors = test_set.rows(&rows).unwrap().to_vec2::<f32>().unwrap();
    let scores = head.probabilities(&vectors).unwrap();
    let right = scores
        .iter()
        .zip(&test_set.labels)
        .filter(|(s, l)| head.predicted_labels(s) == **l)
        .count();
    json!({"records": train.len(), "encode_ms_per_record": encode_ms,
        "steps": steps.times.len(), "step_ms": steps.median_ms(),
        "accuracy": right as f64 / test.len() as f64, "peak_rss_mib": peak_rss_mib()})
}

fn pairs(relative: &str) -> Vec<TrainingRecord> {
    records(relative)
        .iter()
        .map(|r| TrainingRecord {
            input: r["input"].as_str().unwrap().into(),
            output: r["output"].as_str().unwrap().into(),
        })
        .collect()
}

fn prompt_tuning() -> Value {
    let path = Path::new(ROOT).join(GGUF);
    let content = read_content(&path).unwrap();
    let tokenizer = GgufTokenizer::from_content(&content).unwrap();
    let model = TrainableLlama::from_content(&path, &content).unwrap();
    let config = PromptTuningConfig {
        num_virtual_tokens: 8,
        init: PromptInit::Text("Classify the sentiment of this review.".into()),
        verbalizer: "Review: {{input}}\nSentiment:".into(),
        num_epochs: 1,
        learning_rate: 0.03,
        batch_size: 4,
        seed: 42,
        ..Default::default()
    };
    let tuner = PromptTuner::new(&model, &tokenizer, config).unwrap();
    // A quarter of the set keeps the run to minutes on two cores; the cost per step is the same.
    let (train, validation) = (
        pairs("prompt-tuning/train.jsonl"),
        pairs("prompt-tuning/validation.jsonl"),
    );
    let (train, validation) = (
        &train[..train.len() / 4],
        &validation[..validation.len() / 2],
    );
    let mut steps = Steps::default();
    let outcome = tuner.train(train, validation, &mut steps).unwrap();
    let step_ms = steps.median_ms();
    let before = outcome.initial_validation_loss.unwrap_or(f64::NAN);
    let after = outcome
        .epochs
        .last()
        .and_then(|e| e.validation_loss)
        .unwrap_or(f64::NAN);
    json!({"records": train.len(), "steps": outcome.steps, "step_ms": step_ms,
        "batch_size": 4, "validation_loss_before": before, "validation_loss_after": after,
        "peak_rss_mib": peak_rss_mib()})
}

fn run_child(trainer: &str) -> Value {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([CHILD_FLAG, trainer])
        .output()
        .expect("the trainer process starts");
    assert!(
        output.status.success(),
        "{trainer}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, trainer] = &args[..]
        && flag == CHILD_FLAG
    {
        let result = match trainer.as_str() {
            "classifier" => classifier(),
            "classifier-encoder" => classifier_with_encoder(),
            _ => prompt_tuning(),
        };
        println!("{result}");
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        println!("benchmark not run: use `cargo bench --bench training`");
        return;
    }
    assert!(
        Path::new(ROOT).join(GGUF).exists(),
        "run scripts/fetch-models first"
    );
    let load_before = common::load_average();
    let c = run_child("classifier");
    let e = run_child("classifier-encoder");
    let p = run_child("prompt");
    let load_after = common::load_average();
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let body = format!(
        "## Training: peak memory and time per step\n\n\
`cargo bench --bench training`: each trainer in a process of its own (peak RSS is VmHWM of that process, model \
loading included), release build, this machine's 2 cores. Load average before / after: {load_before} / {load_after}.\n\n\
| trainer | records | steps | time per step | peak RSS (MiB) | quality |\n|---|---|---|---|---|---|\n\
| text classifier: head over all-MiniLM vectors (40 epochs, batch 16) | {} | {} | {:.3} ms (+ {:.1} ms per record to embed, once) | {:.0} | held-out accuracy {:.3} on 64 sentences |\n\
| text classifier: head + all-MiniLM's last layer (8 epochs, batch 16) | {} | {} | {:.1} ms (+ {:.1} ms per record through the frozen layers, once) | {:.0} | held-out accuracy {:.3} on 64 sentences |\n\
| prompt tuning: SmolLM2-135M soft prompt, 8 virtual tokens, batch {} | {} | {} | {:.0} ms | {:.0} (target < 2048) | validation loss {:.2} → {:.2} after one epoch |\n\n\
The prompt-tuning peak would be ~7 GB with candle's own matmul backward, which computes a full gradient for every \
frozen weight; taskgate's frozen linear op returns only the input gradient.\n",
        c["records"],
        c["steps"],
        f(&c["step_ms"]),
        f(&c["embed_ms_per_record"]),
        f(&c["peak_rss_mib"]),
        f(&c["accuracy"]),
        e["records"],
        e["steps"],
        f(&e["step_ms"]),
        f(&e["encode_ms_per_record"]),
        f(&e["peak_rss_mib"]),
        f(&e["accuracy"]),
        p["batch_size"],
        p["records"],
        p["steps"],
        f(&p["step_ms"]),
        f(&p["peak_rss_mib"]),
        f(&p["validation_loss_before"]),
        f(&p["validation_loss_after"]),
    );
    print!("{body}");
    common::write_section(SECTION, &body);
}
