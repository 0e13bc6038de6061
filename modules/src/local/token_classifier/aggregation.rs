//! Turning per-token label probabilities into entity spans, the way Hugging Face token
//! classification pipelines do (`aggregation_strategy` none / simple / first / average / max).

use std::str::FromStr;

use taskgate_schemas::TokenClassificationResult;

/// How word pieces are grouped into entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Aggregation {
    /// Every token with its own label (no grouping).
    None,
    /// Adjacent tokens with the same entity type merge (B-/I- aware).
    Simple,
    /// Per word: the label of its first sub-token; then as `Simple`.
    First,
    /// Per word: the label of the mean sub-token distribution; then as `Simple`.
    Average,
    /// Per word: the label of its most confident sub-token; then as `Simple`.
    Max,
}

impl FromStr for Aggregation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "simple" => Ok(Self::Simple),
            "first" => Ok(Self::First),
            "average" => Ok(Self::Average),
            "max" => Ok(Self::Max),
            other => Err(format!(
                "unknown aggregation '{other}' (none, simple, first, average, max)"
            )),
        }
    }
}

impl TryFrom<String> for Aggregation {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        name.parse()
    }
}

/// One non-special token of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenScores {
    /// Code-point span in the input.
    pub start: usize,
    pub end: usize,
    pub word: Option<u32>,
    /// Probability per label.
    pub probs: Vec<f32>,
}

/// A labelled unit before grouping: a token (none/simple) or a word.
#[derive(Debug, Clone)]
struct Labelled {
    start: usize,
    end: usize,
    label: usize,
    score: f32,
}

fn argmax(probs: &[f32]) -> (usize, f32) {
    probs.iter().copied().enumerate().fold(
        (0, f32::MIN),
        |best, (i, p)| if p > best.1 { (i, p) } else { best },
    )
}

/// `B-PER` → (true, "PER"); `I-PER` → (false, "PER"); `O` → (false, "O").
fn split_tag(label: &str) -> (bool, &str) {
    if let Some(tag) = label.strip_prefix("B-") {
        (true, tag)
    } else if let Some(tag) = label.strip_prefix("I-") {
        (false, tag)
    } else {
        (false, label)
    }
}

fn slice(chars: &[char], start: usize, end: usize) -> String {
    chars[start.min(chars.len())..end.min(chars.len())]
        .iter()
        .collect()
}

pub fn aggregate(
    text: &str,
    tokens: &[TokenScores],
    labels: &[String],
    strategy: Aggregation,
) -> Vec<TokenClassificationResult> {
    let chars: Vec<char> = text.chars().collect();
    let labelled: Vec<Labelled> = match strategy {
        Aggregation::None | Aggregation::Simple => tokens
            .iter()
            .map(|t| {
                let (label, score) = argmax(&t.probs);
                Labelled {
                    start: t.start,
                    end: t.end,
                    label,
                    score,
                }
            })
            .collect(),
        Aggregation::First | Aggregation::Average | Aggregation::Max => words(tokens)
            .into_iter()
            .map(|w| label_word(w, strategy))
            .collect(),
    };
    if strategy == Aggregation::None {
        return labelled
            .into_iter()
            .filter(|l| labels[l.label] != "O")
            .map(|l| TokenClassificationResult {
                start: l.start as u64,
                end: l.end as u64,
                word: slice(&chars, l.start, l.end),
                entity: labels[l.label].clone(),
                entity_group: None,
                score: l.score as f64,
                token_count: Some(1),
            })
            .collect();
    }
    group(&labelled, labels)
        .into_iter()
        .filter(|g| g.tag != "O")
        .map(|g| TokenClassificationResult {
            start: g.start as u64,
            end: g.end as u64,
            word: slice(&chars, g.start, g.end),
            entity: g.tag.to_string(),
            entity_group: Some(g.tag.to_string()),
            score: g.score_sum as f64 / g.count as f64,
            token_count: Some(g.count as u64),
        })
        .collect()
}

/// Consecutive tokens of the same word.
fn words(tokens: &[TokenScores]) -> Vec<&[TokenScores]> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 1..=tokens.len() {
        let boundary =
            i == tokens.len() || tokens[i].word.is_none() || tokens[i].word != tokens[begin].word;
        if boundary {
            out.push(&tokens[begin..i]);
            begin = i;
        }
    }
    out.retain(|w| !w.is_empty());
    out
}

