use super::*;
use crate::gguf::GgufTokenizer;
use crate::test_models::smollm2_gguf;

const STEPS: usize = 10;

fn greedy(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Greedy decoding of `prompt` on its own: each step's logits.
fn solo(model: &LlamaModel, prompt: &[u32]) -> Vec<Vec<f32>> {
    let mut cache = model.new_cache();
    let mut logits = model
        .forward(prompt, &mut cache)
        .unwrap()
        .to_vec1()
        .unwrap();
    let mut steps = vec![logits.clone()];
    for _ in 0..STEPS {
        logits = model
            .forward(&[greedy(&logits)], &mut cache)
            .unwrap()
            .to_vec1()
            .unwrap();
        steps.push(logits.clone());
    }
    steps
}

/// Sequences decoded together, with one joining while the others are under way, get exactly
/// the logits (so the tokens) each gets alone.
#[test]
fn a_batched_step_gives_each_sequence_its_solo_logits() {
    let Some(path) = smollm2_gguf("a_batched_step_gives_each_sequence_its_solo_logits") else {
        return;
    };
    let _memory = crate::test_models::beside_the_memory_bound();
    let ct = crate::gguf::read_content(&path).unwrap();
    let tokenizer = GgufTokenizer::from_content(&ct).unwrap();
    let model = LlamaModel::from_content(&path, &ct).unwrap();
    let prompts: Vec<Vec<u32>> = [
        "The capital of France is",
        "Write a short story about a robot who learns to paint.",
        "1, 2, 3,",
    ]
    .iter()
    .map(|p| tokenizer.encode(p).unwrap())
    .collect();
    let want: Vec<Vec<Vec<f32>>> = prompts.iter().map(|p| solo(&model, p)).collect();

    struct Running {
        cache: KvCache,
        steps: Vec<Vec<f32>>,
    }
    let start = |prompt: &[u32]| {
        let mut cache = model.new_cache();
        let logits = model
            .forward(prompt, &mut cache)
            .unwrap()
            .to_vec1()
            .unwrap();
        Running {
            cache,
            steps: vec![logits],
        }
    };
    let mut running = vec![start(&prompts[0]), start(&prompts[1])];
    for round in 0..STEPS + 4 {
        if round == 4 {
            running.push(start(&prompts[2]));
        }
        let (tokens, mut caches): (Vec<u32>, Vec<&mut KvCache>) = running
            .iter_mut()
            .filter(|r| r.steps.len() <= STEPS)
            .map(|r| (greedy(r.steps.last().unwrap()), &mut r.cache))
            .unzip();
        if tokens.is_empty() {
            break;
        }
        let logits = model.forward_batch(&tokens, &mut caches).unwrap();
        let mut logits = logits.into_iter();
        for r in running.iter_mut().filter(|r| r.steps.len() <= STEPS) {
            r.steps.push(logits.next().unwrap());
        }
    }
    for (i, (got, want)) in running.iter().zip(&want).enumerate() {
        assert_eq!(got.steps.len(), want.len(), "sequence {i}");
        for (step, (got, want)) in got.steps.iter().zip(want).enumerate() {
            assert!(
                got == want,
                "sequence {i} differs from its solo run at step {step}"
            );
        }
        assert_eq!(got.cache.len(), prompts[i].len() + STEPS, "sequence {i}");
    }
}

#[test]
fn a_batch_needs_one_cache_per_token_and_room_in_each() {
    let Some(path) = smollm2_gguf("a_batch_needs_one_cache_per_token_and_room_in_each") else {
        return;
    };
    let _memory = crate::test_models::beside_the_memory_bound();
    let mut model = LlamaModel::load(&path).unwrap();
    model.limit_context(2);
    let (mut a, mut b) = (model.new_cache(), model.new_cache());
    let err = model.forward_batch(&[1, 2], &mut [&mut a]).unwrap_err();
    assert!(
        err.to_string().contains("2 tokens for 1 sequences"),
        "{err}"
    );
    model.forward(&[1, 2], &mut a).unwrap();
    let err = model
        .forward_batch(&[3, 4], &mut [&mut a, &mut b])
        .unwrap_err();
    assert!(
        err.to_string().contains("3 tokens exceed the context of 2"),
        "{err}"
    );
    assert_eq!((a.len(), b.len()), (2, 0));
}
