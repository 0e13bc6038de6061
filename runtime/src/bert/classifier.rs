//! Task heads on a BERT encoder: `BertForSequenceClassification` (also cross-encoders, one
//! logit) and `BertForTokenClassification`. Both return raw logits; turning them into labels is
//! the task module's job.

use std::path::Path;

use candle_core::{Device, IndexOp, Tensor};

use super::load::{BertDir, unavailable};
use super::text::TextTokenizer;
use super::{BertEncoder, Linear, pad_batch};
use crate::RuntimeError;
use crate::batching::{BatchForward, Sequence};

/// What a classifier directory holds besides the forward pass.
pub struct ClassifierInfo {
    pub tokenizer: TextTokenizer,
    /// Labels by class index (`id2label`); `LABEL_i` when the config has none.
    pub labels: Vec<String>,
    /// `problem_type: multi_label_classification`: sigmoid per label instead of softmax.
    pub multi_label: bool,
    pub weights_bytes: u64,
}

fn open(dir: &Path) -> Result<(BertDir, BertEncoder, ClassifierInfo, Linear), RuntimeError> {
    let bert = BertDir::open(dir)?;
    let encoder = bert.encoder(dir)?;
    let labels = bert.config.labels().map_err(|e| unavailable(dir, e))?;
    let classifier_rows = bert
        .root
        .pp("classifier")
        .get_unchecked("weight")
        .and_then(|w| w.dim(0))
        .map_err(|e| unavailable(dir, format!("no classifier head: {e}")))?;
    let labels = if labels.is_empty() {
        (0..classifier_rows).map(|i| format!("LABEL_{i}")).collect()
    } else if labels.len() == classifier_rows {
        labels
    } else {
        return Err(unavailable(
            dir,
            format!(
                "id2label has {} labels, the classifier {classifier_rows} outputs",
                labels.len()
            ),
        ));
    };
    let classifier = Linear::load(
        bert.root.pp("classifier"),
        bert.config.hidden_size,
        labels.len(),
    )
    .map_err(|e| unavailable(dir, e))?;
    let tokenizer = TextTokenizer::load(
        &dir.join("tokenizer.json"),
        bert.config.max_position_embeddings,
    )?;
    let info = ClassifierInfo {
        tokenizer,
        labels,
        multi_label: bert.config.problem_type.as_deref() == Some("multi_label_classification"),
        weights_bytes: bert.weights_bytes,
    };
    Ok((bert, encoder, info, classifier))
}

/// Sequence classification: `[CLS]` → pooler (dense + tanh) → classifier; one logit row per input.
pub struct SequenceClassifier {
    encoder: BertEncoder,
    pooler: Option<Linear>,
    classifier: Linear,
    device: Device,
}

impl SequenceClassifier {
    pub fn load(dir: &Path) -> Result<(Self, ClassifierInfo), RuntimeError> {
        let (bert, encoder, info, classifier) = open(dir)?;
        let h = bert.config.hidden_size;
        let pooler = if bert.encoder_root.contains_tensor("pooler.dense.weight") {
            Some(
                Linear::load(bert.encoder_root.pp("pooler.dense"), h, h)
                    .map_err(|e| unavailable(dir, e))?,
            )
        } else {
            None
        };
        Ok((
            Self {
                encoder,
                pooler,
                classifier,
                device: bert.device,
            },
            info,
        ))
    }

    fn logits(&self, batch: &[&Sequence]) -> candle_core::Result<Vec<Vec<f32>>> {
        let padded = pad_batch(batch, &self.device)?;
        let hidden = self
            .encoder
            .forward(&padded.ids, &padded.type_ids, &padded.mask)?;
        let cls = hidden.i((.., 0))?.contiguous()?;
        let pooled = match &self.pooler {
            Some(pooler) => pooler.forward(&cls)?.tanh()?,
            None => cls,
        };
        self.classifier.forward(&pooled)?.to_vec2::<f32>()
    }
}

impl BatchForward for SequenceClassifier {
    type Output = Vec<f32>;

    fn forward(&mut self, batch: &[&Sequence]) -> Result<Vec<Vec<f32>>, RuntimeError> {
        self.logits(batch)
            .map_err(|e| RuntimeError::Inference(e.to_string()))
    }
}

/// Token classification: one logit row per token of each input (padding dropped).
pub struct TokenClassifier {
    encoder: BertEncoder,
    classifier: Linear,
    device: Device,
}

impl TokenClassifier {
    pub fn load(dir: &Path) -> Result<(Self, ClassifierInfo), RuntimeError> {
        let (bert, encoder, info, classifier) = open(dir)?;
        Ok((
            Self {
                encoder,
                classifier,
                device: bert.device,
            },
            info,
        ))
    }

    fn logits(&self, batch: &[&Sequence]) -> candle_core::Result<Vec<Vec<Vec<f32>>>> {
        let padded = pad_batch(batch, &self.device)?;
        let hidden = self
            .encoder
            .forward(&padded.ids, &padded.type_ids, &padded.mask)?;
        let logits: Tensor = self.classifier.forward(&hidden)?;
        let all = logits.to_vec3::<f32>()?;
        Ok(all
            .into_iter()
            .zip(batch)
            .map(|(mut rows, seq)| {
                rows.truncate(seq.len());
                rows
            })
            .collect())
    }
}

impl BatchForward for TokenClassifier {
    type Output = Vec<Vec<f32>>;

    fn forward(&mut self, batch: &[&Sequence]) -> Result<Vec<Vec<Vec<f32>>>, RuntimeError> {
        self.logits(batch)
            .map_err(|e| RuntimeError::Inference(e.to_string()))
    }
}