fn label_word(word: &[TokenScores], strategy: Aggregation) -> Labelled {
    let (start, end) = (word[0].start, word[word.len() - 1].end);
    let (label, score) = match strategy {
        Aggregation::First => argmax(&word[0].probs),
        Aggregation::Max => word
            .iter()
            .map(|t| argmax(&t.probs))
            .fold((0, f32::MIN), |best, x| if x.1 > best.1 { x } else { best }),
        _ => {
            let n = word.len() as f32;
            let mean: Vec<f32> = (0..word[0].probs.len())
                .map(|k| word.iter().map(|t| t.probs[k]).sum::<f32>() / n)
                .collect();
            argmax(&mean)
        }
    };
    Labelled {
        start,
        end,
        label,
        score,
    }
}

struct Group<'a> {
    tag: &'a str,
    start: usize,
    end: usize,
    score_sum: f32,
    count: usize,
}

/// Merges adjacent units of one entity type; a `B-` label always starts a new entity.
fn group<'a>(units: &[Labelled], labels: &'a [String]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for unit in units {
        let (begins, tag) = split_tag(&labels[unit.label]);
        match groups.last_mut() {
            Some(last) if last.tag == tag && !begins => {
                last.end = unit.end;
                last.score_sum += unit.score;
                last.count += 1;
            }
            _ => groups.push(Group {
                tag,
                start: unit.start,
                end: unit.end,
                score_sum: unit.score,
                count: 1,
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// A one-hot-ish distribution favouring `label` with `p`.
    fn probs(label: usize, p: f32) -> Vec<f32> {
        let rest = (1.0 - p) / 4.0;
        (0..5).map(|i| if i == label { p } else { rest }).collect()
    }

    fn token(start: usize, end: usize, word: u32, label: usize, p: f32) -> TokenScores {
        TokenScores {
            start,
            end,
            word: Some(word),
            probs: probs(label, p),
        }
    }

    // "Anna Maria went to New York" — Anna=B-PER, Maria=I-PER, went/to=O, New=B-LOC, York=I-LOC,
    // with "Maria" split into "Mar" + "##ia" whose second piece is mislabelled O.
    fn crafted() -> (String, Vec<TokenScores>) {
        let text = "Anna Maria went to New York".to_string();
        let tokens = vec![
            token(0, 4, 0, 1, 0.9),
            token(5, 8, 1, 2, 0.8),
            token(8, 10, 1, 0, 0.6),
            token(11, 15, 2, 0, 0.99),
            token(16, 18, 3, 0, 0.99),
            token(19, 22, 4, 3, 0.7),
            token(23, 27, 5, 4, 0.9),
        ];
        (text, tokens)
    }

    fn spans(results: &[TokenClassificationResult]) -> Vec<(String, String)> {
        results
            .iter()
            .map(|r| (r.entity.clone(), r.word.clone()))
            .collect()
    }

    #[test]
    fn none_lists_each_non_o_token() {
        let (text, tokens) = crafted();
        let out = aggregate(&text, &tokens, &labels(), Aggregation::None);
        assert_eq!(
            spans(&out),
            [
                ("B-PER", "Anna"),
                ("I-PER", "Mar"),
                ("B-LOC", "New"),
                ("I-LOC", "York")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(out.iter().all(|r| r.entity_group.is_none()));
    }

    #[test]
    fn simple_merges_b_and_i_and_splits_on_o() {
        let (text, tokens) = crafted();
        let out = aggregate(&text, &tokens, &labels(), Aggregation::Simple);
        assert_eq!(
            spans(&out),
            [("PER", "Anna Mar"), ("LOC", "New York")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!((out[0].score - 0.85).abs() < 1e-6);
        assert_eq!(out[1].entity_group.as_deref(), Some("LOC"));
    }

    #[test]
    fn word_strategies_label_whole_words() {
        let (text, tokens) = crafted();
        let first = aggregate(&text, &tokens, &labels(), Aggregation::First);
        assert_eq!(
            spans(&first)[0],
            ("PER".to_string(), "Anna Maria".to_string())
        );
        let max = aggregate(&text, &tokens, &labels(), Aggregation::Max);
        assert_eq!(
            spans(&max)[0],
            ("PER".to_string(), "Anna Maria".to_string())
        );
        let average = aggregate(&text, &tokens, &labels(), Aggregation::Average);
        assert_eq!(
            spans(&average)[0],
            ("PER".to_string(), "Anna Maria".to_string())
        );
        assert_eq!(
            spans(&average)[1],
            ("LOC".to_string(), "New York".to_string())
        );
    }

    #[test]
    fn a_b_label_starts_a_new_entity() {
        let text = "Anna Bob";
        let tokens = vec![token(0, 4, 0, 1, 0.9), token(5, 8, 1, 1, 0.9)];
        let out = aggregate(text, &tokens, &labels(), Aggregation::Simple);
        assert_eq!(
            spans(&out),
            [("PER", "Anna"), ("PER", "Bob")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }
}
