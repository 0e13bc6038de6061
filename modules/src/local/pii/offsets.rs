//! Byte offset to code-point offset conversion.
//!
//! The regex engine reports UTF-8 byte offsets, but API clients (mostly
//! Python) index strings by code point. Converting each offset separately
//! would rescan the text from the start every time, which is quadratic on
//! multi-megabyte inputs with many hits, so all offsets are converted in a
//! single forward pass.

/// Converts ascending byte offsets into char offsets with one forward scan.
///
/// Every offset must lie on a char boundary of `text` (regex match bounds
/// always do); the result has the same length and order as the input.
pub(crate) fn byte_to_char_offsets(text: &str, sorted_byte_offsets: &[usize]) -> Vec<usize> {
    debug_assert!(sorted_byte_offsets.windows(2).all(|w| w[0] <= w[1]));
    let mut out = Vec::with_capacity(sorted_byte_offsets.len());
    let (mut byte_pos, mut char_pos) = (0usize, 0usize);
    for &offset in sorted_byte_offsets {
        debug_assert!(text.is_char_boundary(offset));
        // `chars().count()` on the gap is a fast non-continuation-byte count.
        char_pos += text[byte_pos..offset].chars().count();
        byte_pos = offset;
        out.push(char_pos);
    }
    out
}

/// Converts `(start, end)` byte spans, in any order and possibly overlapping,
/// into char spans at the same indices.
pub(crate) fn byte_spans_to_char_spans(
    text: &str,
    spans: &[(usize, usize)],
) -> Vec<(usize, usize)> {
    // Overlapping spans make the ends unsorted, so convert the sorted set of
    // distinct boundaries once and look each span's ends up in it.
    let mut bounds: Vec<usize> = spans.iter().flat_map(|&(s, e)| [s, e]).collect();
    bounds.sort_unstable();
    bounds.dedup();
    let chars = byte_to_char_offsets(text, &bounds);
    let lookup = |b: usize| {
        let i = bounds
            .binary_search(&b)
            .expect("every span boundary was collected");
        chars[i]
    };
    spans.iter().map(|&(s, e)| (lookup(s), lookup(e))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference conversion: count the chars before the offset.
    fn naive(text: &str, byte: usize) -> usize {
        text[..byte].chars().count()
    }

    #[test]
    fn ascii_offsets_are_unchanged() {
        let text = "hello world";
        assert_eq!(
            byte_to_char_offsets(text, &[0, 5, 6, 11]),
            vec![0, 5, 6, 11]
        );
    }

    #[test]
    fn multibyte_chars_count_once() {
        // é is 2 bytes, 👋 and 🏽 are 4 bytes each, — is 3 bytes.
        let text = "café 👋🏽 — ok";
        let offsets: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let expected: Vec<usize> = offsets.iter().map(|&b| naive(text, b)).collect();
        assert_eq!(byte_to_char_offsets(text, &offsets), expected);
        assert_eq!(*expected.last().unwrap(), text.chars().count());
    }

    #[test]
    fn repeated_offsets_are_supported() {
        let text = "ñañ";
        assert_eq!(
            byte_to_char_offsets(text, &[2, 2, 3, 5, 5]),
            vec![1, 1, 2, 3, 3]
        );
    }

    #[test]
    fn spans_convert_in_any_order_and_with_overlaps() {
        let text = "Olá 👋🏽 café — ana@example.com";
        let at = text.find("ana").unwrap();
        let spans = [(at, text.len()), (0, 4), (at + 4, text.len()), (2, at)];
        let got = byte_spans_to_char_spans(text, &spans);
        let expected: Vec<(usize, usize)> = spans
            .iter()
            .map(|&(s, e)| (naive(text, s), naive(text, e)))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(got[0], (14, 29));
        let chars: Vec<char> = text.chars().collect();
        let word: String = chars[got[0].0..got[0].1].iter().collect();
        assert_eq!(word, "ana@example.com");
    }

    #[test]
    fn empty_input_gives_empty_output() {
        assert!(byte_to_char_offsets("abc", &[]).is_empty());
        assert!(byte_spans_to_char_spans("", &[]).is_empty());
    }
}
