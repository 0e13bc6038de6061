//! Records as token ids, and batches of them laid out for teacher forcing.
//!
//! A training sequence is `soft prompt ++ verbalized input ++ output ++ EOS`; the loss covers the
//! output tokens and EOS only. Sequences in a batch are padded on the right: under the causal
//! mask no real position sees the padding, so padding changes nothing that the loss reads.

use crate::gguf::GgufTokenizer;

/// The placeholder a verbalizer must contain.
pub const INPUT_PLACEHOLDER: &str = "{{input}}";

/// One record as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Example {
    /// The verbalized input.
    pub source: Vec<u32>,
    /// The output followed by EOS: what the loss is computed on (never empty).
    pub target: Vec<u32>,
}

/// The verbalizer with `input` in place of every [`INPUT_PLACEHOLDER`].
pub fn verbalize(verbalizer: &str, input: &str) -> String {
    verbalizer.replace(INPUT_PLACEHOLDER, input)
}

/// Turns records into [`Example`]s under the configured token limits.
pub(crate) struct Encoder<'a> {
    pub tokenizer: &'a GgufTokenizer,
    pub verbalizer: &'a str,
    pub max_source_length: usize,
    pub max_target_length: usize,
}

impl Encoder<'_> {
    /// `Err` carries the reason, for the caller to name the record.
    pub fn encode(&self, input: &str, output: &str) -> Result<Example, String> {
        let source = self.source(input)?;
        let mut target = self.text(output)?;
        // BOS starts a sequence, not a continuation.
        if self.tokenizer.add_bos && target.first().copied() == self.tokenizer.bos_id {
            target.remove(0);
        }
        target.truncate(self.max_target_length);
        target.push(self.tokenizer.eos_id);
        Ok(Example { source, target })
    }

    fn text(&self, text: &str) -> Result<Vec<u32>, String> {
        self.tokenizer.encode(text).map_err(|e| e.to_string())
    }

    /// The verbalized input, at most `max_source_length` tokens. A long input is cut at one of
    /// its token boundaries and the cut text verbalized again, rather than cutting the
    /// verbalized tokens: the template's text after the input (the cue the output follows)
    /// survives, and the tokens are the ones the whole text gets at inference.
    fn source(&self, input: &str) -> Result<Vec<u32>, String> {
        let whole = self.text(&verbalize(self.verbalizer, input))?;
        if whole.len() <= self.max_source_length {
            return Ok(whole);
        }
        let (_, spans) = self
            .tokenizer
            .encode_with_offsets(input)
            .map_err(|e| e.to_string())?;
        let fitting = |kept: usize| -> Result<Option<Vec<u32>>, String> {
            let end = if kept == 0 { 0 } else { spans[kept - 1].1 };
            let cut: String = input.chars().take(end).collect();
            let ids = self.text(&verbalize(self.verbalizer, &cut))?;
            Ok((ids.len() <= self.max_source_length).then_some(ids))
        };
        let Some(mut best) = fitting(0)? else {
            return Err(format!(
                "the verbalizer alone exceeds max_source_length ({} tokens)",
                self.max_source_length
            ));
        };
        // The longest kept prefix that fits; tokens grow with the prefix, so bisect.
        let (mut fits, mut too_long) = (0, spans.len());
        while too_long - fits > 1 {
            let mid = (fits + too_long) / 2;
            match fitting(mid)? {
                Some(ids) => (fits, best) = (mid, ids),
                None => too_long = mid,
            }
        }
        Ok(best)
    }
}

/// A padded batch of examples behind a soft prompt of `virtual_tokens` rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub rows: usize,
    /// Token positions per row, after the soft prompt.
    pub len: usize,
    /// `(rows, len)` row-major input tokens, padded on the right.
    pub tokens: Vec<u32>,
    /// Index, in the flattened `(rows * (virtual_tokens + len))` positions, of the position
    /// whose logits predict each of `targets`.
    pub positions: Vec<u32>,
    pub targets: Vec<u32>,
}

impl Batch {
    /// `pad` only fills positions after a row's end, which nothing reads.
    pub fn new(examples: &[&Example], virtual_tokens: usize, pad: u32) -> Result<Self, String> {
        // The last target is predicted, never fed back: it needs no input position.
        let inputs = |e: &Example| e.source.len() + e.target.len().saturating_sub(1);
        let len = examples.iter().map(|e| inputs(e)).max().unwrap_or(0);
        let width = virtual_tokens + len;
        let mut batch = Self {
            rows: examples.len(),
            len,
            tokens: Vec::with_capacity(examples.len() * len),
            positions: Vec::new(),
            targets: Vec::new(),
        };
        for (row, example) in examples.iter().enumerate() {
            let start = batch.tokens.len();
            batch.tokens.extend(&example.source);
            let fed = example.target.len().saturating_sub(1);
            batch.tokens.extend(&example.target[..fed]);
            batch.tokens.resize(start + len, pad);
            // Position `p` predicts token `p + 1`; the first target follows the last source
            // token, or the soft prompt's last row when the source is empty.
            let Some(before) = (virtual_tokens + example.source.len()).checked_sub(1) else {
                return Err("nothing precedes the first target".into());
            };
            let first = row * width + before;
            for (j, &target) in example.target.iter().enumerate() {
                let position = u32::try_from(first + j)
                    .map_err(|_| format!("batch of {} positions is too large", first + j))?;
                batch.positions.push(position);
                batch.targets.push(target);
            }
        }
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(source: &[u32], target: &[u32]) -> Example {
        Example {
            source: source.to_vec(),
            target: target.to_vec(),
        }
    }

    #[test]
    fn verbalizer_replaces_every_placeholder() {
        assert_eq!(verbalize("{{input}}", "x"), "x");
        assert_eq!(
            verbalize("Review: {{input}}\nAgain: {{input}}\nSentiment:", "ok"),
            "Review: ok\nAgain: ok\nSentiment:"
        );
    }

    #[test]
    fn batch_pads_right_and_points_at_the_predicting_positions() {
        let long = example(&[10, 11, 12], &[20, 21, 2]);
        let short = example(&[13], &[2]);
        let batch = Batch::new(&[&long, &short], 2, 0).unwrap();
        assert_eq!((batch.rows, batch.len), (2, 5));
        assert_eq!(batch.tokens, vec![10, 11, 12, 20, 21, 13, 0, 0, 0, 0]);
        // Row width 2 + 5 = 7. Row 0: the last source token (12) sits at 2 + 2 = 4 and predicts
        // 20; 20 at 5 predicts 21; 21 at 6 predicts EOS. Row 1: 13 at 7 + 2 predicts EOS.
        assert_eq!(batch.positions, vec![4, 5, 6, 9]);
        assert_eq!(batch.targets, vec![20, 21, 2, 2]);
    }

    #[test]
    fn an_empty_source_is_predicted_from_the_soft_prompt() {
        let only_eos = example(&[], &[2]);
        let batch = Batch::new(&[&only_eos], 3, 0).unwrap();
        assert_eq!(batch.len, 0);
        assert!(batch.tokens.is_empty());
        assert_eq!(batch.positions, vec![2]);
    }
}
