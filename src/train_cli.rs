//! `taskgate train`: submits a training job to a running server with the records of a local
//! file (sent inline, so the server needs no access to it) and follows the job's progress
//! stream with a progress bar until it ends.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use futures::StreamExt;
use serde_json::Value;
use taskgate_modules::tuning::DataLimits;
use taskgate_modules::tuning::data_stream::{TrainRecord, read_local_file};
use taskgate_schemas::{
    ClassifierTrainParameters, ClassifierTrainRequest, DataStream, DataStreamSource, InlineRecords,
    PromptTuningTrainParameters, PromptTuningTrainRequest, TuningConfig,
};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum TrainTask {
    /// A text classifier: a head over a served embedding model (`{text, labels}` records).
    Classifier,
    /// A soft prompt for a served in-process text-generation model (`{input, output}` records).
    PromptTuning,
}

impl TrainTask {
    fn route(self) -> &'static str {
        match self {
            Self::Classifier => "/api/v1/TextClassificationTaskClassifierTrain",
            Self::PromptTuning => "/api/v1/TextGenerationTaskPeftPromptTuningTrain",
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
    /// The server's HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    #[arg(long, value_enum)]
    task: TrainTask,
    /// The id the trained model is served under.
    #[arg(long)]
    model_name: String,
    /// The served model to train on top of.
    #[arg(long)]
    base_model: String,
    /// Training records: a .jsonl, .json or .csv file.
    #[arg(long)]
    data: PathBuf,
    /// Validation records (same formats); without them the server holds out `--validation-split`.
    #[arg(long)]
    validation: Option<PathBuf>,
    #[arg(long)]
    validation_split: Option<f64>,
    #[arg(long)]
    epochs: Option<u32>,
    #[arg(long)]
    learning_rate: Option<f64>,
    #[arg(long)]
    batch_size: Option<u32>,
    #[arg(long)]
    seed: Option<u64>,
    /// Classifier: several labels per record, each scored on its own.
    #[arg(long)]
    multi_label: bool,
    /// Classifier: also fine-tune the last this many layers of the base model's encoder.
    #[arg(long)]
    tune_encoder_layers: Option<u32>,
    /// Classifier: the tuned encoder layers' learning rate.
    #[arg(long)]
    encoder_learning_rate: Option<f64>,
    /// Prompt tuning: rows of the soft prompt.
    #[arg(long)]
    num_virtual_tokens: Option<u32>,
    /// Prompt tuning: start the soft prompt from this text's embeddings (random otherwise).
    #[arg(long)]
    init_text: Option<String>,
    /// Prompt tuning: the template inputs are written into; must contain {{input}}.
    #[arg(long)]
    verbalizer: Option<String>,
    /// Prompt tuning: most tokens of a verbalized input.
    #[arg(long)]
    max_source_length: Option<u32>,
    /// Prompt tuning: most tokens of an output.
    #[arg(long)]
    max_target_length: Option<u32>,
}

fn inline_records<R: TrainRecord>(path: &Path) -> anyhow::Result<DataStreamSource<R>> {
    let limits = DataLimits {
        data_dir: None,
        max_records: usize::MAX,
        max_file_bytes: u64::MAX,
    };
    let data = read_local_file(path, &limits).map_err(anyhow::Error::msg)?;
    Ok(DataStreamSource {
        data_stream: DataStream::Inline(InlineRecords { data }),
    })
}

/// The request's JSON; unset options are left out, so the server's defaults apply.
fn request(args: &TrainArgs) -> anyhow::Result<Value> {
    let typed = match args.task {
        TrainTask::Classifier => serde_json::to_value(classifier_request(args)?),
        TrainTask::PromptTuning => serde_json::to_value(prompt_tuning_request(args)?),
    };
    Ok(typed?)
}

fn classifier_request(args: &TrainArgs) -> anyhow::Result<ClassifierTrainRequest> {
    Ok(ClassifierTrainRequest {
        model_name: args.model_name.clone(),
        parameters: ClassifierTrainParameters {
            base_model: args.base_model.clone(),
            train_stream: inline_records(&args.data)?,
            val_stream: args.validation.as_deref().map(inline_records).transpose()?,
            validation_split: args.validation_split,
            num_epochs: args.epochs,
            learning_rate: args.learning_rate,
            batch_size: args.batch_size,
            seed: args.seed,
            multi_label: args.multi_label.then_some(true),
            tune_encoder_layers: args.tune_encoder_layers,
            encoder_learning_rate: args.encoder_learning_rate,
        },
    })
}

fn prompt_tuning_request(args: &TrainArgs) -> anyhow::Result<PromptTuningTrainRequest> {
    let classifier_only = args.validation_split.is_some()
        || args.multi_label
        || args.tune_encoder_layers.is_some()
        || args.encoder_learning_rate.is_some();
    if classifier_only {
        bail!(
            "--validation-split, --multi-label, --tune-encoder-layers and \
             --encoder-learning-rate are for --task classifier"
        );
    }
    let tuning = TuningConfig {
        num_virtual_tokens: args.num_virtual_tokens,
        prompt_tuning_init_method: None,
        prompt_tuning_init_text: args.init_text.clone(),
    };
    Ok(PromptTuningTrainRequest {
        model_name: args.model_name.clone(),
        parameters: PromptTuningTrainParameters {
            base_model: args.base_model.clone(),
            train_stream: inline_records(&args.data)?,
            val_stream: args.validation.as_deref().map(inline_records).transpose()?,
            tuning_config: (tuning != TuningConfig::default()).then_some(tuning),
            tuning_type: None,
            num_epochs: args.epochs,
            learning_rate: args.learning_rate,
            verbalizer: args.verbalizer.clone(),
            batch_size: args.batch_size,
            max_source_length: args.max_source_length,
            max_target_length: args.max_target_length,
            seed: args.seed,
        },
    })
}

/// One line of progress, redrawn in place.
fn draw(status: &Value) {
    let p = &status["progress"];
    let (step, total) = (
        p["step"].as_u64().unwrap_or(0),
        p["total_steps"].as_u64().unwrap_or(0),
    );
    let filled = (step * 30).checked_div(total).unwrap_or(0).min(30) as usize;
    let loss = p["loss"]
        .as_f64()
        .map_or(String::new(), |l| format!(" loss {l:.4}"));
    let validation_loss = p["validation_loss"]
        .as_f64()
        .map_or(String::new(), |l| format!(" val loss {l:.4}"));
    let accuracy = p["validation_accuracy"]
        .as_f64()
        .map_or(String::new(), |a| format!(" val acc {a:.3}"));
    eprint!(
        "\r[{}{}] {} epoch {}/{} step {step}/{total}{loss}{validation_loss}{accuracy}   ",
        "#".repeat(filled),
        "-".repeat(30 - filled),
        status["state"].as_str().unwrap_or("?"),
        p["epoch"],
        p["num_epochs"],
    );
    let _ = std::io::stderr().flush();
}

pub async fn train(args: TrainArgs) -> anyhow::Result<()> {
    let body = request(&args).with_context(|| format!("reading {}", args.data.display()))?;
    taskgate_runtime::remote::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let server = args.server.trim_end_matches('/');
    let response = client
        .post(format!("{server}{}", args.task.route()))
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach {server}"))?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .context("the server's answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "the server refused the job ({status}): {}",
            answer["details"].as_str().unwrap_or_default()
        );
    }
    let training_id = answer["training_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    eprintln!("training {} as {training_id}", args.model_name);
    let events = client
        .get(format!(
            "{server}/management/trainings/events?training_id={training_id}"
        ))
        .send()
        .await?
        .error_for_status()?;
    let mut bytes = events.bytes_stream();
    let (mut buffer, mut last) = (String::new(), Value::Null);
    while let Some(chunk) = bytes.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                last = serde_json::from_str(data.trim()).context("an unreadable progress event")?;
                draw(&last);
            }
        }
    }
    eprintln!();
    match last["state"].as_str() {
        Some("COMPLETED") => {
            println!(
                "COMPLETED: model '{}' is served (training {training_id})",
                args.model_name
            );
            Ok(())
        }
        Some(state) => bail!("training {training_id} ended {state}: {}", last["reasons"]),
        None => bail!("the progress stream of training {training_id} ended without a state"),
    }
}
