//! The Llama engine on SmolLM2's own Q4_1 weights must reproduce llama.cpp's greedy output.

mod common;

use taskgate_runtime::chat_template::ChatMessage;
use taskgate_runtime::gguf::{GgufTokenizer, IncrementalDecoder, read_content};
use taskgate_runtime::llama::{LlamaModel, argmax};

/// llama.cpp's greedy 64-token output on the same file.
const ORACLE: &str = "As the AI, AI-powered robot, \"Pixel,\" began its journey of learning to paint, \
    the world was abuzz with excitement. The AI's creators had envisioned a robot that could not \
    only create art but also inspire and educate others.\n\nPixel's creators had created a robot \
    that could learn";

#[test]
fn greedy_output_matches_llama_cpp() {
    let Some(file) = common::smollm2_gguf("greedy_output_matches_llama_cpp") else {
        return;
    };
    let tok = GgufTokenizer::from_content(&read_content(&file).unwrap()).unwrap();
    let model = LlamaModel::load(&file).unwrap();
    assert_eq!(model.config.context_length, 8192);
    let user = ChatMessage::new(
        "user",
        "Write a short story about a robot who learns to paint.",
    );
    let prompt = tok
        .chat_template()
        .unwrap()
        .unwrap()
        .render(&[user], true)
        .unwrap();
    let ids = tok.encode(&prompt).unwrap();

    let mut cache = model.new_cache();
    let mut logits = model.forward(&ids, &mut cache).unwrap();
    let mut decoder = IncrementalDecoder::new();
    let mut text = String::new();
    for _ in 0..64 {
        let next = argmax(&logits).unwrap();
        if next == tok.eos_id {
            break;
        }
        text.push_str(&decoder.push(&tok, next).unwrap());
        logits = model.forward(&[next], &mut cache).unwrap();
    }
    text.push_str(&decoder.finish(&tok).unwrap());
    assert_eq!(text, ORACLE, "greedy output differs from llama.cpp");
}

#[test]
fn incremental_decoding_matches_one_full_pass() {
    let Some(file) = common::smollm2_gguf("incremental_decoding_matches_one_full_pass") else {
        return;
    };
    let tok = GgufTokenizer::from_content(&read_content(&file).unwrap()).unwrap();
    let model = LlamaModel::load(&file).unwrap();
    let ids = tok
        .encode("<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n")
        .unwrap();
    let mut full = model.new_cache();
    let whole = model
        .forward(&ids, &mut full)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let mut split = model.new_cache();
    model.forward(&ids[..5], &mut split).unwrap();
    let mut last = None;
    for &id in &ids[5..] {
        last = Some(model.forward(&[id], &mut split).unwrap());
    }
    let stepped = last.unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(split.len(), ids.len());
    let diff = whole
        .iter()
        .zip(&stepped)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        diff < 1e-2,
        "cached decoding drifts from a full pass by {diff}"
    );
}
