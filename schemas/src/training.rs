//! Training: the Caikit train request envelope, data streams, training records, and the status
//! of a training job.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One labelled text for classifier training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassificationTrainRecord {
    #[schema(example = "The battery lasts all day.", min_length = 1)]
    pub text: String,
    /// One label, or several for a multi-label classifier.
    #[schema(example = json!(["positive"]), min_items = 1)]
    pub labels: Vec<String>,
}

/// One prompt and the answer the tuned model should give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerationTrainRecord {
    #[schema(example = "The battery lasts all day.", min_length = 1)]
    pub input: String,
    #[schema(example = "positive", min_length = 1)]
    pub output: String,
}

/// A file inside the server's training data directory: `.jsonl` (one record per line),
/// `.json` (an array of records) or `.csv` (a header row naming the record's fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileReference {
    /// Relative to the data directory; paths leading outside it are refused.
    #[schema(example = "sentiment/train.jsonl", min_length = 1)]
    pub filename: String,
}

/// Where training records come from: inline, or a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DataStream<R> {
    // Named structs rather than struct variants: each form is then a schema of its own, which
    // generated clients name after it instead of "type 0" and "type 1".
    Inline(InlineRecords<R>),
    File(RecordsFile),
}

/// The records themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InlineRecords<R> {
    #[schema(min_items = 1)]
    pub data: Vec<R>,
}

/// A file of records in the server's training data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordsFile {
    pub file: FileReference,
}

/// The REST form of a Caikit data stream argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataStreamSource<R> {
    pub data_stream: DataStream<R>,
}

/// Training a text classifier: a linear head over a served embedding model's sentence vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifierTrainParameters {
    /// A model served here that embeds text (any `embedding` model, in process or remote).
    #[schema(example = "all-minilm", min_length = 1)]
    pub base_model: String,
    /// The records must use at least two distinct labels. A file's records are checked
    /// against `ClassificationTrainRecord` when the job is submitted.
    pub train_stream: DataStreamSource<ClassificationTrainRecord>,
    /// Validation records; without them, `validation_split` of the training records is held out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_stream: Option<DataStreamSource<ClassificationTrainRecord>>,
    /// Share of training records held out for validation when there is no `val_stream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0.0, maximum = 0.5, example = 0.1)]
    pub validation_split: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000, example = 30)]
    pub num_epochs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, maximum = 10.0, example = 0.01)]
    pub learning_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 4096, example = 16)]
    pub batch_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, example = 42)]
    pub seed: Option<u64>,
    /// Score each label on its own (sigmoid) and answer every label scoring ≥ 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_label: Option<bool>,
    /// Also fine-tune the last this many layers of the base model's encoder with the head
    /// (default 0: the head only). Needs a `sentence-embeddings` base model served in process;
    /// the tuned model then carries its own copy of the encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 64, example = 1)]
    pub tune_encoder_layers: Option<u32>,
    /// Learning rate of the tuned encoder layers (default 0.00005); `learning_rate` is the
    /// head's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, maximum = 1.0, example = 0.00005)]
    pub encoder_learning_rate: Option<f64>,
}

/// `POST /api/v1/TextClassificationTaskClassifierTrain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifierTrainRequest {
    /// The id the trained model is served under.
    #[schema(
        example = "sentiment-tuned",
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    pub model_name: String,
    pub parameters: ClassifierTrainParameters,
}

/// How a soft prompt starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PromptTuningInit {
    /// Noise shaped like the model's token embeddings.
    Random,
    /// The embeddings of `prompt_tuning_init_text`'s tokens, repeated or cut to fit.
    Text,
}

/// The kinds of PEFT tuning; this server trains plain prompt tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PeftTuningType {
    PromptTuning,
}

/// The soft prompt's shape and start (Caikit's `TuningConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TuningConfig {
    /// Learned embeddings placed before every input (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 512, example = 8)]
    pub num_virtual_tokens: Option<u32>,
    /// Default: `TEXT` when `prompt_tuning_init_text` is given, `RANDOM` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tuning_init_method: Option<PromptTuningInit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, example = "Classify the sentiment of this review.")]
    pub prompt_tuning_init_text: Option<String>,
}

/// Prompt tuning: a soft prompt learned for a served in-process text-generation model, which
/// stays frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptTuningTrainParameters {
    /// A `text-generation` model served in process here (its weights are needed).
    #[schema(example = "smollm2", min_length = 1)]
    pub base_model: String,
    /// A file's records are checked against `GenerationTrainRecord` when the job is submitted.
    pub train_stream: DataStreamSource<GenerationTrainRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning_config: Option<TuningConfig>,
    /// Validation records: their loss is reported before training and after every epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_stream: Option<DataStreamSource<GenerationTrainRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning_type: Option<PeftTuningType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000, example = 20)]
    pub num_epochs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(exclusive_minimum = 0.0, maximum = 10.0, example = 0.03)]
    pub learning_rate: Option<f64>,
    /// The template each input is written into, training and serving alike; must contain
    /// `{{input}}` (default `{{input}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, example = "Review: {{input}}\nSentiment:")]
    pub verbalizer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 64, example = 8)]
    pub batch_size: Option<u32>,
    /// Most tokens of a verbalized input; longer inputs are cut (default 256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 8192, example = 256)]
    pub max_source_length: Option<u32>,
    /// Most tokens of an output (default 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 8192, example = 128)]
    pub max_target_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, example = 42)]
    pub seed: Option<u64>,
}

/// `POST /api/v1/TextGenerationTaskPeftPromptTuningTrain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptTuningTrainRequest {
    /// The id the tuned model is served under.
    #[schema(
        example = "sentiment-prompt",
        min_length = 1,
        max_length = 128,
        pattern = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    pub model_name: String,
    pub parameters: PromptTuningTrainParameters,
}

/// The answer to a train request: the job to follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingJob {
    #[schema(example = "3f1c2b7e-4d5a-4f6b-9c8d-0e1f2a3b4c5d")]
    pub training_id: String,
    #[schema(example = "sentiment-tuned")]
    pub model_name: String,
}

/// Where a training job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TrainingState {
    Queued,
    Running,
    Completed,
    Canceled,
    Errored,
}

impl TrainingState {
    /// Completed, canceled or errored: nothing will change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Canceled | Self::Errored)
    }
}

/// How far a job has come.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingProgress {
    pub epoch: u64,
    pub num_epochs: u64,
    pub step: u64,
    pub total_steps: u64,
    /// Training loss of the last step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Validation loss before training, to compare `validation_loss` with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_validation_loss: Option<f64>,
    /// After the last epoch with validation data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f64>,
}

/// `GET /management/trainings?training_id=…`: Caikit's status fields plus progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingStatusResponse {
    pub training_id: String,
    pub model_name: String,
    pub state: TrainingState,
    /// RFC 3339, UTC.
    #[schema(example = "2026-11-28T09:00:00.000Z")]
    pub submission_timestamp: String,
    /// When the job reached a terminal state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<String>,
    /// Why it errored or was canceled.
    pub reasons: Vec<String>,
    pub progress: TrainingProgress,
}

/// Every training job this server knows, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainingList {
    pub trainings: Vec<TrainingStatusResponse>,
}
