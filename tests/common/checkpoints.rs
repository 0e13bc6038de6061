//! Small BERT checkpoints with random weights, written as a real model directory (config.json
//! with id2label, model.safetensors, the MiniLM tokenizer), for testing task heads end to end.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde_json::json;

pub const HIDDEN: usize = 32;
pub const MAX_POSITIONS: usize = 128;
const LAYERS: usize = 2;
const INTERMEDIATE: usize = 64;
const VOCAB: usize = 30522;

fn random(shape: &[usize], std: f32) -> Tensor {
    Tensor::randn(0f32, std, shape, &Device::Cpu).unwrap()
}

fn ones(n: usize) -> Tensor {
    Tensor::ones(n, candle_core::DType::F32, &Device::Cpu).unwrap()
}

fn zeros(n: usize) -> Tensor {
    Tensor::zeros(n, candle_core::DType::F32, &Device::Cpu).unwrap()
}

/// `architecture`: `BertForSequenceClassification` or `BertForTokenClassification`.
pub fn write(dir: &Path, tokenizer: &Path, architecture: &str, labels: &[&str], multi_label: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut t: HashMap<String, Tensor> = HashMap::new();
    let mut linear = |name: &str, out: usize, inp: usize| {
        t.insert(format!("{name}.weight"), random(&[out, inp], 0.2));
        t.insert(format!("{name}.bias"), random(&[out], 0.02));
    };
    for l in 0..LAYERS {
        let p = format!("bert.encoder.layer.{l}");
        for part in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            linear(&format!("{p}.{part}"), HIDDEN, HIDDEN);
        }
        linear(&format!("{p}.intermediate.dense"), INTERMEDIATE, HIDDEN);
        linear(&format!("{p}.output.dense"), HIDDEN, INTERMEDIATE);
    }
    if architecture == "BertForSequenceClassification" {
        linear("bert.pooler.dense", HIDDEN, HIDDEN);
    }
    linear("classifier", labels.len(), HIDDEN);
    for l in 0..LAYERS {
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.insert(
                format!("bert.encoder.layer.{l}.{norm}.weight"),
                ones(HIDDEN),
            );
            t.insert(format!("bert.encoder.layer.{l}.{norm}.bias"), zeros(HIDDEN));
        }
    }
    t.insert(
        "bert.embeddings.word_embeddings.weight".into(),
        random(&[VOCAB, HIDDEN], 1.0),
    );
    t.insert(
        "bert.embeddings.position_embeddings.weight".into(),
        random(&[MAX_POSITIONS, HIDDEN], 0.1),
    );
    t.insert(
        "bert.embeddings.token_type_embeddings.weight".into(),
        random(&[2, HIDDEN], 0.1),
    );
    t.insert("bert.embeddings.LayerNorm.weight".into(), ones(HIDDEN));
    t.insert("bert.embeddings.LayerNorm.bias".into(), zeros(HIDDEN));
    candle_core::safetensors::save(&t, dir.join("model.safetensors")).unwrap();

    let id2label: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), json!(l)))
        .collect();
    let mut config = json!({
        "architectures": [architecture], "model_type": "bert", "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": 4, "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": MAX_POSITIONS, "vocab_size": VOCAB, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu", "id2label": id2label,
    });
    if multi_label {
        config["problem_type"] = json!("multi_label_classification");
    }
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::copy(tokenizer, dir.join("tokenizer.json")).unwrap();
}
