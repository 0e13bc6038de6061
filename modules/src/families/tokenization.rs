//! Tokenization results shared by the modules that serve the `tokenization` task.

use taskgate_schemas::Token;

/// One [`Token`] per non-empty code-point span of `text`; tokens with empty spans (special
/// tokens the tokenizer added) are counted by callers, not listed.
pub fn token_spans(text: &str, offsets: &[(usize, usize)]) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    offsets
        .iter()
        .filter(|(start, end)| end > start)
        .map(|&(start, end)| Token {
            start: start as u64,
            end: end as u64,
            text: chars[start.min(chars.len())..end.min(chars.len())]
                .iter()
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_code_points_and_empty_ones_are_skipped() {
        let spans = token_spans("héllo 🙂", &[(0, 0), (0, 5), (5, 7), (9, 12)]);
        let texts: Vec<&str> = spans.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["héllo", " 🙂", ""]);
        assert_eq!((spans[1].start, spans[1].end), (5, 7));
    }
}
