use std::collections::BTreeMap;

use serde::Deserialize;

/// The parts of a Hugging Face BERT `config.json` the forward pass and heads need.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Class index → label, for classification heads.
    #[serde(default)]
    pub id2label: BTreeMap<String, String>,
    /// `multi_label_classification` selects sigmoid instead of softmax.
    #[serde(default)]
    pub problem_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}

fn default_type_vocab() -> usize {
    2
}

fn default_eps() -> f64 {
    1e-12
}

impl BertConfig {
    /// Labels ordered by class index.
    pub fn labels(&self) -> Result<Vec<String>, String> {
        let mut labels: Vec<(usize, String)> = self
            .id2label
            .iter()
            .map(|(k, v)| {
                k.parse::<usize>()
                    .map(|i| (i, v.clone()))
                    .map_err(|_| format!("id2label key '{k}' is not a class index"))
            })
            .collect::<Result<_, _>>()?;
        labels.sort();
        for (expected, (index, _)) in labels.iter().enumerate() {
            if *index != expected {
                return Err(format!("id2label has no label for class {expected}"));
            }
        }
        Ok(labels.into_iter().map(|(_, l)| l).collect())
    }
}
