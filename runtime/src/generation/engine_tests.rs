//! The scheduler on the real SmolLM2 weights: how prompts and decode steps share rounds.

use std::sync::Arc;
use std::time::Instant;

use super::{EngineConfig, GenerationEngine, GenerationEvent, GenerationRequest, GenerationStream};
use crate::gguf::{GgufTokenizer, read_content};
use crate::llama::LlamaModel;
use crate::test_models::smollm2_gguf;

fn greedy(prompt: Vec<u32>, max_new_tokens: usize) -> GenerationRequest {
    GenerationRequest::greedy(prompt, max_new_tokens, max_new_tokens)
}

/// Each event of a stream with when it arrived, read on a thread of its own so arrivals on two
/// streams can be ordered.
fn collect(
    mut stream: GenerationStream,
) -> std::thread::JoinHandle<Vec<(Instant, GenerationEvent)>> {
    std::thread::spawn(move || {
        let mut events = Vec::new();
        while let Some(event) = stream.blocking_recv() {
            events.push((Instant::now(), event.expect("the sequence runs")));
        }
        events
    })
}

fn token_ids(events: &[(Instant, GenerationEvent)]) -> Vec<u32> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            GenerationEvent::Token { token, .. } => Some(token.id),
            _ => None,
        })
        .collect()
}

/// A prompt of several chunks that arrives while another sequence decodes runs a chunk per
/// round between that sequence's steps instead of stalling it for the whole prefill, and both
/// produce exactly their solo tokens.
#[test]
fn a_long_prompt_runs_in_chunks_between_the_steps_of_others() {
    let Some(path) = smollm2_gguf("a_long_prompt_runs_in_chunks_between_the_steps_of_others")
    else {
        return;
    };
    let _memory = crate::test_models::beside_the_memory_bound();
    let content = read_content(&path).unwrap();
    let tokenizer = Arc::new(GgufTokenizer::from_content(&content).unwrap());
    let model = Arc::new(LlamaModel::from_content(&path, &content).unwrap());
    let short = tokenizer.encode("The capital of France is").unwrap();
    let long = tokenizer
        .encode(&"Robots paint the colour of light on every wall they find. ".repeat(40))
        .unwrap();
    let chunks = long.len().div_ceil(super::sequence::PREFILL_CHUNK);
    assert!(chunks >= 4, "{} tokens", long.len());
    let engine =
        GenerationEngine::spawn("chunks", model, tokenizer, EngineConfig::default()).unwrap();
    let solo = |request| token_ids(&collect(engine.submit(request).unwrap()).join().unwrap());
    let (short_solo, long_solo) = (
        solo(greedy(short.clone(), 40)),
        solo(greedy(long.clone(), 4)),
    );

    let decoding = collect(engine.submit(greedy(short, 40)).unwrap());
    // Let the short sequence start decoding before the long prompt arrives.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let submitted = Instant::now();
    let prefilling = collect(engine.submit(greedy(long, 4)).unwrap());
    let (decoding, prefilling) = (decoding.join().unwrap(), prefilling.join().unwrap());
    assert_eq!(token_ids(&decoding), short_solo);
    assert_eq!(token_ids(&prefilling), long_solo);
    let started = prefilling
        .iter()
        .find_map(|(at, e)| matches!(e, GenerationEvent::Started { .. }).then_some(*at))
        .unwrap();
    let tokens_during_prefill = decoding
        .iter()
        .filter(|(at, e)| {
            matches!(e, GenerationEvent::Token { .. }) && *at > submitted && *at < started
        })
        .count();
    assert!(
        tokens_during_prefill + 1 >= chunks,
        "{tokens_during_prefill} tokens while {chunks} chunks ran"
    );
}
