//! The TEI stand-in's "model" (see `tei_fake`), as rules both the fake and the tests apply,
//! and what tests derive from them.

use serde_json::Value;

/// Tokens one input may have, `[CLS]` and `[SEP]` included (TEI's `max_input_length`).
pub const MAX_INPUT_LENGTH: usize = 16;
/// TEI's default `max_client_batch_size`.
pub const MAX_CLIENT_BATCH_SIZE: usize = 32;
pub const LABELS: [&str; 3] = ["negative", "neutral", "positive"];
pub const DIMENSIONS: usize = 6;

/// Whitespace-separated words as byte spans of `text`.
pub fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    spans
}

pub fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

pub fn fnv(word: &str) -> u64 {
    word.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The words `truncate` keeps of an input of `special` special tokens, or TEI's 422 message.
pub fn kept<'a>(words: &[&'a str], special: usize, truncate: bool) -> Result<Vec<&'a str>, String> {
    let total = words.len() + special;
    if total <= MAX_INPUT_LENGTH {
        return Ok(words.to_vec());
    }
    if !truncate {
        return Err(format!(
            "Input validation error: `inputs` must have less than {MAX_INPUT_LENGTH} tokens. Given: {total}"
        ));
    }
    Ok(words[..MAX_INPUT_LENGTH - special].to_vec())
}

/// The un-normalized embedding of `words`: per word, hashed components summed.
pub fn embedding(words: &[&str]) -> Vec<f32> {
    let mut vector = vec![0.0f32; DIMENSIONS];
    for word in words {
        let hash = fnv(word);
        for (i, x) in vector.iter_mut().enumerate() {
            *x += ((hash >> (i * 6)) & 63) as f32 - 31.5;
        }
    }
    vector
}

/// Class logits in [`LABELS`] order: negative and positive keywords counted.
pub fn class_logits(text: &str) -> [f32; 3] {
    let count = |keys: &[&str]| {
        words(text)
            .iter()
            .filter(|w| keys.contains(&w.to_lowercase().trim_matches('!')))
            .count() as f32
    };
    [
        count(&["bad", "awful", "hate"]),
        0.5,
        count(&["good", "great", "love"]),
    ]
}

/// The relevance logit of a text to a query: shared lowercase words, less one.
pub fn rerank_logit(query: &str, text: &str) -> f32 {
    let query: Vec<String> = words(query).iter().map(|w| w.to_lowercase()).collect();
    let mut shared: Vec<String> = words(text)
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| query.contains(w))
        .collect();
    shared.dedup();
    shared.len() as f32 - 1.0
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let sum: f32 = logits.iter().map(|x| x.exp()).sum();
    logits.iter().map(|x| x.exp() / sum).collect()
}

pub fn normalized(text: &str) -> Vec<f32> {
    let v = embedding(&words(text));
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>()).sqrt()
}

pub fn floats(value: &Value) -> Vec<f32> {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"));
    items.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

pub fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{what}: {got:?} vs {want:?}");
    }
}

/// Tokens TEI counts for a text: its words and `[CLS]`, `[SEP]`.
pub fn tokens(texts: &[&str]) -> u64 {
    texts.iter().map(|t| words(t).len() as u64 + 2).sum()
}
